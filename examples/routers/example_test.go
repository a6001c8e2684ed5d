package routers_test

import (
	"fmt"
	"log/slog"
	"net/http/httptest"

	"github.com/tollgate-go/tollgate"
	"github.com/tollgate-go/tollgate/examples/routers"
)

// The service on chi: the table, guarded by the Authenticator, mounted
// with routers.Chi. A server would serve it with
// http.ListenAndServe(addr, routers.Chi(api)).
func ExampleChi() {
	key, err := tollgate.GenerateKey("ES256")
	if err != nil {
		panic(err)
	}
	auth, err := tollgate.New(tollgate.Config{
		Issuer:     "https://auth.example.com",
		Audience:   []string{"https://api.example.com"},
		SigningKey: key, // this one also issues, for the example's token
		Scopes:     routers.Scopes,
		Logger:     slog.New(slog.DiscardHandler),
	})
	if err != nil {
		panic(err)
	}
	api := auth.API(routers.Routes(auth)...)
	h := routers.Chi(api)

	alice := &tollgate.User{ID: "u-1", Username: "alice", Scopes: []string{"items:read"}}
	tok, err := auth.Issue(httptest.NewRequest("POST", "/token", nil), alice, "", nil)
	if err != nil {
		panic(err)
	}
	for _, target := range []string{"/items/2", "/users/me", "/healthz"} {
		r := httptest.NewRequest("GET", target, nil)
		if target != "/healthz" {
			r.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		fmt.Printf("GET %s: %d %s", target, rec.Code, rec.Body)
		if ch := rec.Header().Get("WWW-Authenticate"); ch != "" {
			fmt.Printf("  WWW-Authenticate: %s\n", ch)
		}
	}
	// Output:
	// GET /items/2: 200 {"item":{"id":"2","name":"Plumbus","owner":"bob"},"viewer":"alice"}
	// GET /users/me: 403 {"error":"insufficient_scope","error_description":"The access token lacks a required scope"}
	//   WWW-Authenticate: Bearer realm="https://auth.example.com", error="insufficient_scope", error_description="The access token lacks a required scope", scope="me"
	// GET /healthz: 200 ok
}
