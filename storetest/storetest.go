// Package storetest checks implementations of [tollgate.RefreshStore],
// [tollgate.UserStore], [tollgate.ClientStore] and [tollgate.Denylist]
// against the contracts documented on those interfaces. Every store, in this module or outside it, runs the suite
// from its own tests with one call:
//
//	func TestRefreshStore(t *testing.T) {
//		storetest.TestRefreshStore(t, func(t *testing.T) tollgate.RefreshStore {
//			return mystore.New(t.Context(), testDSN(t)) // an empty store
//		})
//	}
//
//	func TestUserStore(t *testing.T) {
//		storetest.TestUserStore(t, func(t *testing.T, users []tollgate.User) tollgate.UserStore {
//			return mystore.NewUsers(users...) // holding exactly users
//		})
//	}
//
// The factories are called once per subtest, so each subtest starts from
// a fresh store; a store backed by a database can create a schema and
// remove it with t.Cleanup. Each subtest is named after the rule it checks
// (RotateReplacesCurrent, ReuseOfAnyEarlierTokenRevokes, ...), and each failure
// message states the rule that was broken, so a failing run reads as a list
// of broken contracts. Run the suite under the race detector
// (go test -race): the concurrent subtests are written for it.
//
// The suite never reads the clock to judge a store: stores get their times
// as arguments and in the records, as the contracts say. The times it
// stores lie in the near future of the real clock, so a backend that sets
// a database-side expiry from ExpiresAt keeps the records during the run.
// Every time it stores is a whole second, and times are compared with
// [time.Time.Equal], so a backend may drop monotonic readings, locations
// and sub-second digits.
//
// Optional interfaces are checked when the store implements them
// ([tollgate.PasswordUpdater] and [tollgate.ScopeLister] for a UserStore;
// Put and Delete, the calls to manage clients from Go, for a ClientStore:
// see [TestClientStore]) and their subtests skipped otherwise, as is
// ContextCanceled for a store that ignores its context.
//
// The package imports only the standard library (testing among it) and
// tollgate itself, so a store's module takes on no test framework by
// running it.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-go/tollgate"
)

// TestRefreshStore runs the conformance suite for [tollgate.RefreshStore]
// against the stores returned by newStore, which is called once per
// subtest and must return an empty store. Run it under the race detector.
func TestRefreshStore(t *testing.T, newStore func(t *testing.T) tollgate.RefreshStore) {
	t.Helper()
	run := func(name string, f func(t *testing.T, s tollgate.RefreshStore)) {
		t.Run(name, func(t *testing.T) { f(t, newStore(t)) })
	}
	run("CreateThenLookup", refreshCreateThenLookup)
	run("UnknownIsNotFound", refreshUnknownIsNotFound)
	run("RotateReplacesCurrent", refreshRotateReplacesCurrent)
	run("ManyRotationsOneRecord", refreshManyRotationsOneRecord)
	run("ReuseOfAnyEarlierTokenRevokes", refreshReuseOfAnyEarlierTokenRevokes)
	run("ReuseOfPreviousRevokes", refreshReuseOfPreviousRevokes)
	run("GraceHonoursOneReuse", refreshGraceHonoursOneReuse)
	run("GraceEndsAfterPeriod", refreshGraceEndsAfterPeriod)
	run("NilNextRevokes", refreshNilNextRevokes)
	run("KeepUntilNeverMovesBack", refreshKeepUntilNeverMovesBack)
	run("RevokeReturnsFamily", refreshRevokeReturnsFamily)
	run("RevokeSubject", refreshRevokeSubject)
	run("CreateKeepsAtMostKeep", refreshCreateKeepsAtMostKeep)
	run("ScopesRoundTrip", refreshScopesRoundTrip)
	run("TimesRoundTrip", refreshTimesRoundTrip)
	run("ContextCanceled", refreshContextCanceled)
	run("ConcurrentRotationsOneWins", refreshConcurrentRotationsOneWins)
	run("ConcurrentRotateRevoke", refreshConcurrentRotateRevoke)
}

// base is the reference time of the suite: in the near future of the real
// clock, on a whole second, so that a store with database-side expiry
// keeps the records during the run.
var base = time.Now().Add(time.Hour).Truncate(time.Second)

// family returns a fresh family record of subject, created at base.
func family(id, subject string) tollgate.RefreshFamily {
	return tollgate.RefreshFamily{
		ID: id, Subject: subject, Username: "user-" + subject, ClientID: "client-" + id,
		Scopes: []string{"me", "items:read"}, CreatedAt: base, FamilyExpiresAt: base.Add(24 * time.Hour),
		Hash: id + "-h0", IssuedAt: base, ExpiresAt: base.Add(time.Hour),
	}
}

// successor returns f's next record, with the given token hash, at now.
func successor(f tollgate.RefreshFamily, hash string, now time.Time) *tollgate.RefreshFamily {
	f.Hash, f.IssuedAt, f.ExpiresAt = hash, now, now.Add(time.Hour)
	return &f
}

func mustCreate(t *testing.T, s tollgate.RefreshStore, f tollgate.RefreshFamily) {
	t.Helper()
	if revoked, err := s.Create(t.Context(), f, 100); err != nil || len(revoked) != 0 {
		t.Fatalf("Create(%q) = %v, %v; want nil, nil (a new family of a subject with none)", f.ID, revoked, err)
	}
}

func mustLookup(t *testing.T, s tollgate.RefreshStore, id string) tollgate.RefreshFamily {
	t.Helper()
	f, err := s.Lookup(t.Context(), id)
	if err != nil {
		t.Fatalf("Lookup(%q) = %v, want the family", id, err)
	}
	return f
}

