package tollgate_test

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tollgate-go/tollgate"
)

// introspect posts token to the introspection endpoint as the client
// of authz, and returns the status and the answer.
func introspect(t *testing.T, f *fixture, authz, body string) (int, map[string]any, *httptest.ResponseRecorder) {
	t.Helper()
	r := httptest.NewRequest("POST", "/introspect", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if authz != "" {
		r.Header.Set("Authorization", authz)
	}
	rec := httptest.NewRecorder()
	f.auth.IntrospectionHandler().ServeHTTP(rec, r)
	var m map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &m)
	return rec.Code, m, rec
}

// TestRFC7662_Introspection: the answers for every kind of token, which
// never tell an invalid token from a revoked one (§2.2), to
// authenticated confidential clients only (§2.1).
func TestRFC7662_Introspection(t *testing.T) {
	f := newFixture(t, "", func(c *tollgate.Config) { withConfidential(c); withDenylist(c) })
	reports := basicAuth("reports", reportsSecret)
	portal := basicAuth("portal", portalSecret)
	alice := f.login(t, "alice", "wonderland")
	forPortal := decodeToken(t, grantReq{body: aliceForm, authz: []string{portal}}.send(f))
	cc := decodeToken(t, grantReq{body: "grant_type=client_credentials", authz: []string{reports}}.send(f))
	revoked := f.login(t, "alice", "wonderland")
	if rec := f.post("/revoke", map[string][]string{"token": {revoked.RefreshToken}}); rec.Code != 200 {
		t.Fatal(rec.Code)
	}
	spent := f.login(t, "bob", "builder")
	if rec := f.refreshWith(spent.RefreshToken); rec.Code != 200 {
		t.Fatal(rec.Code)
	}

	for _, tc := range []struct {
		name   string
		authz  string
		token  string
		active bool
		check  func(t *testing.T, m map[string]any)
	}{
		{"RFC7662_2_2 access token", reports, alice.AccessToken, true, func(t *testing.T, m map[string]any) {
			if m["username"] != "alice" || m["client_id"] != "tollgate" || m["token_type"] != "Bearer" || m["scope"] != "me items:read items:write" || m["iss"] != testIssuer || !strings.Contains(fmt.Sprint(m["aud"]), testAudience) {
				t.Errorf("claims %v", m)
			}
			if m["exp"] == nil || m["iat"] == nil || m["sub"] == nil || m["jti"] == nil {
				t.Errorf("claims %v lack exp, iat, sub or jti", m)
			}
		}},
		{"RFC7662_2_2 client credentials token", reports, cc.AccessToken, true, func(t *testing.T, m map[string]any) {
			if m["sub"] != "reports" || m["client_id"] != "reports" || m["username"] != nil {
				t.Errorf("claims %v", m)
			}
		}},
		{"RFC7662_2_2 the caller's own refresh token", portal, forPortal.RefreshToken, true, func(t *testing.T, m map[string]any) {
			if m["token_type"] != "refresh_token" || m["username"] != "alice" || m["client_id"] != "portal" {
				t.Errorf("claims %v", m)
			}
		}},
		{"another client's refresh token", reports, forPortal.RefreshToken, false, nil},
		{"a revoked refresh token", reports, revoked.RefreshToken, false, nil},
		{"a revoked family's access token", reports, revoked.AccessToken, false, nil},
		{"a spent refresh token", reports, spent.RefreshToken, false, nil},
		{"a forged token", reports, alice.AccessToken[:len(alice.AccessToken)-4] + "AAAA", false, nil},
		{"garbage", reports, "not a token at all", false, nil},
		{"a token of another issuer", reports, f.forgeGood(t, func(h, c map[string]any) { c["iss"] = "https://evil.test" }), false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, m, rec := introspect(t, f, tc.authz, "token="+tc.token)
			if code != 200 || m["active"] != tc.active {
				t.Fatalf("%d %s, want 200 active=%v", code, rec.Body, tc.active)
			}
			if !tc.active && len(m) != 1 {
				t.Errorf("an inactive answer says more than active: %s (RFC 7662 §2.2)", rec.Body)
			}
			if rec.Header().Get("Cache-Control") != "no-store" {
				t.Error("no Cache-Control: no-store")
			}
			if tc.check != nil {
				tc.check(t, m)
			}
		})
	}
	// RFC 7662 §2.1: only authenticated confidential clients.
	for name, authz := range map[string]string{"none": "", "public client": "Basic Og==", "wrong secret": basicAuth("reports", "guess")} {
		code, _, rec := introspect(t, f, authz, "token="+alice.AccessToken)
		if code != 401 || !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Basic ") || strings.Contains(rec.Body.String(), "active") {
			t.Errorf("%s: %d %s %q, want 401 with a Basic challenge", name, code, rec.Body, rec.Header().Get("WWW-Authenticate"))
		}
	}
	if code, _, _ := introspect(t, f, reports, "token_type_hint=access_token"); code != 400 {
		t.Errorf("no token: %d", code)
	}
}
