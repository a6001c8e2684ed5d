package main

import (
	"crypto/subtle"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/tollgate-go/tollgate"
	"github.com/tollgate-go/tollgate/memstore"
)

// plainHasher stands in for bcrypt in the test issuer.
type plainHasher struct{}

func (plainHasher) Hash(p string) ([]byte, error) { return []byte("plain:" + p), nil }
func (plainHasher) Verify(h []byte, p string) (bool, error) {
	return subtle.ConstantTimeCompare(h, []byte("plain:"+p)) == 1, nil
}
func (plainHasher) NeedsRehash([]byte) bool { return false }

// testIssuer is an authorization server on loopback whose signing key
// the test rotates.
type testIssuer struct {
	mu      sync.Mutex
	auth    *tollgate.Authenticator
	oldKeys []*tollgate.Key // every key it signed with: still published
	srv     *httptest.Server
}

func newIssuer(t *testing.T) *testIssuer {
	is := &testIssuer{}
	is.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		is.mu.Lock()
		a := is.auth
		is.mu.Unlock()
		switch r.URL.Path {
		case "/token":
			a.TokenHandler().ServeHTTP(w, r)
		case "/.well-known/jwks.json":
			a.JWKSHandler().ServeHTTP(w, r)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(is.srv.Close)
	is.rotate(t)
	return is
}

// rotate signs with a new key, still publishing the previous ones.
func (is *testIssuer) rotate(t *testing.T) {
	t.Helper()
	k, err := tollgate.GenerateKey("ES256")
	if err != nil {
		t.Fatal(err)
	}
	is.mu.Lock()
	old := append([]*tollgate.Key(nil), is.oldKeys...)
	is.mu.Unlock()
	users := memstore.NewUsers()
	h, _ := plainHasher{}.Hash("wonderland")
	users.Put(tollgate.User{Username: "alice", PasswordHash: h, Scopes: []string{"me", "items:read"}})
	a, err := tollgate.New(tollgate.Config{
		Issuer: is.srv.URL, Audience: []string{"https://api.test"}, SigningKey: k, VerificationKeys: old,
		Scopes: map[string]string{"me": "", "items:read": ""}, Users: users, Hasher: plainHasher{}, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	is.mu.Lock()
	is.auth = a
	is.oldKeys = append(old, k.Public())
	is.mu.Unlock()
}

func (is *testIssuer) token(t *testing.T) string {
	t.Helper()
	resp, err := http.PostForm(is.srv.URL+"/token", url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"wonderland"}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tj struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tj); err != nil || tj.AccessToken == "" {
		t.Fatalf("login: %d %v", resp.StatusCode, err)
	}
	return tj.AccessToken
}

func get(t *testing.T, h http.Handler, path, token string) (int, string) {
	t.Helper()
	r := httptest.NewRequest("GET", path, nil)
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code, w.Body.String()
}

// TestResourceServer: the routes and answers, a rotation picked up
// without a restart, and serving on while the issuer is down.
func TestResourceServer(t *testing.T) {
	is := newIssuer(t)
	o, err := parseOptions([]string{"-jwks", is.srv.URL + "/.well-known/jwks.json", "-issuer", is.srv.URL, "-audience", "https://api.test"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	h, closeKeys, err := newServer(t.Context(), o, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer closeKeys()
	tok := is.token(t)
	if code, body := get(t, h, "/users/me", tok); code != 200 || !strings.Contains(body, `"username":"alice"`) || !strings.Contains(body, `"scopes":["me","items:read"]`) {
		t.Errorf("GET /users/me: %d %s", code, body)
	}
	if code, _ := get(t, h, "/items", tok); code != 200 {
		t.Errorf("GET /items: %d", code)
	}
	if code, _ := get(t, h, "/items", ""); code != 401 {
		t.Errorf("GET /items without a token: %d, want 401", code)
	}
	if code, _ := get(t, h, "/healthz", ""); code != 200 {
		t.Errorf("GET /healthz: %d", code)
	}
	is.rotate(t)
	rotated := is.token(t)
	if code, body := get(t, h, "/users/me", rotated); code != 200 {
		t.Errorf("a token of the issuer's new key, no restart: %d %s", code, body)
	}
	is.srv.Close()
	if code, _ := get(t, h, "/users/me", rotated); code != 200 {
		t.Errorf("with the issuer down: %d, want 200", code)
	}
	if code, _ := get(t, h, "/users/me", tok); code != 200 {
		t.Errorf("an older token with the issuer down: %d, want 200", code)
	}
}

// TestFlags: -jwks and -issuer are required.
func TestFlags(t *testing.T) {
	for _, args := range [][]string{{}, {"-jwks", "http://127.0.0.1:1/jwks"}, {"-issuer", "http://127.0.0.1:1"}, {"-jwks", "x", "-issuer", "y", "extra"}} {
		if _, err := parseOptions(args, io.Discard); err == nil {
			t.Errorf("parseOptions(%q) succeeded", args)
		}
	}
	o, err := parseOptions([]string{"-jwks", "http://127.0.0.1:1/jwks", "-issuer", "http://127.0.0.1:1"}, io.Discard)
	if err != nil || o.audience != "http://127.0.0.1:1" || o.addr != "127.0.0.1:8002" {
		t.Errorf("defaults: %+v, %v", o, err)
	}
}
