// Package bench puts tollgate side by side with other Go JWT middleware on
// byte-identical keys, tokens and claims. It is its own module, so the
// peers' dependencies never enter tollgate's go.mod. See run.sh and the
// repository's BENCHMARKS.md.
package bench

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
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"time"

	jwtmiddleware "github.com/auth0/go-jwt-middleware/v2"
	"github.com/auth0/go-jwt-middleware/v2/validator"
	"github.com/go-chi/jwtauth/v5"
	gjwt "github.com/golang-jwt/jwt/v5"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/tollgate-go/tollgate"
)

// The service every path checks tokens for.
const (
	Issuer   = "https://as.bench"
	Audience = "https://api.bench"
	Scope    = "items:read" // required by the route
	Leeway   = 30 * time.Second
)

// Algs are the algorithms compared.
var Algs = []string{"HS256", "RS256", "ES256", "EdDSA"}

// A Suite is one algorithm's keys and tokens.
type Suite struct {
	Alg     string
	Priv    any // HMAC secret or private key
	Pub     any // HMAC secret or public key
	Key     *tollgate.Key
	Good    string // valid for an hour
	Expired string // expired an hour ago
	Forged  string // the good claims, signed with another key
}

// claims is the payload of every token: tollgate's claim set, in its order.
type claims struct {
	Iss      string `json:"iss"`
	Sub      string `json:"sub"`
	Aud      string `json:"aud"`
	Exp      int64  `json:"exp"`
	Iat      int64  `json:"iat"`
	Jti      string `json:"jti"`
	ClientID string `json:"client_id"`
	Scope    string `json:"scope"`
}

// NewSuite makes fresh keys and the tokens for alg.
func NewSuite(alg string) (*Suite, error) {
	priv, pub, err := genKey(alg)
	if err != nil {
		return nil, err
	}
	other, _, err := genKey(alg)
	if err != nil {
		return nil, err
	}
	k, err := tollgate.NewKey(priv)
	if err != nil {
		return nil, err
	}
	s := &Suite{Alg: alg, Priv: priv, Pub: pub, Key: k}
	now := time.Now()
	c := claims{Iss: Issuer, Sub: "alice", Aud: Audience, Exp: now.Add(time.Hour).Unix(), Iat: now.Unix(),
		Jti: "9bT3kQ2xZf0pLw7eR1yUaA", ClientID: "tollgate", Scope: "me items:read items:write"}
	hdr := fmt.Sprintf(`{"alg":%q,"kid":%q,"typ":"at+jwt"}`, alg, k.ID())
	if s.Good, err = Sign(alg, priv, hdr, c); err != nil {
		return nil, err
	}
	if s.Forged, err = Sign(alg, other, hdr, c); err != nil {
		return nil, err
	}
	c.Exp, c.Iat = now.Add(-time.Hour).Unix(), now.Add(-2*time.Hour).Unix()
	if s.Expired, err = Sign(alg, priv, hdr, c); err != nil {
		return nil, err
	}
	return s, nil
}

func genKey(alg string) (priv, pub any, err error) {
	switch alg {
	case "HS256":
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		return b, b, nil
	case "RS256":
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, nil, err
		}
		return k, &k.PublicKey, nil
	case "ES256":
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, nil, err
		}
		return k, &k.PublicKey, nil
	case "EdDSA":
		pub, k, err := ed25519.GenerateKey(rand.Reader)
		return k, pub, err
	}
	return nil, nil, fmt.Errorf("unknown alg %q", alg)
}

var b64 = base64.RawURLEncoding

// Sign makes a compact JWS with the standard library.
func Sign(alg string, key any, header string, c claims) (string, error) {
	payload, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	input := b64.EncodeToString([]byte(header)) + "." + b64.EncodeToString(payload)
	var sig []byte
	sum := sha256.Sum256([]byte(input))
	switch alg {
	case "HS256":
		m := hmac.New(sha256.New, key.([]byte))
		m.Write([]byte(input))
		sig = m.Sum(nil)
	case "RS256":
		sig, err = rsa.SignPKCS1v15(rand.Reader, key.(*rsa.PrivateKey), crypto.SHA256, sum[:])
	case "ES256":
		var r, s *big.Int
		r, s, err = ecdsa.Sign(rand.Reader, key.(*ecdsa.PrivateKey), sum[:])
		if err == nil {
			sig = make([]byte, 64)
			r.FillBytes(sig[:32])
			s.FillBytes(sig[32:])
		}
	case "EdDSA":
		sig = ed25519.Sign(key.(ed25519.PrivateKey), []byte(input))
	}
	if err != nil {
		return "", err
	}
	return input + "." + b64.EncodeToString(sig), nil
}

