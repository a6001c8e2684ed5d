package tollgate_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/tollgate-go/tollgate"
)

// fakeSource is a KeySource whose keys the test sets.
type fakeSource struct {
	keys      atomic.Pointer[[]*tollgate.Key]
	version   atomic.Uint64
	refreshes atomic.Int64
	onRefresh func()
}

func (s *fakeSource) set(keys ...*tollgate.Key) {
	s.keys.Store(&keys)
	s.version.Add(1)
}

func (s *fakeSource) Keys() ([]*tollgate.Key, uint64) { return *s.keys.Load(), s.version.Load() }

func (s *fakeSource) Refresh(context.Context) ([]*tollgate.Key, uint64) {
	s.refreshes.Add(1)
	if s.onRefresh != nil {
		s.onRefresh()
	}
	return s.Keys()
}

// TestKeySource: tokens verify against the source's current keys; a key
// the source drops stops verifying at once, cached tokens included; an
// unknown kid asks the source once; a new set that cannot form a key ring
// (two keys with one kid) keeps the previous keys.
func TestKeySource(t *testing.T) {
	k1, k2 := testKey(t, "ES256"), testKey(t, "EdDSA")
	signer1 := newFixture(t, "ES256", func(c *tollgate.Config) { c.SigningKey = k1 })
	signer2 := newFixture(t, "EdDSA", func(c *tollgate.Config) { c.SigningKey = k2 })
	src := &fakeSource{}
	src.set(k1.Public())
	rs := newFixture(t, "", func(c *tollgate.Config) {
		c.SigningKey, c.Users, c.Refresh, c.Hasher, c.KeySource = nil, nil, nil, nil, src
	})
	t1 := signer1.login(t, "alice", "wonderland").AccessToken
	t2 := signer2.login(t, "alice", "wonderland").AccessToken
	if rec := rs.get("/users/me", "Bearer "+t1); rec.Code != http.StatusOK {
		t.Fatalf("a token of the source's key: %d %s", rec.Code, rec.Body)
	}
	// k2 is unknown; the source learns it when asked again.
	src.onRefresh = func() { src.onRefresh = nil; src.set(k1.Public(), k2.Public()) }
	if rec := rs.get("/users/me", "Bearer "+t2); rec.Code != http.StatusOK {
		t.Errorf("a token of a key the source learns on Refresh: %d", rec.Code)
	}
	if n := src.refreshes.Load(); n != 1 {
		t.Errorf("%d refreshes, want 1", n)
	}
	src.set(k2.Public()) // k1 removed
	if rec := rs.get("/users/me", "Bearer "+t1); rec.Code != http.StatusUnauthorized {
		t.Errorf("a cached token of a removed key: %d, want 401", rec.Code)
	}
	src.set(sameKID(t, signer1, newFixture(t, "RS256", nil))...)
	if rec := rs.get("/users/me", "Bearer "+t2); rec.Code != http.StatusOK {
		t.Errorf("after an unusable set: %d, want the previous keys to verify", rec.Code)
	}
}

// sameKID returns the public keys of two fixtures' signing keys, both
// with the key id "same": a set no key ring can hold.
func sameKID(t *testing.T, fs ...*fixture) []*tollgate.Key {
	t.Helper()
	var jwks []map[string]any
	for _, f := range fs {
		rec := httptest.NewRecorder()
		f.auth.JWKSHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		var set struct{ Keys []map[string]any }
		if err := json.Unmarshal(rec.Body.Bytes(), &set); err != nil || len(set.Keys) == 0 {
			t.Fatalf("JWKS: %v %s", err, rec.Body)
		}
		set.Keys[0]["kid"] = "same"
		jwks = append(jwks, set.Keys[0])
	}
	data, _ := json.Marshal(map[string]any{"keys": jwks})
	keys, err := tollgate.ParseKeySet(data)
	if err != nil || len(keys) != 2 {
		t.Fatalf("ParseKeySet: %v, %d keys", err, len(keys))
	}
	return keys
}

// TestKeySourceRaceOnRotation: a request that met an unknown kid while
// another request installed the new keys verifies with them (it retries
// with whatever is newer than the ring that failed), and an older set
// never replaces a newer one.
func TestKeySourceRaceOnRotation(t *testing.T) {
	k1, k2 := testKey(t, "ES256"), testKey(t, "EdDSA")
	signer2 := newFixture(t, "EdDSA", func(c *tollgate.Config) { c.SigningKey = k2 })
	src := &fakeSource{}
	src.set(k1.Public())
	rs := newFixture(t, "", func(c *tollgate.Config) {
		c.SigningKey, c.Users, c.Refresh, c.Hasher, c.KeySource = nil, nil, nil, nil, src
	})
	t2 := signer2.login(t, "alice", "wonderland").AccessToken
	// While this request asks the source again, another one has already
	// brought the new set in.
	src.onRefresh = func() {
		src.onRefresh = nil
		src.set(k1.Public(), k2.Public())
		if rec := rs.get("/users/me", "Bearer "+t2); rec.Code != http.StatusOK {
			t.Errorf("the other request: %d", rec.Code)
		}
	}
	if rec := rs.get("/users/me", "Bearer "+t2); rec.Code != http.StatusOK {
		t.Errorf("a request that met the unknown kid just before the new keys came in: %d, want 200", rec.Code)
	}
}
