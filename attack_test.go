package tollgate_test

// The attacker's test suite for access tokens (issue 3): every known trick
// against JWT bearer authentication, tried black-box over HTTP against a
// real Authenticator. Unless a case says otherwise the answer is 401
// invalid_token. Tokens are forged with the standard library only
// (helpers_test.go: forge, signRaw), never with the library under test.

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tollgate-go/tollgate"
)

// attack is one forged token and the answer it must get.
type attack struct {
	name   string
	token  string
	status int    // 0 means 401 invalid_token
	desc   string // for 401: the error_description; "" means descInvalidToken
}

// runAttacks presents each token on path and checks the answer. Any 2xx
// answer fails loudly: that is an authentication bypass.
func runAttacks(t *testing.T, f *fixture, path string, attacks []attack) {
	t.Helper()
	for _, a := range attacks {
		t.Run(a.name, func(t *testing.T) {
			rec := f.get(path, "Bearer "+a.token)
			if rec.Code < 300 {
				t.Fatalf("BYPASS: forged token accepted with %d", rec.Code)
			}
			switch a.status {
			case 0, 401:
				checkInvalidToken(t, rec, a.desc)
			case 400:
				checkRejected(t, rec, 400, challengeWith("invalid_request", descMalformed, ""))
			default:
				t.Fatalf("bad test case status %d", a.status)
			}
		})
	}
}

// rawJWS assembles a compact JWS from literal JSON (so tests can write
// duplicate or oddly typed members) and a signature by alg/key over it.
func rawJWS(t testing.TB, alg string, key any, header, claims string) string {
	t.Helper()
	input := b64([]byte(header)) + "." + b64([]byte(claims))
	return input + "." + b64(signRaw(t, alg, key, []byte(input)))
}

// jsonOf marshals v, for building literal headers and claims.
func jsonOf(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// withSig replaces the signature segment of tok.
func withSig(tok string, sig []byte) string {
	return tok[:strings.LastIndexByte(tok, '.')+1] + b64(sig)
}

// sigOf returns the decoded signature of tok.
func sigOf(t testing.TB, tok string) []byte {
	t.Helper()
	s, err := base64.RawURLEncoding.DecodeString(tok[strings.LastIndexByte(tok, '.')+1:])
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var allAlgs = []string{"HS256", "RS256", "ES256", "EdDSA"}

// TestRFC8725_3_1_AlgNone: "none" in every casing, with an empty, a
// missing, a garbage and a real signature segment.
func TestRFC8725_3_1_AlgNone(t *testing.T) {
	for _, alg := range allAlgs {
		t.Run(alg, func(t *testing.T) {
			f := newFixture(t, alg, nil)
			var attacks []attack
			for _, none := range []string{"none", "None", "NONE", "nOnE", "none ", ""} {
				for _, kid := range []bool{true, false} {
					h := f.goodHeader()
					h["alg"] = none
					if !kid {
						delete(h, "kid")
					}
					input := b64([]byte(jsonOf(t, h))) + "." + b64([]byte(jsonOf(t, goodClaims())))
					name := "alg " + none
					if !kid {
						name += " no kid"
					}
					attacks = append(attacks,
						attack{name: name + " empty signature", token: input + "."},
						attack{name: name + " no signature segment", token: input},
						attack{name: name + " garbage signature", token: input + ".AAAA"},
						attack{name: name + " real signature", token: input + "." + b64(signRaw(t, alg, rawKeyFor(t, alg), []byte(input)))},
					)
				}
			}
			// alg missing altogether.
			h := f.goodHeader()
			delete(h, "alg")
			attacks = append(attacks, attack{name: "alg missing", token: forge(t, alg, rawKeyFor(t, alg), h, goodClaims())})
			runAttacks(t, f, "/items", attacks)
		})
	}
}

// publicKeyForms returns the byte strings an attacker may try as an HMAC
// secret: the service's public key in every common encoding.
func publicKeyForms(t testing.TB, alg string) map[string][]byte {
	t.Helper()
	raw := testRawKeys(t)
	var pub any
	forms := map[string][]byte{}
	switch alg {
	case "RS256":
		pub = &raw.rsa.PublicKey
		der := x509.MarshalPKCS1PublicKey(&raw.rsa.PublicKey)
		forms["PKCS1 DER"] = der
		forms["PKCS1 PEM"] = pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: der})
		forms["modulus"] = raw.rsa.N.Bytes()
	case "ES256":
		pub = &raw.ec.PublicKey
		ek, err := raw.ec.PublicKey.ECDH()
		if err != nil {
			t.Fatal(err)
		}
		forms["uncompressed point"] = ek.Bytes()
	case "EdDSA":
		pub = raw.ed.Public()
		forms["raw 32 bytes"] = []byte(raw.ed.Public().(ed25519.PublicKey))
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	p := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	forms["PKIX DER"] = der
	forms["PKIX PEM"] = p
	forms["PKIX PEM no newline"] = []byte(strings.TrimSpace(string(p)))
	forms["PKIX base64"] = []byte(base64.StdEncoding.EncodeToString(der))
	return forms
}

// TestRFC8725_3_2_KeyConfusion: HS256 tokens whose HMAC secret is the
// service's public key (which the attacker has from the JWKS), with the
// real kid and without one.
func TestRFC8725_3_2_KeyConfusion(t *testing.T) {
	for _, alg := range []string{"RS256", "ES256", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			f := newFixture(t, alg, nil)
			// The JWK as served is one more candidate secret.
			forms := publicKeyForms(t, alg)
			forms["JWKS document"] = f.get("/.well-known/jwks.json").Body.Bytes()
			var attacks []attack
			for name, secret := range forms {
				h := f.goodHeader()
				h["alg"] = "HS256"
				attacks = append(attacks, attack{name: "HS256 with " + name + ", real kid", token: forge(t, "HS256", secret, h, goodClaims())})
				delete(h, "kid")
				attacks = append(attacks, attack{name: "HS256 with " + name + ", no kid", token: forge(t, "HS256", secret, h, goodClaims())})
			}
			runAttacks(t, f, "/items", attacks)
		})
	}
	// The reverse: an HS256 service, a token in an asymmetric algorithm
	// signed with the attacker's own key, naming the HMAC key's kid.
	t.Run("HS256 service, RS256 token", func(t *testing.T) {
		f := newFixture(t, "HS256", nil)
		h := f.goodHeader()
		var attacks []attack
		for _, alg := range []string{"RS256", "ES256", "EdDSA"} {
			h["alg"] = alg
			attacks = append(attacks, attack{name: alg, token: forge(t, alg, rawKeyFor(t, alg), h, goodClaims())})
		}
		runAttacks(t, f, "/items", attacks)
	})
}

