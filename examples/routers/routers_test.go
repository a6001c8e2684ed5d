package routers_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/labstack/echo/v4"
	"github.com/tollgate-go/tollgate"
	"github.com/tollgate-go/tollgate/examples/routers"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode) // no route listing on stdout
	os.Exit(m.Run())
}

// A mounted service: the table on one router, and whether the router has
// the native /whoami route beside it.
type mounted struct {
	name   string
	h      http.Handler
	native bool
}

// mountAll mounts the service's table, guarded by auth, on the five
// routers; gin and echo also get a native GET /whoami behind
// RequireScopes("me"), through their middleware adapters.
func mountAll(auth *tollgate.Authenticator) (*tollgate.API, []mounted) {
	api := auth.API(routers.Routes(auth)...)
	g := routers.Gin(api)
	g.GET("/whoami", routers.GinMiddleware(auth.RequireScopes("me")), routers.GinWhoAmI)
	e := routers.Echo(api)
	e.GET("/whoami", routers.EchoWhoAmI, echo.WrapMiddleware(auth.RequireScopes("me")))
	return api, []mounted{
		{"ServeMux", routers.ServeMux(api), false},
		{"chi", routers.Chi(api), false},
		{"gorilla/mux", routers.Gorilla(api), false},
		{"gin", g, true},
		{"echo", e, true},
	}
}

// wantJSON checks status and a JSON body equal to want.
func wantJSON(status int, want string) func(testing.TB, *httptest.ResponseRecorder) {
	return func(t testing.TB, rec *httptest.ResponseRecorder) {
		t.Helper()
		var got, exp any
		if err := json.Unmarshal([]byte(want), &exp); err != nil {
			t.Fatalf("the test's JSON: %v", err)
		}
		if rec.Code != status || json.Unmarshal(rec.Body.Bytes(), &got) != nil || !reflect.DeepEqual(got, exp) {
			t.Errorf("want %d %s, got %d %q", status, want, rec.Code, rec.Body)
		}
	}
}

// wantStatus checks the status only: the router's own answers (404,
// 405) have bodies of the router's own.
func wantStatus(status int) func(testing.TB, *httptest.ResponseRecorder) {
	return func(t testing.TB, rec *httptest.ResponseRecorder) {
		t.Helper()
		if rec.Code != status {
			t.Errorf("want %d, got %d %q", status, rec.Code, rec.Body)
		}
	}
}

