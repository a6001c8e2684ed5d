package tollgate_test

// The cache of verified tokens never changes a decision: each test shows
// one of its properties, attacking it where there is an attack.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tollgate-go/tollgate"
)

// cacheFixture is a fixture whose /items handler first records the
// Principal it was given, then tampers with it, as a careless handler may.
type cacheFixture struct {
	*fixture
	mu   sync.Mutex
	seen []tollgate.Principal
}

func newCacheFixture(t *testing.T, alg string, mutate func(*tollgate.Config)) *cacheFixture {
	t.Helper()
	cf := &cacheFixture{fixture: newFixture(t, alg, mutate)}
	mux := http.NewServeMux()
	tamper := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := tollgate.FromContext(r.Context())
		cp := *p
		cp.Scopes = append([]string(nil), p.Scopes...)
		cf.mu.Lock()
		cf.seen = append(cf.seen, cp)
		cf.mu.Unlock()
		p.Subject = "mallory"
		for i := range p.Scopes {
			p.Scopes[i] = "admin:users"
		}
		p.Scopes = append(p.Scopes, "admin:users")
		json.NewEncoder(w).Encode(map[string]any{"ok": true})
	})
	mux.Handle("GET /items", cf.auth.RequireScopes("items:read")(tamper))
	mux.Handle("GET /admin/users", cf.auth.RequireScopes("admin:users")(tamper))
	mux.Handle("GET /users/me", cf.auth.RequireScopes("me")(tamper))
	cf.handler = mux
	return cf
}

func (cf *cacheFixture) last() tollgate.Principal {
	cf.mu.Lock()
	defer cf.mu.Unlock()
	return cf.seen[len(cf.seen)-1]
}

func cached(a *tollgate.Authenticator) int {
	n, _ := tollgate.CacheLen(a)
	return n
}

