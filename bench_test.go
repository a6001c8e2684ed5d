package tollgate_test

// Benchmarks of the hot paths inside the library: verifying a token through
// RequireScopes (first sight and repeated), issuing one, and the refresh
// grant. The side-by-side comparison with other Go libraries lives in the
// separate bench/ module; speed is judged from BENCHMARKS.md, never here.

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/tollgate-go/tollgate"
)

var benchAlgs = []string{"HS256", "RS256", "ES256", "EdDSA"}

// benchServe sends req through h b.N times, each into a fresh recorder,
// and fails unless every answer is want.
func benchServe(b *testing.B, h http.Handler, req *http.Request, want int) {
	b.Helper()
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != want {
			b.Fatalf("status %d, want %d", rec.Code, want)
		}
	}
}

// BenchmarkRequireScopes is one request through RequireScopes("items:read")
// into a handler that writes nothing: the whole protected-request path.
func BenchmarkRequireScopes(b *testing.B) {
	noop := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	for _, alg := range benchAlgs {
		for _, mode := range []struct {
			name  string
			cache bool
		}{{"first-sight", false}, {"repeated", true}} {
			b.Run(alg+"/"+mode.name, func(b *testing.B) {
				f := newFixture(b, alg, func(c *tollgate.Config) { c.DisableTokenCache = !mode.cache })
				h := f.auth.RequireScopes("items:read")(noop)
				req := httptest.NewRequest("GET", "/items", nil)
				req.Header.Set("Authorization", "Bearer "+f.forgeGood(b, nil))
				benchServe(b, h, req, http.StatusOK)
			})
		}
	}
	b.Run("floor", func(b *testing.B) {
		req := httptest.NewRequest("GET", "/items", nil)
		benchServe(b, noop, req, http.StatusOK)
	})
}

// BenchmarkIssueAccessToken signs one access token, against the raw
// primitive signing the same bytes.
func BenchmarkIssueAccessToken(b *testing.B) {
	for _, alg := range benchAlgs {
		b.Run(alg+"/mint", func(b *testing.B) {
			f := newFixture(b, alg, nil)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tollgate.MintForBench(f.auth); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(alg+"/raw-sign", func(b *testing.B) {
			f := newFixture(b, alg, nil)
			tok, err := tollgate.MintForBench(f.auth)
			if err != nil {
				b.Fatal(err)
			}
			input := []byte(tok[:len(tok)-len(tok[lastDot(tok):])])
			key := rawKeyFor(b, alg)
			b.ReportAllocs()
			for b.Loop() {
				signRaw(b, alg, key, input)
			}
		})
	}
}

func lastDot(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '.' {
			return i
		}
	}
	return -1
}

// BenchmarkRefreshGrant is one refresh_token grant through TokenHandler
// with the in-memory store (no bcrypt): spend, rotate, sign.
func BenchmarkRefreshGrant(b *testing.B) {
	for _, alg := range benchAlgs {
		b.Run(alg, func(b *testing.B) {
			f := newFixture(b, alg, nil)
			rt := f.login(b, "alice", "wonderland").RefreshToken
			h := f.auth.TokenHandler()
			b.ReportAllocs()
			for b.Loop() {
				form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
				req := httptest.NewRequest("POST", "/token", strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("refresh: status %d, %s", rec.Code, rec.Body)
				}
				rt = decodeToken(b, rec).RefreshToken
			}
		})
	}
}
