package main

// An end-to-end test in headless Chromium (examples/internal/browser):
// the login link clicked, through the fake provider on another site
// (localhost, while the example is on 127.0.0.1: the callback is a
// cross-site top-level navigation, as at a real provider), to the page
// showing the user.

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/tollgate-go/tollgate/examples/internal/browser"
)

// waitTimeout bounds one wait in the page; CI is a small machine
// running other tests at the same time.
const waitTimeout = 45 * time.Second

// tab is a browser tab of a test.
type tab struct {
	t   *testing.T
	ctx context.Context
}

// run runs actions, failing the test on an error.
func (b tab) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// until polls the expression in the page until it is truthy. A poll
// that meets a navigation (the document it ran in is gone) starts again
// in the next document.
func (b tab) until(expr string) {
	b.t.Helper()
	var err error
	for deadline := time.Now().Add(waitTimeout); time.Now().Before(deadline); {
		_, err = chromedp.Run(b.ctx, chromedp.Poll[chromedp.Void](expr,
			chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(time.Until(deadline))))
		if err == nil || b.ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		b.t.Fatalf("waiting for %s: %v; the page says %q", expr, err, b.js(`document.body ? document.body.innerText : ''`))
	}
}

// js evaluates expr in the page, a string.
func (b tab) js(expr string) string {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// cookies are the cookies the browser holds for url.
func (b tab) cookies(url string) map[string]*network.Cookie {
	b.t.Helper()
	res, err := chromedp.Call(b.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{url}})
	if err != nil {
		b.t.Fatalf("Network.getCookies: %v", err)
	}
	out := map[string]*network.Cookie{}
	for _, c := range res.Cookies {
		out[c.Name] = c
	}
	return out
}

// TestBrowserLogin: a click on "Log in with GitHub" goes through the
// provider and back, and the page shows the mapped user; the script
// never sees a token; logout; a declined consent ends on the error page.
func TestBrowserLogin(t *testing.T) {
	fake := newFakeProvider(t)
	fake.url = strings.Replace(fake.srv.URL, "127.0.0.1", "localhost", 1) // another site
	app := startApp(t, fake, 0)
	b := tab{t: t, ctx: browser.New(t, 3*time.Minute)}

	b.run("open the page", chromedp.Navigate(app.url+"/"))
	b.until(`document.getElementById('status').textContent === 'Logged out.'`)
	if got := b.js(`document.getElementById('login-link').textContent`); got != "Log in with GitHub" {
		t.Errorf("login link %q", got)
	}

	b.run("click the login link", chromedp.Click(chromedp.ID("login-link")))
	b.until(`document.getElementById('user') && document.getElementById('user').textContent === 'github:12345'`)
	if got := b.js(`location.href`); got != app.url+"/" {
		t.Errorf("the page after the login is %s: the code and state stay in the address bar", got)
	}
	if got := b.js(`document.getElementById('scopes').textContent`); got != "me" {
		t.Errorf("scopes shown %q", got)
	}
	if got := b.js(`document.cookie + JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage)])`); got != "[[],[]]" {
		t.Errorf("the script sees %s", got)
	}
	jar := b.cookies(app.url + "/auth/refresh")
	if c := jar[refreshCookieName]; c == nil || !c.HTTPOnly || !c.Secure || c.SameSite != network.CookieSameSiteStrict {
		t.Errorf("refresh cookie %+v", c)
	}
	if c := jar[flowCookie]; c != nil {
		t.Errorf("the flow cookie outlives the callback: %+v", c)
	}

	b.run("log out", chromedp.Click(chromedp.ID("logout")))
	b.until(`document.getElementById('status').textContent === 'Logged out.'`)
	if c := b.cookies(app.url + "/auth/refresh")[refreshCookieName]; c != nil {
		t.Errorf("the refresh cookie outlives the logout: %+v", c)
	}

	fake.set(func(f *fakeProvider) { f.deny = true })
	b.run("click the login link and decline", chromedp.Click(chromedp.ID("login-link")))
	b.until(`document.title === 'Login failed'`)
	if got := b.js(`document.getElementById('error').textContent`); !strings.Contains(got, "You declined the login at GitHub") {
		t.Errorf("the error page says %q", got)
	}
	if n := app.logins(); n != 1 {
		t.Errorf("%d logins issued, want 1", n)
	}
	app.noSecretsLogged()
}
