package tollgate_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tollgate-go/tollgate"
	"github.com/tollgate-go/tollgate/audit"
	"github.com/tollgate-go/tollgate/memstore"
)

// withDenylist turns the access-token denylist on.
func withDenylist(c *tollgate.Config) { c.Denylist = memstore.NewDenylist(0) }

// wantRevoked checks that token is refused on a protected route as a
// revoked token (RFC 6750 §3.1 invalid_token).
func wantRevoked(t *testing.T, f *fixture, token string) {
	t.Helper()
	rec := f.get("/users/me", "Bearer "+token)
	if rec.Code != http.StatusUnauthorized {
		t.Fatalf("revoked token: status %d, want 401", rec.Code)
	}
	want := `Bearer realm="https://as.test", error="invalid_token", error_description="The access token was revoked"`
	if got := rec.Header().Get("WWW-Authenticate"); got != want {
		t.Errorf("WWW-Authenticate = %s, want %s", got, want)
	}
}

func wantAccepted(t *testing.T, f *fixture, what, token string) {
	t.Helper()
	if rec := f.get("/users/me", "Bearer "+token); rec.Code != http.StatusOK {
		t.Fatalf("%s: status %d, want 200 (%s)", what, rec.Code, rec.Header().Get("WWW-Authenticate"))
	}
}

