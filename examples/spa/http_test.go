package main

import (
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// inlineHandler finds an event-handler attribute, which CSP would block.
var inlineHandler = regexp.MustCompile(`\son[a-z]+=`)

// TestRoutes drives every route over plain HTTP, as a client that is not
// a browser sees it: statuses, JSON shapes and the refresh cookie.
func TestRoutes(t *testing.T) {
	s := startServer(t)

	t.Run("login: the access token in JSON, the refresh token only in its cookie", func(t *testing.T) {
		r := s.login("alice", "wonderland")
		if r.status != http.StatusOK {
			t.Fatalf("login: %d %s", r.status, r.body)
		}
		body := r.json(t)
		if keys := slices.Sorted(maps.Keys(body)); !slices.Equal(keys, []string{"access_token", "expires_in", "scope", "token_type"}) {
			t.Errorf("keys %v, want access_token expires_in scope token_type", keys)
		}
		if body["token_type"] != "Bearer" || body["expires_in"] != float64(900) || body["scope"] != "me items:read items:write" {
			t.Errorf("body %s", r.body)
		}
		c := r.cookie
		if c == nil {
			t.Fatal("no refresh cookie")
		}
		if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteStrictMode || c.Path != "/auth" || c.MaxAge != 30*24*3600 {
			t.Errorf("cookie %+v: want HttpOnly, Secure, SameSite=Strict, Path=/auth, Max-Age of 30 days", c)
		}
		if !strings.HasPrefix(c.Value, "tgr_") || strings.Contains(string(r.body), c.Value) || strings.Contains(string(r.body), "tgr_") {
			t.Errorf("the refresh token is in the body, or not tgr_: %s", r.body)
		}
		if cc := r.header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control %q", cc)
		}
	})

	t.Run("login: wrong password, unknown or disabled user are 400 invalid_grant without a cookie", func(t *testing.T) {
		for _, c := range [][2]string{{"alice", "not-wonderland"}, {"mallory", "wonderland"}, {"dave", "disabled-pass"}} {
			r := s.login(c[0], c[1])
			wantError(t, r, http.StatusBadRequest, "invalid_grant")
			if r.cookie != nil {
				t.Errorf("%s: cookie set: %v", c[0], r.cookie)
			}
		}
		wantError(t, s.do(request{method: "POST", path: "/auth/login"}), http.StatusBadRequest, "invalid_request")
		wantError(t, s.do(request{method: "GET", path: "/auth/login"}), http.StatusMethodNotAllowed, "invalid_request")
	})

	t.Run("refresh: a new access token, the cookie rotated; the old one spent", func(t *testing.T) {
		access, old := s.mustLogin("bob", "builder")
		r := s.do(request{method: "POST", path: "/auth/refresh", cookie: old})
		if r.status != http.StatusOK || r.cookie == nil || r.cookie.Value == old || !strings.HasPrefix(r.cookie.Value, "tgr_") {
			t.Fatalf("refresh: %d %s, cookie %v", r.status, r.body, r.cookie)
		}
		body := r.json(t)
		if tok, _ := body["access_token"].(string); tok == "" || tok == access || body["scope"] != "me items:read" || strings.Contains(string(r.body), "tgr_") {
			t.Errorf("refresh body %s", r.body)
		}
		// RFC 9700 §4.14.2: the spent token again revokes the family.
		wantError(t, s.do(request{method: "POST", path: "/auth/refresh", cookie: old}), http.StatusBadRequest, "invalid_grant")
		wantError(t, s.do(request{method: "POST", path: "/auth/refresh", cookie: r.cookie.Value}), http.StatusBadRequest, "invalid_grant")
	})

	t.Run("refresh: no cookie or a bad one is 400 invalid_grant, and clears it", func(t *testing.T) {
		wantError(t, s.do(request{method: "POST", path: "/auth/refresh"}), http.StatusBadRequest, "invalid_grant")
		r := s.do(request{method: "POST", path: "/auth/refresh", cookie: "tgr_not-a-token"})
		wantError(t, r, http.StatusBadRequest, "invalid_grant")
		if r.cookie == nil || r.cookie.MaxAge != -1 {
			t.Errorf("a bad cookie is not cleared: %v", r.cookie)
		}
		wantError(t, s.do(request{method: "GET", path: "/auth/refresh"}), http.StatusMethodNotAllowed, "invalid_request")
	})

	t.Run("logout: 204, cookie cleared, family and access token revoked", func(t *testing.T) {
		access, refresh := s.mustLogin("carol", "admin-pass-123")
		if r := s.do(request{method: "GET", path: "/api/me", token: access}); r.status != http.StatusOK {
			t.Fatalf("me before logout: %d", r.status)
		}
		r := s.do(request{method: "POST", path: "/auth/logout", cookie: refresh})
		if r.status != http.StatusNoContent || len(r.body) != 0 {
			t.Fatalf("logout: %d %s", r.status, r.body)
		}
		if r.cookie == nil || r.cookie.MaxAge != -1 || r.cookie.Value != "" || r.cookie.Path != "/auth" || !r.cookie.HttpOnly || !r.cookie.Secure {
			t.Errorf("logout cookie %+v, want cleared (Max-Age=0) with the same attributes", r.cookie)
		}
		wantError(t, s.do(request{method: "POST", path: "/auth/refresh", cookie: refresh}), http.StatusBadRequest, "invalid_grant")
		if r := s.do(request{method: "GET", path: "/api/me", token: access}); r.status != http.StatusUnauthorized {
			t.Errorf("me with the access token after logout: %d, want 401 (denylist)", r.status)
		}
		if r := s.do(request{method: "POST", path: "/auth/logout"}); r.status != http.StatusNoContent {
			t.Errorf("logout without a cookie: %d, want 204", r.status)
		}
	})

	t.Run("a cross-origin POST with the cookie is 403 and spends nothing", func(t *testing.T) {
		_, refresh := s.mustLogin("alice", "wonderland")
		for _, h := range []map[string]string{
			{"Sec-Fetch-Site": "cross-site"},
			{"Sec-Fetch-Site": "same-site"},
			{"Origin": "http://evil.example"},
		} {
			for _, path := range []string{"/auth/refresh", "/auth/logout", "/auth/login"} {
				wantError(t, s.do(request{method: "POST", path: path, cookie: refresh, header: h}), http.StatusForbidden, "invalid_request")
			}
		}
		same := map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": s.url}
		if r := s.do(request{method: "POST", path: "/auth/refresh", cookie: refresh, header: same}); r.status != http.StatusOK {
			t.Errorf("same-origin refresh after the refusals: %d %s", r.status, r.body)
		}
	})

	t.Run("api/me and the items", func(t *testing.T) {
		alice, _ := s.mustLogin("alice", "wonderland")
		bob, _ := s.mustLogin("bob", "builder")
		r := s.do(request{method: "GET", path: "/api/me", token: alice})
		if r.status != http.StatusOK || strings.TrimSpace(string(r.body)) != `{"username":"alice","scopes":["me","items:read","items:write"]}` {
			t.Errorf("me: %d %s", r.status, r.body)
		}
		if r := s.do(request{method: "GET", path: "/api/me"}); r.status != http.StatusUnauthorized || r.header.Get("WWW-Authenticate") == "" {
			t.Errorf("me without a token: %d %v", r.status, r.header)
		}
		wantError(t, s.do(request{method: "GET", path: "/api/me", token: "not.a.jwt"}), http.StatusUnauthorized, "invalid_token")
		r = s.do(request{method: "GET", path: "/api/items", token: bob})
		if r.status != http.StatusOK || !strings.HasPrefix(string(r.body), `[{"id":1,"name":"Portal Gun","owner":"alice"}`) {
			t.Errorf("items: %d %s", r.status, r.body)
		}
		post := func(token, body string) response {
			return s.do(request{method: "POST", path: "/api/items", token: token, body: body, contentType: "application/json"})
		}
		r = post(alice, `{"name":"Meeseeks Box"}`)
		if r.status != http.StatusCreated || r.json(t)["owner"] != "alice" || r.json(t)["name"] != "Meeseeks Box" {
			t.Errorf("create: %d %s", r.status, r.body)
		}
		wantError(t, post(bob, `{"name":"x"}`), http.StatusForbidden, "insufficient_scope")
		for _, bad := range []string{``, `[]`, `{"name":""}`, `{"name":"` + strings.Repeat("a", 101) + `"}`, `{"name":"a\u0000b"}`, `{"name":"a"} {}`, `{"name":1}`} {
			wantError(t, post(alice, bad), http.StatusBadRequest, "invalid_request")
		}
		wantError(t, post(alice, `{"name":"`+strings.Repeat("a", 5000)+`"}`), http.StatusRequestEntityTooLarge, "invalid_request")
		if r := s.do(request{method: "GET", path: "/api/items", token: alice}); !strings.Contains(string(r.body), "Meeseeks Box") {
			t.Errorf("items after create: %s", r.body)
		}
	})

	t.Run("the page: its own files only, under a strict CSP", func(t *testing.T) {
		r := s.do(request{method: "GET", path: "/"})
		if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
			t.Fatalf("GET /: %d %q", r.status, r.header.Get("Content-Type"))
		}
		if csp := r.header.Get("Content-Security-Policy"); !strings.HasPrefix(csp, "default-src 'self'") || strings.Contains(csp, "unsafe") {
			t.Errorf("CSP %q", csp)
		}
		page := string(r.body)
		if strings.Count(page, "<script") != 1 || !strings.Contains(page, `<script src="/app.js" defer></script>`) || inlineHandler.MatchString(page) {
			t.Errorf("the page has inline script:\n%s", page)
		}
		js := s.do(request{method: "GET", path: "/app.js"})
		if js.status != http.StatusOK || !strings.Contains(js.header.Get("Content-Type"), "javascript") {
			t.Errorf("GET /app.js: %d %q", js.status, js.header.Get("Content-Type"))
		}
		for _, never := range []string{"localStorage", "sessionStorage", "document.cookie", "innerHTML", "credentials: 'include'"} {
			if strings.Contains(string(js.body), never) {
				t.Errorf("app.js uses %s", never)
			}
		}
		if r := s.do(request{method: "GET", path: "/style.css"}); r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/css") {
			t.Errorf("GET /style.css: %d %q", r.status, r.header.Get("Content-Type"))
		}
		for _, p := range []string{"/nope", "/static/app.js", "/main.go", "/index.html", "/api/", "/api/nope", "/auth/nope"} {
			wantError(t, s.do(request{method: "GET", path: p}), http.StatusNotFound, "invalid_request")
		}
		for _, c := range [][3]string{{"DELETE", "/api/items", "GET, HEAD, POST"}, {"POST", "/api/me", "GET, HEAD"}} {
			r := s.do(request{method: c[0], path: c[1]})
			wantError(t, r, http.StatusMethodNotAllowed, "invalid_request")
			if r.header.Get("Allow") != c[2] {
				t.Errorf("%s %s: Allow %q, want %q", c[0], c[1], r.header.Get("Allow"), c[2])
			}
		}
		if r := s.do(request{method: "GET", path: "/healthz"}); r.status != http.StatusOK {
			t.Errorf("healthz: %d", r.status)
		}
	})

	t.Run("the log names no token", func(t *testing.T) {
		log := s.log.String()
		if strings.Contains(log, "tgr_") || strings.Contains(log, "eyJ") || strings.Contains(log, "wonderland") {
			t.Errorf("the log shows a secret:\n%s", log)
		}
	})
}
