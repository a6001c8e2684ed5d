package jose

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"strings"
	"testing"
)

// FuzzSplit checks Split against strings.Split and the base64url
// alphabet: exactly three non-empty segments, nothing but base64url
// characters and two dots (RFC 7515 §7.1).
func FuzzSplit(f *testing.F) {
	for _, s := range []string{"a.b.c", "a.b", "a..c", ".b.c", "a.b.", "a.b.c.d", "eyJ.eyJ.sig", "a.b.c=", "a b.c.d", "ü.b.c", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, token string) {
		h, p, s, ok := Split(token)
		parts := strings.Split(token, ".")
		want := len(parts) == 3 && parts[0] != "" && parts[1] != "" && parts[2] != ""
		for i := 0; want && i < len(token); i++ {
			if c := token[i]; c != '.' && !strings.ContainsRune("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", rune(c)) {
				want = false
			}
		}
		if ok != want {
			t.Fatalf("Split(%q) ok = %v, want %v", token, ok, want)
		}
		if ok && (h != parts[0] || p != parts[1] || s != parts[2]) {
			t.Fatalf("Split(%q) = %q %q %q, want %q", token, h, p, s, parts)
		}
	})
}

// FuzzDecodeHeader checks that DecodeHeader never accepts what
// encoding/json would not decode, never accepts a header naming a key
// source or an extension, and reads alg, typ and kid as encoding/json does.
func FuzzDecodeHeader(f *testing.F) {
	for _, s := range []string{`{"alg":"ES256","typ":"at+jwt","kid":"k"}`, `{"alg":"none"}`, `{"alg":"HS256","jku":"https://x"}`,
		`{"alg":"ES256","crit":["b64"],"b64":false}`, `{"alg":1}`, `[]`, `{`, `{"jwk":null}`} {
		f.Add(base64.RawURLEncoding.EncodeToString([]byte(s)))
	}
	f.Fuzz(func(t *testing.T, seg string) {
		h, err := DecodeHeader(seg)
		if err != nil {
			return
		}
		raw, derr := base64.RawURLEncoding.Strict().DecodeString(seg)
		if derr != nil {
			t.Fatalf("DecodeHeader(%q) accepted bad base64url", seg)
		}
		var m map[string]json.RawMessage
		if json.Unmarshal(raw, &m) != nil {
			t.Fatalf("DecodeHeader accepted %q, which is not a JSON object", raw)
		}
		for _, name := range []string{"crit", "jku", "x5u", "jwk", "x5c", "b64", "zip"} {
			if _, ok := m[name]; ok {
				t.Fatalf("DecodeHeader accepted %q, which names %s (RFC 8725 §3.10)", raw, name)
			}
		}
		var std Header
		_ = json.Unmarshal(raw, &std)
		if std != h {
			t.Fatalf("DecodeHeader(%q) = %+v, encoding/json reads %+v", raw, h, std)
		}
	})
}

// FuzzECDSADER checks ECDSADER against encoding/asn1's encoding of the
// same two integers (SEC 1 §C.8).
func FuzzECDSADER(f *testing.F) {
	f.Add([]byte{1}, []byte{0x80})
	f.Add([]byte{0, 0, 0x7f}, []byte{0xff, 0xff})
	f.Add(make([]byte, 66), []byte{1})
	f.Fuzz(func(t *testing.T, r, s []byte) {
		if len(r) > 66 || len(s) > 66 {
			return
		}
		got, ok := ECDSADER(nil, r, s)
		R, S := new(big.Int).SetBytes(r), new(big.Int).SetBytes(s)
		if R.Sign() == 0 || S.Sign() == 0 {
			if ok {
				t.Fatalf("ECDSADER(%x, %x) accepted a zero integer", r, s)
			}
			return
		}
		want, err := asn1.Marshal(struct{ R, S *big.Int }{R, S})
		if err != nil {
			t.Fatal(err)
		}
		if !ok || string(got) != string(want) {
			t.Fatalf("ECDSADER(%x, %x) = %x, %v; want %x", r, s, got, ok, want)
		}
	})
}

// TestVerifyECDSAFixedSize shows the RFC 7518 §3.4 rule: an ES256
// signature is R‖S of exactly 32 bytes each; the same signature padded or
// as DER is refused.
func TestVerifyECDSAFixedSize(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	input := "header.payload"
	sum := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, key, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	if !Verify(&key.PublicKey, input, sig) {
		t.Fatal("a good R‖S signature was refused")
	}
	der, _ := asn1.Marshal(struct{ R, S *big.Int }{r, s})
	for name, bad := range map[string][]byte{
		"DER":        der,
		"padded":     append([]byte{0}, sig...),
		"truncated":  sig[:63],
		"other data": append(append([]byte{}, sig[:32]...), make([]byte, 32)...),
	} {
		if Verify(&key.PublicKey, input, bad) {
			t.Errorf("%s signature accepted", name)
		}
	}
	if Verify(&key.PublicKey, input+"x", sig) {
		t.Error("the signature verified other input")
	}
}
