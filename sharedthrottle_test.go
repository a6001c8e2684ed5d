package tollgate_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/tollgate-go/tollgate"
	"github.com/tollgate-go/tollgate/memstore"
)

// replicas returns two Authenticators (two replicas of one service) whose
// login throttles share counters.
func replicas(t *testing.T, shared tollgate.CounterStore) (*fixture, *fixture) {
	t.Helper()
	mk := func() *fixture {
		return newFixture(t, "", func(c *tollgate.Config) {
			c.Logins.Shared = shared
			c.Logger = slog.New(slog.DiscardHandler)
		})
	}
	return mk(), mk()
}

// TestSharedLockoutAcrossReplicas: with LoginLimits.Shared, the guesses
// made on two replicas add up, so a username is locked after
// FailuresPerUsername guesses in all, not per replica; the address the
// user logged in from before (through the other replica) still gets in.
func TestSharedLockoutAcrossReplicas(t *testing.T) {
	a, b := replicas(t, &memstore.Counters{})
	if rec := a.loginFrom("198.51.100.7:1000", "alice", "wonderland"); rec.Code != http.StatusOK {
		t.Fatalf("alice's own login: %d", rec.Code)
	}
	for i := range 10 { // the default FailuresPerUsername, split over both
		r := a
		if i%2 == 1 {
			r = b
		}
		if rec := r.loginFrom(fmt.Sprintf("203.0.113.%d:1000", i+1), "alice", "guess"); rec.Code != http.StatusBadRequest {
			t.Fatalf("guess %d: %d, want 400", i+1, rec.Code)
		}
	}
	for _, r := range []*fixture{a, b} {
		wantThrottled(t, r.loginFrom("203.0.113.99:1000", "alice", "guess"), 15*time.Minute)
	}
	// The address alice logged in from, on A, is known to B as well.
	if rec := b.loginFrom("198.51.100.7:1001", "alice", "wonderland"); rec.Code != http.StatusOK {
		t.Errorf("alice from her own address on the other replica during the lockout: %d, want 200", rec.Code)
	}
	// Without sharing, each replica would have allowed 10 of its own.
	c, d := replicas(t, nil)
	for i := range 10 {
		r := c
		if i%2 == 1 {
			r = d
		}
		r.loginFrom(fmt.Sprintf("203.0.113.%d:1000", i+1), "alice", "guess")
	}
	if rec := c.loginFrom("203.0.113.99:1000", "alice", "guess"); rec.Code != http.StatusBadRequest {
		t.Errorf("the control (no sharing): %d, want 400 (5 guesses per replica are under the limit)", rec.Code)
	}
}

// failingCounters is a CounterStore that is down.
type failingCounters struct{}

func (failingCounters) Add(context.Context, []tollgate.CounterOp) (int, time.Duration, []int64, error) {
	return -1, 0, nil, errors.New("dial tcp 127.0.0.1:6379: connection refused")
}

// TestSharedThrottleDownFailsClosed: logins that cannot reach the shared
// counters are refused with 503 and Retry-After, never let through
// uncounted.
func TestSharedThrottleDownFailsClosed(t *testing.T) {
	a, _ := replicas(t, failingCounters{})
	rec := a.loginFrom("198.51.100.7:1000", "alice", "wonderland")
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Errorf("login with the shared counters down: %d %q, want 503 with Retry-After", rec.Code, rec.Header().Get("Retry-After"))
	}
}

// TestSharedNeedsTheThrottle: Shared with the throttle off is a
// configuration error.
func TestSharedNeedsTheThrottle(t *testing.T) {
	_, err := tollgate.New(tollgate.Config{Issuer: testIssuer, Audience: []string{testAudience}, SigningKey: testKey(t, "ES256"),
		Users: memstore.NewUsers(), Logins: tollgate.LoginLimits{DisableThrottle: true, Shared: &memstore.Counters{}}})
	if err == nil {
		t.Error("New accepted Logins.Shared with DisableThrottle")
	}
}
