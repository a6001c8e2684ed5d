package tollgate

// Verification of presented access tokens: the resource-server half's
// core. The codecs (compact split, signature check, claims reader) are in
// internal/jose; this file holds the policy: which key, which claims, what
// each failure means.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/tollgate-go/tollgate/audit"
	"github.com/tollgate-go/tollgate/internal/jose"
)

// maxTokenBytes bounds the access tokens tollgate will look at. Its own
// tokens are well under 2 KiB (more with Config.Claims, which is bounded
// to fit); a longer one is rejected as invalid_token before any decoding,
// so a megabyte of dots costs a length check.
const maxTokenBytes = 8192

// Causes of invalid tokens, each with its reason; the client sees only
// descInvalidToken or descExpired.
var (
	errTooLarge  = &rejection{audit.TooLarge, "token longer than 8192 bytes"}
	errShape     = &rejection{audit.Malformed, "token is not a compact JWS"}
	errHeader    = &rejection{audit.Malformed, "bad JOSE header"}
	errTyp       = &rejection{audit.WrongType, "typ is not at+jwt (RFC 9068 §4)"}
	errKid       = &rejection{audit.UnknownKey, "unknown kid"}
	errAlg       = &rejection{audit.WrongAlgorithm, "alg does not match the key (RFC 8725 §3.1)"}
	errExtension = &rejection{audit.UnsupportedHeader, jose.ErrExtension.Error()}
	errSignature = &rejection{audit.BadSignature, "bad signature"}
	errClaims    = &rejection{audit.Malformed, "malformed claims"}
	errIssuer    = &rejection{audit.WrongIssuer, "wrong or missing iss"}
	errAudience  = &rejection{audit.WrongAudience, "wrong or missing aud"}
	errSubject   = &rejection{audit.NoSubject, "missing sub"}
	errNoExp     = &rejection{audit.NoExpiry, "missing exp"}
	errExpired   = &rejection{audit.Expired, "token expired"}
	errNotYet    = &rejection{audit.NotYetValid, "token not valid yet (nbf or iat in the future)"}
	errScope     = &rejection{audit.Malformed, "malformed scope claim"}
)

// invalid wraps a cause as invalid_token.
func invalid(cause error) *Error {
	return kindInvalidToken.new(descInvalidToken, cause)
}

// verifyAccess checks a compact JWS access token: shape, header, key and
// algorithm (from the key, never from the token), signature, then claims.
// Every failure is invalid_token. A token verified before is found in the
// key ring's cache; its times are checked again on every use.
func (a *Authenticator) verifyAccess(token string) (*Principal, error) {
	return a.verifyWith(a.ring(), token)
}

// verifyWith is verifyAccess with the key ring ring.
func (a *Authenticator) verifyWith(ring *keyRing, token string) (*Principal, error) {
	if len(token) > maxTokenBytes {
		return nil, kindInvalidToken.new(descTokenTooLarge, errTooLarge)
	}
	cache := ring.cache
	if cache != nil {
		if e := cache.get(token); e != nil {
			if err := a.checkTimes(&e.times); err != nil {
				if errors.Is(err, errExpired) {
					cache.remove(token)
				}
				return nil, err
			}
			return e.principal(), nil
		}
	}
	if !validB64Token(token) {
		// Not even RFC 6750 §2.1 b64token syntax: malformed credentials.
		return nil, kindInvalidRequest.new(descMalformed, nil)
	}
	var c jose.Claims
	if err := a.verifyToken(ring, token, &c); err != nil {
		return nil, err
	}
	e, err := a.checkClaims(&c)
	if err != nil {
		return nil, err
	}
	e.p.token = token
	if cache == nil || !cache.admit() {
		return &e.p, nil
	}
	cache.put(token, e, e.times.Exp.Time.Add(a.cfg.Leeway), a.now())
	return e.principal(), nil
}

// verifyToken checks everything but the claims: shape, header, key,
// algorithm and signature, and decodes the claims into c.
func (a *Authenticator) verifyToken(ring *keyRing, token string, c *jose.Claims) error {
	hb64, pb64, sb64, ok := jose.Split(token)
	if !ok {
		return invalid(errShape)
	}
	// The header of a token tollgate signed is one of the ring's own:
	// strict base64url has one encoding per byte string, so an identical
	// segment decodes to the identical header, whose checks passed when
	// the ring was built. Any other header is decoded and checked.
	k := ring.byHdr[hb64]
	if k == nil {
		var err error
		if k, err = ring.headerKey(hb64); err != nil {
			return err
		}
	}

	// The signature, over the signing input as sent (RFC 7515 §5.2).
	var sigBuf [512]byte
	sig, err := jose.Decode(sigBuf[:], sb64)
	if err != nil {
		return invalid(errSignature)
	}
	input := token[:len(hb64)+1+len(pb64)]
	if !k.verifySignature(input, sig) {
		return invalid(errSignature)
	}

	// The signature holds: the claims are the issuer's.
	var pBuf [1024]byte
	payload, err := jose.Decode(pBuf[:], pb64)
	if err != nil {
		return invalid(errClaims)
	}
	if err := jose.DecodeClaims(string(payload), c); err != nil {
		return invalid(errClaims)
	}
	return nil
}