func mustRotate(t *testing.T, s tollgate.RefreshStore, id, presented string, next *tollgate.RefreshFamily, now time.Time) tollgate.RefreshFamily {
	t.Helper()
	f, err := s.Rotate(t.Context(), id, presented, next, now, 0)
	if err != nil {
		t.Fatalf("Rotate(%q, current token) = %v, want nil (presenting the current token rotates it)", id, err)
	}
	return f
}

func wantGone(t *testing.T, s tollgate.RefreshStore, id, why string) {
	t.Helper()
	if f, err := s.Lookup(t.Context(), id); !errors.Is(err, tollgate.ErrNotFound) {
		t.Errorf("Lookup(%q) = %+v, %v; want ErrNotFound (%s)", id, f, err, why)
	}
}

// diffFamily lists the fields of got that differ from want.
func diffFamily(got, want tollgate.RefreshFamily) []string {
	var d []string
	str := func(name, g, w string) {
		if g != w {
			d = append(d, fmt.Sprintf("%s = %q, want %q", name, g, w))
		}
	}
	tm := func(name string, g, w time.Time) {
		if !g.Equal(w) {
			d = append(d, fmt.Sprintf("%s = %v, want %v", name, g, w))
		}
	}
	str("ID", got.ID, want.ID)
	str("Subject", got.Subject, want.Subject)
	str("Username", got.Username, want.Username)
	str("ClientID", got.ClientID, want.ClientID)
	str("Hash", got.Hash, want.Hash)
	str("PrevHash", got.PrevHash, want.PrevHash)
	if !slices.Equal(got.Scopes, want.Scopes) {
		d = append(d, fmt.Sprintf("Scopes = %q, want %q", got.Scopes, want.Scopes))
	}
	tm("CreatedAt", got.CreatedAt, want.CreatedAt)
	tm("FamilyExpiresAt", got.FamilyExpiresAt, want.FamilyExpiresAt)
	tm("IssuedAt", got.IssuedAt, want.IssuedAt)
	tm("ExpiresAt", got.ExpiresAt, want.ExpiresAt)
	tm("PrevUsedAt", got.PrevUsedAt, want.PrevUsedAt)
	tm("KeepUntil", got.KeepUntil, want.KeepUntil)
	if got.PrevReuses != want.PrevReuses || got.Rotations != want.Rotations {
		d = append(d, fmt.Sprintf("PrevReuses, Rotations = %d, %d; want %d, %d", got.PrevReuses, got.Rotations, want.PrevReuses, want.Rotations))
	}
	return d
}

func refreshCreateThenLookup(t *testing.T, s tollgate.RefreshStore) {
	f := family("fam-a", "alice")
	mustCreate(t, s, f)
	for _, d := range diffFamily(mustLookup(t, s, "fam-a"), f) {
		t.Errorf("Lookup after Create returned %s: a family round-trips unchanged", d)
	}
}

func refreshUnknownIsNotFound(t *testing.T, s tollgate.RefreshStore) {
	mustCreate(t, s, family("fam-a", "alice"))
	wantGone(t, s, "fam-b", "an unknown family")
	if _, err := s.Rotate(t.Context(), "fam-b", "x", successor(family("fam-b", "alice"), "y", base), base, 0); !errors.Is(err, tollgate.ErrNotFound) {
		t.Errorf("Rotate(unknown family) = %v, want ErrNotFound", err)
	}
	if _, err := s.Revoke(t.Context(), "fam-b"); !errors.Is(err, tollgate.ErrNotFound) {
		t.Errorf("Revoke(unknown family) = %v, want ErrNotFound", err)
	}
}

func refreshRotateReplacesCurrent(t *testing.T, s tollgate.RefreshStore) {
	f := family("fam-a", "alice")
	mustCreate(t, s, f)
	now := base.Add(time.Minute)
	got := mustRotate(t, s, "fam-a", f.Hash, successor(f, "fam-a-h1", now), now)
	want := *successor(f, "fam-a-h1", now)
	want.PrevHash, want.PrevUsedAt, want.Rotations = f.Hash, now, 1
	for _, d := range diffFamily(got, want) {
		t.Errorf("Rotate returned %s (the successor, the presented token as PrevHash spent at now)", d)
	}
	for _, d := range diffFamily(mustLookup(t, s, "fam-a"), want) {
		t.Errorf("Lookup after Rotate returned %s", d)
	}
}

func refreshManyRotationsOneRecord(t *testing.T, s tollgate.RefreshStore) {
	f := family("fam-a", "alice")
	mustCreate(t, s, f)
	cur := f
	for i := range 200 {
		now := base.Add(time.Duration(i+1) * time.Second)
		cur = mustRotate(t, s, "fam-a", cur.Hash, successor(cur, fmt.Sprintf("fam-a-h%d", i+1), now), now)
	}
	if cur.Rotations != 200 {
		t.Errorf("after 200 rotations Rotations = %d", cur.Rotations)
	}
	if l, ok := s.(interface{ Len() int }); ok && l.Len() != 1 {
		t.Errorf("after 200 rotations of one family the store holds %d records, want 1 (O(1) per family)", l.Len())
	}
}

func refreshReuseOfAnyEarlierTokenRevokes(t *testing.T, s tollgate.RefreshStore) {
	f := family("fam-a", "alice")
	mustCreate(t, s, f)
	cur := f
	for i := range 5 {
		now := base.Add(time.Duration(i+1) * time.Second)
		cur = mustRotate(t, s, "fam-a", cur.Hash, successor(cur, fmt.Sprintf("fam-a-h%d", i+1), now), now)
	}
	now := base.Add(time.Minute)
	got, err := s.Rotate(t.Context(), "fam-a", "fam-a-h1", successor(cur, "fam-a-thief", now), now, time.Hour)
	if !errors.Is(err, tollgate.ErrReused) || got.ID != "fam-a" || got.Subject != "alice" {
		t.Fatalf("Rotate(a token four rotations old) = %+v, %v; want the family and ErrReused (RFC 9700 §4.14.2)", got, err)
	}
	wantGone(t, s, "fam-a", "reuse of an earlier token revokes the family in the same step")
	if _, err := s.Rotate(t.Context(), "fam-a", cur.Hash, successor(cur, "x", now), now, 0); !errors.Is(err, tollgate.ErrNotFound) {
		t.Errorf("Rotate(the newest token of a revoked family) = %v, want ErrNotFound", err)
	}
}

