// Package storetest checks implementations of [tollgate.RefreshStore] and
// [tollgate.UserStore] against the contracts documented on those
// interfaces. Every store, in this module or outside it, runs the suite
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
// (ConsumeReturnsCreated, SecondConsumeIsReuse, ...), and each failure
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
// ([tollgate.FamilyLister] for a RefreshStore, [tollgate.PasswordUpdater]
// for a UserStore) and their subtests skipped otherwise, as is
// ContextCanceled for a store that ignores its context.
//
// The package imports only the standard library (testing among it) and
// tollgate itself, so a store's module takes on no test framework by
// running it.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
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
	run("ConsumeReturnsCreated", refreshConsumeReturnsCreated)
	run("SecondConsumeIsReuse", refreshSecondConsumeIsReuse)
	run("LookupDoesNotSpend", refreshLookupDoesNotSpend)
	run("UnknownIsNotFound", refreshUnknownIsNotFound)
	run("RevokedFamilyIsNotFound", refreshRevokedFamilyIsNotFound)
	run("CreateInRevokedFamilyIsNotFound", refreshCreateInRevokedFamilyIsNotFound)
	run("RevokeUnknownFamilyIsNoError", refreshRevokeUnknownFamilyIsNoError)
	run("ScopesRoundTrip", refreshScopesRoundTrip)
	run("TimesRoundTrip", refreshTimesRoundTrip)
	run("ContextCanceled", refreshContextCanceled)
	run("ConsumeStoresSuccessor", refreshConsumeStoresSuccessor)
	run("ReusedConsumeStoresNoSuccessor", refreshReusedConsumeStoresNoSuccessor)
	run("ConcurrentConsumeSucceedsOnce", refreshConcurrentConsumeSucceedsOnce)
	run("ConcurrentRotationStoresOneSuccessor", refreshConcurrentRotation)
	run("ConcurrentCreateConsumeRevoke", refreshConcurrentCreateConsumeRevoke)
	run("FamilyListerListsFamily", refreshListFamily)
}

// base is the reference time of the suite: whole seconds, in a zone that
// is neither UTC nor Local, without a monotonic reading, an hour ahead of
// the real clock when first called (stores never read the clock; see the
// package doc). It is fixed for the life of the test binary, so records
// built at different moments compare equal.
var base = sync.OnceValue(func() time.Time {
	return time.Now().Add(time.Hour).Truncate(time.Second).In(time.FixedZone("UTC+5:30", 5*3600+30*60))
})

// token returns a complete record with the given hash and family.
func token(hash, family string) tollgate.RefreshToken {
	b := base()
	return tollgate.RefreshToken{
		Hash:            hash,
		Family:          family,
		Subject:         "sub-" + family,
		Username:        "user-" + family,
		ClientID:        "client-" + family,
		Scopes:          []string{"me", "items:read"},
		IssuedAt:        b,
		ExpiresAt:       b.Add(24 * time.Hour),
		FamilyExpiresAt: b.Add(72 * time.Hour),
		AccessTokenID:   "jti-" + hash,
		AccessExpiresAt: b.Add(15 * time.Minute),
	}
}

func mustCreate(t *testing.T, s tollgate.RefreshStore, rt tollgate.RefreshToken) {
	t.Helper()
	if err := s.Create(t.Context(), rt); err != nil {
		t.Fatalf("Create(%q in family %q) = %v, want nil (a new token in a live family is stored)", rt.Hash, rt.Family, err)
	}
}

func mustConsume(t *testing.T, s tollgate.RefreshStore, hash string, now time.Time) tollgate.RefreshToken {
	t.Helper()
	got, err := s.Consume(t.Context(), hash, now, nil)
	if err != nil {
		t.Fatalf("first Consume(%q) = %v, want nil (an unused token can be spent once)", hash, err)
	}
	return got
}

