package tollgate_test

// Attacks found in review of the bounded-state work (issue 8), each shown
// failing.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tollgate-go/tollgate"
	"github.com/tollgate-go/tollgate/memstore"
)

// An access token revoked after its family's refresh token has expired
// (RefreshTTL shorter than AccessTTL) is still denied: the store keeps a
// family until its last access token has expired (KeepUntil).
func TestRevokeAccessAfterRefreshExpired(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, "", func(c *tollgate.Config) {
			withDenylist(c)
			c.RefreshTTL = 5 * time.Minute
			c.RefreshFamilyTTL = 5 * time.Minute
		})
		tj := f.login(t, "alice", "wonderland")
		time.Sleep(6 * time.Minute)
		f.login(t, "bob", "builder") // a later Create: the store drops what has ended
		wantAccepted(t, f, "before revocation", tj.AccessToken)
		if rec := f.post("/revoke", url.Values{"token": {tj.AccessToken}}); rec.Code != http.StatusOK {
			t.Fatalf("revoke: %d", rec.Code)
		}
		wantRevoked(t, f, tj.AccessToken)
	})
}

// A denylist that cannot take a revocation makes it fail visibly (503,
// retry later), never a 200 that leaves the access tokens valid.
func TestRevocationFailsVisiblyWhenDenylistFull(t *testing.T) {
	dl := memstore.NewDenylist(1)
	f := newFixture(t, "", func(c *tollgate.Config) { c.Denylist = dl; c.Logger = discardLogger() })
	a, b := f.login(t, "alice", "wonderland"), f.login(t, "bob", "builder")
	if rec := f.post("/revoke", url.Values{"token": {a.AccessToken}}); rec.Code != http.StatusOK {
		t.Fatalf("first revoke: %d", rec.Code)
	}
	if rec := f.post("/revoke", url.Values{"token": {b.AccessToken}}); rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Errorf("revoke with a full denylist: %d (Retry-After %q), want 503 with Retry-After", rec.Code, rec.Header().Get("Retry-After"))
	}
	f.login(t, "carol", "admin-pass-123")
	if err := f.auth.RevokeUser(context.Background(), "carol"); err == nil {
		t.Error("RevokeUser with a full denylist returned nil")
	}
}

// A grace-period retry that meets a user-store outage is a 503, not
// reuse: the family survives and the client can retry.
func TestGraceRetryStoreErrorDoesNotRevoke(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var down bool
		f := newFixture(t, "", func(c *tollgate.Config) {
			c.RefreshGracePeriod = 10 * time.Second
			c.Logger = discardLogger()
			inner := c.Users
			c.Users = userStoreFunc(func(ctx context.Context, name string) (*tollgate.User, error) {
				if down {
					return nil, errors.New("user store down")
				}
				return inner.LookupUser(ctx, name)
			})
		})
		rt1 := f.login(t, "alice", "wonderland").RefreshToken
		rt2 := rtMust(t, f, rt1).RefreshToken
		down = true
		if rec := f.refreshWith(rt1); rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("grace retry during an outage: %d, want 503", rec.Code)
		}
		down = false
		rtMust(t, f, rt2)
	})
}

// A login in the same second as User.ValidAfter (token times are whole
// seconds) is not refused by Config.LoadUser.
func TestValidAfterSameSecond(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, "", func(c *tollgate.Config) { c.LoadUser = true })
		time.Sleep(500 * time.Millisecond)
		u, _ := f.users.LookupUser(context.Background(), "alice")
		u.ValidAfter = time.Now()
		f.users.Put(*u)
		time.Sleep(100 * time.Millisecond)
		wantAccepted(t, f, "a login 100 ms after ValidAfter", f.login(t, "alice", "wonderland").AccessToken)
	})
}

// A table full of lockouts does not lock out every other username: a user
// without a window, from a clean address, logs in.
func TestLockoutTableFullIsNoGlobalDoS(t *testing.T) {
	f := newFixture(t, "", func(c *tollgate.Config) {
		c.Logins = tollgate.LoginLimits{FailuresPerUsername: 2, MaxEntries: 20, FailuresPerIP: 1 << 20}
	})
	for i := range 40 { // 40 lockouts for a table of 20
		for range 2 {
			f.loginFrom(fmt.Sprintf("203.0.113.%d:1", i), fmt.Sprintf("victim-%d", i), "guess")
		}
	}
	wantStatus(t, "alice from a clean address", f.loginFrom("198.51.100.200:1", "alice", "wonderland"), 200)
	// Locked usernames stay locked, in the table or in the sketch.
	for _, u := range []string{"victim-0", "victim-39"} {
		wantThrottled(t, f.loginFrom("198.51.100.201:1", u, "guess"), 15*time.Minute)
	}
}

// Shed logins (503) count against their address, not the username: a
// user retrying during a flood does not lock herself out.
func TestShedLoginDoesNotLockUsername(t *testing.T) {
	gate := newGateHasher()
	f := newGateFixture(t, gate, func(c *tollgate.Config) {
		c.Logins.ConcurrentHashes = 1
		c.Logins.HashQueueWait = time.Millisecond
		c.Logins.FailuresPerUsername = 3
	})
	first := make(chan int)
	go func() { first <- f.loginFrom("198.51.100.1:1", "bob", "builder").Code }()
	<-gate.entered
	for i := range 5 {
		wantStatus(t, "shed", f.loginFrom(fmt.Sprintf("198.51.100.%d:1", 10+i), "alice", "wonderland"), http.StatusServiceUnavailable)
	}
	close(gate.release)
	<-first
	wantStatus(t, "alice after the flood", f.loginFrom("198.51.100.30:1", "alice", "wonderland"), 200)
}

// An address table full of lockouts does not lock out every new address:
// new addresses are counted in the address overflow sketch at the same
// limit.
func TestIPTableFullIsNoGlobalDoS(t *testing.T) {
	f := newFixture(t, "", func(c *tollgate.Config) {
		c.Logins = tollgate.LoginLimits{FailuresPerIP: 2, MaxEntries: 20, FailuresPerUsername: 1 << 20}
	})
	for i := range 40 { // 40 address lockouts for a table of 20
		for range 2 {
			f.loginFrom(fmt.Sprintf("203.0.113.%d:1", i), fmt.Sprintf("ghost-%d", i), "guess")
		}
	}
	wantStatus(t, "alice from a new address", f.loginFrom("198.51.100.200:1", "alice", "wonderland"), 200)
	for _, ip := range []string{"203.0.113.0:1", "203.0.113.39:1"} {
		wantThrottled(t, f.loginFrom(ip, "bob", "builder"), 15*time.Minute)
	}
	// A new address in the sketch is limited like any other.
	for range 2 {
		wantStatus(t, "guess", f.loginFrom("198.51.100.201:1", "carol", "guess"), 400)
	}
	wantThrottled(t, f.loginFrom("198.51.100.201:1", "carol", "admin-pass-123"), 15*time.Minute)
}
