package tollgate_test

// Fuzz targets for the parsers that face attackers: the Authorization
// header (FuzzBearer), the token verifier (FuzzVerify) and the scope
// parameter (FuzzParseScope). Run one locally with, for example,
//
//	go test -run='^$' -fuzz=FuzzVerify -fuzztime=5m .
//
// Each target checks an oracle, not just the absence of panics.

import (
	"crypto/elliptic"
	"encoding/base64"
	"math/big"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tollgate-go/tollgate"
)

// FuzzBearer sends arbitrary Authorization header values to /items: the
// answer is one of 200, 400, 401, 403, and every refusal carries the
// RFC 6750 challenge that matches its status.
func FuzzBearer(f *testing.F) {
	fx := newFixture(f, "", nil)
	good := fx.login(f, "alice", "wonderland").AccessToken
	bob := fx.login(f, "bob", "builder", "me").AccessToken
	for _, s := range []string{
		"", "Bearer", "Bearer ", "Bearer  ", "bearer " + good, "Bearer " + good, "BEARER  " + good, "Bearer " + bob,
		"Basic YTpi", "Bearer x.y.z", "Bearer a b", "Bearer " + good + "=", "Bearer " + good + " ", "Bearer\t" + good,
		"Bearer ..", "Bearer " + strings.Repeat(".", 9000), "Bearer =", "Bearer a==", "Bearer a=b", "Bearer ~+/",
		"Bearer " + good[:len(good)-2], "Bearer eyJhbGciOiJub25lIn0.e30.", "Negotiate abc", "Bearer,", "Bearer\x00" + good,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		req := httptest.NewRequest("GET", "/items", nil)
		req.Header["Authorization"] = []string{v}
		rec := fx.do(req)
		chall := rec.Header().Get("WWW-Authenticate")
		switch rec.Code {
		case 200:
			if chall != "" {
				t.Fatalf("200 with a challenge %q", chall)
			}
			// Only a real token gets through.
			tok := strings.TrimLeft(v[min(len(v), 6):], " ")
			if !strings.EqualFold(v[:min(len(v), 7)], "Bearer ") || tok != good {
				t.Fatalf("200 for %q", v)
			}
		case 400:
			if !strings.HasPrefix(chall, bareChallenge+`, error="invalid_request"`) {
				t.Fatalf("400 with challenge %q", chall)
			}
		case 401:
			if chall != bareChallenge && !strings.HasPrefix(chall, bareChallenge+`, error="invalid_token"`) {
				t.Fatalf("401 with challenge %q", chall)
			}
		case 403:
			if !strings.HasPrefix(chall, bareChallenge+`, error="insufficient_scope"`) || !strings.HasSuffix(chall, `scope="items:read"`) {
				t.Fatalf("403 with challenge %q", chall)
			}
		default:
			t.Fatalf("status %d for %q", rec.Code, v)
		}
		if strings.ContainsAny(chall, "\r\n") {
			t.Fatalf("line break in challenge %q", chall)
		}
	})
}

// verifyFixture is a service that verifies all four algorithms, and a set
// of tokens it must accept, each forged with the real keys.
func verifyFixture(f *testing.F) (*fixture, map[string]bool) {
	fx := newFixture(f, "ES256", func(c *tollgate.Config) {
		c.VerificationKeys = []*tollgate.Key{testKey(f, "HS256"), testKey(f, "RS256"), testKey(f, "EdDSA")}
	})
	valid := map[string]bool{fx.login(f, "alice", "wonderland").AccessToken: true}
	for _, alg := range allAlgs {
		h := map[string]any{"alg": alg, "typ": "at+jwt", "kid": testKey(f, alg).ID()}
		valid[forge(f, alg, rawKeyFor(f, alg), h, goodClaims())] = true
	}
	return fx, valid
}

// ecdsaTwin reports whether tok is a valid ES256 token's malleated twin:
// the same signing input, with s replaced by N-s (see TestECDSAMalleability).
func ecdsaTwin(tok string, valid map[string]bool) bool {
	i := strings.LastIndexByte(tok, '.')
	if i < 0 {
		return false
	}
	for v := range valid {
		j := strings.LastIndexByte(v, '.')
		if v[:j] != tok[:i] {
			continue
		}
		a, b := decodeSeg(v[j+1:]), decodeSeg(tok[i+1:])
		if len(a) != 64 || len(b) != 64 || string(a[:32]) != string(b[:32]) {
			continue
		}
		s := new(big.Int).SetBytes(a[32:])
		twin := new(big.Int).Sub(elliptic.P256().Params().N, s)
		if twin.Cmp(new(big.Int).SetBytes(b[32:])) == 0 {
			return true
		}
	}
	return false
}

func decodeSeg(s string) []byte {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil
	}
	return b
}

