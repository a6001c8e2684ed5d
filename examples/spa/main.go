// Command spa is a single-page app in front of tollgate's cookie mode:
// the page logs in with a form, keeps the access token only in a
// JavaScript variable, and never sees the refresh token, which lives in
// an HttpOnly, Secure, SameSite=Strict cookie scoped to /auth. When the
// API answers 401 the page refreshes silently, once, and retries; on
// load it refreshes to restore the session from the cookie. Every
// cookie-authenticated POST from another origin is refused with 403.
//
//	go run ./examples/spa                    # http://127.0.0.1:8001
//	go run ./examples/spa -access-ttl 5s     # watch the silent refreshes
//
// Flags:
//
//	-addr         listen address (default 127.0.0.1:8001)
//	-access-ttl   access token lifetime (default 15m)
//	-refresh-ttl  refresh token (and cookie) lifetime (default 720h)
//	-bcrypt-cost  bcrypt cost of the demo users' hashes (default 12)
//	-key          PEM or JWK file of the signing key (default: an ES256
//	              key generated at start; tokens die with the process)
//
// Routes:
//
//	GET  /              the page (index.html, app.js, style.css; CSP default-src 'self')
//	POST /auth/login    form username, password: {"access_token","token_type","expires_in","scope"}
//	                    and the refresh cookie; a wrong password is 400 invalid_grant
//	POST /auth/refresh  the refresh cookie: a new access token, the cookie rotated;
//	                    no or a bad cookie is 400 invalid_grant
//	POST /auth/logout   204: the session's family revoked (its access tokens too), the cookie cleared
//	GET  /api/me        scope "me": {"username", "scopes"}
//	GET  /api/items     scope "items:read": the items
//	POST /api/items     scope "items:write": {"name": "..."} creates one
//	GET  /healthz       open: liveness
//
// Any other path is 404, another method on a route 405, in the JSON error
// shape of RFC 6749 §5.2, as every refusal is.
//
// The API takes the access token as a Bearer header only, so no other
// origin can make the browser authenticate a call; the refresh cookie
// goes to /auth and nowhere else.
//
// The page refreshes one call at a time, since a refresh token presented
// twice revokes its session (RFC 9700 §4.14.2); two tabs that refresh at
// the same instant can still meet that, and log in again
// (Config.RefreshGracePeriod trades this for a window of reuse).
//
// It is a demo: the users live in memory (the same as examples/basic's)
// and their passwords are printed at start. Browsers treat
// http://127.0.0.1 and http://localhost as secure, so the Secure cookie
// works there; serve it over HTTPS anywhere else.
package main

import (
	"context"
	"embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/tollgate-go/tollgate"
	"github.com/tollgate-go/tollgate/audit"
	"github.com/tollgate-go/tollgate/examples/internal/demo"
	"github.com/tollgate-go/tollgate/memstore"
)

// defaultAddr is where the server listens unless -addr says otherwise.
const defaultAddr = "127.0.0.1:8001"

// cookiePath is where the three cookie handlers live, and the refresh
// cookie's Path.
const cookiePath = "/auth"

// contentSecurityPolicy allows the page only its own files: no inline
// script, no other origin, no framing.
const contentSecurityPolicy = "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

//go:embed static
var static embed.FS

// options are the settings of the server, from the flags.
type options struct {
	addr       string
	accessTTL  time.Duration
	refreshTTL time.Duration
	bcryptCost int
	keyFile    string

	// Hooks of the tests: hasher replaces tollgate.Bcrypt(bcryptCost)
	// (bcrypt under the race detector is slow); onEvent also receives
	// the audit events.
	hasher  tollgate.PasswordHasher
	onEvent func(context.Context, audit.Event)
}

// parseOptions reads the command line. -help returns flag.ErrHelp after
// printing the usage to out.
func parseOptions(args []string, out io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("spa", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprint(out, `Usage: go run ./examples/spa [flags]

A single-page app on tollgate's cookie mode: the refresh token in an
HttpOnly cookie, the access token in the page's memory, silent refresh.
Demo users are printed at start.

Flags:
`)
		fs.PrintDefaults()
	}
	fs.StringVar(&o.addr, "addr", defaultAddr, "listen `address`")
	fs.DurationVar(&o.accessTTL, "access-ttl", 15*time.Minute, "access token `lifetime` (try 5s to watch the silent refresh)")
	fs.DurationVar(&o.refreshTTL, "refresh-ttl", 720*time.Hour, "refresh token and cookie `lifetime`")
	fs.IntVar(&o.bcryptCost, "bcrypt-cost", 12, "bcrypt `cost` of the demo users' password hashes (10 to 31; each step doubles the time of a login)")
	fs.StringVar(&o.keyFile, "key", "", "load the signing key from a PEM or JWK `file`\n(default: an ES256 key generated at start; tokens die with the process)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if o.bcryptCost < 10 || o.bcryptCost > 31 {
		return o, fmt.Errorf("-bcrypt-cost %d: use 10 to 31", o.bcryptCost)
	}
	if o.accessTTL < time.Second || o.refreshTTL < time.Second {
		return o, errors.New("-access-ttl and -refresh-ttl must be at least 1s")
	}
	return o, nil
}