// TestRFC8725_3_1_AlgMismatch: the kid names a key; an alg other than the
// key's own fails even when the signature is valid for the named alg.
func TestRFC8725_3_1_AlgMismatch(t *testing.T) {
	attacker, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for _, alg := range allAlgs {
		t.Run(alg, func(t *testing.T) {
			f := newFixture(t, alg, nil)
			var attacks []attack
			// Other algorithms, validly signed with other keys.
			for _, other := range allAlgs {
				if other == alg {
					continue
				}
				h := f.goodHeader()
				h["alg"] = other
				attacks = append(attacks, attack{name: "header " + other, token: forge(t, other, rawKeyFor(t, other), h, goodClaims())})
			}
			// Variants of the right alg name with the real signature.
			for _, variant := range []string{strings.ToLower(alg), strings.ToUpper(alg), alg + " ", " " + alg, alg + "\x00"} {
				if variant == alg {
					continue
				}
				h := f.goodHeader()
				h["alg"] = variant
				attacks = append(attacks, attack{name: "header " + variant + " real signature", token: forge(t, alg, rawKeyFor(t, alg), h, goodClaims())})
			}
			// Neighbouring algorithms with the real key's signature.
			for _, near := range []string{"HS384", "HS512", "RS384", "RS512", "PS256", "ES384", "ES512", "ES256K", "Ed25519", "ed25519"} {
				if near == alg {
					continue
				}
				h := f.goodHeader()
				h["alg"] = near
				attacks = append(attacks, attack{name: "header " + near, token: forge(t, alg, rawKeyFor(t, alg), h, goodClaims())})
			}
			// ES256 signed by the attacker, kid of the real key.
			h := f.goodHeader()
			h["alg"] = "ES256"
			attacks = append(attacks, attack{name: "attacker's ES256 key, real kid", token: forge(t, "ES256", attacker, h, goodClaims())})
			// alg not a string.
			attacks = append(attacks, attack{name: "alg number", token: rawJWS(t, alg, rawKeyFor(t, alg), `{"alg":256,"typ":"at+jwt","kid":"`+f.key.ID()+`"}`, jsonOf(t, goodClaims()))})
			attacks = append(attacks, attack{name: "alg array", token: rawJWS(t, alg, rawKeyFor(t, alg), `{"alg":["`+alg+`"],"typ":"at+jwt","kid":"`+f.key.ID()+`"}`, jsonOf(t, goodClaims()))})
			runAttacks(t, f, "/items", attacks)
		})
	}
}

// TestRFC8725_3_10_KidTricks: a kid is a lookup key, never a path, a query
// or a size problem.
func TestRFC8725_3_10_KidTricks(t *testing.T) {
	f := newFixture(t, "ES256", nil)
	kids := map[string]any{
		"unknown":                "no-such-key",
		"path traversal":         "../../../../../../dev/null",
		"absolute path":          "/etc/passwd",
		"file URL":               "file:///dev/null",
		"SQL injection":          "' OR '1'='1",
		"SQL union":              "x' UNION SELECT 'secret' --",
		"SQL stacked":            "1; DROP TABLE keys --",
		"1000 characters":        strings.Repeat("k", 1000),
		"NUL":                    "\x00",
		"real kid with NUL":      f.key.ID() + "\x00",
		"real kid with newline":  f.key.ID() + "\n",
		"real kid, other case":   strings.ToLower(f.key.ID()),
		"number":                 1,
		"object":                 map[string]any{"kid": f.key.ID()},
		"array":                  []string{f.key.ID()},
		"JSON Pointer / JWK URL": "https://evil.test/jwks.json#" + f.key.ID(),
	}
	// Secrets an attacker hopes the kid selects: the empty file, a guessed
	// password, the kid string itself.
	var attacks []attack
	for name, kid := range kids {
		for sname, secret := range map[string][]byte{"empty secret": {}, "guessed secret": []byte("secret"), "kid as secret": []byte(jsonOf(t, kid))} {
			h := map[string]any{"alg": "HS256", "typ": "at+jwt", "kid": kid}
			attacks = append(attacks, attack{name: name + ", HS256 " + sname, token: forge(t, "HS256", secret, h, goodClaims())})
		}
		if name == "unknown" {
			continue
		}
		// The right algorithm, signed by the real key: the kid alone fails
		// it (a lenient lookup would accept these).
		h := f.goodHeader()
		h["kid"] = kid
		attacks = append(attacks, attack{name: name + ", real signature", token: forge(t, "ES256", rawKeyFor(t, "ES256"), h, goodClaims())})
	}
	// A kid so long that the token passes the 8 KiB bound is refused before
	// any decoding.
	long := map[string]any{"alg": "ES256", "typ": "at+jwt", "kid": strings.Repeat("k", 10000)}
	attacks = append(attacks, attack{name: "10000 characters", token: forge(t, "ES256", rawKeyFor(t, "ES256"), long, goodClaims()), desc: descTooLarge})
	runAttacks(t, f, "/items", attacks)
}

