package tollgate_test

// Keys: what NewKey accepts and refuses (RFC 7518 §3, RFC 8725 §3.5),
// parsing PEM and JWK (RFC 7517), the RFC 7638 thumbprint as kid, the
// JWKS, and the configuration errors of New.

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-go/tollgate"
	"github.com/tollgate-go/tollgate/memstore"
)

// rsa1024 is generated once: small RSA keys must be refused.
func rsa1024(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestNewKey_RFC8725_3_5 checks the algorithm chosen for each key type and
// the keys refused as too weak or unsupported.
func TestNewKey_RFC8725_3_5(t *testing.T) {
	raw := testRawKeys(t)
	p224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	small := rsa1024(t)
	tests := []struct {
		name    string
		key     any
		wantAlg string // "" means refused
		private bool
	}{
		{"RFC8725 §3.5 HS256 31 bytes", make([]byte, 31), "", false},
		{"RFC8725 §3.5 HS256 empty", []byte{}, "", false},
		{"RFC8725 §3.5 HS256 32 bytes", make([]byte, 32), "HS256", true},
		{"RFC8725 §3.5 HS256 64 bytes", make([]byte, 64), "HS256", true},
		{"RFC7518 §3.3 RSA 1024", small, "", false},
		{"RFC7518 §3.3 RSA 1024 public", &small.PublicKey, "", false},
		{"RFC7518 §3.3 RSA 2048", raw.rsa, "RS256", true},
		{"RFC7518 §3.3 RSA 2048 public", &raw.rsa.PublicKey, "RS256", false},
		{"RFC7518 §3.4 P-224", p224, "", false},
		{"RFC7518 §3.4 P-224 public", &p224.PublicKey, "", false},
		{"RFC7518 §3.4 P-256", raw.ec, "ES256", true},
		{"RFC7518 §3.4 P-256 public", &raw.ec.PublicKey, "ES256", false},
		{"RFC7518 §3.4 P-384", p384, "ES384", true},
		{"RFC7518 §3.4 P-521", p521, "ES512", true},
		{"RFC8037 Ed25519", raw.ed, "EdDSA", true},
		{"RFC8037 Ed25519 public", raw.ed.Public(), "EdDSA", false},
		{"Ed25519 short private", ed25519.PrivateKey(make([]byte, 10)), "", false},
		{"Ed25519 short public", ed25519.PublicKey(make([]byte, 10)), "", false},
		{"string", "a secret of more than thirty-two bytes", "", false},
		{"nil", nil, "", false},
		{"RSA value, not pointer", *raw.rsa, "", false},
		{"ECDSA value, not pointer", *raw.ec, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := tollgate.NewKey(tt.key)
			if tt.wantAlg == "" {
				if err == nil {
					t.Fatalf("NewKey(%T) = %v, want an error", tt.key, k)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewKey(%T): %v", tt.key, err)
			}
			if k.Algorithm() != tt.wantAlg {
				t.Errorf("Algorithm() = %q, want %q", k.Algorithm(), tt.wantAlg)
			}
			if k.ID() == "" {
				t.Error("empty kid")
			}
			// A public-only key cannot sign.
			_, err = tollgate.New(tollgate.Config{Issuer: testIssuer, Audience: []string{testAudience}, SigningKey: k})
			if tt.private && err != nil {
				t.Errorf("New(SigningKey: private %s): %v", tt.wantAlg, err)
			}
			if !tt.private && err == nil {
				t.Errorf("New(SigningKey: public-only %s) = nil error", tt.wantAlg)
			}
		})
	}
}

// TestNewKeyCopiesHMACSecret: changing the caller's slice later does not
// change the key.
func TestNewKeyCopiesHMACSecret(t *testing.T) {
	secret := []byte(strings.Repeat("s", 32))
	k, err := tollgate.NewKey(secret)
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, "", func(c *tollgate.Config) { c.SigningKey = k })
	tok := tokenOf(t, f, "alice", "wonderland")
	for i := range secret {
		secret[i] = 'x'
	}
	if rec := f.get("/items", "Bearer "+tok); rec.Code != 200 {
		t.Errorf("after the caller's slice changed: %d", rec.Code)
	}
}

