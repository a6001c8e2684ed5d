package tollgate_test

// Shared fixtures for the black-box tests of package tollgate. Tests run
// against a real Authenticator over HTTP (httptest), the way a client or an
// attacker sees it.

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-go/tollgate"
	"github.com/tollgate-go/tollgate/audit"
	"github.com/tollgate-go/tollgate/memstore"
)

const (
	testIssuer   = "https://as.test"
	testAudience = "https://api.test"
)

// testScopes is the scope registry of the test service.
var testScopes = map[string]string{
	"me":          "Read your own profile",
	"items:read":  "Read items",
	"items:write": "Create items",
	"admin:users": "Manage users",
}

// testUsers mirror examples/basic: alice, bob, carol, and dave (disabled).
var testUsers = []struct {
	name, password string
	scopes         []string
	disabled       bool
}{
	{"alice", "wonderland", []string{"me", "items:read", "items:write"}, false},
	{"bob", "builder", []string{"me", "items:read"}, false},
	{"carol", "admin-pass-123", []string{"me", "items:read", "items:write", "admin:users"}, false},
	{"dave", "disabled-pass", []string{"me"}, true},
}

// fastHasher is a PasswordHasher for tests that are not about hashing:
// "fast$" + hex-free base64 of SHA-256. It counts Verify calls so tests can
// check that unknown users still pay for a comparison.
type fastHasher struct {
	mu       sync.Mutex
	verifies int
}

func (h *fastHasher) Hash(p string) ([]byte, error) {
	sum := sha256.Sum256([]byte(p))
	return []byte("fast$" + base64.RawStdEncoding.EncodeToString(sum[:])), nil
}

func (h *fastHasher) Verify(hash []byte, p string) (bool, error) {
	h.mu.Lock()
	h.verifies++
	h.mu.Unlock()
	if !strings.HasPrefix(string(hash), "fast$") {
		return false, errors.New("not a fast hash")
	}
	want, _ := h.Hash(p)
	return subtle.ConstantTimeCompare(want, hash) == 1, nil
}

func (h *fastHasher) NeedsRehash([]byte) bool { return false }

func (h *fastHasher) Verifies() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.verifies
}

// rawKeys holds one raw private key per algorithm, generated once per test
// binary, so tests can forge tokens with the service's own key material.
type rawKeys struct {
	hs  []byte
	rsa *rsa.PrivateKey
	ec  *ecdsa.PrivateKey
	ed  ed25519.PrivateKey
}

var (
	keysOnce sync.Once
	keys     rawKeys
)

func testRawKeys(t testing.TB) rawKeys {
	t.Helper()
	keysOnce.Do(func() {
		keys.hs = make([]byte, 32)
		rand.Read(keys.hs)
		keys.rsa, _ = rsa.GenerateKey(rand.Reader, 2048)
		keys.ec, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		_, keys.ed, _ = ed25519.GenerateKey(rand.Reader)
	})
	return keys
}

// rawKeyFor returns the raw private key (or HMAC secret) for alg.
func rawKeyFor(t testing.TB, alg string) any {
	t.Helper()
	k := testRawKeys(t)
	switch alg {
	case "HS256":
		return k.hs
	case "RS256":
		return k.rsa
	case "ES256":
		return k.ec
	case "EdDSA":
		return k.ed
	}
	t.Fatalf("no test key for %q", alg)
	return nil
}

// testKey returns the tollgate.Key for alg, wrapping the shared raw key.
func testKey(t testing.TB, alg string) *tollgate.Key {
	t.Helper()
	k, err := tollgate.NewKey(rawKeyFor(t, alg))
	if err != nil {
		t.Fatalf("NewKey(%s): %v", alg, err)
	}
	return k
}

// fixture is a running test service.
type fixture struct {
	auth    *tollgate.Authenticator
	users   *memstore.Users
	refresh *memstore.RefreshStore
	hasher  *fastHasher
	handler http.Handler
	key     *tollgate.Key
	alg     string
	events  *eventLog
}