// attackerKey is the attacker's own EC key and its JWK.
func attackerKey(t testing.TB) (*ecdsa.PrivateKey, map[string]any, string) {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	x, y := ecXY(t, &k.PublicKey)
	jwk := map[string]any{"kty": "EC", "crv": "P-256", "x": b64(x), "y": b64(y)}
	sum := sha256.Sum256([]byte(`{"crv":"P-256","kty":"EC","x":"` + b64(x) + `","y":"` + b64(y) + `"}`))
	return k, jwk, b64(sum[:])
}

// TestRFC8725_3_10_KeySourceHeaders: jku, x5u, jwk and x5c offer the
// attacker's key; crit names extensions the verifier does not understand
// (RFC 7515 §4.1.11). All are refused, whoever signed.
func TestRFC8725_3_10_KeySourceHeaders(t *testing.T) {
	f := newFixture(t, "ES256", nil)
	evil, evilJWK, evilKid := attackerKey(t)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1)}
	certDER, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &evil.PublicKey, evil)
	if err != nil {
		t.Fatal(err)
	}
	var set struct{ Keys []map[string]any }
	if err := json.Unmarshal(f.get("/.well-known/jwks.json").Body.Bytes(), &set); err != nil || len(set.Keys) != 1 {
		t.Fatalf("JWKS: %v", err)
	}
	realJWK := set.Keys[0]
	headers := []struct {
		name  string
		param string
		value any
	}{
		{"jku", "jku", "https://evil.test/jwks.json"},
		{"jku to the real JWKS", "jku", testIssuer + "/.well-known/jwks.json"},
		{"x5u", "x5u", "https://evil.test/cert.pem"},
		{"jwk attacker", "jwk", evilJWK},
		{"jwk real key", "jwk", realJWK},
		{"x5c", "x5c", []string{base64.StdEncoding.EncodeToString(certDER)}},
		{"x5t", "x5c", []string{}},
		{"crit unknown", "crit", []string{"x-evil"}},
		{"crit exp", "crit", []string{"exp"}},
		{"crit empty", "crit", []string{}},
		{"crit null", "crit", nil},
		{"crit string", "crit", "x-evil"},
		{"b64 false", "b64", false},
		{"zip", "zip", "DEF"},
		{"JKU upper case", "JKU", "https://evil.test/jwks.json"},
	}
	var attacks []attack
	for _, hd := range headers {
		// The attack: the attacker's key, named by the header.
		h := map[string]any{"alg": "ES256", "typ": "at+jwt", "kid": evilKid, hd.param: hd.value}
		attacks = append(attacks, attack{name: hd.name + ", attacker-signed, attacker kid", token: forge(t, "ES256", evil, h, goodClaims())})
		h["kid"] = f.key.ID()
		attacks = append(attacks, attack{name: hd.name + ", attacker-signed, real kid", token: forge(t, "ES256", evil, h, goodClaims())})
		delete(h, "kid")
		attacks = append(attacks, attack{name: hd.name + ", attacker-signed, no kid", token: forge(t, "ES256", evil, h, goodClaims())})
		// Signed by the real key: the header alone is refused (RFC 7515
		// §4.1.11 for crit; the others are never needed).
		h = f.goodHeader()
		h[hd.param] = hd.value
		attacks = append(attacks, attack{name: hd.name + ", real signature", token: forge(t, "ES256", rawKeyFor(t, "ES256"), h, goodClaims())})
	}
	runAttacks(t, f, "/items", attacks)
}

// TestRFC9068_4_Typ: typ must be at+jwt (RFC 9068 §2.1, §4; RFC 8725
// §3.11): an ID token or another JWT of the same issuer is not an access
// token.
func TestRFC9068_4_Typ(t *testing.T) {
	f := newFixture(t, "", nil)
	var attacks []attack
	for _, typ := range []any{"JWT", "jwt", "", "JOSE", "application/jwt", "at+jwt ", " at+jwt", "at+jwt;x=1", "at+jwt\x00", "application/at+jwt+x", "id_token", "dpop+jwt", 1, []string{"at+jwt"}} {
		attacks = append(attacks, attack{name: "typ " + jsonOf(t, typ), token: f.forgeGood(t, func(h, _ map[string]any) { h["typ"] = typ })})
	}
	attacks = append(attacks, attack{name: "typ missing", token: f.forgeGood(t, func(h, _ map[string]any) { delete(h, "typ") })})
	attacks = append(attacks, attack{name: "typ null", token: rawJWS(t, f.alg, rawKeyFor(t, f.alg), `{"alg":"ES256","kid":"`+f.key.ID()+`","typ":null}`, jsonOf(t, goodClaims()))})
	runAttacks(t, f, "/items", attacks)

	// Media types are case-insensitive (RFC 7515 §4.1.9), and the full
	// form application/at+jwt is allowed (RFC 9068 §2.1).
	for _, typ := range []string{"at+jwt", "AT+JWT", "application/at+jwt", "Application/AT+JWT"} {
		if rec := f.get("/items", "Bearer "+f.forgeGood(t, func(h, _ map[string]any) { h["typ"] = typ })); rec.Code != 200 {
			t.Errorf("typ %q: %d, want 200", typ, rec.Code)
		}
	}
}

