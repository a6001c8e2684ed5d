// Command thirdparty is "log in with a provider", issuing tollgate's own
// tokens: the browser logs in at GitHub, Google or another OAuth 2.0
// provider by the authorization code flow with PKCE (RFC 7636, S256) and
// state (RFC 6749 §4.1, §10.12; RFC 9700 §2.1.1), through
// golang.org/x/oauth2. The upstream identity (the provider and its
// immutable subject, never a login name or an email, which change) maps
// to a local user, created at its first login as "github:12345" with the
// scope "me". The service then issues its own tokens in tollgate's cookie
// mode: the refresh token in an HttpOnly, Secure, SameSite=Strict cookie
// scoped to /auth, the access token to the page's memory through
// POST /auth/refresh. The upstream access token is used once, for the
// userinfo call, and forgotten.
//
//	export THIRDPARTY_CLIENT_SECRET=...      # never on the command line if you can help it
//	go run ./examples/thirdparty -provider github -client-id Iv1.abc
//	go run ./examples/thirdparty -provider google -client-id 123.apps.googleusercontent.com
//	go run ./examples/thirdparty -provider custom -client-id demo \
//	    -auth-url https://idp.example/authorize -token-url https://idp.example/token \
//	    -userinfo-url https://idp.example/userinfo
//
// At start it prints the redirect URL to register at the provider
// (http://127.0.0.1:8003/auth/callback by default).
//
// Flags:
//
//	-addr          listen address (default 127.0.0.1:8003)
//	-base-url      the URL the browser reaches the service at (default
//	               "http://" + the listen address): the redirect URL is
//	               <base-url>/auth/callback
//	-provider      github, google or custom (default github)
//	-client-id     the client ID the provider gave (required)
//	-client-secret the client secret; better THIRDPARTY_CLIENT_SECRET in
//	               the environment, which argv's readers cannot see. Never
//	               printed. Required for github and google.
//	-auth-url      authorization endpoint (override; required for custom)
//	-token-url     token endpoint (override; required for custom)
//	-userinfo-url  userinfo endpoint (override; required for custom)
//	-access-ttl    our access token lifetime (default 15m)
//	-refresh-ttl   our refresh token (and cookie) lifetime (default 720h)
//	-key           PEM or JWK file of the signing key (default: an ES256
//	               key generated at start; tokens die with the process)
//
// Every URL must be https, or http to a loopback host (for development).
// The userinfo answers read are GitHub's (GET https://api.github.com/user:
// {"id": number, "login"}) for github, and OpenID Connect's
// ({"sub", "email", "email_verified"}, Core §5.3) for google and custom.
//
// Routes:
//
//	GET  /                         the page (index.html, app.js, style.css; CSP default-src 'self')
//	GET  /auth/login               start a login at the provider: a flow cookie, 302 to the provider
//	GET  /auth/login/{provider}    the same, for the provider named by -provider (another name is 404)
//	GET  /auth/callback            the provider's redirect back: state, code, PKCE exchange, userinfo,
//	                               the local user, our refresh cookie, then 303 to /
//	POST /auth/refresh             the refresh cookie: {"access_token","token_type","expires_in","scope"},
//	                               the cookie rotated; no or a bad cookie is 400 invalid_grant
//	POST /auth/logout              204: the session's family revoked, the cookie cleared
//	GET  /api/me                   scope "me": {"username", "scopes"}
//	GET  /healthz                  open: liveness
//
// Any other path is 404, another method on a route 405, in the JSON error
// shape of RFC 6749 §5.2.
//
// The callback refuses, with a small HTML page, the flow cookie cleared
// and nothing issued: no flow cookie, or a flow that expired or was used
// (400); a state that does not match (400, RFC 6749 §10.12); a denied
// consent (403, error=access_denied, §4.1.2.1) and any other error from
// the provider (502); a code the provider's token endpoint refuses, a
// PKCE mismatch included (502, RFC 7636 §4.6); a userinfo call that fails
// or answers without a subject (502). Codes, tokens and secrets are never
// logged or shown.
//
// A flow (its state and PKCE verifier) lives in this process, in a table
// of at most 10,000 entries, for 10 minutes, and is spent by its first
// callback; the browser holds only a random key to it, in the HttpOnly,
// Secure, SameSite=Lax cookie "__Secure-thirdparty-flow" (Lax, so that
// the provider's top-level redirect brings it back). A flood of starts
// past the bound pushes out the oldest flows: those logins start again.
//
// It is a demo: the users live in memory, at most 10,000 of them.
// Browsers treat http://127.0.0.1 and http://localhost as secure, so the
// Secure cookies work there; serve it over HTTPS anywhere else.
package main

import (
	"context"
	"embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/tollgate-go/tollgate"
	"github.com/tollgate-go/tollgate/audit"
	"github.com/tollgate-go/tollgate/examples/internal/demo"
	"github.com/tollgate-go/tollgate/memstore"
)

// defaultAddr is where the server listens unless -addr says otherwise.
const defaultAddr = "127.0.0.1:8003"