func refreshReuseOfPreviousRevokes(t *testing.T, s tollgate.RefreshStore) {
	f := family("fam-a", "alice")
	mustCreate(t, s, f)
	now := base.Add(time.Second)
	cur := mustRotate(t, s, "fam-a", f.Hash, successor(f, "fam-a-h1", now), now)
	if _, err := s.Rotate(t.Context(), "fam-a", f.Hash, successor(cur, "fam-a-h2", now), now, 0); !errors.Is(err, tollgate.ErrReused) {
		t.Fatalf("Rotate(the token just spent, no grace) = %v, want ErrReused", err)
	}
	wantGone(t, s, "fam-a", "reuse revokes the family")
}

func refreshGraceHonoursOneReuse(t *testing.T, s tollgate.RefreshStore) {
	f := family("fam-a", "alice")
	mustCreate(t, s, f)
	t1 := base.Add(time.Second)
	cur := mustRotate(t, s, "fam-a", f.Hash, successor(f, "fam-a-h1", t1), t1)
	t2 := t1.Add(5 * time.Second)
	got, err := s.Rotate(t.Context(), "fam-a", f.Hash, successor(cur, "fam-a-h2", t2), t2, 10*time.Second)
	if err != nil {
		t.Fatalf("Rotate(the token just spent, within the grace period) = %v, want nil (the one honoured reuse)", err)
	}
	want := *successor(cur, "fam-a-h2", t2)
	want.PrevHash, want.PrevUsedAt, want.PrevReuses, want.Rotations = f.Hash, t1, 1, 2
	for _, d := range diffFamily(got, want) {
		t.Errorf("the grace reuse returned %s (PrevHash and PrevUsedAt kept, PrevReuses 1)", d)
	}
	t3 := t2.Add(time.Second)
	if _, err := s.Rotate(t.Context(), "fam-a", f.Hash, successor(got, "fam-a-h3", t3), t3, 10*time.Second); !errors.Is(err, tollgate.ErrReused) {
		t.Errorf("a second reuse within the grace period = %v, want ErrReused (only one is honoured)", err)
	}
	wantGone(t, s, "fam-a", "the second reuse revokes the family")
}

func refreshGraceEndsAfterPeriod(t *testing.T, s tollgate.RefreshStore) {
	f := family("fam-a", "alice")
	mustCreate(t, s, f)
	t1 := base.Add(time.Second)
	cur := mustRotate(t, s, "fam-a", f.Hash, successor(f, "fam-a-h1", t1), t1)
	t2 := t1.Add(11 * time.Second)
	if _, err := s.Rotate(t.Context(), "fam-a", f.Hash, successor(cur, "fam-a-h2", t2), t2, 10*time.Second); !errors.Is(err, tollgate.ErrReused) {
		t.Errorf("Rotate(the token spent 11 s ago, 10 s of grace) = %v, want ErrReused", err)
	}
	wantGone(t, s, "fam-a", "a reuse past the grace period revokes the family")
}

func refreshNilNextRevokes(t *testing.T, s tollgate.RefreshStore) {
	f := family("fam-a", "alice")
	mustCreate(t, s, f)
	if got, err := s.Rotate(t.Context(), "fam-a", "fam-a-forged", nil, base, time.Minute); !errors.Is(err, tollgate.ErrReused) || got.ID != "fam-a" {
		t.Errorf("Rotate(a token that is not the current one, no successor) = %+v, %v; want the family and ErrReused", got, err)
	}
	wantGone(t, s, "fam-a", "a nil successor revokes")
}

func refreshKeepUntilNeverMovesBack(t *testing.T, s tollgate.RefreshStore) {
	f := family("fam-a", "alice")
	f.KeepUntil = base.Add(30 * time.Minute)
	mustCreate(t, s, f)
	now := base.Add(time.Second)
	next := successor(f, "fam-a-h1", now)
	next.KeepUntil = base.Add(10 * time.Minute) // a successor prepared earlier, stored later
	got := mustRotate(t, s, "fam-a", f.Hash, next, now)
	if !got.KeepUntil.Equal(base.Add(30 * time.Minute)) {
		t.Errorf("after a rotation whose successor had an earlier KeepUntil: %v, want %v (the later of the two)", got.KeepUntil, base.Add(30*time.Minute))
	}
}

func refreshRevokeReturnsFamily(t *testing.T, s tollgate.RefreshStore) {
	f := family("fam-a", "alice")
	mustCreate(t, s, f)
	mustCreate(t, s, family("fam-b", "alice"))
	got, err := s.Revoke(t.Context(), "fam-a")
	if err != nil {
		t.Fatalf("Revoke = %v", err)
	}
	for _, d := range diffFamily(got, f) {
		t.Errorf("Revoke returned %s: it returns what it revoked", d)
	}
	wantGone(t, s, "fam-a", "a revoked family")
	mustLookup(t, s, "fam-b")
	if _, err := s.Rotate(t.Context(), "fam-a", f.Hash, successor(f, "x", base), base, 0); !errors.Is(err, tollgate.ErrNotFound) {
		t.Errorf("Rotate after Revoke = %v, want ErrNotFound (no rotation revives a revoked family)", err)
	}
}

