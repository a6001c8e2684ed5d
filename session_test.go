package tollgate_test

import (
	"context"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tollgate-go/tollgate"
	"github.com/tollgate-go/tollgate/audit"
)

// TestRevokeUser: "log out everywhere" in one call. Every refresh family
// of the user is revoked, and with a denylist their access tokens too;
// other users are untouched, and the user can log in again.
func TestRevokeUser(t *testing.T) {
	f := newFixture(t, "", withDenylist)
	a1, a2 := f.login(t, "alice", "wonderland"), f.login(t, "alice", "wonderland")
	bob := f.login(t, "bob", "builder")
	if err := f.auth.RevokeUser(context.Background(), "alice"); err != nil {
		t.Fatal(err)
	}
	for _, tj := range []tokenJSON{a1, a2} {
		rtInvalid(t, f, tj.RefreshToken, "alice's session after RevokeUser")
		wantRevoked(t, f, tj.AccessToken)
	}
	if ev := f.events.Of(audit.TokenRevoked); len(ev) != 2 {
		t.Errorf("%d token_revoked events, want 2 (one per session)", len(ev))
	}
	rtMust(t, f, bob.RefreshToken)
	wantAccepted(t, f, "bob", bob.AccessToken)
	rtMust(t, f, f.login(t, "alice", "wonderland").RefreshToken)
}

// TestUserValidAfter: a password change sets User.ValidAfter, and every
// session that began before it ends: its refresh token is refused
// (refresh_rejected, session_expired) and, with Config.LoadUser, so are
// its access tokens; a login after it works.
func TestUserValidAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, "", func(c *tollgate.Config) { c.LoadUser = true })
		old := f.login(t, "alice", "wonderland")
		time.Sleep(time.Minute)
		u, _ := f.users.LookupUser(context.Background(), "alice")
		u.ValidAfter = time.Now()
		f.users.Put(*u)
		time.Sleep(time.Second)
		rtInvalid(t, f, old.RefreshToken, "a session older than ValidAfter")
		if ev := f.events.Of(audit.RefreshRejected); len(ev) != 1 || ev[0].Reason != audit.SessionExpired {
			t.Errorf("events %+v, want one refresh_rejected session_expired", ev)
		}
		if rec := f.get("/users/me", "Bearer "+old.AccessToken); rec.Code != http.StatusUnauthorized {
			t.Errorf("access token older than ValidAfter with LoadUser: %d, want 401", rec.Code)
		}
		fresh := f.login(t, "alice", "wonderland")
		wantAccepted(t, f, "a login after ValidAfter", fresh.AccessToken)
		rtMust(t, f, fresh.RefreshToken)
	})
}

// TestRefreshMaxSessions: a user holds at most Config.RefreshMaxSessions
// logins; one more ends the oldest, so no user grows the store without
// bound by logging in.
func TestRefreshMaxSessions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, "", func(c *tollgate.Config) { c.RefreshMaxSessions = 3 })
		var rts []string
		for range 4 {
			rts = append(rts, f.login(t, "alice", "wonderland").RefreshToken)
			time.Sleep(time.Second)
		}
		rtInvalid(t, f, rts[0], "the oldest of 4 sessions, 3 allowed")
		for _, rt := range rts[1:] {
			rtMust(t, f, rt)
		}
		if ev := f.events.Of(audit.TokenRevoked); len(ev) != 1 || ev[0].Reason != audit.TooManySessions {
			t.Errorf("events %+v, want one token_revoked too_many_sessions", ev)
		}
		if f.refresh.Len() != 3 {
			t.Errorf("the store holds %d families, want 3", f.refresh.Len())
		}
	})
}
