package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/tollgate-go/tollgate"
	"github.com/tollgate-go/tollgate/examples/internal/demo"
	"github.com/tollgate-go/tollgate/memstore"
)

// newTestAuth is an Authenticator with the example's scopes and demo
// users (the fast hasher), for tests that mount routes themselves.
func newTestAuth(t *testing.T) *tollgate.Authenticator {
	t.Helper()
	key, err := tollgate.GenerateKey("ES256")
	if err != nil {
		t.Fatal(err)
	}
	users := memstore.NewUsers()
	for _, u := range demoUsers {
		hash, _ := fastHasher{}.Hash(u.Password)
		users.Put(tollgate.User{ID: u.Name, Username: u.Name, PasswordHash: hash, Scopes: u.Scopes, Disabled: u.Disabled})
	}
	auth, err := tollgate.New(tollgate.Config{
		Issuer:     "http://127.0.0.1:8000",
		Audience:   []string{"http://127.0.0.1:8000"},
		SigningKey: key,
		Scopes:     scopes,
		Users:      users,
		Refresh:    memstore.NewRefreshStore(),
		Hasher:     fastHasher{},
		Logger:     slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	return auth
}

// TestChi mounts the example's route table on a chi router with API.Each
// (chi's r.Method), plus a route with a {id} wildcard read by
// chi.URLParam: the same declarations enforce there as on ServeMux
// (RFC 6750 §3.1: 401 without a token, 403 without the scope).
func TestChi(t *testing.T) {
	auth := newTestAuth(t)
	s := &server{auth: auth, items: demo.NewItems()}
	routes := append(s.routes(func(context.Context) error { return nil }),
		tollgate.Route{Method: "GET", Path: "/items/{id}", Status: 200, Scopes: []string{"items:read"},
			Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "item ", chi.URLParam(r, "id")) })})
	api := auth.API(routes...)

	r := chi.NewRouter()
	r.Handle("/token", auth.TokenHandler())
	api.Each(func(method, path string, h http.Handler) { r.Method(method, path, h) })
	srv := httptest.NewServer(r)
	defer srv.Close()

	login := func(user, password string) string {
		t.Helper()
		resp, err := http.PostForm(srv.URL+"/token", url.Values{"grant_type": {"password"}, "username": {user}, "password": {password}})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var tr tokenResponse
		if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil || tr.AccessToken == "" {
			t.Fatalf("login %s on chi: %d %v", user, resp.StatusCode, err)
		}
		return tr.AccessToken
	}
	bob, carol := login("bob", "builder"), login("carol", "admin-pass-123")
	tests := []struct {
		name, method, path, token string
		status                    int
		body                      string
	}{
		{"no token", "GET", "/items", "", 401, ""},
		{"items:read", "GET", "/items", bob, 200, "Plumbus"},
		{"a wildcard on chi", "GET", "/items/42", bob, 200, "item 42"},
		{"without admin:users", "GET", "/admin/users", bob, 403, "insufficient_scope"},
		{"with admin:users", "GET", "/admin/users", carol, 200, "dave"},
		{"without items:write", "POST", "/items", bob, 403, "insufficient_scope"},
		{"public", "GET", "/healthz", "", 200, "ok"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, strings.NewReader(`{"name":"x"}`))
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			body := string(b)
			if resp.StatusCode != tt.status || !strings.Contains(body, tt.body) {
				t.Errorf("%s %s on chi: %d %q, want %d with %q", tt.method, tt.path, resp.StatusCode, body, tt.status, tt.body)
			}
		})
	}
}
