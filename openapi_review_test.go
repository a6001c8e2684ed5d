package tollgate_test

// Regression tests of the review of the OpenAPI route table (routes.go, openapi.go):
// each names the rule it holds. OpenAPI 3.1 section numbers are those of
// OpenAPI 3.1.0.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/tollgate-go/tollgate"
	"github.com/tollgate-go/tollgate/internal/openapitest"
)

// loose decodes a JSON document into maps.
func loose(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var d map[string]any
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	return d
}

// at walks a decoded document down keys; nil when one is missing.
func at(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// compactJSON is v as compact JSON.
func compactJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// apiPanic calls fn and returns what it panicked with, "" for nothing.
func apiPanic(fn func()) (msg string) {
	defer func() {
		if v := recover(); v != nil {
			msg = fmt.Sprint(v)
		}
	}()
	fn()
	return ""
}

// TestAPIRefusesRoutesOpenAPICannotTellApart: two routes that
// http.ServeMux takes together but that are one operation in OpenAPI
// (the same method on the same Path Item, OpenAPI 3.1 §4.8.9: "/a/{x}"
// and "/a/{x...}" are both the template "/a/{x}") are refused at setup,
// naming the other route; never a document that fails at serving time.
// The subtree pairs of the review ("/files/" with "/files/{$}", "/" with
// "/{$}") are refused for their subtree (TestAPIRefusesSubtreePaths).
func TestAPIRefusesRoutesOpenAPICannotTellApart(t *testing.T) {
	f := newFixture(t, "", nil)
	h := http.NotFoundHandler()
	for _, tt := range []struct{ first, second, want string }{
		{"/a/{x}", "/a/{x...}", "OpenAPI cannot tell it from GET /a/{x}"},
		{"/a/{x...}", "/a/{x}", "OpenAPI cannot tell it from GET /a/{x...}"},
		{"/files/", "/files/{$}", "use {$} or {name...}"},
		{"/", "/{$}", "use {$} or {name...}"},
	} {
		t.Run(tt.first+" + "+tt.second, func(t *testing.T) {
			msg := apiPanic(func() {
				f.auth.API(
					tollgate.Route{Method: "GET", Path: tt.first, Public: true, Handler: h},
					tollgate.Route{Method: "GET", Path: tt.second, Scopes: []string{"items:read"}, Handler: h},
				)
			})
			if !strings.HasPrefix(msg, "tollgate: API: route GET ") || !strings.Contains(msg, tt.want) {
				t.Errorf("API panicked with %q, want a tollgate: API message containing %q", msg, tt.want)
			}
		})
	}
	// Other methods on the one path are other operations: fine.
	api := f.auth.API(
		tollgate.Route{Method: "GET", Path: "/a/{x}", Public: true, Handler: h},
		tollgate.Route{Method: "PUT", Path: "/a/{x...}", Scopes: []string{"items:write"}, Handler: h},
	)
	if _, err := api.OpenAPI(testInfo); err != nil {
		t.Errorf("GET /a/{x} and PUT /a/{x...}: OpenAPI = %v", err)
	}
}

// TestOpenAPITokenEndpointClash: a route on the token endpoint's own
// operation (POST at OpenAPIInfo.TokenURL) is the one clash API cannot
// see, as TokenURL comes with OpenAPI; the error says so.
func TestOpenAPITokenEndpointClash(t *testing.T) {
	api := newFixture(t, "", nil).auth.API(tollgate.Route{Method: "POST", Path: "/token", Public: true, Handler: patternHandler})
	_, err := api.OpenAPI(testInfo)
	if err == nil || !strings.Contains(err.Error(), "is the token endpoint") || !strings.Contains(err.Error(), "TokenURL") {
		t.Errorf("OpenAPI with a route POST /token beside TokenURL /token = %v, want the token endpoint named", err)
	}
	// GET on the same path is another operation.
	api = newFixture(t, "", nil).auth.API(tollgate.Route{Method: "GET", Path: "/token", Public: true, Handler: patternHandler})
	if _, err := api.OpenAPI(testInfo); err != nil {
		t.Errorf("a route GET /token: OpenAPI = %v", err)
	}
}

// TestAPIRefusesSubtreePaths: a Path ending in "/" is a subtree in
// http.ServeMux (every path below it is served, and guarded), which one
// OpenAPI path cannot document (OpenAPI 3.1 §4.8.8: a path is one
// template): it is refused, pointing to {$} and {name...}. The root
// included: "/" is a subtree too, "/{$}" the root alone. A {name...}
// wildcard, the documentable subtree, is one parameter that says it may
// contain "/".
func TestAPIRefusesSubtreePaths(t *testing.T) {
	f := newFixture(t, "", nil)
	for _, path := range []string{"/files/", "/", "/a/{id}/"} {
		msg := apiPanic(func() { f.auth.API(tollgate.Route{Method: "GET", Path: path, Handler: patternHandler}) })
		if !strings.Contains(msg, "use {$} or {name...}") || !strings.Contains(msg, path+"{$}") {
			t.Errorf("Path %q: API panicked with %q, want the subtree refused with {$} and {name...} suggested", path, msg)
		}
	}

	api := f.auth.API(
		tollgate.Route{Method: "GET", Path: "/files/{path...}", Scopes: []string{"items:read"}, Handler: patternHandler},
		tollgate.Route{Method: "GET", Path: "/files/{$}", Scopes: []string{"items:read"}, Handler: patternHandler},
		tollgate.Route{Method: "GET", Path: "/{$}", Public: true, Handler: patternHandler},
	)
	mux := http.NewServeMux()
	api.Register(mux)
	if got := status(mux, "GET", "/files/a/b", f.tokenWith(t, []string{"items:read"})); got != 200 {
		t.Fatalf("GET /files/a/b under /files/{path...}: %d", got)
	}
	if got := status(mux, "GET", "/files/a/b", ""); got != 401 {
		t.Fatalf("GET /files/a/b without a token: %d, want 401", got)
	}
	b, err := api.OpenAPI(testInfo)
	if err != nil {
		t.Fatal(err)
	}
	d := loose(t, b)
	for _, p := range []string{"/files/{path}", "/files/", "/"} {
		if at(d, "paths", p, "get") == nil {
			t.Errorf("no GET %s in the document", p)
		}
	}
	params, _ := at(d, "paths", "/files/{path}", "get", "parameters").([]any)
	if len(params) != 1 || !strings.Contains(fmt.Sprint(at(params[0], "description")), `may contain "/"`) {
		t.Errorf("the parameters of /files/{path} = %v, want one saying it may contain \"/\"", params)
	}
}

// TestAPIRefusesGuardedHandler: a Handler already wrapped in
// RequireScopes or RequireAnyScope would enforce scopes the document
// does not list (documented != enforced, OpenAPI 3.1 §4.8.30): API
// refuses it, whatever the route's own security.
func TestAPIRefusesGuardedHandler(t *testing.T) {
	f := newFixture(t, "", nil)
	guarded := map[string]http.Handler{
		"RequireScopes":            f.auth.RequireScopes("admin:users")(patternHandler),
		"RequireScopes()":          f.auth.RequireScopes()(patternHandler),
		"RequireAnyScope":          f.auth.RequireAnyScope("me", "admin:users")(patternHandler),
		"a handler of another API": nil,
	}
	f.auth.API(tollgate.Route{Method: "GET", Path: "/x", Scopes: []string{"me"}, Handler: patternHandler}).Each(
		func(_, _ string, h http.Handler) { guarded["a handler of another API"] = h })
	for name, h := range guarded {
		for _, rt := range []tollgate.Route{
			{Method: "GET", Path: "/items", Scopes: []string{"items:read"}, Handler: h},
			{Method: "GET", Path: "/items", Public: true, Handler: h},
		} {
			msg := apiPanic(func() { f.auth.API(rt) })
			if !strings.Contains(msg, "declare the scopes on the Route, not by wrapping") {
				t.Errorf("%s, Public %v: API panicked with %q, want the guard refused", name, rt.Public, msg)
			}
		}
	}
}

// nilPointerHandler, nilMapHandler and nilChanHandler are http.Handler
// types whose nil value panics when served.
type (
	nilPointerHandler struct{ code int }
	nilMapHandler     map[string]int
	nilChanHandler    chan int
)

func (h *nilPointerHandler) ServeHTTP(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(h.code) }
func (h nilMapHandler) ServeHTTP(w http.ResponseWriter, _ *http.Request)      { w.WriteHeader(h["code"]) }
func (h nilChanHandler) ServeHTTP(w http.ResponseWriter, _ *http.Request)     { w.WriteHeader(<-h) }

// TestAPIRefusesTypedNilHandler: a nil func, pointer, map or channel in
// an http.Handler is "no Handler" at setup, not a panic at request time
// behind the guard.
func TestAPIRefusesTypedNilHandler(t *testing.T) {
	f := newFixture(t, "", nil)
	for name, h := range map[string]http.Handler{
		"http.HandlerFunc(nil)": http.HandlerFunc(nil),
		"a nil pointer":         (*nilPointerHandler)(nil),
		"a nil map":             nilMapHandler(nil),
		"a nil channel":         nilChanHandler(nil),
	} {
		msg := apiPanic(func() {
			f.auth.API(tollgate.Route{Method: "GET", Path: "/healthz", Scopes: []string{"me"}, Handler: h})
		})
		if !strings.Contains(msg, "no Handler") {
			t.Errorf("%s: API panicked with %q, want no Handler", name, msg)
		}
	}
	// Non-nil values of the same kinds are handlers.
	f.auth.API(tollgate.Route{Method: "GET", Path: "/a", Handler: &nilPointerHandler{code: 200}},
		tollgate.Route{Method: "GET", Path: "/b", Handler: nilMapHandler{"code": 200}})
}

// TestOpenAPIRequestBody: Route.RequestBody, an OpenAPI 3.1 Request Body
// Object (§4.8.13), is copied as it is into the operation, and copied at
// API; anything but a JSON object with content (or $ref) is refused at
// setup.
func TestOpenAPIRequestBody(t *testing.T) {
	f := newFixture(t, "", nil)
	body := []byte(`{"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string", "maxLength": 100}}}}}}`)
	api := f.auth.API(tollgate.Route{Method: "POST", Path: "/items", Scopes: []string{"items:write"}, Status: 201, RequestBody: body, Handler: patternHandler},
		tollgate.Route{Method: "GET", Path: "/items", Scopes: []string{"items:read"}, Handler: patternHandler})
	want := compactJSON(t, loose(t, body))
	copy(body, "[]   ") // the table is copied: this changes nothing
	b, err := api.OpenAPI(testInfo)
	if err != nil {
		t.Fatal(err)
	}
	d := loose(t, b)
	if got := compactJSON(t, at(d, "paths", "/items", "post", "requestBody")); got != want {
		t.Errorf("requestBody = %s, want %s", got, want)
	}
	if got := at(d, "paths", "/items", "get", "requestBody"); got != nil {
		t.Errorf("GET /items without RequestBody: requestBody = %v", got)
	}
	ref := compactJSON(t, map[string]any{"$ref": "https://schemas.example/items.json#/requestBody"})
	f.auth.API(tollgate.Route{Method: "POST", Path: "/r", RequestBody: json.RawMessage(ref), Handler: patternHandler})

	for _, bad := range []string{`[]`, `"x"`, `null`, `42`, `{"required": true}`, `{"content": `, `{} {}`} {
		msg := apiPanic(func() {
			f.auth.API(tollgate.Route{Method: "POST", Path: "/items", RequestBody: json.RawMessage(bad), Handler: patternHandler})
		})
		if !strings.Contains(msg, "RequestBody") {
			t.Errorf("RequestBody %s: API panicked with %q, want it refused", bad, msg)
		}
	}
}

// TestOpenAPIInvalidRequestChallengeNotRequired: the 400 of a protected
// operation is tollgate's invalid_request, with the RFC 6750 §3 challenge,
// or the operation's own 400 (a bad body), without one: its
// WWW-Authenticate is not required (OpenAPI 3.1 §4.8.21, "required"
// defaults to false), unlike the 401's and 403's, which tollgate always
// sends.
func TestOpenAPIInvalidRequestChallengeNotRequired(t *testing.T) {
	f := newFixture(t, "", nil)
	b, _ := f.auth.API(testRoutes()...).OpenAPI(testInfo)
	d := loose(t, b)
	h := at(d, "components", "responses", "InvalidRequest", "headers", "WWW-Authenticate")
	if h == nil || at(h, "required") == true || at(h, "$ref") != nil {
		t.Errorf("components.responses.InvalidRequest WWW-Authenticate = %v, want a header not required", h)
	}
	if desc := fmt.Sprint(at(d, "components", "responses", "InvalidRequest", "description")); !strings.Contains(desc, "the operation's own 400") {
		t.Errorf("InvalidRequest description %q does not mention the operation's own 400", desc)
	}
	for _, name := range []string{"Unauthorized", "InsufficientScope"} {
		if at(d, "components", "responses", name, "headers", "WWW-Authenticate", "$ref") != "#/components/headers/WWW-Authenticate" ||
			at(d, "components", "headers", "WWW-Authenticate", "required") != true {
			t.Errorf("components.responses.%s: want the required WWW-Authenticate header", name)
		}
	}
}

// TestOpenAPIAuthenticationOnlyHasNo403: an operation that needs a token
// and no scope cannot answer 403 insufficient_scope (RFC 6750 §3.1: there
// is no scope to lack), so it does not document one; an operation with
// Scopes or AnyScope does.
func TestOpenAPIAuthenticationOnlyHasNo403(t *testing.T) {
	f := newFixture(t, "", nil)
	api := f.auth.API(
		tollgate.Route{Method: "GET", Path: "/authn", Handler: patternHandler},
		tollgate.Route{Method: "POST", Path: "/authn", Scopes: []string{}, Handler: patternHandler},
		tollgate.Route{Method: "GET", Path: "/all", Scopes: []string{"me"}, Handler: patternHandler},
		tollgate.Route{Method: "GET", Path: "/any", AnyScope: []string{"me", "items:read"}, Handler: patternHandler},
	)
	b, _ := api.OpenAPI(testInfo)
	d := loose(t, b)
	for _, tt := range []struct {
		path, method string
		want         bool
	}{{"/authn", "get", false}, {"/authn", "post", false}, {"/all", "get", true}, {"/any", "get", true}} {
		if got := at(d, "paths", tt.path, tt.method, "responses", "403") != nil; got != tt.want {
			t.Errorf("%s %s documents 403: %v, want %v", tt.method, tt.path, got, tt.want)
		}
	}
}

// TestOpenAPIAlternateTokenSources: with Config.Tokens.Cookie and
// Config.Tokens.Query the token may also come from the cookie or the
// access_token query parameter (RFC 6750 §2.3): the document has an
// apiKey scheme for each (OpenAPI 3.1 §4.8.27, in: cookie / in: query),
// listed on every protected operation as an alternative requirement with
// the same scopes (§4.8.30 allows them, as roles, on schemes other than
// oauth2), and what it says is enforced through each source. With a
// cookie, an unsafe method may also be 403 cross-origin.
func TestOpenAPIAlternateTokenSources(t *testing.T) {
	f := newFixture(t, "", func(c *tollgate.Config) { c.Tokens.Query = true; c.Tokens.Cookie = "at" })
	routes := append(testRoutes(), tollgate.Route{Method: "POST", Path: "/authn", Handler: patternHandler})
	api := f.auth.API(routes...)
	mux := http.NewServeMux()
	api.Register(mux)
	b, err := api.OpenAPI(testInfo)
	if err != nil {
		t.Fatal(err)
	}
	d := loose(t, b)

	schemes := at(d, "components", "securitySchemes")
	if got := compactJSON(t, []any{at(schemes, "tokenCookie", "type"), at(schemes, "tokenCookie", "in"), at(schemes, "tokenCookie", "name")}); got != `["apiKey","cookie","at"]` {
		t.Errorf("securitySchemes.tokenCookie type, in, name = %s, want apiKey, cookie, at", got)
	}
	if got := compactJSON(t, []any{at(schemes, "tokenQuery", "type"), at(schemes, "tokenQuery", "in"), at(schemes, "tokenQuery", "name")}); got != `["apiKey","query","access_token"]` {
		t.Errorf("securitySchemes.tokenQuery type, in, name = %s, want apiKey, query, access_token", got)
	}
	for _, tt := range []struct{ path, method, want string }{
		{"/items", "get", `[{"oauth2":["items:read"]},{"tokenCookie":["items:read"]},{"tokenQuery":["items:read"]}]`},
		{"/any", "get", `[{"oauth2":["items:write"]},{"oauth2":["admin:users"]},{"tokenCookie":["items:write"]},{"tokenCookie":["admin:users"]},{"tokenQuery":["items:write"]},{"tokenQuery":["admin:users"]}]`},
		{"/authn", "get", `[{"oauth2":[]},{"tokenCookie":[]},{"tokenQuery":[]}]`},
		{"/healthz", "get", `[]`},
	} {
		if got := compactJSON(t, at(d, "paths", tt.path, tt.method, "security")); got != tt.want {
			t.Errorf("%s %s security = %s, want %s", tt.method, tt.path, got, tt.want)
		}
	}

	// Each requirement of each alternative scheme is enforced through
	// its own source: the token with exactly its scopes passes.
	checked := 0
	for path, item := range at(d, "paths").(map[string]any) {
		for method, op := range item.(map[string]any) {
			for _, r := range at(op, "security").([]any) {
				for scheme, scopes := range r.(map[string]any) {
					if scheme == "oauth2" {
						continue
					}
					var have []string
					for _, s := range scopes.([]any) {
						have = append(have, s.(string))
					}
					tok := f.tokenWith(t, have)
					target := strings.ReplaceAll(strings.ReplaceAll(path, "{id}", "1"), "{path}", "a/b")
					if scheme == "tokenQuery" {
						target += "?access_token=" + url.QueryEscape(tok)
					}
					req := httptest.NewRequest(strings.ToUpper(method), target, nil)
					req.Header.Set("Sec-Fetch-Site", "same-origin")
					if scheme == "tokenCookie" {
						req.AddCookie(&http.Cookie{Name: "at", Value: tok})
					}
					rec := httptest.NewRecorder()
					mux.ServeHTTP(rec, req)
					checked++
					if rec.Code >= 400 {
						t.Errorf("%s %s, %s with exactly %q: %d, want success", method, path, scheme, have, rec.Code)
					}
				}
			}
		}
	}
	if checked < 2*len(routes) {
		t.Errorf("%d requirements of tokenCookie and tokenQuery checked, want at least %d", checked, 2*len(routes))
	}
	// The document as a whole still passes the shared check, which reads
	// the alternatives as the same scopes.
	call := func(method, path string, scopes []string) int {
		token := ""
		if scopes != nil {
			token = f.tokenWith(t, scopes)
		}
		return status(mux, method, path, token)
	}
	openapitest.CheckSecurity(t, b, slices.Sorted(maps.Keys(f.auth.Scopes())), call, testInfo.TokenURL)

	// A cookie token on a cross-origin unsafe request is 403 without a
	// challenge: documented on unsafe methods only.
	req := httptest.NewRequest("POST", "/authn", nil)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.AddCookie(&http.Cookie{Name: "at", Value: f.tokenWith(t, nil)})
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden || rec.Header().Get("WWW-Authenticate") != "" {
		t.Errorf("cross-origin POST /authn with the cookie: %d, WWW-Authenticate %q; want 403 without one", rec.Code, rec.Header().Get("WWW-Authenticate"))
	}
	for _, tt := range []struct{ path, method, want string }{
		{"/authn", "post", "#/components/responses/CrossOrigin"},
		{"/authn", "get", "<nil>"},
		{"/items", "post", "#/components/responses/InsufficientScopeOrCrossOrigin"},
		{"/items", "get", "#/components/responses/InsufficientScope"},
	} {
		if got := fmt.Sprint(at(d, "paths", tt.path, tt.method, "responses", "403", "$ref")); got != tt.want {
			t.Errorf("%s %s 403 = %s, want %s", tt.method, tt.path, got, tt.want)
		}
	}
	if at(d, "components", "responses", "CrossOrigin", "description") == nil ||
		at(d, "components", "responses", "InsufficientScopeOrCrossOrigin", "headers", "WWW-Authenticate", "required") == true {
		t.Error("components.responses: want CrossOrigin, and InsufficientScopeOrCrossOrigin with its challenge not required")
	}

	// Without Config.Tokens, oauth2 alone.
	_, plain := openAPIOf(t, newFixture(t, "", nil).auth.API(testRoutes()...), testInfo)
	if n := len(plain.Components.SecuritySchemes); n != 1 {
		t.Errorf("without Config.Tokens: %d security schemes, want 1", n)
	}
}

// TestOpenAPIDocumentsAnswerHeaders: the headers the token endpoint's
// answers carry are documented: Retry-After, in seconds (RFC 9110
// §10.2.3), on 429 slow_down and 503 temporarily_unavailable, and the
// Basic challenge of a 401 invalid_client (RFC 6749 §5.2), not required.
func TestOpenAPIDocumentsAnswerHeaders(t *testing.T) {
	f := newFixture(t, "", nil)
	b, _ := f.auth.API(testRoutes()...).OpenAPI(testInfo)
	d := loose(t, b)
	for _, name := range []string{"SlowDown", "Unavailable"} {
		if at(d, "components", "responses", name, "headers", "Retry-After", "$ref") != "#/components/headers/Retry-After" {
			t.Errorf("components.responses.%s: no Retry-After header", name)
		}
	}
	if got := at(d, "components", "headers", "Retry-After", "schema", "type"); got != "integer" {
		t.Errorf("components.headers.Retry-After schema type = %v, want integer", got)
	}
	h := at(d, "components", "responses", "InvalidClient", "headers", "WWW-Authenticate")
	if h == nil || at(h, "required") == true || !strings.Contains(fmt.Sprint(at(h, "description")), "Basic") {
		t.Errorf("components.responses.InvalidClient WWW-Authenticate = %v, want a Basic challenge not required", h)
	}
	// What the token endpoint does send on a 401 invalid_client.
	req := httptest.NewRequest("POST", "/token", strings.NewReader("grant_type=password&username=alice&password=x"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("nobody", "a-secret")
	rec := httptest.NewRecorder()
	f.handler.ServeHTTP(rec, req)
	if rec.Code != http.StatusUnauthorized || !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Basic ") {
		t.Errorf("an unknown client at the token endpoint: %d, WWW-Authenticate %q; want 401 with the documented Basic challenge",
			rec.Code, rec.Header().Get("WWW-Authenticate"))
	}
}

// TestOpenAPIEndpointURLs: OpenAPIInfo.TokenURL and RefreshURL are URLs
// (RFC 6749 §3.2: no fragment) or a path on the server, which becomes an
// OpenAPI path (§4.8.8: no query, and braces would be a template); when
// Servers[0] is absolute, the flows get the URL resolved against it,
// which the 3.1 JSON Schema (format uri) accepts.
func TestOpenAPIEndpointURLs(t *testing.T) {
	api := newFixture(t, "", nil).auth.API(testRoutes()...)
	info := func(token, refresh string, servers ...string) tollgate.OpenAPIInfo {
		return tollgate.OpenAPIInfo{Title: "t", Version: "1", TokenURL: token, RefreshURL: refresh, Servers: servers}
	}
	for _, tt := range []struct {
		name string
		info tollgate.OpenAPIInfo
		want string
	}{
		{"a query on a path", info("/token?x=1", ""), "TokenURL"},
		{"a fragment on a path", info("/token#x", ""), "fragment"},
		{"a fragment on a URL", info("https://auth.example/token#x", ""), "fragment"},
		{"braces in a path", info("/to{k}en", ""), "braces"},
		{"a relative path", info("token", ""), "absolute URL"},
		{"a network-path reference", info("//auth.example/token", ""), "absolute URL"},
		{"not a URL", info("/to\x7fken", ""), "TokenURL"},
		{"a bad RefreshURL", info("/token", "/refresh?x"), "RefreshURL"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := api.OpenAPI(tt.info); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("OpenAPI(%+v) = %v, want an error containing %q", tt.info, err, tt.want)
			}
		})
	}
	for _, tt := range []struct {
		name                  string
		info                  tollgate.OpenAPIInfo
		token, refresh, oPath string
	}{
		{"no server", info("/token", ""), "/token", "/token", "/token"},
		{"a relative server", info("/token", "", "/"), "/token", "/token", "/token"},
		{"an absolute server", info("/token", "/refresh", "https://api.test"), "https://api.test/token", "https://api.test/refresh", "/token"},
		{"an absolute server with a path", info("/token", "", "https://api.test/v1/", "https://other.test"), "https://api.test/v1/token", "https://api.test/v1/token", "/token"},
		{"a server with variables", info("/token", "", "https://{region}.api.test"), "/token", "/token", "/token"},
		{"an absolute TokenURL with a query (RFC 6749 §3.2)", info("https://auth.example/token?tenant=a", "", "https://api.test"), "https://auth.example/token?tenant=a", "https://auth.example/token?tenant=a", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, err := api.OpenAPI(tt.info)
			if err != nil {
				t.Fatal(err)
			}
			d := loose(t, b)
			pw := at(d, "components", "securitySchemes", "oauth2", "flows", "password")
			if at(pw, "tokenUrl") != tt.token || at(pw, "refreshUrl") != tt.refresh {
				t.Errorf("tokenUrl %v, refreshUrl %v; want %s, %s", at(pw, "tokenUrl"), at(pw, "refreshUrl"), tt.token, tt.refresh)
			}
			var ops []string
			for p, item := range at(d, "paths").(map[string]any) {
				if at(item, "post", "summary") == "Token endpoint" {
					ops = append(ops, p)
				}
			}
			if want := []string{tt.oPath}; tt.oPath == "" && len(ops) > 0 || tt.oPath != "" && !slices.Equal(ops, want) {
				t.Errorf("the token endpoint is documented at %q, want %q", ops, tt.oPath)
			}
		})
	}
}