func refreshRevokeSubject(t *testing.T, s tollgate.RefreshStore) {
	for _, id := range []string{"fam-a", "fam-b", "fam-c"} {
		mustCreate(t, s, family(id, "alice"))
	}
	mustCreate(t, s, family("fam-d", "bob"))
	got, err := s.RevokeSubject(t.Context(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, f := range got {
		ids = append(ids, f.ID)
	}
	slices.Sort(ids)
	if !slices.Equal(ids, []string{"fam-a", "fam-b", "fam-c"}) {
		t.Errorf("RevokeSubject(alice) returned %q, want alice's three families", ids)
	}
	for _, id := range ids {
		wantGone(t, s, id, "RevokeSubject revokes every family of the subject")
	}
	mustLookup(t, s, "fam-d")
	if got, err := s.RevokeSubject(t.Context(), "nobody"); err != nil || len(got) != 0 {
		t.Errorf("RevokeSubject(unknown subject) = %v, %v; want none, nil", got, err)
	}
}

func refreshCreateKeepsAtMostKeep(t *testing.T, s tollgate.RefreshStore) {
	for i := range 3 {
		f := family(fmt.Sprintf("fam-%d", i), "alice")
		f.CreatedAt = base.Add(time.Duration(i) * time.Minute)
		if revoked, err := s.Create(t.Context(), f, 3); err != nil || len(revoked) != 0 {
			t.Fatalf("Create #%d = %v, %v", i, revoked, err)
		}
	}
	f := family("fam-3", "alice")
	f.CreatedAt = base.Add(3 * time.Minute)
	revoked, err := s.Create(t.Context(), f, 3)
	if err != nil || len(revoked) != 1 || revoked[0].ID != "fam-0" {
		t.Fatalf("Create of a 4th family with keep 3 = %+v, %v; want the oldest (fam-0) revoked and returned", revoked, err)
	}
	wantGone(t, s, "fam-0", "the oldest session past keep")
	for _, id := range []string{"fam-1", "fam-2", "fam-3"} {
		mustLookup(t, s, id)
	}
	// Another subject's families do not count.
	if revoked, err := s.Create(t.Context(), family("fam-bob", "bob"), 3); err != nil || len(revoked) != 0 {
		t.Errorf("Create for another subject = %v, %v", revoked, err)
	}
}

func refreshScopesRoundTrip(t *testing.T, s tollgate.RefreshStore) {
	for _, scopes := range [][]string{nil, {"only"}, {"zeta", "alpha", "me", "items:write", "a:b/c~d"}} {
		f := family("fam-"+fmt.Sprint(len(scopes)), "alice")
		f.Scopes = slices.Clone(scopes)
		mustCreate(t, s, f)
		f.Scopes = append(f.Scopes, "changed-after-create")
		if got := mustLookup(t, s, f.ID).Scopes; !slices.Equal(got, scopes) {
			t.Errorf("Scopes = %q, want %q (in order, as a copy)", got, scopes)
		}
	}
}

func refreshTimesRoundTrip(t *testing.T, s tollgate.RefreshStore) {
	f := family("fam-a", "alice")
	f.CreatedAt, f.IssuedAt = base.Add(-time.Hour), base.Add(-time.Minute)
	f.ExpiresAt, f.FamilyExpiresAt = base.Add(2*time.Hour), base.Add(48*time.Hour)
	mustCreate(t, s, f)
	for _, d := range diffFamily(mustLookup(t, s, "fam-a"), f) {
		t.Errorf("times: %s", d)
	}
}

func refreshContextCanceled(t *testing.T, s tollgate.RefreshStore) {
	mustCreate(t, s, family("fam-a", "alice"))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.Lookup(ctx, "fam-a"); err == nil {
		t.Skip("the store ignores its context")
	}
	if _, err := s.Rotate(ctx, "fam-a", "fam-a-h0", successor(family("fam-a", "alice"), "x", base), base, 0); err == nil || errors.Is(err, tollgate.ErrReused) {
		t.Errorf("Rotate with a canceled context = %v, want the context's error", err)
	}
	mustLookup(t, s, "fam-a")
}

func refreshConcurrentRotationsOneWins(t *testing.T, s tollgate.RefreshStore) {
	f := family("fam-a", "alice")
	mustCreate(t, s, f)
	const n = 16
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins, reuses := 0, 0
	for i := range n {
		wg.Go(func() {
			now := base.Add(time.Second)
			_, err := s.Rotate(t.Context(), "fam-a", f.Hash, successor(f, fmt.Sprintf("fam-a-c%d", i), now), now, 0)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errors.Is(err, tollgate.ErrReused), errors.Is(err, tollgate.ErrNotFound):
				reuses++
			default:
				t.Errorf("concurrent Rotate = %v", err)
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Errorf("%d of %d concurrent rotations of one token succeeded, want exactly 1 (Rotate is atomic)", wins, n)
	}
	// The losers presented a spent token: the family is revoked, the
	// winner's successor with it.
	wantGone(t, s, "fam-a", "a lost race is reuse, which revokes the family")
}

func refreshConcurrentRotateRevoke(t *testing.T, s tollgate.RefreshStore) {
	for i := range 50 {
		id := fmt.Sprint("fam-", i)
		f := family(id, "alice")
		if _, err := s.Create(t.Context(), f, 1000); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		wg.Go(func() { _, _ = s.Rotate(t.Context(), id, f.Hash, successor(f, id+"-h1", base), base, 0) })
		wg.Go(func() { _, _ = s.Revoke(t.Context(), id) })
		wg.Wait()
		wantGone(t, s, id, "a revocation racing a rotation leaves nothing alive")
	}
}

// TestDenylist runs the conformance suite for [tollgate.Denylist] against
// the denylists returned by newDenylist, which is called once per subtest
// and must return an empty one with room for at least 100 entries.
func TestDenylist(t *testing.T, newDenylist func(t *testing.T) tollgate.Denylist) {
	t.Helper()
	t.Run("DenyThenIsDenied", func(t *testing.T) {
		d := newDenylist(t)
		if err := d.Deny(t.Context(), "jti-a", base.Add(time.Hour), base); err != nil {
			t.Fatal(err)
		}
		for key, want := range map[string]bool{"jti-a": true, "jti-b": false, "JTI-A": false, "sid:jti-a": false} {
			if got, err := d.IsDenied(t.Context(), key); err != nil || got != want {
				t.Errorf("IsDenied(%q) = %v, %v; want %v", key, got, err, want)
			}
		}
	})
	t.Run("ExpiredEntriesMayGoLiveOnesStay", func(t *testing.T) {
		d := newDenylist(t)
		_ = d.Deny(t.Context(), "old", base.Add(time.Minute), base)
		_ = d.Deny(t.Context(), "live", base.Add(time.Hour), base)
		// A later Deny, at a time past old's until, may drop old; live stays.
		if err := d.Deny(t.Context(), "new", base.Add(2*time.Hour), base.Add(30*time.Minute)); err != nil {
			t.Fatal(err)
		}
		for _, key := range []string{"live", "new"} {
			if got, err := d.IsDenied(t.Context(), key); err != nil || !got {
				t.Errorf("IsDenied(%q) = %v, %v; want true (not expired)", key, got, err)
			}
		}
	})
	t.Run("DenyTwiceKeepsTheLaterUntil", func(t *testing.T) {
		d := newDenylist(t)
		_ = d.Deny(t.Context(), "k", base.Add(2*time.Hour), base)
		_ = d.Deny(t.Context(), "k", base.Add(time.Minute), base)
		_ = d.Deny(t.Context(), "other", base.Add(3*time.Hour), base.Add(30*time.Minute))
		if got, err := d.IsDenied(t.Context(), "k"); err != nil || !got {
			t.Errorf("IsDenied(k) = %v, %v; want true (denying twice keeps the later until)", got, err)
		}
	})
	t.Run("Concurrent", func(t *testing.T) {
		d := newDenylist(t)
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				for j := range 10 {
					key := fmt.Sprint("k-", i, "-", j)
					if err := d.Deny(t.Context(), key, base.Add(time.Hour), base); err != nil {
						t.Error(err)
						return
					}
					if got, err := d.IsDenied(t.Context(), key); err != nil || !got {
						t.Errorf("IsDenied(%q) right after Deny = %v, %v", key, got, err)
					}
				}
			})
		}
		wg.Wait()
	})
}

// TestUserStore runs the conformance suite for [tollgate.UserStore]
// against the stores returned by newStore, which is called once per
// subtest and must return a store holding exactly users. Two of the users
// have names that differ only in case ("carol" and "Carol"): usernames are
// case-sensitive, so a backend must not fold case. If the store
// also implements [tollgate.PasswordUpdater] or [tollgate.ScopeLister],
// that is checked too. Run it under the race detector.
func TestUserStore(t *testing.T, newStore func(t *testing.T, users []tollgate.User) tollgate.UserStore) {
	t.Helper()
	users := func() []tollgate.User {
		return []tollgate.User{
			{ID: "u-alice", Username: "alice", PasswordHash: []byte("$2a$10$alicealicealicealicealiceal"), Scopes: []string{"me", "items:read"},
				Profile: map[string]any{"full_name": "Alice Liddell", "email": "alice@example.com"}},
			{Username: "bob", PasswordHash: []byte("hash-bob"), Scopes: []string{"me"}},
			{ID: "u-carol-lower", Username: "carol", PasswordHash: []byte("hash-carol"), Scopes: []string{"me"}},
			{ID: "u-carol-upper", Username: "Carol", PasswordHash: []byte("hash-Carol"), Scopes: []string{"admin:users"}},
			{ID: "u-dave", Username: "dave", PasswordHash: []byte("hash-dave"), Scopes: []string{"me"}, Disabled: true},
			{ID: "u-erin", Username: "erin", PasswordHash: []byte("hash-erin"), Scopes: []string{"zeta", "alpha", "me", "items:write"}},
			{ID: "u-frank", Username: "frank", PasswordHash: []byte("hash-frank")},
		}
	}
	run := func(name string, f func(t *testing.T, s tollgate.UserStore, users []tollgate.User)) {
		t.Run(name, func(t *testing.T) {
			us := users()
			f(t, newStore(t, users()), us)
		})
	}
	run("Found", userFound)
	run("NotFoundWrapsErrNotFound", userNotFound)
	run("UsernamesCaseSensitive", userCaseSensitive)
	run("DisabledRoundTrips", userDisabled)
	run("ScopesRoundTrip", userScopes)
	run("ConcurrentLookups", userConcurrent)
	run("UpdatePasswordHash", userUpdatePasswordHash)
	run("HeldScopes", userHeldScopes)
}

func userHeldScopes(t *testing.T, s tollgate.UserStore, users []tollgate.User) {
	l, ok := s.(tollgate.ScopeLister)
	if !ok {
		t.Skip("the store does not implement tollgate.ScopeLister")
	}
	got, err := l.HeldScopes(t.Context())
	if err != nil {
		t.Fatalf("HeldScopes() = %v, want nil", err)
	}
	want := map[string]bool{}
	for _, u := range users {
		for _, sc := range u.Scopes {
			want[sc] = true
		}
	}
	seen := map[string]bool{}
	for _, sc := range got {
		if !want[sc] {
			t.Errorf("HeldScopes() returned %q, which no user holds", sc)
		}
		seen[sc] = true
	}
	for sc := range want {
		if !seen[sc] {
			t.Errorf("HeldScopes() lacks %q, which a user holds", sc)
		}
	}
}

// TestClientStore runs the conformance suite for [tollgate.ClientStore]
// against the stores returned by newStore, which is called once per
// subtest and must return a store holding exactly clients. Every field of
// a client round-trips: the SecretHash to the byte (it is binary, NUL and
// bytes over 0x7f among it), the lists in order (nil and empty are
// equal). Client ids are case-sensitive ("web-app" and "Web-App" are two
// clients), and a returned client is the caller's copy: changing it, or
// the clients given to newStore, changes nothing in the store.
//
// A store with the calls to manage clients from Go,
//
//	Put(ctx context.Context, c tollgate.Client) error // add, or replace the client with c.ID
//	Delete(ctx context.Context, id string) error      // an error wrapping ErrNotFound for an unknown id
//
// is checked for them too (and its Put must refuse an id that is no valid
// client_id: 1 to 255 bytes of printable ASCII); those subtests are
// skipped for a store without them. Run it under the race detector.
func TestClientStore(t *testing.T, newStore func(t *testing.T, clients []tollgate.Client) tollgate.ClientStore) {
	t.Helper()
	run := func(name string, f func(t *testing.T, s tollgate.ClientStore, clients []tollgate.Client)) {
		t.Run(name, func(t *testing.T) {
			given := testClients()
			s := newStore(t, given)
			scribble(given) // the store holds its own copy
			f(t, s, testClients())
		})
	}
	run("FieldsRoundTrip", clientFound)
	run("NotFoundWrapsErrNotFound", clientNotFound)
	run("IDsCaseSensitive", clientCaseSensitive)
	run("ReturnsACopy", clientCopy)
	run("ConcurrentLookups", clientConcurrent)
	run("PutReplaces", clientPutReplaces)
	run("DeleteRemovesOne", clientDelete)
	run("PutRefusesInvalidID", clientPutInvalid)
}

// testClients are the clients of the suite's stores, made afresh on each
// call.
func testClients() []tollgate.Client {
	return []tollgate.Client{
		{ID: "tollgate"}, // public, every list nil
		{ID: "web-app", Grants: []string{}, Scopes: []string{}, Audience: []string{}, SecretHash: []byte{}},
		{ID: "Web-App", Grants: []string{"password"}, Scopes: []string{"me"}},
		{ID: "reports-service", SecretHash: []byte("$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"),
			Grants: []string{"client_credentials"}, Scopes: []string{"reports:read", "zeta", "alpha"},
			Audience: []string{"https://reports.example", "https://api.example"}},
		{ID: "binary-secret", SecretHash: []byte{0x00, 0xff, 'x', 0x80, 0x00, 0x7f, '\n'},
			Grants: []string{"refresh_token", "password", "client_credentials"}},
		{ID: "cli v2: ~!\"#$%&'()*+,-./;<=>?@[\\]^_`{|}", Audience: []string{"urn:x"}},
		{ID: strings.Repeat("x", 255), Scopes: []string{"me", "items:read"}},
	}
}

// scribble overwrites every byte and list entry of clients, as a caller
// reusing its buffers would.
func scribble(clients []tollgate.Client) {
	for i := range clients {
		c := &clients[i]
		for j := range c.SecretHash {
			c.SecretHash[j] = '#'
		}
		for _, l := range [][]string{c.Grants, c.Scopes, c.Audience} {
			for j := range l {
				l[j] = "scribbled"
			}
		}
		c.ID = "scribbled"
	}
}

func mustLookupClient(t *testing.T, s tollgate.ClientStore, id string) *tollgate.Client {
	t.Helper()
	return mustFind(t, "LookupClient", id, s.LookupClient)
}

// diffClient lists the fields of got that differ from want. The secret
// hash is never printed.
func diffClient(got, want tollgate.Client) []string {
	var d []string
	if got.ID != want.ID {
		d = append(d, fmt.Sprintf("ID = %.64q, want %.64q", got.ID, want.ID))
	}
	if !bytes.Equal(got.SecretHash, want.SecretHash) { // nil and empty are equal: both public
		d = append(d, fmt.Sprintf("SecretHash differs from the stored one (%d bytes, want %d)", len(got.SecretHash), len(want.SecretHash)))
	}
	list := func(name string, g, w []string) {
		if !slices.Equal(g, w) { // nil and empty are equal
			d = append(d, fmt.Sprintf("%s = %q, want %q", name, g, w))
		}
	}
	list("Grants", got.Grants, want.Grants)
	list("Scopes", got.Scopes, want.Scopes)
	list("Audience", got.Audience, want.Audience)
	return d
}

// wantClients checks that s holds clients, each unchanged.
func wantClients(t *testing.T, s tollgate.ClientStore, clients []tollgate.Client, why string) {
	t.Helper()
	for _, want := range clients {
		for _, d := range diffClient(*mustLookupClient(t, s, want.ID), want) {
			t.Errorf("LookupClient(%.64q) returned %s: %s", want.ID, d, why)
		}
	}
}

func wantNoClient(t *testing.T, s tollgate.ClientStore, id, why string) {
	t.Helper()
	if c, err := s.LookupClient(t.Context(), id); !errors.Is(err, tollgate.ErrNotFound) {
		t.Errorf("LookupClient(%.64q) = %v, %v; want an error wrapping ErrNotFound (%s)", id, c, err, why)
	}
}

func clientFound(t *testing.T, s tollgate.ClientStore, clients []tollgate.Client) {
	wantClients(t, s, clients, "a client round-trips unchanged, as a copy of what the store was given")
}

func clientNotFound(t *testing.T, s tollgate.ClientStore, _ []tollgate.Client) {
	for _, id := range []string{"mallory", "web", "web-app ", " web-app", "tollgate2", strings.Repeat("x", 254), "scribbled", ""} {
		wantNoClient(t, s, id, "an unknown client is not a server fault")
	}
}

func clientCaseSensitive(t *testing.T, s tollgate.ClientStore, clients []tollgate.Client) {
	for _, want := range clients[1:3] { // web-app and Web-App
		for _, d := range diffClient(*mustLookupClient(t, s, want.ID), want) {
			t.Errorf("LookupClient(%.64q) returned %s: ids are case-sensitive, and web-app and Web-App are two clients", want.ID, d)
		}
	}
	for _, id := range []string{"WEB-APP", "web-App", "Tollgate", "REPORTS-SERVICE"} {
		wantNoClient(t, s, id, "ids are case-sensitive as stored")
	}
}

func clientCopy(t *testing.T, s tollgate.ClientStore, clients []tollgate.Client) {
	for _, want := range clients {
		c := mustLookupClient(t, s, want.ID)
		scribble([]tollgate.Client{*c})
		c.SecretHash = append(c.SecretHash, '!')
		c.Grants = append(c.Grants, "client_credentials")
	}
	wantClients(t, s, clients, "a returned client is the caller's copy, and changing it changes nothing in the store")
}

func clientConcurrent(t *testing.T, s tollgate.ClientStore, clients []tollgate.Client) {
	concurrently(func() {
		for _, want := range clients {
			c, err := s.LookupClient(t.Context(), want.ID)
			if err != nil || c == nil {
				t.Errorf("concurrent LookupClient(%.64q) = %v, %v; want the client (a ClientStore is safe for concurrent use)", want.ID, c, err)
				continue
			}
			for _, d := range diffClient(*c, want) {
				t.Errorf("concurrent LookupClient(%.64q) returned %s", want.ID, d)
			}
			// Each caller owns its copy: the race detector reports a
			// store that shares one between callers.
			scribble([]tollgate.Client{*c})
		}
	})
}

// concurrently runs f in 8 goroutines at once and waits for them.
func concurrently(f func()) {
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(f)
	}
	wg.Wait()
}

