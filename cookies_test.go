package tollgate_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-go/tollgate"
	"github.com/tollgate-go/tollgate/audit"
	"github.com/tollgate-go/tollgate/memstore"
)

// cookieFixture is a service in cookie mode: the fixture's routes, and
// the three cookie handlers under /auth.
type cookieFixture struct {
	*fixture
	mux *http.ServeMux
}

// The names cookie mode gives its cookies under Path "/auth".
const (
	refreshCookie = "__Secure-tollgate-refresh"
	accessCookie  = "__Host-tollgate-access"
)

func newCookieFixture(t *testing.T, mutate func(*tollgate.Config)) *cookieFixture {
	t.Helper()
	f := newFixture(t, "", func(c *tollgate.Config) {
		c.Cookies = tollgate.Cookies{Path: "/auth"}
		if mutate != nil {
			mutate(c)
		}
	})
	mux := http.NewServeMux()
	mux.Handle("/auth/login", f.auth.LoginHandler())
	mux.Handle("/auth/refresh", f.auth.RefreshHandler())
	mux.Handle("/auth/logout", f.auth.LogoutHandler())
	mux.Handle("/", f.handler)
	return &cookieFixture{fixture: f, mux: mux}
}

// send serves req; the request is same-origin unless its headers say
// otherwise (a browser's same-origin fetch sends Sec-Fetch-Site too).
func (f *cookieFixture) send(req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	f.mux.ServeHTTP(rec, req)
	return rec
}

// request builds a request to path, with the cookies and extra headers
// given as name, value pairs.
func cookieRequest(method, path, body string, cookies []*http.Cookie, headers ...string) *http.Request {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, c := range cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return req
}

// loginBody is alice's login form.
var loginBody = url.Values{"username": {"alice"}, "password": {"wonderland"}}.Encode()

// login logs alice in through /auth/login and returns the answer.
func (f *cookieFixture) login(t *testing.T) *httptest.ResponseRecorder {
	t.Helper()
	rec := f.send(cookieRequest("POST", "/auth/login", loginBody, nil, "Sec-Fetch-Site", "same-origin"))
	if rec.Code != http.StatusOK {
		t.Fatalf("cookie login: %d %s", rec.Code, rec.Body)
	}
	return rec
}

// setCookie returns the Set-Cookie of name in rec, or fails.
func setCookie(t *testing.T, rec *httptest.ResponseRecorder, name string) *http.Cookie {
	t.Helper()
	var found *http.Cookie
	for _, c := range rec.Result().Cookies() {
		if c.Name == name {
			if found != nil {
				t.Fatalf("two Set-Cookie for %s", name)
			}
			found = c
		}
	}
	if found == nil {
		t.Fatalf("no Set-Cookie for %s in %q", name, rec.Header().Values("Set-Cookie"))
	}
	return found
}

// checkCookieAttrs checks the attributes every cookie of cookie mode has.
func checkCookieAttrs(t *testing.T, c *http.Cookie, path string, maxAge int) {
	t.Helper()
	if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteStrictMode || c.Path != path || c.Domain != "" {
		t.Errorf("cookie %s: HttpOnly %v Secure %v SameSite %v Path %q Domain %q; want HttpOnly, Secure, SameSite=Strict, Path %q, no Domain",
			c.Name, c.HttpOnly, c.Secure, c.SameSite, c.Path, c.Domain, path)
	}
	if c.MaxAge != maxAge {
		t.Errorf("cookie %s: Max-Age %d, want %d", c.Name, c.MaxAge, maxAge)
	}
}

// checkCleared checks that rec expires the cookie name (Max-Age=0, the
// same attributes: RFC 6265 §5.3 replaces a cookie of the same name,
// domain and path only).
func checkCleared(t *testing.T, rec *httptest.ResponseRecorder, name, path string) {
	t.Helper()
	c := setCookie(t, rec, name)
	if c.Value != "" {
		t.Errorf("cleared cookie %s has a value", name)
	}
	checkCookieAttrs(t, c, path, -1) // net/http reads Max-Age=0 as -1
}

