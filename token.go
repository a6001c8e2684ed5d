package tollgate

// This is the only file that imports jwx: keys, JWKS, signing and
// verifying access tokens. No jwx type appears in an exported signature,
// so moving to another JOSE library stays a one-file change.

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"hash"
	"log/slog"
	"math"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// Algorithms tollgate signs and verifies with. The algorithm of a key
// follows from the key (see [NewKey]); a token's "alg" header only has to
// match it (RFC 8725 §3.1).
const (
	HS256 = "HS256"
	RS256 = "RS256"
	ES256 = "ES256"
	ES384 = "ES384"
	ES512 = "ES512"
	EdDSA = "EdDSA"
)

// MinHMACKeyBytes is the shortest HS256 secret [NewKey] accepts: 256 bits,
// the size of the hash (RFC 7518 §3.2, RFC 8725 §3.5).
const MinHMACKeyBytes = 32

// minRSABits is the smallest RSA modulus accepted (RFC 7518 §3.3).
const minRSABits = 2048

// A Key is a signing or verification key with its algorithm and key id.
// Make one with [NewKey], [GenerateKey], [ParseKey] or [LoadKeyFile].
// A Key is immutable and safe for concurrent use.
type Key struct {
	kid     string
	alg     jwa.SignatureAlgorithm
	priv    any    // private key or HMAC secret; nil for verification-only keys
	pub     any    // public key; nil for HMAC
	secret  []byte // HMAC secret
	signer  jws.Signer
	hdr     string     // base64url of the protected header of tokens it signs
	hmacs   *sync.Pool // of *hmacState, for HS256
	public  jwk.Key    // the public JWK, for JWKS; nil for HMAC
	private bool
	// generated marks a key made by GenerateKey, which New warns about.
	generated bool
}

// ID returns the key id ("kid"): the RFC 7638 thumbprint, unless the key
// was parsed from a JWK that named one.
func (k *Key) ID() string { return k.kid }

// Algorithm returns the JWS algorithm of the key, such as "ES256".
func (k *Key) Algorithm() string { return string(k.alg) }

// Public returns the verification-only half of k. For an HS256 key, which
// has none, it returns k.
func (k *Key) Public() *Key {
	if k.pub == nil || !k.private {
		return k
	}
	c := *k
	c.priv, c.private, c.signer = nil, false, nil
	return &c
}

// LogValue identifies the key without its secret.
func (k *Key) LogValue() slog.Value {
	return slog.GroupValue(slog.String("kid", k.kid), slog.String("alg", string(k.alg)), slog.Bool("private", k.private))
}

// String identifies the key without its secret.
func (k *Key) String() string {
	return fmt.Sprintf("tollgate.Key{kid: %s, alg: %s, private: %t}", k.kid, k.alg, k.private)
}

func (k *Key) canSign() bool { return k.private }

// NewKey wraps a key of the standard library, choosing the algorithm from
// its type:
//
//   - *ecdsa.PrivateKey or *ecdsa.PublicKey: ES256 (P-256), ES384 (P-384),
//     ES512 (P-521)
//   - *rsa.PrivateKey or *rsa.PublicKey of at least 2048 bits: RS256
//   - ed25519.PrivateKey or ed25519.PublicKey: EdDSA
//   - []byte of at least [MinHMACKeyBytes] bytes: HS256
//
// Public keys verify only. The key id is the RFC 7638 thumbprint.
func NewKey(key any) (*Key, error) {
	return newKey(key, "")
}

