package memstore_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/tollgate-go/tollgate"
	"github.com/tollgate-go/tollgate/memstore"
	"github.com/tollgate-go/tollgate/storetest"
)

func TestRefreshStoreConformance(t *testing.T) {
	storetest.TestRefreshStore(t, func(*testing.T) tollgate.RefreshStore {
		return memstore.NewRefreshStore()
	})
}

func TestRefreshStoreZeroValueConformance(t *testing.T) {
	storetest.TestRefreshStore(t, func(*testing.T) tollgate.RefreshStore {
		return new(memstore.RefreshStore)
	})
}

func TestUserStoreConformance(t *testing.T) {
	storetest.TestUserStore(t, func(_ *testing.T, users []tollgate.User) tollgate.UserStore {
		return memstore.NewUsers(users...)
	})
}

func TestClientStoreConformance(t *testing.T) {
	storetest.TestClientStore(t, func(_ *testing.T, clients []tollgate.Client) tollgate.ClientStore {
		s := &memstore.Clients{}
		for _, c := range clients {
			s.Put(c)
		}
		return s
	})
}

func TestUserStoreZeroValueConformance(t *testing.T) {
	storetest.TestUserStore(t, func(_ *testing.T, users []tollgate.User) tollgate.UserStore {
		var s memstore.Users
		for _, u := range users {
			s.Put(u)
		}
		return &s
	})
}

// t0 is the reference time of the memstore tests; the store never reads
// the clock, so a fixed date is as good as any.
var t0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// rec returns a record issued at issued that expires after ttl, in a
// family that ends after familyTTL counted from t0.
func rec(hash, family string, issued time.Time, ttl, familyTTL time.Duration) tollgate.RefreshToken {
	return tollgate.RefreshToken{
		Hash: hash, Family: family, Subject: "s", Username: "u", ClientID: "c",
		Scopes:   []string{"me"},
		IssuedAt: issued, ExpiresAt: issued.Add(ttl), FamilyExpiresAt: t0.Add(familyTTL),
	}
}

func create(t *testing.T, s *memstore.RefreshStore, rt tollgate.RefreshToken) error {
	t.Helper()
	return s.Create(t.Context(), rt)
}

func mustCreate(t *testing.T, s *memstore.RefreshStore, rt tollgate.RefreshToken) {
	t.Helper()
	if err := create(t, s, rt); err != nil {
		t.Fatalf("Create(%s) = %v", rt.Hash, err)
	}
}

func found(t *testing.T, s *memstore.RefreshStore, hash string) bool {
	t.Helper()
	_, err := s.Lookup(t.Context(), hash)
	if err != nil && !errors.Is(err, tollgate.ErrNotFound) {
		t.Fatalf("Lookup(%s) = %v", hash, err)
	}
	return err == nil
}

// TestExpiredTokensDroppedOnCreate: records whose ExpiresAt has passed
// disappear, lazily, on a later Create; live ones stay.
func TestExpiredTokensDroppedOnCreate(t *testing.T) {
	s := memstore.NewRefreshStore()
	mustCreate(t, s, rec("short1", "f1", t0, time.Hour, 100*time.Hour))
	mustCreate(t, s, rec("short2", "f2", t0, time.Hour, 100*time.Hour))
	mustCreate(t, s, rec("long", "f1", t0, 10*time.Hour, 100*time.Hour))
	if _, err := s.Consume(t.Context(), "short2", t0.Add(time.Minute), nil); err != nil {
		t.Fatal(err)
	}
	if n := s.Len(); n != 3 {
		t.Fatalf("Len() = %d, want 3", n)
	}
	// Lookup does not drop: the library judges expiry, the store only
	// frees memory on writes.
	if !found(t, s, "short1") {
		t.Fatalf("Lookup(short1) before any later Create: not found; want the record (dropping is lazy, on Create)")
	}
	mustCreate(t, s, rec("new", "f3", t0.Add(time.Hour+time.Second), time.Hour, 100*time.Hour))
	if found(t, s, "short1") {
		t.Errorf("unused token with ExpiresAt at t0+1h is still there after a Create at t0+1h+1s: want it dropped")
	}
	if found(t, s, "short2") {
		t.Errorf("spent token with ExpiresAt at t0+1h is still there after a Create at t0+1h+1s: want it dropped")
	}
	if !found(t, s, "long") || !found(t, s, "new") {
		t.Errorf("live tokens were dropped")
	}
	if n := s.Len(); n != 2 {
		t.Errorf("Len() after dropping = %d, want 2", n)
	}
}

// TestExpiredTokensNotDroppedEarly: a token expiring exactly at the new
// record's IssuedAt is dropped, one a nanosecond later is not.
func TestExpiredTokensNotDroppedEarly(t *testing.T) {
	s := memstore.NewRefreshStore()
	mustCreate(t, s, rec("a", "f1", t0, time.Hour+time.Nanosecond, 100*time.Hour))
	mustCreate(t, s, rec("b", "f1", t0.Add(time.Hour), time.Hour, 100*time.Hour))
	if !found(t, s, "a") {
		t.Errorf("token expiring after the Create's IssuedAt was dropped")
	}
}

