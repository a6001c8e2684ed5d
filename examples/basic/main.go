// Command basic is a complete tollgate service: the OAuth 2.0 password
// grant with JWT access tokens, scopes and rotating refresh tokens, in
// front of a small items API, with four demo users.
//
//	npm ci --prefix examples/basic && go run ./examples/basic   # ES256, key generated at start; Swagger UI at /docs
//	go run ./examples/basic -alg RS256 -access-ttl 5m
//	TOLLGATE_SECRET=$(openssl rand -base64 32) go run ./examples/basic -alg HS256
//	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out signing-key.pem
//	go run ./examples/basic -key signing-key.pem   # tokens survive a restart
//
// Routes:
//
//	POST /token                  RFC 6749 token endpoint (password, refresh_token, client_credentials)
//	POST /revoke                 RFC 7009 revocation of a refresh token
//	POST /introspect             RFC 7662 introspection, for confidential clients
//	GET  /.well-known/jwks.json  the public verification keys
//	GET  /.well-known/oauth-authorization-server  RFC 8414 metadata
//	GET  /.well-known/oauth-protected-resource    RFC 9728 metadata
//	GET  /users/me               scope "me": {"username", "scopes"}
//	GET  /items                  scope "items:read": the items
//	POST /items                  scope "items:write": {"name": "..."} creates one
//	GET  /admin/users            scope "admin:users": the users
//	GET  /reports                scope "reports:read" (machine clients): {"client_id", "scopes"}
//	GET  /healthz                open: liveness
//	GET  /readyz                 open: 200 when the stores answer, else 503
//	GET  /openapi.json           the OpenAPI 3.1 document of these routes
//	GET  /docs                   Swagger UI (npm ci --prefix examples/basic first)
//
// A session with curl:
//
//	curl -s -d grant_type=password -d username=alice -d password=wonderland localhost:8000/token
//	curl -s -H "Authorization: Bearer $ACCESS" localhost:8000/users/me
//	curl -s -d grant_type=refresh_token -d refresh_token=$REFRESH localhost:8000/token
//	curl -s -d token=$REFRESH localhost:8000/revoke
//	curl -s -u reports-service:reports-secret-change-me -d grant_type=client_credentials localhost:8000/token
//
// It is a demo: the users live in memory and their passwords are printed
// at start. Serve it over HTTPS (behind a TLS-terminating proxy) anywhere
// but on your own machine.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/tollgate-go/tollgate"
	"github.com/tollgate-go/tollgate/examples/internal/demo"
)

// defaultAddr is where the server listens unless -addr says otherwise.
const defaultAddr = "127.0.0.1:8000"

// shutdownGrace is how long in-flight requests get to finish after
// SIGINT or SIGTERM.
const shutdownGrace = 10 * time.Second

// minSecretBytes is the shortest TOLLGATE_SECRET: 256 bits, the HS256
// minimum of tollgate.NewKey (RFC 8725 §3.5).
const minSecretBytes = 32

// algorithms are the values -alg accepts.
var algorithms = []string{"HS256", "RS256", "ES256", "EdDSA"}

// scopes is the scope registry of the service: the examples' (package
// demo) and the machine clients' reports:read.
var scopes = func() map[string]string {
	m := maps.Clone(demo.Scopes)
	m["reports:read"] = "Read the reports (machine clients; no user holds it)"
	return m
}()

// demoUsers are the accounts the example starts with (package demo),
// printed at start: this is a demo, and its passwords are meant to be
// typed.
var demoUsers = demo.Users

// A demoClient is a confidential client the example starts with.
type demoClient struct {
	id, secret string
	grants     []string
	scopes     []string
}

// demoClients are printed at start with the users: a service that calls
// the API for itself, with the client credentials grant (RFC 6749 §4.4).
var demoClients = []demoClient{
	{"reports-service", "reports-secret-change-me", []string{"client_credentials"}, []string{"reports:read"}},
}

// publicClients are the example's public clients (RFC 6749 §2.1: no
// secret): the first-party "tollgate" that a request naming no client
// is, and "demo-client", for clients that send an id of their own.
var publicClients = []string{"tollgate", "demo-client"}