func newKey(key any, kid string) (*Key, error) {
	k := &Key{}
	switch key := key.(type) {
	case []byte:
		if len(key) < MinHMACKeyBytes {
			return nil, fmt.Errorf("tollgate: HS256 secret of %d bytes; at least %d are required (RFC 8725 §3.5)", len(key), MinHMACKeyBytes)
		}
		k.secret = bytes.Clone(key)
		k.priv, k.private, k.alg = k.secret, true, jwa.HS256
		sec := k.secret
		k.hmacs = &sync.Pool{New: func() any { return &hmacState{h: hmac.New(sha256.New, sec)} }}
	case *ecdsa.PrivateKey:
		k.priv, k.pub, k.private = key, &key.PublicKey, true
	case *ecdsa.PublicKey:
		k.pub = key
	case *rsa.PrivateKey:
		k.priv, k.pub, k.private = key, &key.PublicKey, true
	case *rsa.PublicKey:
		k.pub = key
	case ed25519.PrivateKey:
		if len(key) != ed25519.PrivateKeySize {
			return nil, errors.New("tollgate: malformed Ed25519 private key")
		}
		k.priv, k.pub, k.private = key, key.Public(), true
	case ed25519.PublicKey:
		if len(key) != ed25519.PublicKeySize {
			return nil, errors.New("tollgate: malformed Ed25519 public key")
		}
		k.pub = key
	default:
		return nil, fmt.Errorf("tollgate: unsupported key type %T", key)
	}
	switch pub := k.pub.(type) {
	case *ecdsa.PublicKey:
		switch pub.Curve {
		case elliptic.P256():
			k.alg = jwa.ES256
		case elliptic.P384():
			k.alg = jwa.ES384
		case elliptic.P521():
			k.alg = jwa.ES512
		default:
			return nil, errors.New("tollgate: unsupported elliptic curve")
		}
	case *rsa.PublicKey:
		if pub.N.BitLen() < minRSABits {
			return nil, fmt.Errorf("tollgate: RSA key of %d bits; at least %d are required", pub.N.BitLen(), minRSABits)
		}
		k.alg = jwa.RS256
	case ed25519.PublicKey:
		k.alg = jwa.EdDSA
	}
	var err error
	if k.private {
		if k.signer, err = jws.NewSigner(k.alg); err != nil {
			return nil, fmt.Errorf("tollgate: %w", err)
		}
	}
	// The kid: the JWK's own, or the RFC 7638 thumbprint.
	var jk jwk.Key
	if k.pub != nil {
		jk, err = jwk.FromRaw(k.pub)
	} else {
		jk, err = jwk.FromRaw(k.secret)
	}
	if err != nil {
		return nil, fmt.Errorf("tollgate: %w", err)
	}
	if kid != "" {
		err = jk.Set(jwk.KeyIDKey, kid)
	} else {
		err = jwk.AssignKeyID(jk)
	}
	if err != nil {
		return nil, fmt.Errorf("tollgate: %w", err)
	}
	k.kid = jk.KeyID()
	if k.pub != nil {
		_ = jk.Set(jwk.AlgorithmKey, k.alg)
		_ = jk.Set(jwk.KeyUsageKey, jwk.ForSignature)
		k.public = jk
	}
	hdr, _ := json.Marshal(struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
		Typ string `json:"typ"`
	}{string(k.alg), k.kid, "at+jwt"})
	k.hdr = base64.RawURLEncoding.EncodeToString(hdr)
	return k, nil
}

// GenerateKey makes a new random key for alg (HS256, RS256, ES256, ES384,
// ES512 or EdDSA). Tokens it signs die with the process: use it for
// development and tests. [New] logs a warning when its SigningKey was
// generated, so that a development key never goes unnoticed in production.
func GenerateKey(alg string) (*Key, error) {
	var key any
	var err error
	switch alg {
	case HS256:
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		key = b
	case RS256:
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	case ES256:
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case ES384:
		key, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case ES512:
		key, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	case EdDSA:
		_, key, err = ed25519.GenerateKey(rand.Reader)
	default:
		return nil, fmt.Errorf("tollgate: unsupported algorithm %q", alg)
	}
	if err != nil {
		return nil, fmt.Errorf("tollgate: generating %s key: %w", alg, err)
	}
	k, err := NewKey(key)
	if err == nil {
		k.generated = true // New warns, loudly, when it signs with it
	}
	return k, err
}