// diffToken lists the fields of got that differ from want, comparing
// times with Equal.
func diffToken(got, want tollgate.RefreshToken) []string {
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
	str("Hash", got.Hash, want.Hash)
	str("Family", got.Family, want.Family)
	str("Subject", got.Subject, want.Subject)
	str("Username", got.Username, want.Username)
	str("ClientID", got.ClientID, want.ClientID)
	if !slices.Equal(got.Scopes, want.Scopes) {
		d = append(d, fmt.Sprintf("Scopes = %q, want %q", got.Scopes, want.Scopes))
	}
	tm("IssuedAt", got.IssuedAt, want.IssuedAt)
	tm("ExpiresAt", got.ExpiresAt, want.ExpiresAt)
	tm("FamilyExpiresAt", got.FamilyExpiresAt, want.FamilyExpiresAt)
	tm("UsedAt", got.UsedAt, want.UsedAt)
	str("AccessTokenID", got.AccessTokenID, want.AccessTokenID)
	tm("AccessExpiresAt", got.AccessExpiresAt, want.AccessExpiresAt)
	if got.Reuses != want.Reuses {
		d = append(d, fmt.Sprintf("Reuses = %d, want %d", got.Reuses, want.Reuses))
	}
	return d
}

func refreshConsumeReturnsCreated(t *testing.T, s tollgate.RefreshStore) {
	rt := token("h1", "f1")
	mustCreate(t, s, rt)
	now := base().Add(time.Minute)
	got := mustConsume(t, s, "h1", now)
	want := rt
	want.UsedAt = now
	for _, d := range diffToken(got, want) {
		t.Errorf("Consume(h1) returned %s: Consume must return the record as created, with UsedAt set to its now argument", d)
	}
}

func refreshSecondConsumeIsReuse(t *testing.T, s tollgate.RefreshStore) {
	mustCreate(t, s, token("h1", "f1"))
	first := base().Add(time.Minute)
	mustConsume(t, s, "h1", first)
	for i := 1; i <= 2; i++ {
		now := first.Add(time.Duration(i) * time.Minute)
		got, err := s.Consume(t.Context(), "h1", now, nil)
		if !errors.Is(err, tollgate.ErrReused) {
			t.Fatalf("Consume #%d of a spent token = %v, want an error wrapping ErrReused (a spent token must be detected)", i+1, err)
		}
		if got.Family != "f1" {
			t.Errorf("Consume #%d of a spent token returned Family %q, want %q (the library needs it to revoke the family)", i+1, got.Family, "f1")
		}
		if !got.UsedAt.Equal(first) {
			t.Errorf("Consume #%d of a spent token returned UsedAt %v, want the first use %v (a reuse must not move UsedAt: the grace period is measured from it)", i+1, got.UsedAt, first)
		}
		if got.Reuses != i {
			t.Errorf("Consume #%d of a spent token returned Reuses %d, want %d (each presentation after the first is counted)", i+1, got.Reuses, i)
		}
	}
}

func refreshLookupDoesNotSpend(t *testing.T, s tollgate.RefreshStore) {
	rt := token("h1", "f1")
	mustCreate(t, s, rt)
	for i := range 2 {
		got, err := s.Lookup(t.Context(), "h1")
		if err != nil {
			t.Fatalf("Lookup #%d(h1) = %v, want nil (a created token can be looked up)", i+1, err)
		}
		for _, d := range diffToken(got, rt) {
			t.Errorf("Lookup #%d(h1) returned %s: Lookup must return the record unchanged", i+1, d)
		}
	}
	now := base().Add(time.Minute)
	mustConsume(t, s, "h1", now)
	got, err := s.Lookup(t.Context(), "h1")
	if err != nil {
		t.Fatalf("Lookup(h1) after Consume = %v, want nil (a spent token stays visible, so its reuse can be detected)", err)
	}
	if !got.UsedAt.Equal(now) || got.Reuses != 0 {
		t.Errorf("Lookup(h1) after Consume: UsedAt %v, Reuses %d; want %v, 0 (Lookup shows the spend and does not count as a reuse)", got.UsedAt, got.Reuses, now)
	}
	if _, err := s.Consume(t.Context(), "h1", now.Add(time.Minute), nil); !errors.Is(err, tollgate.ErrReused) {
		t.Errorf("Consume(h1) after Lookups and one Consume = %v, want ErrReused", err)
	}
}

