package main

// End-to-end tests in headless Chromium (examples/internal/browser): the
// page as a user drives it, the cookies as the browser holds them, and a
// page of another origin trying to use them.

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/tollgate-go/tollgate/audit"
	"github.com/tollgate-go/tollgate/examples/internal/browser"
)

// accessTTL is the access token lifetime of the browser tests: short,
// so that a test can wait it out, and long enough that a token just
// refreshed (its exp in whole seconds) outlives the retry on a busy
// machine.
const accessTTL = 3 * time.Second

// browserTimeout bounds a whole browser test; waitTimeout one wait. CI
// is a small machine running other tests at the same time.
const (
	browserTimeout = 3 * time.Minute
	waitTimeout    = 45 * time.Second
)

// page is a browser tab on the example, with its test's helpers.
type page struct {
	t   *testing.T
	ctx context.Context
	srv *testServer
}

func newPage(t *testing.T, s *testServer) *page {
	t.Helper()
	return &page{t: t, ctx: browser.New(t, browserTimeout), srv: s}
}

// do runs actions, failing the test on an error.
func (p *page) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, actions...); err != nil {
		p.t.Fatalf("%s: %v", what, err)
	}
}

// open loads the example's page and waits until it has decided between
// the login form and the app.
func (p *page) open() {
	p.t.Helper()
	p.do("open the page", chromedp.Navigate(p.srv.url+"/"))
	p.waitJS(`document.getElementById('status').textContent.startsWith('Logged')`)
}

// waitJS polls the expression in the page until it is truthy.
func (p *page) waitJS(expr string) {
	p.t.Helper()
	_, err := chromedp.Run(p.ctx, chromedp.Poll[chromedp.Void](expr,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(waitTimeout)))
	if err != nil {
		p.t.Fatalf("waiting for %s: %v\npage log: %s", expr, err, p.text("#log"))
	}
}

// eval evaluates expr in the page.
func eval[T any](p *page, expr string) T {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		p.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

func (p *page) text(sel string) string {
	p.t.Helper()
	return eval[string](p, fmt.Sprintf(`(document.querySelector(%q) || {}).textContent || ''`, sel))
}

// visible reports whether the element with id is shown.
func (p *page) visible(id string) bool {
	p.t.Helper()
	return !eval[bool](p, fmt.Sprintf(`document.getElementById(%q).hidden`, id))
}

// items are the names the page lists.
func (p *page) items() []string {
	p.t.Helper()
	return eval[[]string](p, `[...document.querySelectorAll('#items .name')].map(e => e.textContent)`)
}

// refreshes is the page's counter of silent refreshes.
func (p *page) refreshes() int {
	p.t.Helper()
	n, err := strconv.Atoi(p.text("#refreshes"))
	if err != nil {
		p.t.Fatalf("the refresh counter: %v", err)
	}
	return n
}

// login types the credentials into the form and submits it.
func (p *page) login(user, password string) {
	p.t.Helper()
	p.do("log in as "+user,
		chromedp.WaitVisible(chromedp.ID("login-form")),
		chromedp.SetValue(chromedp.ID("username"), user),
		chromedp.SetValue(chromedp.ID("password"), password),
		chromedp.Click(chromedp.ID("login")),
	)
}

// refreshCookie reads the refresh cookie the browser holds for the
// example (HttpOnly: only the browser, through CDP, can show it); nil if
// there is none.
func (p *page) refreshCookie() *network.Cookie {
	p.t.Helper()
	res, err := chromedp.Call(p.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{p.srv.url + "/auth/refresh"}})
	if err != nil {
		p.t.Fatalf("Network.getCookies: %v", err)
	}
	var found *network.Cookie
	for _, c := range res.Cookies {
		if c.Name == refreshCookieName {
			if found != nil {
				p.t.Fatalf("two refresh cookies")
			}
			found = c
		}
	}
	return found
}

// scriptCannotSeeTokens checks that document.cookie, as the page's
// script sees it, holds no refresh token.
func (p *page) scriptCannotSeeTokens(when string) {
	p.t.Helper()
	if dc := eval[string](p, `document.cookie`); strings.Contains(dc, "tgr_") || strings.Contains(dc, "tollgate") {
		p.t.Errorf("%s: document.cookie = %q shows the refresh cookie", when, dc)
	}
	if st := eval[string](p, `JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage)])`); st != "[[],[]]" {
		p.t.Errorf("%s: web storage holds %s", when, st)
	}
}

