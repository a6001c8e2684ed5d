package tollgate_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-go/tollgate"
	"github.com/tollgate-go/tollgate/audit"
	"github.com/tollgate-go/tollgate/memstore"
)

// TestAuditAccessDenied checks the access_denied event of protected routes
// (RFC 6750 §3.1 answers), with a reason code for each kind of refusal.
func TestAuditAccessDenied(t *testing.T) {
	f := newFixture(t, "", func(c *tollgate.Config) {
		c.Denylist = memstore.NewDenylist(0)
		c.LoadUser = true
	})
	alice := f.login(t, "alice", "wonderland").AccessToken
	bob := f.login(t, "bob", "builder").AccessToken
	revoked := f.login(t, "alice", "wonderland").AccessToken
	f.post("/revoke", url.Values{"token": {revoked}})
	inactive := f.login(t, "carol", "admin-pass-123").AccessToken
	f.users.SetDisabled("carol", true)
	expired := f.forgeGood(t, func(_, c map[string]any) { c["exp"] = time.Now().Add(-time.Hour).Unix() })

	tests := []struct {
		name, path string
		authz      []string
		status     int
		reason     string
		subject    string
	}{
		{"RFC6750 §3.1 no token", "/users/me", nil, 401, "no_token", ""},
		{"RFC6750 §3.1 malformed request", "/users/me", []string{"Bearer a", "Bearer b"}, 400, "invalid_request", ""},
		{"RFC6750 §3.1 invalid token", "/users/me", []string{"Bearer x.y.z"}, 401, "malformed", ""},
		{"RFC6750 §3.1 expired token", "/users/me", []string{"Bearer " + expired}, 401, "token_expired", ""},
		{"RFC6750 §3.1 revoked token", "/users/me", []string{"Bearer " + revoked}, 401, "token_revoked", ""},
		{"RFC6750 §3.1 user disabled since", "/users/me", []string{"Bearer " + inactive}, 401, "user_inactive", ""},
		{"RFC6750 §3.1 insufficient scope", "/admin/users", []string{"Bearer " + bob}, 403, "insufficient_scope", "bob"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := len(f.events.Of(audit.AccessDenied))
			if rec := f.get(tc.path, tc.authz...); rec.Code != tc.status {
				t.Fatalf("status %d, want %d", rec.Code, tc.status)
			}
			ev := f.events.Of(audit.AccessDenied)
			if len(ev) != n+1 {
				t.Fatalf("%d access_denied events, want 1", len(ev)-n)
			}
			e := ev[n]
			if e.Reason != audit.Reason(tc.reason) || e.Subject != tc.subject || e.RemoteAddr == "" {
				t.Errorf("event = %+v, want reason %s, subject %q", e, tc.reason, tc.subject)
			}
			if tc.subject != "" && e.TokenID == "" {
				t.Error("insufficient_scope event without the token's jti")
			}
		})
	}
	n := len(f.events.Of(audit.AccessDenied))
	if rec := f.get("/users/me", "Bearer "+alice); rec.Code != 200 {
		t.Fatalf("valid token: %d", rec.Code)
	}
	if len(f.events.Of(audit.AccessDenied)) != n {
		t.Error("an accepted request emitted access_denied")
	}
}

// TestAuditNoAllocationOnSuccess: the audit hook costs nothing on the
// success path of a protected route.
func TestAuditNoAllocationOnSuccess(t *testing.T) {
	if testing.CoverMode() != "" {
		t.Skip("coverage counters change allocation counts")
	}
	allocs := func(onEvent bool) float64 {
		f := newFixture(t, "", func(c *tollgate.Config) {
			if !onEvent {
				c.OnEvent = nil
			}
		})
		tok := f.login(t, "alice", "wonderland").AccessToken
		req, _ := http.NewRequest("GET", "/users/me", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		w := &discardWriter{h: http.Header{}}
		return testing.AllocsPerRun(100, func() {
			clear(w.h)
			w.code = 0
			f.handler.ServeHTTP(w, req)
			if w.code != 200 {
				t.Fatalf("status %d", w.code)
			}
		})
	}
	without, with := allocs(false), allocs(true)
	if with > without {
		t.Errorf("a successful request allocates %v times with OnEvent set, %v without", with, without)
	}
}

// discardWriter is a ResponseWriter that keeps only the status.
type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = 200
	}
	return len(b), nil
}
func (w *discardWriter) WriteHeader(code int) { w.code = code }

