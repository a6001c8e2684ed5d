package storetest

import (
	"context"
	"crypto/subtle"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/tollgate-go/tollgate"
)

// Stores are the stores a backend offers, for the benchmarks: AddUser
// stores a user in Users.
type Stores struct {
	Users    tollgate.UserStore
	AddUser  func(ctx context.Context, u tollgate.User) error
	Refresh  tollgate.RefreshStore
	Denylist tollgate.Denylist // may be nil
}

// plainHasher stands in for bcrypt where the benchmark is not about
// passwords. Never use such a hasher outside a test.
type plainHasher struct{}

func (plainHasher) Hash(p string) ([]byte, error) { return []byte("plain:" + p), nil }
func (plainHasher) Verify(h []byte, p string) (bool, error) {
	return subtle.ConstantTimeCompare(h, []byte("plain:"+p)) == 1, nil
}
func (plainHasher) NeedsRehash([]byte) bool { return false }

// tokenEndpoint is tollgate's TokenHandler over s, with the user "alice"
// (password "wonderland") added with hasher, the login throttle off (one
// user logging in without end meets its bounds) and HS256 signing, so
// that the figures are the stores' and not the signature's.
func tokenEndpoint(b *testing.B, s Stores, hasher tollgate.PasswordHasher) http.Handler {
	b.Helper()
	hash, err := hasher.Hash("wonderland")
	if err != nil {
		b.Fatal(err)
	}
	if err := s.AddUser(context.Background(), tollgate.User{Username: "alice", PasswordHash: hash, Scopes: []string{"me"}}); err != nil {
		b.Fatal(err)
	}
	key, err := tollgate.GenerateKey("HS256")
	if err != nil {
		b.Fatal(err)
	}
	a, err := tollgate.New(tollgate.Config{
		Issuer: "https://as.bench", Audience: []string{"https://api.bench"}, SigningKey: key,
		Scopes: map[string]string{"me": "you"}, Users: s.Users, Refresh: s.Refresh, Denylist: s.Denylist,
		Hasher: hasher, Logins: tollgate.LoginLimits{DisableThrottle: true},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		b.Fatal(err)
	}
	return a.TokenHandler()
}

func post(h http.Handler, form string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("POST", "/token", strings.NewReader(form))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

var aliceLogin = url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"wonderland"}}.Encode()

// refreshTokenOf cuts the refresh token out of a token answer.
func refreshTokenOf(b *testing.B, w *httptest.ResponseRecorder) string {
	_, rest, ok := strings.Cut(w.Body.String(), `"refresh_token":"`)
	tok, _, ok2 := strings.Cut(rest, `"`)
	if w.Code != http.StatusOK || !ok || !ok2 {
		b.Fatalf("no refresh token: %d %s", w.Code, w.Body)
	}
	return tok
}

// BenchmarkRefreshGrant measures refresh grants through tollgate's
// TokenHandler with the stores s: the user lookup, the family's Lookup
// and its Rotate, each grant spending the token the last one issued.
// Run it from a backend's benchmarks:
//
//	func BenchmarkRefreshGrant(b *testing.B) { storetest.BenchmarkRefreshGrant(b, myStores(b)) }
func BenchmarkRefreshGrant(b *testing.B, s Stores) {
	h := tokenEndpoint(b, s, plainHasher{})
	rt := refreshTokenOf(b, post(h, aliceLogin))
	b.ReportAllocs()
	for b.Loop() {
		rt = refreshTokenOf(b, post(h, "grant_type=refresh_token&refresh_token="+rt))
	}
}

// BenchmarkPasswordGrant measures password grants through TokenHandler
// with the stores s and hasher (bcrypt, typically), from GOMAXPROCS
// goroutines at once, beside the hasher's own Verify of the same hash
// from as many: the store's share of a login is the difference.
func BenchmarkPasswordGrant(b *testing.B, s Stores, hasher tollgate.PasswordHasher) {
	h := tokenEndpoint(b, s, hasher)
	b.Run("password-grant", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if w := post(h, aliceLogin); w.Code != http.StatusOK {
					b.Errorf("login: %d %s", w.Code, w.Body)
					return
				}
			}
		})
	})
	hash, _ := hasher.Hash("wonderland")
	b.Run("hasher-verify", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if ok, err := hasher.Verify(hash, "wonderland"); !ok || err != nil {
					b.Errorf("verify: %v %v", ok, err)
					return
				}
			}
		})
	})
}
