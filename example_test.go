package tollgate_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/tollgate-go/tollgate"
	"github.com/tollgate-go/tollgate/memstore"
)

// newExampleAuth builds the Authenticator of the examples: one user, alice,
// who holds "me" and "items:read".
func newExampleAuth() *tollgate.Authenticator {
	key, err := tollgate.GenerateKey("ES256") // in production: tollgate.LoadKeyFile
	if err != nil {
		log.Fatal(err)
	}
	hasher := tollgate.Bcrypt(10)
	hash, err := hasher.Hash("wonderland")
	if err != nil {
		log.Fatal(err)
	}
	auth, err := tollgate.New(tollgate.Config{
		Issuer:     "https://api.example.com",
		Audience:   []string{"https://api.example.com"},
		SigningKey: key,
		Scopes: map[string]string{
			"me":          "Read your own profile",
			"items:read":  "Read items",
			"items:write": "Create items",
		},
		Users: memstore.NewUsers(tollgate.User{
			Username: "alice", PasswordHash: hash, Scopes: []string{"me", "items:read"},
		}),
		Refresh: memstore.NewRefreshStore(),
		Hasher:  hasher,
	})
	if err != nil {
		log.Fatal(err)
	}
	return auth
}

// listItems is a handler behind RequireScopes.
func listItems(w http.ResponseWriter, r *http.Request) {
	p, _ := tollgate.FromContext(r.Context())
	fmt.Fprintf(w, "items of %s", p.Username)
}

// A complete protected service: a token endpoint, a JWKS, and routes that
// need scopes. A client logs in with the password grant and calls a route.
func ExampleNew() {
	auth := newExampleAuth()

	mux := http.NewServeMux()
	mux.Handle("/token", auth.TokenHandler())
	mux.Handle("/revoke", auth.RevokeHandler())
	mux.Handle("GET /.well-known/jwks.json", auth.JWKSHandler())
	mux.Handle("GET /items", auth.RequireScopes("items:read")(http.HandlerFunc(listItems)))
	mux.Handle("POST /items", auth.RequireScopes("items:write")(http.HandlerFunc(listItems)))
	// http.ListenAndServe("127.0.0.1:8000", mux)

	// The client's side: POST /token, then call with the access token.
	form := url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"wonderland"}}
	req := httptest.NewRequest("POST", "/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	var tok struct {
		AccessToken  string `json:"access_token"`
		TokenType    string `json:"token_type"`
		ExpiresIn    int    `json:"expires_in"`
		RefreshToken string `json:"refresh_token"`
		Scope        string `json:"scope"`
	}
	json.Unmarshal(rec.Body.Bytes(), &tok)
	fmt.Println(rec.Code, tok.TokenType, tok.ExpiresIn, tok.Scope)

	for _, method := range []string{"GET", "POST"} {
		req = httptest.NewRequest(method, "/items", nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		rec = httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		if rec.Code == http.StatusOK {
			fmt.Println(method, rec.Code, rec.Body.String())
		} else {
			fmt.Println(method, rec.Code, rec.Header().Get("WWW-Authenticate"))
		}
	}
	// Output:
	// 200 Bearer 900 me items:read
	// GET 200 items of alice
	// POST 403 Bearer realm="https://api.example.com", error="insufficient_scope", error_description="The access token lacks a required scope", scope="items:write"
}

// RequireScopes wraps each protected route of a Go 1.22+ ServeMux. A
// request without a token gets a bare challenge (RFC 6750 §3.1); a bad
// token gets invalid_token.
func ExampleAuthenticator_RequireScopes() {
	auth := newExampleAuth()

	mux := http.NewServeMux()
	mux.Handle("GET /items", auth.RequireScopes("items:read")(http.HandlerFunc(listItems)))

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/items", nil))
	fmt.Println(rec.Code, rec.Header().Get("WWW-Authenticate"))

	req := httptest.NewRequest("GET", "/items", nil)
	req.Header.Set("Authorization", "Bearer not-a-jwt")
	rec = httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Header().Get("WWW-Authenticate"))
	// Output:
	// 401 Bearer realm="https://api.example.com"
	// 401 Bearer realm="https://api.example.com", error="invalid_token", error_description="The access token is invalid"
}

