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
