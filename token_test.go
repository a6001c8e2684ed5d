package tollgate_test

// Access tokens: their shape (RFC 9068 §2), verification of the registered
// claims with leeway (RFC 7519 §4.1), every algorithm, and key rotation.
// Every time-dependent test runs in a synctest bubble: time.Now is fake and
// time.Sleep returns at once.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tollgate-go/tollgate"
)

// splitJWT decodes the header and claims of a compact JWS, failing the
// test if it is not one.
func splitJWT(t testing.TB, tok string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d segments, want 3", len(parts))
	}
	dec := func(s string) map[string]any {
		b, err := base64.RawURLEncoding.Strict().DecodeString(s)
		if err != nil {
			t.Fatalf("segment is not base64url: %v", err)
		}
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		var m map[string]any
		if err := d.Decode(&m); err != nil {
			t.Fatalf("segment is not a JSON object: %v", err)
		}
		return m
	}
	return dec(parts[0]), dec(parts[1])
}

// httpGet builds a GET request with a Bearer token.
func httpGet(path, token string) *http.Request {
	req := httptest.NewRequest("GET", path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	return req
}

// keysOf returns the sorted keys of m.
func keysOf(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// TestRFC9068_2_IssuedToken checks the header and claims of issued tokens
// for every algorithm, and that each verifies.
func TestRFC9068_2_IssuedToken(t *testing.T) {
	for _, alg := range []string{"HS256", "RS256", "ES256", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			f := newFixture(t, alg, nil)
			f.users.Put(tollgate.User{ID: "u-42", Username: "erin", PasswordHash: mustFastHash("pw"), Scopes: []string{"me", "items:read"}})
			tj := f.login(t, "alice", "wonderland", "items:read", "me")
			if tj.TokenType != "Bearer" || tj.ExpiresIn != int64((15*time.Minute)/time.Second) {
				t.Errorf("token_type, expires_in = %q, %d", tj.TokenType, tj.ExpiresIn)
			}
			h, c := splitJWT(t, tj.AccessToken)
			// RFC 9068 §2.1: typ at+jwt; the kid names the key.
			if want := []string{"alg", "kid", "typ"}; !slices.Equal(keysOf(h), want) {
				t.Errorf("header names %v, want %v", keysOf(h), want)
			}
			if h["alg"] != alg || h["typ"] != "at+jwt" || h["kid"] != f.key.ID() {
				t.Errorf("header = %v; want alg %s, typ at+jwt, kid %s", h, alg, f.key.ID())
			}
			// RFC 9068 §2.2: iss, exp, aud, sub, client_id, iat, jti, scope.
			if want := []string{"aud", "client_id", "exp", "iat", "iss", "jti", "scope", "sub"}; !slices.Equal(keysOf(c), want) {
				t.Errorf("claim names %v, want %v", keysOf(c), want)
			}
			if c["iss"] != testIssuer || c["aud"] != testAudience || c["sub"] != "alice" || c["client_id"] != "tollgate" {
				t.Errorf("claims = %v", c)
			}
			// The granted scope, in the order asked.
			if c["scope"] != "items:read me" {
				t.Errorf("scope = %q, want %q", c["scope"], "items:read me")
			}
			exp, _ := c["exp"].(json.Number).Int64()
			iat, _ := c["iat"].(json.Number).Int64()
			if exp-iat != int64((15*time.Minute)/time.Second) {
				t.Errorf("exp - iat = %d, want %d", exp-iat, int64((15*time.Minute)/time.Second))
			}
			if jti, _ := c["jti"].(string); len(jti) < 16 {
				t.Errorf("jti = %q", jti)
			}
			if rec := f.get("/items", "Bearer "+tj.AccessToken); rec.Code != 200 {
				t.Fatalf("issued token: %d %s", rec.Code, rec.Header().Get("WWW-Authenticate"))
			}

			// The username is a claim only when it differs from sub.
			_, c = splitJWT(t, tokenOf(t, f, "erin", "pw"))
			if c["sub"] != "u-42" || c["preferred_username"] != "erin" {
				t.Errorf("erin's claims = %v; want sub u-42, preferred_username erin", c)
			}
		})
	}
}