// TestCookieLogin: the refresh token is in an HttpOnly, Secure,
// SameSite=Strict "__Secure-" cookie scoped to the cookie path, living as
// long as the token, and never in the body; the access token is in the
// body and works.
func TestCookieLogin(t *testing.T) {
	f := newCookieFixture(t, nil)
	rec := f.login(t)
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"access_token", "token_type", "expires_in", "scope"} {
		if _, ok := body[k]; !ok {
			t.Errorf("answer lacks %q: %s", k, rec.Body)
		}
	}
	if len(body) != 4 {
		t.Errorf("answer has members beyond the four: %s", rec.Body)
	}
	c := setCookie(t, rec, refreshCookie)
	if strings.Contains(rec.Body.String(), c.Value) {
		t.Error("the refresh token is in the body")
	}
	checkCookieAttrs(t, c, "/auth", int((30 * 24 * time.Hour).Seconds()))
	if got := rec.Header().Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control %q, want no-store (RFC 6749 §5.1)", got)
	}
	if rec := f.get("/items", "Bearer "+body["access_token"].(string)); rec.Code != http.StatusOK {
		t.Errorf("the access token of a cookie login: %d", rec.Code)
	}
	if n := len(f.events.Of(audit.LoginSucceeded)); n != 1 {
		t.Errorf("%d login events, want 1", n)
	}
}

// TestCookieHostPrefix: with Path "/" the refresh cookie takes the
// "__Host-" prefix (RFC 6265bis §4.1.3.2), which only a Path=/ cookie may.
func TestCookieHostPrefix(t *testing.T) {
	f := newFixture(t, "", func(c *tollgate.Config) { c.Cookies = tollgate.Cookies{Path: "/", Name: "app"} })
	rec := httptest.NewRecorder()
	f.auth.LoginHandler().ServeHTTP(rec, cookieRequest("POST", "/login", loginBody, nil))
	checkCookieAttrs(t, setCookie(t, rec, "__Host-app-refresh"), "/", int((30 * 24 * time.Hour).Seconds()))
}

// TestCookieLoginFailures: the login's failures are the password grant's,
// with no cookie set.
func TestCookieLoginFailures(t *testing.T) {
	f := newCookieFixture(t, nil)
	for _, tc := range []struct {
		name, method, body string
		headers            []string
		status             int
		code               string
	}{
		{"RFC6749_5_2_wrong_password", "POST", "username=alice&password=nope", nil, 400, "invalid_grant"},
		{"unknown_user", "POST", "username=mallory&password=nope", nil, 400, "invalid_grant"},
		{"missing_password", "POST", "username=alice", nil, 400, "invalid_request"},
		{"client_credentials_in_body", "POST", loginBody + "&client_id=x", nil, 400, "invalid_request"},
		{"client_secret_in_body", "POST", loginBody + "&client_secret=s", nil, 400, "invalid_request"},
		{"basic_header", "POST", loginBody, []string{"Authorization", "Basic eDp5"}, 400, "invalid_request"},
		{"other_grant", "POST", loginBody + "&grant_type=refresh_token", nil, 400, "unsupported_grant_type"},
		{"RFC6749_3_1_repeated", "POST", loginBody + "&username=bob", nil, 400, "invalid_request"},
		{"unknown_scope", "POST", loginBody + "&scope=root", nil, 400, "invalid_scope"},
		{"GET", "GET", "", nil, 405, "invalid_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := f.send(cookieRequest(tc.method, "/auth/login", tc.body, nil, tc.headers...))
			if rec.Code != tc.status || decodeToken(t, rec).Error != tc.code {
				t.Fatalf("%d %s, want %d %s", rec.Code, rec.Body, tc.status, tc.code)
			}
			if len(rec.Result().Cookies()) != 0 {
				t.Errorf("a failed login set cookies: %q", rec.Header().Values("Set-Cookie"))
			}
		})
	}
	if rec := f.send(cookieRequest("GET", "/auth/login", "", nil)); rec.Header().Get("Allow") != "POST" {
		t.Errorf("405 without Allow: POST")
	}
}

