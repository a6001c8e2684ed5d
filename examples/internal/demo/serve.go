package demo

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/tollgate-go/tollgate"
	"github.com/tollgate-go/tollgate/audit"
)

// ShutdownGrace is how long in-flight requests get to finish once the
// context of Serve is done.
const ShutdownGrace = 10 * time.Second

// Serve serves h on ln until ctx is done, then shuts down gracefully,
// logging both to logger.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, logger *slog.Logger) error {
	srv := &http.Server{
		Handler:           h,
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
	logger.Info("listening", "url", "http://"+ln.Addr().String())

	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-serveErr; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// requestInfo collects what the request log needs to know from inside
// the handler chain: the subject is known only behind RequireScopes or
// from an audit event.
type requestInfo struct {
	subject string
}

type requestInfoKey struct{}

// setSubject records sub as the subject of the request ctx belongs to.
func setSubject(ctx context.Context, sub string) {
	if info, ok := ctx.Value(requestInfoKey{}).(*requestInfo); ok && sub != "" {
		info.subject = sub
	}
}

// Protect is auth.RequireScopes, with the caller's subject recorded for
// LogRequests.
func Protect(auth *tollgate.Authenticator, scopes ...string) func(http.Handler) http.Handler {
	require := auth.RequireScopes(scopes...)
	return func(next http.Handler) http.Handler {
		return require(WithSubject(next.ServeHTTP))
	}
}

// WithSubject records the caller's subject for LogRequests; it runs
// behind the route's guard (RequireScopes, or a tollgate.Route's), where
// the Principal is known.
func WithSubject(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p, ok := tollgate.FromContext(r.Context()); ok {
			setSubject(r.Context(), p.Subject)
		}
		next(w, r)
	})
}

// AuditLog returns a Config.OnEvent hook: tollgate's audit events as log
// records, by audit.Slog, whose subject also goes to the request log
// (which otherwise knows it only for requests that passed Protect).
func AuditLog(logger *slog.Logger) func(context.Context, audit.Event) {
	write := audit.Slog(logger)
	return func(ctx context.Context, e audit.Event) {
		setSubject(ctx, e.Subject)
		write(ctx, e)
	}
}

// statusWriter remembers the status of the response.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
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

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// LogRequests logs each request's method, path, status and subject, and
// sets X-Content-Type-Options: nosniff. It never logs headers, cookies,
// bodies or the query string: that is where tokens and passwords travel.
func LogRequests(logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		info := &requestInfo{}
		sw := &statusWriter{ResponseWriter: w}
		sw.Header().Set("X-Content-Type-Options", "nosniff")
		next.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), requestInfoKey{}, info)))
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		logger.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", sw.status),
			slog.String("sub", info.subject),
			slog.String("remote", r.RemoteAddr),
			slog.Duration("duration", time.Since(start)),
		)
	})
}

// Main runs a program's run function with the command line and stdout,
// until SIGINT or SIGTERM, and exits 1 with the error (prefixed by
// name) if it fails; -help is no failure.
func Main(name string, run func(ctx context.Context, args []string, stdout io.Writer) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
}

// SyncBuffer is a log sink that a server's goroutines write to while
// another (a test) reads it.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
