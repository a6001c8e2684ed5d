package main

// Fixtures of the tests: the real handler of newServer on a loopback
// port in front of the fake provider, a clock the test moves, the log
// and the audit events, and a client with a cookie jar that follows
// redirects one hop at a time, as a browser would.

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-go/tollgate/audit"
	"github.com/tollgate-go/tollgate/examples/internal/demo"
)

// refreshCookieName is the refresh cookie of cookie mode under /auth.
const refreshCookieName = "__Secure-tollgate-refresh"

// clock is the flow table's clock in the tests.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// testApp is the example on 127.0.0.1 at a free port, logging in at fake.
type testApp struct {
	t     *testing.T
	url   string
	fake  *fakeProvider
	login *login
	clock *clock
	log   *demo.SyncBuffer

	mu     sync.Mutex
	events []audit.Event
}

// fakeArgs are the flags that point the example at the fake, with the
// userinfo of the shape of provider ("github": /user, else /userinfo).
func fakeArgs(fake *fakeProvider, provider string) []string {
	ui := "/userinfo"
	if provider == "github" {
		ui = "/user"
	}
	return []string{"-provider", provider, "-client-id", fakeClientID,
		"-auth-url", fake.url + "/authorize", "-token-url", fake.url + "/token", "-userinfo-url", fake.url + ui}
}

// fakeEnv is the environment of the tests: the client secret.
func fakeEnv(name string) string {
	if name == secretEnv {
		return fakeClientSecret
	}
	return ""
}

// startApp serves newServer's handler for the options of args (after
// fakeArgs for "github" unless args say -provider) on a free loopback
// port, registered at fake; bound is the flow table's (0: the default).
func startApp(t *testing.T, fake *fakeProvider, bound int, args ...string) *testApp {
	t.Helper()
	provider := "github"
	for i, a := range args {
		if a == "-provider" && i+1 < len(args) {
			provider = args[i+1]
		}
	}
	o, err := parseOptions(append(fakeArgs(fake, provider), args...), fakeEnv, io.Discard)
	if err != nil {
		t.Fatalf("parseOptions(%q) = %v", args, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := &testApp{t: t, fake: fake, clock: &clock{now: time.Now()}, log: &demo.SyncBuffer{}}
	o.addr = ln.Addr().String()
	o.hasher = demo.TestHasher{}
	o.now = a.clock.Now
	o.maxFlows = bound
	o.onEvent = func(_ context.Context, e audit.Event) {
		a.mu.Lock()
		a.events = append(a.events, e)
		a.mu.Unlock()
	}
	h, l, err := newServer(o, slog.New(slog.NewTextHandler(a.log, nil)))
	if err != nil {
		ln.Close()
		t.Fatalf("newServer: %v", err)
	}
	a.login = l
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: h}}
	srv.Start()
	t.Cleanup(srv.Close)
	a.url = srv.URL
	fake.set(func(f *fakeProvider) { f.redirectURI = a.url + callbackPath })
	return a
}

// logins counts the tokens issued (audit login_succeeded).
func (a *testApp) logins() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, e := range a.events {
		if e.Type == audit.LoginSucceeded {
			n++
		}
	}
	return n
}

// noSecretsLogged checks that the log shows no code or token of the
// fake's, no token of ours and not the client secret.
func (a *testApp) noSecretsLogged() {
	a.t.Helper()
	log := a.log.String()
	for _, s := range append(a.fake.handedOut(), fakeClientSecret, "tgr_") {
		if strings.Contains(log, s) {
			a.t.Errorf("the log shows %q:\n%s", s, log)
		}
	}
}

// response is an answer read in full.
type response struct {
	status int
	header http.Header
	body   []byte
}

// cookie returns the cookie named name that the answer set, or nil.
func (r response) cookie(name string) *http.Cookie {
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// location is the answer's Location, resolved against base.
func (r response) location(t *testing.T, base string) string {
	t.Helper()
	loc := r.header.Get("Location")
	b, _ := url.Parse(base)
	u, err := b.Parse(loc)
	if loc == "" || err != nil {
		t.Fatalf("status %d without a Location (%q): %s", r.status, loc, r.body)
	}
	return u.String()
}

// user is a browser of the tests: a cookie jar, redirects not followed.
type user struct {
	t   *testing.T
	c   *http.Client
	jar *cookiejar.Jar
}

func newUser(t *testing.T) *user {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &user{t: t, jar: jar, c: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       time.Minute, // a hang guard
	}}
}

// do sends a request with the jar's cookies and the extra headers.
func (u *user) do(method, rawURL string, header map[string]string) response {
	u.t.Helper()
	req, err := http.NewRequestWithContext(u.t.Context(), method, rawURL, nil)
	if err != nil {
		u.t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := u.c.Do(req)
	if err != nil {
		u.t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		u.t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, body}
}

func (u *user) get(rawURL string) response { u.t.Helper(); return u.do("GET", rawURL, nil) }

// flowCookie is the value of the flow cookie the jar holds for app, or "".
func (u *user) flowCookie(app *testApp) string {
	base, _ := url.Parse(app.url + callbackPath)
	for _, c := range u.jar.Cookies(base) {
		if c.Name == flowCookie {
			return c.Value
		}
	}
	return ""
}

// toProvider starts a login at app and follows the redirect to the
// provider, which answers with a redirect back: the callback URL that
// the provider sends the browser to, not yet visited.
func (u *user) toProvider(app *testApp) string {
	u.t.Helper()
	const path = "/auth/login"
	start := u.get(app.url + path)
	if start.status != http.StatusFound || start.cookie(flowCookie) == nil {
		u.t.Fatalf("GET %s: %d, flow cookie %v: %s", path, start.status, start.cookie(flowCookie), start.body)
	}
	at := u.get(start.location(u.t, app.url))
	if at.status != http.StatusFound {
		u.t.Fatalf("the provider's authorization endpoint: %d %s", at.status, at.body)
	}
	return at.location(u.t, app.fake.url)
}

// logIn runs the whole login as the fake's current user and returns
// the access token that POST /auth/refresh gives the page afterwards.
func (u *user) logIn(app *testApp) string {
	u.t.Helper()
	back := u.get(u.toProvider(app))
	if back.status != http.StatusSeeOther || back.location(u.t, app.url) != app.url+"/" || back.cookie(refreshCookieName) == nil {
		u.t.Fatalf("the callback: %d, Location %q, refresh cookie %v: %s", back.status, back.header.Get("Location"), back.cookie(refreshCookieName), back.body)
	}
	r := u.do("POST", app.url+"/auth/refresh", nil)
	if r.status != http.StatusOK {
		u.t.Fatalf("POST /auth/refresh after the login: %d %s", r.status, r.body)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(r.body, &tok); err != nil || tok.AccessToken == "" {
		u.t.Fatalf("POST /auth/refresh: %s", r.body)
	}
	return tok.AccessToken
}

// me is GET /api/me with the access token: the status and the body.
func (u *user) me(app *testApp, access string) (int, map[string]any) {
	u.t.Helper()
	r := u.do("GET", app.url+"/api/me", map[string]string{"Authorization": "Bearer " + access})
	var m map[string]any
	_ = json.Unmarshal(r.body, &m)
	return r.status, m
}