// TestCookieRefreshRotates: the refresh endpoint spends the cookie and
// sets its successor (RFC 6749 §6); presenting the spent one again is
// reuse, which revokes the family (RFC 9700 §4.14.2) exactly as with the
// form, and every refusal clears the cookie.
func TestCookieRefreshRotates(t *testing.T) {
	f := newCookieFixture(t, nil)
	first := setCookie(t, f.login(t), refreshCookie)

	rec := f.send(cookieRequest("POST", "/auth/refresh", "", []*http.Cookie{first}, "Sec-Fetch-Site", "same-origin"))
	if rec.Code != http.StatusOK {
		t.Fatalf("refresh: %d %s", rec.Code, rec.Body)
	}
	second := setCookie(t, rec, refreshCookie)
	if second.Value == first.Value {
		t.Fatal("the cookie was not rotated")
	}
	checkCookieAttrs(t, second, "/auth", int((30 * 24 * time.Hour).Seconds()))
	tj := decodeToken(t, rec)
	if tj.AccessToken == "" || tj.RefreshToken != "" {
		t.Fatalf("refresh answer: access token %v, refresh token in body %v", tj.AccessToken != "", tj.RefreshToken != "")
	}

	// Reuse of the first cookie: refused, the family revoked, the cookie
	// cleared.
	rec = f.send(cookieRequest("POST", "/auth/refresh", "", []*http.Cookie{first}))
	if rec.Code != 400 || decodeToken(t, rec).Error != "invalid_grant" {
		t.Fatalf("reuse: %d %s", rec.Code, rec.Body)
	}
	checkCleared(t, rec, refreshCookie, "/auth")
	if len(f.events.Of(audit.RefreshReused)) != 1 {
		t.Error("no refresh_reused event")
	}
	if rec := f.send(cookieRequest("POST", "/auth/refresh", "", []*http.Cookie{second})); rec.Code != 400 {
		t.Errorf("the successor of a reused cookie still refreshes: %d", rec.Code)
	}
}

// TestCookieRefreshRefusals: no cookie, a malformed one, two of them:
// 400 invalid_grant, nothing spent.
func TestCookieRefreshRefusals(t *testing.T) {
	f := newCookieFixture(t, nil)
	good := setCookie(t, f.login(t), refreshCookie)
	for _, tc := range []struct {
		name    string
		cookies []*http.Cookie
	}{
		{"none", nil},
		{"malformed", []*http.Cookie{{Name: refreshCookie, Value: "tgr_nope"}}},
		{"an_access_token", []*http.Cookie{{Name: refreshCookie, Value: "eyJhbGciOiJIUzI1NiJ9.e30.c2ln"}}},
		{"other_name", []*http.Cookie{{Name: "tollgate-refresh", Value: good.Value}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := f.send(cookieRequest("POST", "/auth/refresh", "", tc.cookies))
			if rec.Code != 400 || decodeToken(t, rec).Error != "invalid_grant" {
				t.Fatalf("%d %s, want 400 invalid_grant", rec.Code, rec.Body)
			}
		})
	}
	rec := f.send(cookieRequest("POST", "/auth/refresh", "", []*http.Cookie{good}))
	if rec.Code != 200 {
		t.Fatalf("the good cookie was spent by a refused request: %d", rec.Code)
	}
	good = setCookie(t, rec, refreshCookie)

	// Two cookies of the name: one tossed in by a sibling subdomain (a
	// session of the attacker's own). Neither is guessed at: both
	// families are revoked, so that neither is sent alone later, and
	// nothing is cleared (the clearing could reach the browser's own
	// cookie only, leaving the tossed one).
	bob := setCookie(t, f.send(cookieRequest("POST", "/auth/login", "username=bob&password=builder", nil)), refreshCookie)
	rec = f.send(cookieRequest("POST", "/auth/refresh", "", []*http.Cookie{bob, good}))
	if rec.Code != 400 || decodeToken(t, rec).Error != "invalid_grant" || len(rec.Result().Cookies()) != 0 {
		t.Fatalf("two cookies: %d %s %q, want 400 invalid_grant and no Set-Cookie", rec.Code, rec.Body, rec.Header().Values("Set-Cookie"))
	}
	for name, c := range map[string]*http.Cookie{"the browser's own": good, "the tossed": bob} {
		if rec := f.send(cookieRequest("POST", "/auth/refresh", "", []*http.Cookie{c})); rec.Code != 400 {
			t.Errorf("%s cookie still refreshes after two were presented: %d", name, rec.Code)
		}
	}
}

