package routers

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/go-chi/chi/v5"
	"github.com/gorilla/mux"
	"github.com/labstack/echo/v4"
	"github.com/tollgate-go/tollgate"
)

// each calls fn with every route of api, as api.Each does, and then with
// GET /openapi.json serving api's document: what every mounting function
// registers.
func each(api *tollgate.API, fn func(method, path string, h http.Handler)) {
	api.Each(fn)
	fn(http.MethodGet, "/openapi.json", api.OpenAPIHandler(Info))
}

// ServeMux mounts api on a new http.ServeMux. The table's paths are
// ServeMux patterns, so this is api.Register and the document; the
// handlers' r.PathValue is ServeMux's own.
func ServeMux(api *tollgate.API) http.Handler {
	m := http.NewServeMux()
	each(api, func(method, path string, h http.Handler) { m.Handle(method+" "+path, h) })
	return m
}

// Chi mounts api on a new chi router with r.Method. chi reads "{id}" as
// ServeMux does, and chi v5 (v5.5.0 here) sets the request's path values
// itself; but when the request's path has escapes that are not the
// default ones (r.URL.RawPath set: "/items/%32"), chi routes on the
// escaped path and its values stay escaped ("%32", where ServeMux has
// "2"). chiPathValues, around each handler, sets them unescaped.
func Chi(api *tollgate.API) http.Handler {
	r := chi.NewRouter()
	each(api, func(method, path string, h http.Handler) {
		r.Method(method, routerPath("chi", path, func(name string) string { return "{" + name + "}" }, "*"), chiPathValues(h))
	})
	return r
}

// chiPathValues sets the request's path values from chi's URL
// parameters, unescaped when chi routed on r.URL.RawPath.
func chiPathValues(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rctx := chi.RouteContext(r.Context()); rctx != nil && r.URL.RawPath != "" {
			if !setPathValues(r, rctx.URLParams.Keys, rctx.URLParams.Values, true) {
				http.NotFound(w, r)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// Gorilla mounts api on a new gorilla/mux router, one route per method
// and path. gorilla/mux reads "{id}" as ServeMux does (one segment), but
// keeps the values in mux.Vars: gorillaPathValues, a middleware of the
// router that runs on every matched route, copies them into the request.
func Gorilla(api *tollgate.API) http.Handler {
	r := mux.NewRouter()
	r.Use(gorillaPathValues)
	each(api, func(method, path string, h http.Handler) {
		r.Handle(routerPath("gorilla/mux", path, func(name string) string { return "{" + name + "}" }, ""), h).Methods(method)
	})
	return r
}

// gorillaPathValues sets the request's path values from mux.Vars, so
// that the table's handlers read r.PathValue on gorilla/mux too.
func gorillaPathValues(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for name, value := range mux.Vars(r) {
			r.SetPathValue(name, value)
		}
		next.ServeHTTP(w, r)
	})
}

// Gin mounts api on a new gin engine (gin.New: no logger, no recovery;
// add your own with Use), with "/items/{id}" as "/items/:id". Each
// handler is adapted by ginHandler, which copies c.Params into the
// request's path values. HandleMethodNotAllowed is set, so that a known
// path with another method is 405 as on the other routers, not 404.
//
// It returns the engine, for native gin routes beside the table (see
// [GinMiddleware]).
func Gin(api *tollgate.API) *gin.Engine {
	g := gin.New()
	g.HandleMethodNotAllowed = true
	each(api, func(method, path string, h http.Handler) {
		g.Handle(method, routerPath("gin", path, func(name string) string { return ":" + name }, ":*"), ginHandler(h))
	})
	return g
}

// ginHandler is h as a gin handler, with gin's path parameters set as
// the request's path values.
func ginHandler(h http.Handler) gin.HandlerFunc {
	return func(c *gin.Context) {
		for _, p := range c.Params {
			c.Request.SetPathValue(p.Key, p.Value)
		}
		h.ServeHTTP(c.Writer, c.Request)
	}
}

// Echo mounts api on a new echo instance, with "/items/{id}" as
// "/items/:id". Each handler is adapted by echoHandler, which copies
// echo's path parameters into the request's path values, as ServeMux
// has them: unescaped (echo, like chi, routes on r.URL.RawPath when it is
// set, and keeps its values escaped), and one segment (echo v4 matches
// "/items/2/" to "/items/:id" with the id "2/": that is 404 here, as on
// the other routers).
//
// It returns the instance, for native echo routes beside the table (see
// [EchoWhoAmI]).
func Echo(api *tollgate.API) *echo.Echo {
	e := echo.New()
	each(api, func(method, path string, h http.Handler) {
		e.Add(method, routerPath("echo", path, func(name string) string { return ":" + name }, ":*"), echoHandler(h))
	})
	return e
}

// echoHandler is h as an echo handler, with echo's path parameters set
// as the request's path values.
func echoHandler(h http.Handler) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if !setPathValues(r, c.ParamNames(), c.ParamValues(), r.URL.RawPath != "") {
			return echo.ErrNotFound
		}
		h.ServeHTTP(c.Response(), r)
		return nil
	}
}

