package main

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/tollgate-go/tollgate/internal/openapitest"
)

// validateOpenAPI validates doc against the OpenAPI 3.1 schema with
// libopenapi-validator and returns its complaints.
func validateOpenAPI(t *testing.T, doc []byte) []string {
	t.Helper()
	d, err := libopenapi.NewDocument(doc)
	if err != nil {
		return []string{"not a document: " + err.Error()}
	}
	v, errs := validator.NewValidator(d)
	if len(errs) > 0 {
		var out []string
		for _, e := range errs {
			out = append(out, e.Error())
		}
		return out
	}
	ok, verrs := v.ValidateDocument()
	var out []string
	for _, e := range verrs {
		out = append(out, e.Message+": "+e.Reason)
		for _, se := range e.SchemaValidationErrors {
			out = append(out, "  "+se.FieldPath+": "+se.Reason)
		}
	}
	if !ok && len(out) == 0 {
		out = []string{"invalid, with no reason given"}
	}
	return out
}

// servedOpenAPI is GET /openapi.json of s, checked and decoded.
func servedOpenAPI(t *testing.T, s *testServer) ([]byte, map[string]any) {
	t.Helper()
	r := s.get("/openapi.json", "")
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /openapi.json: %d %q, want 200 application/json", r.status, r.header.Get("Content-Type"))
	}
	return r.body, r.json(t)
}

// TestOpenAPIValid validates the served /openapi.json with a real OpenAPI
// 3.1 validator (libopenapi-validator, against the specification's JSON
// Schema), and shows the validator refuses broken variants of it: a test
// that cannot fail would prove nothing.
func TestOpenAPIValid(t *testing.T) {
	s := newTestServer(t, nil, nil)
	raw, _ := servedOpenAPI(t, s)
	if errs := validateOpenAPI(t, raw); len(errs) > 0 {
		t.Fatalf("GET /openapi.json is not a valid OpenAPI 3.1 document:\n%s", strings.Join(errs, "\n"))
	}

	broken := []struct {
		name   string
		break_ func(doc map[string]any)
	}{
		{"no info.title", func(d map[string]any) { delete(obj(d, "info"), "title") }},
		{"the password flow without tokenUrl", func(d map[string]any) {
			delete(obj(d, "components", "securitySchemes", "oauth2", "flows", "password"), "tokenUrl")
		}},
		{"a path parameter not required", func(d map[string]any) {
			d["paths"].(map[string]any)["/items/{id}"] = map[string]any{"get": map[string]any{
				"parameters": []any{map[string]any{"name": "id", "in": "path", "schema": map[string]any{"type": "string"}}},
				"responses":  map[string]any{"200": map[string]any{"description": "ok"}},
			}}
		}},
		{"a security requirement that is not a list", func(d map[string]any) {
			obj(d, "paths", "/items", "get")["security"] = []any{map[string]any{"oauth2": "items:read"}}
		}},
		{"a response without description", func(d map[string]any) {
			obj(d, "paths", "/items", "get", "responses")["200"] = map[string]any{}
		}},
		{"a path that is not a path", func(d map[string]any) {
			paths := obj(d, "paths")
			paths["items"] = paths["/items"]
		}},
	}
	for _, tt := range broken {
		t.Run(tt.name, func(t *testing.T) {
			var doc map[string]any
			if err := json.Unmarshal(raw, &doc); err != nil {
				t.Fatal(err)
			}
			tt.break_(doc)
			b, err := json.Marshal(doc)
			if err != nil {
				t.Fatal(err)
			}
			if errs := validateOpenAPI(t, b); len(errs) == 0 {
				t.Errorf("the validator accepted the document with %s", tt.name)
			}
		})
	}
}

// obj walks a decoded JSON document down keys.
func obj(doc map[string]any, keys ...string) map[string]any {
	for _, k := range keys {
		doc = doc[k].(map[string]any)
	}
	return doc
}