func refreshUnknownIsNotFound(t *testing.T, s tollgate.RefreshStore) {
	mustCreate(t, s, token("h1", "f1"))
	if _, err := s.Lookup(t.Context(), "nope"); !errors.Is(err, tollgate.ErrNotFound) {
		t.Errorf("Lookup(unknown hash) = %v, want an error wrapping ErrNotFound", err)
	}
	if _, err := s.Consume(t.Context(), "nope", base(), nil); !errors.Is(err, tollgate.ErrNotFound) {
		t.Errorf("Consume(unknown hash) = %v, want an error wrapping ErrNotFound", err)
	}
	if _, err := s.Lookup(t.Context(), "nope"); !errors.Is(err, tollgate.ErrNotFound) {
		t.Errorf("Lookup(unknown hash) after Consume(unknown hash) = %v, want ErrNotFound (Consume must not create records)", err)
	}
}

func refreshRevokedFamilyIsNotFound(t *testing.T, s tollgate.RefreshStore) {
	mustCreate(t, s, token("h1", "f1"))
	mustCreate(t, s, token("h2", "f1"))
	mustCreate(t, s, token("h3", "f2"))
	mustConsume(t, s, "h1", base().Add(time.Minute))
	if err := s.RevokeFamily(t.Context(), "f1"); err != nil {
		t.Fatalf("RevokeFamily(f1) = %v, want nil", err)
	}
	for _, h := range []string{"h1", "h2"} {
		if _, err := s.Lookup(t.Context(), h); !errors.Is(err, tollgate.ErrNotFound) {
			t.Errorf("Lookup(%s) in a revoked family = %v, want ErrNotFound (revocation kills every token of the family, spent or not)", h, err)
		}
		if _, err := s.Consume(t.Context(), h, base().Add(2*time.Minute), nil); !errors.Is(err, tollgate.ErrNotFound) {
			t.Errorf("Consume(%s) in a revoked family = %v, want ErrNotFound (revocation kills every token of the family, spent or not)", h, err)
		}
	}
	if _, err := s.Lookup(t.Context(), "h3"); err != nil {
		t.Errorf("Lookup(h3) of another family = %v, want nil (RevokeFamily must leave other families alone)", err)
	}
	if _, err := s.Consume(t.Context(), "h3", base(), nil); err != nil {
		t.Errorf("Consume(h3) of another family = %v, want nil (RevokeFamily must leave other families alone)", err)
	}
}

func refreshCreateInRevokedFamilyIsNotFound(t *testing.T, s tollgate.RefreshStore) {
	mustCreate(t, s, token("h1", "f1"))
	mustConsume(t, s, "h1", base().Add(time.Minute))
	if err := s.RevokeFamily(t.Context(), "f1"); err != nil {
		t.Fatalf("RevokeFamily(f1) = %v, want nil", err)
	}
	late := token("h2", "f1")
	late.IssuedAt = base().Add(2 * time.Minute)
	if err := s.Create(t.Context(), late); !errors.Is(err, tollgate.ErrNotFound) {
		t.Errorf("Create(h2) in a revoked family = %v, want ErrNotFound (a rotation racing a revocation must not revive the family)", err)
	}
	if _, err := s.Lookup(t.Context(), "h2"); !errors.Is(err, tollgate.ErrNotFound) {
		t.Errorf("Lookup(h2) after a refused Create in a revoked family = %v, want ErrNotFound", err)
	}
	mustCreate(t, s, token("h3", "f2"))
}