// TestCookieLogout: logout revokes the family (RFC 7009 §2.1) and clears
// the cookie with the attributes it was set with; the old value,
// replayed by hand, no longer refreshes.
func TestCookieLogout(t *testing.T) {
	f := newCookieFixture(t, withDenylist)
	rec := f.login(t)
	c := setCookie(t, rec, refreshCookie)
	access := decodeToken(t, rec).AccessToken

	rec = f.send(cookieRequest("POST", "/auth/logout", "", []*http.Cookie{c}, "Sec-Fetch-Site", "same-origin"))
	if rec.Code != http.StatusNoContent || rec.Body.Len() != 0 {
		t.Fatalf("logout: %d %q", rec.Code, rec.Body)
	}
	checkCleared(t, rec, refreshCookie, "/auth")
	if rec := f.send(cookieRequest("POST", "/auth/refresh", "", []*http.Cookie{c})); rec.Code != 400 {
		t.Errorf("refresh after logout: %d", rec.Code)
	}
	if n := len(f.events.Of(audit.RefreshReused)); n != 0 {
		t.Errorf("a revoked family's token counted as reuse %d times", n)
	}
	// With a denylist, the family's access token ends with it.
	if rec := f.get("/items", "Bearer "+access); rec.Code != 401 {
		t.Errorf("access token after logout with a denylist: %d", rec.Code)
	}
	// Logging out without a session is not an error.
	if rec := f.send(cookieRequest("POST", "/auth/logout", "", nil)); rec.Code != http.StatusNoContent {
		t.Errorf("logout without a cookie: %d", rec.Code)
	}
}

// TestCookieAccessCookie: with Cookies.AccessCookie the access token is
// in a "__Host-" cookie of its own and not in the body, protected routes
// read it, and logout clears both cookies.
func TestCookieAccessCookie(t *testing.T) {
	f := newCookieFixture(t, func(c *tollgate.Config) { c.Cookies.AccessCookie = true })
	rec := f.login(t)
	if strings.Contains(rec.Body.String(), "access_token") {
		t.Errorf("the access token is in the body: %s", rec.Body)
	}
	ac := setCookie(t, rec, accessCookie)
	checkCookieAttrs(t, ac, "/", int((15 * time.Minute).Seconds()))
	rc := setCookie(t, rec, refreshCookie)
	if rec := f.send(cookieRequest("GET", "/items", "", []*http.Cookie{ac})); rec.Code != 200 {
		t.Fatalf("GET with the access cookie: %d", rec.Code)
	}
	if rec := f.send(cookieRequest("POST", "/items", "", []*http.Cookie{ac}, "Sec-Fetch-Site", "same-origin")); rec.Code != 200 {
		t.Fatalf("same-origin POST with the access cookie: %d", rec.Code)
	}
	rec = f.send(cookieRequest("POST", "/auth/refresh", "", []*http.Cookie{rc}))
	if rec.Code != 200 {
		t.Fatalf("refresh: %d", rec.Code)
	}
	if setCookie(t, rec, accessCookie).Value == ac.Value {
		t.Error("refresh did not set a new access cookie")
	}
	rec = f.send(cookieRequest("POST", "/auth/logout", "", []*http.Cookie{setCookie(t, rec, refreshCookie)}))
	checkCleared(t, rec, refreshCookie, "/auth")
	checkCleared(t, rec, accessCookie, "/")
}