// thumbprint computes the RFC 7638 thumbprint from the required members,
// in lexicographic order, by hand.
func thumbprint(members string) string {
	sum := sha256.Sum256([]byte(members))
	return b64(sum[:])
}

// TestRFC7638_KeyID: the default kid is the RFC 7638 thumbprint of the
// public key, so the issuer and a verifier agree on it independently.
func TestRFC7638_KeyID(t *testing.T) {
	raw := testRawKeys(t)
	ecx, ecy := ecXY(t, &raw.ec.PublicKey)
	tests := []struct {
		alg  string
		want string
	}{
		{"ES256", thumbprint(`{"crv":"P-256","kty":"EC","x":"` + b64(ecx) + `","y":"` + b64(ecy) + `"}`)},
		{"EdDSA", thumbprint(`{"crv":"Ed25519","kty":"OKP","x":"` + b64(raw.ed.Public().(ed25519.PublicKey)) + `"}`)},
		{"RS256", thumbprint(`{"e":"AQAB","kty":"RSA","n":"` + b64(raw.rsa.N.Bytes()) + `"}`)},
	}
	for _, tt := range tests {
		k := testKey(t, tt.alg)
		if k.ID() != tt.want {
			t.Errorf("%s kid = %q, want thumbprint %q", tt.alg, k.ID(), tt.want)
		}
		if k.Public().ID() != k.ID() {
			t.Errorf("%s: Public().ID() = %q, want %q", tt.alg, k.Public().ID(), k.ID())
		}
	}
	hs := testKey(t, "HS256")
	if hs.Public() != hs {
		t.Errorf("HS256 Public() is not the key itself")
	}
}

// TestKeyStringHidesSecret: printing or logging a key never shows its
// material.
func TestKeyStringHidesSecret(t *testing.T) {
	secret := []byte("0123456789abcdefghijklmnopqrstuvwxyz")
	k, err := tollgate.NewKey(secret)
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	slog.New(slog.NewTextHandler(&sb, nil)).Info("key", "key", k)
	for _, s := range []string{k.String(), fmt.Sprint(k), fmt.Sprintf("%v %+v %s", k, k, k), sb.String()} {
		if strings.Contains(s, "0123456789") || strings.Contains(s, b64(secret)[:10]) {
			t.Errorf("key printed with its secret: %s", s)
		}
		if !strings.Contains(s, k.ID()) {
			t.Errorf("key printed without its kid: %s", s)
		}
	}
}

// ecXY returns the fixed-size coordinates of a P-256 public key.
func ecXY(t testing.TB, pub *ecdsa.PublicKey) (x, y []byte) {
	t.Helper()
	b, err := pub.Bytes() // 0x04 || X || Y
	if err != nil || len(b) != 65 {
		t.Fatalf("ecXY: %v", err)
	}
	return b[1:33], b[33:]
}

