package main

// Fixtures of the tests: the real handler of newServer on a loopback
// port, a log the test reads, the audit events and a record of what
// reached the server.

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
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

// A seenRequest is what the server's outermost handler saw of a request.
type seenRequest struct {
	method, path string
	site         string // Sec-Fetch-Site
	cookie       bool   // it carried the refresh cookie
	status       int
}

// testServer is the example on 127.0.0.1 at a free port.
type testServer struct {
	t   *testing.T
	url string
	log *demo.SyncBuffer

	mu     sync.Mutex
	events []audit.Event
	seen   []seenRequest
	// slowRefresh delays each /auth/refresh, so that two tabs' refreshes
	// overlap for certain.
	slowRefresh time.Duration
}

// startServer parses args as run does (with the lowest bcrypt cost) and
// serves newServer's handler, with the fast hasher, on a free loopback
// port.
func startServer(t *testing.T, args ...string) *testServer {
	t.Helper()
	o, err := parseOptions(append([]string{"-bcrypt-cost", "10"}, args...), io.Discard)
	if err != nil {
		t.Fatalf("parseOptions(%q) = %v", args, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &testServer{t: t, log: &demo.SyncBuffer{}}
	o.addr = ln.Addr().String()
	o.hasher = demo.TestHasher{}
	o.onEvent = func(_ context.Context, e audit.Event) {
		s.mu.Lock()
		s.events = append(s.events, e)
		s.mu.Unlock()
	}
	h, err := newServer(o, slog.New(slog.NewTextHandler(s.log, nil)))
	if err != nil {
		ln.Close()
		t.Fatalf("newServer: %v", err)
	}
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: s.record(h)}}
	srv.Start()
	t.Cleanup(srv.Close)
	s.url = srv.URL
	return s
}

// record wraps h to note every request and its status.
func (s *testServer) record(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		s.mu.Lock()
		delay := s.slowRefresh
		s.mu.Unlock()
		if r.URL.Path == "/auth/refresh" && delay > 0 {
			time.Sleep(delay)
		}
		h.ServeHTTP(rec, r)
		_, err := r.Cookie(refreshCookieName)
		s.mu.Lock()
		s.seen = append(s.seen, seenRequest{r.Method, r.URL.Path, r.Header.Get("Sec-Fetch-Site"), err == nil, rec.status})
		s.mu.Unlock()
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusRecorder) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

// requests returns the requests seen so far.
func (s *testServer) requests() []seenRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]seenRequest(nil), s.seen...)
}

// eventCount counts the audit events of type typ (and reason, if not "").
func (s *testServer) eventCount(typ audit.Type, reason audit.Reason) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, e := range s.events {
		if e.Type == typ && (reason == "" || e.Reason == reason) {
			n++
		}
	}
	return n
}

// response is an answer read in full.
type response struct {
	status int
	header http.Header
	body   []byte
	cookie *http.Cookie // the refresh cookie it set, if any
}

// json decodes the body as one JSON object.
func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", r.body, err)
	}
	return m
}

// request describes a request of the tests: the bearer token, the
// refresh cookie's value, the content type and extra headers, each if
// not empty.
type request struct {
	method, path string
	body         string
	token        string
	cookie       string
	contentType  string
	header       map[string]string
}

// do sends req to the server as a non-browser client (no Sec-Fetch-Site,
// no Origin) unless its headers say otherwise.
func (s *testServer) do(req request) response {
	s.t.Helper()
	r, err := http.NewRequest(req.method, s.url+req.path, strings.NewReader(req.body))
	if err != nil {
		s.t.Fatal(err)
	}
	if req.token != "" {
		r.Header.Set("Authorization", "Bearer "+req.token)
	}
	if req.cookie != "" {
		r.Header.Set("Cookie", refreshCookieName+"="+req.cookie)
	}
	if req.contentType != "" {
		r.Header.Set("Content-Type", req.contentType)
	}
	for k, v := range req.header {
		r.Header.Set(k, v)
	}
	ctx, cancel := context.WithTimeout(s.t.Context(), time.Minute)
	defer cancel()
	resp, err := http.DefaultClient.Do(r.WithContext(ctx))
	if err != nil {
		s.t.Fatalf("%s %s: %v", req.method, req.path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatalf("%s %s: reading the body: %v", req.method, req.path, err)
	}
	out := response{status: resp.StatusCode, header: resp.Header, body: body}
	for _, c := range resp.Cookies() {
		if c.Name == refreshCookieName {
			out.cookie = c
		}
	}
	return out
}

// login posts a login form to /auth/login.
func (s *testServer) login(user, password string) response {
	s.t.Helper()
	return s.do(request{method: "POST", path: "/auth/login",
		body:        url.Values{"username": {user}, "password": {password}}.Encode(),
		contentType: "application/x-www-form-urlencoded"})
}

// mustLogin logs user in and returns the access token and the refresh
// cookie's value.
func (s *testServer) mustLogin(user, password string) (access, refresh string) {
	s.t.Helper()
	r := s.login(user, password)
	if r.status != http.StatusOK || r.cookie == nil {
		s.t.Fatalf("login %s: %d %s, cookie %v", user, r.status, r.body, r.cookie)
	}
	return r.json(s.t)["access_token"].(string), r.cookie.Value
}

// wantError checks an RFC 6749 §5.2 error answer.
func wantError(t *testing.T, r response, status int, code string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	if got := r.json(t)["error"]; got != code {
		t.Fatalf("error %v, want %q; body %s", got, code, r.body)
	}
}

// jsonUnmarshal decodes the JSON text s into v.
func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