// ParseKey parses one key: PEM (PKCS #8, PKCS #1 or SEC 1 private keys;
// PKIX or PKCS #1 public keys) or a JWK (RFC 7517) JSON object. A JWK's
// "kid" is kept; if it names an "alg", that must be the key's.
func ParseKey(data []byte) (*Key, error) {
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '{' {
		jk, err := jwk.ParseKey(data)
		if err != nil {
			return nil, fmt.Errorf("tollgate: parsing JWK: %w", err)
		}
		return fromJWK(jk)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("tollgate: no PEM block or JWK found")
	}
	var key any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "PUBLIC KEY":
		key, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		key, err = x509.ParsePKCS1PublicKey(block.Bytes)
	default:
		return nil, fmt.Errorf("tollgate: unsupported PEM block %q", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("tollgate: parsing PEM %s: %w", block.Type, err)
	}
	if k, ok := key.(*ed25519.PrivateKey); ok {
		key = *k
	}
	return NewKey(key)
}

// fromJWK converts a parsed JWK into a Key.
func fromJWK(jk jwk.Key) (*Key, error) {
	var raw any
	if err := jk.Raw(&raw); err != nil {
		return nil, fmt.Errorf("tollgate: JWK: %w", err)
	}
	if p, ok := raw.(*ed25519.PrivateKey); ok {
		raw = *p
	}
	if p, ok := raw.(*ed25519.PublicKey); ok {
		raw = *p
	}
	k, err := newKey(raw, jk.KeyID())
	if err != nil {
		return nil, err
	}
	if alg := jk.Algorithm(); alg != nil && alg.String() != "" && alg.String() != string(k.alg) {
		return nil, fmt.Errorf("tollgate: JWK %q says alg %q, but its key is for %s", k.kid, alg, k.alg)
	}
	return k, nil
}

// ParseKeySet parses a JWK Set (RFC 7517 §5), such as an issuer's
// /.well-known/jwks.json, into verification keys. A set that holds a
// symmetric ("oct") key or a key whose "use" is not "sig" is an error;
// private keys in a set are returned as their public halves.
func ParseKeySet(data []byte) ([]*Key, error) {
	set, err := jwk.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("tollgate: parsing JWK set: %w", err)
	}
	keys := make([]*Key, 0, set.Len())
	for i := 0; i < set.Len(); i++ {
		jk, _ := set.Key(i)
		// A JWK Set is a public document (RFC 7517 §5): a symmetric key in
		// one is a published secret (RFC 8725 §3.5), and a key for
		// encryption is no signature key (RFC 7517 §4.2).
		if jk.KeyType() == jwa.OctetSeq {
			return nil, fmt.Errorf("tollgate: JWK set holds a symmetric (oct) key %q: a published secret cannot verify tokens", jk.KeyID())
		}
		if use := jk.KeyUsage(); use != "" && use != string(jwk.ForSignature) {
			return nil, fmt.Errorf("tollgate: JWK %q is for use %q, not sig", jk.KeyID(), use)
		}
		k, err := fromJWK(jk)
		if err != nil {
			return nil, err
		}
		// Keys from a set verify only, even if the set held a private key.
		keys = append(keys, k.Public())
	}
	return keys, nil
}

// LoadKeyFile reads a key from a PEM or JWK file (see [ParseKey]).
func LoadKeyFile(path string) (*Key, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tollgate: %w", err)
	}
	k, err := ParseKey(data)
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	return k, nil
}

// keyRing holds the signing key and the verification keys by kid.
type keyRing struct {
	signing *Key
	byKID   map[string]*Key
	only    *Key   // the key, when there is exactly one
	jwks    []byte // the public keys as a JWK Set

	// byHdr finds a key by the exact base64url protected header of the
	// tokens it signs, skipping the decoding of known headers.
	byHdr map[string]*Key

	// cache holds tokens verified with this ring. It belongs to the ring
	// so that a different key set can never see it: a removed key's
	// tokens stop working at once.
	cache *tokenCache
}