// TestOpenAPIVerifierHasNoTokenOperation: an Authenticator that only
// verifies (no Config.Users) has no token endpoint to document: the flow
// keeps its tokenUrl (required, OpenAPI 3.1 §4.8.29), the paths have no
// operation for it, and a route there is no clash.
func TestOpenAPIVerifierHasNoTokenOperation(t *testing.T) {
	f := newFixture(t, "", func(c *tollgate.Config) { c.Users, c.Refresh = nil, nil })
	api := f.auth.API(append(testRoutes(), tollgate.Route{Method: "POST", Path: "/token", Public: true, Handler: patternHandler})...)
	b, d := openAPIOf(t, api, testInfo)
	if got := d.Components.SecuritySchemes["oauth2"].Flows["password"].TokenURL; got != "https://api.test/token" {
		t.Errorf("tokenUrl = %q, want https://api.test/token", got)
	}
	if s := loose(t, b); at(s, "paths", "/token", "post", "summary") == "Token endpoint" {
		t.Error("a verifier documents the token endpoint operation")
	}
}

// TestOpenAPIHandlerNosniff: the document, which carries the route
// table's strings, is served with X-Content-Type-Options: nosniff.
func TestOpenAPIHandlerNosniff(t *testing.T) {
	api := newFixture(t, "", nil).auth.API(testRoutes()...)
	rec := httptest.NewRecorder()
	api.OpenAPIHandler(testInfo).ServeHTTP(rec, httptest.NewRequest("GET", "/openapi.json", nil))
	if rec.Code != 200 || rec.Header().Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("GET /openapi.json: %d, X-Content-Type-Options %q; want 200, nosniff", rec.Code, rec.Header().Get("X-Content-Type-Options"))
	}
}