// main runs the server until SIGINT or SIGTERM.
func main() { demo.Main("spa", run) }

// run parses args, serves until ctx is done, then shuts down gracefully.
// The demo users and the logs go to stdout.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	o, err := parseOptions(args, stdout)
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
	handler, err := newServer(o, logger)
	if err != nil {
		return err
	}
	demo.PrintUsers(stdout)
	return demo.Serve(ctx, ln, handler, logger)
}

// newServer builds the service for the listen address o.addr: the
// Authenticator in cookie mode with in-memory stores, the page and the
// routes behind the request log.
func newServer(o options, logger *slog.Logger) (http.Handler, error) {
	key, err := signingKey(o.keyFile, logger)
	if err != nil {
		return nil, err
	}
	hasher := o.hasher
	if hasher == nil {
		hasher = tollgate.Bcrypt(o.bcryptCost)
	}
	users, err := demo.HashUsers(hasher)
	if err != nil {
		return nil, err
	}
	onEvent := demo.AuditLog(logger)
	if o.onEvent != nil {
		log := onEvent
		onEvent = func(ctx context.Context, e audit.Event) {
			log(ctx, e)
			o.onEvent(ctx, e)
		}
	}
	issuer := demo.IssuerFor(o.addr)
	auth, err := tollgate.New(tollgate.Config{
		Issuer:     issuer,
		Audience:   []string{issuer},
		SigningKey: key,
		Scopes:     demo.Scopes,
		Users:      memstore.NewUsers(users...),
		Refresh:    memstore.NewRefreshStore(),
		Denylist:   memstore.NewDenylist(0), // logout ends the access tokens too
		Hasher:     hasher,
		AccessTTL:  o.accessTTL,
		RefreshTTL: o.refreshTTL,
		// The issuer and the API are this one process, on one clock:
		// no leeway, so an access token ends when -access-ttl says.
		Leeway:  -1,
		Cookies: tollgate.Cookies{Path: cookiePath},
		OnEvent: onEvent,
		Logger:  logger,
	})
	if err != nil {
		return nil, err
	}

	page, err := fs.Sub(static, "static")
	if err != nil {
		return nil, err
	}
	items := demo.NewItems()
	need := func(scope string, h http.HandlerFunc) http.Handler { return demo.Protect(auth, scope)(h) }

	files := http.FileServerFS(page)
	mux := http.NewServeMux()
	for _, p := range []string{"/{$}", "/app.js", "/style.css"} {
		mux.Handle("GET "+p, files)
	}
	// No method in these patterns: for a GET, the library's handlers
	// answer 405 with "Allow: POST" and an RFC 6749 §5.2 body.
	mux.Handle(cookiePath+"/login", auth.LoginHandler())
	mux.Handle(cookiePath+"/refresh", auth.RefreshHandler())
	mux.Handle(cookiePath+"/logout", auth.LogoutHandler())
	mux.Handle("GET /api/me", need("me", demo.Me))
	mux.Handle("GET /api/items", need("items:read", items.List))
	mux.Handle("POST /api/items", need("items:write", items.Create))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		demo.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	// Everything else answers in JSON too: another method on a route is
	// 405 with Allow, another path 404.
	mux.Handle("/api/me", notAllowed("GET, HEAD"))
	mux.Handle("/api/items", notAllowed("GET, HEAD, POST"))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		demo.WriteError(w, http.StatusNotFound, "No such route")
	})
	return demo.LogRequests(logger, securityHeaders(mux)), nil
}

// notAllowed answers 405 with the methods a route allows.
func notAllowed(allow string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		demo.WriteError(w, http.StatusMethodNotAllowed, "Use "+allow)
	})
}

// securityHeaders sets the headers of every answer: the page may run
// only its own files, be framed by no one, and send no Referer.
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
	if file != "" {
		key, err := tollgate.LoadKeyFile(file)
		if err != nil {
			return nil, err
		}
		logger.Info("signing key loaded", "file", file, "alg", key.Algorithm(), "kid", key.ID())
		return key, nil
	}
	// tollgate.New warns about a generated key itself.
	logger.Info("no -key: signing with an ES256 key generated at start (use -key FILE to keep one)")
	return tollgate.GenerateKey("ES256")
}