func refreshRevokeUnknownFamilyIsNoError(t *testing.T, s tollgate.RefreshStore) {
	if err := s.RevokeFamily(t.Context(), "never-seen"); err != nil {
		t.Errorf("RevokeFamily(unknown) = %v, want nil (revoking an unknown family is not an error)", err)
	}
	mustCreate(t, s, token("h1", "f1"))
	for i := range 2 {
		if err := s.RevokeFamily(t.Context(), "f1"); err != nil {
			t.Errorf("RevokeFamily(f1) #%d = %v, want nil (revocation is idempotent)", i+1, err)
		}
	}
}

func refreshScopesRoundTrip(t *testing.T, s tollgate.RefreshStore) {
	want := []string{"zeta", "alpha", "items:write", "me"}
	rt := token("h1", "f1")
	rt.Scopes = slices.Clone(want)
	mustCreate(t, s, rt)
	rt.Scopes[0] = "admin:everything" // the caller reuses its slice
	got, err := s.Lookup(t.Context(), "h1")
	if err != nil {
		t.Fatalf("Lookup(h1) = %v, want nil", err)
	}
	if !slices.Equal(got.Scopes, want) {
		t.Fatalf("Lookup(h1).Scopes = %q, want %q (scopes round-trip in order, and the store keeps its own copy of the caller's slice)", got.Scopes, want)
	}
	got.Scopes[1] = "admin:everything"
	spent := mustConsume(t, s, "h1", base())
	if !slices.Equal(spent.Scopes, want) {
		t.Errorf("Consume(h1).Scopes = %q, want %q (a record returned by Lookup is the caller's copy)", spent.Scopes, want)
	}

	rt = token("h2", "f1")
	rt.Scopes = nil
	mustCreate(t, s, rt)
	if got, err := s.Lookup(t.Context(), "h2"); err != nil || len(got.Scopes) != 0 {
		t.Errorf("Lookup(h2) with no scopes = %q, %v; want no scopes, nil", got.Scopes, err)
	}
}

func refreshTimesRoundTrip(t *testing.T, s tollgate.RefreshStore) {
	rt := token("h1", "f1")
	// Distinct values, so that a store mixing up columns fails.
	rt.IssuedAt = base()
	rt.ExpiresAt = base().Add(90 * time.Minute)
	rt.FamilyExpiresAt = base().Add(49 * time.Hour)
	mustCreate(t, s, rt)
	got, err := s.Lookup(t.Context(), "h1")
	if err != nil {
		t.Fatalf("Lookup(h1) = %v, want nil", err)
	}
	for _, d := range diffToken(got, rt) {
		t.Errorf("Lookup(h1) returned %s: times round-trip (compared with Equal)", d)
	}
	used := base().Add(17 * time.Minute).UTC()
	got = mustConsume(t, s, "h1", used)
	if !got.UsedAt.Equal(used) {
		t.Errorf("Consume(h1, %v).UsedAt = %v: UsedAt is the now argument", used, got.UsedAt)
	}
}

func refreshContextCanceled(t *testing.T, s tollgate.RefreshStore) {
	mustCreate(t, s, token("h1", "f1"))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	calls := []struct {
		name string
		call func() error
	}{
		{"Create", func() error { return s.Create(ctx, token("h2", "f1")) }},
		{"Lookup", func() error { _, err := s.Lookup(ctx, "h1"); return err }},
		{"Consume", func() error { _, err := s.Consume(ctx, "h1", base(), nil); return err }},
		{"RevokeFamily", func() error { return s.RevokeFamily(ctx, "f1") }},
	}
	honoured := 0
	for _, c := range calls {
		err := withoutHanging(t, c.name, c.call)
		if err == nil {
			continue
		}
		honoured++
		if errors.Is(err, tollgate.ErrNotFound) || errors.Is(err, tollgate.ErrReused) {
			t.Errorf("%s with a canceled context = %v: it must not look like ErrNotFound or ErrReused, or the library takes a server fault for a bad token", c.name, err)
		}
	}
	if honoured == 0 {
		t.Skip("the store ignores the context")
	}
}

