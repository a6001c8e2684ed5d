package remotekeys_test

import (
	"context"
	"log"
	"net/http"

	"github.com/tollgate-go/tollgate"
	"github.com/tollgate-go/tollgate/remotekeys"
)

// A resource server that verifies the tokens of an issuer it only knows
// by its JWK Set URL.
func ExampleNew() {
	ctx := context.Background()
	keys, err := remotekeys.New(ctx, "https://as.example.com/.well-known/jwks.json", remotekeys.Options{})
	if err != nil {
		log.Fatal(err) // the issuer did not answer the first fetch
	}
	defer keys.Close()
	auth, err := tollgate.New(tollgate.Config{
		Issuer:    "https://as.example.com",
		Audience:  []string{"https://api.example.com"},
		Scopes:    map[string]string{"items:read": "Read the items"},
		KeySource: keys,
	})
	if err != nil {
		log.Fatal(err)
	}
	http.Handle("GET /items", auth.RequireScopes("items:read")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := tollgate.FromContext(r.Context())
		_, _ = w.Write([]byte("items for " + p.Subject))
	})))
}