// TestRFC7009_AccessTokenRevocation checks the opt-in denylist (RFC 7009
// §2, RFC 9700 §4.14 on limiting a stolen token's use; OWASP JWT Cheat
// Sheet, "No built-in token revocation by the user").
func TestRFC7009_AccessTokenRevocation(t *testing.T) {
	t.Run("RFC7009 §2.1 a revoked access token is refused at once, cached or not", func(t *testing.T) {
		f := newFixture(t, "", withDenylist)
		tj := f.login(t, "alice", "wonderland")
		wantAccepted(t, f, "before revocation", tj.AccessToken) // verified, and cached
		if rec := f.post("/revoke", url.Values{"token": {tj.AccessToken}}); rec.Code != http.StatusOK {
			t.Fatalf("revoke: %d %s", rec.Code, rec.Body)
		}
		wantRevoked(t, f, tj.AccessToken)
		wantRevoked(t, f, tj.AccessToken)
		ev := f.events.Of(audit.AccessTokenRevoked)
		sid, _ := jwtPart(t, tj.AccessToken, 1)["sid"].(string)
		if len(ev) != 1 || sid == "" || ev[0].Family != sid || ev[0].Subject != "alice" || ev[0].Reason != "revocation_request" {
			t.Errorf("events = %+v, want one access_token_revoked for the token's family %q", ev, sid)
		}
		// The other sessions of the user are untouched.
		wantAccepted(t, f, "another login", f.login(t, "alice", "wonderland").AccessToken)
		// The grant went with it (RFC 7009 §2.1): its refresh token too, so
		// that one login costs the denylist one entry, however many of its
		// access tokens are revoked.
		rtInvalid(t, f, tj.RefreshToken, "refresh after revoking the access token")
	})

	t.Run("RFC7009 §2.1 an access token without a family is denied by its jti", func(t *testing.T) {
		dl := memstore.NewDenylist(0)
		f := newFixture(t, "", func(c *tollgate.Config) { c.Denylist = dl; c.Refresh = nil })
		tj := f.login(t, "alice", "wonderland")
		if rec := f.post("/revoke", url.Values{"token": {tj.AccessToken}}); rec.Code != http.StatusOK {
			t.Fatalf("revoke: %d %s", rec.Code, rec.Body)
		}
		wantRevoked(t, f, tj.AccessToken)
		jti, _ := jwtPart(t, tj.AccessToken, 1)["jti"].(string)
		if ev := f.events.Of(audit.AccessTokenRevoked); len(ev) != 1 || ev[0].TokenID != jti {
			t.Errorf("events = %+v, want one access_token_revoked for jti %s", ev, jti)
		}
		if dl.Len() != 1 {
			t.Errorf("denylist holds %d entries, want 1", dl.Len())
		}
	})

	t.Run("one user's revocations cost one entry per login", func(t *testing.T) {
		dl := memstore.NewDenylist(50)
		f := newFixture(t, "", func(c *tollgate.Config) { c.Denylist = dl })
		rt := f.login(t, "alice", "wonderland").RefreshToken
		for range 200 { // refresh, revoke the new access token: each time the same family
			rec := f.refreshWith(rt)
			if rec.Code != http.StatusOK {
				break // the family is gone after the first revocation
			}
			tj := decodeToken(t, rec)
			rt = tj.RefreshToken
			f.post("/revoke", url.Values{"token": {tj.AccessToken}})
		}
		if dl.Len() > 1 {
			t.Errorf("denylist holds %d entries after one login's revocations, want 1", dl.Len())
		}
		// Another user's revocation still works.
		bob := f.login(t, "bob", "builder")
		if rec := f.post("/revoke", url.Values{"token": {bob.AccessToken}}); rec.Code != http.StatusOK {
			t.Fatalf("bob's revocation: %d", rec.Code)
		}
		wantRevoked(t, f, bob.AccessToken)
	})

	t.Run("RFC7009 §2.1 a client cannot revoke another client's token", func(t *testing.T) {
		f := newFixture(t, "", withDenylist)
		tj := f.login(t, "alice", "wonderland")
		rec := f.post("/revoke", url.Values{"token": {tj.AccessToken}, "client_id": {"other-app"}})
		if rec.Code != http.StatusOK {
			t.Fatalf("revoke: %d", rec.Code)
		}
		wantAccepted(t, f, "after another client's revocation", tj.AccessToken)
	})

	t.Run("RFC7009 §2.2 forged, expired and garbage tokens get 200 and deny nothing", func(t *testing.T) {
		dl := memstore.NewDenylist(0)
		f := newFixture(t, "", func(c *tollgate.Config) { c.Denylist = dl })
		forged := forge(t, "ES256", otherECKey(t), f.goodHeader(), goodClaims())
		expired := f.forgeGood(t, func(_, c map[string]any) { c["exp"] = time.Now().Add(-time.Hour).Unix() })
		for _, tok := range []string{forged, expired, "garbage", strings.Repeat(".", 1000)} {
			if rec := f.post("/revoke", url.Values{"token": {tok}}); rec.Code != http.StatusOK {
				t.Errorf("revoke %.20s...: %d", tok, rec.Code)
			}
		}
		if dl.Len() != 0 {
			t.Errorf("denylist holds %d entries, want 0: only valid tokens are denied", dl.Len())
		}
	})

	t.Run("RFC8725 §3.10 with the denylist on, a token without jti is refused", func(t *testing.T) {
		noJTI := func(_, c map[string]any) { delete(c, "jti") }
		f := newFixture(t, "", withDenylist)
		rec := f.get("/users/me", "Bearer "+f.forgeGood(t, noJTI))
		if rec.Code != http.StatusUnauthorized {
			t.Errorf("token without jti: %d, want 401", rec.Code)
		}
		off := newFixture(t, "", nil)
		wantAccepted(t, off, "without jti, denylist off", off.forgeGood(t, noJTI))
	})

	t.Run("off by default: an access token presented to /revoke stays valid until it expires", func(t *testing.T) {
		f := newFixture(t, "", nil)
		tj := f.login(t, "alice", "wonderland")
		f.post("/revoke", url.Values{"token": {tj.AccessToken}})
		wantAccepted(t, f, "no denylist", tj.AccessToken)
	})

	t.Run("a denylist failure fails the request closed", func(t *testing.T) {
		f := newFixture(t, "", func(c *tollgate.Config) { c.Denylist = failingDenylist{} })
		tj := f.login(t, "alice", "wonderland")
		if rec := f.get("/users/me", "Bearer "+tj.AccessToken); rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
			t.Errorf("denylist down: status %d (Retry-After %q), want 503 with Retry-After", rec.Code, rec.Header().Get("Retry-After"))
		}
	})
}