// options are the settings of the server, from flags and the environment.
type options struct {
	addr       string
	alg        string // signing algorithm; with keyFile, the key's own unless algSet
	algSet     bool   // -alg was given explicitly
	keyFile    string // PEM or JWK file holding the signing key
	secret     string // TOLLGATE_SECRET, for HS256
	accessTTL  time.Duration
	refreshTTL time.Duration
	issuer     string
	audience   string
	store      string   // -store: where state lives
	verifyKeys []string // -verify-key files: keys that verify, never sign
	swaggerUI  string   // -swagger-ui: the swagger-ui-dist files; "" finds them

	bcryptCost int // of the demo users' hashes and of tollgate's dummy hash

	// hasher, if set, replaces tollgate.Bcrypt(bcryptCost): tests
	// plug in a fast one (bcrypt under the race detector is very slow).
	hasher tollgate.PasswordHasher
}

// parseOptions reads the command line and the environment. -help returns
// flag.ErrHelp after printing the usage to out.
func parseOptions(args []string, getenv func(string) string, out io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("basic", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprint(out, `Usage: go run ./examples/basic [flags]

An example tollgate service: OAuth 2.0 password grant, JWT access tokens,
scopes, rotating refresh tokens. Demo users are printed at start.

Environment:
  TOLLGATE_SECRET
    	the HS256 signing secret, at least 32 bytes (used with -alg HS256 and
    	no -key; if unset, a random secret is generated and tokens die with
    	the process)

Flags:
`)
		fs.PrintDefaults()
	}
	fs.StringVar(&o.addr, "addr", defaultAddr, "listen `address`")
	fs.StringVar(&o.alg, "alg", "ES256", "signing `algorithm`: "+strings.Join(algorithms, ", ")+
		"\n(with -key it must match the key, and defaults to the key's)")
	fs.StringVar(&o.keyFile, "key", "", "load the signing key from a PEM or JWK `file`\n(default: a key generated at start; tokens die with the process)")
	fs.DurationVar(&o.accessTTL, "access-ttl", 15*time.Minute, "access token `lifetime`")
	fs.DurationVar(&o.refreshTTL, "refresh-ttl", 720*time.Hour, "refresh token `lifetime`")
	fs.IntVar(&o.bcryptCost, "bcrypt-cost", 12, "bcrypt `cost` of the demo users' password hashes (10 to 31; each step doubles the time of a login)")
	fs.StringVar(&o.issuer, "issuer", "", "the `URL` in the tokens' \"iss\" claim (default \"http://\" + the listen address)")
	fs.StringVar(&o.audience, "audience", "", "the tokens' \"aud\" `claim` (default the issuer)")
	fs.StringVar(&o.store, "store", "memory", storeUsage)
	fs.StringVar(&o.swaggerUI, "swagger-ui", "", "the `dir`ectory of the npm package swagger-ui-dist, served at /docs\n"+
		"(default: node_modules/swagger-ui-dist found in ., in ./examples/basic or beside the example's source;\n"+
		"install it with: npm ci --prefix examples/basic)")
	fs.Func("verify-key", "also verify tokens signed with the key in this PEM or JWK `file` (repeatable):\n"+
		"to rotate, restart with the new key as -key and the old one here", func(f string) error {
		o.verifyKeys = append(o.verifyKeys, f)
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	fs.Visit(func(f *flag.Flag) { o.algSet = o.algSet || f.Name == "alg" })
	if !slices.Contains(algorithms, o.alg) {
		return o, fmt.Errorf("-alg %q: use one of %s", o.alg, strings.Join(algorithms, ", "))
	}
	if o.bcryptCost < 10 || o.bcryptCost > 31 {
		return o, fmt.Errorf("-bcrypt-cost %d: use 10 to 31", o.bcryptCost)
	}
	if o.accessTTL <= 0 || o.refreshTTL <= 0 {
		return o, errors.New("-access-ttl and -refresh-ttl must be positive")
	}
	o.secret = getenv("TOLLGATE_SECRET")
	if o.usesSecret() && len(o.secret) < minSecretBytes {
		// Never echo the secret, not even in an error.
		return o, fmt.Errorf("TOLLGATE_SECRET is %d bytes long; HS256 needs at least %d (try: openssl rand -base64 32)",
			len(o.secret), minSecretBytes)
	}
	return o, nil
}

// usesSecret reports whether TOLLGATE_SECRET is the signing key.
func (o *options) usesSecret() bool {
	return o.secret != "" && o.keyFile == "" && o.alg == "HS256"
}

// main runs the server until SIGINT or SIGTERM.
func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout)
	switch {
	case errors.Is(err, flag.ErrHelp):
	case err != nil:
		fmt.Fprintln(os.Stderr, "basic:", err)
		os.Exit(1)
	}
}