// secretEnv is the environment variable of the client secret.
const secretEnv = "THIRDPARTY_CLIENT_SECRET"

// cookiePath is where the login, callback and cookie handlers live: the
// Path of the refresh and flow cookies.
const cookiePath = "/auth"

// callbackPath is the redirect URL's path.
const callbackPath = cookiePath + "/callback"

// Bounds of what the logins keep in memory.
const (
	flowTTL         = 10 * time.Minute
	maxFlows        = 10_000
	maxLocalUsers   = 10_000
	upstreamTimeout = 10 * time.Second
)

// contentSecurityPolicy allows the page only its own files: no inline
// script, no other origin, no framing.
const contentSecurityPolicy = "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

//go:embed static
var static embed.FS

// options are the settings of the server, from the flags.
type options struct {
	addr, baseURL            string
	provider                 string
	clientID, clientSecret   string
	authURL, tokenURL, uiURL string
	accessTTL, refreshTTL    time.Duration
	keyFile                  string

	// Hooks of the tests: the password hasher (no user has a password,
	// but tollgate.New hashes a dummy one with it, and bcrypt under the
	// race detector is slow), the clock of the flow table, its bound,
	// the client that calls the provider, and the audit events.
	hasher   tollgate.PasswordHasher
	now      func() time.Time
	maxFlows int
	upstream *http.Client
	onEvent  func(context.Context, audit.Event)
}

// parseOptions reads the command line, and the client secret from getenv
// when -client-secret is not given. -help returns flag.ErrHelp after
// printing the usage to out.
func parseOptions(args []string, getenv func(string) string, out io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("thirdparty", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprint(out, `Usage: go run ./examples/thirdparty -provider github|google|custom -client-id ID [flags]

"Log in with a provider" (authorization code flow with PKCE and state),
then tollgate's own tokens in cookie mode. Register the redirect URL it
prints at start with the provider.

Environment:
  `+secretEnv+`
    	the client secret, when -client-secret is not given (never printed)

Flags:
`)
		fs.PrintDefaults()
	}
	fs.StringVar(&o.addr, "addr", defaultAddr, "listen `address`")
	fs.StringVar(&o.baseURL, "base-url", "", "the `URL` the browser reaches the service at; the redirect URL is <base-url>"+callbackPath+
		"\n(default \"http://\" + the listen address)")
	fs.StringVar(&o.provider, "provider", "github", "the upstream `provider`: "+strings.Join(providerNames(), ", "))
	fs.StringVar(&o.clientID, "client-id", "", "the client `ID` registered at the provider (required)")
	fs.StringVar(&o.clientSecret, "client-secret", "", "the client `secret` (prefer "+secretEnv+": a command line is visible to other users)")
	fs.StringVar(&o.authURL, "auth-url", "", "the provider's authorization endpoint `URL` (override; required for custom)")
	fs.StringVar(&o.tokenURL, "token-url", "", "the provider's token endpoint `URL` (override; required for custom)")
	fs.StringVar(&o.uiURL, "userinfo-url", "", "the provider's userinfo endpoint `URL` (override; required for custom)")
	fs.DurationVar(&o.accessTTL, "access-ttl", 15*time.Minute, "our access token `lifetime`")
	fs.DurationVar(&o.refreshTTL, "refresh-ttl", 720*time.Hour, "our refresh token and cookie `lifetime`")
	fs.StringVar(&o.keyFile, "key", "", "load the signing key from a PEM or JWK `file`\n(default: an ES256 key generated at start; tokens die with the process)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if o.accessTTL < time.Second || o.refreshTTL < time.Second {
		return o, errors.New("-access-ttl and -refresh-ttl must be at least 1s")
	}
	if o.clientSecret == "" {
		o.clientSecret = getenv(secretEnv)
	}
	if _, err := newProvider(o); err != nil {
		return o, err
	}
	if o.baseURL != "" {
		if err := checkURL("-base-url", o.baseURL); err != nil {
			return o, err
		}
		o.baseURL = strings.TrimSuffix(o.baseURL, "/")
	}
	return o, nil
}

// checkURL refuses a URL that is not absolute https, or http to a
// loopback host: codes, tokens and secrets cross these URLs.
func checkURL(flag, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("%s %q: not an absolute URL without user info or fragment", flag, raw)
	}
	switch {
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && isLoopback(u.Hostname()):
		return nil
	}
	return fmt.Errorf("%s %q: use https (http only to localhost or a loopback address)", flag, raw)
}

// isLoopback reports whether host is localhost or a loopback address.
func isLoopback(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// main runs the server until SIGINT or SIGTERM.
func main() {
	demo.Main("thirdparty", func(ctx context.Context, args []string, stdout io.Writer) error {
		return run(ctx, args, os.Getenv, stdout)
	})
}

// run parses args, serves until ctx is done, then shuts down gracefully.
// What to register at the provider and the logs go to stdout.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	o, err := parseOptions(args, getenv, stdout)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stdout, nil))
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	o.addr = ln.Addr().String()
	handler, l, err := newServer(o, logger)
	if err != nil {
		return err
	}
	p := l.provider
	secret := "not set (a public client: PKCE alone)"
	if o.clientSecret != "" {
		secret = "set (not shown)"
	}
	fmt.Fprintf(stdout, `Register this client at %s:
  redirect (callback) URL  %s
  client ID                %s
  client secret            %s
Then open %s/ and log in.
`, p.title, p.oauth.RedirectURL, o.clientID, secret, o.base())
	return demo.Serve(ctx, ln, handler, logger)
}

