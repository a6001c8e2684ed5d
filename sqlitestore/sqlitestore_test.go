package sqlitestore_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-go/tollgate"
	"github.com/tollgate-go/tollgate/sqlitestore"
	"github.com/tollgate-go/tollgate/storetest"
)

// open returns a new database in t's temporary directory, closed at the
// end of the test.
func open(t testing.TB) (*sqlitestore.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tollgate.db")
	db, err := sqlitestore.Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db, path
}

func TestRefreshStoreConformance(t *testing.T) {
	storetest.TestRefreshStore(t, func(t *testing.T) tollgate.RefreshStore {
		db, _ := open(t)
		return db.Refresh()
	})
}

func TestUserStoreConformance(t *testing.T) {
	storetest.TestUserStore(t, func(t *testing.T, users []tollgate.User) tollgate.UserStore {
		db, _ := open(t)
		for _, u := range users {
			if err := db.Users().Put(t.Context(), u); err != nil {
				t.Fatal(err)
			}
		}
		return db.Users()
	})
}

func TestClientStoreConformance(t *testing.T) {
	storetest.TestClientStore(t, func(t *testing.T, clients []tollgate.Client) tollgate.ClientStore {
		db, _ := open(t)
		for _, c := range clients {
			if err := db.Clients().Put(t.Context(), c); err != nil {
				t.Fatal(err)
			}
		}
		return db.Clients()
	})
}

func TestDenylistConformance(t *testing.T) {
	storetest.TestDenylist(t, func(t *testing.T) tollgate.Denylist {
		db, _ := open(t)
		return db.Denylist()
	})
}

// family is a live family of subject, created now.
func family(id, subject string, now time.Time) tollgate.RefreshFamily {
	return tollgate.RefreshFamily{
		ID: id, Subject: subject, Username: subject, ClientID: "tollgate", Scopes: []string{"me"},
		CreatedAt: now, FamilyExpiresAt: now.Add(24 * time.Hour),
		Hash: id + "-h0", IssuedAt: now, ExpiresAt: now.Add(time.Hour), KeepUntil: now.Add(15 * time.Minute),
	}
}