// TestOpenAPIEscapingMethodsDeterminism (held in the review): special
// characters in scopes, summaries and descriptions stay valid JSON, the
// output is deterministic, HEAD, OPTIONS and TRACE routes are documented
// (OpenAPI 3.1 §4.8.9), and an absolute TokenURL is no path.
func TestOpenAPIEscapingMethodsDeterminism(t *testing.T) {
	f := newFixture(t, "", func(c *tollgate.Config) {
		m := maps.Clone(c.Scopes)
		m["a<b>&'`x"] = "desc \"quoted\" <script>" + strings.Repeat("long ", 20000)
		c.Scopes = m
	})
	h := http.NotFoundHandler()
	api := f.auth.API(
		tollgate.Route{Method: "HEAD", Path: "/h", Scopes: []string{"a<b>&'`x", "a<b>&'`x"}, Handler: h},
		tollgate.Route{Method: "OPTIONS", Path: "/h", Public: true, Handler: h},
		tollgate.Route{Method: "TRACE", Path: "/h/{x}", AnyScope: []string{"me"}, Summary: "\u2028</script>", Handler: h},
	)
	info := tollgate.OpenAPIInfo{Title: "t\"", Version: "1", TokenURL: "https://auth.example/token"}
	b1, err := api.OpenAPI(info)
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		if b2, _ := api.OpenAPI(info); !bytes.Equal(b1, b2) {
			t.Fatal("not deterministic")
		}
	}
	d := loose(t, b1)
	if at(d, "paths", "/h", "head") == nil || at(d, "paths", "/h", "options") == nil || at(d, "paths", "/h/{x}", "trace") == nil {
		t.Errorf("methods missing: %v", at(d, "paths"))
	}
	if got := compactJSON(t, at(d, "paths", "/h", "head", "security")); got != `[{"oauth2":["a\u003cb\u003e\u0026'`+"`"+`x"]}]` {
		t.Errorf("security %s", got)
	}
	if at(d, "paths", "https://auth.example/token") != nil {
		t.Errorf("an absolute TokenURL became a path")
	}
}

