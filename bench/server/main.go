// Command server is the whole-server benchmark of BENCHMARKS.md: one
// application handler mounted twice, at GET /open/items with no
// authentication and at GET /protected/items behind
// RequireScopes("items:read"), both inside the same request-logging
// middleware, so that protected ÷ open is what tollgate costs a real
// server and nothing else. POST /token issues the token the load tool
// sends. bench/run.sh drives it with wrk.
//
//	go run ./bench/server -addr 127.0.0.1:8100 -alg ES256 > /dev/null
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/tollgate-go/tollgate"
	"github.com/tollgate-go/tollgate/memstore"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8100", "listen address")
	alg := flag.String("alg", "ES256", "signing algorithm of the access tokens")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile to this file until SIGINT or SIGTERM")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "server:", err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "server:", err)
			os.Exit(1)
		}
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		go func() {
			<-sig
			pprof.StopCPUProfile()
			_ = f.Close()
			os.Exit(0)
		}()
	}
	if err := run(*addr, *alg); err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}

func run(addr, alg string) error {
	logger := slog.New(slog.NewTextHandler(os.Stdout, nil))
	h, err := newHandler(alg, logger)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	logger.Info("listening", "addr", ln.Addr().String(), "alg", alg)
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	return srv.Serve(ln)
}

// newHandler is the server: the same items handler open and protected,
// and the token endpoint, all inside one logging middleware.
func newHandler(alg string, logger *slog.Logger) (http.Handler, error) {
	key, err := tollgate.GenerateKey(alg)
	if err != nil {
		return nil, err
	}
	hasher := tollgate.Bcrypt(10)
	hash, err := hasher.Hash("wonderland")
	if err != nil {
		return nil, err
	}
	users := memstore.NewUsers()
	users.Put(tollgate.User{Username: "alice", PasswordHash: hash, Scopes: []string{"items:read"}})
	auth, err := tollgate.New(tollgate.Config{
		Issuer:     "https://bench.local",
		Audience:   []string{"https://bench.local"},
		SigningKey: key,
		Scopes:     map[string]string{"items:read": "Read items"},
		Users:      users,
		Hasher:     hasher,
		Logger:     logger,
		Logins:     tollgate.LoginLimits{DisableThrottle: true},
	})
	if err != nil {
		return nil, err
	}
	items := http.HandlerFunc(listItems)
	mux := http.NewServeMux()
	mux.Handle("POST /token", auth.TokenHandler())
	mux.Handle("GET /open/items", items)
	mux.Handle("GET /protected/items", auth.RequireScopes("items:read")(items))
	return logRequests(logger, mux), nil
}

type item struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
}

var catalogue = []item{{1, "Portal Gun"}, {2, "Plumbus"}, {3, "Meeseeks Box"}}

// listItems is the application handler both routes share.
func listItems(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(catalogue)
}

type subjectKey struct{}

// statusWriter records the status a handler writes.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// logRequests logs each request's method, path, status and duration, as
// examples/basic does, on every route alike.
func logRequests(logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), subjectKey{}, "")))
		logger.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", sw.status),
			slog.String("remote", r.RemoteAddr),
			slog.Duration("duration", time.Since(start)),
		)
	})
}