// clientManager is a store with the calls to manage clients from Go.
type clientManager interface {
	Put(ctx context.Context, c tollgate.Client) error
	Delete(ctx context.Context, id string) error
}

func asManager(t *testing.T, s tollgate.ClientStore) clientManager {
	t.Helper()
	m, ok := s.(clientManager)
	if !ok {
		t.Skip("the store has no Put(ctx, Client) error and Delete(ctx, id) error")
	}
	return m
}

// changedClients are a public client of testClients made confidential
// and a confidential one made public, every field changed.
func changedClients() []tollgate.Client {
	return []tollgate.Client{
		{ID: "tollgate", SecretHash: []byte("new-hash"), Grants: []string{"client_credentials"},
			Scopes: []string{"reports:read"}, Audience: []string{"https://new.example"}},
		{ID: "reports-service"},
	}
}

func clientPutReplaces(t *testing.T, s tollgate.ClientStore, clients []tollgate.Client) {
	m := asManager(t, s)
	changed := changedClients()
	for _, c := range changed {
		if err := m.Put(t.Context(), c); err != nil {
			t.Fatalf("Put(%.64q) = %v, want nil", c.ID, err)
		}
	}
	scribble(changed)
	wantClients(t, s, changedClients(), "Put replaces every field of the client with its id, with a copy of its argument")
	wantClients(t, s, clients[1:3], "Put changes one client only")
	wantClients(t, s, clients[4:], "Put changes one client only")
	added := tollgate.Client{ID: "new-client", Scopes: []string{"me"}}
	if err := m.Put(t.Context(), added); err != nil {
		t.Fatalf("Put(new-client) = %v, want nil", err)
	}
	wantClients(t, s, []tollgate.Client{added}, "Put adds a client")
}

