package tollgate_test

// Review of the confidential-client work (issue 11): each test here fails
// on the reviewed code and names the weakness it shows.

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-go/tollgate"
)

// TestReviewIntrospectionNotThrottledAsLogin: a resource server calls the
// introspection endpoint for every request it serves; its client
// authentication must not count against the login success limits
// (SuccessesPerUsername default 30 per 15 minutes), or the 31st
// introspection in a window is a 429.
func TestReviewIntrospectionNotThrottledAsLogin(t *testing.T) {
	f := newFixture(t, "", withConfidential)
	alice := f.login(t, "alice", "wonderland")
	reports := basicAuth("reports", reportsSecret)
	for i := 0; i < 40; i++ {
		code, _, rec := introspect(t, f, reports, "token="+alice.AccessToken)
		if code != 200 {
			t.Fatalf("introspection %d by an authenticated resource server: %d %s", i+1, code, rec.Body)
		}
	}
}

// TestReviewConfidentialClientGrantsNotThrottledAsLogin: a confidential
// backend (portal) that logs many different users in, or a service that
// asks for client_credentials tokens often, is one "username" for the
// throttle's success limit: the 31st login of distinct users through it
// is refused.
func TestReviewConfidentialClientGrantsNotThrottledAsLogin(t *testing.T) {
	f := newFixture(t, "", withConfidential)
	h, _ := f.hasher.Hash("pw")
	for i := 0; i < 40; i++ {
		f.users.Put(tollgate.User{Username: fmt.Sprintf("user%02d", i), PasswordHash: h, Scopes: []string{"me"}})
	}
	portal := []string{basicAuth("portal", portalSecret)}
	for i := 0; i < 40; i++ {
		// Forty different users, each logging in once, through the
		// portal backend from its one address.
		rec := grantReq{body: formBody("grant_type", "password", "username", fmt.Sprintf("user%02d", i), "password", "pw"), authz: portal}.send(f)
		if rec.Code != 200 {
			t.Fatalf("login %d (a distinct user) through the portal client: %d %s", i+1, rec.Code, rec.Body)
		}
	}
}

// TestReviewClientCredentialsNotThrottledAsLogin: the same for a service
// asking for client_credentials tokens (one a minute over 15 minutes,
// or several replicas).
func TestReviewClientCredentialsNotThrottledAsLogin(t *testing.T) {
	f := newFixture(t, "", withConfidential)
	for i := 0; i < 40; i++ {
		rec := grantReq{body: "grant_type=client_credentials", authz: []string{basicAuth("reports", reportsSecret)}}.send(f)
		if rec.Code != 200 {
			t.Fatalf("client_credentials %d: %d %s", i+1, rec.Code, rec.Body)
		}
	}
}

// TestReviewClientExistenceOracle: the dummy hash keeps the time of a
// wrong secret from telling which clients exist, but leaving the secret
// out tells it without any hash: a confidential client's id gets 401
// "Client authentication required", an unknown id 400 "Unknown client".
func TestReviewClientExistenceOracle(t *testing.T) {
	f := newFixture(t, "", withConfidential)
	answer := func(pairs ...string) (int, string) {
		rec := grantReq{body: formBody(append([]string{"grant_type", "client_credentials"}, pairs...)...)}.send(f)
		return rec.Code, decodeToken(t, rec).Description
	}
	kc, kd := answer("client_id", "reports")
	uc, ud := answer("client_id", "nobody")
	if kc != uc || kd != ud {
		t.Errorf("no secret: known confidential client %d %q, unknown client %d %q: the answer tells which exist", kc, kd, uc, ud)
	}
	// And with an empty Basic secret.
	b := func(id string) (int, string) {
		rec := grantReq{body: "grant_type=client_credentials", authz: []string{basicAuth(id, "")}}.send(f)
		return rec.Code, decodeToken(t, rec).Description
	}
	kc, kd = b("reports")
	uc, ud = b("nobody")
	if kc != uc || kd != ud {
		t.Errorf("empty Basic secret: known %d %q, unknown %d %q", kc, kd, uc, ud)
	}
}