func TestTokenCache(t *testing.T) {
	t.Run("a verified token is cached, and a hit gives the same Principal", func(t *testing.T) {
		f := newCacheFixture(t, "ES256", nil)
		tok := f.forgeGood(t, nil)
		if rec := f.get("/items", "Bearer "+tok); rec.Code != 200 {
			t.Fatalf("first use: %d", rec.Code)
		}
		if !tollgate.CacheHas(f.auth, tok) {
			t.Fatal("verified token not cached")
		}
		first := f.last()
		if rec := f.get("/items", "Bearer "+tok); rec.Code != 200 {
			t.Fatalf("second use: %d", rec.Code)
		}
		if got := f.last(); fmt.Sprint(got) != fmt.Sprint(first) {
			t.Errorf("hit Principal = %+v, want %+v", got, first)
		}
	})

	t.Run("a handler that modifies its Principal changes nothing for the next request", func(t *testing.T) {
		f := newCacheFixture(t, "HS256", nil)
		tok := f.forgeGood(t, func(_, c map[string]any) { c["scope"] = "me items:read" })
		for i := range 3 {
			if rec := f.get("/items", "Bearer "+tok); rec.Code != 200 {
				t.Fatalf("use %d: %d", i, rec.Code)
			}
			p := f.last()
			if p.Subject != "alice" || fmt.Sprint(p.Scopes) != "[me items:read]" {
				t.Fatalf("use %d: Principal = %+v, tampering leaked through the cache", i, p)
			}
		}
		// The tampered scopes must not grant admin:users either.
		if rec := f.get("/admin/users", "Bearer "+tok); rec.Code != http.StatusForbidden {
			t.Errorf("admin route after tampering: %d, want 403", rec.Code)
		}
	})

	t.Run("RFC6750 §3.1 the scope check runs on every hit", func(t *testing.T) {
		f := newCacheFixture(t, "EdDSA", nil)
		tok := f.forgeGood(t, func(_, c map[string]any) { c["scope"] = "items:read" })
		if rec := f.get("/items", "Bearer "+tok); rec.Code != 200 {
			t.Fatalf("items: %d", rec.Code)
		}
		if !tollgate.CacheHas(f.auth, tok) {
			t.Fatal("not cached")
		}
		for _, path := range []string{"/users/me", "/admin/users"} {
			if rec := f.get(path, "Bearer "+tok); rec.Code != http.StatusForbidden {
				t.Errorf("%s with a cached token lacking the scope: %d, want 403", path, rec.Code)
			}
		}
	})

	t.Run("RFC7519 §4.1.4 a cached token expires on time, with leeway, and leaves", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := newCacheFixture(t, "ES256", func(c *tollgate.Config) { c.Leeway = 10 * time.Second })
			tok := f.forgeGood(t, func(_, c map[string]any) { c["exp"] = time.Now().Add(time.Minute).Unix() })
			if rec := f.get("/items", "Bearer "+tok); rec.Code != 200 {
				t.Fatalf("fresh: %d", rec.Code)
			}
			time.Sleep(time.Minute + 5*time.Second) // past exp, within leeway
			if rec := f.get("/items", "Bearer "+tok); rec.Code != 200 {
				t.Fatalf("within leeway: %d", rec.Code)
			}
			time.Sleep(5 * time.Second) // exp + leeway
			rec := f.get("/items", "Bearer "+tok)
			if rec.Code != 401 || rec.Header().Get("WWW-Authenticate") != `Bearer realm="https://as.test", error="invalid_token", error_description="The access token expired"` {
				t.Fatalf("expired cached token: %d %q", rec.Code, rec.Header().Get("WWW-Authenticate"))
			}
			if tollgate.CacheHas(f.auth, tok) {
				t.Error("expired token still cached")
			}
		})
	})

	t.Run("expired entries leave when newer ones are added", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := newCacheFixture(t, "HS256", func(c *tollgate.Config) { c.Leeway = -1 })
			tollgate.SetCacheBounds(f.auth, 100, 1<<20)
			for i := range 10 {
				tok := f.forgeGood(t, func(_, c map[string]any) { c["exp"] = time.Now().Add(time.Minute).Unix(); c["jti"] = fmt.Sprint(i) })
				f.get("/items", "Bearer "+tok)
			}
			if n := cached(f.auth); n != 10 {
				t.Fatalf("cached %d, want 10", n)
			}
			time.Sleep(2 * time.Minute)
			tok := f.forgeGood(t, func(_, c map[string]any) { c["jti"] = "new" })
			f.get("/items", "Bearer "+tok)
			if n := cached(f.auth); n != 1 {
				t.Errorf("after expiry and one new token: cached %d, want 1", n)
			}
		})
	})

	t.Run("failures are never cached", func(t *testing.T) {
		for _, alg := range []string{"HS256", "RS256", "ES256", "EdDSA"} {
			f := newCacheFixture(t, alg, nil)
			good := f.forgeGood(t, nil)
			other, _ := tollgate.GenerateKey(alg)
			bad := map[string]string{
				"forged signature": forge(t, alg, nil, f.goodHeader(), goodClaims()),
				"expired":          f.forgeGood(t, func(_, c map[string]any) { c["exp"] = time.Now().Add(-time.Hour).Unix() }),
				"not yet valid":    f.forgeGood(t, func(_, c map[string]any) { c["nbf"] = time.Now().Add(time.Hour).Unix() }),
				"wrong issuer":     f.forgeGood(t, func(_, c map[string]any) { c["iss"] = "https://evil.test" }),
				"wrong audience":   f.forgeGood(t, func(_, c map[string]any) { c["aud"] = "https://other.test" }),
				"unknown kid":      f.forgeGood(t, func(h, _ map[string]any) { h["kid"] = other.ID() }),
			}
			for name, tok := range bad {
				for range 2 {
					if rec := f.get("/items", "Bearer "+tok); rec.Code != 401 {
						t.Errorf("%s %s: %d, want 401", alg, name, rec.Code)
					}
				}
				if tollgate.CacheHas(f.auth, tok) {
					t.Errorf("%s %s: cached", alg, name)
				}
			}
			if n := cached(f.auth); n != 0 {
				t.Errorf("%s: %d entries after failures only", alg, n)
			}
			// A good token cached first does not make its forged twin pass.
			f.get("/items", "Bearer "+good)
			twin := good[:len(good)-4] + "AAAA"
			if rec := f.get("/items", "Bearer "+twin); rec.Code != 401 {
				t.Errorf("%s: forged twin of a cached token: %d, want 401", alg, rec.Code)
			}
		}
	})

	t.Run("the bound on entries holds, and evicted tokens still verify", func(t *testing.T) {
		f := newCacheFixture(t, "HS256", nil)
		tollgate.SetCacheBounds(f.auth, 8, 1<<20)
		var toks []string
		for i := range 50 {
			tok := f.forgeGood(t, func(_, c map[string]any) { c["jti"] = fmt.Sprint(i) })
			toks = append(toks, tok)
			if rec := f.get("/items", "Bearer "+tok); rec.Code != 200 {
				t.Fatalf("token %d: %d", i, rec.Code)
			}
			if n := cached(f.auth); n > 8 {
				t.Fatalf("after %d tokens: %d entries, bound 8", i+1, n)
			}
		}
		if tollgate.CacheHas(f.auth, toks[0]) {
			t.Error("the oldest should be evicted")
		}
		// A full cache admits a share of new tokens: one that keeps
		// coming back gets in.
		for range 16 {
			f.get("/items", "Bearer "+toks[49])
		}
		if !tollgate.CacheHas(f.auth, toks[49]) {
			t.Error("a token presented 16 times to a full cache never got in")
		}
		if rec := f.get("/items", "Bearer "+toks[0]); rec.Code != 200 {
			t.Errorf("evicted token: %d, want 200", rec.Code)
		}
	})

	t.Run("the bound on bytes holds", func(t *testing.T) {
		f := newCacheFixture(t, "HS256", nil)
		tollgate.SetCacheBounds(f.auth, 1000, 4096)
		for i := range 50 {
			f.get("/items", "Bearer "+f.forgeGood(t, func(_, c map[string]any) { c["jti"] = fmt.Sprint(i) }))
			if _, b := tollgate.CacheLen(f.auth); b > 4096 {
				t.Fatalf("after %d tokens: %d bytes, bound 4096", i+1, b)
			}
		}
		if n := cached(f.auth); n == 0 {
			t.Error("nothing cached")
		}
	})

	t.Run("off with Config.Cache.Disabled", func(t *testing.T) {
		f := newCacheFixture(t, "ES256", func(c *tollgate.Config) { c.Cache.Disabled = true })
		tok := f.forgeGood(t, nil)
		for range 3 {
			if rec := f.get("/items", "Bearer "+tok); rec.Code != 200 {
				t.Fatalf("%d", rec.Code)
			}
		}
		if n := cached(f.auth); n != 0 {
			t.Errorf("cache off: %d entries", n)
		}
	})

	t.Run("RFC8725 §3.1 a key-set change empties the cache: a removed key stops at once", func(t *testing.T) {
		f := newCacheFixture(t, "ES256", nil)
		tok := f.forgeGood(t, nil)
		if rec := f.get("/items", "Bearer "+tok); rec.Code != 200 {
			t.Fatal(rec.Code)
		}
		// The key set is fixed per Authenticator: rotating the old key out
		// means a new one, whose ring has its own, empty cache.
		newKey, _ := tollgate.GenerateKey("ES256")
		a, err := tollgate.New(tollgate.Config{Issuer: testIssuer, Audience: []string{testAudience}, SigningKey: newKey, Scopes: testScopes})
		if err != nil {
			t.Fatal(err)
		}
		h := a.RequireScopes("items:read")(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		req, _ := http.NewRequest("GET", "/items", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 401 {
			t.Errorf("token of a removed key: %d, want 401", rec.Code)
		}
		if cached(a) != 0 {
			t.Error("new key set starts with a non-empty cache")
		}
	})

	t.Run("Config.LoadUser still runs on every hit", func(t *testing.T) {
		f := newCacheFixture(t, "HS256", func(c *tollgate.Config) { c.LoadUser = true })
		tok := f.forgeGood(t, nil)
		if rec := f.get("/items", "Bearer "+tok); rec.Code != 200 {
			t.Fatal(rec.Code)
		}
		u, _ := f.users.LookupUser(t.Context(), "alice")
		u.Disabled = true
		f.users.Put(*u)
		if rec := f.get("/items", "Bearer "+tok); rec.Code != 401 {
			t.Errorf("cached token of a disabled user: %d, want 401", rec.Code)
		}
	})

	t.Run("concurrent use", func(t *testing.T) {
		f := newCacheFixture(t, "HS256", nil)
		tollgate.SetCacheBounds(f.auth, 64, 1<<20)
		var toks []string
		for i := range 100 {
			toks = append(toks, f.forgeGood(t, func(_, c map[string]any) { c["jti"] = fmt.Sprint(i) }))
		}
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Go(func() {
				for i := range 300 {
					if rec := f.get("/items", "Bearer "+toks[(i*7+g)%len(toks)]); rec.Code != 200 {
						t.Errorf("%d", rec.Code)
						return
					}
				}
			})
		}
		wg.Wait()
		if n := cached(f.auth); n > 64 {
			t.Errorf("%d entries, bound 64", n)
		}
	})
}

