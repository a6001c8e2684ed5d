package memstore_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
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

// fam returns a family created at created whose current token lives ttl
// and whose absolute lifetime is familyTTL.
func fam(id, subject string, created time.Time, ttl, familyTTL time.Duration) tollgate.RefreshFamily {
	return tollgate.RefreshFamily{
		ID: id, Subject: subject, Username: subject, ClientID: "c", Scopes: []string{"me"},
		CreatedAt: created, FamilyExpiresAt: created.Add(familyTTL),
		Hash: id + "-0", IssuedAt: created, ExpiresAt: created.Add(ttl),
	}
}

func mustCreate(t *testing.T, s *memstore.RefreshStore, f tollgate.RefreshFamily) {
	t.Helper()
	if _, err := s.Create(context.Background(), f, 100); err != nil {
		t.Fatal(err)
	}
}

func found(s *memstore.RefreshStore, id string) bool {
	_, err := s.Lookup(context.Background(), id)
	return err == nil
}

// TestExpiredFamiliesDropped: a family leaves the store once its current
// token or its absolute lifetime has expired, when a later family is
// created or rotated; a live one stays.
func TestExpiredFamiliesDropped(t *testing.T) {
	s := memstore.NewRefreshStore()
	mustCreate(t, s, fam("short", "a", t0, time.Minute, time.Hour))    // token ends at t0+1m
	mustCreate(t, s, fam("capped", "b", t0, time.Hour, 2*time.Minute)) // family ends at t0+2m
	mustCreate(t, s, fam("live", "c", t0, time.Hour, 24*time.Hour))    // lives on
	mustCreate(t, s, fam("later", "d", t0.Add(3*time.Minute), time.Hour, time.Hour))
	for id, want := range map[string]bool{"short": false, "capped": false, "live": true, "later": true} {
		if found(s, id) != want {
			t.Errorf("after a Create at t0+3m: family %s held = %v, want %v", id, !want, want)
		}
	}
	if s.Len() != 2 {
		t.Errorf("Len = %d, want 2", s.Len())
	}
	// A rotation extends the current token: the family is not dropped at
	// its first token's expiry.
	f := fam("rot", "e", t0, time.Minute, time.Hour)
	mustCreate(t, s, f)
	next := f
	next.Hash, next.IssuedAt, next.ExpiresAt = "rot-1", t0.Add(30*time.Second), t0.Add(30*time.Minute)
	if _, err := s.Rotate(context.Background(), "rot", f.Hash, &next, t0.Add(30*time.Second), 0); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, fam("x", "f", t0.Add(5*time.Minute), time.Hour, time.Hour))
	if !found(s, "rot") {
		t.Error("a rotated family was dropped at its first token's expiry")
	}
}

// TestRefreshCopiesNotAliased: the store keeps and returns copies.
func TestRefreshCopiesNotAliased(t *testing.T) {
	s := memstore.NewRefreshStore()
	f := fam("a", "alice", t0, time.Hour, time.Hour)
	mustCreate(t, s, f)
	f.Scopes[0] = "changed"
	got, _ := s.Lookup(context.Background(), "a")
	if got.Scopes[0] != "me" {
		t.Error("the store aliases the caller's scopes")
	}
	got.Scopes[0] = "changed"
	if again, _ := s.Lookup(context.Background(), "a"); again.Scopes[0] != "me" {
		t.Error("Lookup returns the store's own scopes")
	}
}

// BenchmarkFamilyRotations rotates one family b.N times and reports the
// heap it holds after: O(1) per family, however often it rotates (issue
// 8: 50 000 rotations of one family under 1 MiB).
func BenchmarkFamilyRotations(b *testing.B) {
	ctx := context.Background()
	s := memstore.NewRefreshStore()
	f := fam("a", "alice", t0, time.Hour, 24*time.Hour)
	if _, err := s.Create(ctx, f, 100); err != nil {
		b.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	cur := f
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		now := t0.Add(time.Duration(i) * time.Millisecond)
		next := cur
		next.Hash, next.IssuedAt, next.ExpiresAt = fmt.Sprint("a-", i+1), now, now.Add(time.Hour)
		var err error
		if cur, err = s.Rotate(ctx, "a", cur.Hash, &next, now, 0); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.StopTimer()
	runtime.GC()
	runtime.ReadMemStats(&after)
	if s.Len() != 1 {
		b.Fatalf("%d records after %d rotations, want 1", s.Len(), i)
	}
	b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)), "heapB-total")
}

// TestFamilyRotationsBounded is the same bound as a test: 50 000
// rotations of one family leave one record and grow the heap by less
// than 1 MiB.
func TestFamilyRotationsBounded(t *testing.T) {
	ctx := context.Background()
	s := memstore.NewRefreshStore()
	f := fam("a", "alice", t0, time.Hour, 24*time.Hour)
	if _, err := s.Create(ctx, f, 100); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	cur := f
	for i := range 50_000 {
		now := t0.Add(time.Duration(i) * time.Millisecond)
		next := cur
		next.Hash, next.IssuedAt, next.ExpiresAt = fmt.Sprint("a-", i+1), now, now.Add(time.Hour)
		var err error
		if cur, err = s.Rotate(ctx, "a", cur.Hash, &next, now, 0); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	grew := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("50 000 rotations of one family: %d records, heap grew by %d bytes", s.Len(), grew)
	if s.Len() != 1 || grew > 1<<20 {
		t.Errorf("after 50 000 rotations: %d records, heap grew by %d bytes; want 1 and under 1 MiB", s.Len(), grew)
	}
}

func TestDenylistConformance(t *testing.T) {
	storetest.TestDenylist(t, func(*testing.T) tollgate.Denylist { return memstore.NewDenylist(1000) })
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

// BenchmarkBackendRefreshGrant is storetest's refresh grant on the
// in-memory stores, the reference for the other backends.
func BenchmarkBackendRefreshGrant(b *testing.B) {
	users := memstore.NewUsers()
	storetest.BenchmarkRefreshGrant(b, storetest.Stores{
		Users:   users,
		AddUser: func(_ context.Context, u tollgate.User) error { users.Put(u); return nil },
		Refresh: memstore.NewRefreshStore(), Denylist: memstore.NewDenylist(10000),
	})
}

func TestCountersConformance(t *testing.T) {
	storetest.TestCounterStore(t, func(*testing.T) tollgate.CounterStore { return &memstore.Counters{} })
}

// TestCountersBounded: past MaxKeys live counters, Add fails (the
// throttle then refuses the login: fail closed) and changes nothing,
// rather than forget a counter.
func TestCountersBounded(t *testing.T) {
	c := &memstore.Counters{MaxKeys: 2}
	for _, k := range []string{"a", "b"} {
		if _, _, _, err := c.Add(t.Context(), []tollgate.CounterOp{{Key: k, Delta: 1, Window: time.Hour}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, _, err := c.Add(t.Context(), []tollgate.CounterOp{{Key: "a", Delta: 1, Window: time.Hour}, {Key: "c", Delta: 1, Window: time.Hour}}); err == nil {
		t.Fatal("a third counter past MaxKeys 2 was taken")
	}
	_, _, counts, err := c.Add(t.Context(), []tollgate.CounterOp{{Key: "a", Window: time.Hour}, {Key: "b", Window: time.Hour}})
	if err != nil || counts[0] != 1 || counts[1] != 1 {
		t.Errorf("after the refused Add: %v, %v; want [1 1] (nothing changed, nothing forgotten)", counts, err)
	}
}