// TestRFC9068_2_OtherCurves: ES384 and ES512 keys issue and verify too.
func TestRFC9068_2_OtherCurves(t *testing.T) {
	for _, alg := range []string{"ES384", "ES512"} {
		t.Run(alg, func(t *testing.T) {
			k, err := tollgate.GenerateKey(alg)
			if err != nil {
				t.Fatal(err)
			}
			f := newFixture(t, "", func(c *tollgate.Config) { c.SigningKey = k })
			tok := tokenOf(t, f, "bob", "builder")
			if h, _ := splitJWT(t, tok); h["alg"] != alg {
				t.Errorf("alg = %v, want %s", h["alg"], alg)
			}
			if rec := f.get("/items", "Bearer "+tok); rec.Code != 200 {
				t.Errorf("status %d", rec.Code)
			}
			if rec := getVia(verifierFor(t, k.Public()), "/items", tok); rec.Code != 200 {
				t.Errorf("verifier: status %d", rec.Code)
			}
		})
	}
}

// TestRFC9068_3_Audience: tokens name every configured audience; a
// verifier accepts a token that names it among others, and no other.
func TestRFC9068_3_Audience(t *testing.T) {
	f := newFixture(t, "", func(c *tollgate.Config) { c.Audience = []string{"https://a.test", "https://b.test"} })
	tok := tokenOf(t, f, "alice", "wonderland")
	_, c := splitJWT(t, tok)
	if aud, ok := c["aud"].([]any); !ok || len(aud) != 2 || aud[0] != "https://a.test" || aud[1] != "https://b.test" {
		t.Fatalf("aud = %v, want both audiences", c["aud"])
	}
	for _, tt := range []struct {
		aud  string
		want int
	}{{"https://b.test", 200}, {"https://a.test", 200}, {"https://c.test", 401}, {"https://a.test/", 401}} {
		a, err := tollgate.New(tollgate.Config{Issuer: testIssuer, Audience: []string{tt.aud}, VerificationKeys: []*tollgate.Key{f.key.Public()}})
		if err != nil {
			t.Fatal(err)
		}
		req := httpGet("/", tok)
		_, err = a.Authenticate(req)
		if got := map[bool]int{true: 200, false: 401}[err == nil]; got != tt.want {
			t.Errorf("verifier for %s: err = %v, want status %d", tt.aud, err, tt.want)
		}
	}
}

// TestRFC7519_4_1_4_Expiry: a token works until exp plus the leeway, and
// not a second longer.
func TestRFC7519_4_1_4_Expiry(t *testing.T) {
	testRawKeys(t) // generate outside the bubble
	tests := []struct {
		name       string
		ttl        time.Duration
		leeway     time.Duration // Config.Leeway
		wantExpiry time.Duration // from issue to the first rejected second
	}{
		{"default TTL and leeway", 0, 0, (15 * time.Minute) + (30 * time.Second)},
		{"one minute, two minutes leeway", time.Minute, 2 * time.Minute, 3 * time.Minute},
		{"no leeway", time.Minute, -1, time.Minute},
		{"five minutes leeway (the maximum)", time.Hour, 5 * time.Minute, time.Hour + 5*time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFixture(t, "", func(c *tollgate.Config) { c.AccessTTL, c.Leeway = tt.ttl, tt.leeway })
				// Issue on a whole second, so exp (whole seconds) is exact.
				time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second)))
				tok := tokenOf(t, f, "alice", "wonderland")
				if rec := f.get("/items", "Bearer "+tok); rec.Code != 200 {
					t.Fatalf("fresh token: %d", rec.Code)
				}
				time.Sleep(tt.wantExpiry - time.Second)
				if rec := f.get("/items", "Bearer "+tok); rec.Code != 200 {
					t.Fatalf("one second before exp+leeway: %d %s", rec.Code, rec.Header().Get("WWW-Authenticate"))
				}
				time.Sleep(time.Second)
				checkInvalidToken(t, f.get("/items", "Bearer "+tok), descExpired)
				time.Sleep(24 * time.Hour)
				checkInvalidToken(t, f.get("/items", "Bearer "+tok), descExpired)
			})
		})
	}
}