// TestTokenCacheCapacity fills the cache of the default configuration to
// its documented capacity, 16 384 distinct live tokens: every one of them
// is then a hit (shards come from a hash of the whole token, so none
// overflows while the cache has room). Past the capacity the bound holds.
func TestTokenCacheCapacity(t *testing.T) {
	f := newCacheFixture(t, "HS256", nil)
	const capacity = 16384
	toks := make([]string, capacity+1000)
	for i := range toks {
		toks[i] = f.forgeGood(t, func(_, c map[string]any) { c["jti"] = fmt.Sprint("capacity-", i) })
	}
	for _, tok := range toks[:capacity] {
		if rec := f.get("/items", "Bearer "+tok); rec.Code != 200 {
			t.Fatalf("%d", rec.Code)
		}
	}
	missing := 0
	for _, tok := range toks[:capacity] {
		if !tollgate.CacheHas(f.auth, tok) {
			missing++
		}
	}
	if n := cached(f.auth); missing != 0 || n != capacity {
		t.Errorf("after %d distinct tokens: %d cached, %d of them missing; want all", capacity, n, missing)
	}
	for _, tok := range toks[capacity:] {
		f.get("/items", "Bearer "+tok)
	}
	if n, b := tollgate.CacheLen(f.auth); n > capacity || b > 16<<20 {
		t.Errorf("past capacity: %d entries, %d bytes; bounds %d and 16 MiB", n, b, capacity)
	}
}