// TestSurvivesReopen: what the stores hold is in the file, so a restart
// (a new Open of the same path) keeps users, sessions and revocations.
func TestSurvivesReopen(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "tollgate.db")
	db, err := sqlitestore.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Truncate(time.Second)
	if err := db.Users().Put(ctx, tollgate.User{Username: "alice", PasswordHash: []byte("h"), Scopes: []string{"me"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Refresh().Create(ctx, family("fam", "alice", now), 10); err != nil {
		t.Fatal(err)
	}
	if err := db.Denylist().Deny(ctx, "sid:x", now.Add(time.Hour), now); err != nil {
		t.Fatal(err)
	}
	if err := db.Clients().Put(ctx, tollgate.Client{ID: "svc", SecretHash: []byte("h"), Grants: []string{"client_credentials"}}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = sqlitestore.Open(ctx, path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer db.Close()
	if _, err := db.Users().LookupUser(ctx, "alice"); err != nil {
		t.Errorf("user after reopen: %v", err)
	}
	if f, err := db.Refresh().Lookup(ctx, "fam"); err != nil || f.Hash != "fam-h0" {
		t.Errorf("family after reopen: %+v, %v", f, err)
	}
	if denied, err := db.Denylist().IsDenied(ctx, "sid:x"); err != nil || !denied {
		t.Errorf("denylist after reopen: %v, %v", denied, err)
	}
	if c, err := db.Clients().LookupClient(ctx, "svc"); err != nil || string(c.SecretHash) != "h" {
		t.Errorf("client after reopen: %v", err)
	}
}

// TestMigrations: Open applies the schema once (a second Open changes
// nothing), and refuses a database from a newer version of the package.
func TestMigrations(t *testing.T) {
	ctx := t.Context()
	db, path := open(t)
	if err := db.Users().Put(ctx, tollgate.User{Username: "alice", PasswordHash: []byte("h")}); err != nil {
		t.Fatal(err)
	}
	again, err := sqlitestore.Open(ctx, path)
	if err != nil {
		t.Fatalf("second Open: %v", err)
	}
	if _, err := again.Users().LookupUser(ctx, "alice"); err != nil {
		t.Errorf("second Open lost data: %v", err)
	}
	_ = again.Close()
	// A database of version 1 (before clients) gains the clients table,
	// its users kept.
	if err := sqlitestore.ExecForTest(ctx, db, "DROP TABLE clients; DELETE FROM schema_migrations WHERE version > 1"); err != nil {
		t.Fatal(err)
	}
	again, err = sqlitestore.Open(ctx, path)
	if err != nil {
		t.Fatalf("Open of a version 1 database: %v", err)
	}
	if _, err := again.Users().LookupUser(ctx, "alice"); err != nil {
		t.Errorf("the upgrade from version 1 lost a user: %v", err)
	}
	if err := again.Clients().Put(ctx, tollgate.Client{ID: "tollgate"}); err != nil {
		t.Errorf("Put of a client after the upgrade from version 1: %v", err)
	}
	_ = again.Close()
	if err := sqlitestore.SetSchemaVersionForTest(ctx, db, 99); err != nil {
		t.Fatal(err)
	}
	if newer, err := sqlitestore.Open(ctx, path); err == nil {
		_ = newer.Close()
		t.Error("Open accepted a database with a newer schema")
	}
}

// TestExpiredNeverReturned: a family past its drop time (its token and
// its last access token expired) and an expired denylist entry are never
// returned, and Purge deletes exactly them.
func TestExpiredNeverReturned(t *testing.T) {
	ctx := t.Context()
	db, _ := open(t)
	now := time.Now()
	old := family("old", "alice", now.Add(-48*time.Hour))
	live := family("live", "alice", now)
	for _, f := range []tollgate.RefreshFamily{old, live} {
		if _, err := db.Refresh().Create(ctx, f, 0); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Refresh().Lookup(ctx, "old"); !errors.Is(err, tollgate.ErrNotFound) {
		t.Errorf("Lookup of an expired family = %v, want ErrNotFound", err)
	}
	if _, err := db.Refresh().Rotate(ctx, "old", old.Hash, &old, now, 0); !errors.Is(err, tollgate.ErrNotFound) {
		t.Errorf("Rotate of an expired family = %v, want ErrNotFound", err)
	}
	got, err := db.Refresh().RevokeSubject(ctx, "alice")
	if err != nil || len(got) != 1 || got[0].ID != "live" {
		t.Errorf("RevokeSubject = %+v, %v; want the live family only", got, err)
	}
	_ = db.Denylist().Deny(ctx, "gone", now.Add(-time.Minute), now.Add(-time.Hour))
	_ = db.Denylist().Deny(ctx, "kept", now.Add(time.Hour), now)
	if denied, _ := db.Denylist().IsDenied(ctx, "gone"); denied {
		t.Error("an expired denylist entry is reported")
	}
	for i := range 3 {
		if _, err := db.Refresh().Create(ctx, family(fmt.Sprint("old-", i), "bob", now.Add(-48*time.Hour)), 0); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Refresh().Create(ctx, family("bob-live", "bob", now), 0); err != nil {
		t.Fatal(err)
	}
	n, err := db.Purge(ctx, now)
	if err != nil || n != 4 { // three old families of bob and the "gone" entry
		t.Errorf("Purge = %d, %v; want 4 rows", n, err)
	}
	if _, err := db.Refresh().Lookup(ctx, "bob-live"); err != nil {
		t.Errorf("Purge deleted a live family: %v", err)
	}
	if denied, _ := db.Denylist().IsDenied(ctx, "kept"); !denied {
		t.Error("Purge deleted a live denylist entry")
	}
}

// TestKeepCountsLiveFamiliesOnly: expired families do not count against
// a user's bound on sessions.
func TestKeepCountsLiveFamiliesOnly(t *testing.T) {
	ctx := t.Context()
	db, _ := open(t)
	now := time.Now()
	for i := range 3 {
		if _, err := db.Refresh().Create(ctx, family(fmt.Sprint("old-", i), "alice", now.Add(-48*time.Hour)), 0); err != nil {
			t.Fatal(err)
		}
	}
	revoked, err := db.Refresh().Create(ctx, family("new", "alice", now), 1)
	if err != nil || len(revoked) != 0 {
		t.Errorf("Create with keep 1 beside three expired families = %+v, %v; want nothing revoked", revoked, err)
	}
}

// TestConcurrentRequestsNeverBusy: many goroutines logging in, refreshing,
// reading and revoking at once never see SQLITE_BUSY or any other error.
func TestConcurrentRequestsNeverBusy(t *testing.T) {
	ctx := t.Context()
	db, _ := open(t)
	now := time.Now()
	var wg sync.WaitGroup
	errc := make(chan error, 64)
	for g := range 16 {
		wg.Go(func() {
			for i := range 40 {
				id := fmt.Sprintf("f-%d-%d", g, i)
				f := family(id, fmt.Sprint("user-", g%4), now)
				if _, err := db.Refresh().Create(ctx, f, 1000); err != nil {
					errc <- err
					return
				}
				next := f
				next.Hash = id + "-h1"
				if _, err := db.Refresh().Rotate(ctx, id, f.Hash, &next, now, 0); err != nil {
					errc <- err
					return
				}
				if _, err := db.Refresh().Lookup(ctx, id); err != nil {
					errc <- err
					return
				}
				if err := db.Denylist().Deny(ctx, "sid:"+id, now.Add(time.Hour), now); err != nil {
					errc <- err
					return
				}
				if _, err := db.Refresh().Revoke(ctx, id); err != nil {
					errc <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Errorf("concurrent request: %v", err)
	}
}

// TestUserManagement: Add is idempotent, SetPassword ends older sessions
// (ValidAfter), SetDisabled and Delete change one user.
func TestUserManagement(t *testing.T) {
	ctx := t.Context()
	db, _ := open(t)
	users := db.Users()
	u := tollgate.User{ID: "u-1", Username: "alice", PasswordHash: []byte("h1"), Scopes: []string{"me"}}
	if added, err := users.Add(ctx, u); err != nil || !added {
		t.Fatalf("Add = %v, %v", added, err)
	}
	u.PasswordHash = []byte("other")
	if added, err := users.Add(ctx, u); err != nil || added {
		t.Errorf("second Add = %v, %v; want false, nil (seeding is idempotent)", added, err)
	}
	at := time.Now().Truncate(time.Second)
	if err := users.SetPassword(ctx, "alice", []byte("h2"), at); err != nil {
		t.Fatal(err)
	}
	got, err := users.LookupUser(ctx, "alice")
	if err != nil || string(got.PasswordHash) != "h2" || !got.ValidAfter.Equal(at) {
		t.Errorf("after SetPassword: %+v, %v", got, err)
	}
	if err := users.SetDisabled(ctx, "alice", true); err != nil {
		t.Fatal(err)
	}
	if got, _ := users.LookupUser(ctx, "alice"); !got.Disabled {
		t.Error("SetDisabled did not disable")
	}
	for _, err := range []error{
		users.SetPassword(ctx, "nobody", []byte("x"), at),
		users.SetDisabled(ctx, "nobody", true),
		users.Delete(ctx, "nobody"),
		users.UpdatePasswordHash(ctx, "nobody", []byte("x")),
	} {
		if !errors.Is(err, tollgate.ErrNotFound) {
			t.Errorf("a change to an unknown user = %v, want ErrNotFound", err)
		}
	}
	if err := users.Delete(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := users.LookupUser(ctx, "alice"); !errors.Is(err, tollgate.ErrNotFound) {
		t.Errorf("after Delete: %v", err)
	}
	if err := users.Put(ctx, tollgate.User{}); err == nil {
		t.Error("Put of a user without a username succeeded")
	}
}

// TestJanitor: the janitor purges on its timer and stops when asked.
func TestJanitor(t *testing.T) {
	ctx := t.Context()
	db, _ := open(t)
	if _, err := db.Refresh().Create(ctx, family("old", "alice", time.Now().Add(-48*time.Hour)), 0); err != nil {
		t.Fatal(err)
	}
	stop := db.StartJanitor(10*time.Millisecond, func(err error) { t.Error(err) })
	deadline := time.Now().Add(10 * time.Second)
	for sqlitestore.RowsForTest(ctx, db) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("the janitor never purged")
		}
		time.Sleep(5 * time.Millisecond)
	}
	stop()
	stop() // twice is fine
}

// TestPing: a readiness check answers while the database is open, and
// fails after Close.
func TestPing(t *testing.T) {
	db, path := open(t)
	if err := db.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	other, err := sqlitestore.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	_ = other.Close()
	if err := other.Ping(t.Context()); err == nil {
		t.Error("Ping after Close succeeded")
	}
}

// TestPurgeWhileSpending deletes 20 000 expired families (40 batches)
// while refresh grants of a live family run: every expired row goes, the
// live one stays and keeps rotating. The time bound over 1 000 000 rows
// is BenchmarkPurgeMillion's figure (a timed unit test would judge the
// machine).
func TestPurgeWhileSpending(t *testing.T) {
	ctx := t.Context()
	db, _ := open(t)
	now := time.Now()
	const n = 20_000
	if err := sqlitestore.FillExpiredForTest(ctx, db, n, now); err != nil {
		t.Fatal(err)
	}
	live := family("live", "alice", now)
	if _, err := db.Refresh().Create(ctx, live, 0); err != nil {
		t.Fatal(err)
	}
	res := purgeWhileSpending(t, db, live, now)
	if res.purged != n {
		t.Errorf("Purge deleted %d rows, want %d", res.purged, n)
	}
	if got := sqlitestore.RowsForTest(ctx, db); got != 1 {
		t.Errorf("%d rows after the purge, want 1 (the live family)", got)
	}
	if _, err := db.Refresh().Lookup(ctx, "live"); err != nil {
		t.Errorf("the live family after the purge: %v", err)
	}
}

type purgeResult struct {
	purged  int
	took    time.Duration
	spends  int
	slowest time.Duration
	waits   []time.Duration
}

// purgeWhileSpending runs Purge and, beside it, rotations of live one
// after another, timing each.
func purgeWhileSpending(t testing.TB, db *sqlitestore.DB, live tollgate.RefreshFamily, now time.Time) purgeResult {
	ctx := context.Background()
	var r purgeResult
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		cur := live
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			default:
			}
			next := cur
			next.Hash = fmt.Sprint("live-h", i+1)
			start := time.Now()
			f, err := db.Refresh().Rotate(ctx, cur.ID, cur.Hash, &next, now, 0)
			d := time.Since(start)
			if err != nil {
				t.Errorf("spend during purge: %v", err)
				return
			}
			cur = f
			r.spends++
			r.waits = append(r.waits, d)
			r.slowest = max(r.slowest, d)
		}
	})
	start := time.Now()
	n, err := db.Purge(ctx, now)
	r.took = time.Since(start)
	close(done)
	wg.Wait()
	if err != nil {
		t.Fatalf("Purge: %v", err)
	}
	r.purged = n
	slices.Sort(r.waits)
	return r
}

// BenchmarkPurgeMillion is TestPurgeMillion's figure: the purge of
// 1 000 000 expired families, and the longest and the 99th-percentile
// wait of a refresh spend running beside it.
func BenchmarkPurgeMillion(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		db, _ := open(b)
		now := time.Now()
		if err := sqlitestore.FillExpiredForTest(context.Background(), db, 1_000_000, now); err != nil {
			b.Fatal(err)
		}
		live := family("live", "alice", now)
		if _, err := db.Refresh().Create(context.Background(), live, 0); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		r := purgeWhileSpending(b, db, live, now)
		b.ReportMetric(float64(r.slowest.Microseconds())/1000, "max-spend-ms")
		if len(r.waits) > 0 {
			b.ReportMetric(float64(r.waits[len(r.waits)*99/100].Microseconds())/1000, "p99-spend-ms")
		}
		b.ReportMetric(float64(r.spends), "spends")
		b.ReportMetric(r.took.Seconds(), "purge-s")
	}
}

func stores(b *testing.B) storetest.Stores {
	db, _ := open(b)
	return storetest.Stores{Users: db.Users(), Refresh: db.Refresh(), Denylist: db.Denylist(),
		AddUser: func(ctx context.Context, u tollgate.User) error { return db.Users().Put(ctx, u) }}
}

// BenchmarkRefreshGrant: refresh grants through TokenHandler with every
// store in one SQLite file.
func BenchmarkRefreshGrant(b *testing.B) { storetest.BenchmarkRefreshGrant(b, stores(b)) }

// BenchmarkPasswordGrant: parallel logins at bcrypt cost 10, against
// bcrypt alone.
func BenchmarkPasswordGrant(b *testing.B) {
	storetest.BenchmarkPasswordGrant(b, stores(b), tollgate.Bcrypt(10))
}

// BenchmarkFamilyBytes stores 100 000 live families and reports the
// file's growth per family (after a checkpoint).
func BenchmarkFamilyBytes(b *testing.B) {
	for b.Loop() {
		db, _ := open(b)
		before := sqlitestore.FileBytesForTest(context.Background(), db)
		if err := sqlitestore.FillLiveForTest(context.Background(), db, 100_000, time.Now()); err != nil {
			b.Fatal(err)
		}
		after := sqlitestore.FileBytesForTest(context.Background(), db)
		b.ReportMetric(float64(after-before)/100_000, "bytes/family")
	}
}

// TestUserSubjectUnique: a user's subject (its ID, or its Username where
// the ID is empty) is unique, so two users never share a "sub", and a
// rehash at login (UpdatePasswordHash, which finds the user by it) can
// never give one user's password hash to another: a user named "bob"
// without an ID and a user whose ID is "bob" cannot both exist.
func TestUserSubjectUnique(t *testing.T) {
	db, _ := open(t)
	ctx := t.Context()
	if err := db.Users().Put(ctx, tollgate.User{Username: "bob", PasswordHash: []byte("bob's hash")}); err != nil {
		t.Fatal(err)
	}
	if err := db.Users().Put(ctx, tollgate.User{ID: "bob", Username: "mallory", PasswordHash: []byte("mallory's hash")}); err == nil {
		t.Fatal("a second user with the subject bob was stored")
	}
	if err := db.Users().UpdatePasswordHash(ctx, "bob", []byte("new hash")); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Users().LookupUser(ctx, "mallory"); err == nil {
		t.Error("mallory exists")
	}
	u, err := db.Users().LookupUser(ctx, "bob")
	if err != nil || string(u.PasswordHash) != "new hash" {
		t.Errorf("bob after the rehash: %v %v", u, err)
	}
}
