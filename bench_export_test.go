package tollgate

// Test-only access to internals, for the tests and benchmarks of package
// tollgate_test.

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/tollgate-go/tollgate/internal/jose"
)

// MintForBench signs one access token for alice, for the benchmarks of
// package tollgate_test.
func MintForBench(a *Authenticator) (string, error) {
	tok, _, err := a.mint(grantee{subject: "alice", username: "alice", clientID: defaultClientID}, "me items:read items:write", "", nil, a.now())
	return tok, err
}

// CacheLen returns the entries in a's verified-token cache and the bytes
// they are counted for.
func CacheLen(a *Authenticator) (entries, bytes int) {
	if a.ring().cache == nil {
		return 0, 0
	}
	return a.ring().cache.len()
}

// CacheHas reports whether token is in a's verified-token cache.
func CacheHas(a *Authenticator, token string) bool { return a.ring().cache.get(token) != nil }

// SetCacheBounds gives a a new, empty cache with the given bounds.
func SetCacheBounds(a *Authenticator, entries, bytes int) {
	r := *a.ring()
	r.cache = newTokenCache(entries, bytes)
	a.keys.Store(&r)
}

// VerifyForBench runs the verify path of a first-sight token (shape,
// header, key, signature, claims decode and checks) without the
// maxTokenBytes cap and the cache, for the growth benchmarks of package
// tollgate_test (token size beyond what a request may carry).
func VerifyForBench(a *Authenticator, token string) error {
	var c jose.Claims
	if err := a.verifyToken(a.ring(), token, &c); err != nil {
		return err
	}
	_, err := a.checkClaims(&c)
	return err
}

// HashSlotForBench takes and gives back one slot of the bound on
// concurrent password hashes (Config.Logins.ConcurrentHashes), as every
// password comparison does.
func HashSlotForBench(a *Authenticator) error {
	if err := a.acquireHash(context.Background(), 0); err != nil {
		return err
	}
	a.releaseHash()
	return nil
}

// TokenResponseJSON returns the token endpoint's JSON answer as the
// handler writes it and as json.NewEncoder writes it, for the same fields.
func TokenResponseJSON(access, typ string, expiresIn int64, refresh, scope string) (mine, std string) {
	r := Token{AccessToken: access, TokenType: typ, ExpiresIn: expiresIn, RefreshToken: refresh, Scope: scope}
	var b strings.Builder
	if err := json.NewEncoder(&b).Encode(&r); err != nil {
		return "", err.Error()
	}
	return string(appendTokenResponse(nil, &r)), b.String()
}

// NewRefreshTokenForTest returns a fresh refresh token of a new family and
// its hash as newRefreshToken makes them, the hash as hashRefresh
// computes it, and the family id of the token's handle.
func NewRefreshTokenForTest() (token, hash, rehash, id string) {
	h := newHandle()
	token, hash = newRefreshToken(h)
	got, _ := parseRefresh(token)
	return token, hash, hashRefresh(token), familyID(got)
}

// RefreshFamilyID returns the family id of a refresh token, or "".
func RefreshFamilyID(token string) string {
	h, ok := parseRefresh(token)
	if !ok {
		return ""
	}
	return familyID(h)
}

// SetClock replaces a's clock, for tests of times far from now.
func SetClock(a *Authenticator, now func() time.Time) { a.now = now }
