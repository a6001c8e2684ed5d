package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-go/tollgate/internal/testserver"
)

// ecKeyFile writes a new P-256 private key to a PEM file in dir.
func ecKeyFile(t *testing.T, dir, name string) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	f := filepath.Join(dir, name)
	writeFile(t, f, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	return f
}

// TestRestartKeepsSessions: with -store sqlite:PATH, -key FILE and a
// fixed issuer, a restart keeps every refresh token and every access
// token valid, and the demo users are not seeded twice.
func TestRestartKeepsSessions(t *testing.T) {
	dir := t.TempDir()
	args := []string{"-store", "sqlite:" + filepath.Join(dir, "tollgate.db"), "-key", ecKeyFile(t, dir, "key.pem"),
		"-issuer", "https://as.example.test"}
	s1 := newTestServer(t, args, nil)
	tok := s1.login("alice", "wonderland")
	s1.srv.Close()

	s2 := newTestServer(t, args, nil)
	if r := s2.get("/users/me", tok.AccessToken); r.status != http.StatusOK {
		t.Errorf("access token after a restart: %d %s", r.status, r.body)
	}
	r := s2.refresh(tok.RefreshToken)
	if r.status != http.StatusOK {
		t.Fatalf("refresh token after a restart: %d %s", r.status, r.body)
	}
	// The spent token is still known as spent: replaying it is reuse.
	if r := s2.refresh(tok.RefreshToken); r.status != http.StatusBadRequest {
		t.Errorf("replay of the spent token after a restart: %d, want 400", r.status)
	}
	if r := s2.get("/readyz", ""); r.status != http.StatusOK {
		t.Errorf("GET /readyz: %d %s", r.status, r.body)
	}
}

// TestKeyRotationByRestart: restarting with the new key as -key and the
// old one as -verify-key keeps the old key's tokens valid, and new
// tokens are signed with the new key.
func TestKeyRotationByRestart(t *testing.T) {
	dir := t.TempDir()
	oldKey, newKey := ecKeyFile(t, dir, "old.pem"), ecKeyFile(t, dir, "new.pem")
	s1 := newTestServer(t, []string{"-key", oldKey}, nil)
	old := s1.login("alice", "wonderland")
	s2 := newTestServer(t, []string{"-key", newKey, "-verify-key", oldKey}, nil)
	if r := s2.get("/users/me", old.AccessToken); r.status != http.StatusOK {
		t.Errorf("a token of the old key after the rotation: %d %s", r.status, r.body)
	}
	fresh := s2.login("alice", "wonderland")
	if strings.SplitN(fresh.AccessToken, ".", 2)[0] == strings.SplitN(old.AccessToken, ".", 2)[0] {
		t.Error("new tokens are still signed with the old key")
	}
	s3 := newTestServer(t, []string{"-key", newKey}, nil)
	if r := s3.get("/users/me", old.AccessToken); r.status != http.StatusUnauthorized {
		t.Errorf("a token of the old key once it is dropped: %d, want 401", r.status)
	}
}

// TestStoreFlagErrors: an unknown -store and an unusable -verify-key are
// refused at start with a message naming the flag.
func TestStoreFlagErrors(t *testing.T) {
	for _, args := range [][]string{
		{"-store", "mysql://x"},
		{"-store", "sqlite:" + filepath.Join(t.TempDir(), "missing-dir", "x.db")},
		{"-verify-key", filepath.Join(t.TempDir(), "nope.pem")},
	} {
		o, err := parseOptions(args, envOf(nil), io.Discard)
		if err == nil {
			o.hasher = fastHasher{}
			var closeStores func()
			if _, closeStores, err = newServer(o, discard()); err == nil {
				closeStores()
			}
		}
		if err == nil {
			t.Errorf("%q: started, want an error", args)
		}
	}
}

