package bench

import "net/http"

// One function per path, never inlined, so that callgrind
// (--toggle-collect) counts the instructions of each path alone.

type measureFunc func(h http.Handler, authz string, check func(string) error, tok string)

func measureFor(name string) measureFunc {
	switch name {
	case "floor":
		return measureFloor
	case "raw":
		return measureRaw
	case "limit":
		return measureLimit
	case "stdlib":
		return measureStdlib
	case "tollgate-first":
		return measureTollgateFirst
	case "tollgate-repeated":
		return measureTollgateRepeated
	case "tollgate-first-foreignhdr":
		return measureTollgateForeign
	case "golang-jwt":
		return measureGolangJWT
	case "auth0":
		return measureAuth0
	case "jwtauth":
		return measureJWTAuth
	}
	panic("no measure function for " + name)
}

func once(h http.Handler, authz string, check func(string) error, tok string) {
	if h != nil {
		serve(h, authz)
	} else {
		_ = check(tok)
	}
}

//go:noinline
func measureFloor(h http.Handler, authz string, check func(string) error, tok string) {
	once(h, authz, check, tok)
}

//go:noinline
func measureRaw(h http.Handler, authz string, check func(string) error, tok string) {
	once(h, authz, check, tok)
}

//go:noinline
func measureLimit(h http.Handler, authz string, check func(string) error, tok string) {
	once(h, authz, check, tok)
}

//go:noinline
func measureStdlib(h http.Handler, authz string, check func(string) error, tok string) {
	once(h, authz, check, tok)
}

//go:noinline
func measureTollgateFirst(h http.Handler, authz string, check func(string) error, tok string) {
	once(h, authz, check, tok)
}

//go:noinline
func measureTollgateRepeated(h http.Handler, authz string, check func(string) error, tok string) {
	once(h, authz, check, tok)
}

//go:noinline
func measureTollgateForeign(h http.Handler, authz string, check func(string) error, tok string) {
	once(h, authz, check, tok)
}

//go:noinline
func measureGolangJWT(h http.Handler, authz string, check func(string) error, tok string) {
	once(h, authz, check, tok)
}

//go:noinline
func measureAuth0(h http.Handler, authz string, check func(string) error, tok string) {
	once(h, authz, check, tok)
}

//go:noinline
func measureJWTAuth(h http.Handler, authz string, check func(string) error, tok string) {
	once(h, authz, check, tok)
}