// newKeyRing builds the ring. Two different keys with one kid are an error.
func newKeyRing(signing *Key, verification []*Key) (keyRing, error) {
	r := keyRing{signing: signing, byKID: map[string]*Key{}, byHdr: map[string]*Key{}, cache: newTokenCache(defaultCacheEntries, defaultCacheBytes)}
	all := verification
	if signing != nil {
		all = append([]*Key{signing}, verification...)
	}
	set := jwk.NewSet()
	for _, k := range all {
		if k == nil {
			return r, errors.New("tollgate: Config.VerificationKeys holds a nil key")
		}
		if old, dup := r.byKID[k.kid]; dup {
			if old.alg != k.alg || !sameKey(old, k) {
				return r, fmt.Errorf("tollgate: two different keys have kid %q", k.kid)
			}
			continue
		}
		r.byKID[k.kid] = k
		r.byHdr[k.hdr] = k
		if k.public != nil {
			_ = set.AddKey(k.public)
		}
	}
	if len(r.byKID) == 0 {
		return r, errors.New("tollgate: no key: set Config.SigningKey or Config.VerificationKeys")
	}
	if len(r.byKID) == 1 {
		for _, k := range r.byKID {
			r.only = k
		}
	}
	var err error
	r.jwks, err = json.Marshal(set)
	return r, err
}

// sameKey reports whether a and b hold the same key material.
func sameKey(a, b *Key) bool {
	if a.secret != nil || b.secret != nil {
		return hmac.Equal(a.secret, b.secret)
	}
	type equaler interface{ Equal(crypto.PublicKey) bool }
	e, ok := a.pub.(equaler)
	return ok && e.Equal(b.pub)
}

// JWKSHandler serves the public verification keys as a JWK Set (RFC 7517),
// to be mounted at GET /.well-known/jwks.json. HS256 keys are secret and
// never listed.
func (a *Authenticator) JWKSHandler() http.Handler {
	body := a.keys.jwks
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "public, max-age=300")
		_, _ = w.Write(body)
	})
}

// accessClaims is the payload of an issued access token (RFC 9068 §2.2).
type accessClaims struct {
	Iss      string   `json:"iss"`
	Sub      string   `json:"sub"`
	Aud      audience `json:"aud"`
	Exp      int64    `json:"exp"`
	Iat      int64    `json:"iat"`
	Jti      string   `json:"jti"`
	ClientID string   `json:"client_id"`
	Scope    string   `json:"scope"`
	Username string   `json:"preferred_username,omitempty"`
}

// audience is the "aud" claim: a string or an array of strings
// (RFC 7519 §4.1.3). One audience is written as a string.
type audience []string

func (a audience) MarshalJSON() ([]byte, error) {
	if len(a) == 1 {
		return json.Marshal(a[0])
	}
	return json.Marshal([]string(a))
}

func (a *audience) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*a = audience{s}
		return nil
	}
	if len(b) > 0 && b[0] == '[' {
		return json.Unmarshal(b, (*[]string)(a))
	}
	return errors.New("aud is neither a string nor an array")
}

// numericDate is a NumericDate claim (RFC 7519 §2): a JSON number of
// seconds; set records that the claim was present.
type numericDate struct {
	t   time.Time
	set bool
}

func (d *numericDate) UnmarshalJSON(b []byte) error {
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1<<40 {
		return errors.New("not a NumericDate")
	}
	sec, frac := math.Modf(f)
	d.t, d.set = time.Unix(int64(sec), int64(frac*1e9)), true
	return nil
}