func clientDelete(t *testing.T, s tollgate.ClientStore, clients []tollgate.Client) {
	m := asManager(t, s)
	if err := m.Delete(t.Context(), "web-app"); err != nil {
		t.Fatalf("Delete(web-app) = %v, want nil", err)
	}
	wantNoClient(t, s, "web-app", "a deleted client is gone")
	wantClients(t, s, slices.Delete(slices.Clone(clients), 1, 2), "Delete removes one client only (ids are case-sensitive)")
	for _, id := range []string{"web-app", "mallory", "WEB-APP"} {
		if err := m.Delete(t.Context(), id); !errors.Is(err, tollgate.ErrNotFound) {
			t.Errorf("Delete(%.64q) of no client = %v, want an error wrapping ErrNotFound", id, err)
		}
	}
}

func clientPutInvalid(t *testing.T, s tollgate.ClientStore, clients []tollgate.Client) {
	m := asManager(t, s)
	for _, id := range []string{"", strings.Repeat("x", 256), "tab\there", "new\nline", "nul\x00", "del\x7f", "caf\u00e9", "\xff"} {
		if err := m.Put(t.Context(), tollgate.Client{ID: id}); err == nil {
			t.Errorf("Put(%.64q) = nil, want an error: a client_id is 1 to 255 bytes of printable ASCII (RFC 6749 Appendix A.1, and tollgate's bound on Client.ID)", id)
		}
	}
	wantClients(t, s, clients, "a refused Put changes nothing")
}