// TestRouters serves the same requests on the five routers: the guard's
// RFC 6750 §3.1 answers, the handlers with the Principal and the path
// parameter, the public routes, and the router's own 404 and 405.
func TestRouters(t *testing.T) {
	k := newKit(t, routers.Scopes)
	other := newKit(t, routers.Scopes) // another key: its tokens are forged here
	_, services := mountAll(k.Auth)

	// alice's subject is an id; the handlers answer her username
	// (preferred_username), which is Principal.Username.
	tok := func(scopes ...string) string { return k.Token(t, "u-1", scopes, username("alice")) }
	reader, writer, self, admin := tok("items:read"), tok("items:write"), tok("me"), tok("admin:users")

	type request struct {
		method, target, token, body string
	}
	cases := []struct {
		name   string
		req    request
		native bool // only on the routers with the native route
		check  func(testing.TB, *httptest.ResponseRecorder)
	}{
		// RFC 6750 §3.1: 401 with a bare challenge without a token.
		{"no token", request{"GET", "/users/me", "", ""}, false, assertNoToken},
		{"no token, path parameter", request{"GET", "/items/1", "", ""}, false, assertNoToken},
		{"no token, POST", request{"POST", "/items", "", `{"name":"x"}`}, false, assertNoToken},
		// 401 invalid_token for a bad one.
		{"malformed token", request{"GET", "/users/me", "not-a-jwt", ""}, false, assertInvalidToken},
		{"expired token", request{"GET", "/items/1", k.Token(t, "u-1", []string{"items:read"}, expired()), ""}, false, assertInvalidToken},
		{"token of another key", request{"GET", "/items/1", other.Token(t, "u-1", []string{"items:read"}), ""}, false, assertInvalidToken},
		// 403 insufficient_scope naming the scope.
		{"missing scope me", request{"GET", "/users/me", reader, ""}, false, func(t testing.TB, r *httptest.ResponseRecorder) { assertInsufficientScope(t, r, "me") }},
		{"missing scope items:read", request{"GET", "/items/1", self, ""}, false, func(t testing.TB, r *httptest.ResponseRecorder) { assertInsufficientScope(t, r, "items:read") }},
		{"missing scope items:write", request{"POST", "/items", reader, `{"name":"x"}`}, false, func(t testing.TB, r *httptest.ResponseRecorder) { assertInsufficientScope(t, r, "items:write") }},
		{"missing scope admin:users", request{"GET", "/admin/users", reader, ""}, false, func(t testing.TB, r *httptest.ResponseRecorder) { assertInsufficientScope(t, r, "admin:users") }},
		// The right scope: the handler, with the Principal.
		{"me", request{"GET", "/users/me", self, ""}, false, wantJSON(200, `{"username":"alice","scopes":["me"]}`)},
		{"items", request{"GET", "/items", reader, ""}, false, wantJSON(200, `{"items":[{"id":"1","name":"Portal Gun","owner":"alice"},{"id":"2","name":"Plumbus","owner":"bob"}],"viewer":"alice"}`)},
		{"item 2 (path parameter)", request{"GET", "/items/2", reader, ""}, false, wantJSON(200, `{"item":{"id":"2","name":"Plumbus","owner":"bob"},"viewer":"alice"}`)},
		// r.PathValue is what ServeMux gives on every router: unescaped,
		// also where chi and echo route on the escaped path.
		{"item %32 (an escaped path parameter)", request{"GET", "/items/%32", reader, ""}, false, wantJSON(200, `{"item":{"id":"2","name":"Plumbus","owner":"bob"},"viewer":"alice"}`)},
		{"item %2532 (unescaped once)", request{"GET", "/items/%2532", reader, ""}, false, wantJSON(404, `{"error":"not_found","id":"%32"}`)},
		{"item 9 (the handler's 404)", request{"GET", "/items/9", reader, ""}, false, wantJSON(404, `{"error":"not_found","id":"9"}`)},
		{"create", request{"POST", "/items", writer, `{"name":"Meeseeks Box"}`}, false, wantJSON(201, `{"id":"3","name":"Meeseeks Box","owner":"alice"}`)},
		{"create, a bad body", request{"POST", "/items", writer, `{"nom":"x"}`}, false, wantJSON(400, `{"error":"invalid_item","error_description":"send {\"name\": \"...\"}, 1 to 100 bytes"}`)},
		{"admin", request{"GET", "/admin/users", admin, ""}, false, wantJSON(200, `{"users":["alice","bob"],"viewer":"alice"}`)},
		// Public routes: no token needed.
		{"healthz", request{"GET", "/healthz", "", ""}, false, func(t testing.TB, r *httptest.ResponseRecorder) {
			if r.Code != 200 || r.Body.String() != "ok\n" {
				t.Errorf("want 200 ok, got %d %q", r.Code, r.Body)
			}
		}},
		{"jwks", request{"GET", "/.well-known/jwks.json", "", ""}, false, func(t testing.TB, r *httptest.ResponseRecorder) {
			var set struct{ Keys []map[string]any }
			if r.Code != 200 || json.Unmarshal(r.Body.Bytes(), &set) != nil || len(set.Keys) != 1 {
				t.Errorf("want 200 and a JWK Set of one key, got %d %q", r.Code, r.Body)
			}
		}},
		// What the table does not have is the router's: 404, and 405 for a
		// known path with another method, before any guard.
		{"unknown route", request{"GET", "/nope", "", ""}, false, wantStatus(404)},
		{"unknown route with a token", request{"GET", "/nope", admin, ""}, false, wantStatus(404)},
		{"unknown method on a path", request{"DELETE", "/users/me", self, ""}, false, wantStatus(405)},
		{"unknown method on a path with a parameter", request{"PUT", "/items/1", "", ""}, false, wantStatus(405)},
		// A native gin or echo handler behind the same guard.
		{"native: no token", request{"GET", "/whoami", "", ""}, true, assertNoToken},
		{"native: bad token", request{"GET", "/whoami", "not-a-jwt", ""}, true, assertInvalidToken},
		{"native: missing scope", request{"GET", "/whoami", reader, ""}, true, func(t testing.TB, r *httptest.ResponseRecorder) { assertInsufficientScope(t, r, "me") }},
	}
	for _, s := range services {
		t.Run(s.name, func(t *testing.T) {
			for _, c := range cases {
				if c.native && !s.native {
					continue
				}
				t.Run(c.name, func(t *testing.T) {
					rec := httptest.NewRecorder()
					s.h.ServeHTTP(rec, k.Request(c.req.method, c.req.target, c.req.token, c.req.body))
					c.check(t, rec)
				})
			}
			if s.native {
				t.Run("native: the Principal", func(t *testing.T) {
					rec := httptest.NewRecorder()
					s.h.ServeHTTP(rec, k.Request("GET", "/whoami", self, ""))
					wantJSON(200, `{"username":"alice","scopes":["me"],"via":"`+s.name+`"}`)(t, rec)
				})
			}
		})
	}
}