// TestCSRF: every request authenticated by a cookie with an unsafe
// method is checked with http.CrossOriginProtection: a cross-site form
// post, a cross-site fetch, a same-site but cross-origin one (a sibling
// subdomain or another port: SameSite does not stop it) and a request
// with a forged Origin are all refused with 403 and nothing spent;
// same-origin requests, requests from trusted origins and requests from
// clients that are not browsers (neither header) are served.
func TestCSRF(t *testing.T) {
	refused := []struct {
		name    string
		headers []string
	}{
		{"cross_site_form_post", []string{"Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "navigate", "Origin", "https://evil.example"}},
		{"cross_site_fetch", []string{"Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "cors", "Origin", "https://evil.example"}},
		{"same_site_other_origin", []string{"Sec-Fetch-Site", "same-site", "Origin", "https://other.example.com"}},
		{"forged_origin_without_fetch_metadata", []string{"Origin", "https://evil.example"}},
		{"null_origin", []string{"Origin", "null"}},
	}
	accepted := []struct {
		name    string
		headers []string
	}{
		{"same_origin_fetch", []string{"Sec-Fetch-Site", "same-origin", "Origin", "http://example.com"}},
		{"origin_matches_host", []string{"Origin", "http://example.com"}},
		{"not_a_browser", nil},
		{"user_typed", []string{"Sec-Fetch-Site", "none"}},
		{"trusted_origin", []string{"Sec-Fetch-Site", "cross-site", "Origin", "https://app.example.net"}},
	}
	trusted := func(c *tollgate.Config) {
		c.Cookies.AccessCookie = true
		c.Cookies.TrustedOrigins = []string{"https://app.example.net"}
	}
	// Each endpoint, with the request it is sent.
	type endpoint struct {
		name, method, path, body string
		cookies                  func(*cookieFixture) []*http.Cookie
		ok                       int
	}
	refreshOf := func(f *cookieFixture) []*http.Cookie {
		return []*http.Cookie{setCookie(t, f.login(t), refreshCookie)}
	}
	accessOf := func(f *cookieFixture) []*http.Cookie {
		return []*http.Cookie{setCookie(t, f.login(t), accessCookie)}
	}
	endpoints := []endpoint{
		{"login", "POST", "/auth/login", loginBody, func(*cookieFixture) []*http.Cookie { return nil }, 200},
		{"refresh", "POST", "/auth/refresh", "", refreshOf, 200},
		{"logout", "POST", "/auth/logout", "", refreshOf, 204},
		{"protected_POST_with_access_cookie", "POST", "/items", "", accessOf, 200},
		{"protected_DELETE_with_access_cookie", "DELETE", "/items", "", accessOf, 405},
	}
	for _, ep := range endpoints {
		for _, tc := range refused {
			t.Run(ep.name+"/refused/"+tc.name, func(t *testing.T) {
				f := newCookieFixture(t, trusted)
				addDelete(f)
				cookies := ep.cookies(f)
				logins := len(f.events.Of(audit.LoginSucceeded))
				rec := f.send(cookieRequest(ep.method, ep.path, ep.body, cookies, tc.headers...))
				if rec.Code != http.StatusForbidden || decodeToken(t, rec).Error != "invalid_request" {
					t.Fatalf("%d %s, want 403 invalid_request", rec.Code, rec.Body)
				}
				if rec.Header().Get("WWW-Authenticate") != "" || len(rec.Result().Cookies()) != 0 {
					t.Errorf("a refused request got a challenge or cookies: %q %q", rec.Header().Get("WWW-Authenticate"), rec.Header().Values("Set-Cookie"))
				}
				if len(f.events.Of(audit.LoginSucceeded)) != logins {
					t.Error("a refused login logged in")
				}
				denied := f.events.Of(audit.AccessDenied)
				if len(denied) != 1 || denied[0].Reason != audit.CrossOrigin {
					t.Errorf("events %+v, want one access_denied cross_origin", denied)
				}
				// Nothing spent: the cookie still refreshes.
				if ep.path == "/auth/refresh" || ep.path == "/auth/logout" {
					if rec := f.send(cookieRequest("POST", "/auth/refresh", "", cookies)); rec.Code != 200 {
						t.Errorf("the cookie was spent or revoked by the refused request: %d", rec.Code)
					}
				}
			})
		}
		for _, tc := range accepted {
			t.Run(ep.name+"/accepted/"+tc.name, func(t *testing.T) {
				f := newCookieFixture(t, trusted)
				addDelete(f)
				rec := f.send(cookieRequest(ep.method, ep.path, ep.body, ep.cookies(f), tc.headers...))
				if rec.Code != ep.ok {
					t.Fatalf("%d %s, want %d", rec.Code, rec.Body, ep.ok)
				}
			})
		}
	}
	// Safe methods are not checked (http.CrossOriginProtection): a
	// cross-site GET can send the cookie but not read the answer (CORS).
	f := newCookieFixture(t, trusted)
	if rec := f.send(cookieRequest("GET", "/items", "", accessOf(f), "Sec-Fetch-Site", "cross-site")); rec.Code != 200 {
		t.Errorf("cross-site GET: %d", rec.Code)
	}
	// A Bearer header is not a cookie: a request that carries one is not
	// checked (no other origin can make a browser send it).
	f = newCookieFixture(t, nil)
	tok := decodeToken(t, f.login(t)).AccessToken
	if rec := f.send(cookieRequest("POST", "/items", "", nil, "Authorization", "Bearer "+tok, "Sec-Fetch-Site", "cross-site")); rec.Code != 200 {
		t.Errorf("cross-site POST with a Bearer header: %d", rec.Code)
	}
	// Tokens.Cookie alone (without cookie mode) is checked the same way.
	g := newFixture(t, "", func(c *tollgate.Config) { c.Tokens.Cookie = "at" })
	req := cookieRequest("POST", "/items", "", []*http.Cookie{{Name: "at", Value: g.login(t, "alice", "wonderland").AccessToken}}, "Sec-Fetch-Site", "cross-site")
	if rec := g.do(req); rec.Code != http.StatusForbidden {
		t.Errorf("Tokens.Cookie, cross-site POST: %d", rec.Code)
	}
}

// addDelete adds DELETE /items to f, answering 405 when its handler runs
// (a distinct answer).
func addDelete(f *cookieFixture) {
	f.handler.(*http.ServeMux).Handle("DELETE /items", f.auth.RequireScopes("items:write")(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusMethodNotAllowed)
	})))
}

// TestCookieStoreDown: a refresh or logout that meets a failing store is
// 503 and keeps the cookie, so the retry succeeds once the store is back.
func TestCookieStoreDown(t *testing.T) {
	fr := &flakyRefresh{RefreshStore: memstore.NewRefreshStore()}
	f := newCookieFixture(t, func(c *tollgate.Config) { c.Refresh = fr })
	c := setCookie(t, f.login(t), refreshCookie)
	fr.down.Store("*")
	for _, path := range []string{"/auth/refresh", "/auth/logout"} {
		rec := f.send(cookieRequest("POST", path, "", []*http.Cookie{c}))
		want503(t, path, rec)
		if len(rec.Result().Cookies()) != 0 {
			t.Errorf("%s: cookies changed while the store was down: %q", path, rec.Header().Values("Set-Cookie"))
		}
	}
	fr.down.Store("")
	if rec := f.send(cookieRequest("POST", "/auth/refresh", "", []*http.Cookie{c})); rec.Code != 200 {
		t.Errorf("refresh after the store came back: %d %s", rec.Code, rec.Body)
	}
}

// TestCookieConfig: the settings New refuses.
func TestCookieConfig(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*tollgate.Config)
		want   string
	}{
		{"no_refresh_store", func(c *tollgate.Config) { c.Cookies.Path = "/auth"; c.Refresh = nil }, "Config.Refresh"},
		{"relative_path", func(c *tollgate.Config) { c.Cookies.Path = "auth" }, "Path"},
		{"path_with_semicolon", func(c *tollgate.Config) { c.Cookies.Path = "/auth;Domain=evil" }, "Path"},
		{"prefixed_name", func(c *tollgate.Config) { c.Cookies = tollgate.Cookies{Path: "/a", Name: "__Host-x"} }, "Name"},
		{"name_not_a_token", func(c *tollgate.Config) { c.Cookies = tollgate.Cookies{Path: "/a", Name: "a b"} }, "Name"},
		{"name_without_path", func(c *tollgate.Config) { c.Cookies.Name = "x" }, "Path"},
		{"two_access_cookies", func(c *tollgate.Config) {
			c.Cookies = tollgate.Cookies{Path: "/a", AccessCookie: true}
			c.Tokens.Cookie = "at"
		}, "Tokens.Cookie"},
		{"bad_origin", func(c *tollgate.Config) {
			c.Cookies = tollgate.Cookies{Path: "/a", TrustedOrigins: []string{"https://a.example/path"}}
		}, "TrustedOrigins"},
		{"origins_without_cookies", func(c *tollgate.Config) { c.Cookies.TrustedOrigins = []string{"https://a.example"} }, "TrustedOrigins"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tollgate.Config{
				Issuer: testIssuer, Audience: []string{testAudience}, SigningKey: testKey(t, "ES256"),
				Scopes: testScopes, Users: memstore.NewUsers(), Refresh: memstore.NewRefreshStore(), Hasher: &fastHasher{},
			}
			tc.mutate(&cfg)
			_, err := tollgate.New(cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: %v, want an error naming %s", err, tc.want)
			}
		})
	}
	f := newFixture(t, "", nil)
	for name, h := range map[string]func() http.Handler{
		"LoginHandler": f.auth.LoginHandler, "RefreshHandler": f.auth.RefreshHandler, "LogoutHandler": f.auth.LogoutHandler,
	} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(r.(string), "Cookies") {
					t.Errorf("%s without cookie mode: recovered %v", name, r)
				}
			}()
			h()
		}()
	}
}

