package redisstore_test

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate-go/tollgate"
	"github.com/tollgate-go/tollgate/internal/testserver"
	"github.com/tollgate-go/tollgate/memstore"
	"github.com/tollgate-go/tollgate/redisstore"
	"github.com/tollgate-go/tollgate/storetest"
)

var prefixes atomic.Int64

// open returns a store with a key prefix of its own on srv: an empty
// store.
func open(t testing.TB, srv *testserver.Redis) *redisstore.Store {
	t.Helper()
	s, err := redisstore.Open(t.Context(), "redis://"+srv.Addr()+"/0", fmt.Sprintf("t%d:", prefixes.Add(1)))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestRefreshStoreConformance(t *testing.T) {
	srv := testserver.StartRedis(t, false)
	storetest.TestRefreshStore(t, func(t *testing.T) tollgate.RefreshStore { return open(t, srv).Refresh() })
}

func TestDenylistConformance(t *testing.T) {
	srv := testserver.StartRedis(t, false)
	storetest.TestDenylist(t, func(t *testing.T) tollgate.Denylist { return open(t, srv).Denylist() })
}

func family(id, subject string, now time.Time) tollgate.RefreshFamily {
	return tollgate.RefreshFamily{
		ID: id, Subject: subject, Username: subject, ClientID: "tollgate", Scopes: []string{"me"},
		CreatedAt: now, FamilyExpiresAt: now.Add(24 * time.Hour),
		Hash: id + "-h0", IssuedAt: now, ExpiresAt: now.Add(time.Hour), KeepUntil: now.Add(15 * time.Minute),
	}
}

// TestExpiryIsRedisTTL: a family's key expires when tollgate may drop it
// (its token expired and so did its last access token), so an expired
// family is never returned and nothing needs purging.
func TestExpiryIsRedisTTL(t *testing.T) {
	srv := testserver.StartRedis(t, false)
	s := open(t, srv)
	now := time.Now()
	f := family("short", "alice", now)
	f.ExpiresAt, f.KeepUntil = now.Add(300*time.Millisecond), now.Add(200*time.Millisecond)
	if _, err := s.Refresh().Create(t.Context(), f, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Refresh().Lookup(t.Context(), "short"); err != nil {
		t.Fatalf("Lookup before expiry: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := s.Refresh().Lookup(t.Context(), "short")
		if errors.Is(err, tollgate.ErrNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("an expired family is still returned: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := s.Denylist().Deny(t.Context(), "j", now.Add(200*time.Millisecond), now); err != nil {
		t.Fatal(err)
	}
	for {
		denied, err := s.Denylist().IsDenied(t.Context(), "j")
		if err != nil {
			t.Fatal(err)
		}
		if !denied {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("an expired denylist entry is still reported")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestSurvivesRedisRestartWithAOF: with the append-only file on
// (appendfsync always), families and denylist entries survive Redis being
// killed and started again, and the client reconnects by itself.
func TestSurvivesRedisRestartWithAOF(t *testing.T) {
	srv := testserver.StartRedis(t, true)
	s := open(t, srv)
	now := time.Now()
	if _, err := s.Refresh().Create(t.Context(), family("fam", "alice", now), 10); err != nil {
		t.Fatal(err)
	}
	if err := s.Denylist().Deny(t.Context(), "sid:x", now.Add(time.Hour), now); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	if _, err := s.Refresh().Lookup(t.Context(), "fam"); err == nil || errors.Is(err, tollgate.ErrNotFound) {
		t.Errorf("Lookup with Redis down = %v, want a store error (never ErrNotFound: that would end the session)", err)
	}
	srv.Start()
	deadline := time.Now().Add(10 * time.Second)
	for {
		f, err := s.Refresh().Lookup(t.Context(), "fam")
		if err == nil {
			if f.Hash != "fam-h0" {
				t.Errorf("family after restart: %+v", f)
			}
			break
		}
		if errors.Is(err, tollgate.ErrNotFound) {
			t.Fatal("the family did not survive the restart")
		}
		if time.Now().After(deadline) {
			t.Fatalf("Lookup after restart: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if denied, err := s.Denylist().IsDenied(t.Context(), "sid:x"); err != nil || !denied {
		t.Errorf("denylist after restart: %v, %v", denied, err)
	}
}

// BenchmarkRefreshGrant: refresh grants through TokenHandler with
// sessions and revocations in Redis on loopback (users in memory): one
// round trip for Lookup, one script for Rotate.
func BenchmarkRefreshGrant(b *testing.B) {
	srv := testserver.StartRedis(b, true)
	s := open(b, srv)
	users := memstore.NewUsers()
	storetest.BenchmarkRefreshGrant(b, storetest.Stores{Users: users, Refresh: s.Refresh(), Denylist: s.Denylist(),
		AddUser: func(_ context.Context, u tollgate.User) error { users.Put(u); return nil }})
}

// BenchmarkFamilyBytes stores 20 000 live families and reports Redis's
// used_memory growth per family (the hash and its subject index), one
// family per user.
func BenchmarkFamilyBytes(b *testing.B) {
	for b.Loop() {
		srv := testserver.StartRedis(b, false)
		s := open(b, srv)
		before := redisstore.UsedMemoryForTest(b.Context(), s)
		now := time.Now()
		for i := range 20_000 {
			f := family(fmt.Sprintf("%043d", i), fmt.Sprint("user-", i), now) // one session per user
			f.Hash, f.Scopes = fmt.Sprintf("%043d", i), []string{"me", "items:read", "items:write"}
			if _, err := s.Refresh().Create(b.Context(), f, 100); err != nil {
				b.Fatal(err)
			}
		}
		after := redisstore.UsedMemoryForTest(b.Context(), s)
		b.ReportMetric(float64(after-before)/20_000, "bytes/family")
	}
}

func TestCountersConformance(t *testing.T) {
	srv := testserver.StartRedis(t, false)
	storetest.TestCounterStore(t, func(t *testing.T) tollgate.CounterStore { return open(t, srv).Counters() })
}

// TestLockoutHoldsAcrossReplicas: two replicas whose login throttles
// share Redis counters lock a username after FailuresPerUsername guesses
// made on both together.
func TestLockoutHoldsAcrossReplicas(t *testing.T) {
	srv := testserver.StartRedis(t, false)
	shared := open(t, srv).Counters()
	replica := func() http.Handler {
		users := memstore.NewUsers()
		users.Put(tollgate.User{Username: "alice", PasswordHash: []byte("plain:wonderland"), Scopes: []string{"me"}})
		key, _ := tollgate.GenerateKey("HS256")
		a, err := tollgate.New(tollgate.Config{Issuer: "https://as.test", Audience: []string{"https://api.test"}, SigningKey: key,
			Scopes: map[string]string{"me": "you"}, Users: users, Hasher: plainHasher{},
			Logins: tollgate.LoginLimits{FailuresPerUsername: 4, Shared: shared}, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		return a.TokenHandler()
	}
	a, b := replica(), replica()
	login := func(h http.Handler, ip, pass string) int {
		r := httptest.NewRequest("POST", "/token", strings.NewReader("grant_type=password&username=alice&password="+pass))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.RemoteAddr = ip + ":1000"
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	for i := range 4 {
		h := a
		if i%2 == 1 {
			h = b
		}
		if code := login(h, fmt.Sprint("203.0.113.", i+1), "guess"); code != http.StatusBadRequest {
			t.Fatalf("guess %d: %d", i+1, code)
		}
	}
	for _, h := range []http.Handler{a, b} {
		if code := login(h, "203.0.113.50", "wonderland"); code != http.StatusTooManyRequests {
			t.Errorf("after 4 guesses over two replicas: %d, want 429 on each", code)
		}
	}
}

// plainHasher stands in for bcrypt. Never use such a hasher outside a test.
type plainHasher struct{}

func (plainHasher) Hash(p string) ([]byte, error) { return []byte("plain:" + p), nil }
func (plainHasher) Verify(h []byte, p string) (bool, error) {
	return subtle.ConstantTimeCompare(h, []byte("plain:"+p)) == 1, nil
}
func (plainHasher) NeedsRehash([]byte) bool { return false }

// TestRedisDownThenBack kills the real Redis server mid-session: the
// token endpoint answers 503 temporarily_unavailable with Retry-After, a
// refresh during the outage spends nothing, and once Redis is back (with
// its append-only file) the same refresh token works without a restart
// of the service.
func TestRedisDownThenBack(t *testing.T) {
	srv := testserver.StartRedis(t, true)
	s := open(t, srv)
	users := memstore.NewUsers()
	users.Put(tollgate.User{Username: "alice", PasswordHash: []byte("plain:wonderland"), Scopes: []string{"me"}})
	key, _ := tollgate.GenerateKey("HS256")
	a, err := tollgate.New(tollgate.Config{Issuer: "https://as.test", Audience: []string{"https://api.test"}, SigningKey: key,
		Scopes: map[string]string{"me": "you"}, Users: users, Refresh: s.Refresh(), Denylist: s.Denylist(), Hasher: plainHasher{},
		Logins: tollgate.LoginLimits{Shared: s.Counters()}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	h := a.TokenHandler()
	post := func(form string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "/token", strings.NewReader(form))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	rtOf := func(w *httptest.ResponseRecorder) string {
		_, rest, _ := strings.Cut(w.Body.String(), `"refresh_token":"`)
		tok, _, _ := strings.Cut(rest, `"`)
		return tok
	}
	w := post("grant_type=password&username=alice&password=wonderland")
	if w.Code != http.StatusOK {
		t.Fatalf("login: %d %s", w.Code, w.Body)
	}
	rt := rtOf(w)
	srv.Stop()
	for _, form := range []string{"grant_type=password&username=alice&password=wonderland", "grant_type=refresh_token&refresh_token=" + rt} {
		w := post(form)
		if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" || !strings.Contains(w.Body.String(), `"error":"temporarily_unavailable"`) {
			t.Errorf("with Redis down: %d %q %s", w.Code, w.Header().Get("Retry-After"), w.Body)
		}
	}
	srv.Start()
	deadline := time.Now().Add(15 * time.Second)
	for {
		w := post("grant_type=refresh_token&refresh_token=" + rt)
		if w.Code == http.StatusOK {
			break
		}
		if w.Code != http.StatusServiceUnavailable || time.Now().After(deadline) {
			t.Fatalf("refresh after Redis came back: %d %s", w.Code, w.Body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