// TestReviewLoadUserClientCredentials: with Config.LoadUser, a
// client_credentials token is looked up as if its client id were a
// username: without such a user the client's valid token is refused on
// every protected route; with one, the client's token carries that
// user's record in Principal.User.
func TestReviewLoadUserClientCredentials(t *testing.T) {
	f := newFixture(t, "", func(c *tollgate.Config) { withConfidential(c); c.LoadUser = true })
	cc := decodeToken(t, grantReq{body: "grant_type=client_credentials", authz: []string{basicAuth("reports", reportsSecret)}}.send(f))
	if rec := f.get("/items", "Bearer "+cc.AccessToken); rec.Code != 200 {
		t.Errorf("client_credentials token with LoadUser: %d %s (%s)", rec.Code, rec.Body, rec.Header().Get("WWW-Authenticate"))
	}
	if code, m, rec := introspect(t, f, basicAuth("reports", reportsSecret), "token="+cc.AccessToken); code != 200 || m["active"] != true {
		t.Errorf("introspection of a client_credentials token with LoadUser: %d %s", code, rec.Body)
	}
	// A user named like the client.
	h, _ := f.hasher.Hash("pw")
	f.users.Put(tollgate.User{Username: "reports", PasswordHash: h, Scopes: []string{"admin:users"}})
	var got *tollgate.User
	var client bool
	hd := f.auth.RequireScopes("items:read")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := tollgate.FromContext(r.Context())
		got, client = p.User, p.Client
	}))
	req := httptest.NewRequest("GET", "/x", nil)
	req.Header.Set("Authorization", "Bearer "+cc.AccessToken)
	hd.ServeHTTP(httptest.NewRecorder(), req)
	if got != nil {
		t.Errorf("the client's own token (Client=%v) carries the user %q in Principal.User", client, got.Username)
	}
}

// TestReviewClientAudienceIntrospection: a token issued to a client with
// its own Audience is a valid token of this authorization server, meant
// for another resource server, which would introspect it; introspection
// answers active:false.
func TestReviewClientAudienceIntrospection(t *testing.T) {
	f := newFixture(t, "", withConfidential)
	portal := basicAuth("portal", portalSecret)
	tj := decodeToken(t, grantReq{body: aliceForm, authz: []string{portal}}.send(f))
	code, m, rec := introspect(t, f, portal, "token="+tj.AccessToken)
	if code != 200 || m["active"] != true {
		t.Errorf("introspection of a valid access token issued for the client's Audience: %d %s", code, rec.Body)
	}
}

// TestReviewClientAudienceRevocation: revoking an access token issued
// with the client's Audience does nothing: the revocation endpoint
// verifies it against Config.Audience, fails, and answers 200 with its
// family (and the token, with a denylist) left alive.
func TestReviewClientAudienceRevocation(t *testing.T) {
	f := newFixture(t, "", func(c *tollgate.Config) { withConfidential(c); withDenylist(c) })
	portal := basicAuth("portal", portalSecret)
	tj := decodeToken(t, grantReq{body: aliceForm, authz: []string{portal}}.send(f))
	r := httptest.NewRequest("POST", "/revoke", strings.NewReader(formBody("token", tj.AccessToken)))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Authorization", portal)
	if rec := f.do(r); rec.Code != 200 {
		t.Fatalf("revoke: %d %s", rec.Code, rec.Body)
	}
	// Revoking an access token with a denylist revokes its family (as it
	// does for Config.Audience tokens): the refresh token must be dead.
	rec := grantReq{body: formBody("grant_type", "refresh_token", "refresh_token", tj.RefreshToken), authz: []string{portal}}.send(f)
	if rec.Code == 200 {
		t.Errorf("the family of a revoked access token (client Audience) still refreshes: the revocation was silently ignored")
	}
}

// TestReviewIntrospectRefreshOfDisabledUser: a refresh token whose user
// was disabled (or deleted, or logged out everywhere by ValidAfter) is
// refused by the refresh grant, but introspection still calls it
// active.
func TestReviewIntrospectRefreshOfDisabledUser(t *testing.T) {
	for _, tc := range []struct {
		name  string
		alter func(f *fixture)
	}{
		{"disabled", func(f *fixture) {
			u, _ := f.users.LookupUser(t.Context(), "alice")
			u.Disabled = true
			f.users.Put(*u)
		}},
		{"deleted", func(f *fixture) { f.users.Delete("alice") }},
		{"ValidAfter", func(f *fixture) {
			u, _ := f.users.LookupUser(t.Context(), "alice")
			u.ValidAfter = time.Now().Add(time.Second)
			f.users.Put(*u)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, "", withConfidential)
			portal := basicAuth("portal", portalSecret)
			tj := decodeToken(t, grantReq{body: aliceForm, authz: []string{portal}}.send(f))
			tc.alter(f)
			_, m, rec := introspect(t, f, portal, "token="+tj.RefreshToken)
			if m["active"] != false {
				t.Errorf("refresh token of a %s user: %s, but the refresh grant refuses it", tc.name, rec.Body)
			}
		})
	}
}