// pemOf encodes der as a PEM block of type typ.
func pemOf(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestParseKeyPEM: private keys in PKCS #8, SEC 1 and PKCS #1, public keys
// in PKIX and PKCS #1, each yielding the same kid as the raw key.
func TestParseKeyPEM(t *testing.T) {
	raw := testRawKeys(t)
	tests := []struct {
		name    string
		pem     []byte
		alg     string
		private bool
	}{
		{"PKCS8 RSA", pemOf("PRIVATE KEY", must(x509.MarshalPKCS8PrivateKey(raw.rsa))), "RS256", true},
		{"PKCS8 EC", pemOf("PRIVATE KEY", must(x509.MarshalPKCS8PrivateKey(raw.ec))), "ES256", true},
		{"PKCS8 Ed25519", pemOf("PRIVATE KEY", must(x509.MarshalPKCS8PrivateKey(raw.ed))), "EdDSA", true},
		{"SEC1 EC", pemOf("EC PRIVATE KEY", must(x509.MarshalECPrivateKey(raw.ec))), "ES256", true},
		{"PKCS1 RSA", pemOf("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(raw.rsa)), "RS256", true},
		{"PKIX RSA public", pemOf("PUBLIC KEY", must(x509.MarshalPKIXPublicKey(&raw.rsa.PublicKey))), "RS256", false},
		{"PKIX EC public", pemOf("PUBLIC KEY", must(x509.MarshalPKIXPublicKey(&raw.ec.PublicKey))), "ES256", false},
		{"PKIX Ed25519 public", pemOf("PUBLIC KEY", must(x509.MarshalPKIXPublicKey(raw.ed.Public()))), "EdDSA", false},
		{"PKCS1 RSA public", pemOf("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&raw.rsa.PublicKey)), "RS256", false},
		{"surrounding whitespace and text", append([]byte("\n\n  "), pemOf("EC PRIVATE KEY", must(x509.MarshalECPrivateKey(raw.ec)))...), "ES256", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := tollgate.ParseKey(tt.pem)
			if err != nil {
				t.Fatalf("ParseKey: %v", err)
			}
			if k.Algorithm() != tt.alg || k.ID() != testKey(t, tt.alg).ID() {
				t.Errorf("ParseKey = %v, want alg %s kid %s", k, tt.alg, testKey(t, tt.alg).ID())
			}
			// A parsed private key signs tokens that the raw key's
			// public half verifies; a parsed public key verifies the
			// raw key's tokens.
			if tt.private {
				f := newFixture(t, tt.alg, func(c *tollgate.Config) { c.SigningKey = k })
				if rec := getVia(verifierFor(t, testKey(t, tt.alg).Public()), "/items", tokenOf(t, f, "bob", "builder")); rec.Code != 200 {
					t.Errorf("token signed by the parsed key: %d", rec.Code)
				}
			} else {
				f := newFixture(t, tt.alg, nil)
				if rec := getVia(verifierFor(t, k), "/items", tokenOf(t, f, "bob", "builder")); rec.Code != 200 {
					t.Errorf("token verified by the parsed key: %d", rec.Code)
				}
				if _, err := tollgate.New(tollgate.Config{Issuer: testIssuer, Audience: []string{testAudience}, SigningKey: k}); err == nil {
					t.Errorf("a parsed public key was accepted as SigningKey")
				}
			}
		})
	}
}

// TestParseKeyRefuses: weak, unsupported or malformed keys.
func TestParseKeyRefuses(t *testing.T) {
	p224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	small := rsa1024(t)
	cert := &x509.Certificate{SerialNumber: big.NewInt(1)}
	certDER := must(x509.CreateCertificate(rand.Reader, cert, cert, &testRawKeys(t).ec.PublicKey, testRawKeys(t).ec))
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"garbage", []byte("not a key")},
		{"P-224 PKCS8", pemOf("PRIVATE KEY", must(x509.MarshalPKCS8PrivateKey(p224)))},
		{"P-224 SEC1", pemOf("EC PRIVATE KEY", must(x509.MarshalECPrivateKey(p224)))},
		{"RSA 1024 PKCS1", pemOf("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(small))},
		{"RSA 1024 public", pemOf("PUBLIC KEY", must(x509.MarshalPKIXPublicKey(&small.PublicKey)))},
		{"certificate", pemOf("CERTIFICATE", certDER)},
		{"wrong block type for content", pemOf("RSA PRIVATE KEY", must(x509.MarshalECPrivateKey(testRawKeys(t).ec)))},
		{"truncated DER", pemOf("PRIVATE KEY", must(x509.MarshalPKCS8PrivateKey(testRawKeys(t).ec))[:40])},
		{"JWK oct too short", []byte(`{"kty":"oct","k":"` + b64(make([]byte, 16)) + `"}`)},
		{"JWK EC P-224-ish curve", []byte(`{"kty":"EC","crv":"P-224","x":"AA","y":"AA"}`)},
		{"JWK unknown kty", []byte(`{"kty":"XYZ"}`)},
		{"JWK broken JSON", []byte(`{"kty":`)},
		{"JWK alg mismatch", []byte(`{"kty":"oct","alg":"RS256","k":"` + b64(make([]byte, 32)) + `"}`)},
		{"JWK set, not key", []byte(`{"keys":[]}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if k, err := tollgate.ParseKey(tt.data); err == nil {
				t.Errorf("ParseKey = %v, want an error", k)
			}
		})
	}
}

// privateJWK returns the RFC 7517/7518/8037 private JWK of a raw key.
func privateJWK(t testing.TB, key any, extra map[string]any) []byte {
	t.Helper()
	m := map[string]any{}
	switch k := key.(type) {
	case []byte:
		m["kty"], m["k"] = "oct", b64(k)
	case *ecdsa.PrivateKey:
		x, y := ecXY(t, &k.PublicKey)
		d, err := k.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		m["kty"], m["crv"], m["x"], m["y"], m["d"] = "EC", "P-256", b64(x), b64(y), b64(d)
	case ed25519.PrivateKey:
		m["kty"], m["crv"], m["x"], m["d"] = "OKP", "Ed25519", b64(k.Public().(ed25519.PublicKey)), b64(k.Seed())
	case *rsa.PrivateKey:
		k.Precompute()
		m["kty"], m["n"], m["e"], m["d"] = "RSA", b64(k.N.Bytes()), b64(big.NewInt(int64(k.E)).Bytes()), b64(k.D.Bytes())
		m["p"], m["q"] = b64(k.Primes[0].Bytes()), b64(k.Primes[1].Bytes())
		m["dp"], m["dq"], m["qi"] = b64(k.Precomputed.Dp.Bytes()), b64(k.Precomputed.Dq.Bytes()), b64(k.Precomputed.Qinv.Bytes())
	default:
		t.Fatalf("privateJWK(%T)", key)
	}
	for k, v := range extra {
		m[k] = v
	}
	b, _ := json.Marshal(m)
	return b
}

// TestParseKeyJWK: private JWKs of each kind, with and without kid and
// alg.
func TestParseKeyJWK(t *testing.T) {
	for _, alg := range []string{"HS256", "RS256", "ES256", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			raw := rawKeyFor(t, alg)
			k, err := tollgate.ParseKey(privateJWK(t, raw, nil))
			if err != nil {
				t.Fatalf("ParseKey: %v", err)
			}
			if k.Algorithm() != alg || k.ID() != testKey(t, alg).ID() {
				t.Errorf("ParseKey = %v, want alg %s, thumbprint kid %s", k, alg, testKey(t, alg).ID())
			}
			named, err := tollgate.ParseKey(privateJWK(t, raw, map[string]any{"kid": "2025-key", "alg": alg, "use": "sig"}))
			if err != nil {
				t.Fatalf("ParseKey(with kid, alg): %v", err)
			}
			if named.ID() != "2025-key" {
				t.Errorf("kid = %q, want the JWK's own", named.ID())
			}
			// The named key signs; a verifier with the same kid verifies.
			f := newFixture(t, alg, func(c *tollgate.Config) { c.SigningKey = named })
			tok := tokenOf(t, f, "bob", "builder")
			if h, _ := splitJWT(t, tok); h["kid"] != "2025-key" {
				t.Errorf("header kid = %v", h["kid"])
			}
			if rec := getVia(verifierFor(t, named.Public()), "/items", tok); rec.Code != 200 {
				t.Errorf("verifier with the JWK's kid: %d", rec.Code)
			}
			// A verifier that knows the same material under its thumbprint
			// does not: the kid must match.
			if alg != "HS256" {
				checkInvalidToken(t, getVia(verifierFor(t, testKey(t, alg).Public()), "/items", tok), "")
			}
			// An alg that is not the key's is refused.
			wrong := map[string]string{"HS256": "RS256", "RS256": "PS256", "ES256": "ES384", "EdDSA": "ES256"}[alg]
			if k, err := tollgate.ParseKey(privateJWK(t, raw, map[string]any{"alg": wrong})); err == nil {
				t.Errorf("JWK with alg %s parsed as %v", wrong, k)
			}
		})
	}
}

// TestLoadKeyFile reads PEM and JWK files.
func TestLoadKeyFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	raw := testRawKeys(t)
	pemPath := write("ec.pem", pemOf("EC PRIVATE KEY", must(x509.MarshalECPrivateKey(raw.ec))))
	jwkPath := write("ed.jwk", privateJWK(t, raw.ed, map[string]any{"kid": "ed-1"}))
	badPath := write("bad.pem", []byte("-----BEGIN NOTHING-----\n-----END NOTHING-----\n"))

	if k, err := tollgate.LoadKeyFile(pemPath); err != nil || k.Algorithm() != "ES256" || k.ID() != testKey(t, "ES256").ID() {
		t.Errorf("LoadKeyFile(pem) = %v, %v", k, err)
	}
	if k, err := tollgate.LoadKeyFile(jwkPath); err != nil || k.Algorithm() != "EdDSA" || k.ID() != "ed-1" {
		t.Errorf("LoadKeyFile(jwk) = %v, %v", k, err)
	}
	if _, err := tollgate.LoadKeyFile(filepath.Join(dir, "missing.pem")); err == nil {
		t.Error("LoadKeyFile(missing) = nil error")
	}
	_, err := tollgate.LoadKeyFile(badPath)
	if err == nil || !strings.Contains(err.Error(), badPath) {
		t.Errorf("LoadKeyFile(bad) = %v; want an error naming the file", err)
	}
}

// TestGenerateKey makes a usable key for each algorithm.
func TestGenerateKey(t *testing.T) {
	for _, alg := range []string{"HS256", "RS256", "ES256", "ES384", "ES512", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			k1, err := tollgate.GenerateKey(alg)
			if err != nil {
				t.Fatal(err)
			}
			k2, err := tollgate.GenerateKey(alg)
			if err != nil {
				t.Fatal(err)
			}
			if k1.Algorithm() != alg || k1.ID() == k2.ID() {
				t.Errorf("GenerateKey(%s) = %v, %v; want %s keys with distinct kids", alg, k1, k2, alg)
			}
			f := newFixture(t, "", func(c *tollgate.Config) { c.SigningKey = k1 })
			tok := tokenOf(t, f, "bob", "builder")
			if rec := f.get("/items", "Bearer "+tok); rec.Code != 200 {
				t.Errorf("token of a generated key: %d", rec.Code)
			}
		})
	}
	for _, alg := range []string{"", "none", "HS384", "PS256", "es256", "RS512"} {
		if k, err := tollgate.GenerateKey(alg); err == nil {
			t.Errorf("GenerateKey(%q) = %v, want an error", alg, k)
		}
	}
}

// TestRFC7517_JWKS: the JWKS lists every public verification key with kid,
// alg and use, and no private or symmetric material.
func TestRFC7517_JWKS(t *testing.T) {
	raw := testRawKeys(t)
	f := newFixture(t, "RS256", func(c *tollgate.Config) {
		c.VerificationKeys = []*tollgate.Key{testKey(t, "ES256"), testKey(t, "EdDSA"), testKey(t, "HS256"), testKey(t, "RS256").Public()}
	})
	rec := f.get("/.well-known/jwks.json")
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		t.Fatalf("JWKS: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &set); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{testKey(t, "RS256").ID(): "RS256", testKey(t, "ES256").ID(): "ES256", testKey(t, "EdDSA").ID(): "EdDSA"}
	if len(set.Keys) != len(want) {
		t.Errorf("JWKS has %d keys, want %d: %s", len(set.Keys), len(want), rec.Body)
	}
	for _, k := range set.Keys {
		kid, _ := k["kid"].(string)
		if want[kid] == "" || k["alg"] != want[kid] || k["use"] != "sig" {
			t.Errorf("JWKS key %v; want kid/alg of %v and use sig", k, want)
		}
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "k", "oth"} {
			if _, ok := k[private]; ok {
				t.Errorf("JWKS key %s has private member %q", kid, private)
			}
		}
		if k["kty"] == "oct" {
			t.Errorf("JWKS lists a symmetric key")
		}
	}
	for _, secret := range []string{b64(raw.hs), b64(must(raw.ec.Bytes())), b64(raw.ed.Seed()), b64(raw.rsa.D.Bytes())} {
		if strings.Contains(rec.Body.String(), secret) {
			t.Errorf("JWKS contains private key material")
		}
	}

	// An HS256-only service serves an empty set.
	hs := newFixture(t, "HS256", nil)
	rec = hs.get("/.well-known/jwks.json")
	if strings.TrimSpace(rec.Body.String()) != `{"keys":[]}` {
		t.Errorf("HS256 JWKS = %s, want an empty set", rec.Body)
	}
	if strings.Contains(rec.Body.String(), b64(raw.hs)) {
		t.Errorf("HS256 secret in JWKS")
	}
}

// TestParseKeySet parses a JWKS and refuses a broken one.
func TestParseKeySet(t *testing.T) {
	f := newFixture(t, "ES256", func(c *tollgate.Config) {
		c.VerificationKeys = []*tollgate.Key{testKey(t, "RS256"), testKey(t, "EdDSA")}
	})
	keys, err := tollgate.ParseKeySet(f.get("/.well-known/jwks.json").Body.Bytes())
	if err != nil || len(keys) != 3 {
		t.Fatalf("ParseKeySet = %v, %v", keys, err)
	}
	for _, k := range keys {
		if _, err := tollgate.New(tollgate.Config{Issuer: testIssuer, Audience: []string{testAudience}, SigningKey: k}); err == nil {
			t.Errorf("a JWKS key %v can sign", k)
		}
	}
	for _, bad := range []string{``, `{`, `{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"}]}`, `{"keys":[{"kty":"oct","k":"c2hvcnQ"}]}`} {
		if ks, err := tollgate.ParseKeySet([]byte(bad)); err == nil {
			t.Errorf("ParseKeySet(%q) = %v, want an error", bad, ks)
		}
	}
}

// TestNewConfigErrors: New reports each wiring error.
func TestNewConfigErrors(t *testing.T) {
	es := testKey(t, "ES256")
	other, err := tollgate.GenerateKey("ES256")
	if err != nil {
		t.Fatal(err)
	}
	sameKid := func(key any) *tollgate.Key {
		k, err := tollgate.ParseKey(privateJWK(t, key, map[string]any{"kid": "k1"}))
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	ecA := sameKid(testRawKeys(t).ec)
	ecB := sameKid(must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader)))
	hsA := sameKid(testRawKeys(t).hs)
	base := func(mut func(c *tollgate.Config)) tollgate.Config {
		c := tollgate.Config{Issuer: testIssuer, Audience: []string{testAudience}, SigningKey: es, Scopes: testScopes}
		mut(&c)
		return c
	}
	tests := []struct {
		name    string
		cfg     tollgate.Config
		wantErr string // substring; "" means New succeeds
	}{
		{"minimal verifier", tollgate.Config{Issuer: testIssuer, Audience: []string{testAudience}, VerificationKeys: []*tollgate.Key{es.Public()}}, ""},
		{"missing issuer", base(func(c *tollgate.Config) { c.Issuer = "" }), "Issuer"},
		{"missing audience", base(func(c *tollgate.Config) { c.Audience = nil }), "Audience"},
		{"empty audience entry", base(func(c *tollgate.Config) { c.Audience = []string{testAudience, ""} }), "Audience"},
		{"no keys", base(func(c *tollgate.Config) { c.SigningKey = nil }), "key"},
		{"Users without SigningKey", base(func(c *tollgate.Config) {
			c.SigningKey, c.VerificationKeys, c.Users = nil, []*tollgate.Key{es.Public()}, newFixture(t, "", nil).users
		}), "SigningKey"},
		{"public-only SigningKey", base(func(c *tollgate.Config) { c.SigningKey = es.Public() }), "private"},
		{"nil verification key", base(func(c *tollgate.Config) { c.VerificationKeys = []*tollgate.Key{nil} }), "nil"},
		{"duplicate kid, different EC keys", base(func(c *tollgate.Config) { c.SigningKey, c.VerificationKeys = ecA, []*tollgate.Key{ecB.Public()} }), "kid"},
		{"duplicate kid, EC and HMAC", base(func(c *tollgate.Config) { c.SigningKey, c.VerificationKeys = ecA, []*tollgate.Key{hsA} }), "kid"},
		{"signing key repeated as its public half", base(func(c *tollgate.Config) { c.VerificationKeys = []*tollgate.Key{es.Public(), es} }), ""},
		{"two different keys", base(func(c *tollgate.Config) { c.VerificationKeys = []*tollgate.Key{other.Public()} }), ""},
		{"bad scope name", base(func(c *tollgate.Config) { c.Scopes = map[string]string{"a b": ""} }), "scope"},
		{"leeway too long", base(func(c *tollgate.Config) { c.Leeway = 6 * 60 * 1e9 }), "Leeway"},
		{"LoadUser without Users", base(func(c *tollgate.Config) { c.LoadUser = true }), "LoadUser"},
		{"RefreshTTL without a refresh store", base(func(c *tollgate.Config) { c.Users = memstore.NewUsers(); c.RefreshTTL = time.Hour }), "Config.Refresh"},
		{"RefreshGracePeriod without a refresh store", base(func(c *tollgate.Config) { c.Users = memstore.NewUsers(); c.RefreshGracePeriod = time.Second }), "Config.Refresh"},
		{"Refresh without Users", base(func(c *tollgate.Config) { c.Refresh = memstore.NewRefreshStore() }), "Users"},
		{"Claims on a verifier", tollgate.Config{Issuer: testIssuer, Audience: []string{testAudience}, VerificationKeys: []*tollgate.Key{es.Public()},
			Claims: func(context.Context, *tollgate.User) (map[string]any, error) { return nil, nil }}, "Claims"},
		{"Logins on a verifier", tollgate.Config{Issuer: testIssuer, Audience: []string{testAudience}, VerificationKeys: []*tollgate.Key{es.Public()},
			Logins: tollgate.LoginLimits{FailuresPerIP: 5}}, "Logins"},
		{"negative cache bound", base(func(c *tollgate.Config) { c.Cache.MaxEntries = -1 }), "Cache"},
		{"bad cookie name", base(func(c *tollgate.Config) { c.Tokens.Cookie = "a b" }), "Cookie"},
		{"user with an unregistered scope", base(func(c *tollgate.Config) {
			c.Users = memstore.NewUsers(tollgate.User{Username: "erin", Scopes: []string{"me", "reports:read"}})
		}), `"reports:read"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := tollgate.New(tt.cfg)
			if tt.wantErr == "" {
				if err != nil || a == nil {
					t.Fatalf("New = %v, %v; want success", a, err)
				}
				return
			}
			if err == nil || a != nil {
				t.Fatalf("New = %v, %v; want an error about %s", a, err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("New error %q does not mention %q", err, tt.wantErr)
			}
		})
	}

	// Issuer rules of RFC 8414 §2, which the metadata of issue 9 publishes.
	for _, tc := range []struct {
		issuer string
		ok     bool
	}{
		{"https://as.example.com", true},
		{"https://as.example.com/tenant/a", true},
		{"http://localhost:8000", true},
		{"http://127.0.0.1:8000", true},
		{"http://[::1]:8000", true},
		{"http://as.example.com", false}, // http off loopback
		{"http://192.168.1.10:8000", false},
		{"as.example.com", false}, // not absolute
		{"tollgate", false},
		{"/issuer", false},
		{"https://", false},
		{"https://as.example.com?tenant=a", false}, // query
		{"https://as.example.com#frag", false},     // fragment
		{"https://user@as.example.com", false},     // user info
		{"ftp://as.example.com", false},
		{"urn:example:issuer", false},
	} {
		_, err := tollgate.New(tollgate.Config{Issuer: tc.issuer, Audience: []string{testAudience}, SigningKey: es, Users: memstore.NewUsers()})
		if (err == nil) != tc.ok {
			t.Errorf("New(Issuer: %q) of an issuer = %v, want ok %v", tc.issuer, err, tc.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "Issuer") {
			t.Errorf("New(Issuer: %q) error %q does not name Config.Issuer", tc.issuer, err)
		}
		// A verifier takes its issuer's value as it is: it publishes no
		// metadata, and must match what the issuer writes.
		if _, err := tollgate.New(tollgate.Config{Issuer: tc.issuer, Audience: []string{testAudience}, VerificationKeys: []*tollgate.Key{es.Public()}}); err != nil {
			t.Errorf("New(Issuer: %q) of a verifier = %v, want ok", tc.issuer, err)
		}
	}

	// All errors are reported at once.
	_, err = tollgate.New(tollgate.Config{})
	for _, want := range []string{"Issuer", "Audience", "key"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("New(Config{}) = %v; want it to mention %s", err, want)
		}
	}
}

// TestParseKeySetRefusesSecrets: a JWK Set is a public document (RFC 7517
// §5, RFC 8725 §3.5). A symmetric "oct" key in one is a published secret:
// accepting it as an HS256 verification key lets anyone who reads the set
// forge tokens. A key for encryption ("use": "enc") is not a signature
// key, and a private key in a set is returned as its public half.
func TestParseKeySetRefusesSecrets(t *testing.T) {
	oct := `{"kty":"oct","kid":"published","k":"` + b64(make([]byte, 32)) + `"}`
	if ks, err := tollgate.ParseKeySet([]byte(`{"keys":[` + oct + `]}`)); err == nil {
		// The forgery this permits:
		v := verifierFor(t, ks...)
		tok := forge(t, "HS256", make([]byte, 32), map[string]any{"alg": "HS256", "typ": "at+jwt", "kid": "published"}, goodClaims())
		t.Errorf("ParseKeySet accepted an oct key %v; a token forged with the published secret gets %d", ks, getVia(v, "/items", tok).Code)
	}
	enc := string(privateJWK(t, testRawKeys(t).ec, map[string]any{"use": "enc"}))
	if ks, err := tollgate.ParseKeySet([]byte(`{"keys":[` + enc + `]}`)); err == nil {
		t.Errorf("ParseKeySet accepted a key with use enc: %v", ks)
	}
	priv := string(privateJWK(t, testRawKeys(t).ec, nil))
	ks, err := tollgate.ParseKeySet([]byte(`{"keys":[` + priv + `]}`))
	if err != nil {
		t.Fatalf("ParseKeySet(private EC key): %v", err)
	}
	if _, err := tollgate.New(tollgate.Config{Issuer: testIssuer, Audience: []string{testAudience}, SigningKey: ks[0]}); err == nil {
		t.Errorf("a key from a JWK Set can sign: %v", ks[0])
	}
}

// TestParseKeyOpenSSL parses what the usual OpenSSL commands write (see
// testdata/keys/README.md), the leading EC PARAMETERS block of
// openssl ecparam -genkey included, and signs and verifies a token with
// each private key.
func TestParseKeyOpenSSL(t *testing.T) {
	tests := []struct {
		file, alg string
		private   bool
	}{
		{"ecparam-p256.pem", "ES256", true},
		{"ecparam-p384.pem", "ES384", true},
		{"genpkey-p256.pem", "ES256", true},
		{"genpkey-ed25519.pem", "EdDSA", true},
		{"genpkey-rsa.pem", "RS256", true},
		{"genrsa-traditional.pem", "RS256", true},
		{"genpkey-p256.pub.pem", "ES256", false},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			k, err := tollgate.LoadKeyFile(filepath.Join("testdata", "keys", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if k.Algorithm() != tt.alg {
				t.Errorf("alg %s, want %s", k.Algorithm(), tt.alg)
			}
			if !tt.private {
				if k.Public() != k {
					t.Error("a public key is not its own public half")
				}
				return
			}
			a, err := tollgate.New(tollgate.Config{Issuer: testIssuer, Audience: []string{testAudience}, SigningKey: k, Scopes: testScopes})
			if err != nil {
				t.Fatal(err)
			}
			tok, err := a.Issue(httptest.NewRequest("POST", "/login", nil), &tollgate.User{Username: "alice", Scopes: []string{"me"}}, "", nil)
			if err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequest("GET", "/", nil)
			req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
			if p, err := a.Authenticate(req); err != nil || p.Subject != "alice" {
				t.Errorf("Authenticate = %v, %v", p, err)
			}
		})
	}
	// The same SEC 1 key without its EC PARAMETERS block is the same key.
	data, err := os.ReadFile(filepath.Join("testdata", "keys", "ecparam-p256.pem"))
	if err != nil {
		t.Fatal(err)
	}
	withParams, _ := tollgate.ParseKey(data)
	_, rest := pem.Decode(data)
	withoutParams, err := tollgate.ParseKey(rest)
	if err != nil || withParams.ID() != withoutParams.ID() {
		t.Errorf("without EC PARAMETERS: %v, %v; want the same key", withoutParams, err)
	}

	for name, data := range map[string][]byte{
		"encrypted": must(os.ReadFile(filepath.Join("testdata", "keys", "encrypted.pem"))),
		"two keys": append(must(os.ReadFile(filepath.Join("testdata", "keys", "genpkey-p256.pem"))),
			must(os.ReadFile(filepath.Join("testdata", "keys", "genpkey-rsa.pem")))...),
		"parameters only": pem.EncodeToMemory(&pem.Block{Type: "EC PARAMETERS", Bytes: []byte{6, 8, 42, 134, 72, 206, 61, 3, 1, 7}}),
		"certificate":     pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1}}),
	} {
		if k, err := tollgate.ParseKey(data); err == nil {
			t.Errorf("ParseKey(%s) = %v, want an error", name, k)
		}
	}
}