// TestBrowserSession: alice's session in the page, from login through a
// silent refresh and a new item to logout, and the old cookie replayed
// by hand afterwards.
func TestBrowserSession(t *testing.T) {
	start := time.Now()
	defer func() { t.Logf("browser session test: %v", time.Since(start)) }()
	s := startServer(t, "-access-ttl", accessTTL.String())
	p := newPage(t, s)
	p.open()
	if !p.visible("login-form") || p.visible("app") {
		t.Fatal("a fresh page does not show the login form")
	}

	var cookie, first *network.Cookie
	ok := t.Run("login shows alice and the items; the script never sees the refresh token", func(t *testing.T) {
		p.t = t
		p.login("alice", "wonderland")
		p.waitJS(`document.getElementById('user').textContent === 'alice' && document.querySelectorAll('#items .name').length > 0`)
		if got := p.text("#scopes"); got != "me items:read items:write" {
			t.Errorf("scopes shown %q", got)
		}
		if items := p.items(); len(items) < 2 || items[0] != "Portal Gun" {
			t.Errorf("items %q", items)
		}
		p.scriptCannotSeeTokens("after login")
		cookie = p.refreshCookie()
		if cookie == nil {
			t.Fatal("the browser holds no refresh cookie")
		}
		first = cookie
		if !cookie.HTTPOnly || !cookie.Secure || cookie.SameSite != network.CookieSameSiteStrict || cookie.Path != "/auth" ||
			cookie.Domain != "127.0.0.1" || cookie.Session || !strings.HasPrefix(cookie.Value, "tgr_") {
			t.Errorf("cookie %+v: want HttpOnly, Secure, SameSite Strict, path /auth, host-only, persistent, tgr_", *cookie)
		}
		if v := p.text("body"); strings.Contains(v, cookie.Value) {
			t.Error("the page shows the refresh token")
		}
	})
	if !ok {
		t.FailNow()
	}

	ok = t.Run("past the access TTL the page refreshes silently and the call succeeds; the cookie rotates", func(t *testing.T) {
		p.t = t
		before := p.refreshes()
		time.Sleep(accessTTL + 1200*time.Millisecond) // the token's exp is in whole seconds
		p.do("reload the items", chromedp.SetAttributeValue(chromedp.ID("items"), "data-loaded", ""), chromedp.Click(chromedp.ID("reload")))
		p.waitJS(`document.getElementById('items').dataset.loaded !== '' && document.getElementById('refreshes').textContent !== '` + strconv.Itoa(before) + `'`)
		if n := p.refreshes(); n != before+1 {
			t.Errorf("silent refreshes %d, want %d", n, before+1)
		}
		if msg := p.text("#error"); msg != "" || !p.visible("app") {
			t.Errorf("after the refresh: error %q, app shown %v", msg, p.visible("app"))
		}
		rotated := p.refreshCookie()
		if rotated == nil || rotated.Value == cookie.Value {
			t.Fatalf("the refresh cookie did not rotate")
		}
		cookie = rotated
		p.scriptCannotSeeTokens("after a refresh")
		if n := s.eventCount(audit.RefreshRotated, ""); n < 1 {
			t.Errorf("%d refresh_rotated events", n)
		}
	})
	if !ok {
		t.FailNow()
	}

	ok = t.Run("an item added in the page is listed", func(t *testing.T) {
		p.t = t
		p.do("add an item", chromedp.SetValue(chromedp.ID("item-name"), "Meeseeks Box"), chromedp.Click(chromedp.ID("add")))
		p.waitJS(`[...document.querySelectorAll('#items .name')].some(e => e.textContent === 'Meeseeks Box')`)
		if owner := p.text(`#items li:last-child .owner`); owner != "(alice)" {
			t.Errorf("owner shown %q", owner)
		}
		if p.text("#error") != "" {
			t.Errorf("error shown: %q", p.text("#error"))
		}
		cookie = p.refreshCookie() // a silent refresh may have rotated it
	})
	if !ok {
		t.FailNow()
	}

	t.Run("logout; the old cookie replayed by hand is refused; a reload shows the login form", func(t *testing.T) {
		p.t = t
		old := cookie.Value
		p.do("log out", chromedp.Click(chromedp.ID("logout")))
		p.waitJS(`!document.getElementById('login-form').hidden && document.getElementById('app').hidden`)
		if c := p.refreshCookie(); c != nil {
			t.Errorf("the browser still holds a refresh cookie after logout: %+v", *c)
		}
		// The last cookie (its family revoked by the logout), and the
		// first one (spent by a rotation before).
		for _, v := range []string{old, first.Value} {
			wantError(t, s.do(request{method: "POST", path: "/auth/refresh", cookie: v}), http.StatusBadRequest, "invalid_grant")
		}
		if n := s.eventCount(audit.TokenRevoked, ""); n < 1 {
			t.Errorf("no token_revoked event for the logout")
		}
		p.open()
		if !p.visible("login-form") || p.visible("app") {
			t.Error("after a reload the page does not show the login form")
		}
	})
}

