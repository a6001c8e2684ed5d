package tollgate

// Keys and the JWK Set. This is the only file that imports jwx (for JWK
// parsing, thumbprints, the JWKS document and signing), and no jwx type
// appears in an exported signature, so a move to jwx v3 or another JOSE
// library stays a one-file change. Verification does not use jwx: see
// verify.go and internal/jose.

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
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/tollgate-go/tollgate/internal/jose"
)

// minHMACKeyBytes is the shortest HS256 secret [NewKey] accepts: 256 bits,
// the size of the hash (RFC 7518 §3.2, RFC 8725 §3.5).
const minHMACKeyBytes = 32

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
	mac     *jose.HMAC // for HS256
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

// String identifies the key (kid, alg, whether it is private) without its
// secret. fmt and log/slog's text handler print a Key with it; no form of
// a Key prints its secret (log/slog's JSON handler prints {}).
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
//   - []byte of at least 32 bytes (256 bits, RFC 8725 §3.5): HS256
//
// Public keys verify only. The key id is the RFC 7638 thumbprint.
func NewKey(key any) (*Key, error) {
	return newKey(key, "")
}

func newKey(key any, kid string) (*Key, error) {
	k := &Key{}
	switch key := key.(type) {
	case []byte:
		if len(key) < minHMACKeyBytes {
			return nil, fmt.Errorf("tollgate: HS256 secret of %d bytes; at least %d are required (RFC 8725 §3.5)", len(key), minHMACKeyBytes)
		}
		k.secret = bytes.Clone(key)
		k.priv, k.private, k.alg = k.secret, true, jwa.HS256
		k.mac = jose.NewHMAC(k.secret)
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
	case "HS256":
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		key = b
	case "RS256":
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	case "ES256":
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "ES384":
		key, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "ES512":
		key, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	case "EdDSA":
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

// ParseKey parses one key: a JWK (RFC 7517) JSON object, or PEM: PKCS #8
// ("PRIVATE KEY", what openssl genpkey writes), SEC 1 ("EC PRIVATE KEY",
// what openssl ecparam -genkey writes, after an "EC PARAMETERS" block that
// is skipped) or PKCS #1 ("RSA PRIVATE KEY") private keys, and PKIX
// ("PUBLIC KEY") or PKCS #1 ("RSA PUBLIC KEY") public keys. A JWK's "kid"
// is kept; if it names an "alg", that must be the key's. Data holding more
// than one key is refused: which one would sign is not for a guess.
func ParseKey(data []byte) (*Key, error) {
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '{' {
		jk, err := jwk.ParseKey(data)
		if err != nil {
			return nil, fmt.Errorf("tollgate: parsing JWK: %w", err)
		}
		return fromJWK(jk)
	}
	var key any
	var found string
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type == "EC PARAMETERS" {
			// openssl ecparam -genkey writes the curve's name first; the
			// private key block repeats it.
			continue
		}
		if found != "" {
			return nil, fmt.Errorf("tollgate: PEM holds more than one key (%s, then %s)", found, block.Type)
		}
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
		case "ENCRYPTED PRIVATE KEY":
			return nil, errors.New("tollgate: the PEM key is encrypted; decrypt it first (openssl pkey -in KEY -out PLAIN)")
		default:
			return nil, fmt.Errorf("tollgate: unsupported PEM block %q", block.Type)
		}
		if err != nil {
			return nil, fmt.Errorf("tollgate: parsing PEM %s: %w", block.Type, err)
		}
		found = block.Type
	}
	if found == "" {
		return nil, errors.New("tollgate: no PEM key or JWK found")
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

	// version is the KeySource's version of the keys the ring holds.
	version uint64

	// cache holds tokens verified with this ring (nil: no cache). It belongs to the ring
	// so that a different key set can never see it: a removed key's
	// tokens stop working at once.
	cache *tokenCache
}

// newKeyRing builds the ring. Two different keys with one kid are an error.
// Its cache has the bounds of c, or is nil when c is Disabled.
func newKeyRing(signing *Key, verification []*Key, c TokenCache) (keyRing, error) {
	r := keyRing{signing: signing, byKID: map[string]*Key{}, byHdr: map[string]*Key{}}
	if !c.Disabled {
		r.cache = newTokenCache(c.MaxEntries, c.MaxBytes)
	}
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

// Equal reports whether k and o are the same key: the same algorithm, key
// id and key material.
func (k *Key) Equal(o *Key) bool {
	return k != nil && o != nil && k.alg == o.alg && k.kid == o.kid && sameKey(k, o)
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
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := a.ring().jwks
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "public, max-age=300")
		_, _ = w.Write(body)
	})
}

// sign returns the signature of input with k, which must hold a private
// key other than an HMAC secret (those sign with k.mac).
func (k *Key) sign(input []byte) ([]byte, error) {
	return k.signer.Sign(input, k.priv)
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

// MarshalKeySet returns the public halves of keys as a JWK Set (RFC 7517
// §5), as [Authenticator.JWKSHandler] serves them: for a resource server's
// Config.VerificationKeys, or a key set published by other means. An
// HS256 key is a secret and is refused (RFC 8725 §3.5).
func MarshalKeySet(keys ...*Key) ([]byte, error) {
	set := jwk.NewSet()
	for _, k := range keys {
		if k == nil {
			return nil, errors.New("tollgate: MarshalKeySet: nil key")
		}
		if k.public == nil {
			return nil, fmt.Errorf("tollgate: key %q is an HS256 secret: it has no public half to publish", k.kid)
		}
		_ = set.AddKey(k.public)
	}
	return json.Marshal(set)
}

// MarshalPrivate returns k with its private part, for a key file that
// [ParseKey] reads back with the same "kid": format "pem" is PKCS #8
// ("PRIVATE KEY", as openssl genpkey writes), which an HS256 secret has
// no form in; "jwk" is a JWK (RFC 7517) with "kid", "alg" and "use". The
// answer is a secret: write it to a file only its owner can read.
func (k *Key) MarshalPrivate(format string) ([]byte, error) {
	if !k.private {
		return nil, fmt.Errorf("tollgate: key %q holds no private key", k.kid)
	}
	switch format {
	case "pem":
		if k.secret != nil {
			return nil, errors.New("tollgate: an HS256 secret has no PEM form; use format jwk")
		}
		der, err := x509.MarshalPKCS8PrivateKey(k.priv)
		if err != nil {
			return nil, fmt.Errorf("tollgate: %w", err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
	case "jwk":
		jk, err := jwk.FromRaw(k.priv)
		if err != nil {
			return nil, fmt.Errorf("tollgate: %w", err)
		}
		_ = jk.Set(jwk.KeyIDKey, k.kid)
		_ = jk.Set(jwk.AlgorithmKey, k.alg)
		_ = jk.Set(jwk.KeyUsageKey, jwk.ForSignature)
		return json.Marshal(jk)
	}
	return nil, fmt.Errorf("tollgate: key format %q: want pem or jwk", format)
}