// base is the URL the browser reaches the service at.
func (o options) base() string {
	if o.baseURL != "" {
		return o.baseURL
	}
	return demo.IssuerFor(o.addr)
}

// newServer builds the service for the listen address o.addr: the
// Authenticator in cookie mode with in-memory stores, the provider's
// login, the page and the routes behind the request log.
func newServer(o options, logger *slog.Logger) (http.Handler, *login, error) {
	p, err := newProvider(o)
	if err != nil {
		return nil, nil, err
	}
	p.oauth.RedirectURL = o.base() + callbackPath
	key, err := signingKey(o.keyFile, logger)
	if err != nil {
		return nil, nil, err
	}
	onEvent := demo.AuditLog(logger)
	if o.onEvent != nil {
		log := onEvent
		onEvent = func(ctx context.Context, e audit.Event) {
			log(ctx, e)
			o.onEvent(ctx, e)
		}
	}
	users := memstore.NewUsers()
	issuer := o.base()
	auth, err := tollgate.New(tollgate.Config{
		Issuer:     issuer,
		Audience:   []string{issuer},
		SigningKey: key,
		Scopes:     localScopes,
		Users:      users,
		Hasher:     o.hasher, // nil: the default, bcrypt
		Refresh:    memstore.NewRefreshStore(),
		Denylist:   memstore.NewDenylist(0), // logout ends the access tokens too
		AccessTTL:  o.accessTTL,
		RefreshTTL: o.refreshTTL,
		Leeway:     -1, // the issuer and the API are this one process, on one clock
		Cookies:    tollgate.Cookies{Path: cookiePath},
		OnEvent:    onEvent,
		Logger:     logger,
	})
	if err != nil {
		return nil, nil, err
	}
	upstream := o.upstream
	if upstream == nil {
		upstream = &http.Client{Timeout: upstreamTimeout}
	}
	bound := o.maxFlows
	if bound == 0 {
		bound = maxFlows
	}
	now := o.now
	if now == nil {
		now = time.Now
	}
	l := &login{
		auth:     auth,
		provider: p,
		flows:    newFlowTable(bound, flowTTL, now),
		accounts: newAccounts(users, maxLocalUsers),
		upstream: upstream,
		logger:   logger,
	}
	index, err := renderIndex(p)
	if err != nil {
		return nil, nil, err
	}

	files := http.FileServerFS(staticFiles())
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(index)
	})
	mux.Handle("GET /app.js", files)
	mux.Handle("GET /style.css", files)
	mux.HandleFunc("GET "+cookiePath+"/login", l.start)
	mux.HandleFunc("GET "+cookiePath+"/login/{provider}", l.start)
	mux.HandleFunc("GET "+callbackPath, l.callback)
	// No method in these patterns: for a GET, the library's handlers
	// answer 405 with "Allow: POST" and an RFC 6749 §5.2 body.
	mux.Handle(cookiePath+"/refresh", auth.RefreshHandler())
	mux.Handle(cookiePath+"/logout", auth.LogoutHandler())
	mux.Handle("GET /api/me", demo.Protect(auth, "me")(http.HandlerFunc(demo.Me)))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		demo.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	// Everything else answers in JSON too: another method on a route is
	// 405 with Allow, another path 404.
	for _, p := range []string{cookiePath + "/login", cookiePath + "/login/{provider}", callbackPath, "/api/me"} {
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", "GET, HEAD")
			demo.WriteError(w, http.StatusMethodNotAllowed, "Use GET")
		})
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		demo.WriteError(w, http.StatusNotFound, "No such route")
	})
	return demo.LogRequests(logger, securityHeaders(mux)), l, nil
}

// securityHeaders sets the headers of every answer: the page may run
// only its own files, be framed by no one, and send no Referer (which
// would carry the callback's code and state to another site).
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cache-Control", "no-cache")
		next.ServeHTTP(w, r)
	})
}

// signingKey returns the key in file, or a new ES256 key, whose tokens
// die with the process.
func signingKey(file string, logger *slog.Logger) (*tollgate.Key, error) {
	if file == "" {
		// tollgate.New warns about a generated key itself.
		logger.Info("no -key: signing with an ES256 key generated at start (use -key FILE to keep one)")
		return tollgate.GenerateKey("ES256")
	}
	key, err := tollgate.LoadKeyFile(file)
	if err != nil {
		return nil, err
	}
	logger.Info("signing key loaded", "file", file, "alg", key.Algorithm(), "kid", key.ID())
	return key, nil
}