// TestRFC7519_4_1_Leeway: nbf and iat may lie in the future by the leeway,
// not more; exp may lie in the past by it.
func TestRFC7519_4_1_Leeway(t *testing.T) {
	testRawKeys(t)
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, "", nil)
		lw := (30 * time.Second)
		at := func(d time.Duration) int64 { return time.Now().Add(d).Unix() }
		time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second)))
		tests := []struct {
			name   string
			claim  string
			offset time.Duration
			ok     bool
		}{
			{"RFC7519 §4.1.5 nbf now", "nbf", 0, true},
			{"RFC7519 §4.1.5 nbf within leeway", "nbf", lw, true},
			{"RFC7519 §4.1.5 nbf beyond leeway", "nbf", lw + time.Second, false},
			{"RFC7519 §4.1.5 nbf far future", "nbf", 24 * time.Hour, false},
			{"RFC7519 §4.1.5 nbf past", "nbf", -time.Hour, true},
			{"RFC7519 §4.1.6 iat within leeway", "iat", lw, true},
			{"RFC7519 §4.1.6 iat beyond leeway", "iat", lw + time.Second, false},
			{"RFC7519 §4.1.6 iat far future", "iat", 365 * 24 * time.Hour, false},
			{"RFC7519 §4.1.4 exp in the past within leeway", "exp", -lw + time.Second, true},
			{"RFC7519 §4.1.4 exp in the past by the leeway", "exp", -lw, false},
			{"RFC7519 §4.1.4 exp now", "exp", 0, true},
		}
		for _, tt := range tests {
			tok := f.forgeGood(t, func(_, c map[string]any) {
				c[tt.claim] = at(tt.offset)
				if tt.claim == "exp" {
					c["iat"] = at(-time.Hour)
				}
			})
			rec := f.get("/items", "Bearer "+tok)
			if tt.ok && rec.Code != 200 {
				t.Errorf("%s: status %d, want 200 (%s)", tt.name, rec.Code, rec.Header().Get("WWW-Authenticate"))
			}
			if !tt.ok && rec.Code != 401 {
				t.Errorf("%s: status %d, want 401", tt.name, rec.Code)
			}
		}

		// A token not valid yet becomes valid as time passes.
		tok := f.forgeGood(t, func(_, c map[string]any) { c["nbf"] = at(lw + 10*time.Second) })
		checkInvalidToken(t, f.get("/items", "Bearer "+tok), "")
		time.Sleep(10 * time.Second)
		if rec := f.get("/items", "Bearer "+tok); rec.Code != 200 {
			t.Errorf("nbf reached: %d", rec.Code)
		}
	})
}

// TestRFC7519_4_1_LeewayBounds: New refuses a leeway over 5 minutes.
func TestRFC7519_4_1_LeewayBounds(t *testing.T) {
	cfg := tollgate.Config{Issuer: testIssuer, Audience: []string{testAudience}, VerificationKeys: []*tollgate.Key{testKey(t, "ES256")}}
	cfg.Leeway = 5*time.Minute + time.Second
	if _, err := tollgate.New(cfg); err == nil {
		t.Errorf("New(Leeway %v) = nil error", cfg.Leeway)
	}
}