// run parses args, serves until ctx is done, then shuts down gracefully.
// The demo users and the logs go to stdout.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	o, err := parseOptions(args, os.Getenv, stdout)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stdout, nil))

	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	if o.issuer == "" {
		o.issuer = demo.IssuerFor(ln.Addr().String())
	}
	handler, closeStores, err := newServer(o, logger)
	if err != nil {
		return err
	}
	defer closeStores()
	printUsers(stdout)

	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      20 * time.Second, // a login waits for bcrypt
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10, // room for an 8 KiB token, the most tollgate verifies
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	logger.Info("listening", "url", "http://"+ln.Addr().String(), "issuer", o.issuer)

	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-serveErr; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// printUsers writes the demo accounts and clients as tables.
func printUsers(out io.Writer) {
	demo.PrintUsers(out)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "Demo confidential clients (client credentials grant; the secrets are printed because this is a demo):")
	fmt.Fprintln(tw, "  CLIENT_ID\tSECRET\tSCOPES\t")
	for _, c := range demoClients {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t\n", c.id, c.secret, strings.Join(c.scopes, " "))
	}
	fmt.Fprintf(tw, "Public clients (no secret): %s\n", strings.Join(publicClients, ", "))
	_ = tw.Flush()
}

// newServer builds the service: the Authenticator with its in-memory
// stores, and the routes behind the request logger.
func newServer(o options, logger *slog.Logger) (http.Handler, func(), error) {
	if o.issuer == "" {
		o.issuer = demo.IssuerFor(o.addr)
	}
	if o.audience == "" {
		o.audience = o.issuer
	}
	key, err := signingKey(o, logger)
	if err != nil {
		return nil, nil, err
	}
	var verify []*tollgate.Key
	for _, f := range o.verifyKeys {
		k, err := tollgate.LoadKeyFile(f)
		if err != nil {
			return nil, nil, fmt.Errorf("-verify-key %s: %w", f, err)
		}
		logger.Info("verification key loaded", "file", f, "alg", k.Algorithm(), "kid", k.ID())
		verify = append(verify, k)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := openStores(ctx, o.store)
	if err != nil {
		return nil, nil, err
	}
	fail := func(err error) (http.Handler, func(), error) {
		st.close()
		return nil, nil, err
	}

	// bcrypt is slow on purpose: hash the missing demo users' passwords
	// concurrently, and while New hashes its own dummy password. A
	// persistent store that has them already keeps them as they are.
	hasher := o.hasher
	if hasher == nil {
		hasher = tollgate.Bcrypt(o.bcryptCost)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(demoUsers)+len(demoClients)+len(publicClients))
	for i, id := range publicClients {
		wg.Go(func() { errs[len(demoUsers)+len(demoClients)+i] = st.addClient(ctx, tollgate.Client{ID: id}) })
	}
	for i, c := range demoClients {
		wg.Go(func() {
			hash, err := hasher.Hash(c.secret)
			if err != nil {
				errs[len(demoUsers)+i] = fmt.Errorf("hashing the secret of %s: %w", c.id, err)
				return
			}
			errs[len(demoUsers)+i] = st.addClient(ctx, tollgate.Client{ID: c.id, SecretHash: hash, Grants: c.grants, Scopes: c.scopes})
		})
	}
	for i, u := range demoUsers {
		wg.Go(func() {
			known, err := knownUser(ctx, st.users, u.Name)
			if err != nil || known {
				errs[i] = err
				return
			}
			hash, err := hasher.Hash(u.Password)
			if err != nil {
				errs[i] = fmt.Errorf("hashing the password of %s: %w", u.Name, err)
				return
			}
			errs[i] = st.add(ctx, tollgate.User{ID: u.Name, Username: u.Name, PasswordHash: hash, Scopes: u.Scopes, Disabled: u.Disabled})
		})
	}
	auth, err := tollgate.New(tollgate.Config{
		Issuer:           o.issuer,
		Audience:         []string{o.audience},
		SigningKey:       key,
		VerificationKeys: verify,
		Scopes:           scopes,
		Users:            st.users,
		Refresh:          st.refresh,
		Denylist:         st.denylist,
		Clients:          st.clients,
		Hasher:           hasher,
		AccessTTL:        o.accessTTL,
		RefreshTTL:       o.refreshTTL,
		Logins:           tollgate.LoginLimits{Shared: st.counters},
		OnEvent:          demo.AuditLog(logger),
		Logger:           logger,
	})
	wg.Wait()
	if err := errors.Join(append(errs, err)...); err != nil {
		return fail(err)
	}
	logger.Info("stores", "store", storeName(o.store), "a restart keeps", st.durable)

	s := &server{auth: auth, items: demo.NewItems(), resource: o.audience}
	api := auth.API(s.routes(st.ready)...)

	mux := http.NewServeMux()
	// No method in these two patterns: for a GET, the library's handler
	// answers 405 with "Allow: POST" and an RFC 6749 §5.2 body.
	mux.Handle("/token", auth.TokenHandler())
	mux.Handle("/revoke", auth.RevokeHandler())
	mux.Handle("/introspect", auth.IntrospectionHandler())
	api.Register(mux)
	mux.Handle("GET /openapi.json", api.OpenAPIHandler(openAPIInfo))
	newDocs(o.swaggerUI, logger).register(mux)
	return demo.LogRequests(logger, mux), st.close, nil
}

// storeName is -store without what may hold a password: a URL's user
// information and its query.
func storeName(spec string) string {
	scheme, rest, ok := strings.Cut(spec, "://")
	if !ok {
		return spec
	}
	// The user information (user:password@) and the query (pgx takes
	// ?password=... too) are left out.
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		rest = rest[at+1:]
	}
	rest, _, _ = strings.Cut(rest, "?")
	return scheme + "://" + rest
}

