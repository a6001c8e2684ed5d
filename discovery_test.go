package tollgate_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/tollgate-go/tollgate"
)

func getJSON(t *testing.T, h http.Handler, method string) (int, map[string]any) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, "/", nil))
	var m map[string]any
	if rec.Code == 200 {
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q, want application/json (RFC 8414 §3.2)", ct)
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
			t.Fatalf("%s: %v", rec.Body, err)
		}
	}
	return rec.Code, m
}

func strs(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

// TestRFC8414_2_Metadata: the metadata names the issuer exactly (§3.3),
// the endpoints under it, what TokenHandler serves with this
// configuration, and stays valid without an authorization endpoint.
func TestRFC8414_2_Metadata(t *testing.T) {
	f := newFixture(t, "", withConfidential)
	code, m := getJSON(t, f.auth.MetadataHandler(tollgate.Endpoints{}), "GET")
	if code != 200 {
		t.Fatal(code)
	}
	want := map[string]string{
		"issuer":                 testIssuer,
		"token_endpoint":         testIssuer + "/token",
		"revocation_endpoint":    testIssuer + "/revoke",
		"introspection_endpoint": testIssuer + "/introspect",
		"jwks_uri":               testIssuer + "/.well-known/jwks.json",
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %v, want %q", k, m[k], v)
		}
	}
	if g := strs(m["grant_types_supported"]); !slices.Equal(g, []string{"password", "refresh_token", "client_credentials"}) {
		t.Errorf("grant_types_supported %q", g)
	}
	// RFC 8414 §2: response_types_supported is required; with no
	// authorization endpoint it is empty, and authorization_endpoint is
	// absent (no listed grant type uses it).
	if rt, ok := m["response_types_supported"].([]any); !ok || len(rt) != 0 {
		t.Errorf("response_types_supported %v, want []", m["response_types_supported"])
	}
	if _, ok := m["authorization_endpoint"]; ok {
		t.Error("authorization_endpoint present")
	}
	if s := strs(m["scopes_supported"]); !slices.Equal(s, []string{"admin:users", "items:read", "items:write", "me"}) {
		t.Errorf("scopes_supported %q", s)
	}
	if a := strs(m["token_endpoint_auth_methods_supported"]); !slices.Equal(a, []string{"none", "client_secret_basic", "client_secret_post"}) {
		t.Errorf("token_endpoint_auth_methods_supported %q", a)
	}
	if a := strs(m["introspection_endpoint_auth_methods_supported"]); slices.Contains(a, "none") {
		t.Errorf("introspection allows public clients: %q (RFC 7662 §2.1)", a)
	}
	if code, _ := getJSON(t, f.auth.MetadataHandler(tollgate.Endpoints{}), "POST"); code != 405 {
		t.Errorf("POST: %d", code)
	}

	// Without a ClientStore: public clients only, no introspection.
	g := newFixture(t, "", func(c *tollgate.Config) { c.Refresh = nil })
	_, m = getJSON(t, g.auth.MetadataHandler(tollgate.Endpoints{Token: "/oauth/token", JWKS: "https://keys.example.com/jwks.json"}), "GET")
	if m["token_endpoint"] != testIssuer+"/oauth/token" || m["jwks_uri"] != "https://keys.example.com/jwks.json" {
		t.Errorf("endpoints %v %v", m["token_endpoint"], m["jwks_uri"])
	}
	if g := strs(m["grant_types_supported"]); !slices.Equal(g, []string{"password"}) {
		t.Errorf("grant_types_supported %q", g)
	}
	if _, ok := m["introspection_endpoint"]; ok {
		t.Error("introspection_endpoint without confidential clients")
	}
}

// TestRFC9728_ProtectedResourceMetadata: the resource, its authorization
// servers and scopes; and the resource_metadata parameter in every
// challenge when Config.ResourceMetadata is set (§5.1).
func TestRFC9728_ProtectedResourceMetadata(t *testing.T) {
	const meta = "https://api.test/.well-known/oauth-protected-resource"
	f := newFixture(t, "", func(c *tollgate.Config) { c.ResourceMetadata = meta })
	_, m := getJSON(t, f.auth.ResourceMetadataHandler(""), "GET")
	if m["resource"] != testAudience || !slices.Equal(strs(m["authorization_servers"]), []string{testIssuer}) ||
		!slices.Equal(strs(m["bearer_methods_supported"]), []string{"header"}) || len(strs(m["scopes_supported"])) != 4 {
		t.Errorf("metadata %v", m)
	}
	for _, authz := range [][]string{nil, {"Bearer x.y.z"}} {
		rec := f.get("/items", authz...)
		if ch := rec.Header().Get("WWW-Authenticate"); !strings.Contains(ch, `resource_metadata="`+meta+`"`) {
			t.Errorf("challenge %q lacks resource_metadata (RFC 9728 §5.1)", ch)
		}
	}
	// Several issuers: all of them.
	k1, k2 := testKey(t, "ES256"), testKey(t, "EdDSA")
	a, err := tollgate.New(tollgate.Config{Issuers: []tollgate.Issuer{
		{Issuer: "https://a.test", Audience: []string{"https://api.test"}, VerificationKeys: []*tollgate.Key{k1.Public()}},
		{Issuer: "https://b.test", Audience: []string{"https://api.test"}, VerificationKeys: []*tollgate.Key{k2.Public()}},
	}, Scopes: testScopes})
	if err != nil {
		t.Fatal(err)
	}
	_, m = getJSON(t, a.ResourceMetadataHandler("https://api.test"), "GET")
	if !slices.Equal(strs(m["authorization_servers"]), []string{"https://a.test", "https://b.test"}) {
		t.Errorf("authorization_servers %v", m["authorization_servers"])
	}
	for _, bad := range []string{"http://api.example.com/meta", "not a url", `https://a.test/"x`} {
		if _, err := tollgate.New(tollgate.Config{Issuer: testIssuer, Audience: []string{testAudience}, VerificationKeys: []*tollgate.Key{k1.Public()}, ResourceMetadata: bad}); err == nil {
			t.Errorf("ResourceMetadata %q accepted", bad)
		}
	}
}