// presentedClaims is what verification reads of a token's payload.
// Unknown claims are ignored.
type presentedClaims struct {
	Iss      string      `json:"iss"`
	Sub      string      `json:"sub"`
	Aud      audience    `json:"aud"`
	Exp      numericDate `json:"exp"`
	Nbf      numericDate `json:"nbf"`
	Iat      numericDate `json:"iat"`
	Jti      string      `json:"jti"`
	ClientID string      `json:"client_id"`
	Scope    string      `json:"scope"`
	Username string      `json:"preferred_username"`
}

// joseHeader is what verification reads of a token's protected header.
type joseHeader struct {
	Alg  string          `json:"alg"`
	Typ  string          `json:"typ"`
	Kid  string          `json:"kid"`
	Crit json.RawMessage `json:"crit"`
	Jku  json.RawMessage `json:"jku"`
	X5u  json.RawMessage `json:"x5u"`
	Jwk  json.RawMessage `json:"jwk"`
	X5c  json.RawMessage `json:"x5c"`
	B64  json.RawMessage `json:"b64"`
	Zip  json.RawMessage `json:"zip"`
}

// sigSize is the length of k's signatures, to size a token's buffer (a
// longer signature would only make append grow it).
func (k *Key) sigSize() int {
	switch p := k.pub.(type) {
	case nil:
		return sha256.Size // HS256
	case *rsa.PublicKey:
		return p.Size()
	case *ecdsa.PublicKey:
		return 2 * ((p.Curve.Params().BitSize + 7) / 8) // R‖S
	}
	return ed25519.SignatureSize
}

// mint signs an access token (RFC 9068) with the signing key.
func (a *Authenticator) mint(g grantee, scope string, now time.Time) (token, jti string, exp time.Time, err error) {
	k := a.keys.signing
	exp = now.Add(a.cfg.AccessTTL)
	// The "jti": 128 random bits, base64url, in a stack buffer (the
	// claims are copied into the token, so no string need outlive mint).
	var rnd [16]byte
	var jtiBuf [22]byte
	_, _ = rand.Read(rnd[:]) // crypto/rand.Read never fails (Go 1.24+)
	base64.RawURLEncoding.Encode(jtiBuf[:], rnd[:])
	c := accessClaims{
		Iss:      a.cfg.Issuer,
		Sub:      g.subject,
		Aud:      a.cfg.Audience,
		Exp:      exp.Unix(),
		Iat:      now.Unix(),
		Jti:      string(jtiBuf[:]),
		ClientID: g.clientID,
		Scope:    scope,
	}
	if g.username != g.subject {
		c.Username = g.username
	}
	var pbuf [512]byte
	payload := appendAccessClaims(pbuf[:0], &c)
	enc := base64.RawURLEncoding
	// Sized for the token exactly: a larger buffer costs more in
	// allocation and cache misses than the signature.
	buf := make([]byte, 0, len(k.hdr)+1+enc.EncodedLen(len(payload))+1+enc.EncodedLen(k.sigSize()))
	buf = append(buf, k.hdr...)
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, payload)
	if k.hmacs != nil {
		st := k.hmacs.Get().(*hmacState)
		st.h.Reset()
		st.h.Write(buf)
		sum := st.h.Sum(st.sum[:0])
		buf = append(buf, '.')
		buf = enc.AppendEncode(buf, sum)
		k.hmacs.Put(st)
	} else {
		sig, err := k.signer.Sign(buf, k.priv)
		if err != nil {
			return "", "", time.Time{}, fmt.Errorf("tollgate: signing access token: %w", err)
		}
		buf = append(buf, '.')
		buf = enc.AppendEncode(buf, sig)
	}
	// buf is never written again: the token can share its bytes.
	return unsafe.String(unsafe.SliceData(buf), len(buf)), c.Jti, time.Unix(exp.Unix(), 0), nil
}