// Handlers behind RequireScopes read the caller with one typed call. Tests
// of such handlers put a Principal in the context with NewContext.
func ExampleFromContext() {
	me := func(w http.ResponseWriter, r *http.Request) {
		p, ok := tollgate.FromContext(r.Context())
		if !ok {
			http.Error(w, "no caller", http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "%s may read items: %t", p.Username, p.HasScope("items:read"))
	}

	req := httptest.NewRequest("GET", "/users/me", nil)
	req = req.WithContext(tollgate.NewContext(req.Context(), &tollgate.Principal{
		Subject: "u-42", Username: "alice", Scopes: []string{"me", "items:read"},
	}))
	rec := httptest.NewRecorder()
	me(rec, req)
	fmt.Println(rec.Body.String())
	// Output:
	// alice may read items: true
}

// The response body is the application's; the challenge header and the
// 400/401/403 decision are not.
func Example_problemDetails() {
	key, _ := tollgate.GenerateKey("EdDSA")
	auth, err := tollgate.New(tollgate.Config{
		Issuer:           "https://api.example.com",
		Audience:         []string{"https://api.example.com"},
		VerificationKeys: []*tollgate.Key{key.Public()}, // a service that only verifies
		Scopes:           map[string]string{"items:read": "Read items"},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			var e *tollgate.Error
			if !errors.As(err, &e) {
				tollgate.DefaultErrorHandler(w, r, err) // 500
				return
			}
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(e.Status)
			json.NewEncoder(w).Encode(map[string]any{
				"type": "https://errors.example.com/" + e.Code, "status": e.Status, "detail": e.Description,
			})
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	h := auth.RequireScopes("items:read")(http.HandlerFunc(listItems))

	req := httptest.NewRequest("GET", "/items", nil)
	req.Header.Set("Authorization", "Bearer e30.e30.e30")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"))
	fmt.Print(rec.Body.String())
	// Output:
	// 401 application/problem+json
	// {"detail":"The access token is invalid","status":401,"type":"https://errors.example.com/invalid_token"}
}

// A login endpoint of the service's own (here: a login with another
// provider, already verified) issues tollgate's tokens through Issue: the
// same rules, events and answer as the password grant of TokenHandler.
func ExampleAuthenticator_Issue() {
	auth := newExampleAuth()

	callback := func(w http.ResponseWriter, r *http.Request) {
		// ... the provider's code exchanged, its user mapped to ours:
		user := &tollgate.User{Username: "alice", Scopes: []string{"me", "items:read"}}
		tok, err := auth.Issue(r, user, "", []string{"me"})
		var e *tollgate.Error
		switch {
		case errors.As(err, &e):
			http.Error(w, e.Description, e.Status)
			return
		case err != nil:
			http.Error(w, "server error", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store") // RFC 6749 §5.1
		json.NewEncoder(w).Encode(tok)
	}

	rec := httptest.NewRecorder()
	callback(rec, httptest.NewRequest("GET", "/login/callback?code=...", nil))
	var tok tollgate.Token
	json.Unmarshal(rec.Body.Bytes(), &tok)
	fmt.Println(rec.Code, tok.TokenType, tok.ExpiresIn, tok.Scope, strings.HasPrefix(tok.RefreshToken, "tgr_"))
	// Output:
	// 200 Bearer 900 me true
}

// Claims of the service's own: Config.Claims puts profile fields into
// every token (given the user, with its Profile, as the store returned
// it), and a handler decodes them into a struct of its own.
func ExamplePrincipal_DecodeClaims() {
	key, _ := tollgate.GenerateKey("EdDSA")
	auth, err := tollgate.New(tollgate.Config{
		Issuer:     "https://api.example.com",
		Audience:   []string{"https://api.example.com"},
		SigningKey: key,
		Scopes:     map[string]string{"me": "Read your own profile"},
		Claims: func(ctx context.Context, u *tollgate.User) (map[string]any, error) {
			return map[string]any{"full_name": u.Profile["full_name"], "email": u.Profile["email"]}, nil
		},
		Logger: slog.New(slog.DiscardHandler), // no warning about the generated key
	})
	if err != nil {
		log.Fatal(err)
	}
	me := auth.RequireScopes("me")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var claims struct {
			FullName string `json:"full_name"`
			Email    string `json:"email"`
		}
		p, _ := tollgate.FromContext(r.Context())
		if err := p.DecodeClaims(&claims); err != nil {
			http.Error(w, "bad claims", http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "%s <%s>", claims.FullName, claims.Email)
	}))

	alice := &tollgate.User{Username: "alice", Scopes: []string{"me"},
		Profile: map[string]any{"full_name": "Alice Liddell", "email": "alice@example.com"}}
	tok, err := auth.Issue(httptest.NewRequest("POST", "/login", nil), alice, "", nil)
	if err != nil {
		log.Fatal(err)
	}
	req := httptest.NewRequest("GET", "/users/me", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	rec := httptest.NewRecorder()
	me.ServeHTTP(rec, req)
	fmt.Println(rec.Body.String())
	// Output:
	// Alice Liddell <alice@example.com>
}