// OK is the application handler behind every middleware: it writes a
// short body, as a real route would.
var OK = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write([]byte("ok\n"))
})

// Tollgate returns tollgate's RequireScopes(Scope) in front of OK, with the
// cache of verified tokens on or off.
func (s *Suite) Tollgate(cache bool) (http.Handler, error) {
	a, err := tollgate.New(tollgate.Config{
		Issuer:           Issuer,
		Audience:         []string{Audience},
		VerificationKeys: []*tollgate.Key{s.Key.Public()},
		Scopes:           map[string]string{"me": "", "items:read": "", "items:write": ""},
		Leeway:           Leeway,
		Cache:            tollgate.TokenCache{Disabled: !cache},
	})
	if err != nil {
		return nil, err
	}
	return a.RequireScopes(Scope)(OK), nil
}

// JWTAuth returns go-chi/jwtauth v5 (jwx v2 jwt.Parse and jwt.Validate):
// Verifier, Authenticator, and a scope check, in front of OK.
func (s *Suite) JWTAuth() http.Handler {
	ja := jwtauth.New(s.Alg, nil, s.Pub, jwt.WithIssuer(Issuer), jwt.WithAudience(Audience), jwt.WithAcceptableSkew(Leeway))
	scope := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, c, _ := jwtauth.FromContext(r.Context())
			sc, _ := c["scope"].(string)
			if !hasScope(sc, Scope) {
				http.Error(w, "forbidden", http.StatusForbidden)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	return jwtauth.Verifier(ja)(jwtauth.Authenticator(ja)(scope(OK)))
}

// auth0Claims carries the scope for auth0's validator.
type auth0Claims struct {
	Scope string `json:"scope"`
}

func (c *auth0Claims) Validate(context.Context) error {
	if !hasScope(c.Scope, Scope) {
		return errors.New("insufficient scope")
	}
	return nil
}

// Auth0 returns auth0/go-jwt-middleware v2 (go-jose v2) with a scope check
// in its custom claims, in front of OK.
func (s *Suite) Auth0() (http.Handler, error) {
	key := s.Pub
	v, err := validator.New(func(context.Context) (any, error) { return key, nil },
		validator.SignatureAlgorithm(s.Alg), Issuer, []string{Audience},
		validator.WithAllowedClockSkew(Leeway),
		validator.WithCustomClaims(func() validator.CustomClaims { return &auth0Claims{} }))
	if err != nil {
		return nil, err
	}
	return jwtmiddleware.New(v.ValidateToken).CheckJWT(OK), nil
}

// gjwtClaims is golang-jwt's claims struct with the scope.
type gjwtClaims struct {
	gjwt.RegisteredClaims
	Scope string `json:"scope"`
}

// GolangJWT returns a function that verifies a token with golang-jwt/jwt
// v5 ParseWithClaims, and checks the scope; no middleware.
func (s *Suite) GolangJWT() func(token string) error {
	p := gjwt.NewParser(gjwt.WithValidMethods([]string{s.Alg}), gjwt.WithIssuer(Issuer),
		gjwt.WithAudience(Audience), gjwt.WithExpirationRequired(), gjwt.WithLeeway(Leeway))
	key := s.Pub
	kf := func(*gjwt.Token) (any, error) { return key, nil }
	return func(token string) error {
		var c gjwtClaims
		if _, err := p.ParseWithClaims(token, &c, kf); err != nil {
			return err
		}
		if !hasScope(c.Scope, Scope) {
			return errors.New("insufficient scope")
		}
		return nil
	}
}

func hasScope(list, want string) bool {
	for f := range strings.FieldsSeq(list) {
		if f == want {
			return true
		}
	}
	return false
}
