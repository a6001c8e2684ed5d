package main

// HTTP tests of the login: the whole flow against the fake provider, the
// local users it maps to, and every way a callback is refused.

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestLoginFlow runs the authorization code flow with PKCE (RFC 6749
// §4.1, RFC 7636 §4.1–4.6) end to end for each userinfo shape: the start
// and its flow cookie, the provider, the callback and our refresh
// cookie, POST /auth/refresh and GET /api/me; a second login of the same
// upstream account is the same local user, another account another.
func TestLoginFlow(t *testing.T) {
	for _, tt := range []struct {
		provider  string
		wantUser  string // the local username of upstream id 12345
		otherUser string // of upstream id 999
	}{
		{"github", "github:12345", "github:999"},
		{"google", "google:sub-12345", "google:sub-999"},
		{"custom", "custom:sub-12345", "custom:sub-999"},
	} {
		t.Run(tt.provider, func(t *testing.T) {
			t.Parallel()
			fake := newFakeProvider(t)
			app := startApp(t, fake, 0, "-provider", tt.provider)
			u := newUser(t)

			t.Run("RFC 6749 §4.1.1, RFC 7636 §4.3: the start redirects with state and an S256 challenge, the flow in a Lax cookie", func(t *testing.T) {
				r := u.get(app.url + "/auth/login/" + tt.provider)
				if r.status != http.StatusFound {
					t.Fatalf("start: %d %s", r.status, r.body)
				}
				loc, err := url.Parse(r.location(t, app.url))
				if err != nil {
					t.Fatal(err)
				}
				q := loc.Query()
				if loc.Scheme+"://"+loc.Host+loc.Path != fake.url+"/authorize" || q.Get("response_type") != "code" ||
					q.Get("client_id") != fakeClientID || q.Get("redirect_uri") != app.url+callbackPath ||
					len(q.Get("state")) < 22 || q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 ||
					q.Has("code_verifier") || q.Has("client_secret") {
					t.Errorf("authorization request %s", loc)
				}
				c := r.cookie(flowCookie)
				if c == nil || !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/auth" ||
					c.MaxAge != int(flowTTL.Seconds()) || c.Domain != "" || strings.Contains(c.Value, q.Get("state")) {
					t.Errorf("flow cookie %+v: want HttpOnly, Secure, SameSite=Lax, Path=/auth, Max-Age=600, host-only, not the state", c)
				}
				if r.cookie(refreshCookieName) != nil {
					t.Error("the start sets the refresh cookie")
				}
				if n := app.login.flows.len(); n != 1 {
					t.Errorf("%d flows held, want 1", n)
				}
			})

			fake.set(func(f *fakeProvider) { f.user = upstreamUser{id: 12345, login: "octocat", email: "o@example.com"} })
			var first string
			t.Run("RFC 6749 §4.1.2–4.1.4: the callback sets our refresh cookie; the page's refresh gets an access token for the mapped user", func(t *testing.T) {
				back := u.get(u.toProvider(app))
				if back.status != http.StatusSeeOther || back.location(t, app.url) != app.url+"/" {
					t.Fatalf("callback: %d %q %s", back.status, back.header.Get("Location"), back.body)
				}
				c := back.cookie(refreshCookieName)
				if c == nil || !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteStrictMode || c.Path != "/auth" || !strings.HasPrefix(c.Value, "tgr_") {
					t.Errorf("refresh cookie %+v", c)
				}
				if fc := back.cookie(flowCookie); fc == nil || fc.MaxAge >= 0 {
					t.Errorf("the callback does not clear the flow cookie: %+v", fc)
				}
				if len(back.body) > 0 && strings.Contains(string(back.body), "access_token") {
					t.Errorf("the callback's body shows a token: %s", back.body)
				}
				if got := back.header.Get("Cache-Control"); got != "no-store" {
					t.Errorf("Cache-Control %q", got)
				}
				r := u.do("POST", app.url+"/auth/refresh", nil)
				if r.status != http.StatusOK {
					t.Fatalf("refresh: %d %s", r.status, r.body)
				}
				access := strings.TrimSuffix(strings.SplitN(strings.SplitN(string(r.body), `"access_token":"`, 2)[1], `"`, 2)[0], `"`)
				status, me := u.me(app, access)
				if status != http.StatusOK || me["username"] != tt.wantUser || !slices.Equal(anyStrings(me["scopes"]), []string{"me"}) {
					t.Fatalf("GET /api/me: %d %v, want %s with [me]", status, me, tt.wantUser)
				}
				first = tt.wantUser
				if n := app.login.flows.len(); n != 0 {
					t.Errorf("%d flows left after the callback, want 0 (spent)", n)
				}
			})
			if first == "" {
				t.FailNow()
			}

			t.Run("a second login of the same upstream account, renamed, is the same local user", func(t *testing.T) {
				fake.set(func(f *fakeProvider) { f.user = upstreamUser{id: 12345, login: "renamed", email: "new@example.com"} })
				other := newUser(t) // another browser, too
				if _, me := other.me(app, other.logIn(app)); me["username"] != tt.wantUser {
					t.Errorf("second login: %v, want %s", me, tt.wantUser)
				}
				if n := app.login.accounts.n; n != 1 {
					t.Errorf("%d local users, want 1", n)
				}
			})
			t.Run("another upstream account with the same login name is another local user", func(t *testing.T) {
				fake.set(func(f *fakeProvider) { f.user = upstreamUser{id: 999, login: "octocat", email: "o@example.com"} })
				third := newUser(t)
				if _, me := third.me(app, third.logIn(app)); me["username"] != tt.otherUser {
					t.Errorf("another account: %v, want %s", me, tt.otherUser)
				}
				if n := app.login.accounts.n; n != 2 {
					t.Errorf("%d local users, want 2", n)
				}
			})
			t.Run("logout ends the session", func(t *testing.T) {
				if r := u.do("POST", app.url+"/auth/logout", nil); r.status != http.StatusNoContent {
					t.Fatalf("logout: %d %s", r.status, r.body)
				}
				if r := u.do("POST", app.url+"/auth/refresh", nil); r.status != http.StatusBadRequest {
					t.Errorf("refresh after logout: %d %s", r.status, r.body)
				}
			})
			fake.mu.Lock()
			methods := slices.Clone(fake.methods)
			fake.mu.Unlock()
			for _, m := range methods {
				if m != "S256" {
					t.Errorf("an authorization request with code_challenge_method %q", m)
				}
			}
			app.noSecretsLogged()
		})
	}
}

// anyStrings converts a decoded JSON array of strings.
func anyStrings(v any) []string {
	var out []string
	for _, s := range v.([]any) {
		out = append(out, s.(string))
	}
	return out
}

// withQuery returns rawURL with its query changed by change.
func withQuery(t *testing.T, rawURL string, change func(q url.Values)) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	change(q)
	u.RawQuery = q.Encode()
	return u.String()
}