// signingKey returns the key from -key, from TOLLGATE_SECRET, or a new
// one (with a warning: its tokens die with the process).
func signingKey(o options, logger *slog.Logger) (*tollgate.Key, error) {
	if o.secret != "" && !o.usesSecret() {
		logger.Warn("TOLLGATE_SECRET is set but not used: it is the signing key only with -alg HS256 and no -key")
	}
	switch {
	case o.keyFile != "":
		key, err := tollgate.LoadKeyFile(o.keyFile)
		if err != nil {
			return nil, err
		}
		if o.algSet && key.Algorithm() != o.alg {
			return nil, fmt.Errorf("-alg %s, but the key in %s is for %s", o.alg, o.keyFile, key.Algorithm())
		}
		logger.Info("signing key loaded", "file", o.keyFile, "alg", key.Algorithm(), "kid", key.ID())
		return key, nil
	case o.usesSecret():
		key, err := tollgate.NewKey([]byte(o.secret))
		if err != nil {
			return nil, err
		}
		logger.Info("signing key from TOLLGATE_SECRET", "alg", key.Algorithm(), "kid", key.ID())
		return key, nil
	}
	key, err := tollgate.GenerateKey(o.alg)
	if err != nil {
		return nil, err
	}
	if o.alg == "HS256" {
		logger.Warn("WARNING: TOLLGATE_SECRET is not set: signing with a random HS256 secret generated at start; " +
			"every token dies when this process exits")
	} else {
		logger.Warn("WARNING: signing with a key generated at start (use -key FILE to keep one); "+
			"every token dies when this process exits", "alg", key.Algorithm(), "kid", key.ID())
	}
	return key, nil
}