func mustLookupUser(t *testing.T, s tollgate.UserStore, name string) *tollgate.User {
	t.Helper()
	return mustFind(t, "LookupUser", name, s.LookupUser)
}

// mustFind returns what lookup (a store's method, named call) finds by
// key, which the store's initial records hold.
func mustFind[T any](t *testing.T, call, key string, lookup func(context.Context, string) (*T, error)) *T {
	t.Helper()
	v, err := lookup(t.Context(), key)
	if err != nil {
		t.Fatalf("%s(%.64q) = %v, want nil (it is in the store's initial records)", call, key, err)
	}
	if v == nil {
		t.Fatalf("%s(%.64q) = nil, nil: a record found must not be nil", call, key)
	}
	return v
}

// diffUser lists the fields of got that differ from want.
func diffUser(got, want tollgate.User) []string {
	var d []string
	if got.ID != want.ID {
		d = append(d, fmt.Sprintf("ID = %q, want %q", got.ID, want.ID))
	}
	if got.Username != want.Username {
		d = append(d, fmt.Sprintf("Username = %q, want %q", got.Username, want.Username))
	}
	if string(got.PasswordHash) != string(want.PasswordHash) {
		d = append(d, "PasswordHash differs from the stored one")
	}
	if !slices.Equal(got.Scopes, want.Scopes) { // nil and empty are equal
		d = append(d, fmt.Sprintf("Scopes = %q, want %q", got.Scopes, want.Scopes))
	}
	if got.Disabled != want.Disabled {
		d = append(d, fmt.Sprintf("Disabled = %v, want %v", got.Disabled, want.Disabled))
	}
	if len(got.Profile) != len(want.Profile) {
		d = append(d, fmt.Sprintf("Profile = %v, want %v", got.Profile, want.Profile))
	} else {
		for k, v := range want.Profile {
			if got.Profile[k] != v {
				d = append(d, fmt.Sprintf("Profile[%q] = %v, want %v", k, got.Profile[k], v))
			}
		}
	}
	return d
}