// TestOpenAPI checks that the five routers serve the same document, byte
// for byte: api.OpenAPI(routers.Info), built from the table they mount.
func TestOpenAPI(t *testing.T) {
	k := newKit(t, routers.Scopes)
	api, services := mountAll(k.Auth)
	want, err := api.OpenAPI(routers.Info)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(want, []byte(`"/items/{id}"`)) {
		t.Fatalf("the document lacks /items/{id}:\n%s", want)
	}
	for _, s := range services {
		rec := httptest.NewRecorder()
		s.h.ServeHTTP(rec, k.Request("GET", "/openapi.json", "", ""))
		if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" || !bytes.Equal(rec.Body.Bytes(), want) {
			t.Errorf("%s: GET /openapi.json: %d %q, not the document (%d bytes)", s.name, rec.Code, rec.Header().Get("Content-Type"), len(want))
		}
	}
}

// TestUntranslatedPaths checks that a pattern the mounting functions do
// not translate is refused at mount, not served with another meaning.
func TestUntranslatedPaths(t *testing.T) {
	k := newKit(t, routers.Scopes)
	ok := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	for _, path := range []string{"/files/{path...}", "/items/{$}", "/a:b", "/a*"} {
		api := k.Auth.API(tollgate.Route{Method: "GET", Path: path, Public: true, Handler: ok})
		mounts := map[string]func(*tollgate.API) http.Handler{
			"gin":  func(a *tollgate.API) http.Handler { return routers.Gin(a) },
			"echo": func(a *tollgate.API) http.Handler { return routers.Echo(a) },
		}
		if strings.Contains(path, "{") || strings.Contains(path, "*") {
			mounts["chi"] = routers.Chi
		}
		if strings.Contains(path, "{") {
			mounts["gorilla/mux"] = routers.Gorilla
		}
		for name, mount := range mounts {
			func() {
				defer func() {
					if v := recover(); v == nil {
						t.Errorf("%s mounted %s", name, path)
					}
				}()
				mount(api)
			}()
		}
	}
}

// TestNativeChainStops checks that a request the guard refuses goes no
// further down a native gin or echo chain: GinMiddleware aborts it, and
// echo.WrapMiddleware never calls next.
func TestNativeChainStops(t *testing.T) {
	k := newKit(t, routers.Scopes)
	guard := k.Auth.RequireScopes("me")
	var ran []string
	g := gin.New()
	g.GET("/x", routers.GinMiddleware(guard), func(*gin.Context) { ran = append(ran, "gin handler") })
	e := echo.New()
	e.GET("/x", func(echo.Context) error { ran = append(ran, "echo handler"); return nil }, echo.WrapMiddleware(guard))
	for name, h := range map[string]http.Handler{"gin": g, "echo": e} {
		for _, token := range []string{"", "not-a-jwt", k.Token(t, "u-1", []string{"items:read"})} {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, k.Request("GET", "/x", token, ""))
			if rec.Code != 401 && rec.Code != 403 {
				t.Errorf("%s, token %.10q: %d, want 401 or 403", name, token, rec.Code)
			}
		}
	}
	if ran != nil {
		t.Errorf("refused requests reached %v", ran)
	}
	rec := httptest.NewRecorder()
	g.ServeHTTP(rec, k.Request("GET", "/x", k.Token(t, "u-1", []string{"me"}), ""))
	if rec.Code != 200 || len(ran) != 1 {
		t.Errorf("gin, the right scope: %d, ran %v", rec.Code, ran)
	}
}
