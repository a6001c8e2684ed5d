//go:build !race

package argon2id_test

// A timing test: under the race detector (and beside the other packages'
// tests) the machine is too loaded for medians to mean anything, so it
// runs without -race, alone (.ci/run).

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/tollgate-go/tollgate"
	"github.com/tollgate-go/tollgate/argon2id"
	"github.com/tollgate-go/tollgate/memstore"
)

// TestMigratingTiming measures what an attacker measures: the median
// time of the token endpoint's answer to a wrong password for a user
// still on bcrypt, to an unknown user, and to a 73-byte password. With
// Argon2id parameters much cheaper than the bcrypt cost, unknown users
// must still take as long as bcrypt users (the dummy of the slower
// scheme), and the 72-byte rule must cost a full comparison.
func TestMigratingTiming(t *testing.T) {
	const cost = 10
	mh := argon2id.Migrating{Argon2id: cheapArgon2, BcryptCost: cost}
	old, err := bcrypt.GenerateFromPassword([]byte("wonderland"), cost)
	if err != nil {
		t.Fatal(err)
	}
	users := memstore.NewUsers(tollgate.User{Username: "alice", PasswordHash: old, Scopes: []string{"me"}})
	key, _ := tollgate.GenerateKey("ES256")
	auth, err := tollgate.New(tollgate.Config{
		Issuer: "https://as.test", Audience: []string{"https://api.test"}, SigningKey: key,
		Scopes: map[string]string{"me": ""}, Users: users, Hasher: mh,
		Logins: tollgate.LoginLimits{DisableThrottle: true}, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	h := auth.TokenHandler()
	median := func(user, password string) time.Duration {
		var ds []time.Duration
		for range 1 {
			form := url.Values{"grant_type": {"password"}, "username": {user}, "password": {password}}
			req := httptest.NewRequest("POST", "/token", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			rec := httptest.NewRecorder()
			start := time.Now()
			h.ServeHTTP(rec, req)
			ds = append(ds, time.Since(start))
			if rec.Code != http.StatusBadRequest {
				t.Fatalf("%s: %d, want 400", user, rec.Code)
			}
		}
		slices.Sort(ds)
		return ds[len(ds)/2]
	}
	// The three cases take turns, so that a change of load meets them
	// alike.
	var wrongs, unknowns, longs []time.Duration
	for range 7 {
		wrongs = append(wrongs, median("alice", "not-it"))
		unknowns = append(unknowns, median("nobody", "not-it"))
		longs = append(longs, median("alice", strings.Repeat("x", 73)))
	}
	mid := func(ds []time.Duration) time.Duration { slices.Sort(ds); return ds[len(ds)/2] }
	wrong, unknown, long := mid(wrongs), mid(unknowns), mid(longs)
	t.Logf("medians: wrong password %v, unknown user %v, 73-byte password %v", wrong, unknown, long)
	for name, d := range map[string]time.Duration{"unknown user": unknown, "73-byte password": long} {
		if d < wrong/2 || d > wrong*2 {
			t.Errorf("%s: median %v against %v for a wrong password of a bcrypt user: the timing tells them apart", name, d, wrong)
		}
	}
}