// appendAccessClaims appends the JSON of c, byte for byte what
// json.Marshal(c) writes, without reflection.
func appendAccessClaims(b []byte, c *accessClaims) []byte {
	b = append(b, `{"iss":`...)
	b = appendJSONString(b, c.Iss)
	b = append(b, `,"sub":`...)
	b = appendJSONString(b, c.Sub)
	b = append(b, `,"aud":`...)
	switch len(c.Aud) {
	case 0:
		b = append(b, "null"...)
	case 1:
		b = appendJSONString(b, c.Aud[0])
	default:
		for i, s := range c.Aud {
			if i == 0 {
				b = append(b, '[')
			} else {
				b = append(b, ',')
			}
			b = appendJSONString(b, s)
		}
		b = append(b, ']')
	}
	b = append(b, `,"exp":`...)
	b = strconv.AppendInt(b, c.Exp, 10)
	b = append(b, `,"iat":`...)
	b = strconv.AppendInt(b, c.Iat, 10)
	b = append(b, `,"jti":`...)
	b = appendJSONString(b, c.Jti)
	b = append(b, `,"client_id":`...)
	b = appendJSONString(b, c.ClientID)
	b = append(b, `,"scope":`...)
	b = appendJSONString(b, c.Scope)
	if c.Username != "" {
		b = append(b, `,"preferred_username":`...)
		b = appendJSONString(b, c.Username)
	}
	return append(b, '}')
}

// appendJSONString appends s as a JSON string exactly as encoding/json
// does: HTML-safe, U+2028 and U+2029 escaped, invalid UTF-8 replaced.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// Causes of invalid tokens, for logs and tests; the client sees only
// descInvalidToken or descExpired.
var (
	errShape     = errors.New("tollgate: token is not a compact JWS")
	errHeader    = errors.New("tollgate: bad JOSE header")
	errTyp       = errors.New("tollgate: typ is not at+jwt (RFC 9068 §4)")
	errKid       = errors.New("tollgate: unknown kid")
	errAlg       = errors.New("tollgate: alg does not match the key (RFC 8725 §3.1)")
	errExtension = errors.New("tollgate: header names an extension or key source tollgate does not accept (RFC 8725 §3.10, RFC 7515 §4.1.11)")
	errSignature = errors.New("tollgate: bad signature")
	errClaims    = errors.New("tollgate: malformed claims")
	errIssuer    = errors.New("tollgate: wrong or missing iss")
	errAudience  = errors.New("tollgate: wrong or missing aud")
	errSubject   = errors.New("tollgate: missing sub")
	errNoExp     = errors.New("tollgate: missing exp")
	errExpired   = errors.New("tollgate: token expired")
	errNotYet    = errors.New("tollgate: token not valid yet (nbf or iat in the future)")
	errScope     = errors.New("tollgate: malformed scope claim")
)

// invalid wraps a cause as invalid_token.
func invalid(cause error) *Error {
	return ErrInvalidToken.with(descInvalidToken, cause)
}

// maxHeaderBytes bounds the decoded JOSE header.
const maxHeaderBytes = 1024

// verifyAccess checks a compact JWS access token: shape, header, key and
// algorithm (from the key, never from the token), signature, then claims.
// Every failure is invalid_token. A token verified before is found in the
// key ring's cache; its times are checked again on every use.
func (a *Authenticator) verifyAccess(token string) (*Principal, error) {
	if len(token) > MaxTokenBytes {
		return nil, ErrInvalidToken.with(descTokenTooLarge, errShape)
	}
	cache := a.keys.cache
	if a.cfg.DisableTokenCache {
		cache = nil
	}
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
		return nil, ErrInvalidRequest.with(descMalformed, nil)
	}
	c, err := a.verifyToken(token)
	if err != nil {
		return nil, err
	}
	e, err := a.checkClaims(&c)
	if err != nil {
		return nil, err
	}
	if cache == nil {
		return &e.p, nil
	}
	cache.put(token, e, e.times.Exp.t.Add(a.cfg.Leeway), a.now())
	return e.principal(), nil
}

