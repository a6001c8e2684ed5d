package tollgate

// Test-only access to internals, for the tests and benchmarks of package
// tollgate_test.

import (
	"context"
	"encoding/json"
	"strings"
)

// MintForBench signs one access token for alice, for the benchmarks of
// package tollgate_test.
func MintForBench(a *Authenticator) (string, error) {
	tok, _, _, err := a.mint(grantee{subject: "alice", username: "alice", clientID: DefaultClientID}, "me items:read items:write", a.now())
	return tok, err
}

// CacheLen returns the entries in a's verified-token cache and the bytes
// they are counted for.
func CacheLen(a *Authenticator) (entries, bytes int) { return a.keys.cache.len() }

// CacheHas reports whether token is in a's verified-token cache.
func CacheHas(a *Authenticator, token string) bool { return a.keys.cache.get(token) != nil }

// SetCacheBounds gives a a new, empty cache with the given bounds.
func SetCacheBounds(a *Authenticator, entries, bytes int) {
	a.keys.cache = newTokenCache(entries, bytes)
}

// DecodedClaims is what decodeClaims read, with dates in Unix nanoseconds
// (-1 when absent).
type DecodedClaims struct {
	Iss, Sub, Jti, ClientID, Scope, Username string
	Aud                                      []string
	Exp, Nbf, Iat                            int64
}

func toDecoded(c *presentedClaims) DecodedClaims {
	ns := func(d numericDate) int64 {
		if !d.set {
			return -1
		}
		return d.t.UnixNano()
	}
	return DecodedClaims{c.Iss, c.Sub, c.Jti, c.ClientID, c.Scope, c.Username, c.Aud, ns(c.Exp), ns(c.Nbf), ns(c.Iat)}
}

// DecodeClaims runs the claims decoder of the verify path.
func DecodeClaims(payload string) (DecodedClaims, error) {
	var c presentedClaims
	err := decodeClaims(payload, &c)
	return toDecoded(&c), err
}

// DecodeClaimsJSON decodes with encoding/json into the same struct: the
// swappable alternative, for benchmarks and as the fuzz oracle for values.
func DecodeClaimsJSON(payload string) (DecodedClaims, error) {
	var c presentedClaims
	err := json.Unmarshal([]byte(payload), &c)
	return toDecoded(&c), err
}

// AccessClaimsJSON returns the claims JSON as mint writes it and as
// json.Marshal writes it, for the same claims.
func AccessClaimsJSON(iss, sub string, aud []string, exp, iat int64, jti, clientID, scope, username string) (mine, std string) {
	c := accessClaims{Iss: iss, Sub: sub, Aud: aud, Exp: exp, Iat: iat, Jti: jti, ClientID: clientID, Scope: scope, Username: username}
	b, err := json.Marshal(c)
	if err != nil {
		return "", err.Error()
	}
	return string(appendAccessClaims(nil, &c)), string(b)
}

// VerifyForBench runs the verify path of a first-sight token (shape,
// header, key, signature, claims decode and checks) without the
// MaxTokenBytes cap and the cache, for the growth benchmarks of package
// tollgate_test (token size beyond what a request may carry).
func VerifyForBench(a *Authenticator, token string) error {
	c, err := a.verifyToken(token)
	if err != nil {
		return err
	}
	_, err = a.checkClaims(&c)
	return err
}

// HashSlotForBench takes and gives back one slot of the bound on
// concurrent password hashes (Config.MaxConcurrentHashes), as every
// password comparison does.
func HashSlotForBench(a *Authenticator) error {
	if err := a.acquireHash(context.Background()); err != nil {
		return err
	}
	a.releaseHash()
	return nil
}

// TokenResponseJSON returns the token endpoint's JSON answer as the
// handler writes it and as json.NewEncoder writes it, for the same fields.
func TokenResponseJSON(access, typ string, expiresIn int64, refresh, scope string) (mine, std string) {
	r := tokenResponse{AccessToken: access, TokenType: typ, ExpiresIn: expiresIn, RefreshToken: refresh, Scope: scope}
	var b strings.Builder
	if err := json.NewEncoder(&b).Encode(&r); err != nil {
		return "", err.Error()
	}
	return string(appendTokenResponse(nil, &r)), b.String()
}

// NewRefreshSecretForTest returns a fresh refresh token and its hash as
// newRefreshSecret makes them, and the hash as hashRefresh computes it.
func NewRefreshSecretForTest() (token, hash, rehash string) {
	token, hash = newRefreshSecret()
	return token, hash, hashRefresh(token)
}
