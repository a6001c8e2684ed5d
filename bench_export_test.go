package tollgate

// Test-only access to internals, for the tests and benchmarks of package
// tollgate_test.

import "encoding/json"

// MintForBench signs one access token for alice, for the benchmarks of
// package tollgate_test.
func MintForBench(a *Authenticator) (string, error) {
	tok, _, err := a.mint(grantee{subject: "alice", username: "alice", clientID: DefaultClientID}, []string{"me", "items:read", "items:write"}, a.now())
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