// TestRFC9700_4_14_2_FamilyRevocationDeniesAccessTokens: revoking a refresh
// family (reuse detected, or RFC 7009 revocation) also denies the access
// tokens issued from it, so a thief's access token dies with the family.
func TestRFC9700_4_14_2_FamilyRevocationDeniesAccessTokens(t *testing.T) {
	t.Run("RFC9700 §4.14.2 reuse revokes the family and denies its live access tokens", func(t *testing.T) {
		f := newFixture(t, "", withDenylist)
		first := f.login(t, "alice", "wonderland")
		rec := f.refreshWith(first.RefreshToken) // the thief, say
		if rec.Code != 200 {
			t.Fatalf("refresh: %d", rec.Code)
		}
		second := decodeToken(t, rec)
		wantAccepted(t, f, "rotated", second.AccessToken)
		if rec := f.refreshWith(first.RefreshToken); rec.Code != http.StatusBadRequest { // the victim: reuse
			t.Fatalf("reuse: %d, want 400", rec.Code)
		}
		wantRevoked(t, f, first.AccessToken)
		wantRevoked(t, f, second.AccessToken)
		var reasons []string
		for _, e := range f.events.Of(audit.AccessTokenRevoked) {
			reasons = append(reasons, string(e.Reason))
		}
		if len(reasons) != 1 || reasons[0] != "refresh_reused" {
			t.Errorf("access_token_revoked reasons = %v, want one refresh_reused (the family's entry)", reasons)
		}
		wantAccepted(t, f, "a separate login", f.login(t, "alice", "wonderland").AccessToken)
	})

	t.Run("RFC7009 §2.1 revoking a refresh token denies the access token issued with it", func(t *testing.T) {
		f := newFixture(t, "", withDenylist)
		tj := f.login(t, "alice", "wonderland")
		if rec := f.post("/revoke", url.Values{"token": {tj.RefreshToken}}); rec.Code != 200 {
			t.Fatalf("revoke: %d", rec.Code)
		}
		wantRevoked(t, f, tj.AccessToken)
	})

	t.Run("every access token of the family is denied, the latest rotation's too", func(t *testing.T) {
		f := newFixture(t, "", withDenylist)
		first := f.login(t, "alice", "wonderland")
		tokens := []string{first.AccessToken}
		rt := first.RefreshToken
		for range 5 {
			tj := decodeToken(t, f.refreshWith(rt))
			tokens, rt = append(tokens, tj.AccessToken), tj.RefreshToken
		}
		f.refreshWith(first.RefreshToken) // reuse
		for i, tok := range tokens {
			wantRevoked(t, f, tok)
			_ = i
		}
	})

	t.Run("expired access tokens are not added", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			dl := memstore.NewDenylist(0)
			f := newFixture(t, "", func(c *tollgate.Config) { c.Denylist = dl })
			first := f.login(t, "alice", "wonderland")
			time.Sleep((15 * time.Minute) + (30 * time.Second))
			if rec := f.post("/revoke", url.Values{"token": {first.RefreshToken}}); rec.Code != 200 {
				t.Fatalf("revoke: %d", rec.Code)
			}
			if dl.Len() != 0 {
				t.Errorf("denylist holds %d entries for a token that has expired", dl.Len())
			}
		})
	})
}

// failingDenylist is a Denylist whose backend is down.
type failingDenylist struct{}

func (failingDenylist) Deny(context.Context, string, time.Time, time.Time) error {
	return errors.New("denylist down")
}
func (failingDenylist) IsDenied(context.Context, string) (bool, error) {
	return false, errors.New("denylist down")
}

// otherECKey is a P-256 key that is not the service's: an attacker's.
func otherECKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