// TestRFC7519_4_1_ClaimTricks: tokens signed by the real key whose claims
// are wrong, missing, or of the wrong JSON type.
func TestRFC7519_4_1_ClaimTricks(t *testing.T) {
	f := newFixture(t, "", nil)
	now := goodClaims()["iat"].(int64)
	set := func(name string, v any) func(_, c map[string]any) { return func(_, c map[string]any) { c[name] = v } }
	del := func(name string) func(_, c map[string]any) { return func(_, c map[string]any) { delete(c, name) } }
	tests := []struct {
		name  string
		alter func(h, c map[string]any)
		desc  string
	}{
		{"RFC7519 §4.1.4 expired", func(_, c map[string]any) { c["exp"], c["iat"] = now-3600, now-7200 }, descExpired},
		{"RFC7519 §4.1.4 expired just beyond leeway", set("exp", now-31), descExpired},
		{"RFC7519 §4.1.4 exp missing", del("exp"), ""},
		{"RFC7519 §4.1.4 exp null", set("exp", nil), ""},
		{"RFC7519 §4.1.4 exp string", set("exp", "9999999999"), ""},
		{"RFC7519 §4.1.4 exp bool", set("exp", true), ""},
		{"RFC7519 §4.1.4 exp negative", set("exp", -1), ""},
		{"RFC7519 §4.1.4 exp zero", set("exp", 0), descExpired},
		{"RFC7519 §4.1.4 exp 1e300", set("exp", 1e300), ""},
		{"RFC7519 §4.1.4 exp array", set("exp", []int64{now + 600}), ""},
		{"RFC7519 §4.1.5 nbf in the future", set("nbf", now+3600), ""},
		{"RFC7519 §4.1.5 nbf string", set("nbf", "0"), ""},
		{"RFC7519 §4.1.6 iat in the future", set("iat", now+3600), ""},
		{"RFC7519 §4.1.6 iat string", set("iat", "0"), ""},
		{"RFC7519 §4.1.1 iss wrong", set("iss", "https://evil.test"), ""},
		{"RFC7519 §4.1.1 iss missing", del("iss"), ""},
		{"RFC7519 §4.1.1 iss empty", set("iss", ""), ""},
		{"RFC7519 §4.1.1 iss trailing slash", set("iss", testIssuer+"/"), ""},
		{"RFC7519 §4.1.1 iss other case", set("iss", strings.ToUpper(testIssuer)), ""},
		{"RFC7519 §4.1.1 iss array", set("iss", []string{testIssuer}), ""},
		{"RFC7519 §4.1.1 iss number", set("iss", 1), ""},
		{"RFC7519 §4.1.3 aud wrong", set("aud", "https://other-api.test"), ""},
		{"RFC7519 §4.1.3 aud missing", del("aud"), ""},
		{"RFC7519 §4.1.3 aud empty", set("aud", ""), ""},
		{"RFC7519 §4.1.3 aud empty array", set("aud", []string{}), ""},
		{"RFC7519 §4.1.3 aud wrong array", set("aud", []string{"https://a.test", "https://b.test"}), ""},
		{"RFC7519 §4.1.3 aud number", set("aud", 42), ""},
		{"RFC7519 §4.1.3 aud null", set("aud", nil), ""},
		{"RFC7519 §4.1.3 aud object", set("aud", map[string]any{"aud": testAudience}), ""},
		{"RFC7519 §4.1.3 aud array with a number", set("aud", []any{testAudience, 1}), ""},
		{"RFC7519 §4.1.3 aud is the issuer", set("aud", testIssuer), ""},
		{"RFC7519 §4.1.2 sub missing", del("sub"), ""},
		{"RFC7519 §4.1.2 sub empty", set("sub", ""), ""},
		{"RFC7519 §4.1.2 sub null", set("sub", nil), ""},
		{"RFC7519 §4.1.2 sub number", set("sub", 7), ""},
		{"RFC9068 §2.2.3 scope array", set("scope", []string{"items:read"}), ""},
		{"RFC9068 §2.2.3 scope number", set("scope", 1), ""},
		{"RFC9068 §2.2.3 scope object", set("scope", map[string]any{"items:read": true}), ""},
		{"RFC9068 §2.2.3 scope bool", set("scope", true), ""},
		{"RFC9068 §2.2.3 scope null", set("scope", nil), ""},
		{"RFC9068 §2.2 client_id null", set("client_id", nil), ""},
		{"RFC9068 §2.2 preferred_username number", set("preferred_username", 1), ""},
		{"RFC7519 §4.1.3 aud array of null", set("aud", []any{nil}), ""},
		{"RFC6749 §3.3 scope double space", set("scope", "me  items:read"), ""},
		{"RFC6749 §3.3 scope leading space", set("scope", " items:read"), ""},
		{"RFC6749 §3.3 scope control char", set("scope", "items:read\x01"), ""},
		{"RFC6749 §3.3 scope tab separated", set("scope", "me\titems:read"), ""},
		{"RFC6749 §3.3 scope non-ASCII", set("scope", "items:read é"), ""},
		{"RFC9068 §2.2 client_id number", set("client_id", 1), ""},
		{"RFC7519 §4.1.7 jti number", set("jti", 1), ""},
		{"claims not an object", nil, ""},
	}
	var attacks []attack
	for _, tt := range tests {
		if tt.alter == nil {
			continue
		}
		attacks = append(attacks, attack{name: tt.name, token: f.forgeGood(t, tt.alter), desc: tt.desc})
	}
	for _, payload := range []string{`null`, `[]`, `"alice"`, `1`, `{`, `{"iss":"` + testIssuer + `"}x`, "\xef\xbb\xbf" + jsonOf(t, goodClaims())} {
		attacks = append(attacks, attack{name: "payload " + payload, token: rawJWS(t, f.alg, rawKeyFor(t, f.alg), jsonOf(t, f.goodHeader()), payload)})
	}
	runAttacks(t, f, "/items", attacks)
}

