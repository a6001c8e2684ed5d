package tollgate_test

// Tests of password hashing (Bcrypt, HashPassword), the 72-byte limit,
// rehash on login and the UserStore contract as the token endpoint sees it.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/tollgate-go/tollgate"
	"github.com/tollgate-go/tollgate/audit"
	"github.com/tollgate-go/tollgate/memstore"
	"golang.org/x/crypto/bcrypt"
)

// testCost keeps bcrypt tests fast; it is the lowest cost Bcrypt accepts.
const testCost = 10

// bcryptHash hashes password with Bcrypt{Cost: cost} or fails the test.
func bcryptHash(t testing.TB, cost int, password string) []byte {
	t.Helper()
	h, err := tollgate.Bcrypt(cost).Hash(password)
	if err != nil {
		t.Fatalf("Bcrypt{Cost: %d}.Hash: %v", cost, err)
	}
	return h
}

// hashCost returns the cost embedded in a bcrypt hash.
func hashCost(t testing.TB, h []byte) int {
	t.Helper()
	c, err := bcrypt.Cost(h)
	if err != nil {
		t.Fatalf("bcrypt.Cost: %v", err)
	}
	return c
}

// loginStatus runs the password grant and returns the status and body.
func loginStatus(f *fixture, user, pass string) (int, tokenJSON, string) {
	rec := f.post("/token", url.Values{"grant_type": {"password"}, "username": {user}, "password": {pass}})
	var tj tokenJSON
	_ = json.Unmarshal(rec.Body.Bytes(), &tj)
	return rec.Code, tj, rec.Body.String()
}

func TestBcryptRoundTrip(t *testing.T) {
	b := tollgate.Bcrypt(testCost)
	h := bcryptHash(t, testCost, "correct horse")
	if !bytes.HasPrefix(h, []byte("$2a$10$")) {
		t.Errorf("hash %q does not start with $2a$10$", h[:7])
	}
	tests := []struct {
		password string
		want     bool
	}{
		{"correct horse", true},
		{"correct horse ", false},
		{"Correct horse", false},
		{"", false},
	}
	for _, tt := range tests {
		ok, err := b.Verify(h, tt.password)
		if err != nil || ok != tt.want {
			t.Errorf("Verify(hash, %q) = %v, %v; want %v, nil", tt.password, ok, err, tt.want)
		}
	}
	h2 := bcryptHash(t, testCost, "correct horse")
	if bytes.Equal(h, h2) {
		t.Errorf("two hashes of one password are equal: no salt")
	}
	if _, err := b.Hash(""); err == nil {
		t.Errorf("Hash(\"\") = nil error, want an error")
	}
	for _, bad := range [][]byte{nil, []byte("not a hash"), []byte("fast$abc"), h[:20]} {
		if ok, err := b.Verify(bad, "correct horse"); ok || err == nil {
			t.Errorf("Verify(%q, ...) = %v, %v; want false and an error", bad, ok, err)
		}
	}
}

