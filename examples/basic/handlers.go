package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tollgate-go/tollgate"
	"github.com/tollgate-go/tollgate/audit"
)

// Limits of POST /items.
const (
	maxItemBody  = 4 << 10
	maxItemName  = 100
	maxItemCount = 10_000 // the items live in memory
)

// An item is what the items API serves.
type item struct {
	ID    int    `json:"id"`
	Name  string `json:"name"`
	Owner string `json:"owner"`
}

func seedItems() []item {
	return []item{
		{ID: 1, Name: "Portal Gun", Owner: "alice"},
		{ID: 2, Name: "Plumbus", Owner: "bob"},
	}
}

// server holds the state behind the routes.
type server struct {
	auth     *tollgate.Authenticator
	resource string // the resource identifier of RFC 9728: the audience

	mu     sync.Mutex
	items  []item
	lastID int
}

// routes is the API of the example, declared once: tollgate.API guards
// each handler with the route's scopes, and /openapi.json documents the
// same table.
func (s *server) routes(ready func(context.Context) error) []tollgate.Route {
	return []tollgate.Route{
		{Method: "GET", Path: "/.well-known/jwks.json", Summary: "The public verification keys (a JWK Set, RFC 7517)", Status: 200, Public: true, Handler: s.auth.JWKSHandler()},
		{Method: "GET", Path: "/users/me", Summary: "Your username and granted scopes", Status: 200, Scopes: []string{"me"}, Handler: withSubject(s.me)},
		{Method: "GET", Path: "/items", Summary: "List the items", Status: 200, Scopes: []string{"items:read"}, Handler: withSubject(s.listItems)},
		{Method: "POST", Path: "/items", Summary: `Create an item from {"name": "..."}`, Status: 201, Scopes: []string{"items:write"}, Handler: withSubject(s.createItem),
			RequestBody: json.RawMessage(`{"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["name"], "additionalProperties": false,
				"properties": {"name": {"type": "string", "minLength": 1, "maxLength": 100, "description": "Printable characters"}}}}}}`)},
		{Method: "GET", Path: "/admin/users", Summary: "List the users", Status: 200, Scopes: []string{"admin:users"}, Handler: withSubject(s.listUsers)},
		{Method: "GET", Path: "/reports", Summary: "The calling client's id and scopes (a machine client's route)", Status: 200, Scopes: []string{"reports:read"}, Handler: withSubject(s.reports)},
		{Method: "GET", Path: "/.well-known/oauth-authorization-server", Summary: "The authorization server's metadata (RFC 8414)", Status: 200, Public: true, Handler: s.auth.MetadataHandler(tollgate.Endpoints{})},
		{Method: "GET", Path: "/.well-known/oauth-protected-resource", Summary: "The protected resource's metadata (RFC 9728)", Status: 200, Public: true, Handler: s.auth.ResourceMetadataHandler(s.resource)},
		{Method: "GET", Path: "/healthz", Summary: "Liveness: the process is up", Status: 200, Public: true, Handler: http.HandlerFunc(healthz)},
		{Method: "GET", Path: "/readyz", Summary: "Readiness: 200 when the stores answer, else 503", Status: 200, Public: true, Handler: readyz(ready)},
	}
}

// withSubject records the caller's subject for the request log; it runs
// behind the route's guard, where the Principal is known.
func withSubject(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p, ok := tollgate.FromContext(r.Context()); ok {
			if info, ok := r.Context().Value(requestInfoKey{}).(*requestInfo); ok {
				info.subject = p.Subject
			}
		}
		next(w, r)
	})
}

// me serves GET /users/me: the caller's username and granted scopes.
func (s *server) me(w http.ResponseWriter, r *http.Request) {
	p, _ := tollgate.FromContext(r.Context())
	writeJSON(w, http.StatusOK, struct {
		Username string   `json:"username"`
		Scopes   []string `json:"scopes"`
	}{p.Username, nonNil(p.Scopes)})
}

// listItems serves GET /items.
func (s *server) listItems(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	items := slices.Clone(s.items)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, items)
}