// TestRFC7519_4_DuplicateClaims: RFC 7519 §4 lets a parser reject
// duplicate claim names or keep the last one. tollgate rejects a token that
// repeats a claim it reads, however the name is spelt in JSON, so no
// reader of the token can see a different value than tollgate did. Claim
// names are case-sensitive: "SCOPE" is not "scope". Only the issuer can
// sign such tokens (mint never writes one); the point is that the rule
// does not depend on a JSON library's choice.
func TestRFC7519_4_DuplicateClaims(t *testing.T) {
	f := newFixture(t, "", nil)
	base := jsonOf(t, goodClaims()) // scope "me items:read items:write"
	body := strings.TrimSuffix(base, "}")
	sign := func(claims string) string {
		return rawJWS(t, f.alg, rawKeyFor(t, f.alg), jsonOf(t, f.goodHeader()), claims)
	}
	var attacks []attack
	for _, dup := range []string{
		`"sub":"carol"`, `"sub":"alice"`, `"scope":"admin:users"`, `"iss":"https://evil.test"`, `"iss":"` + testIssuer + `"`,
		`"aud":"https://api.test"`, `"exp":9999999999`, `"exp":null`, `"nbf":0,"nbf":0`, `"iat":0`, `"jti":"x"`, `"client_id":"x"`,
		`"preferred_username":"a","preferred_username":"b"`, `"preferred_username":"a","preferred_username":"a"`,
		`"\u0073cope":"admin:users"`, `"s\u0063ope":"me"`, `"\u0073\u0075\u0062":"carol"`,
	} {
		attacks = append(attacks, attack{name: "duplicate " + dup, token: sign(body + "," + dup + "}")})
	}
	runAttacks(t, f, "/items", attacks)

	var got *tollgate.Principal
	h := principalRoute(f.auth.RequireScopes(), &got)
	principal := func(tok string) *tollgate.Principal {
		t.Helper()
		got = nil
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusNoContent {
			t.Fatalf("status %d (%s)", rec.Code, rec.Header().Get("WWW-Authenticate"))
		}
		return got
	}
	// Case-variant names are other claims, ignored like any unknown one.
	for _, other := range []string{`"SCOPE":"admin:users"`, `"Scope":"admin:users"`, `"SUB":"carol"`, `"Iss":"https://evil.test"`, `"EXP":0`} {
		if p := principal(sign(body + "," + other + "}")); p.Subject != "alice" || p.HasScope("admin:users") {
			t.Errorf("%s changed the principal: %+v", other, p)
		}
	}
	// An escaped name is the claim it spells (JSON semantics), once.
	if p := principal(sign(strings.Replace(base, `"sub":"alice"`, `"\u0073ub":"bob"`, 1))); p.Subject != "bob" {
		t.Errorf("escaped claim name: subject %q, want bob", p.Subject)
	}
	// Unknown claims may repeat: tollgate does not read them.
	if p := principal(sign(body + `,"x":1,"x":2}`)); p.Subject != "alice" {
		t.Errorf("repeated unknown claim: %+v", p)
	}

	// The header is read with encoding/json: the last member wins, and
	// the alg it leaves must still be the key's.
	claims := jsonOf(t, goodClaims())
	kid := f.key.ID()
	checkInvalidToken(t, f.get("/items", "Bearer "+rawJWS(t, f.alg, rawKeyFor(t, f.alg), `{"alg":"ES256","alg":"none","typ":"at+jwt","kid":"`+kid+`"}`, claims)), "")
	checkInvalidToken(t, f.get("/items", "Bearer "+rawJWS(t, f.alg, rawKeyFor(t, f.alg), `{"alg":"ES256","typ":"at+jwt","typ":"JWT","kid":"`+kid+`"}`, claims)), "")
	checkInvalidToken(t, f.get("/items", "Bearer "+rawJWS(t, f.alg, rawKeyFor(t, f.alg), `{"alg":"ES256","typ":"at+jwt","kid":"`+kid+`","kid":"other"}`, claims)), "")
}

// ecdsaN is the order of P-256.
var ecdsaN = elliptic.P256().Params().N

// rs encodes r and s as a raw 64-byte ES256 signature; values wider than
// 32 bytes are truncated to their low 32 bytes by the caller's choice.
func rs(r, s *big.Int) []byte {
	out := make([]byte, 64)
	r.FillBytes(out[:32])
	s.FillBytes(out[32:])
	return out
}

