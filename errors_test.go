package tollgate_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-go/tollgate"
)

// A store's own *Error without a usable status must not panic the handler
// or reach the client: it is a 500 that says nothing of it.
func TestDefaultErrorHandlerForeignError(t *testing.T) {
	for _, status := range []int{0, 200, 302, 999} {
		rec := httptest.NewRecorder()
		err := &tollgate.Error{Code: "store_secret", Description: "db password is hunter2", Status: status}
		tollgate.DefaultErrorHandler(rec, httptest.NewRequest("GET", "/", nil), err)
		if rec.Code != http.StatusInternalServerError || strings.Contains(rec.Body.String(), "hunter2") || !strings.Contains(rec.Body.String(), "server_error") {
			t.Errorf("DefaultErrorHandler(*Error{Status: %d}) = %d %s, want 500 server_error without the description", status, rec.Code, rec.Body)
		}
	}
}

// RFC 6749 §3.3: duplicate scope-tokens collapse to one, also in a long
// scope parameter (deduplication stays linear past a few tokens).
func TestRFC6749_3_3_DuplicateScopesCollapse(t *testing.T) {
	f := newFixture(t, "", nil)
	for _, n := range []int{2, 17, 250} {
		scope := strings.TrimSpace(strings.Repeat("me items:read ", n))
		tj := f.login(t, "bob", "builder", scope)
		if tj.Scope != "me items:read" {
			t.Errorf("scope of %d repeats = %q, want %q", n, tj.Scope, "me items:read")
		}
	}
}

// A client that disconnects mid-request is not a server fault: the store's
// context.Canceled is not logged as an error.
func TestClientGoneIsNotLogged(t *testing.T) {
	var logs bytes.Buffer
	f := newFixture(t, "", func(c *tollgate.Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		c.Users = userStoreFunc(func(ctx context.Context, _ string) (*tollgate.User, error) {
			return nil, ctx.Err()
		})
	})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	form := url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"wonderland"}}
	req := httptest.NewRequest("POST", "/token", strings.NewReader(form.Encode())).WithContext(ctx)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	f.do(req)
	if strings.Contains(logs.String(), "server error") {
		t.Errorf("a canceled request was logged as a server error: %s", logs.String())
	}
	// A store failing on its own, with the client still there, is logged.
	logs.Reset()
	f2 := newFixture(t, "", func(c *tollgate.Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		c.Users = userStoreFunc(func(context.Context, string) (*tollgate.User, error) {
			return nil, errors.New("db down")
		})
	})
	f2.post("/token", form)
	if !strings.Contains(logs.String(), "db down") {
		t.Errorf("a store fault was not logged: %q", logs.String())
	}
}

