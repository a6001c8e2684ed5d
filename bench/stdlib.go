package bench

// The reference: the least a correct Bearer middleware must do, with the
// standard library only. Split the token, check the header is the one
// expected (a single known key: one string comparison), base64url-decode
// the signature, check it with the primitive, decode the claims JSON into
// a struct, check iss, aud, exp, nbf, iat and the scope, and put the
// claims into the context.

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"strings"
	"time"
)

// stdClaims is what the stdlib middleware reads of the payload.
type stdClaims struct {
	Iss      string   `json:"iss"`
	Sub      string   `json:"sub"`
	Aud      stdAud   `json:"aud"`
	Exp      *float64 `json:"exp"`
	Nbf      *float64 `json:"nbf"`
	Iat      *float64 `json:"iat"`
	Jti      string   `json:"jti"`
	ClientID string   `json:"client_id"`
	Scope    string   `json:"scope"`
}

// stdAud is "aud": a string or an array of strings.
type stdAud []string

func (a *stdAud) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*a = stdAud{s}
		return nil
	}
	return json.Unmarshal(b, (*[]string)(a))
}

type stdKey struct{}

// Primitive checks sig over input with the raw key for alg: the signature
// check alone, hashing included.
func Primitive(alg string, pub any, input, sig []byte) bool {
	switch alg {
	case "HS256":
		m := hmac.New(sha256.New, pub.([]byte))
		m.Write(input)
		return hmac.Equal(m.Sum(nil), sig)
	case "RS256":
		sum := sha256.Sum256(input)
		return rsa.VerifyPKCS1v15(pub.(*rsa.PublicKey), crypto.SHA256, sum[:], sig) == nil
	case "ES256":
		if len(sig) != 64 {
			return false
		}
		sum := sha256.Sum256(input)
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		return ecdsa.Verify(pub.(*ecdsa.PublicKey), sum[:], r, s)
	case "EdDSA":
		return ed25519.Verify(pub.(ed25519.PublicKey), input, sig)
	}
	return false
}

var errStd = errors.New("invalid token")

// Limit is the verification floor the issue names: base64url, the
// primitive and the claims JSON into a struct, with the claim checks.
func Limit(alg string, pub any, hdr, token string) (*stdClaims, error) {
	h, rest, ok := strings.Cut(token, ".")
	if !ok || h != hdr {
		return nil, errStd
	}
	p, s, ok := strings.Cut(rest, ".")
	if !ok {
		return nil, errStd
	}
	sig, err := b64.DecodeString(s)
	if err != nil {
		return nil, errStd
	}
	if !Primitive(alg, pub, []byte(token[:len(h)+1+len(p)]), sig) {
		return nil, errStd
	}
	payload, err := b64.DecodeString(p)
	if err != nil {
		return nil, errStd
	}
	c := new(stdClaims)
	if err := json.Unmarshal(payload, c); err != nil {
		return nil, errStd
	}
	now := float64(time.Now().Unix())
	lee := Leeway.Seconds()
	switch {
	case c.Iss != Issuer, c.Sub == "", c.Exp == nil, now >= *c.Exp+lee,
		c.Nbf != nil && now+lee < *c.Nbf, c.Iat != nil && now+lee < *c.Iat:
		return nil, errStd
	}
	for _, a := range c.Aud {
		if a == Audience {
			return c, nil
		}
	}
	return nil, errStd
}

// Stdlib returns the stdlib-only middleware in front of OK.
func (s *Suite) Stdlib() http.Handler {
	hdr, _, _ := strings.Cut(s.Good, ".")
	alg, pub := s.Alg, s.Pub
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := r.Header.Get("Authorization")
		if len(v) < 7 || !strings.EqualFold(v[:7], "Bearer ") {
			w.Header().Set("WWW-Authenticate", `Bearer realm="bench"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		c, err := Limit(alg, pub, hdr, v[7:])
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if !hasScope(c.Scope, Scope) {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		OK.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), stdKey{}, c)))
	})
}