// TestReadyz: /readyz answers 503 with Retry-After while a store does
// not answer, and 200 once it does; /healthz stays 200 throughout.
func TestReadyz(t *testing.T) {
	var down bool
	h := readyz(func(context.Context) error {
		if down {
			return errors.New("connection refused")
		}
		return nil
	})
	for _, d := range []bool{false, true, false} {
		down = d
		rec := serve(h, "/readyz")
		want := http.StatusOK
		if d {
			want = http.StatusServiceUnavailable
		}
		if rec.Code != want || d && rec.Header().Get("Retry-After") == "" || strings.Contains(rec.Body.String(), "refused") {
			t.Errorf("store down=%v: %d %q %s", d, rec.Code, rec.Header().Get("Retry-After"), rec.Body)
		}
	}
}

// TestPostgresStore runs the example on a real PostgreSQL server: login
// and refresh work, /readyz is 503 while the server is down and 200
// again once it is back, without a restart of the example.
func TestPostgresStore(t *testing.T) {
	pg := testserver.StartPostgres(t)
	s := newTestServer(t, []string{"-store", pg.URL("postgres", "")}, nil)
	tok := s.login("alice", "wonderland")
	if r := s.refresh(tok.RefreshToken); r.status != http.StatusOK {
		t.Fatalf("refresh: %d %s", r.status, r.body)
	}
	pg.Stop()
	if r := s.get("/readyz", ""); r.status != http.StatusServiceUnavailable {
		t.Errorf("/readyz with PostgreSQL down: %d", r.status)
	}
	if r := s.get("/healthz", ""); r.status != http.StatusOK {
		t.Errorf("/healthz with PostgreSQL down: %d (a liveness check must not look at the stores)", r.status)
	}
	pg.Start()
	waitReady(t, s)
	s.login("alice", "wonderland")
}

// TestRedisStore runs the example with sessions in a real Redis server.
func TestRedisStore(t *testing.T) {
	rd := testserver.StartRedis(t, true)
	s := newTestServer(t, []string{"-store", "redis://" + rd.Addr() + "/0"}, nil)
	tok := s.login("alice", "wonderland")
	next := s.tokens(s.refresh(tok.RefreshToken))
	if r := s.refresh(tok.RefreshToken); r.status != http.StatusBadRequest {
		t.Errorf("reuse: %d, want 400", r.status)
	}
	if r := s.refresh(next.RefreshToken); r.status != http.StatusBadRequest {
		t.Errorf("the family's newest token after reuse: %d, want 400 (revoked)", r.status)
	}
	rd.Stop()
	if r := s.get("/readyz", ""); r.status != http.StatusServiceUnavailable {
		t.Errorf("/readyz with Redis down: %d", r.status)
	}
	rd.Start()
	waitReady(t, s)
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// serve sends GET path to h.
func serve(h http.Handler, path string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	return rec
}

// waitReady waits until /readyz answers 200.
func waitReady(t *testing.T, s *testServer) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for s.get("/readyz", "").status != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("/readyz never came back to 200")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestStoreNameHidesPasswords: the -store value logged at start never
// carries a password, in the user information or in the query.
func TestStoreNameHidesPasswords(t *testing.T) {
	for spec, want := range map[string]string{
		"postgres://tollgate:s3cret@db.example/tollgate":                     "postgres://db.example/tollgate",
		"postgres://db.example/tollgate?user=tollgate&password=s3cret":       "postgres://db.example/tollgate",
		"redis://:s3cret@cache.example:6379/0":                               "redis://cache.example:6379/0",
		"postgresql://u:p%40ss@db.example:5432/t?sslmode=require&password=x": "postgresql://db.example:5432/t",
		"sqlite:/var/lib/tollgate.db":                                        "sqlite:/var/lib/tollgate.db",
		"memory":                                                             "memory",
	} {
		if got := storeName(spec); got != want || strings.Contains(got, "s3cret") {
			t.Errorf("storeName(%q) = %q, want %q", spec, got, want)
		}
	}
}