func userFound(t *testing.T, s tollgate.UserStore, users []tollgate.User) {
	for _, want := range users {
		got := mustLookupUser(t, s, want.Username)
		for _, d := range diffUser(*got, want) {
			t.Errorf("LookupUser(%q) returned %s: a user round-trips unchanged", want.Username, d)
		}
	}
}

func userNotFound(t *testing.T, s tollgate.UserStore, _ []tollgate.User) {
	for _, name := range []string{"mallory", "alic", "alice ", "u-alice", ""} {
		u, err := s.LookupUser(t.Context(), name)
		if !errors.Is(err, tollgate.ErrNotFound) {
			t.Errorf("LookupUser(%q) = %v, %v; want an error wrapping ErrNotFound (an unknown user is not a server fault)", name, u, err)
		}
	}
}

func userCaseSensitive(t *testing.T, s tollgate.UserStore, _ []tollgate.User) {
	for _, name := range []string{"carol", "Carol"} {
		got := mustLookupUser(t, s, name)
		if got.Username != name {
			t.Errorf("LookupUser(%q) returned user %q (ID %q): usernames are case-sensitive, and carol and Carol are two users", name, got.Username, got.ID)
		}
	}
	for _, name := range []string{"CAROL", "ALICE", "Alice"} {
		if u, err := s.LookupUser(t.Context(), name); !errors.Is(err, tollgate.ErrNotFound) {
			t.Errorf("LookupUser(%q) = %v, %v; want ErrNotFound (usernames are case-sensitive as stored)", name, u, err)
		}
	}
}

func userDisabled(t *testing.T, s tollgate.UserStore, _ []tollgate.User) {
	if u := mustLookupUser(t, s, "dave"); !u.Disabled {
		t.Errorf("LookupUser(dave).Disabled = false, want true (Disabled round-trips; a disabled user must not log in)")
	}
	if u := mustLookupUser(t, s, "alice"); u.Disabled {
		t.Errorf("LookupUser(alice).Disabled = true, want false (Disabled round-trips)")
	}
}

func userScopes(t *testing.T, s tollgate.UserStore, _ []tollgate.User) {
	want := []string{"zeta", "alpha", "me", "items:write"}
	if u := mustLookupUser(t, s, "erin"); !slices.Equal(u.Scopes, want) {
		t.Errorf("LookupUser(erin).Scopes = %q, want %q (scopes round-trip in order)", u.Scopes, want)
	}
	if u := mustLookupUser(t, s, "frank"); len(u.Scopes) != 0 {
		t.Errorf("LookupUser(frank).Scopes = %q, want none", u.Scopes)
	}
}

func userConcurrent(t *testing.T, s tollgate.UserStore, users []tollgate.User) {
	concurrently(func() {
		for _, want := range users {
			u, err := s.LookupUser(t.Context(), want.Username)
			if err != nil || u == nil || u.Username != want.Username {
				t.Errorf("concurrent LookupUser(%q) = %v, %v; want the user (a UserStore is safe for concurrent use)", want.Username, u, err)
			}
		}
	})
}

func userUpdatePasswordHash(t *testing.T, s tollgate.UserStore, users []tollgate.User) {
	up, ok := s.(tollgate.PasswordUpdater)
	if !ok {
		t.Skip("the store does not implement tollgate.PasswordUpdater")
	}
	// By ID, and by username for a user without an ID (User.ID's rule).
	for _, c := range []struct{ id, username string }{{"u-alice", "alice"}, {"bob", "bob"}} {
		hash := []byte("new-hash-of-" + c.username)
		if err := up.UpdatePasswordHash(t.Context(), c.id, hash); err != nil {
			t.Fatalf("UpdatePasswordHash(%q) = %v, want nil", c.id, err)
		}
		hash[0] = 'X' // the caller reuses its buffer
		if got := mustLookupUser(t, s, c.username); string(got.PasswordHash) != "new-hash-of-"+c.username {
			t.Errorf("LookupUser(%q) after UpdatePasswordHash(%q) has the old or a changed hash: the new hash is stored, as a copy", c.username, c.id)
		}
	}
	for _, want := range users {
		if want.Username == "alice" || want.Username == "bob" {
			continue
		}
		got := mustLookupUser(t, s, want.Username)
		for _, d := range diffUser(*got, want) {
			t.Errorf("LookupUser(%q) after updating alice and bob returned %s: UpdatePasswordHash changes one user only", want.Username, d)
		}
	}
}