// verifyToken checks everything but the claims: shape, header, key,
// algorithm and signature, and decodes the claims.
func (a *Authenticator) verifyToken(token string) (presentedClaims, error) {
	var c presentedClaims
	// Compact serialization: exactly three base64url segments
	// (RFC 7515 §7.1). Anything else, dots included, is refused before
	// decoding.
	d1 := strings.IndexByte(token, '.')
	if d1 < 0 {
		return c, invalid(errShape)
	}
	d2 := d1 + 1 + strings.IndexByte(token[d1+1:], '.')
	if d2 <= d1 || strings.IndexByte(token[d2+1:], '.') >= 0 || d1 == 0 || d2 == d1+1 || d2 == len(token)-1 {
		return c, invalid(errShape)
	}
	enc := base64.RawURLEncoding.Strict()
	hb64, pb64, sb64 := token[:d1], token[d1+1:d2], token[d2+1:]
	for i := 0; i < len(token); i++ {
		if ch := token[i]; !isB64URL(ch) && ch != '.' {
			return c, invalid(errShape)
		}
	}
	// The header of a token tollgate signed is one of the ring's own:
	// strict base64url has one encoding per byte string, so an identical
	// segment decodes to the identical header, whose checks passed when
	// the ring was built. Any other header is decoded and checked.
	k := a.keys.byHdr[hb64]
	if k == nil {
		var err error
		if k, err = a.keys.headerKey(hb64); err != nil {
			return c, err
		}
	}

	// The signature, over the signing input as sent (RFC 7515 §5.2).
	var sigBuf [512]byte
	sig := sigBuf[:]
	if n := enc.DecodedLen(len(sb64)); n > len(sig) {
		sig = make([]byte, n)
	}
	n, err := enc.Decode(sig, stringBytes(sb64))
	if err != nil {
		return c, invalid(errSignature)
	}
	if !k.verifySignature(stringBytes(token[:d2]), sig[:n]) {
		return c, invalid(errSignature)
	}

	// The signature holds: the claims are the issuer's.
	var pBuf [1024]byte
	payload := pBuf[:]
	if n := enc.DecodedLen(len(pb64)); n > len(payload) {
		payload = make([]byte, n)
	}
	n, err = enc.Decode(payload, stringBytes(pb64))
	if err != nil {
		return c, invalid(errClaims)
	}
	if err := decodeClaims(string(payload[:n]), &c); err != nil {
		return c, invalid(errClaims)
	}
	return c, nil
}