// eventLog records the events a fixture's Authenticator emits.
type eventLog struct {
	mu sync.Mutex
	ev []audit.Event
}

func (l *eventLog) add(e audit.Event) {
	l.mu.Lock()
	l.ev = append(l.ev, e)
	l.mu.Unlock()
}

// Of returns the events of type typ.
func (l *eventLog) Of(typ audit.Type) []audit.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []audit.Event
	for _, e := range l.ev {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

// newFixture builds a service signing with alg (default ES256), with the
// test users, scopes and routes of examples/basic. mutate may adjust the
// Config before New.
func newFixture(t testing.TB, alg string, mutate func(*tollgate.Config)) *fixture {
	t.Helper()
	if alg == "" {
		alg = "ES256"
	}
	f := &fixture{hasher: &fastHasher{}, users: memstore.NewUsers(), refresh: memstore.NewRefreshStore(), alg: alg, events: &eventLog{}}
	for _, u := range testUsers {
		h, _ := f.hasher.Hash(u.password)
		f.users.Put(tollgate.User{Username: u.name, PasswordHash: h, Scopes: u.scopes, Disabled: u.disabled})
	}
	f.key = testKey(t, alg)
	cfg := tollgate.Config{
		Issuer:     testIssuer,
		Audience:   []string{testAudience},
		SigningKey: f.key,
		Scopes:     testScopes,
		Users:      f.users,
		Refresh:    f.refresh,
		Hasher:     f.hasher,
		OnEvent:    func(_ context.Context, e audit.Event) { f.events.add(e) },
	}
	if mutate != nil {
		mutate(&cfg)
	}
	a, err := tollgate.New(cfg)
	if err != nil {
		t.Fatalf("tollgate.New: %v", err)
	}
	f.auth = a
	ok := func(w http.ResponseWriter, r *http.Request) {
		p, _ := tollgate.FromContext(r.Context())
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"username": p.Username, "scopes": p.Scopes})
	}
	mux := http.NewServeMux()
	if cfg.Users != nil {
		mux.Handle("/token", a.TokenHandler())
		mux.Handle("/revoke", a.RevokeHandler())
	}
	mux.Handle("GET /.well-known/jwks.json", a.JWKSHandler())
	mux.Handle("GET /users/me", a.RequireScopes("me")(http.HandlerFunc(ok)))
	mux.Handle("GET /items", a.RequireScopes("items:read")(http.HandlerFunc(ok)))
	mux.Handle("POST /items", a.RequireScopes("items:write")(http.HandlerFunc(ok)))
	mux.Handle("GET /admin/users", a.RequireScopes("admin:users")(http.HandlerFunc(ok)))
	mux.Handle("GET /any", a.RequireAnyScope("items:write", "admin:users")(http.HandlerFunc(ok)))
	mux.Handle("GET /authn", a.RequireScopes()(http.HandlerFunc(ok)))
	f.handler = mux
	return f
}

// do serves one request and returns the recorder.
func (f *fixture) do(req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	f.handler.ServeHTTP(rec, req)
	return rec
}

// post sends form to path as application/x-www-form-urlencoded.
func (f *fixture) post(path string, form url.Values) *httptest.ResponseRecorder {
	req := httptest.NewRequest("POST", path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return f.do(req)
}

// get calls path with the given Authorization header values.
func (f *fixture) get(path string, authz ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", path, nil)
	for _, v := range authz {
		req.Header.Add("Authorization", v)
	}
	return f.do(req)
}

// tokenJSON is the token endpoint's answer, success or error.
type tokenJSON struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	Scope        string `json:"scope"`
	Error        string `json:"error"`
	Description  string `json:"error_description"`
}