// TestOpenAPIAnswersMatch: the server's real answers (success and RFC
// 6750 §3.1 / RFC 6749 §5.2 errors) are valid against the document, as
// libopenapi-validator reads it (status documented, body matching the
// schema).
func TestOpenAPIAnswersMatch(t *testing.T) {
	s := newTestServer(t, nil, nil)
	raw, _ := servedOpenAPI(t, s)
	d, err := libopenapi.NewDocument(raw)
	if err != nil {
		t.Fatal(err)
	}
	v, errs := validator.NewValidator(d)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	bob := s.login("bob", "builder").AccessToken
	carol := s.login("carol", "admin-pass-123").AccessToken
	tests := []struct {
		name, method, path, token, ctype, body string
		status                                 int
	}{
		{"200 list", "GET", "/items", bob, "", "", 200},
		{"201 create", "POST", "/items", carol, "application/json", `{"name":"Meeseeks box"}`, 201},
		{"401 no token (RFC 6750 §3.1)", "GET", "/items", "", "", "", 401},
		{"401 invalid_token", "GET", "/users/me", "not.a.token", "", "", 401},
		{"403 insufficient_scope", "GET", "/admin/users", bob, "", "", 403},
		{"200 admin", "GET", "/admin/users", carol, "", "", 200},
		{"200 token (RFC 6749 §5.1)", "POST", "/token", "", "application/x-www-form-urlencoded", "grant_type=password&username=bob&password=builder", 200},
		{"400 invalid_grant (RFC 6749 §5.2)", "POST", "/token", "", "application/x-www-form-urlencoded", "grant_type=password&username=bob&password=wrong", 400},
		{"200 public", "GET", "/healthz", "", "", "", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, s.srv.URL+tt.path, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			if tt.ctype != "" {
				req.Header.Set("Content-Type", tt.ctype)
			}
			resp, err := s.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("%s %s: status %d, want %d", tt.method, tt.path, resp.StatusCode, tt.status)
			}
			// The request's URL as the document sees it (server "/").
			req.URL, _ = url.Parse(tt.path)
			if ok, verrs := v.ValidateHttpResponse(req, resp); !ok {
				var msgs []string
				for _, e := range verrs {
					msgs = append(msgs, e.Message+": "+e.Reason)
				}
				t.Errorf("%s %s → %d does not match the document:\n%s", tt.method, tt.path, resp.StatusCode, strings.Join(msgs, "\n"))
			}
		})
	}
}

// TestOpenAPISecurityEnforced checks the served document against the
// running server, operation by operation (openapitest.CheckSecurity),
// with real tokens from /token: carol, who holds every user's scope, logs
// in asking for exactly the scopes wanted (RFC 6749 §3.3), and the
// machine client reports-service gets reports:read.
func TestOpenAPISecurityEnforced(t *testing.T) {
	s := newTestServer(t, nil, nil)
	doc, _ := servedOpenAPI(t, s)
	tokens := map[string]string{}
	call := func(method, path string, have []string) int {
		token := ""
		if have != nil {
			if len(have) == 0 {
				// An empty scope parameter asks for every scope held;
				// the example has no authentication-only route anyway.
				have = []string{"me"}
			}
			// reports:read is the machine client's alone: a token of
			// exactly it comes from the client credentials grant; in a
			// token that lacks another scope it is left out (no one holds
			// it with a user's scopes), which keeps that token lacking.
			if len(have) > 1 {
				have = slices.DeleteFunc(slices.Clone(have), func(s string) bool { return s == "reports:read" })
			}
			key := strings.Join(have, " ")
			if tokens[key] == "" {
				form := url.Values{"grant_type": {"password"}, "username": {"carol"}, "password": {"admin-pass-123"}, "scope": {key}}
				if key == "reports:read" {
					form = url.Values{"grant_type": {"client_credentials"}, "client_id": {"reports-service"}, "client_secret": {"reports-secret-change-me"}, "scope": {key}}
				}
				tokens[key] = s.tokens(s.form("/token", form)).AccessToken
			}
			token = tokens[key]
		}
		return s.do(method, path, token, "application/json", `{"name":"from the security test"}`).status
	}
	n := openapitest.CheckSecurity(t, doc, slices.Sorted(maps.Keys(scopes)), call, openAPIInfo.TokenURL)
	if routes := (&server{auth: newTestAuth(t)}).routes(nil); n != len(routes) {
		t.Errorf("the document has %d operations besides /token, the route table %d", n, len(routes))
	}
}