// TestKeyRotation: a rotated-out key keeps verifying its tokens until they
// expire; the new key signs; a ring without the old key refuses them.
func TestKeyRotation(t *testing.T) {
	testRawKeys(t)
	synctest.Test(t, func(t *testing.T) {
		before := newFixture(t, "ES256", nil) // signs with the old key
		old := before.key
		next, err := tollgate.GenerateKey("EdDSA")
		if err != nil {
			t.Fatal(err)
		}
		during := newFixture(t, "", func(c *tollgate.Config) {
			c.SigningKey = next
			c.VerificationKeys = []*tollgate.Key{old.Public()}
		})
		after := newFixture(t, "", func(c *tollgate.Config) { c.SigningKey = next })

		oldTok := tokenOf(t, before, "alice", "wonderland")
		newTok := tokenOf(t, during, "alice", "wonderland")
		if h, _ := splitJWT(t, newTok); h["kid"] != next.ID() || h["alg"] != "EdDSA" {
			t.Fatalf("new token header %v; want the new key %s", h, next.ID())
		}
		if old.ID() == next.ID() {
			t.Fatal("keys share a kid")
		}

		ok := func(f *fixture, tok, what string) {
			t.Helper()
			if rec := f.get("/items", "Bearer "+tok); rec.Code != 200 {
				t.Errorf("%s: %d %s", what, rec.Code, rec.Header().Get("WWW-Authenticate"))
			}
		}
		ok(during, oldTok, "old token during rotation")
		ok(during, newTok, "new token during rotation")
		ok(after, newTok, "new token after rotation")
		checkInvalidToken(t, after.get("/items", "Bearer "+oldTok), "")  // old key removed from the ring
		checkInvalidToken(t, before.get("/items", "Bearer "+newTok), "") // unknown kid to the old ring

		// Tokens of the rotated-out key, forged with it and an exp already
		// past, fail: the ring keeps the key only to honour live tokens.
		expired := forge(t, "ES256", rawKeyFor(t, "ES256"), before.goodHeader(), map[string]any{
			"iss": testIssuer, "sub": "alice", "aud": testAudience, "scope": "items:read",
			"iat": time.Now().Add(-2 * time.Hour).Unix(), "exp": time.Now().Add(-time.Hour).Unix(),
		})
		checkInvalidToken(t, during.get("/items", "Bearer "+expired), descExpired)

		// Once the last token of the old key has expired, nothing it signed
		// works, with or without the key in the ring.
		time.Sleep((15 * time.Minute) + (30 * time.Second))
		checkInvalidToken(t, during.get("/items", "Bearer "+oldTok), descExpired)
		checkInvalidToken(t, after.get("/items", "Bearer "+oldTok), "")
	})
}

// TestKIDSelection: the kid picks the key; an unknown one fails; a token
// without kid is accepted only when the ring has a single key.
func TestKIDSelection(t *testing.T) {
	f := newFixture(t, "", nil)
	checkInvalidToken(t, f.get("/items", "Bearer "+f.forgeGood(t, func(h, _ map[string]any) { h["kid"] = "no-such-key" })), "")
	checkInvalidToken(t, f.get("/items", "Bearer "+f.forgeGood(t, func(h, _ map[string]any) { h["kid"] = strings.ToUpper(f.key.ID()) })), "")
	checkInvalidToken(t, f.get("/items", "Bearer "+f.forgeGood(t, func(h, _ map[string]any) { h["kid"] = f.key.ID() + " " })), "")
	// One key: a missing (or empty) kid can only mean it.
	if rec := f.get("/items", "Bearer "+f.forgeGood(t, func(h, _ map[string]any) { delete(h, "kid") })); rec.Code != 200 {
		t.Errorf("single key, no kid: %d", rec.Code)
	}
	if rec := f.get("/items", "Bearer "+f.forgeGood(t, func(h, _ map[string]any) { h["kid"] = "" })); rec.Code != 200 {
		t.Errorf("single key, empty kid: %d", rec.Code)
	}
	// Two keys: a token must say which.
	two := newFixture(t, "", func(c *tollgate.Config) { c.VerificationKeys = []*tollgate.Key{testKey(t, "EdDSA")} })
	checkInvalidToken(t, two.get("/items", "Bearer "+two.forgeGood(t, func(h, _ map[string]any) { delete(h, "kid") })), "")
	checkInvalidToken(t, two.get("/items", "Bearer "+two.forgeGood(t, func(h, _ map[string]any) { h["kid"] = "" })), "")
	if rec := two.get("/items", "Bearer "+two.forgeGood(t, nil)); rec.Code != 200 {
		t.Errorf("two keys, right kid: %d", rec.Code)
	}
	// The EdDSA key's kid with an EdDSA signature is accepted by the ring.
	ed := forge(t, "EdDSA", rawKeyFor(t, "EdDSA"), map[string]any{"alg": "EdDSA", "typ": "at+jwt", "kid": testKey(t, "EdDSA").ID()}, goodClaims())
	if rec := two.get("/items", "Bearer "+ed); rec.Code != 200 {
		t.Errorf("verification key: %d", rec.Code)
	}
}