// TestRFC7515_SignatureTricks: tampering, stripping, moving and malformed
// signatures, including the ECDSA "psychic signature" (CVE-2022-21449).
func TestRFC7515_SignatureTricks(t *testing.T) {
	for _, alg := range allAlgs {
		t.Run(alg, func(t *testing.T) {
			f := newFixture(t, alg, nil)
			bob := tokenOf(t, f, "bob", "builder")
			carol := tokenOf(t, f, "carol", "admin-pass-123")
			parts := strings.Split(bob, ".")
			cparts := strings.Split(carol, ".")
			_, claims := splitJWT(t, bob)
			claims["scope"] = "me items:read items:write admin:users"
			claims["sub"] = "carol"
			tampered := b64([]byte(jsonOf(t, claims)))
			sig := sigOf(t, bob)
			attacks := []attack{
				{name: "tampered payload, original signature", token: parts[0] + "." + tampered + "." + parts[2]},
				{name: "carol's payload, bob's signature", token: parts[0] + "." + cparts[1] + "." + parts[2]},
				{name: "bob's payload, carol's signature", token: parts[0] + "." + parts[1] + "." + cparts[2]},
				{name: "tampered header, original signature", token: b64([]byte(jsonOf(t, map[string]any{"alg": alg, "kid": f.key.ID(), "typ": "at+jwt", "x": 1}))) + "." + parts[1] + "." + parts[2]},
				{name: "stripped signature", token: parts[0] + "." + parts[1] + "."},
				{name: "no signature segment", token: parts[0] + "." + parts[1]},
				{name: "signature one byte short", token: withSig(bob, sig[:len(sig)-1])},
				{name: "signature one byte long", token: withSig(bob, append(append([]byte{}, sig...), 0))},
				{name: "signature with a leading zero", token: withSig(bob, append([]byte{0}, sig...))},
				{name: "signature doubled", token: withSig(bob, append(append([]byte{}, sig...), sig...))},
				{name: "signature all zero", token: withSig(bob, make([]byte, len(sig)))},
				{name: "signature all ones", token: withSig(bob, []byte(strings.Repeat("\xff", len(sig))))},
				{name: "signature first half", token: withSig(bob, sig[:len(sig)/2])},
				{name: "signature flipped bit", token: withSig(bob, flipBit(sig, len(sig)*4))},
				{name: "signature as standard base64", token: parts[0] + "." + parts[1] + "." + base64.StdEncoding.EncodeToString(sig)},
				{name: "signature non-canonical base64 (trailing bits)", token: nonCanonical(bob)},
			}
			switch alg {
			case "HS256":
				attacks = append(attacks,
					attack{name: "HMAC truncated to 128 bits", token: withSig(bob, sig[:16])},
					attack{name: "HMAC with an empty key", token: withSig(bob, hmacOf(nil, parts[0]+"."+parts[1]))},
				)
			case "ES256":
				r := new(big.Int).SetBytes(sig[:32])
				s := new(big.Int).SetBytes(sig[32:])
				zero := big.NewInt(0)
				max := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1))
				der, err := asn1.Marshal(struct{ R, S *big.Int }{r, s})
				if err != nil {
					t.Fatal(err)
				}
				attacks = append(attacks,
					attack{name: "psychic r=0 s=0", token: withSig(bob, rs(zero, zero))},
					attack{name: "psychic r=0", token: withSig(bob, rs(zero, s))},
					attack{name: "psychic s=0", token: withSig(bob, rs(r, zero))},
					attack{name: "r=N s=N", token: withSig(bob, rs(ecdsaN, ecdsaN))},
					attack{name: "r=N", token: withSig(bob, rs(ecdsaN, s))},
					attack{name: "s=N", token: withSig(bob, rs(r, ecdsaN))},
					attack{name: "r=N+1 s=N+1", token: withSig(bob, rs(new(big.Int).Add(ecdsaN, big.NewInt(1)), new(big.Int).Add(ecdsaN, big.NewInt(1))))},
					attack{name: "r,s = 2^256-1", token: withSig(bob, rs(max, max))},
					attack{name: "r=s=1", token: withSig(bob, rs(big.NewInt(1), big.NewInt(1)))},
					attack{name: "DER-encoded signature", token: withSig(bob, der)},
					attack{name: "swapped r and s", token: withSig(bob, rs(s, r))},
					attack{name: "r from another token", token: withSig(bob, append(append([]byte{}, sigOf(t, carol)[:32]...), sig[32:]...))},
				)
			case "EdDSA":
				// S + L is the same point arithmetic but a non-canonical
				// encoding (RFC 8032 §5.1.7 demands S < L).
				l, _ := new(big.Int).SetString("7237005577332262213973186563042994240857116359379907606001950938285454250989", 10)
				sLE := reverse(sig[32:])
				sBig := new(big.Int).SetBytes(sLE)
				sBig.Add(sBig, l)
				if sBig.BitLen() <= 256 {
					buf := make([]byte, 32)
					sBig.FillBytes(buf)
					attacks = append(attacks, attack{name: "non-canonical S+L", token: withSig(bob, append(append([]byte{}, sig[:32]...), reverse(buf)...))})
				}
				attacks = append(attacks, attack{name: "R only", token: withSig(bob, sig[:32])})
			case "RS256":
				attacks = append(attacks,
					attack{name: "signature = 1", token: withSig(bob, append(make([]byte, len(sig)-1), 1))},
					attack{name: "signature = modulus", token: withSig(bob, testRawKeys(t).rsa.N.Bytes())},
				)
			}
			runAttacks(t, f, "/admin/users", attacks)
			runAttacks(t, f, "/items", attacks[:3])
			if rec := f.get("/items", "Bearer "+bob); rec.Code != 200 {
				t.Fatalf("the untampered token: %d", rec.Code)
			}
		})
	}
}

