package tollgate_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/tollgate-go/tollgate"
	"github.com/tollgate-go/tollgate/internal/openapitest"
	"github.com/tollgate-go/tollgate/memstore"
)

// patternHandler answers 200 with the pattern that matched: it runs only
// for a request that passed the route's guard.
var patternHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	fmt.Fprintln(w, r.Pattern)
})

// testRoutes cover every kind of security an operation can have.
func testRoutes() []tollgate.Route {
	return []tollgate.Route{
		{Method: "GET", Path: "/users/me", Summary: "Your profile", Scopes: []string{"me"}, Handler: patternHandler},
		{Method: "GET", Path: "/items", Scopes: []string{"items:read"}, Handler: patternHandler},
		{Method: "POST", Path: "/items", Scopes: []string{"items:write"}, Status: 201, Handler: patternHandler},
		{Method: "PUT", Path: "/items/{id}", Scopes: []string{"items:read", "items:write"}, Handler: patternHandler},
		{Method: "GET", Path: "/items/{id}/files/{path...}", Scopes: []string{"items:read"}, Handler: patternHandler},
		{Method: "GET", Path: "/admin/users", Scopes: []string{"admin:users"}, Handler: patternHandler},
		{Method: "GET", Path: "/any", AnyScope: []string{"items:write", "admin:users"}, Handler: patternHandler},
		{Method: "DELETE", Path: "/any", AnyScope: []string{"admin:users", "me", "items:read"}, Handler: patternHandler},
		{Method: "GET", Path: "/authn", Handler: patternHandler},
		{Method: "GET", Path: "/healthz", Public: true, Handler: patternHandler},
		{Method: "GET", Path: "/{$}", Public: true, Handler: patternHandler},
	}
}

var testInfo = tollgate.OpenAPIInfo{Title: "Test", Version: "1.0.0", TokenURL: "/token", Servers: []string{"https://api.test"}}

// oaOp is the part of an Operation Object the tests read. Security is
// raw, so that an absent member and [] differ.
type oaOp struct {
	Parameters []struct {
		Name     string `json:"name"`
		In       string `json:"in"`
		Required bool   `json:"required"`
	} `json:"parameters"`
	Security  json.RawMessage            `json:"security"`
	Responses map[string]json.RawMessage `json:"responses"`
}

