package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tollgate-go/tollgate"
	"github.com/tollgate-go/tollgate/memstore"
)

// TestReviewInspectRefusesPlainHTTPKeySet: -jwks says "https, or http on
// loopback", but any http:// URL is fetched: a key set an on-path
// attacker can replace, after which a forged token reads "valid".
func TestReviewInspectRefusesPlainHTTPKeySet(t *testing.T) {
	_, out, stderr := tg(t, "", "inspect", "-jwks", "http://jwks.example.invalid/jwks.json", "-issuer", "https://as.test", "-audience", "https://api.test",
		"eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.AAAA")
	if !strings.Contains(out+stderr, "https") {
		t.Errorf("an http key set on a non-loopback host was fetched, not refused: stdout %q stderr %q", out, stderr)
	}
}

// TestReviewFetchRefusesDowngradeRedirect: fetch follows redirects
// (http.DefaultClient), so an https key set or metadata URL that
// redirects to plain http (a non-loopback host) is followed.
func TestReviewFetchRefusesDowngradeRedirect(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://jwks.example.invalid/jwks.json", http.StatusFound)
	}))
	defer srv.Close()
	old := http.DefaultClient
	http.DefaultClient = srv.Client()
	defer func() { http.DefaultClient = old }()
	_, err := fetch(srv.URL + "/jwks.json")
	if err == nil || !strings.Contains(err.Error(), "redirect") && !strings.Contains(err.Error(), "https") {
		t.Errorf("a redirect from https to plain http on a non-loopback host was followed: %v", err)
	}
}

// TestReviewMetadataIssuerTrailingSlash: tollgate accepts an Issuer with
// a trailing slash and publishes it exactly (RFC 8414 §3.3 wants it
// identical); "tollgate metadata ISSUER" trims the slash from the issuer
// it compares with, and so fails a valid server.
func TestReviewMetadataIssuerTrailingSlash(t *testing.T) {
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	key, _ := tollgate.GenerateKey("ES256")
	as, err := tollgate.New(tollgate.Config{Issuer: srv.URL + "/", Audience: []string{"https://api.test"}, SigningKey: key,
		Scopes: map[string]string{"me": "Read your profile"}, Users: memstore.NewUsers(), Refresh: memstore.NewRefreshStore(), Clients: memstore.NewClients("tollgate")})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("GET /.well-known/oauth-authorization-server", as.MetadataHandler(tollgate.Endpoints{}))
	code, out, stderr := tg(t, "", "metadata", srv.URL+"/")
	if code != 0 || strings.Contains(out, "FAIL") {
		t.Errorf("exit %d\n%s%s", code, out, stderr)
	}
}