// TestECDSAMalleability documents a property of ECDSA, not a flaw of
// tollgate: (r, N-s) is a second valid signature of the same token
// (RFC 7518 does not require low-S). Its claims are the issuer's, byte for
// byte; nothing in tollgate keys on the signature bytes, so the variant
// gains an attacker nothing. Pinned so that the fuzz oracle's exception
// for it stays honest.
func TestECDSAMalleability(t *testing.T) {
	f := newFixture(t, "ES256", nil)
	tok := tokenOf(t, f, "bob", "builder")
	sig := sigOf(t, tok)
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	twin := withSig(tok, rs(r, new(big.Int).Sub(ecdsaN, s)))
	if twin == tok {
		t.Fatal("twin equals the token")
	}
	if rec := f.get("/items", "Bearer "+twin); rec.Code != 200 {
		t.Errorf("(r, N-s): %d; ECDSA verification changed (low-S enforced?)", rec.Code)
	}
}

func flipBit(b []byte, bit int) []byte {
	c := append([]byte{}, b...)
	c[bit/8] ^= 1 << (bit % 8)
	return c
}

func reverse(b []byte) []byte {
	c := make([]byte, len(b))
	for i := range b {
		c[len(b)-1-i] = b[i]
	}
	return c
}

func hmacOf(key []byte, input string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(input))
	return m.Sum(nil)
}

// nonCanonical returns tok with the unused low bits of its signature's last
// base64url character set: the same bytes under a lenient decoder.
func nonCanonical(tok string) string {
	i := strings.LastIndexByte(tok, '.')
	sig := tok[i+1:]
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, sig[len(sig)-1])
	unused := map[int]int{2: 0xf, 3: 0x3}[len(sig)%4] // 1 or 2 trailing bytes
	if unused == 0 {
		// Length a multiple of 4: no spare bits; add a character instead.
		return tok + "A"
	}
	return tok[:len(tok)-1] + string(alphabet[last|unused])
}

// TestRFC7515_7_1_ShapeTricks: inputs that are not a compact JWS at all,
// answered quickly with 400 (not even a b64token) or 401.
func TestRFC7515_7_1_ShapeTricks(t *testing.T) {
	f := newFixture(t, "", nil)
	good := f.forgeGood(t, nil)
	parts := strings.Split(good, ".")
	h, p, s := parts[0], parts[1], parts[2]
	sign := func(header string) string {
		return rawJWS(t, f.alg, rawKeyFor(t, f.alg), header, jsonOf(t, goodClaims()))
	}
	attacks := []attack{
		{name: "1 segment", token: h},
		{name: "1 segment, the payload", token: p},
		{name: "2 segments", token: h + "." + p},
		{name: "4 segments", token: good + "." + s},
		{name: "4 segments, empty last", token: good + "."},
		{name: "5 segments (JWE shape)", token: h + ".AAAA." + p + "." + s + ".AAAA"},
		{name: "only dots", token: ".."},
		{name: "empty header", token: "." + p + "." + s},
		{name: "empty payload", token: h + ".." + s},
		{name: "leading dot", token: "." + good},
		{name: "trailing dot", token: good + "."},
		{name: "standard base64 '+' and '/'", token: strings.NewReplacer("-", "+", "_", "/").Replace(good) + "+/"},
		{name: "padding '=' at the end", token: good + "="},
		{name: "padding '==' at the end", token: good + "=="},
		{name: "tilde", token: good + "~"},
		{name: "padded header segment", token: padded(t, f, true), status: 400},
		{name: "padded payload segment", token: padded(t, f, false), status: 400},
		{name: "space inside", token: h + "." + p[:5] + " " + p[5:] + "." + s, status: 400},
		{name: "tab inside", token: h + "\t." + p + "." + s, status: 400},
		{name: "newline inside", token: h + ".\n" + p + "." + s, status: 400},
		{name: "CRLF inside", token: h + "\r\n." + p + "." + s, status: 400},
		{name: "non-ASCII", token: h + "." + p + "." + s + "\u00e9", status: 400},
		{name: "non-JSON header", token: b64([]byte("hello")) + "." + p + "." + s},
		{name: "header array", token: sign(`[]`)},
		{name: "header null", token: sign(`null`)},
		{name: "header string", token: sign(`"at+jwt"`)},
		{name: "header with trailing garbage", token: sign(jsonOf(t, f.goodHeader()) + "x")},
		{name: "header two objects", token: sign(jsonOf(t, f.goodHeader()) + "{}")},
		{name: "header with BOM", token: sign("\xef\xbb\xbf" + jsonOf(t, f.goodHeader()))},
		{name: "header invalid UTF-8", token: sign(`{"alg":"ES256","typ":"at+jwt","kid":"` + f.key.ID() + "\xff" + `"}`)},
		{name: "header too large (padding member)", token: sign(`{"alg":"ES256","typ":"at+jwt","kid":"` + f.key.ID() + `","x":"` + strings.Repeat("a", 2000) + `"}`)},
		{name: "header nested deeply", token: sign(`{"alg":"ES256","typ":"at+jwt","kid":"` + f.key.ID() + `","x":` + strings.Repeat("[", 2000) + strings.Repeat("]", 2000) + `}`)},
		{name: "payload nested deeply", token: rawJWS(t, f.alg, rawKeyFor(t, f.alg), jsonOf(t, f.goodHeader()), strings.TrimSuffix(jsonOf(t, goodClaims()), "}")+`,"x":`+strings.Repeat("[", 3000)+strings.Repeat("]", 3000)+`}`), desc: descTooLarge},
		{name: "payload nested unbalanced", token: rawJWS(t, f.alg, rawKeyFor(t, f.alg), jsonOf(t, f.goodHeader()), strings.TrimSuffix(jsonOf(t, goodClaims()), "}")+`,"x":`+strings.Repeat("[", 3000)+`}`)},
		{name: "invalid base64url in header", token: "e!J" + h + "." + p + "." + s, status: 400},
		{name: "1 MB token", token: strings.Repeat("A", 1<<20), desc: descTooLarge},
		{name: "1 MB of valid-looking segments", token: h + "." + strings.Repeat("A", 1<<20) + "." + s, desc: descTooLarge},
		{name: "100000 dots", token: strings.Repeat(".", 100000), desc: descTooLarge},
		{name: "8000 dots (under the size limit)", token: strings.Repeat(".", 8000)},
		{name: "dots between valid segments", token: h + strings.Repeat(".", 5000) + p + "." + s},
		{name: "just over the size limit", token: strings.Repeat("A", 8192+1), desc: descTooLarge},
	}
	runAttacks(t, f, "/items", attacks)

	// Not an attack: unknown header parameters and claims are ignored
	// (RFC 7515 §4, RFC 7519 §4), nested or not, within the size bounds.
	tok := f.forgeGood(t, func(h, c map[string]any) {
		h["x"] = []any{[]any{[]any{map[string]any{"y": nil}}}}
		c["x"] = map[string]any{"y": []any{1.5e3, true, nil, "z"}}
	})
	if rec := f.get("/items", "Bearer "+tok); rec.Code != 200 {
		t.Errorf("unknown parameters: %d", rec.Code)
	}
	deep := rawJWS(t, f.alg, rawKeyFor(t, f.alg), jsonOf(t, f.goodHeader()), strings.TrimSuffix(jsonOf(t, goodClaims()), "}")+`,"x":`+strings.Repeat("[", 1500)+strings.Repeat("]", 1500)+`}`)
	if rec := f.get("/items", "Bearer "+deep); rec.Code != 200 {
		t.Errorf("deeply nested unknown claim within the 8 KiB bound: %d", rec.Code)
	}

	// Cross-JWT confusion (RFC 8725 §2.8): the refresh token is not an
	// access token.
	rt := f.login(t, "alice", "wonderland").RefreshToken
	if rec := f.get("/items", "Bearer "+rt); rec.Code != 401 && rec.Code != 400 {
		t.Errorf("refresh token as access token: %d", rec.Code)
	}
}