// TestTokenAcceptsSwaggerUI: the token endpoint takes the password-flow
// request exactly as Swagger UI 5 builds it (authorizePassword): the form
// without empty fields, and the client either in an empty Basic header
// ("Authorization header", its default: btoa(":")) or left out of the
// body ("Request body"); an empty client id is the first-party client.
func TestTokenAcceptsSwaggerUI(t *testing.T) {
	s := newTestServer(t, nil, nil)
	tests := []struct {
		name, authz, body, wantScope string
	}{
		{"Authorization header, no scope ticked: every scope held", "Basic Og==", "grant_type=password&username=alice&password=wonderland", "me items:read items:write"},
		{"Authorization header, scopes ticked", "Basic Og==", "grant_type=password&scope=me+items%3Aread&username=alice&password=wonderland", "me items:read"},
		{"request body, no client", "", "grant_type=password&username=alice&password=wonderland", "me items:read items:write"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", s.srv.URL+"/token", strings.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Accept", "application/json, text/plain, */*")
			req.Header.Set("X-Requested-With", "XMLHttpRequest")
			if tt.authz != "" {
				req.Header.Set("Authorization", tt.authz)
			}
			resp, err := s.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var tr tokenResponse
			if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil || resp.StatusCode != 200 || tr.Scope != tt.wantScope {
				t.Errorf("status %d, scope %q (%v); want 200 with %q", resp.StatusCode, tr.Scope, err, tt.wantScope)
			}
		})
	}
}

// TestDocs: /docs serves the page (its own script file under a CSP
// without inline script) and the allowed swagger-ui-dist files; without
// them, 503 with the command to run, and the API still works.
func TestDocs(t *testing.T) {
	dist := t.TempDir()
	for _, f := range swaggerFiles {
		if err := os.WriteFile(filepath.Join(dist, f), []byte("/* "+f+" */"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dist, "package.json"), []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := newTestServer(t, []string{"-swagger-ui", dist}, nil)
	page := s.get("/docs", "")
	if page.status != 200 || !strings.HasPrefix(page.header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /docs: %d %q, want 200 text/html", page.status, page.header.Get("Content-Type"))
	}
	if csp := page.header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self';") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("CSP %q: want script-src 'self' only", csp)
	}
	if strings.Contains(string(page.body), "<script>") || !strings.Contains(string(page.body), `src="/docs/init.js"`) {
		t.Errorf("the page has an inline script, or no /docs/init.js:\n%s", page.body)
	}
	for _, tt := range []struct {
		path   string
		status int
		want   string
	}{
		{"/docs/init.js", 200, "persistAuthorization: false"},
		{"/docs/swagger-ui-bundle.js", 200, "swagger-ui-bundle.js"},
		{"/docs/swagger-ui.css", 200, "swagger-ui.css"},
		{"/docs/package.json", 404, ""},
		{"/docs/index.html", 404, ""},
	} {
		r := s.get(tt.path, "")
		if r.status != tt.status || !strings.Contains(string(r.body), tt.want) {
			t.Errorf("GET %s: %d %q, want %d with %q", tt.path, r.status, r.body, tt.status, tt.want)
		}
	}

	none := newTestServer(t, []string{"-swagger-ui", filepath.Join(t.TempDir(), "missing")}, nil)
	for _, path := range []string{"/docs", "/docs/swagger-ui-bundle.js"} {
		r := none.get(path, "")
		if r.status != http.StatusServiceUnavailable || !strings.Contains(string(r.body), "npm ci --prefix examples/basic") {
			t.Errorf("GET %s without the files: %d %q, want 503 naming npm ci --prefix examples/basic", path, r.status, r.body)
		}
	}
	if !strings.Contains(none.log.String(), "Swagger UI files not found") {
		t.Error("no warning at start about the missing Swagger UI files")
	}
	if r := none.get("/items", none.login("bob", "builder").AccessToken); r.status != 200 {
		t.Errorf("GET /items without Swagger UI: %d, want 200", r.status)
	}
	if r := none.get("/openapi.json", ""); r.status != 200 {
		t.Errorf("GET /openapi.json without Swagger UI: %d, want 200", r.status)
	}
}
