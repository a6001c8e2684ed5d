package remotekeys_test

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate-go/tollgate"
	"github.com/tollgate-go/tollgate/audit"
	"github.com/tollgate-go/tollgate/memstore"
	"github.com/tollgate-go/tollgate/remotekeys"
)

const (
	issuer   = "https://as.test"
	audience = "https://api.test"
)

// issuerAS is an authorization server whose signing key can be rotated,
// serving its JWK Set with a Cache-Control header of the test's choice.
type issuerAS struct {
	mu      sync.Mutex
	auth    *tollgate.Authenticator
	cc      string
	fetches atomic.Int64
	srv     *httptest.Server
}

func newIssuer(t *testing.T, keys ...*tollgate.Key) *issuerAS {
	t.Helper()
	as := &issuerAS{cc: "max-age=300"}
	as.rotate(t, keys...)
	as.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		as.fetches.Add(1)
		as.mu.Lock()
		a, cc := as.auth, as.cc
		as.mu.Unlock()
		rec := httptest.NewRecorder()
		a.JWKSHandler().ServeHTTP(rec, r)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", cc)
		_, _ = w.Write(rec.Body.Bytes())
	}))
	t.Cleanup(as.srv.Close)
	return as
}

// rotate makes keys[0] the signing key and the rest verification keys:
// the JWK Set lists exactly them.
func (as *issuerAS) rotate(t *testing.T, keys ...*tollgate.Key) {
	t.Helper()
	users := memstore.NewUsers()
	h, _ := plainHasher{}.Hash("wonderland")
	users.Put(tollgate.User{Username: "alice", PasswordHash: h, Scopes: []string{"me"}})
	a, err := tollgate.New(tollgate.Config{
		Issuer: issuer, Audience: []string{audience}, SigningKey: keys[0], VerificationKeys: keys[1:],
		Scopes: map[string]string{"me": "you"}, Users: users, Hasher: plainHasher{}, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	as.mu.Lock()
	as.auth = a
	as.mu.Unlock()
}

// token logs alice in at the issuer and returns her access token.
func (as *issuerAS) token(t *testing.T) string {
	t.Helper()
	as.mu.Lock()
	a := as.auth
	as.mu.Unlock()
	r := httptest.NewRequest("POST", "/token", strings.NewReader(url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"wonderland"}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	a.TokenHandler().ServeHTTP(w, r)
	_, rest, _ := strings.Cut(w.Body.String(), `"access_token":"`)
	tok, _, _ := strings.Cut(rest, `"`)
	if w.Code != 200 || tok == "" {
		t.Fatalf("login at the issuer: %d %s", w.Code, w.Body)
	}
	return tok
}

// plainHasher stands in for bcrypt, which these tests do not test and
// the race detector makes slow. Never use such a hasher outside a test.
type plainHasher struct{}

func (plainHasher) Hash(p string) ([]byte, error) { return []byte("plain:" + p), nil }
func (plainHasher) Verify(h []byte, p string) (bool, error) {
	return subtle.ConstantTimeCompare(h, []byte("plain:"+p)) == 1, nil
}
func (plainHasher) NeedsRehash([]byte) bool { return false }

func key(t *testing.T) *tollgate.Key {
	t.Helper()
	k, err := tollgate.GenerateKey("ES256")
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// events records audit events.
type events struct {
	mu sync.Mutex
	ev []audit.Event
}

func (e *events) add(_ context.Context, ev audit.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.ev = append(e.ev, ev)
}

func (e *events) count(typ audit.Type) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, ev := range e.ev {
		if ev.Type == typ {
			n++
		}
	}
	return n
}

// resource is a resource server verifying through set only.
func resource(t *testing.T, set *remotekeys.Set, cache bool) http.Handler {
	t.Helper()
	a, err := tollgate.New(tollgate.Config{
		Issuer: issuer, Audience: []string{audience}, KeySource: set,
		Scopes: map[string]string{"me": "you"}, Logger: slog.New(slog.DiscardHandler),
		Cache: tollgate.TokenCache{Disabled: !cache},
	})
	if err != nil {
		t.Fatal(err)
	}
	return a.RequireScopes("me")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
}

func call(h http.Handler, token string) int {
	r := httptest.NewRequest("GET", "/users/me", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code
}

func newSet(t *testing.T, as *issuerAS, o remotekeys.Options) *remotekeys.Set {
	t.Helper()
	s, err := remotekeys.New(t.Context(), as.srv.URL+"/.well-known/jwks.json", o)
	if err != nil {
		t.Fatalf("remotekeys.New: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// TestVerifiesWithTheIssuersKeys: a resource server given only the JWKS
// URL accepts the issuer's tokens and refuses a token signed with a key
// the issuer did not publish.
func TestVerifiesWithTheIssuersKeys(t *testing.T) {
	as := newIssuer(t, key(t))
	h := resource(t, newSet(t, as, remotekeys.Options{}), false)
	if code := call(h, as.token(t)); code != http.StatusNoContent {
		t.Fatalf("the issuer's token: %d", code)
	}
	rogue := newIssuer(t, key(t)) // same issuer name, a key nobody published at as
	if code := call(h, rogue.token(t)); code != http.StatusUnauthorized {
		t.Errorf("a token of an unpublished key: %d, want 401", code)
	}
}

// TestRotationWithoutRestart: after the issuer adds a key and signs with
// it, its tokens verify at once (the unknown kid fetches the set again),
// and the old key's tokens keep verifying while it stays published.
func TestRotationWithoutRestart(t *testing.T) {
	k1, k2 := key(t), key(t)
	as := newIssuer(t, k1)
	ev := &events{}
	h := resource(t, newSet(t, as, remotekeys.Options{OnEvent: ev.add}), true)
	old := as.token(t)
	if code := call(h, old); code != http.StatusNoContent {
		t.Fatalf("before the rotation: %d", code)
	}
	as.rotate(t, k2, k1)
	if code := call(h, as.token(t)); code != http.StatusNoContent {
		t.Errorf("a token of the new key: %d, want 204 (picked up without a restart)", code)
	}
	if code := call(h, old); code != http.StatusNoContent {
		t.Errorf("a token of the old, still published key: %d", code)
	}
	if ev.count(audit.KeySetChanged) != 1 {
		t.Errorf("%d KeySetChanged events, want 1", ev.count(audit.KeySetChanged))
	}
}

// TestRemovedKeyStopsAtOnce: once the issuer stops publishing a key and
// the set is fetched again, that key's tokens are refused, even those
// in the verified-token cache.
func TestRemovedKeyStopsAtOnce(t *testing.T) {
	k1, k2 := key(t), key(t)
	as := newIssuer(t, k1)
	as.cc = "max-age=0"
	set := newSet(t, as, remotekeys.Options{MinRefresh: 20 * time.Millisecond})
	h := resource(t, set, true)
	old := as.token(t)
	if code := call(h, old); code != http.StatusNoContent {
		t.Fatal(code)
	}
	as.rotate(t, k2) // k1 no longer published
	deadline := time.Now().Add(10 * time.Second)
	for call(h, old) != http.StatusUnauthorized {
		if time.Now().After(deadline) {
			t.Fatal("a cached token of a removed key is still accepted")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if code := call(h, as.token(t)); code != http.StatusNoContent {
		t.Errorf("a token of the new key: %d", code)
	}
}

// TestUnknownKidsAreRateLimited: tokens naming made-up key ids make at
// most one fetch per UnknownKeyInterval, however many they are.
func TestUnknownKidsAreRateLimited(t *testing.T) {
	as := newIssuer(t, key(t))
	h := resource(t, newSet(t, as, remotekeys.Options{UnknownKeyInterval: time.Hour}), false)
	before := as.fetches.Load()
	good := as.token(t)
	_, rest, _ := strings.Cut(good, ".")
	for i := range 200 {
		hdr := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"ES256","typ":"at+jwt","kid":"made-up-` + string(rune('a'+i%26)) + strings.Repeat("x", i) + `"}`))
		if code := call(h, hdr+"."+rest); code != http.StatusUnauthorized {
			t.Fatalf("a token with an unknown kid: %d", code)
		}
	}
	if n := as.fetches.Load() - before; n > 1 {
		t.Errorf("200 unknown kids made %d fetches of the set, want at most 1", n)
	}
}

// TestIssuerDownKeepsVerifying: with the issuer unreachable, tokens of
// the keys fetched before still verify, and the failed fetches are
// audit events.
func TestIssuerDownKeepsVerifying(t *testing.T) {
	as := newIssuer(t, key(t))
	ev := &events{}
	set := newSet(t, as, remotekeys.Options{UnknownKeyInterval: time.Millisecond, OnEvent: ev.add, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	h := resource(t, set, false)
	tok := as.token(t)
	as.srv.Close()
	time.Sleep(5 * time.Millisecond)
	set.Refresh(t.Context()) // a fetch that fails
	if code := call(h, tok); code != http.StatusNoContent {
		t.Errorf("with the issuer down: %d, want 204", code)
	}
	if ev.count(audit.KeySetFetchFailed) == 0 {
		t.Error("no KeySetFetchFailed event")
	}
}

// TestRefusesWhatIsNotAKeySet: the URL rules, and a first fetch that
// fails or holds a symmetric key (a published secret) fails New.
func TestRefusesWhatIsNotAKeySet(t *testing.T) {
	for _, u := range []string{"http://as.example.com/jwks", "ftp://127.0.0.1/jwks", "not a url"} {
		if _, err := remotekeys.New(t.Context(), u, remotekeys.Options{}); err == nil {
			t.Errorf("New(%q) succeeded", u)
		}
	}
	for name, body := range map[string]string{
		"oct key":  `{"keys":[{"kty":"oct","kid":"s","k":"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI"}]}`,
		"no keys":  `{"keys":[]}`,
		"not json": `<html>`,
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, body)
		}))
		if _, err := remotekeys.New(t.Context(), srv.URL, remotekeys.Options{}); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
		srv.Close()
	}
}

// TestCacheControl: the refresh interval follows max-age within the
// bounds.
func TestCacheControl(t *testing.T) {
	for cc, want := range map[string]time.Duration{
		"max-age=300":           300 * time.Second,
		"public, max-age=7200":  2 * time.Hour,
		"max-age=1":             time.Minute,
		"max-age=999999999":     24 * time.Hour,
		"no-store":              time.Minute,
		"":                      time.Hour,
		"max-age=abc":           time.Hour,
		"no-cache, max-age=600": time.Minute,
	} {
		if got := remotekeys.IntervalForTest(cc); got != want {
			t.Errorf("Cache-Control %q: refresh every %v, want %v", cc, got, want)
		}
	}
}

// BenchmarkVerify compares first-sight verification (cache off) through
// a remote key set, after its first fetch, with the same key given as a
// local verification key: the remote set costs one atomic load more.
func BenchmarkVerify(b *testing.B) {
	k := key(&testing.T{})
	as := newIssuer(&testing.T{}, k)
	tok := as.token(&testing.T{})
	set, err := remotekeys.New(context.Background(), as.srv.URL, remotekeys.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer set.Close()
	local, _ := tollgate.New(tollgate.Config{Issuer: issuer, Audience: []string{audience}, VerificationKeys: []*tollgate.Key{k.Public()},
		Scopes: map[string]string{"me": "you"}, Cache: tollgate.TokenCache{Disabled: true}, Logger: slog.New(slog.DiscardHandler)})
	remote, _ := tollgate.New(tollgate.Config{Issuer: issuer, Audience: []string{audience}, KeySource: set,
		Scopes: map[string]string{"me": "you"}, Cache: tollgate.TokenCache{Disabled: true}, Logger: slog.New(slog.DiscardHandler)})
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	for name, a := range map[string]*tollgate.Authenticator{"local": local, "remote": remote} {
		h := a.RequireScopes("me")(ok)
		b.Run(name, func(b *testing.B) {
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Authorization", "Bearer "+tok)
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != http.StatusOK {
					b.Fatal(w.Code)
				}
			}
		})
	}
}

// TestHangUpDoesNotBlockPickup: a request that names an unknown key id
// and is cancelled at once still makes the fetch it caused, so an
// attacker hanging up cannot keep a new key from being picked up.
func TestHangUpDoesNotBlockPickup(t *testing.T) {
	k1, k2 := key(t), key(t)
	as := newIssuer(t, k1)
	set := newSet(t, as, remotekeys.Options{UnknownKeyInterval: time.Hour})
	as.rotate(t, k2, k1)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, v := set.Refresh(ctx)
	if v != 2 {
		t.Errorf("after a refresh asked by a cancelled request: version %d, want 2 (the fetch happened)", v)
	}
}

// TestDuplicatesDoNotHideAChange: a set that lists a key twice and then
// lists another key in its place is a change.
func TestDuplicatesDoNotHideAChange(t *testing.T) {
	k1, k2 := key(t), key(t)
	body := func(keys ...*tollgate.Key) string {
		var parts []string
		for _, k := range keys {
			a, err := tollgate.New(tollgate.Config{Issuer: issuer, Audience: []string{audience}, VerificationKeys: []*tollgate.Key{k.Public()}, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			w := httptest.NewRecorder()
			a.JWKSHandler().ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
			jwk := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(w.Body.String()), `{"keys":[`), `]}`)
			parts = append(parts, jwk)
		}
		return `{"keys":[` + strings.Join(parts, ",") + `]}`
	}
	var cur atomic.Value
	cur.Store(body(k1, k1))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, cur.Load().(string))
	}))
	defer srv.Close()
	set, err := remotekeys.New(t.Context(), srv.URL, remotekeys.Options{UnknownKeyInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	cur.Store(body(k1, k2))
	time.Sleep(2 * time.Millisecond)
	keys, v := set.Refresh(t.Context())
	if v != 2 || len(keys) != 2 || !keys[1].Equal(k2.Public()) && !keys[0].Equal(k2.Public()) {
		t.Errorf("after [k1 k1] became [k1 k2]: version %d, %d keys; want version 2 with k2", v, len(keys))
	}
}