// verifySignature checks sig over input with k.
func (k *Key) verifySignature(input string, sig []byte) bool {
	if k.mac != nil {
		return k.mac.Verify(input, sig)
	}
	return jose.Verify(k.pub, input, sig)
}

// headerKey decodes and checks a protected header that is not one of the
// ring's own, and returns the key it names.
func (r *keyRing) headerKey(hb64 string) (*Key, error) {
	h, err := jose.DecodeHeader(hb64)
	switch {
	case errors.Is(err, jose.ErrExtension):
		return nil, invalid(errExtension)
	case err != nil:
		return nil, invalid(errHeader)
	}
	if !strings.EqualFold(h.Typ, "at+jwt") && !strings.EqualFold(h.Typ, "application/at+jwt") {
		return nil, invalid(errTyp)
	}
	k := r.byKID[h.Kid]
	if h.Kid == "" {
		k = r.only
	}
	if k == nil {
		return nil, invalid(errKid)
	}
	if h.Alg != k.Algorithm() {
		return nil, invalid(errAlg)
	}
	return k, nil
}

// checkClaims validates the registered claims (RFC 7519 §4.1, RFC 9068 §4)
// and builds the verified token's cache entry.
func (a *Authenticator) checkClaims(c *jose.Claims) (*cacheEntry, error) {
	switch {
	case c.Iss != a.cfg.Issuer:
		return nil, invalid(errIssuer)
	case !hasAny(c.Aud, a.cfg.Audience):
		return nil, invalid(errAudience)
	case c.Sub == "":
		return nil, invalid(errSubject)
	}
	t := tokenTimes{Exp: c.Exp, Nbf: c.Nbf, Iat: c.Iat}
	if err := a.checkTimes(&t); err != nil {
		return nil, err
	}
	scopes, err := parseScope(c.Scope)
	if err != nil {
		return nil, invalid(errScope)
	}
	e := &cacheEntry{
		p: Principal{
			Subject:   c.Sub,
			Username:  c.Username,
			ClientID:  c.ClientID,
			Scopes:    scopes,
			TokenID:   c.Jti,
			IssuedAt:  c.Iat.Time,
			ExpiresAt: c.Exp.Time,
			// RFC 9068 §2.2: a token of no resource owner names its
			// client as its subject; tollgate's user tokens never do.
			Client: c.Sub == c.ClientID && c.Username == "",
			sid:    c.Sid,
		},
		times: t,
	}
	if e.p.Username == "" {
		e.p.Username = c.Sub
	}
	return e, nil
}

// tokenTimes are the time claims of a token, checked on every use.
type tokenTimes struct {
	Exp, Nbf, Iat jose.NumericDate
}

// checkTimes checks "exp", "nbf" and "iat" against the clock, with
// Config.Leeway (RFC 7519 §4.1.4, §4.1.5).
func (a *Authenticator) checkTimes(t *tokenTimes) error {
	now := a.now()
	skew := a.cfg.Leeway
	switch {
	case !t.Exp.Set:
		return invalid(errNoExp)
	case !now.Before(t.Exp.Time.Add(skew)):
		return kindInvalidToken.new(descExpired, errExpired)
	case t.Nbf.Set && now.Add(skew).Before(t.Nbf.Time):
		return invalid(errNotYet)
	case t.Iat.Set && now.Add(skew).Before(t.Iat.Time):
		return invalid(errNotYet)
	}
	return nil
}

// errNoClaims is DecodeClaims' answer for a Principal not made by
// verification.
var errNoClaims = errors.New("tollgate: this Principal was not made by verifying a token: it has no claims to decode")

// tokenPayload returns the decoded claims of a token that was verified.
func tokenPayload(token string) ([]byte, error) {
	_, pb64, _, ok := jose.Split(token)
	if !ok {
		return nil, errNoClaims
	}
	return jose.Decode(nil, pb64)
}

// jsonUnmarshal is json.Unmarshal of a claims set, refusing one in which
// two names match: encoding/json matches names case-insensitively (with
// Unicode folding) and the last wins, so {"sub":"alice","SUB":"admin"}
// would put "admin" in a handler's Sub field, which the verifier, reading
// names exactly, never checked.
func jsonUnmarshal(data []byte, v any) error {
	if err := uniqueNames(data); err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return errors.New("tollgate: decoding the token's claims: " + err.Error())
	}
	return nil
}

// uniqueNames checks that no two top-level names of the JSON object data
// are equal under Unicode case folding.
func uniqueNames(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return errors.New("tollgate: the token's claims are not a JSON object")
	}
	var names []string
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return errors.New("tollgate: decoding the token's claims: " + err.Error())
		}
		name, _ := t.(string)
		for _, n := range names {
			if strings.EqualFold(n, name) {
				return fmt.Errorf("tollgate: the token's claims name %q twice (or in two cases)", name)
			}
		}
		names = append(names, name)
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return errors.New("tollgate: decoding the token's claims: " + err.Error())
		}
	}
	return nil
}