// TestCallbackRefused: each callback that must not log anyone in is
// refused with its status and an HTML page, with nothing issued: no
// refresh cookie set, no login event, the refresh endpoint still
// refusing the browser, and nothing secret in the log or the page.
func TestCallbackRefused(t *testing.T) {
	for _, tt := range []struct {
		name  string
		setup func(f *fakeProvider)
		// send makes the refused request (by u or another browser it
		// returns) against app.
		send      func(t *testing.T, app *testApp, u *user) (response, *user)
		status    int
		flows     int // the flows left in the table
		exchanges int // the calls at the provider's token endpoint (never a second try)
		pkce      int // of which refused for the verifier
	}{
		{
			name: "RFC 6749 §10.12, RFC 9700 §4.7: a state that does not match is 400",
			send: func(t *testing.T, app *testApp, u *user) (response, *user) {
				cb := withQuery(t, u.toProvider(app), func(q url.Values) { q.Set("state", "forged-state-00000000000") })
				return u.get(cb), u
			},
			status: http.StatusBadRequest,
		},
		{
			name: "RFC 6749 §10.12: no state is 400",
			send: func(t *testing.T, app *testApp, u *user) (response, *user) {
				return u.get(withQuery(t, u.toProvider(app), func(q url.Values) { q.Del("state") })), u
			},
			status: http.StatusBadRequest,
		},
		{
			name: "RFC 6749 §10.12: a callback without the flow cookie (another browser) is 400",
			send: func(t *testing.T, app *testApp, u *user) (response, *user) {
				cb := u.toProvider(app)
				other := newUser(t)
				return other.get(cb), other
			},
			status: http.StatusBadRequest,
			flows:  1, // the victim's flow, still waiting for its own callback
		},
		{
			name: "RFC 6749 §10.12: a flow cookie the service never set is 400",
			send: func(t *testing.T, app *testApp, u *user) (response, *user) {
				cb := u.toProvider(app)
				other := newUser(t)
				return other.do("GET", cb, map[string]string{"Cookie": flowCookie + "=" + "AAAAAAAAAAAAAAAAAAAAAAAAAA"}), other
			},
			status: http.StatusBadRequest,
			flows:  1,
		},
		{
			name: "RFC 9700 §4.7.1: an expired flow is 400",
			send: func(t *testing.T, app *testApp, u *user) (response, *user) {
				cb := u.toProvider(app)
				app.clock.advance(flowTTL + time.Second)
				return u.get(cb), u
			},
			status: http.StatusBadRequest,
		},
		{
			name: "RFC 9700 §4.7.1: a replayed callback, flow cookie and all, is 400: the flow (its state) is single-use",
			send: func(t *testing.T, app *testApp, u *user) (response, *user) {
				cb := u.toProvider(app)
				cookie := u.flowCookie(app)
				if r := u.get(cb); r.status != http.StatusSeeOther {
					t.Fatalf("the legitimate callback: %d %s", r.status, r.body)
				}
				attacker := newUser(t)
				return attacker.do("GET", cb, map[string]string{"Cookie": flowCookie + "=" + cookie}), attacker
			},
			status:    http.StatusBadRequest,
			exchanges: 1,
		},
		{
			name:      "RFC 7636 §4.6: a verifier that does not match the challenge is refused by the provider: 502",
			setup:     func(f *fakeProvider) { f.tamperChallenge = true },
			send:      func(t *testing.T, app *testApp, u *user) (response, *user) { return u.get(u.toProvider(app)), u },
			status:    http.StatusBadGateway,
			exchanges: 1, pkce: 1,
		},
		{
			name:   "RFC 6749 §4.1.2.1: a denied consent (error=access_denied) is 403",
			setup:  func(f *fakeProvider) { f.deny = true },
			send:   func(t *testing.T, app *testApp, u *user) (response, *user) { return u.get(u.toProvider(app)), u },
			status: http.StatusForbidden,
		},
		{
			name: "RFC 6749 §4.1.2.1: another error from the authorization endpoint is 502",
			send: func(t *testing.T, app *testApp, u *user) (response, *user) {
				return u.get(withQuery(t, u.toProvider(app), func(q url.Values) {
					q.Del("code")
					q.Set("error", "temporarily_unavailable")
				})), u
			},
			status: http.StatusBadGateway,
		},
		{
			name: "RFC 6749 §4.1.2: a callback without a code is 400",
			send: func(t *testing.T, app *testApp, u *user) (response, *user) {
				return u.get(withQuery(t, u.toProvider(app), func(q url.Values) { q.Del("code") })), u
			},
			status: http.StatusBadRequest,
		},
		{
			name:      "RFC 6749 §5.2: the token endpoint's invalid_grant is 502",
			setup:     func(f *fakeProvider) { f.tokenError = "invalid_grant" },
			send:      func(t *testing.T, app *testApp, u *user) (response, *user) { return u.get(u.toProvider(app)), u },
			status:    http.StatusBadGateway,
			exchanges: 1,
		},
		{
			name:      "OIDC Core §5.3.3: a userinfo endpoint that fails (500) is 502",
			setup:     func(f *fakeProvider) { f.userinfoStatus = http.StatusInternalServerError },
			send:      func(t *testing.T, app *testApp, u *user) (response, *user) { return u.get(u.toProvider(app)), u },
			status:    http.StatusBadGateway,
			exchanges: 1,
		},
		{
			name:      "a userinfo answer without an id is 502",
			setup:     func(f *fakeProvider) { f.userinfoBody = `{"login": "octocat"}` },
			send:      func(t *testing.T, app *testApp, u *user) (response, *user) { return u.get(u.toProvider(app)), u },
			status:    http.StatusBadGateway,
			exchanges: 1,
		},
		{
			name:      "a userinfo id that is not a number (a login name in its place) is 502",
			setup:     func(f *fakeProvider) { f.userinfoBody = `{"id": "octocat", "login": "octocat"}` },
			send:      func(t *testing.T, app *testApp, u *user) (response, *user) { return u.get(u.toProvider(app)), u },
			status:    http.StatusBadGateway,
			exchanges: 1,
		},
		{
			name:      "a userinfo answer that is not JSON is 502",
			setup:     func(f *fakeProvider) { f.userinfoBody = `<html>sign in</html>` },
			send:      func(t *testing.T, app *testApp, u *user) (response, *user) { return u.get(u.toProvider(app)), u },
			status:    http.StatusBadGateway,
			exchanges: 1,
		},
		{
			name: "RFC 9700 §4.5, RFC 7636 §1: an attacker's code injected into the victim's session fails PKCE: 502",
			send: func(t *testing.T, app *testApp, u *user) (response, *user) {
				attacker := newUser(t)
				app.fake.set(func(f *fakeProvider) { f.user = upstreamUser{id: 666, login: "mallory"} })
				stolen, _ := url.Parse(attacker.toProvider(app))
				app.fake.set(func(f *fakeProvider) { f.user = upstreamUser{id: 12345, login: "octocat"} })
				cb := withQuery(t, u.toProvider(app), func(q url.Values) { q.Set("code", stolen.Query().Get("code")) })
				return u.get(cb), u
			},
			status:    http.StatusBadGateway,
			flows:     1, // the attacker's own flow, never completed
			exchanges: 1, pkce: 1,
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := newFakeProvider(t)
			if tt.setup != nil {
				fake.set(tt.setup)
			}
			app := startApp(t, fake, 0)
			r, sender := tt.send(t, app, newUser(t))
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			body := string(r.body)
			if ct := r.header.Get("Content-Type"); ct != "text/html; charset=utf-8" || !strings.Contains(body, `id="error"`) {
				t.Errorf("the answer is not the error page: %s %s", ct, body)
			}
			if c := r.cookie(refreshCookieName); c != nil {
				t.Errorf("a refused callback sets the refresh cookie %+v", c)
			}
			if c := r.cookie(flowCookie); c != nil && c.MaxAge >= 0 {
				t.Errorf("a refused callback sets a flow cookie %+v", c)
			}
			for _, s := range fake.handedOut() {
				if strings.Contains(body, s) {
					t.Errorf("the page shows a code or token of the provider: %s", body)
				}
			}
			wantLogins := 0
			if strings.Contains(tt.name, "replayed") {
				wantLogins = 1 // the legitimate callback before the replay
			}
			if n := app.logins(); n != wantLogins {
				t.Errorf("%d logins issued, want %d", n, wantLogins)
			}
			if rr := sender.do("POST", app.url+"/auth/refresh", nil); rr.status != http.StatusBadRequest {
				t.Errorf("POST /auth/refresh from the refused browser: %d %s", rr.status, rr.body)
			}
			if n := app.login.flows.len(); n != tt.flows {
				t.Errorf("%d flows left, want %d", n, tt.flows)
			}
			fake.mu.Lock()
			if fake.tokenCalls != tt.exchanges || fake.pkceFailures != tt.pkce {
				t.Errorf("%d token requests (%d refused for PKCE) at the provider, want %d (%d)", fake.tokenCalls, fake.pkceFailures, tt.exchanges, tt.pkce)
			}
			fake.mu.Unlock()
			app.noSecretsLogged()
		})
	}
}

// TestLoginStart: the start of a login for another provider is 404, and
// a login started again replaces the last one's flow.
func TestLoginStart(t *testing.T) {
	fake := newFakeProvider(t)
	app := startApp(t, fake, 0)
	u := newUser(t)
	if r := u.get(app.url + "/auth/login/google"); r.status != http.StatusNotFound || r.cookie(flowCookie) != nil {
		t.Errorf("GET /auth/login/google on a github service: %d, cookie %v", r.status, r.cookie(flowCookie))
	}
	if r := u.do("POST", app.url+"/auth/login", nil); r.status != http.StatusMethodNotAllowed {
		t.Errorf("POST /auth/login: %d", r.status)
	}
	first := u.toProvider(app)
	second := u.toProvider(app)
	if n := app.login.flows.len(); n != 1 {
		t.Errorf("%d flows after two starts in one browser, want 1", n)
	}
	if r := u.get(second); r.status != http.StatusSeeOther {
		t.Errorf("the second flow's callback: %d %s", r.status, r.body)
	}
	if r := u.get(first); r.status != http.StatusBadRequest {
		t.Errorf("the first, replaced flow's callback: %d", r.status)
	}
}