// FuzzVerify presents random and mutated tokens: verification never
// panics, and never accepts a token that is not byte for byte one the
// issuer signed (ECDSA's (r, N-s) twin aside, which carries the issuer's
// very claims).
func FuzzVerify(f *testing.F) {
	fx, valid := verifyFixture(f)
	for tok := range valid {
		f.Add(tok)
		parts := strings.Split(tok, ".")
		f.Add(parts[0] + "." + parts[1] + ".")
		f.Add(parts[0] + "." + parts[1])
		f.Add(tok + "." + parts[2])
		f.Add(parts[0] + "." + b64([]byte(`{"sub":"carol","scope":"admin:users"}`)) + "." + parts[2])
	}
	bob := fx.login(f, "bob", "builder").AccessToken
	for _, s := range []string{
		"", ".", "..", "a.b.c", b64([]byte(`{"alg":"none","typ":"at+jwt"}`)) + "." + b64([]byte(`{}`)) + ".",
		forge(f, "HS256", []byte("secret"), map[string]any{"alg": "HS256", "typ": "at+jwt"}, goodClaims()),
		fx.forgeGood(f, func(h, _ map[string]any) { h["jku"] = "https://evil.test" }),
		fx.forgeGood(f, func(h, _ map[string]any) { h["crit"] = []string{"exp"} }),
		fx.forgeGood(f, func(_, c map[string]any) { c["scope"] = []string{"items:read"} }),
		withSig(bob, make([]byte, 64)),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		req := httptest.NewRequest("GET", "/items", nil)
		req.Header["Authorization"] = []string{"Bearer " + tok}
		rec := fx.do(req)
		switch rec.Code {
		case 200:
			if !valid[tok] && !ecdsaTwin(tok, valid) {
				t.Fatalf("accepted a token the issuer never signed: %q", tok)
			}
		case 400, 401:
		default:
			t.Fatalf("status %d", rec.Code)
		}
		// Authenticate directly agrees with the middleware.
		p, err := fx.auth.Authenticate(req)
		if (err == nil) != (rec.Code == 200) || (err == nil) != (p != nil) {
			t.Fatalf("Authenticate = %v, %v; middleware said %d", p, err, rec.Code)
		}
	})
}

// FuzzParseScope sends arbitrary scope parameters to the token endpoint
// and checks the answer against a model of RFC 6749 §3.3 and of the
// grant's rules: never more than asked, never more than held, never an
// unregistered scope.
func FuzzParseScope(f *testing.F) {
	// Every input is a successful login: the throttle's bound on
	// successes is not what this checks.
	fx := newFixture(f, "", func(c *tollgate.Config) { c.Logins.DisableThrottle = true })
	held := []string{"me", "items:read", "items:write"} // alice's
	for _, s := range []string{
		"", "me", "me items:read", "items:write me me", " me", "me ", "me  me", "admin:users", "ME", "me\titems:read",
		`"me"`, `me\`, "me,items:read", "\x00", "\u00e9", strings.Repeat("me ", 1400), oddScope, "me\x7f", "me \xff",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, scope string) {
		form := url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"wonderland"}, "scope": {scope}}
		rec := fx.post("/token", form)
		tj := decodeToken(t, rec)

		wantCode, wantScope := scopeModel(scope, held)
		if wantCode == "" {
			if rec.Code != 200 || tj.Scope != wantScope {
				t.Fatalf("scope %q: %d %q %q; want 200 %q", scope, rec.Code, tj.Error, tj.Scope, wantScope)
			}
			return
		}
		if rec.Code != 400 || tj.Error != wantCode {
			t.Fatalf("scope %q: %d %q; want 400 %s", scope, rec.Code, tj.Error, wantCode)
		}
	})
}

// scopeModel is an independent reading of the rules: it returns the error
// code the token endpoint must answer with, or "" and the granted scope.
func scopeModel(scope string, held []string) (code, granted string) {
	if len(scope) > 4096 || !utf8.ValidString(scope) {
		return "invalid_request", ""
	}
	for _, r := range scope {
		if r < 0x20 || r == 0x7f {
			return "invalid_request", ""
		}
	}
	if scope == "" {
		return "", strings.Join(held, " ")
	}
	var out []string
	for _, tok := range strings.Split(scope, " ") {
		if tok == "" {
			return "invalid_scope", ""
		}
		for _, r := range tok {
			if r < 0x21 || r > 0x7e || r == '"' || r == '\\' {
				return "invalid_scope", ""
			}
		}
		if _, ok := testScopes[tok]; !ok || !slices.Contains(held, tok) {
			return "invalid_scope", ""
		}
		if !slices.Contains(out, tok) {
			out = append(out, tok)
		}
	}
	return "", strings.Join(out, " ")
}

// TestFuzzOracles checks the fuzz oracles themselves on known inputs, so a
// lenient oracle cannot hide a bug.
func TestFuzzOracles(t *testing.T) {
	for _, tt := range []struct{ scope, code, granted string }{
		{"", "", "me items:read items:write"},
		{"me me", "", "me"},
		{"me  me", "invalid_scope", ""},
		{"admin:users", "invalid_scope", ""},
		{"a\tb", "invalid_request", ""},
		{"\xff", "invalid_request", ""},
	} {
		if code, granted := scopeModel(tt.scope, []string{"me", "items:read", "items:write"}); code != tt.code || granted != tt.granted {
			t.Errorf("scopeModel(%q) = %q, %q; want %q, %q", tt.scope, code, granted, tt.code, tt.granted)
		}
	}
	f := newFixture(t, "ES256", nil)
	tok := tokenOf(t, f, "bob", "builder")
	valid := map[string]bool{tok: true}
	sig := sigOf(t, tok)
	s := new(big.Int).SetBytes(sig[32:])
	twin := withSig(tok, rs(new(big.Int).SetBytes(sig[:32]), new(big.Int).Sub(ecdsaN, s)))
	if !ecdsaTwin(twin, valid) || ecdsaTwin(withSig(tok, make([]byte, 64)), valid) || ecdsaTwin(tok+"x", valid) {
		t.Error("ecdsaTwin misjudges")
	}
}