// TestExpiredFamilyDroppedOnCreate: when a family's FamilyExpiresAt has
// passed, all its records go, even those whose own ExpiresAt is later.
func TestExpiredFamilyDroppedOnCreate(t *testing.T) {
	s := memstore.NewRefreshStore()
	mustCreate(t, s, rec("a1", "fa", t0, 50*time.Hour, 2*time.Hour))
	mustCreate(t, s, rec("a2", "fa", t0.Add(time.Hour), 50*time.Hour, 2*time.Hour))
	mustCreate(t, s, rec("b1", "fb", t0, 50*time.Hour, 100*time.Hour))
	if n := s.Len(); n != 3 {
		t.Fatalf("Len() = %d, want 3", n)
	}
	mustCreate(t, s, rec("b2", "fb", t0.Add(2*time.Hour+time.Second), time.Hour, 100*time.Hour))
	if found(t, s, "a1") || found(t, s, "a2") {
		t.Errorf("tokens of a family past its FamilyExpiresAt are still there after a later Create")
	}
	if n := s.Len(); n != 2 {
		t.Errorf("Len() after the family expired = %d, want 2", n)
	}
}

// TestRevokedFamilyRememberedUntilItExpires: a revoked family refuses new
// tokens until its FamilyExpiresAt, then is forgotten, so revocations do
// not accumulate forever.
func TestRevokedFamilyRememberedUntilItExpires(t *testing.T) {
	s := memstore.NewRefreshStore()
	mustCreate(t, s, rec("a1", "fa", t0, time.Hour, 10*time.Hour))
	if err := s.RevokeFamily(t.Context(), "fa"); err != nil {
		t.Fatal(err)
	}
	if n := s.Len(); n != 0 {
		t.Errorf("Len() after revoking the only family = %d, want 0 (revoked tokens are deleted)", n)
	}
	// Other families' Creates run the expiry sweep in between.
	mustCreate(t, s, rec("b1", "fb", t0.Add(5*time.Hour), time.Hour, 100*time.Hour))
	if err := create(t, s, rec("a2", "fa", t0.Add(9*time.Hour), time.Hour, 10*time.Hour)); !errors.Is(err, tollgate.ErrNotFound) {
		t.Errorf("Create in a revoked family before its FamilyExpiresAt = %v, want ErrNotFound (the revocation is remembered)", err)
	}
	// Past FamilyExpiresAt the family is forgotten: a record naming it
	// starts a new family (the library never creates one, as the family
	// has expired; this only shows the memory is freed).
	mustCreate(t, s, rec("b2", "fb", t0.Add(11*time.Hour), time.Hour, 100*time.Hour))
	if err := create(t, s, rec("a3", "fa", t0.Add(11*time.Hour), time.Hour, 20*time.Hour)); err != nil {
		t.Errorf("Create in a family revoked and expired = %v, want nil (expired revocations are forgotten)", err)
	}
}

// TestRefreshCopiesNotAliased: the store keeps its own copies; neither the
// caller's record nor a returned one shares memory with it.
func TestRefreshCopiesNotAliased(t *testing.T) {
	s := memstore.NewRefreshStore()
	rt := rec("h", "f", t0, time.Hour, 2*time.Hour)
	rt.Scopes = []string{"me", "items:read"}
	mustCreate(t, s, rt)
	rt.Scopes[0] = "admin:users"
	got, err := s.Lookup(t.Context(), "h")
	if err != nil {
		t.Fatal(err)
	}
	got.Scopes[1] = "admin:users"
	got.UsedAt = t0 // a returned record is a copy: this spends nothing
	spent, err := s.Consume(t.Context(), "h", t0.Add(time.Minute), nil)
	if err != nil {
		t.Fatalf("Consume after mutating a Lookup result = %v, want nil", err)
	}
	if want := []string{"me", "items:read"}; !slices.Equal(spent.Scopes, want) {
		t.Errorf("stored Scopes = %q, want %q", spent.Scopes, want)
	}
	spent.Scopes[0] = "x"
	again, _ := s.Lookup(t.Context(), "h")
	if again.Scopes[0] != "me" {
		t.Errorf("mutating Consume's result changed the store")
	}
}

func TestUsersCopiesNotAliased(t *testing.T) {
	u := tollgate.User{Username: "alice", PasswordHash: []byte("hash"), Scopes: []string{"me"}}
	s := memstore.NewUsers(u)
	u.PasswordHash[0], u.Scopes[0] = 'X', "admin:users"
	got, err := s.LookupUser(t.Context(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if string(got.PasswordHash) != "hash" || got.Scopes[0] != "me" {
		t.Fatalf("NewUsers kept the caller's slices: hash %q, scopes %q", got.PasswordHash, got.Scopes)
	}
	got.PasswordHash[0], got.Scopes[0] = 'Y', "admin:users"
	got.Disabled = true
	again, _ := s.LookupUser(t.Context(), "alice")
	if string(again.PasswordHash) != "hash" || again.Scopes[0] != "me" || again.Disabled {
		t.Errorf("mutating LookupUser's result changed the store")
	}
}

func TestUsersSetDisabledAndDelete(t *testing.T) {
	s := memstore.NewUsers(tollgate.User{Username: "alice"})
	if !s.SetDisabled("alice", true) {
		t.Fatal("SetDisabled(alice) = false, want true")
	}
	if s.SetDisabled("nobody", true) {
		t.Error("SetDisabled(nobody) = true, want false")
	}
	if u, _ := s.LookupUser(t.Context(), "alice"); u == nil || !u.Disabled {
		t.Errorf("alice not disabled")
	}
	s.Delete("alice")
	if _, err := s.LookupUser(t.Context(), "alice"); !errors.Is(err, tollgate.ErrNotFound) {
		t.Errorf("LookupUser(deleted) = %v, want ErrNotFound", err)
	}
}
