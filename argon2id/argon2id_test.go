package argon2id_test

import (
	"context"
	"encoding/base64"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"

	"github.com/tollgate-go/tollgate"
	"github.com/tollgate-go/tollgate/argon2id"
	"github.com/tollgate-go/tollgate/memstore"
)

// cheapArgon2 keeps most tests fast; TestArgon2idOWASPDefaults checks the
// real parameters once.
var cheapArgon2 = argon2id.Hasher{Memory: 64, Iterations: 1}

// phc matches the PHC string format of Argon2id.
var phc = regexp.MustCompile(`^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$`)

// TestArgon2idOWASPDefaults checks the zero value against the OWASP
// Password Storage Cheat Sheet (m=19 MiB, t=2, p=1) and the PHC format.
func TestArgon2idOWASPDefaults(t *testing.T) {
	h, err := argon2id.Hasher{}.Hash("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	m := phc.FindStringSubmatch(string(h))
	if m == nil {
		t.Fatalf("Hash() = %q, not a PHC argon2id string", h)
	}
	if m[1] != "19456" || m[2] != "2" || m[3] != "1" {
		t.Errorf("parameters m=%s,t=%s,p=%s, want m=19456,t=2,p=1", m[1], m[2], m[3])
	}
	salt, _ := base64.RawStdEncoding.DecodeString(m[4])
	key, _ := base64.RawStdEncoding.DecodeString(m[5])
	if len(salt) != 16 || len(key) != 32 {
		t.Errorf("salt %d bytes, tag %d bytes; want 16 and 32", len(salt), len(key))
	}
	// Interoperability: the tag is argon2.IDKey over the stated inputs, as
	// other PHC implementations compute it.
	if want := argon2.IDKey([]byte("correct horse battery staple"), salt, 2, 19456, 1, 32); string(want) != string(key) {
		t.Error("tag differs from argon2.IDKey with the stated parameters")
	}
	ok, err := argon2id.Hasher{}.Verify(h, "correct horse battery staple")
	if !ok || err != nil {
		t.Errorf("Verify(right password) = %v, %v", ok, err)
	}
}

func TestArgon2id(t *testing.T) {
	h, err := cheapArgon2.Hash("s3cret")
	if err != nil {
		t.Fatal(err)
	}
	h2, _ := cheapArgon2.Hash("s3cret")
	if string(h) == string(h2) {
		t.Error("two hashes of one password are equal: no random salt")
	}
	long := strings.Repeat("p", 200) // no 72-byte limit, and no truncation
	hl, err := cheapArgon2.Hash(long)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		hash     []byte
		password string
		want     bool
		wantErr  bool
	}{
		{"right password", h, "s3cret", true, false},
		{"wrong password", h, "s3cret!", false, false},
		{"empty password", h, "", false, false},
		{"long password", hl, long, true, false},
		{"long password, last byte changed", hl, long[:199] + "q", false, false},
		{"bcrypt hash", []byte("$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"), "s3cret", false, true},
		{"argon2i", []byte(strings.Replace(string(h), "argon2id", "argon2i", 1)), "s3cret", false, true},
		{"version 16", []byte(strings.Replace(string(h), "v=19", "v=16", 1)), "s3cret", false, true},
		{"empty", nil, "s3cret", false, true},
		{"memory bomb", []byte("$argon2id$v=19$m=4294967295,t=1,p=1$c2FsdHNhbHRzYWx0$" + strings.Repeat("A", 43)), "x", false, true},
		{"time bomb", []byte("$argon2id$v=19$m=64,t=100000,p=1$c2FsdHNhbHRzYWx0$" + strings.Repeat("A", 43)), "x", false, true},
		{"zero lanes", []byte("$argon2id$v=19$m=64,t=1,p=0$c2FsdHNhbHRzYWx0$" + strings.Repeat("A", 43)), "x", false, true},
		{"leading zero", []byte("$argon2id$v=19$m=064,t=1,p=1$c2FsdHNhbHRzYWx0$" + strings.Repeat("A", 43)), "x", false, true},
		{"reordered parameters", []byte("$argon2id$v=19$t=1,m=64,p=1$c2FsdHNhbHRzYWx0$" + strings.Repeat("A", 43)), "x", false, true},
		{"short tag", []byte("$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$AAAA"), "x", false, true},
		{"padded base64", []byte(string(h) + "="), "s3cret", false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ok, err := cheapArgon2.Verify(tc.hash, tc.password)
			if ok != tc.want || (err != nil) != tc.wantErr {
				t.Errorf("Verify() = %v, %v; want %v, error %v", ok, err, tc.want, tc.wantErr)
			}
		})
	}
	if _, err := cheapArgon2.Hash(""); err == nil {
		t.Error("Hash(\"\") succeeded")
	}
	if _, err := (argon2id.Hasher{Memory: 1 << 30}).Hash("x"); err == nil {
		t.Error("Hash with m=1 TiB succeeded")
	}
}