// lockedBuffer is a bytes.Buffer for concurrent writers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.b.Bytes())
}

// TestSlogEvents drives every kind of event through the slog hook and
// checks levels, fields, and that no password or token reaches the log
// (OWASP Logging Cheat Sheet: never log session tokens or passwords).
func TestSlogEvents(t *testing.T) {
	var buf lockedBuffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f := newFixture(t, "", func(c *tollgate.Config) {
		c.OnEvent = audit.Slog(logger)
		c.Denylist = memstore.NewDenylist(0)
		c.Logins = tollgate.LoginLimits{FailuresPerUsername: 2}
	})
	const wrongPassword = "hunter2-Secret-Guess"
	var secrets []string
	keep := func(tj tokenJSON) tokenJSON {
		secrets = append(secrets, tj.AccessToken, tj.RefreshToken)
		// Each part of a JWT on its own is as telling.
		secrets = append(secrets, strings.Split(tj.AccessToken, ".")...)
		return tj
	}
	secrets = append(secrets, wrongPassword, "wonderland", "builder")

	f.loginFrom("198.51.100.7:1", "bob", wrongPassword)               // login_failed
	f.loginFrom("198.51.100.7:1", "bob", wrongPassword)               // login_failed
	f.loginFrom("198.51.100.7:1", "bob", "builder")                   // login_throttled
	first := keep(f.login(t, "alice", "wonderland"))                  // login_succeeded
	second := keep(decodeToken(t, f.refreshWith(first.RefreshToken))) // refresh_rotated
	f.refreshWith(first.RefreshToken)                                 // refresh_reused, access_token_revoked
	f.get("/users/me", "Bearer "+second.AccessToken)                  // access_denied (revoked)
	f.get("/users/me")                                                // access_denied (no token)
	third := keep(f.login(t, "alice", "wonderland"))
	f.post("/revoke", url.Values{"token": {third.RefreshToken}}) // token_revoked

	want := map[audit.Type]string{
		audit.LoginFailed:        "WARN",
		audit.LoginThrottled:     "WARN",
		audit.LoginSucceeded:     "INFO",
		audit.RefreshRotated:     "INFO",
		audit.RefreshReused:      "WARN",
		audit.AccessTokenRevoked: "INFO",
		audit.AccessDenied:       "INFO",
		audit.TokenRevoked:       "INFO",
	}
	seen := map[audit.Type]bool{}
	out := buf.Bytes()
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		typ := audit.Type(rec["type"].(string))
		seen[typ] = true
		if rec["msg"] != "tollgate: "+string(typ) {
			t.Errorf("msg = %v, want tollgate: %s", rec["msg"], typ)
		}
		level := want[typ]
		if typ == audit.AccessDenied && rec["reason"] == "no_token" {
			level = "DEBUG"
		}
		if rec["level"] != level {
			t.Errorf("%s (reason %v) logged at %v, want %s", typ, rec["reason"], rec["level"], level)
		}
		if typ == audit.AccessTokenRevoked && rec["jti"] == nil {
			t.Errorf("%s without jti: %s", typ, sc.Text())
		}
	}
	for typ := range want {
		if !seen[typ] {
			t.Errorf("no %s record in the log", typ)
		}
	}
	for _, s := range secrets {
		if s != "" && bytes.Contains(out, []byte(s)) {
			t.Errorf("the log holds a secret (%d bytes starting %.4q)", len(s), s)
		}
	}
}

// TestSlogEventsRespectsLevel: a logger above Debug drops the no-token
// records (browsers and probes send many) without building them.
func TestSlogEventsRespectsLevel(t *testing.T) {
	var buf lockedBuffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	f := newFixture(t, "", func(c *tollgate.Config) { c.OnEvent = audit.Slog(logger) })
	for range 10 {
		f.get("/users/me")
	}
	if out := buf.Bytes(); len(out) != 0 {
		t.Errorf("no-token requests logged at Info: %s", out)
	}
}
