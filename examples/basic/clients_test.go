package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// TestClientCredentials drives the demo confidential client with
// golang.org/x/oauth2/clientcredentials, as a service calling the API for
// itself would (RFC 6749 §4.4): its token reaches GET /reports, which
// answers the client and its scopes; no refresh token is issued
// (§4.4.3); a wrong secret is refused; no user can get reports:read.
func TestClientCredentials(t *testing.T) {
	s := newTestServer(t, nil, nil)
	cfg := clientcredentials.Config{
		ClientID:     "reports-service",
		ClientSecret: "reports-secret-change-me",
		TokenURL:     s.srv.URL + "/token",
		Scopes:       []string{"reports:read"},
	}
	ctx := context.WithValue(t.Context(), oauth2.HTTPClient, s.srv.Client())
	tok, err := cfg.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken != "" {
		t.Error("a refresh token for client_credentials")
	}
	resp, err := cfg.Client(ctx).Get(s.srv.URL + "/reports")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || strings.TrimSpace(string(body)) != `{"client_id":"reports-service","scopes":["reports:read"]}` {
		t.Errorf("GET /reports: %d %s", resp.StatusCode, body)
	}
	// The client's token is no user's: /users/me needs "me".
	if r := s.get("/users/me", tok.AccessToken); r.status != http.StatusForbidden {
		t.Errorf("GET /users/me with the client's token: %d", r.status)
	}

	bad := cfg
	bad.ClientSecret = "guess"
	if _, err := bad.Token(ctx); err == nil {
		t.Error("a wrong secret got a token")
	}
	var re *oauth2.RetrieveError
	if _, err := bad.Token(ctx); !errors.As(err, &re) || re.Response.StatusCode != 401 || re.ErrorCode != "invalid_client" {
		t.Errorf("wrong secret: %v, want 401 invalid_client", err)
	}
	// Users hold no reports:read: asking for it is invalid_scope.
	r := s.form("/token", url.Values{"grant_type": {"password"}, "username": {"carol"}, "password": {"admin-pass-123"}, "scope": {"reports:read"}})
	if r.status != 400 || r.json(t)["error"] != "invalid_scope" {
		t.Errorf("a user asking for reports:read: %d %s", r.status, r.body)
	}
	if r := s.get("/reports", s.login("carol", "admin-pass-123").AccessToken); r.status != http.StatusForbidden {
		t.Errorf("GET /reports with carol's token: %d", r.status)
	}
}

// TestDiscoveryAndIntrospection: the RFC 8414 and RFC 9728 metadata the
// example serves, and introspection (RFC 7662) by the confidential
// client. (The example's challenge stays the bare one of RFC 6750 §3.1;
// Config.ResourceMetadata would add resource_metadata to it.)
func TestDiscoveryAndIntrospection(t *testing.T) {
	s := newTestServer(t, nil, nil)
	var m map[string]any
	r := s.get("/.well-known/oauth-authorization-server", "")
	if err := json.Unmarshal(r.body, &m); err != nil || r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	for _, k := range []string{"issuer", "token_endpoint", "revocation_endpoint", "introspection_endpoint", "jwks_uri",
		"grant_types_supported", "scopes_supported", "token_endpoint_auth_methods_supported",
		"revocation_endpoint_auth_methods_supported", "response_types_supported"} {
		if _, ok := m[k]; !ok {
			t.Errorf("metadata lacks %s", k)
		}
	}
	if m["issuer"] != s.issuer || m["introspection_endpoint"] != s.issuer+"/introspect" {
		t.Errorf("issuer %v, introspection_endpoint %v", m["issuer"], m["introspection_endpoint"])
	}
	r = s.get("/.well-known/oauth-protected-resource", "")
	if err := json.Unmarshal(r.body, &m); err != nil || r.status != 200 || m["resource"] != s.issuer {
		t.Fatalf("%d %s", r.status, r.body)
	}

	alice := s.login("alice", "wonderland")
	introspect := func(user, pass, token string) response {
		req, _ := http.NewRequest("POST", s.srv.URL+"/introspect", strings.NewReader(url.Values{"token": {token}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := s.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return response{status: resp.StatusCode, header: resp.Header, body: b}
	}
	r = introspect("reports-service", "reports-secret-change-me", alice.AccessToken)
	if r.status != 200 || r.json(t)["active"] != true || r.json(t)["username"] != "alice" {
		t.Errorf("introspection of alice's token: %d %s", r.status, r.body)
	}
	r = introspect("reports-service", "reports-secret-change-me", "nope")
	if r.status != 200 || string(r.body) != "{\"active\":false}\n" {
		t.Errorf("introspection of garbage: %d %q", r.status, r.body)
	}
	if r := introspect("", "", alice.AccessToken); r.status != 401 {
		t.Errorf("introspection without client authentication: %d", r.status)
	}
}