// padded returns a token signed by the real key whose header (or payload)
// segment carries base64 padding: claims are grown until the JSON length
// is not a multiple of 3, so the padding is really there.
func padded(t testing.TB, f *fixture, header bool) string {
	t.Helper()
	hdr, claims := f.goodHeader(), goodClaims()
	for i := 0; ; i++ {
		hj, cj := jsonOf(t, hdr), jsonOf(t, claims)
		target := cj
		if header {
			target = hj
		}
		if len(target)%3 != 0 {
			enc := base64.URLEncoding.EncodeToString
			var input string
			if header {
				input = enc([]byte(hj)) + "." + b64([]byte(cj))
			} else {
				input = b64([]byte(hj)) + "." + enc([]byte(cj))
			}
			if !strings.Contains(input, "=") {
				t.Fatal("no padding")
			}
			return input + "." + b64(signRaw(t, f.alg, rawKeyFor(t, f.alg), []byte(input)))
		}
		if header {
			hdr["x"] = strings.Repeat("p", i+1)
		} else {
			claims["x"] = strings.Repeat("p", i+1)
		}
	}
}

// TestCVE_2025_30204_BoundedRejection: rejecting a huge or dotted token
// costs a constant, small number of allocations, whatever its size
// (golang-jwt's CVE-2025-30204 allocated per dot).
func TestCVE_2025_30204_BoundedRejection(t *testing.T) {
	f := newFixture(t, "", nil)
	tests := []struct {
		name  string
		token string
	}{
		{"100000 dots", strings.Repeat(".", 100000)},
		{"1 MB of dots and letters", strings.Repeat("a.", 1<<19)},
		{"8000 dots", strings.Repeat(".", 8000)},
		{"8000 segments", strings.Repeat("a.", 4000)},
		{"1 MB token", strings.Repeat("A", 1<<20)},
		{"2 segments of 8 KB", strings.Repeat("A", 4000) + "." + strings.Repeat("A", 4000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/items", nil)
			req.Header.Set("Authorization", "Bearer "+tt.token)
			allocs := testing.AllocsPerRun(50, func() {
				if _, err := f.auth.Authenticate(req); err == nil {
					panic("accepted")
				}
			})
			if allocs > 8 {
				t.Errorf("rejecting %s: %.0f allocations per request, want at most 8", tt.name, allocs)
			}
		})
	}
}

// BenchmarkRejectDots measures the cost of rejecting a 100 000-dot token.
func BenchmarkRejectDots(b *testing.B) {
	f := newFixture(b, "", nil)
	req := httptest.NewRequest("GET", "/items", nil)
	req.Header.Set("Authorization", "Bearer "+strings.Repeat(".", 100000))
	b.ReportAllocs()
	for b.Loop() {
		f.auth.Authenticate(req)
	}
}