// TestBcryptMaxPasswordBytes checks the deliberate handling of bcrypt's
// 72-byte limit: longer passwords are refused, never truncated.
func TestBcryptMaxPasswordBytes(t *testing.T) {
	b := tollgate.Bcrypt(testCost)
	p72 := strings.Repeat("a", 71) + "b"
	if len(p72) != 72 {
		t.Fatalf("len(p72) = %d", len(p72))
	}

	h72 := bcryptHash(t, testCost, p72)
	t.Run("72 bytes hash and verify", func(t *testing.T) {
		h := h72
		if ok, err := b.Verify(h, p72); !ok || err != nil {
			t.Errorf("Verify(hash(p72), p72) = %v, %v; want true, nil", ok, err)
		}
	})
	t.Run("72 bytes of multi-byte UTF-8", func(t *testing.T) {
		p := strings.Repeat("€", 24) // 3 bytes each
		h := bcryptHash(t, testCost, p)
		if ok, err := b.Verify(h, p); !ok || err != nil {
			t.Errorf("Verify = %v, %v; want true, nil", ok, err)
		}
		if _, err := b.Hash(p + "€"); !errors.Is(err, tollgate.ErrPasswordTooLong) {
			t.Errorf("Hash(25 × €, 75 bytes) error = %v, want ErrPasswordTooLong", err)
		}
	})
	t.Run("73 bytes refused", func(t *testing.T) {
		for _, p := range []string{p72 + "c", strings.Repeat("x", 1000)} {
			h, err := b.Hash(p)
			if !errors.Is(err, tollgate.ErrPasswordTooLong) || h != nil {
				t.Errorf("Hash(%d bytes) = %q, %v; want nil, ErrPasswordTooLong", len(p), h, err)
			}
			if _, err := tollgate.HashPassword(p); !errors.Is(err, tollgate.ErrPasswordTooLong) {
				t.Errorf("HashPassword(%d bytes) error = %v, want ErrPasswordTooLong", len(p), err)
			}
		}
	})
	t.Run("passwords sharing the first 72 bytes are not confused", func(t *testing.T) {
		// Truncating bcrypt would take p72+"anything" for p72.
		h := h72
		for _, p := range []string{p72 + "c", p72 + p72, p72 + "\x00"} {
			if ok, err := b.Verify(h, p); ok || err != nil {
				t.Errorf("Verify(hash(p72), p72+%d bytes) = %v, %v; want false, nil", len(p)-72, ok, err)
			}
		}
		// And a 71-byte prefix does not match a 72-byte hash.
		if ok, _ := b.Verify(h, p72[:71]); ok {
			t.Errorf("Verify(hash(p72), p72[:71]) = true")
		}
	})
	t.Run("73+ bytes at login is invalid_grant", func(t *testing.T) {
		f := newFixture(t, "", func(c *tollgate.Config) { c.Hasher = tollgate.Bcrypt(testCost) })
		f.users.Put(tollgate.User{Username: "erin", PasswordHash: h72, Scopes: []string{"me"}})
		if code, tj, body := loginStatus(f, "erin", p72); code != 200 || tj.AccessToken == "" {
			t.Fatalf("login with the 72-byte password: %d %s", code, body)
		}
		unknown := ""
		for _, tt := range []struct{ user, pass string }{
			{"erin", p72 + "c"},
			{"erin", p72 + strings.Repeat("z", 500)},
			{"nobody", p72 + "c"},
		} {
			code, tj, body := loginStatus(f, tt.user, tt.pass)
			if code != 400 || tj.Error != "invalid_grant" {
				t.Errorf("login %s with %d bytes: %d %s, want 400 invalid_grant", tt.user, len(tt.pass), code, body)
			}
			if strings.Contains(body, tt.pass) {
				t.Errorf("error body echoes the password")
			}
			if unknown == "" {
				unknown = tj.Description
			} else if tj.Description != unknown {
				t.Errorf("description %q differs from %q", tj.Description, unknown)
			}
		}
		if ev := f.events.Of(audit.LoginFailed); len(ev) != 3 || ev[0].Reason != "wrong_password" || ev[2].Reason != "unknown_user" {
			t.Errorf("failure events = %+v", ev)
		}
	})
}

func TestBcryptCost(t *testing.T) {
	for _, cost := range []int{-1, 1, 4, 9, 32, 100} {
		if h, err := (tollgate.Bcrypt(cost)).Hash("pw"); err == nil {
			t.Errorf("Bcrypt{Cost: %d}.Hash = %q, nil; want an error", cost, h)
		}
	}
	t.Run("New refuses a hasher that cannot hash", func(t *testing.T) {
		for _, cost := range []int{9, testCost} {
			_, err := tollgate.New(tollgate.Config{
				Issuer: testIssuer, Audience: []string{testAudience}, SigningKey: testKey(t, "ES256"),
				Scopes: testScopes, Users: memstore.NewUsers(), Hasher: tollgate.Bcrypt(cost),
			})
			if got, want := err != nil, cost < 10; got != want {
				t.Errorf("New with Bcrypt{Cost: %d}: error %v, want an error: %v", cost, err, want)
			}
		}
	})
	t.Run("HashPassword uses DefaultBcryptCost", func(t *testing.T) {
		if 12 < 10 {
			t.Errorf("DefaultBcryptCost = %d, want at least 10 (OWASP)", 12)
		}
		h, err := tollgate.HashPassword("wonderland")
		if err != nil {
			t.Fatal(err)
		}
		if c := hashCost(t, h); c != 12 {
			t.Errorf("HashPassword cost = %d, want DefaultBcryptCost %d", c, 12)
		}
		// ExampleHashPassword shows that it verifies.
		if (tollgate.Bcrypt(0)).NeedsRehash(h) {
			t.Errorf("Bcrypt{}.NeedsRehash(HashPassword(p)) = true")
		}
	})
}

