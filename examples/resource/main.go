// Command resource is a resource server that shares nothing with its
// issuer but the issuer's JWK Set URL: it verifies access tokens through
// a remote key set (package remotekeys), picks up the issuer's key
// rotations without a restart, and keeps serving while the issuer is
// down.
//
//	go run ./examples/basic -key key.pem &   # the issuer, on 127.0.0.1:8000
//	go run ./examples/resource -jwks http://127.0.0.1:8000/.well-known/jwks.json -issuer http://127.0.0.1:8000
//
// Routes:
//
//	GET /users/me   scope "me": {"username", "scopes"}
//	GET /items      scope "items:read": the items
//	GET /healthz    open
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tollgate-go/tollgate"
	"github.com/tollgate-go/tollgate/audit"
	"github.com/tollgate-go/tollgate/remotekeys"
)

// options are the command line.
type options struct {
	addr, jwks, issuer, audience string
}

func parseOptions(args []string, out io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("resource", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8002", "listen `address`")
	fs.StringVar(&o.jwks, "jwks", "", "the issuer's JWK Set `URL` (required)")
	fs.StringVar(&o.issuer, "issuer", "", "the issuer: the tokens' \"iss\" `URL` (required)")
	fs.StringVar(&o.audience, "audience", "", "this API's name in the tokens' \"aud\" (default the issuer)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if o.jwks == "" || o.issuer == "" {
		return o, errors.New("-jwks and -issuer are required")
	}
	if o.audience == "" {
		o.audience = o.issuer
	}
	return o, nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "resource:", err)
		os.Exit(1)
	}
}

// run serves until ctx is done.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	o, err := parseOptions(args, stdout)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stdout, nil))
	h, closeKeys, err := newServer(ctx, o, logger)
	if err != nil {
		return err
	}
	defer closeKeys()
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, MaxHeaderBytes: 16 << 10}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	logger.Info("listening", "url", "http://"+ln.Addr().String(), "issuer", o.issuer, "jwks", o.jwks)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

// newServer builds the API: every protected route verifies through the
// remote key set only.
func newServer(ctx context.Context, o options, logger *slog.Logger) (http.Handler, func(), error) {
	events := audit.Slog(logger)
	keys, err := remotekeys.New(ctx, o.jwks, remotekeys.Options{OnEvent: events, Logger: logger})
	if err != nil {
		return nil, nil, err
	}
	auth, err := tollgate.New(tollgate.Config{
		Issuer:    o.issuer,
		Audience:  []string{o.audience},
		Scopes:    map[string]string{"me": "Read your own profile", "items:read": "List items"},
		KeySource: keys,
		OnEvent:   events,
		Logger:    logger,
	})
	if err != nil {
		keys.Close()
		return nil, nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /users/me", auth.RequireScopes("me")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := tollgate.FromContext(r.Context())
		scopes := p.Scopes
		if scopes == nil {
			scopes = []string{}
		}
		writeJSON(w, http.StatusOK, map[string]any{"username": p.Username, "scopes": scopes})
	})))
	mux.Handle("GET /items", auth.RequireScopes("items:read")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, []map[string]any{{"id": 1, "name": "Portal Gun", "owner": "alice"}, {"id": 2, "name": "Plumbus", "owner": "bob"}})
	})))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	return mux, keys.Close, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