func decodeToken(t testing.TB, rec *httptest.ResponseRecorder) tokenJSON {
	t.Helper()
	var tj tokenJSON
	if err := json.Unmarshal(rec.Body.Bytes(), &tj); err != nil {
		t.Fatalf("token endpoint body %q: %v", rec.Body.String(), err)
	}
	return tj
}

// login runs the password grant and fails the test unless it succeeds.
func (f *fixture) login(t testing.TB, user, pass string, scope ...string) tokenJSON {
	t.Helper()
	form := url.Values{"grant_type": {"password"}, "username": {user}, "password": {pass}}
	if len(scope) > 0 {
		form.Set("scope", strings.Join(scope, " "))
	}
	rec := f.post("/token", form)
	if rec.Code != http.StatusOK {
		t.Fatalf("login %s: status %d, body %s", user, rec.Code, rec.Body)
	}
	return decodeToken(t, rec)
}

// refreshWith runs the refresh_token grant.
func (f *fixture) refreshWith(token string, scope ...string) *httptest.ResponseRecorder {
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {token}}
	if len(scope) > 0 {
		form.Set("scope", strings.Join(scope, " "))
	}
	return f.post("/token", form)
}

// b64 is base64url without padding.
func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// forge builds a compact JWS from header and claims, signed with key for
// alg using only the standard library: the attacker's toolkit. A key of
// nil gives an empty signature.
func forge(t testing.TB, alg string, key any, header, claims map[string]any) string {
	t.Helper()
	hj, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	cj, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	input := b64(hj) + "." + b64(cj)
	return input + "." + b64(signRaw(t, alg, key, []byte(input)))
}

// signRaw signs input for alg with a raw key.
func signRaw(t testing.TB, alg string, key any, input []byte) []byte {
	t.Helper()
	if key == nil {
		return nil
	}
	sum := sha256.Sum256(input)
	switch alg {
	case "HS256":
		m := hmac.New(sha256.New, key.([]byte))
		m.Write(input)
		return m.Sum(nil)
	case "RS256":
		sig, err := rsa.SignPKCS1v15(rand.Reader, key.(*rsa.PrivateKey), crypto.SHA256, sum[:])
		if err != nil {
			t.Fatal(err)
		}
		return sig
	case "ES256":
		r, s, err := ecdsa.Sign(rand.Reader, key.(*ecdsa.PrivateKey), sum[:])
		if err != nil {
			t.Fatal(err)
		}
		out := make([]byte, 64)
		r.FillBytes(out[:32])
		s.FillBytes(out[32:])
		return out
	case "EdDSA":
		return ed25519.Sign(key.(ed25519.PrivateKey), input)
	}
	t.Fatalf("signRaw: unsupported alg %q", alg)
	return nil
}

// goodHeader and goodClaims are what a valid token of the fixture holds;
// tests copy and alter them.
func (f *fixture) goodHeader() map[string]any {
	return map[string]any{"alg": f.alg, "typ": "at+jwt", "kid": f.key.ID()}
}

func goodClaims() map[string]any {
	now := time.Now()
	return map[string]any{
		"iss": testIssuer, "sub": "alice", "aud": testAudience,
		"exp": now.Add(10 * time.Minute).Unix(), "iat": now.Unix(),
		"jti": "test-jti", "client_id": "tollgate", "scope": "me items:read items:write",
	}
}

// forgeGood signs goodClaims with the fixture's real key: a valid token,
// as the issuer would make it.
func (f *fixture) forgeGood(t testing.TB, alter func(h, c map[string]any)) string {
	t.Helper()
	h, c := f.goodHeader(), goodClaims()
	if alter != nil {
		alter(h, c)
	}
	return forge(t, f.alg, rawKeyFor(t, f.alg), h, c)
}

// userStoreFunc adapts a function to tollgate.UserStore.
type userStoreFunc func(ctx context.Context, username string) (*tollgate.User, error)

func (f userStoreFunc) LookupUser(ctx context.Context, username string) (*tollgate.User, error) {
	return f(ctx, username)
}