// attackerPage is served by another origin on the same host (127.0.0.1,
// another port: same site, so SameSite=Strict lets the cookie go, and
// only http.CrossOriginProtection stands in the way). It tries to spend,
// revoke and read with alice's cookie, and reports what it could read.
const attackerPage = `<!doctype html>
<html><body>
<iframe name="sink1"></iframe><iframe name="sink2"></iframe>
<form id="f1" method="POST" action="%[1]s/auth/logout" target="sink1"></form>
<form id="f2" method="POST" action="%[1]s/auth/refresh" target="sink2"><input name="x" value="1"></form>
<pre id="result"></pre>
<script>
(async () => {
  const spa = %[1]q;
  const out = {};
  try {
    const r = await fetch(spa + '/auth/refresh', { method: 'POST', credentials: 'include', mode: 'no-cors' });
    out.noCorsRefresh = r.type;
  } catch (e) { out.noCorsRefresh = 'failed'; }
  try {
    const r = await fetch(spa + '/auth/refresh', { method: 'POST', credentials: 'include' });
    out.corsRefresh = 'read ' + r.status + ' ' + await r.text();
  } catch (e) { out.corsRefresh = 'blocked'; }
  try {
    const r = await fetch(spa + '/api/me', { credentials: 'include' });
    out.me = 'read ' + r.status + ' ' + await r.text();
  } catch (e) { out.me = 'blocked'; }
  document.getElementById('f1').submit();
  document.getElementById('f2').submit();
  document.getElementById('result').textContent = JSON.stringify(out);
})();
</script>
</body></html>`

// TestBrowserCrossOrigin: a page of another origin, in the browser that
// holds alice's cookie, can neither refresh nor log her out nor read the
// API, and spends nothing.
func TestBrowserCrossOrigin(t *testing.T) {
	start := time.Now()
	defer func() { t.Logf("browser cross-origin test: %v", time.Since(start)) }()
	s := startServer(t, "-access-ttl", accessTTL.String())
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, attackerPage, s.url)
	}))
	defer evil.Close()
	if evil.URL == s.url || !strings.HasPrefix(evil.URL, "http://127.0.0.1:") {
		t.Fatalf("the attacker's origin %s must be another port of 127.0.0.1 than %s", evil.URL, s.url)
	}

	p := newPage(t, s)
	p.open()
	p.login("alice", "wonderland")
	// The items too: no call of the page may be under way (and refresh)
	// while the cookie is read.
	p.waitJS(`document.getElementById('user').textContent === 'alice' && document.getElementById('items').dataset.loaded`)
	before := p.refreshCookie()
	if before == nil {
		t.Fatal("no refresh cookie after login")
	}
	seenBefore := len(s.requests())

	p.do("open the attacker's page", chromedp.Navigate(evil.URL))
	p.waitJS(`document.getElementById('result').textContent !== ''`)
	var out struct{ NoCorsRefresh, CorsRefresh, Me string }
	raw := eval[string](p, `document.getElementById('result').textContent`)
	if err := jsonUnmarshal(raw, &out); err != nil {
		t.Fatalf("attacker's result %q: %v", raw, err)
	}
	// Four POSTs reach the server: two fetches and two form posts.
	deadline := time.Now().Add(waitTimeout)
	for s.eventCount(audit.AccessDenied, audit.CrossOrigin) < 4 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := s.eventCount(audit.AccessDenied, audit.CrossOrigin); n != 4 {
		t.Errorf("%d access_denied cross_origin events, want 4", n)
	}
	var attack []seenRequest
	for _, r := range s.requests()[seenBefore:] {
		if r.site != "same-origin" && r.site != "none" {
			attack = append(attack, r)
		}
	}
	refused := map[string]int{}
	for _, r := range attack {
		if r.method == "POST" {
			if !r.cookie || r.site != "same-site" || r.status != http.StatusForbidden {
				t.Errorf("attack %+v: want the cookie sent (same site), Sec-Fetch-Site same-site, 403", r)
			}
			refused[r.path]++
		}
	}
	if refused["/auth/refresh"] != 3 || refused["/auth/logout"] != 1 {
		t.Errorf("refused POSTs %v, want /auth/refresh 3 and /auth/logout 1; seen %+v", refused, attack)
	}
	if out.NoCorsRefresh != "opaque" || out.CorsRefresh != "blocked" || out.Me != "blocked" {
		t.Errorf("the attacker's page got %+v; want an opaque answer and two blocked reads (no Access-Control-Allow-Origin)", out)
	}
	if n := s.eventCount(audit.RefreshRotated, "") + s.eventCount(audit.RefreshReused, "") + s.eventCount(audit.TokenRevoked, ""); n != 0 {
		t.Errorf("%d rotations, reuses or revocations during the attack, want none", n)
	}
	if after := p.refreshCookie(); after == nil || after.Value != before.Value {
		t.Fatalf("the attack changed the refresh cookie: %v", after)
	}

	// Nothing was spent: the page restores the same session from the
	// very cookie the attack carried.
	rotations := s.eventCount(audit.RefreshRotated, "")
	p.open()
	p.waitJS(`document.getElementById('user').textContent === 'alice' && !document.getElementById('app').hidden`)
	if s.eventCount(audit.RefreshRotated, "") != rotations+1 {
		t.Errorf("the page's refresh after the attack did not rotate the session")
	}
	if after := p.refreshCookie(); after == nil || after.Value == before.Value {
		t.Errorf("the legitimate refresh did not rotate the cookie")
	}
}

