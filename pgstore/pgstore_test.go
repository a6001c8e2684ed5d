package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/tollgate-go/tollgate"
	"github.com/tollgate-go/tollgate/internal/testserver"
	"github.com/tollgate-go/tollgate/pgstore"
	"github.com/tollgate-go/tollgate/storetest"
)

// server is the package's one PostgreSQL server; each test has a schema
// of its own on it. Tests that stop the server start their own.
var (
	serverOnce sync.Once
	server     *testserver.Postgres
	schemas    atomic.Int64
)

// open returns a store in a new, empty schema of the shared server.
func open(t *testing.T) *pgstore.DB {
	t.Helper()
	serverOnce.Do(func() { server = testserver.StartPostgres(sharedT{t}) })
	if server == nil {
		t.Skip("no PostgreSQL server (see the first test's message)")
	}
	return openOn(t, server)
}

// sharedT outlives the test that starts the shared server: the server is
// stopped when the test binary ends (TestMain), not after the first test.
type sharedT struct{ *testing.T }

func (s sharedT) Cleanup(f func()) { cleanups = append(cleanups, f) }

var cleanups []func()

func TestMain(m *testing.M) {
	code := m.Run()
	for _, f := range cleanups {
		f()
	}
	os.Exit(code)
}

func openOn(t testing.TB, pg *testserver.Postgres) *pgstore.DB {
	t.Helper()
	schema := fmt.Sprint("t", schemas.Add(1))
	admin, err := pgstore.Open(t.Context(), pg.URL("postgres", ""))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := pgstore.ExecForTest(t.Context(), admin, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	admin.Close()
	db, err := pgstore.Open(t.Context(), pg.URL("postgres", schema))
	if err != nil {
		t.Fatalf("Open(%s): %v", schema, err)
	}
	t.Cleanup(db.Close)
	return db
}

func TestRefreshStoreConformance(t *testing.T) {
	storetest.TestRefreshStore(t, func(t *testing.T) tollgate.RefreshStore { return open(t).Refresh() })
}

func TestUserStoreConformance(t *testing.T) {
	storetest.TestUserStore(t, func(t *testing.T, users []tollgate.User) tollgate.UserStore {
		db := open(t)
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
		db := open(t)
		for _, c := range clients {
			if err := db.Clients().Put(t.Context(), c); err != nil {
				t.Fatal(err)
			}
		}
		return db.Clients()
	})
}

func TestDenylistConformance(t *testing.T) {
	storetest.TestDenylist(t, func(t *testing.T) tollgate.Denylist { return open(t).Denylist() })
}

func family(id, subject string, now time.Time) tollgate.RefreshFamily {
	return tollgate.RefreshFamily{
		ID: id, Subject: subject, Username: subject, ClientID: "tollgate", Scopes: []string{"me"},
		CreatedAt: now, FamilyExpiresAt: now.Add(24 * time.Hour),
		Hash: id + "-h0", IssuedAt: now, ExpiresAt: now.Add(time.Hour), KeepUntil: now.Add(15 * time.Minute),
	}
}

// TestExpiredNeverReturned: a family past its drop time and an expired
// denylist entry are never returned, and Purge deletes exactly them.
func TestExpiredNeverReturned(t *testing.T) {
	ctx := t.Context()
	db := open(t)
	now := time.Now()
	old := family("old", "alice", now.Add(-48*time.Hour))
	for _, f := range []tollgate.RefreshFamily{old, family("live", "alice", now)} {
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
	_ = db.Denylist().Deny(ctx, "gone", now.Add(-time.Minute), now.Add(-time.Hour))
	_ = db.Denylist().Deny(ctx, "kept", now.Add(time.Hour), now)
	if denied, _ := db.Denylist().IsDenied(ctx, "gone"); denied {
		t.Error("an expired denylist entry is reported")
	}
	n, err := db.Purge(ctx, now)
	if err != nil || n != 2 { // the old family and the "gone" entry
		t.Errorf("Purge = %d, %v; want 2 rows", n, err)
	}
	if _, err := db.Refresh().Lookup(ctx, "live"); err != nil {
		t.Errorf("Purge deleted a live family: %v", err)
	}
	if denied, _ := db.Denylist().IsDenied(ctx, "kept"); !denied {
		t.Error("Purge deleted a live denylist entry")
	}
}

// TestMigrationsOnceAcrossReplicas: replicas starting at once apply the
// schema once (an advisory lock), and a second Open changes nothing.
func TestMigrationsOnceAcrossReplicas(t *testing.T) {
	db := open(t)
	url := pgstore.URLForTest(db)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			d, err := pgstore.Open(t.Context(), url)
			if err != nil {
				errs <- err
				return
			}
			d.Close()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent Open: %v", err)
	}
}

// authFor is a tollgate Authenticator with every store in db, and its
// token endpoint; opts change its Config.
func authFor(t testing.TB, db *pgstore.DB, opts ...func(*tollgate.Config)) (*tollgate.Authenticator, http.Handler) {
	t.Helper()
	hash, err := tollgate.Bcrypt(10).Hash("wonderland")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Users().Put(t.Context(), tollgate.User{Username: "alice", PasswordHash: hash, Scopes: []string{"me"}}); err != nil {
		t.Fatal(err)
	}
	key, err := tollgate.GenerateKey("ES256")
	if err != nil {
		t.Fatal(err)
	}
	cfg := tollgate.Config{
		Issuer: "https://as.test", Audience: []string{"https://api.test"}, SigningKey: key,
		Scopes: map[string]string{"me": "you"}, Users: db.Users(), Refresh: db.Refresh(), Denylist: db.Denylist(),
		Hasher: tollgate.Bcrypt(10), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	for _, o := range opts {
		o(&cfg)
	}
	a, err := tollgate.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a, a.TokenHandler()
}

func post(h http.Handler, form url.Values) *httptest.ResponseRecorder {
	r := httptest.NewRequest("POST", "/token", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func refreshTokenOf(t testing.TB, w *httptest.ResponseRecorder) string {
	t.Helper()
	_, rest, ok := strings.Cut(w.Body.String(), `"refresh_token":"`)
	tok, _, ok2 := strings.Cut(rest, `"`)
	if w.Code != http.StatusOK || !ok || !ok2 {
		t.Fatalf("no refresh token: %d %s", w.Code, w.Body)
	}
	return tok
}

// TestDatabaseDownThenBack kills the real PostgreSQL server mid-session:
// the token endpoint answers 503 temporarily_unavailable with
// Retry-After and a JSON body, a refresh during the outage spends
// nothing, and once the server is back the same refresh token works
// without a restart of the service (the pool reconnects).
func TestDatabaseDownThenBack(t *testing.T) {
	pg := testserver.StartPostgres(t)
	db := openOn(t, pg)
	_, h := authFor(t, db)
	login := url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"wonderland"}}
	rt := refreshTokenOf(t, post(h, login))

	pg.Stop()
	for _, form := range []url.Values{login, {"grant_type": {"refresh_token"}, "refresh_token": {rt}}} {
		w := post(h, form)
		if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" ||
			!strings.Contains(w.Body.String(), `"error":"temporarily_unavailable"`) {
			t.Errorf("%s with the database down: %d, Retry-After %q, %s", form.Get("grant_type"), w.Code, w.Header().Get("Retry-After"), w.Body)
		}
	}
	pg.Start()
	deadline := time.Now().Add(15 * time.Second)
	for {
		w := post(h, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
		if w.Code == http.StatusOK {
			rt = refreshTokenOf(t, w)
			break
		}
		if w.Code != http.StatusServiceUnavailable || time.Now().After(deadline) {
			t.Fatalf("refresh after the database came back: %d %s", w.Code, w.Body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if w := post(h, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}); w.Code != http.StatusOK {
		t.Errorf("the next refresh: %d %s", w.Code, w.Body)
	}
}

// TestClientCredentialsShared: a confidential client put on one replica
// gets tokens from another by the client_credentials grant (RFC 6749
// §4.4) with its secret, checked against the stored hash; once deleted,
// it is an unknown client on both.
func TestClientCredentialsShared(t *testing.T) {
	db := open(t)
	hash, err := tollgate.Bcrypt(10).Hash("reports-secret")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []tollgate.Client{{ID: "tollgate"},
		{ID: "reports", SecretHash: hash, Grants: []string{"client_credentials"}, Scopes: []string{"reports:read"}, Audience: []string{"https://reports.test"}}} {
		if err := db.Clients().Put(t.Context(), c); err != nil {
			t.Fatal(err)
		}
	}
	b, err := pgstore.Open(t.Context(), pgstore.URLForTest(db))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	_, h := authFor(t, b, func(c *tollgate.Config) {
		c.Clients = b.Clients()
		c.Scopes["reports:read"] = "read reports"
		c.Audience = append(c.Audience, "https://reports.test") // the client's, within Config.Audience
	})
	grant := func(secret string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "/token", strings.NewReader("grant_type=client_credentials"))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.SetBasicAuth("reports", secret)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	if w := grant("reports-secret"); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"scope":"reports:read"`) {
		t.Errorf("client_credentials with the stored client's secret: %d %s", w.Code, w.Body)
	}
	if w := grant("guess"); w.Code != http.StatusUnauthorized {
		t.Errorf("client_credentials with a wrong secret: %d %s, want 401 invalid_client", w.Code, w.Body)
	}
	if w := post(h, url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"wonderland"}}); w.Code != http.StatusOK {
		t.Errorf("a user's login by the stored first-party client: %d %s", w.Code, w.Body)
	}
	if err := db.Clients().Delete(t.Context(), "reports"); err != nil {
		t.Fatal(err)
	}
	if w := grant("reports-secret"); w.Code != http.StatusUnauthorized {
		t.Errorf("client_credentials of a deleted client: %d %s, want 401 invalid_client", w.Code, w.Body)
	}
}

// TestMigrationsUpgrade: a database of version 2 (before clients) gains
// the clients table, its users kept.
func TestMigrationsUpgrade(t *testing.T) {
	db := open(t)
	if err := db.Users().Put(t.Context(), tollgate.User{Username: "alice", PasswordHash: []byte("h")}); err != nil {
		t.Fatal(err)
	}
	if err := pgstore.ExecForTest(t.Context(), db, "DROP TABLE tollgate_clients; DELETE FROM tollgate_schema_migrations WHERE version > 2"); err != nil {
		t.Fatal(err)
	}
	again, err := pgstore.Open(t.Context(), pgstore.URLForTest(db))
	if err != nil {
		t.Fatalf("Open of a version 2 database: %v", err)
	}
	defer again.Close()
	if _, err := again.Users().LookupUser(t.Context(), "alice"); err != nil {
		t.Errorf("the upgrade from version 2 lost a user: %v", err)
	}
	if err := again.Clients().Put(t.Context(), tollgate.Client{ID: "tollgate"}); err != nil {
		t.Errorf("Put of a client after the upgrade from version 2: %v", err)
	}
}

// TestReplicasShareSessions: two Authenticators (two replicas) on one
// database: a login on A refreshes on B, and replaying the spent token on
// A revokes the family for both (RFC 9700 §4.14.2).
func TestReplicasShareSessions(t *testing.T) {
	db := open(t)
	_, ha := authFor(t, db)
	b, err := pgstore.Open(t.Context(), pgstore.URLForTest(db))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	_, hb := authFor(t, b)
	rt1 := refreshTokenOf(t, post(ha, url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"wonderland"}}))
	rt2 := refreshTokenOf(t, post(hb, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt1}}))
	if w := post(ha, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt1}}); w.Code != http.StatusBadRequest {
		t.Fatalf("replay of the spent token on A: %d, want 400", w.Code)
	}
	if w := post(hb, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt2}}); w.Code != http.StatusBadRequest {
		t.Errorf("the family's newest token on B after the replay: %d, want 400 (the family is revoked everywhere)", w.Code)
	}
}

// benchStores are the stores in a schema of a PostgreSQL server of the
// benchmark's own.
func benchStores(b *testing.B) (storetest.Stores, *pgstore.DB) {
	pg := testserver.StartPostgres(b)
	db := openOn(b, pg)
	return storetest.Stores{Users: db.Users(), Refresh: db.Refresh(), Denylist: db.Denylist(),
		AddUser: func(ctx context.Context, u tollgate.User) error { return db.Users().Put(ctx, u) }}, db
}

// BenchmarkRefreshGrant: refresh grants through TokenHandler with every
// store in PostgreSQL on loopback: two round trips (the family with its
// user, then Rotate; TestRefreshGrantRoundTrips counts them).
func BenchmarkRefreshGrant(b *testing.B) {
	s, _ := benchStores(b)
	storetest.BenchmarkRefreshGrant(b, s)
}

// BenchmarkPasswordGrant: parallel logins at bcrypt cost 10, against
// bcrypt alone.
func BenchmarkPasswordGrant(b *testing.B) {
	s, _ := benchStores(b)
	storetest.BenchmarkPasswordGrant(b, s, tollgate.Bcrypt(10))
}

// BenchmarkFamilyBytes stores 100 000 live families and reports the
// table's growth (heap and indexes) per family.
func BenchmarkFamilyBytes(b *testing.B) {
	for b.Loop() {
		_, db := benchStores(b)
		before := pgstore.TableBytesForTest(context.Background(), db)
		if err := pgstore.FillLiveForTest(context.Background(), db, 100_000, time.Now()); err != nil {
			b.Fatal(err)
		}
		after := pgstore.TableBytesForTest(context.Background(), db)
		b.ReportMetric(float64(after-before)/100_000, "bytes/family")
	}
}

func TestCountersConformance(t *testing.T) {
	storetest.TestCounterStore(t, func(t *testing.T) tollgate.CounterStore { return open(t).Counters() })
}

// queryCounter counts the queries sent on a pool's connections.
type queryCounter struct{ n atomic.Int64 }

func (q *queryCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	q.n.Add(1)
	return ctx
}
func (q *queryCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// TestRefreshGrantRoundTrips: a refresh grant with users and families in
// PostgreSQL makes two round trips: the family with its user (one join),
// and Rotate (one function call).
func TestRefreshGrantRoundTrips(t *testing.T) {
	base := open(t) // a schema of its own
	cfg, err := pgxpool.ParseConfig(pgstore.URLForTest(base))
	if err != nil {
		t.Fatal(err)
	}
	qc := &queryCounter{}
	cfg.ConnConfig.Tracer = qc
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	db, err := pgstore.New(t.Context(), pool)
	if err != nil {
		t.Fatal(err)
	}
	_, h := authFor(t, db)
	rt := refreshTokenOf(t, post(h, url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"wonderland"}}))
	before := qc.n.Load()
	rt = refreshTokenOf(t, post(h, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}))
	if n := qc.n.Load() - before; n != 2 {
		t.Errorf("a refresh grant made %d queries, want 2 (the family with its user, then Rotate)", n)
	}
	_ = rt
}

// TestUserSubjectUnique: a user's subject (its ID, or its Username where
// the ID is empty) is unique, so two users never share a "sub", and a
// rehash at login (UpdatePasswordHash, which finds the user by it) can
// never give one user's password hash to another: a user named "bob"
// without an ID and a user whose ID is "bob" cannot both exist.
func TestUserSubjectUnique(t *testing.T) {
	db := open(t)
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