// createItem serves POST /items: a JSON object {"name": "..."} becomes an
// item owned by the caller.
func (s *server) createItem(w http.ResponseWriter, r *http.Request) {
	p, _ := tollgate.FromContext(r.Context())
	var in struct {
		Name string `json:"name"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxItemBody))
	err := dec.Decode(&in)
	if err == nil && dec.More() {
		err = errors.New("trailing data")
	}
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("The body is larger than %d bytes", maxItemBody))
		return
	case err != nil:
		writeError(w, http.StatusBadRequest, `The body must be one JSON object like {"name": "..."}`)
		return
	case !validName(in.Name):
		writeError(w, http.StatusBadRequest, fmt.Sprintf("name must be 1 to %d characters of text", maxItemName))
		return
	}
	s.mu.Lock()
	if len(s.items) >= maxItemCount {
		s.mu.Unlock()
		writeError(w, http.StatusServiceUnavailable, "The demo holds no more items")
		return
	}
	s.lastID++
	it := item{ID: s.lastID, Name: in.Name, Owner: p.Username}
	s.items = append(s.items, it)
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, it)
}

// validName reports whether name is non-empty printable text of at most
// maxItemName characters.
func validName(name string) bool {
	if name == "" || !utf8.ValidString(name) || utf8.RuneCountInString(name) > maxItemName {
		return false
	}
	for _, c := range name {
		if !unicode.IsPrint(c) {
			return false
		}
	}
	return true
}

// listUsers serves GET /admin/users: the accounts without their
// passwords or hashes.
func (s *server) listUsers(w http.ResponseWriter, r *http.Request) {
	type user struct {
		Username string   `json:"username"`
		Scopes   []string `json:"scopes"`
		Disabled bool     `json:"disabled"`
	}
	out := make([]user, 0, len(demoUsers))
	for _, u := range demoUsers {
		out = append(out, user{u.name, nonNil(u.scopes), u.disabled})
	}
	writeJSON(w, http.StatusOK, out)
}

// reports serves GET /reports, for a machine client's token (client
// credentials): the client and its scopes.
func (s *server) reports(w http.ResponseWriter, r *http.Request) {
	p, _ := tollgate.FromContext(r.Context())
	writeJSON(w, http.StatusOK, struct {
		ClientID string   `json:"client_id"`
		Scopes   []string `json:"scopes"`
	}{p.ClientID, nonNil(p.Scopes)})
}

// healthz serves GET /healthz, open to all.
func healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz answers GET /readyz: 200 when the stores answer within two
// seconds, 503 otherwise (a readiness check; /healthz stays a liveness
// check that never looks at them).
func readyz(ready func(context.Context) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := ready(ctx); err != nil {
			w.Header().Set("Retry-After", "2")
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "error": "a store does not answer"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// writeJSON answers with v as JSON. The answers are about the caller, so
// no cache keeps them.
func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers with the error shape the token endpoint uses
// (RFC 6749 §5.2), so clients parse one kind of error.
func writeError(w http.ResponseWriter, status int, desc string) {
	code := "invalid_request"
	if status >= 500 {
		code = "temporarily_unavailable"
	}
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// requestInfo collects what the request log needs to know from inside
// the handler chain: the subject is known only behind RequireScopes.
type requestInfo struct {
	subject string
}

type requestInfoKey struct{}

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

// logRequests logs each request's method, path, status and subject. It
// never logs headers, bodies or the query string: that is where tokens
// and passwords travel.
func logRequests(logger *slog.Logger, next http.Handler) http.Handler {
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

// auditLog returns the Config.OnEvent hook: tollgate's audit events
// (logins, refresh rotation and reuse, revocations, denied requests) as
// log records, by audit.Slog. The event's subject also goes to
// the request log, which otherwise knows it only for requests that
// passed RequireScopes: a login, a refresh, a 403.
func auditLog(logger *slog.Logger) func(context.Context, audit.Event) {
	write := audit.Slog(logger)
	return func(ctx context.Context, e audit.Event) {
		if info, ok := ctx.Value(requestInfoKey{}).(*requestInfo); ok && e.Subject != "" {
			info.subject = e.Subject
		}
		write(ctx, e)
	}
}