// oaDoc is the part of a document the tests read.
type oaDoc struct {
	OpenAPI    string                     `json:"openapi"`
	Servers    []struct{ URL string }     `json:"servers"`
	Paths      map[string]map[string]oaOp `json:"paths"`
	Components struct {
		SecuritySchemes map[string]struct {
			Type  string `json:"type"`
			Flows map[string]struct {
				TokenURL   string            `json:"tokenUrl"`
				RefreshURL string            `json:"refreshUrl"`
				Scopes     map[string]string `json:"scopes"`
			} `json:"flows"`
		} `json:"securitySchemes"`
		Responses map[string]struct {
			Headers map[string]json.RawMessage `json:"headers"`
			Content map[string]json.RawMessage `json:"content"`
		} `json:"responses"`
		Schemas map[string]struct {
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"schemas"`
	} `json:"components"`
}

// openAPIOf builds the document of api and decodes it.
func openAPIOf(t *testing.T, api *tollgate.API, info tollgate.OpenAPIInfo) ([]byte, oaDoc) {
	t.Helper()
	b, err := api.OpenAPI(info)
	if err != nil {
		t.Fatalf("OpenAPI(%+v) = %v", info, err)
	}
	var d oaDoc
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("the document is not JSON: %v", err)
	}
	return b, d
}

// status calls method path on h with token, if any.
func status(h http.Handler, method, path, token string) int {
	req := httptest.NewRequest(method, path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code
}

// tokenWith is a valid access token of the fixture granted exactly scopes.
func (f *fixture) tokenWith(t *testing.T, scopes []string) string {
	t.Helper()
	return f.forgeGood(t, func(_, c map[string]any) {
		c["scope"] = strings.Join(scopes, " ")
		if len(scopes) == 0 {
			delete(c, "scope")
		}
	})
}

// TestOpenAPISecurityIsEnforced is the point of Route: operation by
// operation of the generated document, the documented security is what
// the mounted handler enforces (RFC 6750 §3.1, OpenAPI 3.1 §4.8.30).
// Each requirement is sufficient: a token granted exactly its scopes
// passes (for authentication only, a token without scopes). Together
// they are necessary: a token granted every registered scope but one
// from each requirement is refused with 403. An operation with no
// requirement ([]) needs no token at all; any other refuses a request
// without one with 401.
func TestOpenAPISecurityIsEnforced(t *testing.T) {
	f := newFixture(t, "", nil)
	api := f.auth.API(testRoutes()...)
	mux := http.NewServeMux()
	api.Register(mux)
	doc, _ := openAPIOf(t, api, testInfo)
	call := func(method, path string, scopes []string) int {
		token := ""
		if scopes != nil {
			token = f.tokenWith(t, scopes)
		}
		return status(mux, method, path, token)
	}
	registry := slices.Sorted(maps.Keys(f.auth.Scopes()))
	if n := openapitest.CheckSecurity(t, doc, registry, call, testInfo.TokenURL); n != len(testRoutes()) {
		t.Errorf("the document has %d operations besides the token endpoint, want one per route: %d", n, len(testRoutes()))
	}
}

// TestOpenAPIDocument checks the document's structure, row by row for the
// operations: OpenAPI 3.1.0, the password flow of RFC 6749 §4.3 with the
// scope registry, each operation's Security Requirement Objects (all-of
// is one requirement, any-of are alternatives, authentication only is a
// requirement without scopes, public is none), path parameters, and the
// RFC 6750 §3.1 answers with their challenge header.
func TestOpenAPIDocument(t *testing.T) {
	f := newFixture(t, "", nil)
	raw, doc := openAPIOf(t, f.auth.API(testRoutes()...), testInfo)

	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q, want 3.1.0", doc.OpenAPI)
	}
	if len(doc.Servers) != 1 || doc.Servers[0].URL != "https://api.test" {
		t.Errorf("servers = %+v, want https://api.test", doc.Servers)
	}
	scheme, ok := doc.Components.SecuritySchemes["oauth2"]
	if !ok || scheme.Type != "oauth2" || len(scheme.Flows) != 1 {
		t.Fatalf("securitySchemes.oauth2 = %+v, want type oauth2 with one flow", scheme)
	}
	// TokenURL /token, resolved against the absolute Servers[0] (the
	// 3.1 JSON Schema's tokenUrl is format uri); RefreshURL defaults
	// to it.
	pw := scheme.Flows["password"]
	if pw.TokenURL != "https://api.test/token" || pw.RefreshURL != "https://api.test/token" {
		t.Errorf("password flow tokenUrl %q, refreshUrl %q; want https://api.test/token for both", pw.TokenURL, pw.RefreshURL)
	}
	if !reflect.DeepEqual(pw.Scopes, testScopes) {
		t.Errorf("password flow scopes = %v, want the registry %v", pw.Scopes, testScopes)
	}

	tests := []struct {
		name, path, method string
		security           string // the JSON of the security member
		params             []string
	}{
		{"all-of, one scope", "/items", "get", `[{"oauth2":["items:read"]}]`, nil},
		{"all-of, two scopes: one requirement", "/items/{id}", "put", `[{"oauth2":["items:read","items:write"]}]`, []string{"id"}},
		{"any-of: alternatives", "/any", "get", `[{"oauth2":["items:write"]},{"oauth2":["admin:users"]}]`, nil},
		{"any-of, in declared order", "/any", "delete", `[{"oauth2":["admin:users"]},{"oauth2":["me"]},{"oauth2":["items:read"]}]`, nil},
		{"authentication only: no scopes", "/authn", "get", `[{"oauth2":[]}]`, nil},
		{"public: explicitly none", "/healthz", "get", `[]`, nil},
		{"{$} dropped", "/", "get", `[]`, nil},
		{"{name...} is one parameter", "/items/{id}/files/{path}", "get", `[{"oauth2":["items:read"]}]`, []string{"id", "path"}},
		{"the token endpoint: no token", "/token", "post", `[]`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op, ok := doc.Paths[tt.path][tt.method]
			if !ok {
				t.Fatalf("no operation %s %s", tt.method, tt.path)
			}
			var compact bytes.Buffer
			if err := json.Compact(&compact, op.Security); err != nil || compact.String() != tt.security {
				t.Errorf("security = %s, want %s", op.Security, tt.security)
			}
			var params []string
			for _, p := range op.Parameters {
				if p.In != "path" || !p.Required {
					t.Errorf("parameter %+v: want in: path, required: true (OpenAPI 3.1 §4.8.12)", p)
				}
				params = append(params, p.Name)
			}
			if !slices.Equal(params, tt.params) {
				t.Errorf("path parameters = %q, want %q", params, tt.params)
			}
			var answers []string
			for _, code := range []string{"400", "401", "403"} {
				var r struct {
					Ref string `json:"$ref"`
				}
				if json.Unmarshal(op.Responses[code], &r) == nil && r.Ref != "" {
					answers = append(answers, code+" "+strings.TrimPrefix(r.Ref, "#/components/responses/"))
				}
			}
			want := []string{"400 InvalidRequest", "401 Unauthorized", "403 InsufficientScope"}
			switch {
			case tt.path == "/authn":
				want = want[:2] // no scope to lack: never 403
			case tt.path == "/token":
				want = []string{"400 TokenError", "401 InvalidClient"}
			case tt.security == "[]":
				want = nil
			}
			if !slices.Equal(answers, want) {
				t.Errorf("error responses %q, want %q", answers, want)
			}
		})
	}
	// The success answer: Route.Status, or any 2XX.
	if r := doc.Paths["/items"]["post"].Responses; r["201"] == nil || r["2XX"] != nil {
		t.Errorf("POST /items (Status 201) responses %v, want 201 and no 2XX", slices.Sorted(maps.Keys(r)))
	}
	if r := doc.Paths["/items"]["get"].Responses; r["2XX"] == nil {
		t.Errorf("GET /items (no Status) responses %v, want 2XX", slices.Sorted(maps.Keys(r)))
	}
	for _, name := range []string{"InvalidRequest", "Unauthorized", "InsufficientScope"} {
		r := doc.Components.Responses[name]
		if r.Headers["WWW-Authenticate"] == nil || r.Content["application/json"] == nil {
			t.Errorf("components.responses.%s = %+v: want the WWW-Authenticate header (RFC 6750 §3) and a JSON body", name, r)
		}
	}
	if p := doc.Components.Schemas["BearerError"].Properties; p["error"] == nil || p["error_description"] == nil {
		t.Errorf("components.schemas.BearerError.properties = %v, want error and error_description", p)
	}

	// Deterministic: the same document again, and for the routes declared
	// in another order.
	again, _ := openAPIOf(t, f.auth.API(testRoutes()...), testInfo)
	reversed := testRoutes()
	slices.Reverse(reversed)
	other, _ := openAPIOf(t, f.auth.API(reversed...), testInfo)
	if !bytes.Equal(raw, again) || !bytes.Equal(raw, other) {
		t.Error("the document differs between two builds of the same routes")
	}
}

// TestOpenAPIStoreAnswers: with a store on the request path
// (Config.Denylist, Config.LoadUser) a protected operation may answer 503
// temporarily_unavailable, and says so; without one it does not.
func TestOpenAPIStoreAnswers(t *testing.T) {
	for _, tt := range []struct {
		name   string
		mutate func(*tollgate.Config)
		want   bool
	}{
		{"no store on the request path", nil, false},
		{"Denylist", func(c *tollgate.Config) { c.Denylist = memstore.NewDenylist(100) }, true},
		{"LoadUser", func(c *tollgate.Config) { c.LoadUser = true }, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, doc := openAPIOf(t, newFixture(t, "", tt.mutate).auth.API(testRoutes()...), testInfo)
			if got := doc.Paths["/items"]["get"].Responses["503"] != nil; got != tt.want {
				t.Errorf("GET /items documents 503: %v, want %v", got, tt.want)
			}
			if doc.Paths["/healthz"]["get"].Responses["503"] != nil {
				t.Error("the public GET /healthz documents 503")
			}
		})
	}
}

// TestOpenAPIInfoRequired: the fields OpenAPI 3.1 requires are errors
// when missing, never a document that does not validate.
func TestOpenAPIInfoRequired(t *testing.T) {
	api := newFixture(t, "", nil).auth.API(testRoutes()...)
	tests := []struct {
		name string
		info tollgate.OpenAPIInfo
		want string
	}{
		{"no title", tollgate.OpenAPIInfo{Version: "1", TokenURL: "/token"}, "Title"},
		{"no version", tollgate.OpenAPIInfo{Title: "t", TokenURL: "/token"}, "Version"},
		{"no token URL (the password flow's tokenUrl is required)", tollgate.OpenAPIInfo{Title: "t", Version: "1"}, "TokenURL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := api.OpenAPI(tt.info); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("OpenAPI(%+v) = %v, want an error naming %s", tt.info, err, tt.want)
			}
		})
	}
	clash := newFixture(t, "", nil).auth.API(tollgate.Route{Method: "POST", Path: "/token", Public: true, Handler: patternHandler})
	if _, err := clash.OpenAPI(testInfo); err == nil {
		t.Error("OpenAPI with a route POST /token beside TokenURL /token = nil error")
	}
}

// TestAPIPanicsOnWiringBugs: a bad route table fails at setup, like a bad
// ServeMux pattern or RequireScopes with an unknown scope, never at
// request time.
func TestAPIPanicsOnWiringBugs(t *testing.T) {
	h := patternHandler
	tests := []struct {
		name   string
		routes []tollgate.Route
		want   string
	}{
		{"unregistered scope", []tollgate.Route{{Method: "GET", Path: "/a", Scopes: []string{"nope"}, Handler: h}}, "not in Config.Scopes"},
		{"unregistered any-scope", []tollgate.Route{{Method: "GET", Path: "/a", AnyScope: []string{"me", "nope"}, Handler: h}}, "not in Config.Scopes"},
		{"not a scope-token (RFC 6749 §3.3)", []tollgate.Route{{Method: "GET", Path: "/a", Scopes: []string{"a b"}, Handler: h}}, "scope-token"},
		{"Scopes and AnyScope", []tollgate.Route{{Method: "GET", Path: "/a", Scopes: []string{"me"}, AnyScope: []string{"me"}, Handler: h}}, "exclusive"},
		{"Public with Scopes", []tollgate.Route{{Method: "GET", Path: "/a", Public: true, Scopes: []string{"me"}, Handler: h}}, "Public"},
		{"Public with AnyScope", []tollgate.Route{{Method: "GET", Path: "/a", Public: true, AnyScope: []string{"me"}, Handler: h}}, "Public"},
		{"empty AnyScope", []tollgate.Route{{Method: "GET", Path: "/a", AnyScope: []string{}, Handler: h}}, "AnyScope is empty"},
		{"no handler", []tollgate.Route{{Method: "GET", Path: "/a"}}, "no Handler"},
		{"error status", []tollgate.Route{{Method: "GET", Path: "/a", Status: 404, Handler: h}}, "Status"},
		{"no method", []tollgate.Route{{Path: "/a", Handler: h}}, "method"},
		{"lower-case method", []tollgate.Route{{Method: "get", Path: "/a", Handler: h}}, "method"},
		{"CONNECT (no OpenAPI operation)", []tollgate.Route{{Method: "CONNECT", Path: "/a", Handler: h}}, "method"},
		{"no path", []tollgate.Route{{Method: "GET", Handler: h}}, `start with "/"`},
		{"host in path", []tollgate.Route{{Method: "GET", Path: "example.com/a", Handler: h}}, `start with "/"`},
		{"unclosed wildcard", []tollgate.Route{{Method: "GET", Path: "/a/{id", Handler: h}}, "wildcard"},
		{"wildcard in a segment", []tollgate.Route{{Method: "GET", Path: "/a/x{id}", Handler: h}}, "wildcard"},
		{"repeated wildcard", []tollgate.Route{{Method: "GET", Path: "/a/{id}/{id}", Handler: h}}, "wildcard"},
		{"bad wildcard name (ServeMux)", []tollgate.Route{{Method: "GET", Path: "/a/{1x}", Handler: h}}, "GET /a/{1x}"},
		{"{name...} not last (ServeMux)", []tollgate.Route{{Method: "GET", Path: "/a/{p...}/b", Handler: h}}, "GET /a/{p...}/b"},
		{"duplicate method and path", []tollgate.Route{{Method: "GET", Path: "/a", Handler: h}, {Method: "GET", Path: "/a", Public: true, Handler: h}}, "GET /a"},
		{"same route up to wildcard names (ServeMux conflict)", []tollgate.Route{{Method: "GET", Path: "/a/{id}", Handler: h}, {Method: "GET", Path: "/a/{key}", Handler: h}}, "GET /a/{key}"},
		{"same path up to wildcard names (OpenAPI 3.1 §4.8.8)", []tollgate.Route{{Method: "GET", Path: "/a/{id}", Handler: h}, {Method: "POST", Path: "/a/{key}", Handler: h}}, "other wildcard names"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newFixture(t, "", nil).auth
			defer func() {
				v := recover()
				if v == nil {
					t.Fatalf("API(%+v) did not panic", tt.routes)
				}
				if msg := fmt.Sprint(v); !strings.HasPrefix(msg, "tollgate: API") || !strings.Contains(msg, tt.want) {
					t.Errorf("API panicked with %q, want a tollgate: API message containing %q", msg, tt.want)
				}
			}()
			a.API(tt.routes...)
		})
	}
	// What a route table allows: one path with several methods, a
	// wildcard and a literal beside it, the same wildcard names, the
	// exact "/a/" beside them.
	newFixture(t, "", nil).auth.API(
		tollgate.Route{Method: "GET", Path: "/a/{id}", Handler: h},
		tollgate.Route{Method: "POST", Path: "/a/{id}", Handler: h},
		tollgate.Route{Method: "GET", Path: "/a/new", Handler: h},
		tollgate.Route{Method: "GET", Path: "/a/{$}", Scopes: []string{}, Handler: h},
	)
}

// TestAPIRoutesAreCopied: changing a Route's scope slice after API does
// not change what is enforced or documented, and a scope listed twice is
// documented once.
func TestAPIRoutesAreCopied(t *testing.T) {
	f := newFixture(t, "", nil)
	need := []string{"admin:users"}
	api := f.auth.API(tollgate.Route{Method: "GET", Path: "/admin", Scopes: need, Handler: patternHandler})
	need[0] = "me"
	mux := http.NewServeMux()
	api.Register(mux)
	if got := status(mux, "GET", "/admin", f.tokenWith(t, []string{"me"})); got != http.StatusForbidden {
		t.Errorf("a token with me after the slice changed: status %d, want 403", got)
	}
	_, doc := openAPIOf(t, api, testInfo)
	if got := string(doc.Paths["/admin"]["get"].Security); !strings.Contains(got, "admin:users") {
		t.Errorf("security = %s, want admin:users", got)
	}

	// A scope named twice is one scope (RFC 6749 §3.3: a set).
	twice := f.auth.API(tollgate.Route{Method: "GET", Path: "/me", Scopes: []string{"me", "me"}, Handler: patternHandler})
	_, doc = openAPIOf(t, twice, testInfo)
	var compact bytes.Buffer
	_ = json.Compact(&compact, doc.Paths["/me"]["get"].Security)
	if got := compact.String(); got != `[{"oauth2":["me"]}]` {
		t.Errorf("Scopes me, me: security = %s, want [{\"oauth2\":[\"me\"]}]", got)
	}
}

// TestAPIEach: Each hands out the routes in declaration order with their
// guarded handlers, for routers other than ServeMux.
func TestAPIEach(t *testing.T) {
	f := newFixture(t, "", nil)
	var got []string
	f.auth.API(testRoutes()...).Each(func(method, path string, h http.Handler) {
		got = append(got, method+" "+path)
		req := httptest.NewRequest(method, "/whatever", nil)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if public := path == "/healthz" || path == "/{$}"; public != (rec.Code == http.StatusOK) {
			t.Errorf("%s %s without a token: status %d", method, path, rec.Code)
		}
	})
	var want []string
	for _, r := range testRoutes() {
		want = append(want, r.Method+" "+r.Path)
	}
	if !slices.Equal(got, want) {
		t.Errorf("Each gave %q, want %q", got, want)
	}
}

// TestOpenAPIHandler serves the document built once, to GET only.
func TestOpenAPIHandler(t *testing.T) {
	api := newFixture(t, "", nil).auth.API(testRoutes()...)
	want, _ := api.OpenAPI(testInfo)
	h := api.OpenAPIHandler(testInfo)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/openapi.json", nil))
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" || !bytes.Equal(rec.Body.Bytes(), want) {
		t.Errorf("GET: %d %q, want 200 application/json and the document", rec.Code, rec.Header().Get("Content-Type"))
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/openapi.json", nil))
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
		t.Errorf("POST: %d, Allow %q; want 405, GET, HEAD", rec.Code, rec.Header().Get("Allow"))
	}
	defer func() {
		if recover() == nil {
			t.Error("OpenAPIHandler(no title) did not panic at setup")
		}
	}()
	api.OpenAPIHandler(tollgate.OpenAPIInfo{TokenURL: "/token"})
}

// TestScopesIsACopy: Scopes reads the registry back; changing the copy
// changes nothing.
func TestScopesIsACopy(t *testing.T) {
	a := newFixture(t, "", nil).auth
	got := a.Scopes()
	if !reflect.DeepEqual(got, testScopes) {
		t.Fatalf("Scopes() = %v, want %v", got, testScopes)
	}
	got["root"] = "everything"
	delete(got, "me")
	if again := a.Scopes(); !reflect.DeepEqual(again, testScopes) {
		t.Errorf("Scopes() after changing a copy = %v", again)
	}
}

// ExampleAuthenticator_API declares each route once: its scopes both guard
// it and appear in the OpenAPI document, which is served beside it.
func ExampleAuthenticator_API() {
	auth := newExampleAuth()
	api := auth.API(
		tollgate.Route{Method: "GET", Path: "/items", Summary: "List items", Scopes: []string{"items:read"}, Handler: http.HandlerFunc(listItems)},
		tollgate.Route{Method: "POST", Path: "/items", Scopes: []string{"items:write"}, Handler: http.HandlerFunc(listItems)},
		tollgate.Route{Method: "GET", Path: "/items/{id}", AnyScope: []string{"items:read", "items:write"}, Handler: http.HandlerFunc(listItems)},
		tollgate.Route{Method: "GET", Path: "/healthz", Public: true, Handler: http.NotFoundHandler()},
	)
	mux := http.NewServeMux()
	mux.Handle("/token", auth.TokenHandler())
	api.Register(mux)
	mux.Handle("GET /openapi.json", api.OpenAPIHandler(tollgate.OpenAPIInfo{
		Title: "Items", Version: "1.0.0", TokenURL: "/token", Servers: []string{"https://api.example.com"},
	}))

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/openapi.json", nil))
	var doc struct {
		Paths map[string]map[string]struct {
			Security []map[string][]string `json:"security"`
		} `json:"paths"`
	}
	_ = json.NewDecoder(rec.Body).Decode(&doc)
	for _, path := range slices.Sorted(maps.Keys(doc.Paths)) {
		for _, method := range slices.Sorted(maps.Keys(doc.Paths[path])) {
			fmt.Println(strings.ToUpper(method), path, doc.Paths[path][method].Security)
		}
	}

	rec = httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/items", nil))
	fmt.Println(rec.Code, rec.Header().Get("WWW-Authenticate"))
	_, _ = io.Copy(io.Discard, rec.Body)
	// Output:
	// GET /healthz []
	// GET /items [map[oauth2:[items:read]]]
	// POST /items [map[oauth2:[items:write]]]
	// GET /items/{id} [map[oauth2:[items:read]] map[oauth2:[items:write]]]
	// POST /token []
	// 401 Bearer realm="https://api.example.com"
}