// TestErrorHandlerGetsItsOwnError shows that every answer the library
// writes hands Config.ErrorHandler an *Error of its own: a handler that
// modifies its error (here: every field, after writing the answer) changes
// no later answer, for every status tollgate writes. The Err values are
// not *Error values at all, so there is no shared one to modify.
func TestErrorHandlerGetsItsOwnError(t *testing.T) {
	for _, sentinel := range []error{tollgate.ErrNoToken, tollgate.ErrInvalidRequest, tollgate.ErrInvalidToken, tollgate.ErrInsufficientScope,
		tollgate.ErrInvalidClient, tollgate.ErrInvalidGrant, tollgate.ErrInvalidScope, tollgate.ErrUnsupportedGrantType, tollgate.ErrServer} {
		var e *tollgate.Error
		if errors.As(sentinel, &e) {
			t.Errorf("%v is an *Error: a handler given it could modify every later answer", sentinel)
		}
	}

	type answer struct {
		status             int
		body, chall, retry string
	}
	answerOf := func(rec *httptest.ResponseRecorder) answer {
		return answer{rec.Code, rec.Body.String(), rec.Header().Get("WWW-Authenticate"), rec.Header().Get("Retry-After")}
	}
	tamper := func(seen *[]tollgate.Error) func(http.ResponseWriter, *http.Request, error) {
		return func(w http.ResponseWriter, r *http.Request, err error) {
			tollgate.DefaultErrorHandler(w, r, err)
			var e *tollgate.Error
			if !errors.As(err, &e) {
				t.Errorf("ErrorHandler got %T, want an *Error", err)
				return
			}
			*seen = append(*seen, *e)
			*e = tollgate.Error{Code: "tampered", Description: "tampered", Status: 418, Scope: "tampered"}
		}
	}
	badLogin := url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"nope"}}
	tests := []struct {
		name   string
		status int
		mutate func(*tollgate.Config)
		send   func(f *fixture) *httptest.ResponseRecorder
	}{
		{"401 no token", 401, nil, func(f *fixture) *httptest.ResponseRecorder { return f.get("/items") }},
		{"401 invalid_token", 401, nil, func(f *fixture) *httptest.ResponseRecorder { return f.get("/items", "Bearer x.y.z") }},
		{"400 invalid_request (bearer)", 400, nil, func(f *fixture) *httptest.ResponseRecorder { return f.get("/items", "Bearer") }},
		{"403 insufficient_scope", 403, nil, func(f *fixture) *httptest.ResponseRecorder {
			return f.get("/admin/users", "Bearer "+f.forgeGood(t, nil))
		}},
		{"400 invalid_grant", 400, nil, func(f *fixture) *httptest.ResponseRecorder { return f.post("/token", badLogin) }},
		{"400 unsupported_grant_type", 400, nil, func(f *fixture) *httptest.ResponseRecorder {
			return f.post("/token", url.Values{"grant_type": {"implicit"}})
		}},
		{"401 invalid_client", 401, nil, func(f *fixture) *httptest.ResponseRecorder {
			req := httptest.NewRequest("POST", "/token", strings.NewReader(badLogin.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth("app", "a-secret")
			return f.do(req)
		}},
		{"405 invalid_request (method)", 405, nil, func(f *fixture) *httptest.ResponseRecorder {
			return f.do(httptest.NewRequest("GET", "/token", nil))
		}},
		{"429 slow_down", 429, func(c *tollgate.Config) { c.Logins.FailuresPerUsername = 1 }, func(f *fixture) *httptest.ResponseRecorder {
			return f.post("/token", badLogin)
		}},
		{"503 temporarily_unavailable (a store down)", 503, func(c *tollgate.Config) {
			c.Logger = slog.New(slog.DiscardHandler)
			c.Users = userStoreFunc(func(context.Context, string) (*tollgate.User, error) { return nil, errors.New("db down") })
		}, func(f *fixture) *httptest.ResponseRecorder { return f.post("/token", badLogin) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var seen []tollgate.Error
			f := newFixture(t, "", func(c *tollgate.Config) {
				c.ErrorHandler = tamper(&seen)
				if tt.mutate != nil {
					tt.mutate(c)
				}
			})
			// The first answer of a kind may differ (the 429 comes after
			// one failure); from the second on, each must be the same.
			var want answer
			for i := range 4 {
				got := answerOf(tt.send(f))
				if i == 0 && got.status != tt.status {
					continue
				}
				if got.status != tt.status {
					t.Fatalf("request %d: status %d, want %d", i, got.status, tt.status)
				}
				if want.status == 0 {
					want = got
					continue
				}
				if got != want {
					t.Errorf("request %d after the handler modified its error: %+v, want %+v", i, got, want)
				}
			}
			if len(seen) < 2 {
				t.Fatalf("the ErrorHandler ran %d times", len(seen))
			}
			last := seen[len(seen)-1]
			if last.Code == "tampered" || last.Status != tt.status {
				t.Errorf("the ErrorHandler got %+v: an error another handler call modified", last)
			}
		})
	}

	t.Run("503 temporarily_unavailable", func(t *testing.T) {
		var seen []tollgate.Error
		gate := newGateHasher()
		f := newGateFixture(t, gate, func(c *tollgate.Config) {
			c.ErrorHandler = tamper(&seen)
			c.Logins.ConcurrentHashes = 1
			c.Logins.HashQueueWait = time.Millisecond
		})
		first := make(chan int)
		go func() { first <- f.loginFrom("198.51.100.1:1", "alice", "wonderland").Code }()
		<-gate.entered
		var want answer
		for i := range 3 {
			got := answerOf(f.loginFrom("198.51.100.2:1", "bob", "builder"))
			if got.status != 503 {
				t.Fatalf("request %d: status %d, want 503", i, got.status)
			}
			if i > 0 && got != want {
				t.Errorf("request %d after the handler modified its error: %+v, want %+v", i, got, want)
			}
			want = got
		}
		close(gate.release)
		<-first
		if len(seen) != 3 || seen[2].Code != "temporarily_unavailable" || seen[2].Status != 503 {
			t.Errorf("the ErrorHandler got %+v", seen)
		}
	})
}