func TestArgon2idNeedsRehash(t *testing.T) {
	weak, _ := argon2id.Hasher{Memory: 64, Iterations: 1}.Hash("pw")
	strong, _ := argon2id.Hasher{Memory: 128, Iterations: 2}.Hash("pw")
	tests := []struct {
		name   string
		hasher argon2id.Hasher
		hash   []byte
		want   bool
	}{
		{"same parameters", argon2id.Hasher{Memory: 64, Iterations: 1}, weak, false},
		{"less memory than wanted", argon2id.Hasher{Memory: 128, Iterations: 1}, weak, true},
		{"fewer iterations than wanted", argon2id.Hasher{Memory: 64, Iterations: 2}, weak, true},
		{"stronger than wanted", argon2id.Hasher{Memory: 64, Iterations: 1}, strong, false},
		{"OWASP defaults, weak hash", argon2id.Hasher{}, weak, true},
		{"malformed", argon2id.Hasher{}, []byte("$argon2id$nope"), false},
	}
	for _, tc := range tests {
		if got := tc.hasher.NeedsRehash(tc.hash); got != tc.want {
			t.Errorf("%s: NeedsRehash() = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestMigrating shows a bcrypt user base moving to Argon2id: bcrypt
// hashes verify, and a successful login replaces the user's bcrypt hash
// with an Argon2id one through the PasswordUpdater, after which the user
// still logs in and nothing more is rehashed.
func TestMigrating(t *testing.T) {
	mh := argon2id.Migrating{Argon2id: cheapArgon2}
	// A legacy hash at bcrypt's minimum cost keeps the test quick under
	// the race detector; Verify takes the cost from the hash.
	old, err := bcrypt.GenerateFromPassword([]byte("wonderland"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	users := memstore.NewUsers(tollgate.User{Username: "alice", PasswordHash: old, Scopes: []string{"me"}})
	key, err := tollgate.GenerateKey("ES256")
	if err != nil {
		t.Fatal(err)
	}
	auth, err := tollgate.New(tollgate.Config{
		Issuer: "https://as.test", Audience: []string{"https://api.test"},
		SigningKey: key, Scopes: map[string]string{"me": ""}, Users: users, Hasher: mh,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	token := auth.TokenHandler()
	login := func(password string) int {
		form := url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {password}}
		req := httptest.NewRequest("POST", "/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		token.ServeHTTP(rec, req)
		return rec.Code
	}
	stored := func() []byte {
		u, err := users.LookupUser(context.Background(), "alice")
		if err != nil {
			t.Fatal(err)
		}
		return u.PasswordHash
	}

	if code := login("not-it"); code != http.StatusBadRequest {
		t.Fatalf("wrong password: %d", code)
	}
	if string(stored()) != string(old) {
		t.Fatal("a failed login changed the hash")
	}
	if code := login("wonderland"); code != http.StatusOK {
		t.Fatalf("login: %d", code)
	}
	upgraded := stored()
	if !phc.Match(upgraded) {
		t.Fatalf("after login the hash is %.7s..., want an argon2id PHC string", upgraded)
	}
	if code := login("wonderland"); code != http.StatusOK {
		t.Fatalf("login after upgrade: %d", code)
	}
	if string(stored()) != string(upgraded) {
		t.Error("an Argon2id hash with current parameters was rehashed")
	}
	if code := login("not-it"); code != http.StatusBadRequest {
		t.Errorf("wrong password after upgrade: %d", code)
	}

	if !mh.NeedsRehash(old) || mh.NeedsRehash(upgraded) {
		t.Error("NeedsRehash: want true for bcrypt, false for current Argon2id")
	}
	if h, _ := mh.Hash("x"); !phc.Match(h) {
		t.Errorf("Hash() = %q, want Argon2id", h)
	}
	// bcrypt's 72-byte rule still holds for bcrypt hashes.
	if ok, _ := mh.Verify(old, "wonderland"+strings.Repeat("x", 80)); ok {
		t.Error("a bcrypt hash matched a password longer than 72 bytes")
	}
}
