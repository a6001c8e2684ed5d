package tollgate_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
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
		{"RFC6750 §3.1 revoked token", "/users/me", []string{"Bearer " + revoked}, 401, "token_revoked", "alice"},
		{"RFC6750 §3.1 user disabled since", "/users/me", []string{"Bearer " + inactive}, 401, "user_inactive", "carol"},
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
				t.Error("event of a verified token without the token's jti")
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
		if typ == audit.AccessTokenRevoked && rec["jti"] == nil && rec["family"] == nil {
			t.Errorf("%s without jti or family: %s", typ, sc.Text())
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

// TestRejectedTokenCause shows the operator's view of a rejected token:
// each cause reaches the audit event as a typed reason, and the debug log
// as the same reason, while the client's answer stays RFC 6750 §3.1's
// (401 invalid_token, one description for every forgery). The classic
// two-service mistake, issuer or audience disagreeing, is no longer
// silent.
func TestRejectedTokenCause(t *testing.T) {
	var logs bytes.Buffer
	f := newFixture(t, "ES256", func(c *tollgate.Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	now := time.Now()
	hj, _ := json.Marshal(f.goodHeader())
	notJSON := b64(hj) + "." + b64([]byte("not-json"))
	notJSON += "." + b64(signRaw(t, "ES256", rawKeyFor(t, "ES256"), []byte(notJSON)))
	tests := []struct {
		name   string
		token  string
		reason audit.Reason
		desc   string
	}{
		{"bad signature", f.forgeGood(t, nil)[:len(f.forgeGood(t, nil))-4] + "AAAA", audit.BadSignature, descInvalidToken},
		{"unknown kid", f.forgeGood(t, func(h, c map[string]any) { h["kid"] = "no-such-key" }), audit.UnknownKey, descInvalidToken},
		{"wrong iss", f.forgeGood(t, func(h, c map[string]any) { c["iss"] = "https://other.test" }), audit.WrongIssuer, descInvalidToken},
		{"wrong aud", f.forgeGood(t, func(h, c map[string]any) { c["aud"] = "https://other-api.test" }), audit.WrongAudience, descInvalidToken},
		{"expired", f.forgeGood(t, func(h, c map[string]any) { c["exp"] = now.Add(-time.Hour).Unix() }), audit.Expired, descExpired},
		{"not yet valid", f.forgeGood(t, func(h, c map[string]any) { c["nbf"] = now.Add(time.Hour).Unix() }), audit.NotYetValid, descInvalidToken},
		{"wrong typ", f.forgeGood(t, func(h, c map[string]any) { h["typ"] = "JWT" }), audit.WrongType, descInvalidToken},
		{"wrong alg", f.forgeGood(t, func(h, c map[string]any) { h["alg"] = "ES384" }), audit.WrongAlgorithm, descInvalidToken},
		{"key in the header", f.forgeGood(t, func(h, c map[string]any) { h["jwk"] = map[string]any{"kty": "oct"} }), audit.UnsupportedHeader, descInvalidToken},
		{"no sub", f.forgeGood(t, func(h, c map[string]any) { delete(c, "sub") }), audit.NoSubject, descInvalidToken},
		{"no exp", f.forgeGood(t, func(h, c map[string]any) { delete(c, "exp") }), audit.NoExpiry, descInvalidToken},
		{"malformed: two segments", "abc.def", audit.Malformed, descInvalidToken},
		{"malformed: claims not JSON", notJSON, audit.Malformed, descInvalidToken},
		{"malformed: scope claim", f.forgeGood(t, func(h, c map[string]any) { c["scope"] = "two  spaces" }), audit.Malformed, descInvalidToken},
		{"too large", strings.Repeat("a", 9000), audit.TooLarge, descTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs.Reset()
			n := len(f.events.Of(audit.AccessDenied))
			rec := f.get("/items", "Bearer "+tt.token)
			checkInvalidToken(t, rec, tt.desc)
			if strings.Contains(rec.Body.String()+rec.Header().Get("WWW-Authenticate"), string(tt.reason)) {
				t.Errorf("the client's answer names the cause %q: %s %s", tt.reason, rec.Header().Get("WWW-Authenticate"), rec.Body)
			}
			ev := f.events.Of(audit.AccessDenied)
			if len(ev) != n+1 || ev[n].Reason != tt.reason {
				t.Fatalf("events %+v, want one access_denied with reason %q", ev[n:], tt.reason)
			}
			line := logs.String()
			if !strings.Contains(line, "level=DEBUG") || !strings.Contains(line, "reason="+string(tt.reason)) {
				t.Errorf("debug log %q, want the reason %q", line, tt.reason)
			}
			if strings.Contains(line, tt.token[:min(len(tt.token), 40)]) {
				t.Errorf("the debug log holds the token: %q", line)
			}
		})
	}

	t.Run("nothing logged above debug", func(t *testing.T) {
		var quiet bytes.Buffer
		g := newFixture(t, "", func(c *tollgate.Config) {
			c.Logger = slog.New(slog.NewTextHandler(&quiet, nil)) // Info
			c.OnEvent = nil
		})
		g.get("/items", "Bearer "+g.forgeGood(t, func(h, c map[string]any) { c["iss"] = "https://other.test" }))
		if quiet.Len() != 0 {
			t.Errorf("a rejected token was logged at info level: %q", quiet.String())
		}
	})
}

// TestAuthenticateReportsAndNamesTheCause: a caller of Authenticate
// outside a handler chain (a WebSocket upgrade) gets the same report as
// RequireScopes gives, and audit.ReasonOf names the cause of the error.
func TestAuthenticateReportsAndNamesTheCause(t *testing.T) {
	f := newFixture(t, "", nil)
	req := httptest.NewRequest("GET", "/ws", nil)
	req.Header.Set("Authorization", "Bearer "+f.forgeGood(t, func(h, c map[string]any) { c["aud"] = "https://elsewhere.test" }))
	p, err := f.auth.Authenticate(req)
	if p != nil || audit.ReasonOf(err) != audit.WrongAudience {
		t.Fatalf("Authenticate = %v, %v (reason %q); want wrong_audience", p, err, audit.ReasonOf(err))
	}
	if ev := f.events.Of(audit.AccessDenied); len(ev) != 1 || ev[0].Reason != audit.WrongAudience {
		t.Errorf("events %+v, want one access_denied wrong_audience", ev)
	}
	if audit.ReasonOf(errors.New("other")) != "" || audit.ReasonOf(nil) != "" {
		t.Error("ReasonOf of an error without a reason is not empty")
	}
}

// TestLogBoundedUnderFlood: a flood of failed logins writes at most ten
// lines a second per kind of event, and then one line with the count of
// the rest, instead of a line each (8 892 lines in 22 s before).
func TestLogBoundedUnderFlood(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs bytes.Buffer
		f := newFixture(t, "", func(c *tollgate.Config) {
			c.OnEvent = audit.Slog(slog.New(slog.NewTextHandler(&logs, nil)))
			c.Logins.DisableThrottle = true
		})
		for i := range 500 {
			f.loginFrom(fmt.Sprintf("198.51.100.%d:1", i%200), "alice", "guess")
		}
		lines := strings.Count(logs.String(), "\n")
		if lines > 10 {
			t.Errorf("%d log lines for 500 failed logins in one second, want at most 10", lines)
		}
		time.Sleep(2 * time.Second)
		f.loginFrom("198.51.100.1:1", "alice", "guess")
		if !strings.Contains(logs.String(), "suppressed=490") {
			t.Errorf("no summary of the 490 lines left out:\n%s", logs.String())
		}
		// Other kinds of event are not crowded out by the flood.
		f.login(t, "bob", "builder")
		if !strings.Contains(logs.String(), "login_succeeded") {
			t.Error("a successful login was not logged during the flood")
		}
	})
}
