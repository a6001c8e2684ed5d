package remotekeys_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tollgate-go/tollgate"
	"github.com/tollgate-go/tollgate/memstore"
	"github.com/tollgate-go/tollgate/remotekeys"
)

// TestDiscover: a resource server starts from the issuer's identifier:
// the metadata's jwks_uri gives the keys, and tokens of the issuer verify;
// metadata naming another issuer is refused (RFC 8414 §3.3).
func TestDiscover(t *testing.T) {
	key, _ := tollgate.GenerateKey("ES256")
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	issuer := srv.URL
	as, err := tollgate.New(tollgate.Config{Issuer: issuer, Audience: []string{"https://api.test"}, SigningKey: key,
		Scopes: map[string]string{"me": "me"}, Users: memstore.NewUsers(tollgate.User{Username: "alice", Scopes: []string{"me"}})})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("GET /.well-known/oauth-authorization-server", as.MetadataHandler(tollgate.Endpoints{}))
	mux.Handle("GET /.well-known/jwks.json", as.JWKSHandler())
	mux.HandleFunc("GET /.well-known/oauth-authorization-server/liar", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"issuer": "https://other.test", "jwks_uri": issuer + "/.well-known/jwks.json"})
	})

	keys, err := remotekeys.Discover(t.Context(), issuer, remotekeys.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer keys.Close()
	rs, err := tollgate.New(tollgate.Config{Issuer: issuer, Audience: []string{"https://api.test"}, KeySource: keys, Scopes: map[string]string{"me": "me"}})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := memstore.NewUsers(tollgate.User{Username: "alice", Scopes: []string{"me"}}).LookupUser(t.Context(), "alice")
	tok, err := as.Issue(httptest.NewRequest("POST", "/", nil), u, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	if _, err := rs.Authenticate(r); err != nil {
		t.Errorf("a token of the discovered issuer: %v", err)
	}
	if _, err := remotekeys.Discover(t.Context(), issuer+"/liar", remotekeys.Options{}); err == nil || !strings.Contains(err.Error(), "RFC 8414 §3.3") {
		t.Errorf("metadata naming another issuer: %v", err)
	}
	for _, bad := range []string{"http://as.example.com", "https://as.example.com?x=1", "not a url"} {
		if _, err := remotekeys.Discover(t.Context(), bad, remotekeys.Options{}); err == nil {
			t.Errorf("Discover(%q): no error", bad)
		}
	}
}

// TestRedirectToPlainHTTPRefused: a key set URL on loopback that
// redirects to plain http on another host is refused, as that host's
// keys could be swapped on the way; a redirect within the server is
// followed.
func TestRedirectToPlainHTTPRefused(t *testing.T) {
	key, _ := tollgate.GenerateKey("ES256")
	set, _ := tollgate.MarshalKeySet(key)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /jwks.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(set)
	})
	mux.HandleFunc("GET /moved", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/jwks.json", http.StatusFound)
	})
	mux.HandleFunc("GET /away", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://keys.example/jwks.json", http.StatusFound)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	s, err := remotekeys.New(t.Context(), srv.URL+"/moved", remotekeys.Options{})
	if err != nil {
		t.Fatalf("a redirect within the loopback server: %v", err)
	}
	s.Close()
	if s, err := remotekeys.New(t.Context(), srv.URL+"/away", remotekeys.Options{}); err == nil || !strings.Contains(err.Error(), "redirect refused") {
		if s != nil {
			s.Close()
		}
		t.Fatalf("a redirect to plain http elsewhere: %v, want refused", err)
	}
}