func TestBcryptNeedsRehash(t *testing.T) {
	h10 := bcryptHash(t, 10, "pw")
	h11 := bcryptHash(t, 11, "pw")
	tests := []struct {
		name string
		cost int
		hash []byte
		want bool
	}{
		{"same cost", 10, h10, false},
		{"raised cost", 11, h10, true},
		{"default cost over 10", 0, h10, true},
		{"hash stronger than the hasher", 10, h11, false},
		{"same higher cost", 11, h11, false},
		{"not a bcrypt hash", 11, []byte("fast$abc"), false},
		{"empty hash", 11, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (tollgate.Bcrypt(tt.cost)).NeedsRehash(tt.hash); got != tt.want {
				t.Errorf("Bcrypt{Cost: %d}.NeedsRehash = %v, want %v", tt.cost, got, tt.want)
			}
		})
	}
}

// TestRehashOnLogin checks passlib's deprecated="auto": a login against a
// hash weaker than the hasher's cost stores a fresh hash, when the store
// can take it.
func TestRehashOnLogin(t *testing.T) {
	const pw = "wonderland"
	t.Run("PasswordUpdater store gets the stronger hash", func(t *testing.T) {
		f := newFixture(t, "", func(c *tollgate.Config) { c.Hasher = tollgate.Bcrypt(11) })
		old := bcryptHash(t, 10, pw)
		f.users.Put(tollgate.User{Username: "erin", PasswordHash: old, Scopes: []string{"me"}})
		var _ tollgate.PasswordUpdater = f.users

		// A failed login changes nothing.
		if code, _, body := loginStatus(f, "erin", "wrong"); code != 400 {
			t.Fatalf("wrong password: %d %s", code, body)
		}
		if u := storedUser(t, f.users, "erin"); !bytes.Equal(u.PasswordHash, old) {
			t.Fatalf("a failed login replaced the hash")
		}

		if code, _, body := loginStatus(f, "erin", pw); code != 200 {
			t.Fatalf("login: %d %s", code, body)
		}
		u := storedUser(t, f.users, "erin")
		if c := hashCost(t, u.PasswordHash); c != 11 {
			t.Fatalf("stored cost after login = %d, want 11", c)
		}
		if bytes.Contains(u.PasswordHash, []byte(pw)) {
			t.Errorf("stored hash holds the password")
		}
		// The new hash verifies the password, and is not replaced again.
		if code, _, body := loginStatus(f, "erin", pw); code != 200 {
			t.Fatalf("second login: %d %s", code, body)
		}
		if again := storedUser(t, f.users, "erin"); !bytes.Equal(again.PasswordHash, u.PasswordHash) {
			t.Errorf("a hash at the current cost was replaced")
		}
	})
	// The other cases use a legacy cost-4 hash (as imported from an older
	// system) against cost 10, to keep bcrypt time down under -race.
	legacy, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("disabled user is not rehashed", func(t *testing.T) {
		f := newFixture(t, "", func(c *tollgate.Config) { c.Hasher = tollgate.Bcrypt(testCost) })
		old := legacy
		f.users.Put(tollgate.User{Username: "erin", PasswordHash: old, Disabled: true})
		if code, _, body := loginStatus(f, "erin", pw); code != 400 {
			t.Fatalf("disabled login: %d %s", code, body)
		}
		if u := storedUser(t, f.users, "erin"); !bytes.Equal(u.PasswordHash, old) {
			t.Errorf("a disabled user's hash was replaced")
		}
	})
	t.Run("UpdatePasswordHash failure does not fail the login", func(t *testing.T) {
		logs := &syncBuffer{}
		st := &failingUpdater{user: tollgate.User{Username: "erin", PasswordHash: legacy, Scopes: []string{"me"}}}
		f := newFixture(t, "", func(c *tollgate.Config) {
			c.Hasher = tollgate.Bcrypt(testCost)
			c.Users = st
			c.Logger = slog.New(slog.NewTextHandler(logs, nil))
		})
		if code, _, body := loginStatus(f, "erin", pw); code != 200 {
			t.Fatalf("login: %d %s", code, body)
		}
		if st.calls != 1 {
			t.Errorf("UpdatePasswordHash called %d times, want 1", st.calls)
		}
		if !strings.Contains(logs.String(), "rehash") {
			t.Errorf("rehash failure not logged: %q", logs.String())
		}
		if strings.Contains(logs.String(), pw) {
			t.Errorf("log holds the password")
		}
	})
	t.Run("store without PasswordUpdater still logs in", func(t *testing.T) {
		h := legacy
		var calls int
		var mu sync.Mutex
		store := userStoreFunc(func(ctx context.Context, username string) (*tollgate.User, error) {
			mu.Lock()
			calls++
			mu.Unlock()
			if username != "erin" {
				return nil, fmt.Errorf("user %q: %w", username, tollgate.ErrNotFound)
			}
			return &tollgate.User{Username: "erin", PasswordHash: h, Scopes: []string{"me", "items:read"}}, nil
		})
		if _, ok := any(store).(tollgate.PasswordUpdater); ok {
			t.Fatal("a function store implements PasswordUpdater")
		}
		f := newFixture(t, "", func(c *tollgate.Config) {
			c.Hasher = tollgate.Bcrypt(testCost)
			c.Users = store
		})
		code, tj, body := loginStatus(f, "erin", pw)
		if code != 200 || tj.Scope != "me items:read" {
			t.Fatalf("login: %d %s", code, body)
		}
		if rec := f.get("/items", "Bearer "+tj.AccessToken); rec.Code != 200 {
			t.Errorf("GET /items: %d", rec.Code)
		}
		// A wrapped ErrNotFound is an unknown user, not a server error.
		if code, tj, body := loginStatus(f, "mallory", pw); code != 400 || tj.Error != "invalid_grant" {
			t.Errorf("unknown user through a function store: %d %s, want 400 invalid_grant", code, body)
		}
		if calls != 2 {
			t.Errorf("LookupUser called %d times, want 2", calls)
		}
	})
}

