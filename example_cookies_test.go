package tollgate_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/tollgate-go/tollgate"
	"github.com/tollgate-go/tollgate/memstore"
)

// Cookie mode for a single-page app: the refresh token lives in an
// HttpOnly cookie scoped to /auth that the page's script never sees; the
// page keeps the access token in memory and sends it as a Bearer header.
// A cross-origin POST carrying the cookie is refused.
func ExampleAuthenticator_LoginHandler() {
	key, err := tollgate.GenerateKey("ES256")
	if err != nil {
		log.Fatal(err)
	}
	hasher := tollgate.Bcrypt(10)
	hash, _ := hasher.Hash("wonderland")
	auth, err := tollgate.New(tollgate.Config{
		Issuer:     "https://app.example.com",
		Audience:   []string{"https://app.example.com"},
		SigningKey: key,
		Scopes:     map[string]string{"me": "Read your own profile"},
		Users:      memstore.NewUsers(tollgate.User{Username: "alice", PasswordHash: hash, Scopes: []string{"me"}}),
		Refresh:    memstore.NewRefreshStore(),
		Hasher:     hasher,
		Cookies:    tollgate.Cookies{Path: "/auth"},
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /auth/login", auth.LoginHandler())
	mux.Handle("POST /auth/refresh", auth.RefreshHandler())
	mux.Handle("POST /auth/logout", auth.LogoutHandler())

	// The page's login: fetch("/auth/login", {method: "POST", body: form}).
	req := httptest.NewRequest("POST", "https://app.example.com/auth/login", strings.NewReader("username=alice&password=wonderland"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	cookie := rec.Result().Cookies()[0]
	fmt.Println(rec.Code, cookie.Name, "HttpOnly:", cookie.HttpOnly, "Path:", cookie.Path)
	fmt.Println("refresh token in the body:", strings.Contains(rec.Body.String(), cookie.Value))

	// Another site's page posts to /auth/refresh; the browser sends the
	// cookie, and says where the request comes from.
	req = httptest.NewRequest("POST", "https://app.example.com/auth/refresh", nil)
	req.AddCookie(cookie)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	rec = httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	fmt.Println(rec.Code, strings.TrimSpace(rec.Body.String()))
	// Output:
	// 200 __Secure-tollgate-refresh HttpOnly: true Path: /auth
	// refresh token in the body: false
	// 403 {"error":"invalid_request","error_description":"Cross-origin request refused"}
}