// TestReviewHeldClientChecks: what held (these pass).
func TestReviewHeldClientChecks(t *testing.T) {
	t.Run("percent-encoded id shares the throttle", func(t *testing.T) {
		f := newFixture(t, "", func(c *tollgate.Config) { withConfidential(c); c.Logins.FailuresPerUsername = 3 })
		for i := 0; i < 3; i++ {
			grantReq{body: "grant_type=client_credentials", authz: []string{basicAuth("reports", "guess")}}.send(f)
		}
		raw := "Basic " + base64.StdEncoding.EncodeToString([]byte("%72eports:guess"))
		if rec := (grantReq{body: "grant_type=client_credentials", authz: []string{raw}}).send(f); rec.Code != 429 {
			t.Errorf("encoded id after the limit: %d", rec.Code)
		}
		if rec := (grantReq{body: formBody("grant_type", "client_credentials", "client_id", "reports", "client_secret", "guess")}).send(f); rec.Code != 429 {
			t.Errorf("body id after the limit: %d", rec.Code)
		}
	})
	t.Run("NUL and odd ids", func(t *testing.T) {
		f := newFixture(t, "", withConfidential)
		for _, raw := range []string{"rep%00orts:x", "rep\x00orts:x", "%zz:x", ":", "reports", strings.Repeat("a", 300) + ":x", "r\u00e9ports:x"} {
			a := "Basic " + base64.StdEncoding.EncodeToString([]byte(raw))
			rec := grantReq{body: "grant_type=client_credentials", authz: []string{a}}.send(f)
			if rec.Code == 200 || rec.Code >= 500 {
				t.Errorf("%q: %d %s", raw, rec.Code, rec.Body)
			}
		}
	})
	t.Run("Issue refuses a user whose subject is the confidential client", func(t *testing.T) {
		f := newFixture(t, "", withConfidential)
		r := httptest.NewRequest("POST", "/login", nil)
		if _, err := f.auth.Issue(r, &tollgate.User{Username: "portal", Scopes: []string{"me"}}, "portal", nil); err == nil {
			t.Error("Issue minted a user token with sub == client_id")
		}
		tok, err := f.auth.Issue(r, &tollgate.User{ID: "u1", Username: "portal", Scopes: []string{"me"}}, "portal", nil)
		if err != nil {
			t.Fatal(err)
		}
		if c := jwtPart(t, tok.AccessToken, 1); c["sub"] != "u1" || c["preferred_username"] != "portal" {
			t.Errorf("claims %v", c)
		}
	})
	t.Run("grant errors", func(t *testing.T) {
		f := newFixture(t, "", withConfidential)
		rep := []string{basicAuth("reports", reportsSecret)}
		checkGrantError(t, grantReq{body: "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code", authz: rep}.send(f), 400, "unsupported_grant_type")
		checkGrantError(t, grantReq{body: aliceForm, authz: rep}.send(f), 400, "unauthorized_client")
		if tj := decodeToken(t, grantReq{body: "grant_type=client_credentials&scope=items%3Aread+items%3Aread", authz: rep}.send(f)); tj.Scope != "items:read" {
			t.Errorf("repeated scope: %q", tj.Scope)
		}
	})
	t.Run("RFC 9728 on 403", func(t *testing.T) {
		const meta = "https://api.test/.well-known/oauth-protected-resource"
		f := newFixture(t, "", func(c *tollgate.Config) { c.ResourceMetadata = meta })
		tj := f.login(t, "bob", "builder")
		rec := f.get("/admin/users", "Bearer "+tj.AccessToken)
		if rec.Code != 403 || !strings.Contains(rec.Header().Get("WWW-Authenticate"), `resource_metadata="`+meta+`"`) {
			t.Errorf("%d %q", rec.Code, rec.Header().Get("WWW-Authenticate"))
		}
	})
}

// TestReviewClientLockoutFromManyAddresses: an attacker spreading wrong
// secrets for a confidential client over many addresses (one guess each,
// far below the per-address limit) locks the client's id: a new replica
// of the service, from an address that never logged in, gets 429 with the
// right secret. A client secret is high-entropy; a per-id failure limit
// protects nothing and only lends itself to denial of service.
func TestReviewClientLockoutFromManyAddresses(t *testing.T) {
	f := newFixture(t, "", withConfidential)
	send := func(addr, secret string) int {
		r := httptest.NewRequest("POST", "/token", strings.NewReader("grant_type=client_credentials"))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Authorization", basicAuth("reports", secret))
		r.RemoteAddr = addr
		return f.do(r).Code
	}
	for i := 0; i < 12; i++ {
		send(fmt.Sprintf("198.51.100.%d:1000", i+1), "guess")
	}
	if code := send("203.0.113.50:1000", reportsSecret); code != 200 {
		t.Errorf("the client with its right secret from a new address, after wrong guesses from elsewhere: %d", code)
	}
}