// setPathValues sets r's path values names to values, a router's
// parameters, as ServeMux would have them: each value one path segment,
// unescaped if escaped is set (the router matched r.URL.RawPath). It
// reports false, having set nothing, if a value spans segments, a path
// ServeMux would not have matched to the pattern.
func setPathValues(r *http.Request, names, values []string, escaped bool) bool {
	out := make([]string, len(names))
	for i := range names {
		v := values[i]
		if strings.Contains(v, "/") {
			return false
		}
		if escaped {
			u, err := url.PathUnescape(v)
			if err != nil {
				return false // not from a parsed URL: net/url refuses bad escapes
			}
			v = u
		}
		out[i] = v
	}
	for i, name := range names {
		r.SetPathValue(name, out[i])
	}
	return true
}

// routerPath writes the ServeMux path pattern path in a router's syntax:
// param gives the router's form of the wildcard {name}. The patterns it
// does not translate panic at mount, a wiring bug as in tollgate.API: the
// rest-of-path wildcard "{name...}", the end anchor "{$}" (each router has
// its own semantics for these), and a literal segment holding one of
// special, characters the router would read as syntax.
func routerPath(router, path string, param func(name string) string, special string) string {
	segs := strings.Split(path, "/")
	for i, s := range segs {
		switch {
		case strings.HasPrefix(s, "{") && (s == "{$}" || strings.HasSuffix(s, "...}")):
			panic("routers: " + router + ": " + path + ": " + s + " is not translated in this example")
		case strings.HasPrefix(s, "{"):
			segs[i] = param(strings.TrimSuffix(s[1:], "}"))
		case special != "" && strings.ContainsAny(s, special):
			panic("routers: " + router + ": " + path + ": the segment " + s + " would be read as a wildcard")
		}
	}
	return strings.Join(segs, "/")
}

// GinMiddleware adapts net/http middleware, such as auth.RequireScopes,
// to gin, for a handler native to gin:
//
//	g := routers.Gin(api)
//	g.GET("/whoami", routers.GinMiddleware(auth.RequireScopes("me")), routers.GinWhoAmI)
//
// The request the middleware passes on (for tollgate's guard, one with
// the Principal in its context) becomes c.Request, and the chain goes on
// with c.Next; if the middleware answers instead (401, 403), the chain is
// aborted. The middleware must write to the ResponseWriter it is given,
// as tollgate's does, not wrap it: gin keeps its own.
func GinMiddleware(mw func(http.Handler) http.Handler) gin.HandlerFunc {
	return func(c *gin.Context) {
		passed := false
		mw(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			passed = true
			c.Request = r
			c.Next()
		})).ServeHTTP(c.Writer, c.Request)
		if !passed {
			c.Abort()
		}
	}
}

// GinWhoAmI is a native gin handler behind tollgate's guard (see
// [GinMiddleware]): it reads the Principal from c.Request's context, where
// the guard put it.
func GinWhoAmI(c *gin.Context) {
	p, ok := tollgate.FromContext(c.Request.Context())
	if !ok {
		c.AbortWithStatus(http.StatusInternalServerError) // mounted without the guard
		return
	}
	c.JSON(http.StatusOK, gin.H{"username": p.Username, "scopes": p.Scopes, "via": "gin"})
}

// EchoWhoAmI is a native echo handler behind tollgate's guard, which
// echo adapts itself with echo.WrapMiddleware:
//
//	e := routers.Echo(api)
//	e.GET("/whoami", routers.EchoWhoAmI, echo.WrapMiddleware(auth.RequireScopes("me")))
//
// It reads the Principal from c.Request()'s context: WrapMiddleware sets
// the request the guard passes on as the context's request.
func EchoWhoAmI(c echo.Context) error {
	p, ok := tollgate.FromContext(c.Request().Context())
	if !ok {
		return echo.ErrInternalServerError // mounted without the guard
	}
	return c.JSON(http.StatusOK, map[string]any{"username": p.Username, "scopes": p.Scopes, "via": "echo"})
}