// withoutHanging runs call and fails the test if it does not return
// within a minute: a store must not block on a canceled context. The
// bound is a hang detector, not a timing check.
func withoutHanging(t *testing.T, name string, call func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- call() }()
	timer := time.NewTimer(time.Minute)
	defer timer.Stop()
	select {
	case err := <-done:
		return err
	case <-timer.C:
		t.Fatalf("%s with a canceled context did not return within a minute: a store must not hang on a canceled context", name)
		return nil
	}
}

func refreshConsumeStoresSuccessor(t *testing.T, s tollgate.RefreshStore) {
	mustCreate(t, s, token("h1", "f1"))
	next := token("h2", "f1")
	next.IssuedAt = base().Add(time.Minute)
	if _, err := s.Consume(t.Context(), "h1", base().Add(time.Minute), &next); err != nil {
		t.Fatalf("Consume(h1, next h2) = %v, want nil", err)
	}
	got, err := s.Lookup(t.Context(), "h2")
	if err != nil {
		t.Fatalf("Lookup(h2) after Consume(h1, next h2) = %v, want the successor stored in the same step", err)
	}
	if d := diffToken(got, next); len(d) > 0 {
		t.Errorf("successor stored by Consume differs from next: %s", d)
	}
	if err := s.RevokeFamily(t.Context(), "f1"); err != nil {
		t.Fatalf("RevokeFamily(f1) = %v", err)
	}
	if _, err := s.Lookup(t.Context(), "h2"); !errors.Is(err, tollgate.ErrNotFound) {
		t.Errorf("Lookup(h2) after RevokeFamily(f1) = %v, want ErrNotFound (the successor belongs to the family)", err)
	}
}

func refreshReusedConsumeStoresNoSuccessor(t *testing.T, s tollgate.RefreshStore) {
	mustCreate(t, s, token("h1", "f1"))
	mustConsume(t, s, "h1", base())
	next := token("h2", "f1")
	if _, err := s.Consume(t.Context(), "h1", base().Add(time.Minute), &next); !errors.Is(err, tollgate.ErrReused) {
		t.Fatalf("second Consume(h1, next h2) = %v, want ErrReused", err)
	}
	if _, err := s.Lookup(t.Context(), "h2"); !errors.Is(err, tollgate.ErrNotFound) {
		t.Errorf("Lookup(h2) after a Consume that failed with ErrReused = %v, want ErrNotFound (a failed spend stores no successor)", err)
	}
}

// refreshConcurrentRotation: of concurrent Consume calls for one hash, each
// with its own successor, exactly one succeeds and exactly its successor is
// stored.
func refreshConcurrentRotation(t *testing.T, s tollgate.RefreshStore) {
	const n = 16
	mustCreate(t, s, token("h1", "f1"))
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			next := token(fmt.Sprintf("next%d", i), "f1")
			_, errs[i] = s.Consume(t.Context(), "h1", base().Add(time.Second), &next)
		}()
	}
	wg.Wait()
	won := -1
	for i, err := range errs {
		switch {
		case err == nil && won >= 0:
			t.Fatalf("Consume calls %d and %d both succeeded: spending is atomic", won, i)
		case err == nil:
			won = i
		case !errors.Is(err, tollgate.ErrReused):
			t.Errorf("concurrent Consume(h1, next) = %v, want nil or ErrReused", err)
		}
	}
	if won < 0 {
		t.Fatalf("none of %d concurrent Consume(h1, next) calls succeeded, want exactly 1", n)
	}
	for i := range n {
		_, err := s.Lookup(t.Context(), fmt.Sprintf("next%d", i))
		if i == won && err != nil {
			t.Errorf("Lookup of the winner's successor = %v, want it stored", err)
		}
		if i != won && !errors.Is(err, tollgate.ErrNotFound) {
			t.Errorf("Lookup of loser %d's successor = %v, want ErrNotFound (only the winning spend stores its successor)", i, err)
		}
	}
}