// TestOpenAPIRefreshURLNeedsRefreshStore: without Config.Refresh no
// refresh token is issued, so the password flow names no refreshUrl and
// the token request no refresh_token grant (RFC 6749 §6).
func TestOpenAPIRefreshURLNeedsRefreshStore(t *testing.T) {
	for _, withRefresh := range []bool{true, false} {
		f := newFixture(t, "", func(c *tollgate.Config) {
			if !withRefresh {
				c.Refresh = nil
			}
		})
		api := f.auth.API(tollgate.Route{Method: "GET", Path: "/items", Scopes: []string{"items:read"}, Handler: http.NotFoundHandler()})
		doc, err := api.OpenAPI(tollgate.OpenAPIInfo{Title: "t", Version: "1", TokenURL: "/token"})
		if err != nil {
			t.Fatal(err)
		}
		has := strings.Contains(string(doc), `"refreshUrl"`)
		if has != withRefresh {
			t.Errorf("with a refresh store %v: refreshUrl in the document %v", withRefresh, has)
		}
		var d struct {
			Components struct {
				Schemas struct {
					TokenRequest struct {
						Properties struct {
							GrantType struct {
								Enum []string `json:"enum"`
							} `json:"grant_type"`
						} `json:"properties"`
					} `json:"TokenRequest"`
				} `json:"schemas"`
			} `json:"components"`
		}
		if err := json.Unmarshal(doc, &d); err != nil {
			t.Fatal(err)
		}
		if grant := slices.Contains(d.Components.Schemas.TokenRequest.Properties.GrantType.Enum, "refresh_token"); grant != withRefresh {
			t.Errorf("with a refresh store %v: the refresh_token grant documented %v", withRefresh, grant)
		}
	}
}
