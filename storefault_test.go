package tollgate_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate-go/tollgate"
)

// flakyRefresh is a RefreshStore whose methods fail, without doing
// anything, while the method's name is in down: a database that stopped.
type flakyRefresh struct {
	tollgate.RefreshStore
	down atomic.Value // string: the failing method, "" for none, "*" for all
}

var errDBDown = errors.New("dial tcp 127.0.0.1:5432: connect: connection refused")

func (s *flakyRefresh) fails(method string) bool {
	d, _ := s.down.Load().(string)
	return d == "*" || d == method
}

func (s *flakyRefresh) Create(ctx context.Context, f tollgate.RefreshFamily, keep int) ([]tollgate.RefreshFamily, error) {
	if s.fails("Create") {
		return nil, errDBDown
	}
	return s.RefreshStore.Create(ctx, f, keep)
}

func (s *flakyRefresh) Lookup(ctx context.Context, id string) (tollgate.RefreshFamily, error) {
	if s.fails("Lookup") {
		return tollgate.RefreshFamily{}, errDBDown
	}
	return s.RefreshStore.Lookup(ctx, id)
}

func (s *flakyRefresh) Rotate(ctx context.Context, id, presented string, next *tollgate.RefreshFamily, now time.Time, grace time.Duration) (tollgate.RefreshFamily, error) {
	if s.fails("Rotate") {
		return tollgate.RefreshFamily{}, errDBDown
	}
	return s.RefreshStore.Rotate(ctx, id, presented, next, now, grace)
}

func (s *flakyRefresh) Revoke(ctx context.Context, id string) (tollgate.RefreshFamily, error) {
	if s.fails("Revoke") {
		return tollgate.RefreshFamily{}, errDBDown
	}
	return s.RefreshStore.Revoke(ctx, id)
}

// want503 checks the answer to a request that met a failing store: 503
// temporarily_unavailable, Retry-After, a JSON body that says nothing of
// the cause.
func want503(t *testing.T, what string, rec interface {
	Result() *http.Response
}) {
	t.Helper()
	res := rec.Result()
	var body bytes.Buffer
	_, _ = body.ReadFrom(res.Body)
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" ||
		!strings.Contains(body.String(), `"error":"temporarily_unavailable"`) || strings.Contains(body.String(), "5432") {
		t.Errorf("%s with the store down: %d, Retry-After %q, %s; want 503 temporarily_unavailable with Retry-After and no cause",
			what, res.StatusCode, res.Header.Get("Retry-After"), body.String())
	}
}

// TestStoreDownIs503ThenRecovers: while the refresh store is down, the
// token and revocation endpoints answer 503 temporarily_unavailable with
// Retry-After (never 500, never a token), a refresh whose rotation failed
// changed nothing (the same token works once the store is back: rotated
// wholly or not at all), and the service recovers by itself.
func TestStoreDownIs503ThenRecovers(t *testing.T) {
	fr := &flakyRefresh{}
	f := newFixture(t, "", func(c *tollgate.Config) {
		fr.RefreshStore = c.Refresh
		c.Refresh = fr
		c.Logger = slog.New(slog.DiscardHandler)
	})
	login := url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"wonderland"}}
	rt := f.login(t, "alice", "wonderland").RefreshToken

	fr.down.Store("Create")
	want503(t, "login", f.post("/token", login))
	fr.down.Store("Lookup")
	want503(t, "refresh (lookup)", f.refreshWith(rt))
	want503(t, "revocation", f.post("/revoke", url.Values{"token": {rt}}))
	fr.down.Store("Rotate")
	want503(t, "refresh (rotation)", f.refreshWith(rt))

	fr.down.Store("")
	next := rtMust(t, f, rt) // the failed rotation spent nothing
	rtMust(t, f, next.RefreshToken)
	if rec := f.post("/token", login); rec.Code != http.StatusOK {
		t.Errorf("login after the store is back: %d", rec.Code)
	}
}

// TestStoreDownLogBounded: a store that fails every request is logged at
// error level, but at most ten lines a second and then a count, not a
// line per request.
func TestStoreDownLogBounded(t *testing.T) {
	fr := &flakyRefresh{}
	logs := &syncBuffer{}
	f := newFixture(t, "", func(c *tollgate.Config) {
		fr.RefreshStore = c.Refresh
		c.Refresh = fr
		c.Logger = slog.New(slog.NewTextHandler(logs, nil))
	})
	rt := f.login(t, "alice", "wonderland").RefreshToken
	fr.down.Store("*")
	for range 200 {
		f.refreshWith(rt)
	}
	lines := strings.Count(logs.String(), "a store failed")
	if lines == 0 || lines > 20 {
		t.Errorf("200 requests with the store down wrote %d store-failure lines, want 1 to 20", lines)
	}
	if strings.Contains(logs.String(), rt) {
		t.Error("the log holds the refresh token")
	}
}