// headerKey decodes and checks a protected header that is not one of the
// ring's own, and returns the key it names.
func (r *keyRing) headerKey(hb64 string) (*Key, error) {
	enc := base64.RawURLEncoding.Strict()
	if enc.DecodedLen(len(hb64)) > maxHeaderBytes {
		return nil, invalid(errHeader)
	}
	hbuf, err := enc.DecodeString(hb64)
	if err != nil {
		return nil, invalid(errHeader)
	}
	var h joseHeader
	if err := json.Unmarshal(hbuf, &h); err != nil {
		return nil, invalid(errHeader)
	}
	if h.Crit != nil || h.Jku != nil || h.X5u != nil || h.Jwk != nil || h.X5c != nil || h.B64 != nil || h.Zip != nil {
		return nil, invalid(errExtension)
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
	if h.Alg != string(k.alg) {
		return nil, invalid(errAlg)
	}
	return k, nil
}

// stringBytes returns the bytes of s without copying. The callers pass
// them only to functions that neither keep nor modify their input
// (base64 decoding, hashing, signature checks).
func stringBytes(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// hmacState is a pooled HMAC-SHA-256 with room for its sum.
type hmacState struct {
	h   hash.Hash
	sum [sha256.Size]byte
}

// verifySignature checks sig over input with k. The primitives are called
// with exactly the semantics of jwx v2's verifiers (jws.NewVerifier), less
// their per-call key conversion and garbage: HMAC with a pooled state;
// RSASSA-PKCS1-v1_5 with SHA-256; ECDSA with r and s each exactly the
// curve's size (RFC 7518 §3.4), both > 0 (ecdsa.Verify) and below the
// order (checked by ecdsa.VerifyASN1); Ed25519 as is.
func (k *Key) verifySignature(input, sig []byte) bool {
	switch pub := k.pub.(type) {
	case nil:
		st := k.hmacs.Get().(*hmacState)
		st.h.Reset()
		st.h.Write(input)
		ok := hmac.Equal(st.h.Sum(st.sum[:0]), sig)
		k.hmacs.Put(st)
		return ok
	case *rsa.PublicKey:
		sum := sha256.Sum256(input)
		return rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig) == nil
	case *ecdsa.PublicKey:
		size := (pub.Curve.Params().BitSize + 7) / 8
		if len(sig) != 2*size {
			return false
		}
		var der [2*(3+66) + 3]byte
		asn, ok := ecdsaDER(der[:0], sig[:size], sig[size:])
		if !ok {
			return false
		}
		switch k.alg {
		case jwa.ES256:
			sum := sha256.Sum256(input)
			return ecdsa.VerifyASN1(pub, sum[:], asn)
		case jwa.ES384:
			sum := sha512.Sum384(input)
			return ecdsa.VerifyASN1(pub, sum[:], asn)
		case jwa.ES512:
			sum := sha512.Sum512(input)
			return ecdsa.VerifyASN1(pub, sum[:], asn)
		}
		return false
	case ed25519.PublicKey:
		return ed25519.Verify(pub, input, sig)
	}
	return false
}

// ecdsaDER appends the ASN.1 DER ECDSA-Sig-Value of the big-endian
// unsigned integers r and s to b (SEC 1 §C.8). It reports false if either
// is zero, as ecdsa.Verify does.
func ecdsaDER(b, r, s []byte) ([]byte, bool) {
	r, s = trimZeros(r), trimZeros(s)
	if len(r) == 0 || len(s) == 0 {
		return nil, false
	}
	n := derIntLen(r) + derIntLen(s)
	b = append(b, 0x30)
	if n >= 0x80 {
		b = append(b, 0x81)
	}
	b = append(b, byte(n))
	b = appendDERInt(b, r)
	return appendDERInt(b, s), true
}

func trimZeros(b []byte) []byte {
	for len(b) > 0 && b[0] == 0 {
		b = b[1:]
	}
	return b
}

func derIntLen(v []byte) int {
	if v[0]&0x80 != 0 {
		return 3 + len(v)
	}
	return 2 + len(v)
}

func appendDERInt(b, v []byte) []byte {
	if v[0]&0x80 != 0 {
		b = append(b, 0x02, byte(len(v)+1), 0)
	} else {
		b = append(b, 0x02, byte(len(v)))
	}
	return append(b, v...)
}

// checkClaims validates the registered claims (RFC 7519 §4.1, RFC 9068 §4)
// and builds the verified token's cache entry.
func (a *Authenticator) checkClaims(c *presentedClaims) (*cacheEntry, error) {
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
			IssuedAt:  c.Iat.t,
			ExpiresAt: c.Exp.t,
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
	Exp, Nbf, Iat numericDate
}

// checkTimes checks "exp", "nbf" and "iat" against the clock, with
// Config.Leeway (RFC 7519 §4.1.4, §4.1.5).
func (a *Authenticator) checkTimes(t *tokenTimes) error {
	now := a.now()
	skew := a.cfg.Leeway
	switch {
	case !t.Exp.set:
		return invalid(errNoExp)
	case !now.Before(t.Exp.t.Add(skew)):
		return ErrInvalidToken.with(descExpired, errExpired)
	case t.Nbf.set && now.Add(skew).Before(t.Nbf.t):
		return invalid(errNotYet)
	case t.Iat.set && now.Add(skew).Before(t.Iat.t):
		return invalid(errNotYet)
	}
	return nil
}