// TestUserStoreErrors checks that a store failure is a 503
// temporarily_unavailable with Retry-After (the client may retry: nothing
// changed) and a hash the hasher cannot read a 500 server_error, both
// with a body that says nothing of the cause, which is logged.
func TestUserStoreErrors(t *testing.T) {
	const cause = "dial tcp 10.0.0.5:5432: connection refused (user=svc password=db-secret)"
	tests := []struct {
		name   string
		store  tollgate.UserStore
		status int
		code   string
	}{
		{"lookup error", userStoreFunc(func(context.Context, string) (*tollgate.User, error) {
			return nil, errors.New(cause)
		}), 503, "temporarily_unavailable"},
		{"context error", userStoreFunc(func(context.Context, string) (*tollgate.User, error) {
			return nil, fmt.Errorf("%s: %w", cause, context.DeadlineExceeded)
		}), 503, "temporarily_unavailable"},
		{"stored hash the hasher cannot read", userStoreFunc(func(_ context.Context, u string) (*tollgate.User, error) {
			return &tollgate.User{Username: u, PasswordHash: []byte("$2a$10$" + cause)}, nil
		}), 500, "server_error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs := &syncBuffer{}
			f := newFixture(t, "", func(c *tollgate.Config) {
				c.Users = tt.store
				c.Logger = slog.New(slog.NewTextHandler(logs, nil))
			})
			rec := f.post("/token", url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"wonderland"}})
			if rec.Code != tt.status {
				t.Fatalf("status = %d, want %d (body %s)", rec.Code, tt.status, rec.Body)
			}
			if tt.status == 503 && rec.Header().Get("Retry-After") == "" {
				t.Error("a 503 without Retry-After")
			}
			tj := decodeToken(t, rec)
			if tj.Error != tt.code {
				t.Errorf("error = %q, want %s", tj.Error, tt.code)
			}
			for _, leak := range []string{"10.0.0.5", "db-secret", "connection refused", "deadline", "wonderland", "$2a$"} {
				if strings.Contains(rec.Body.String(), leak) {
					t.Errorf("body %s leaks %q", rec.Body, leak)
				}
			}
			if !strings.Contains(logs.String(), "tollgate") {
				t.Errorf("server error not logged: %q", logs.String())
			}
			if strings.Contains(logs.String(), "wonderland") {
				t.Errorf("log holds the password: %q", logs.String())
			}
			if ev := f.events.Of(audit.LoginSucceeded); len(ev) != 0 {
				t.Errorf("login succeeded on a store error")
			}
		})
	}
}

// storedUser returns the user as the store holds it now.
func storedUser(t testing.TB, s tollgate.UserStore, name string) *tollgate.User {
	t.Helper()
	u, err := s.LookupUser(context.Background(), name)
	if err != nil {
		t.Fatalf("LookupUser(%q): %v", name, err)
	}
	return u
}

// failingUpdater is a one-user store whose UpdatePasswordHash fails.
type failingUpdater struct {
	user  tollgate.User
	mu    sync.Mutex
	calls int
}

func (s *failingUpdater) LookupUser(_ context.Context, name string) (*tollgate.User, error) {
	if name != s.user.Username {
		return nil, tollgate.ErrNotFound
	}
	u := s.user
	return &u, nil
}

func (s *failingUpdater) UpdatePasswordHash(context.Context, string, []byte) error {
	s.mu.Lock()
	s.calls++
	s.mu.Unlock()
	return errors.New("read-only replica")
}

// syncBuffer is a bytes.Buffer safe for concurrent writes, for loggers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