// TestIssueCookie: a login of the service's own goes through IssueCookie
// (Issue, for Cookies.ClientID): the same cookie and answer as
// LoginHandler's, and a cookie its RefreshHandler takes, whatever the
// client is called.
func TestIssueCookie(t *testing.T) {
	f := newCookieFixture(t, func(c *tollgate.Config) {
		c.Cookies.ClientID = "spa"
		c.Clients = memstore.NewClients("spa", "tollgate")
	})
	f.mux.HandleFunc("POST /auth/passkey", func(w http.ResponseWriter, r *http.Request) {
		u, err := f.users.LookupUser(r.Context(), "bob")
		if err != nil {
			t.Error(err)
			return
		}
		if err := f.auth.IssueCookie(w, r, u, nil); err != nil {
			t.Error(err)
		}
	})
	rec := f.send(cookieRequest("POST", "/auth/passkey", "", nil))
	c := setCookie(t, rec, refreshCookie)
	checkCookieAttrs(t, c, "/auth", int((30 * 24 * time.Hour).Seconds()))
	if tj := decodeToken(t, rec); tj.Scope != "me items:read" || tj.RefreshToken != "" {
		t.Errorf("answer %+v", tj)
	}
	if rec := f.send(cookieRequest("POST", "/auth/refresh", "", []*http.Cookie{c})); rec.Code != 200 {
		t.Errorf("refresh of an issued cookie: %d %s", rec.Code, rec.Body)
	}
	// A disabled user: nothing written, Issue's error returned.
	u := &tollgate.User{Username: "x", Disabled: true}
	w := httptest.NewRecorder()
	if err := f.auth.IssueCookie(w, cookieRequest("POST", "/", "", nil), u, nil); err == nil || len(w.Result().Cookies()) != 0 || w.Body.Len() != 0 {
		t.Errorf("disabled user: %v, cookies %q", err, w.Header().Values("Set-Cookie"))
	}
	// Without cookie mode: an error, not a panic.
	g := newFixture(t, "", nil)
	if err := g.auth.IssueCookie(httptest.NewRecorder(), cookieRequest("POST", "/", "", nil), u, nil); err == nil {
		t.Error("IssueCookie without cookie mode: no error")
	}
}