// TestBrowserWrongPassword: the page shows an error and the browser
// holds no cookie.
func TestBrowserWrongPassword(t *testing.T) {
	start := time.Now()
	defer func() { t.Logf("browser wrong-password test: %v", time.Since(start)) }()
	s := startServer(t)
	p := newPage(t, s)
	p.open()
	p.login("alice", "not-wonderland")
	p.waitJS(`!document.getElementById('error').hidden`)
	if msg := p.text("#error"); msg != "Wrong username or password." {
		t.Errorf("error shown %q", msg)
	}
	if p.visible("app") || !p.visible("login-form") {
		t.Error("the app is shown after a wrong password")
	}
	if c := p.refreshCookie(); c != nil {
		t.Errorf("a cookie was set: %+v", *c)
	}
	if v := eval[string](p, `document.getElementById('password').value`); v != "" {
		t.Error("the password field keeps the password")
	}
}

// TestBrowserTabs: two tabs of one browser share the refresh cookie, and
// each refreshes when it loads. Loaded at once, their refreshes take
// turns (a Web Lock in the page), each with the cookie the one before it
// set, so neither is a reuse and the session lives on in both (with the
// default RefreshGracePeriod of 0, a second refresh with a spent cookie
// ends the session: SECURITY.md).
func TestBrowserTabs(t *testing.T) {
	s := startServer(t)
	p := newPage(t, s)
	p.open()
	p.login("alice", "wonderland")
	p.waitJS(`document.getElementById('user').textContent === 'alice'`)
	tabCtx, cancel := chromedp.NewContext(p.ctx) // a second tab of the same browser
	defer cancel()
	q := &page{t: t, ctx: tabCtx, srv: s}
	q.open()
	s.mu.Lock()
	s.slowRefresh = 300 * time.Millisecond
	s.mu.Unlock()
	for round := 0; round < 5; round++ {
		done := make(chan error, 2)
		for _, tab := range []*page{p, q} {
			go func() { done <- chromedp.Do(tab.ctx, chromedp.Reload()) }()
		}
		for range 2 {
			if err := <-done; err != nil {
				t.Fatalf("round %d: reload: %v", round, err)
			}
		}
		for _, tab := range []*page{p, q} {
			tab.waitJS(`document.getElementById('status').textContent.startsWith('Logged')`)
			tab.waitJS(`document.getElementById('user').textContent === 'alice'`)
		}
	}
	if n := s.eventCount(audit.RefreshReused, ""); n != 0 {
		t.Errorf("%d refresh_reused events: two tabs' refreshes collided", n)
	}
	if n := s.eventCount(audit.RefreshRotated, ""); n < 10 {
		t.Errorf("%d rotations, want one per tab and load (10)", n)
	}
}
