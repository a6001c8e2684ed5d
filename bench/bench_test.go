package bench

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
)

var (
	suitesMu sync.Mutex
	suites   = map[string]*Suite{}
)

// suite returns the Suite of alg, made once per process.
func suite(tb testing.TB, alg string) *Suite {
	tb.Helper()
	suitesMu.Lock()
	defer suitesMu.Unlock()
	if s := suites[alg]; s != nil {
		return s
	}
	s, err := NewSuite(alg)
	if err != nil {
		tb.Fatal(err)
	}
	suites[alg] = s
	return s
}

// serve sends one GET /items with the given Authorization header through
// h into a fresh recorder: what every HTTP path is measured on.
func serve(h http.Handler, authz string) int {
	req := httptest.NewRequest("GET", "/items", nil)
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code
}

// A path is one way of checking a token: an HTTP middleware in front of
// OK, or a bare function.
type path struct {
	name    string
	handler http.Handler       // nil for bare paths
	check   func(string) error // for bare paths
}

// paths returns every path of s, in the order of BENCHMARKS.md.
func paths(tb testing.TB, s *Suite) []path {
	tb.Helper()
	first, err := s.Tollgate(false)
	if err != nil {
		tb.Fatal(err)
	}
	again, err := s.Tollgate(true)
	if err != nil {
		tb.Fatal(err)
	}
	a0, err := s.Auth0()
	if err != nil {
		tb.Fatal(err)
	}
	hdr, _, _ := strings.Cut(s.Good, ".")
	return []path{
		{name: "raw", check: func(tok string) error {
			i := strings.LastIndexByte(tok, '.')
			sig, err := b64.DecodeString(tok[i+1:])
			if err != nil || !Primitive(s.Alg, s.Pub, []byte(tok[:i]), sig) {
				return errStd
			}
			return nil
		}},
		{name: "limit", check: func(tok string) error { _, err := Limit(s.Alg, s.Pub, hdr, tok); return err }},
		{name: "stdlib", handler: s.Stdlib()},
		{name: "tollgate-first", handler: first},
		{name: "tollgate-repeated", handler: again},
		{name: "golang-jwt", check: s.GolangJWT()},
		{name: "auth0", handler: a0},
		{name: "jwtauth", handler: s.JWTAuth()},
	}
}

// TestEveryPathChecks shows that no path is fast because it skips work:
// each accepts the good token and rejects a forged and an expired one.
// (The raw primitive checks the signature only, so it is exempt from the
// expired case.)
func TestEveryPathChecks(t *testing.T) {
	for _, alg := range Algs {
		s := suite(t, alg)
		for _, p := range paths(t, s) {
			t.Run(alg+"/"+p.name, func(t *testing.T) {
				cases := []struct {
					name, token string
					ok          bool
				}{{"good", s.Good, true}, {"forged", s.Forged, false}, {"expired", s.Expired, false}, {"good again", s.Good, true}, {"forged after good", s.Forged, false}}
				for _, c := range cases {
					if p.name == "raw" && c.name == "expired" {
						continue
					}
					var ok bool
					if p.handler != nil {
						code := serve(p.handler, "Bearer "+c.token)
						ok = code == http.StatusOK
						if !ok && code != http.StatusUnauthorized {
							t.Errorf("%s token: status %d, want 200 or 401", c.name, code)
						}
					} else {
						ok = p.check(c.token) == nil
					}
					if ok != c.ok {
						t.Errorf("%s token: accepted = %v, want %v", c.name, ok, c.ok)
					}
				}
			})
		}
	}
}

// TestForeignHeader checks the token with a header laid out unlike
// tollgate's own, used to measure tollgate's general header path.
func TestForeignHeader(t *testing.T) {
	for _, alg := range Algs {
		s := suite(t, alg)
		h, _ := s.Tollgate(false)
		if code := serve(h, "Bearer "+foreign(t, s)); code != 200 {
			t.Errorf("%s: foreign header: status %d", alg, code)
		}
	}
}

var (
	foreignMu  sync.Mutex
	foreignTok = map[string]string{}
)

// foreign returns s's good token with the header members in another
// order, so that tollgate decodes the header instead of recognising it.
func foreign(tb testing.TB, s *Suite) string {
	tb.Helper()
	foreignMu.Lock()
	defer foreignMu.Unlock()
	if t, ok := foreignTok[s.Alg]; ok {
		return t
	}
	p, _, _ := strings.Cut(strings.SplitN(s.Good, ".", 2)[1], ".")
	payload, err := b64.DecodeString(p)
	if err != nil {
		tb.Fatal(err)
	}
	var c claims
	if err := json.Unmarshal(payload, &c); err != nil {
		tb.Fatal(err)
	}
	t, err := Sign(s.Alg, s.Priv, `{"typ":"at+jwt","kid":"`+s.Key.ID()+`","alg":"`+s.Alg+`"}`, c)
	if err != nil {
		tb.Fatal(err)
	}
	foreignTok[s.Alg] = t
	return t
}

// BenchmarkVerify measures every path on every algorithm with the same
// good token: for HTTP paths one request through the middleware into
// httptest.NewRecorder, for bare paths one call.
func BenchmarkVerify(b *testing.B) {
	b.Run("floor", func(b *testing.B) {
		run(b, path{name: "floor", handler: OK}, suite(b, "HS256").Good)
	})
	for _, alg := range Algs {
		b.Run(alg, func(b *testing.B) {
			s := suite(b, alg) // made only when alg is selected
			for _, p := range paths(b, s) {
				b.Run(p.name, func(b *testing.B) { run(b, p, s.Good) })
			}
			b.Run("tollgate-first-foreignhdr", func(b *testing.B) {
				h, _ := s.Tollgate(false)
				run(b, path{name: "tollgate-first-foreignhdr", handler: h}, foreign(b, s))
			})
		})
	}
}

func run(b *testing.B, p path, tok string) {
	b.Helper()
	authz := "Bearer " + tok
	if p.handler != nil {
		if code := serve(p.handler, authz); code != http.StatusOK {
			b.Fatalf("%s: status %d", p.name, code)
		}
	} else if err := p.check(tok); err != nil {
		b.Fatalf("%s: %v", p.name, err)
	}
	measure := measureFor(p.name)
	// One OS thread for the whole loop: callgrind's --toggle-collect
	// follows threads, and a goroutine that moved to another thread
	// mid-call would flip the count.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if p.handler != nil {
			measure(p.handler, authz, nil, "")
		} else {
			measure(nil, "", p.check, tok)
		}
	}
}