// TestCookieMaxAgeFollowsFamily: near the end of a family's absolute
// lifetime the rotated cookie lives only as long as its token.
func TestCookieMaxAgeFollowsFamily(t *testing.T) {
	f := newCookieFixture(t, func(c *tollgate.Config) {
		c.RefreshTTL = time.Hour
		c.RefreshFamilyTTL = time.Hour + 30*time.Minute
	})
	first := setCookie(t, f.login(t), refreshCookie)
	checkCookieAttrs(t, first, "/auth", 3600)
	tollgate.SetClock(f.auth, func() time.Time { return time.Now().Add(50 * time.Minute) })
	rec := f.send(cookieRequest("POST", "/auth/refresh", "", []*http.Cookie{first}))
	if rec.Code != 200 {
		t.Fatalf("refresh: %d %s", rec.Code, rec.Body)
	}
	if got := setCookie(t, rec, refreshCookie).MaxAge; got > 2400 || got < 2390 {
		t.Errorf("Max-Age %d, want the family's remaining 2400 s", got)
	}
}

// TestIssueCookieRedirect: a login that ends in a navigation sets the
// cookie and redirects to a local path, with no token in the answer; the
// page's refresh then gets the access token. Locations off the site are
// refused (no open redirect).
func TestIssueCookieRedirect(t *testing.T) {
	f := newCookieFixture(t, nil)
	old := setCookie(t, f.login(t), refreshCookie)
	u, _ := f.users.LookupUser(t.Context(), "bob")
	w := httptest.NewRecorder()
	if err := f.auth.IssueCookieRedirect(w, cookieRequest("GET", "/auth/callback", "", []*http.Cookie{old}), u, nil, "/app"); err != nil {
		t.Fatal(err)
	}
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/app" || w.Body.Len() != 0 || w.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("%d %q %q", w.Code, w.Header().Get("Location"), w.Body)
	}
	c := setCookie(t, w, refreshCookie)
	checkCookieAttrs(t, c, "/auth", int((30 * 24 * time.Hour).Seconds()))
	rec := f.send(cookieRequest("POST", "/auth/refresh", "", []*http.Cookie{c}))
	if rec.Code != 200 || decodeToken(t, rec).AccessToken == "" {
		t.Fatalf("the page's refresh: %d %s", rec.Code, rec.Body)
	}
	if rec := f.send(cookieRequest("POST", "/auth/refresh", "", []*http.Cookie{old})); rec.Code != 400 {
		t.Errorf("the session the new cookie replaced still refreshes: %d", rec.Code)
	}
	for _, loc := range []string{"//evil.example/", "https://evil.example/", "/\\evil.example", "app", "/a\nb"} {
		w := httptest.NewRecorder()
		if err := f.auth.IssueCookieRedirect(w, cookieRequest("GET", "/", "", nil), u, nil, loc); err == nil || len(w.Result().Cookies()) != 0 {
			t.Errorf("location %q: %v, cookies %q", loc, err, w.Header().Values("Set-Cookie"))
		}
	}
}