func refreshConcurrentConsumeSucceedsOnce(t *testing.T, s tollgate.RefreshStore) {
	const n = 32
	mustCreate(t, s, token("h1", "f1"))
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			_, errs[i] = s.Consume(t.Context(), "h1", base().Add(time.Duration(i)*time.Second), nil)
		})
	}
	close(start)
	wg.Wait()
	ok, reused := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, tollgate.ErrReused):
			reused++
		default:
			t.Errorf("concurrent Consume(h1) = %v, want nil or ErrReused", err)
		}
	}
	if ok != 1 || reused != n-1 {
		t.Fatalf("%d of %d concurrent Consume(h1) calls succeeded and %d got ErrReused; want exactly 1 and %d (spending is atomic)", ok, n, reused, n-1)
	}
	got, err := s.Lookup(t.Context(), "h1")
	if err != nil {
		t.Fatalf("Lookup(h1) = %v, want nil", err)
	}
	if got.Reuses != n-1 {
		t.Errorf("Lookup(h1).Reuses = %d after %d concurrent Consume calls, want %d (each reuse is counted atomically)", got.Reuses, n, n-1)
	}
}

// refreshConcurrentCreateConsumeRevoke rotates several families at once
// while some of them are revoked, as concurrent refresh and revocation
// requests do. Under the race detector it shows the store's locking; its
// end state shows that a revoked family stays dead whatever the order.
func refreshConcurrentCreateConsumeRevoke(t *testing.T, s tollgate.RefreshStore) {
	const families, chain = 8, 16
	hash := func(f, i int) string { return fmt.Sprintf("h-%d-%d", f, i) }
	fam := func(f int) string { return fmt.Sprintf("f%d", f) }
	for f := range families {
		mustCreate(t, s, token(hash(f, 0), fam(f)))
	}
	var wg sync.WaitGroup
	errc := make(chan error, families*chain*4)
	for f := range families {
		// The rotation: spend each token and create its successor.
		wg.Go(func() {
			for i := 0; i+1 < chain; i++ {
				now := base().Add(time.Duration(i) * time.Second)
				if _, err := s.Consume(t.Context(), hash(f, i), now, nil); err != nil {
					if !errors.Is(err, tollgate.ErrNotFound) {
						errc <- fmt.Errorf("Consume(%s) = %v, want nil or ErrNotFound (revoked): a token is spent only once", hash(f, i), err)
					}
					return
				}
				next := token(hash(f, i+1), fam(f))
				next.IssuedAt = now
				err := s.Create(t.Context(), next)
				if err != nil {
					if !errors.Is(err, tollgate.ErrNotFound) {
						errc <- fmt.Errorf("Create(%s) = %v, want nil or ErrNotFound (revoked)", hash(f, i+1), err)
					}
					return
				}
			}
		})
		// Readers and, for odd families, a revocation midway.
		wg.Go(func() {
			for i := range chain {
				_, err := s.Lookup(t.Context(), hash(f, i))
				if err != nil && !errors.Is(err, tollgate.ErrNotFound) {
					errc <- fmt.Errorf("Lookup(%s) = %v, want nil or ErrNotFound", hash(f, i), err)
				}
				if f%2 == 1 && i == chain/2 {
					if err := s.RevokeFamily(t.Context(), fam(f)); err != nil {
						errc <- fmt.Errorf("RevokeFamily(%s) = %v, want nil", fam(f), err)
					}
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	for f := range families {
		for i := range chain {
			_, err := s.Lookup(t.Context(), hash(f, i))
			switch {
			case f%2 == 1 && !errors.Is(err, tollgate.ErrNotFound):
				t.Errorf("Lookup(%s) after its family was revoked = %v, want ErrNotFound (no Create, before or after the revocation, may revive a revoked family)", hash(f, i), err)
			case f%2 == 0 && err != nil:
				t.Errorf("Lookup(%s) of a live family = %v, want nil (concurrent work on other families must not disturb it)", hash(f, i), err)
			}
		}
	}
}

// refreshListFamily checks the optional [tollgate.FamilyLister].
func refreshListFamily(t *testing.T, s tollgate.RefreshStore) {
	fl, ok := s.(tollgate.FamilyLister)
	if !ok {
		t.Skip("the store does not implement tollgate.FamilyLister")
	}
	mustCreate(t, s, token("h1", "f1"))
	mustCreate(t, s, token("h2", "f1"))
	mustCreate(t, s, token("h3", "f2"))
	now := base().Add(time.Minute)
	mustConsume(t, s, "h1", now)
	list, err := fl.ListFamily(t.Context(), "f1")
	if err != nil {
		t.Fatalf("ListFamily(f1) = %v, want nil", err)
	}
	var hashes []string
	for _, rt := range list {
		hashes = append(hashes, rt.Hash)
		want := token(rt.Hash, "f1")
		if rt.Hash == "h1" {
			want.UsedAt = now
		}
		for _, d := range diffToken(rt, want) {
			t.Errorf("ListFamily(f1) returned %s for %s: listed records are complete", d, rt.Hash)
		}
	}
	slices.Sort(hashes)
	if !slices.Equal(hashes, []string{"h1", "h2"}) {
		t.Errorf("ListFamily(f1) listed %q, want [h1 h2] (every token of the family, spent ones included, and no other family's)", hashes)
	}
	if list, err := fl.ListFamily(t.Context(), "unknown"); err != nil || len(list) != 0 {
		t.Errorf("ListFamily(unknown) = %d records, %v; want none, nil", len(list), err)
	}
	if err := s.RevokeFamily(t.Context(), "f1"); err != nil {
		t.Fatalf("RevokeFamily(f1) = %v", err)
	}
	if list, err := fl.ListFamily(t.Context(), "f1"); err != nil || len(list) != 0 {
		t.Errorf("ListFamily(f1) after revocation = %d records, %v; want none, nil", len(list), err)
	}
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
// subtest and must return a store holding exactly clients. Client ids are
// case-sensitive.
func TestClientStore(t *testing.T, newStore func(t *testing.T, clients []tollgate.Client) tollgate.ClientStore) {
	t.Helper()
	clients := []tollgate.Client{{ID: "tollgate"}, {ID: "web-app"}, {ID: "Web-App"}, {ID: "cli:v2"}}
	t.Run("Found", func(t *testing.T) {
		s := newStore(t, clients)
		for _, want := range clients {
			c, err := s.LookupClient(t.Context(), want.ID)
			if err != nil || c == nil || c.ID != want.ID {
				t.Errorf("LookupClient(%q) = %v, %v; want the client", want.ID, c, err)
			}
		}
	})
	t.Run("NotFoundWrapsErrNotFound", func(t *testing.T) {
		s := newStore(t, clients)
		for _, id := range []string{"mallory", "WEB-APP", "web-app ", ""} {
			if c, err := s.LookupClient(t.Context(), id); !errors.Is(err, tollgate.ErrNotFound) {
				t.Errorf("LookupClient(%q) = %v, %v; want an error wrapping ErrNotFound (ids are case-sensitive)", id, c, err)
			}
		}
	})
}

func mustLookupUser(t *testing.T, s tollgate.UserStore, name string) *tollgate.User {
	t.Helper()
	u, err := s.LookupUser(t.Context(), name)
	if err != nil {
		t.Fatalf("LookupUser(%q) = %v, want nil (the user was in the store's initial users)", name, err)
	}
	if u == nil {
		t.Fatalf("LookupUser(%q) = nil, nil: a found user must not be nil", name)
	}
	return u
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
	var wg sync.WaitGroup
	errc := make(chan error, 8*len(users))
	for range 8 {
		wg.Go(func() {
			for _, want := range users {
				u, err := s.LookupUser(t.Context(), want.Username)
				if err != nil || u == nil || u.Username != want.Username {
					errc <- fmt.Errorf("concurrent LookupUser(%q) = %v, %v; want the user (a UserStore is safe for concurrent use)", want.Username, u, err)
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
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
