package tollgate

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// A Route is one operation of an [API]: its method and path, the scopes
// it requires and its handler. The same Scopes or AnyScope both guard the
// handler and appear on the operation in the OpenAPI document, so the two
// cannot drift apart.
//
// With neither Scopes nor AnyScope, the route needs a valid token and no
// scope (authentication only); with Public, no token at all.
type Route struct {
	Method string // an HTTP method in capitals: "GET", "POST", ...
	// Path is a path pattern in the wildcard syntax of [http.ServeMux]:
	// "/items/{id}" (also chi's), "/files/{path...}" (the rest of the
	// path; ServeMux only) and a trailing "{$}".
	Path     string
	Summary  string       // a short summary for the document; optional
	Status   int          // the success status to document, as 200 or 201; 0 documents "2XX"
	Scopes   []string     // the token needs all of these ([Authenticator.RequireScopes])
	AnyScope []string     // or one of these ([Authenticator.RequireAnyScope]); not with Scopes
	Public   bool         // no token needed; not with Scopes or AnyScope
	Handler  http.Handler // the operation, called only for requests that pass
}

// An API is a table of routes whose handlers are guarded by their
// declared scopes, ready to mount on a router and to describe as an
// OpenAPI 3.1 document. It is made by [Authenticator.API], is immutable,
// and is safe for concurrent use.
type API struct {
	auth   *Authenticator
	routes []apiRoute // in declaration order
}

// apiRoute is a checked Route with its guarded handler.
type apiRoute struct {
	Route
	guarded  http.Handler
	template string   // the OpenAPI path template: "/items/{id}"
	params   []string // the path parameters, in order
}

// API checks routes and returns them as an [API], each handler wrapped in
// [Authenticator.RequireScopes] (Route.Scopes, or none),
// [Authenticator.RequireAnyScope] (Route.AnyScope), or nothing
// (Route.Public).
//
// Like RequireScopes, it panics on a wiring bug: an unregistered scope,
// both Scopes and AnyScope (or either with Public), a nil handler, a
// method that is not an OpenAPI operation, a path that is not a valid
// pattern, or two routes that [http.ServeMux] would refuse together or
// that OpenAPI cannot tell apart (the same method and path up to the
// wildcard names).
func (a *Authenticator) API(routes ...Route) *API {
	api := &API{auth: a, routes: make([]apiRoute, 0, len(routes))}
	check := http.NewServeMux() // ServeMux's own pattern rules, at setup
	shapes := map[string]string{}
	for _, rt := range routes {
		name := rt.Method + " " + rt.Path
		fail := func(msg string) { panic("tollgate: API: route " + name + ": " + msg) }
		if !slices.Contains(operationMethods, rt.Method) {
			fail("the method must be one of " + strings.Join(operationMethods, ", "))
		}
		template, params, err := pathTemplate(rt.Path)
		if err != nil {
			fail(err.Error())
		}
		switch {
		case rt.Handler == nil:
			fail("no Handler")
		case len(rt.Scopes) > 0 && rt.AnyScope != nil:
			fail("Scopes and AnyScope are exclusive")
		case rt.Public && (len(rt.Scopes) > 0 || rt.AnyScope != nil):
			fail("a Public route requires no scope")
		case rt.AnyScope != nil && len(rt.AnyScope) == 0:
			fail("AnyScope is empty")
		case rt.Status != 0 && (rt.Status < 100 || rt.Status > 399):
			fail("Status must be a success (100 to 399), or 0")
		}
		a.scopes.mustKnow("API: route "+name+": Scopes", rt.Scopes)
		a.scopes.mustKnow("API: route "+name+": AnyScope", rt.AnyScope)
		// OpenAPI 3.1 §4.8.8: templated paths that differ only in
		// their parameter names MUST NOT exist together.
		shape := pathShape(template)
		if prev, ok := shapes[shape]; ok && prev != template {
			fail("the same path as " + prev + " with other wildcard names")
		}
		shapes[shape] = template
		func() {
			defer func() {
				if v := recover(); v != nil {
					fail(fmt.Sprint(v))
				}
			}()
			check.Handle(name, http.NotFoundHandler())
		}()
		// Copies, each scope once: the table cannot change after API.
		rt.Scopes = slices.Clone(a.scopes.registered(rt.Scopes))
		rt.AnyScope = slices.Clone(a.scopes.registered(rt.AnyScope))
		r := apiRoute{Route: rt, template: template, params: params}
		switch {
		case rt.Public:
			r.guarded = rt.Handler
		case rt.AnyScope != nil:
			r.guarded = a.RequireAnyScope(rt.AnyScope...)(rt.Handler)
		default:
			r.guarded = a.RequireScopes(rt.Scopes...)(rt.Handler)
		}
		api.routes = append(api.routes, r)
	}
	return api
}

// operationMethods are the methods an OpenAPI 3.1 Path Item has
// operations for.
var operationMethods = []string{"GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE"}

// pathTemplate turns a ServeMux path pattern into an OpenAPI path
// template and its parameters: "{name}" and "{name...}" are the parameter
// name, a trailing "{$}" is dropped. Other checks are ServeMux's.
func pathTemplate(path string) (string, []string, error) {
	if !strings.HasPrefix(path, "/") {
		return "", nil, errors.New(`the path must start with "/" (no host)`)
	}
	segs := strings.Split(path[1:], "/")
	var params []string
	for i, s := range segs {
		if !strings.ContainsAny(s, "{}") {
			continue
		}
		name := strings.TrimSuffix(strings.TrimPrefix(s, "{"), "}")
		if len(name) != len(s)-2 || strings.ContainsAny(name, "{}") {
			return "", nil, fmt.Errorf("segment %q: a wildcard is a whole segment, {name} or {name...}", s)
		}
		if name == "$" && i == len(segs)-1 {
			segs[i] = ""
			continue
		}
		name = strings.TrimSuffix(name, "...")
		if name == "" || slices.Contains(params, name) {
			return "", nil, fmt.Errorf("segment %q: a wildcard needs a name of its own", s)
		}
		params = append(params, name)
		segs[i] = "{" + name + "}"
	}
	return "/" + strings.Join(segs, "/"), params, nil
}

// pathShape is an OpenAPI path template with each parameter as "{}".
func pathShape(template string) string {
	segs := strings.Split(template, "/")
	for i, s := range segs {
		if strings.HasPrefix(s, "{") {
			segs[i] = "{}"
		}
	}
	return strings.Join(segs, "/")
}

// Register mounts every route on mux as "METHOD PATH".
func (api *API) Register(mux *http.ServeMux) {
	api.Each(func(method, path string, h http.Handler) { mux.Handle(method+" "+path, h) })
}

// Each calls fn with each route's method, path and guarded handler, in
// declaration order: the way to mount an API on another router, as in
// chi's r.Method(method, path, h).
func (api *API) Each(fn func(method, path string, h http.Handler)) {
	for _, r := range api.routes {
		fn(r.Method, r.Path, r.guarded)
	}
}

// Scopes returns a copy of the scope registry (Config.Scopes): each scope
// with its description.
func (a *Authenticator) Scopes() map[string]string { return maps.Clone(map[string]string(a.scopes)) }

// OpenAPIInfo is what an OpenAPI document says beyond the routes.
type OpenAPIInfo struct {
	Title       string // required
	Version     string // the API's version, required
	Description string // optional, CommonMark
	// TokenURL is where the password flow's token endpoint is: a URL or
	// a path relative to the server ("/token"); required. A path also
	// documents the endpoint itself as an operation.
	TokenURL string
	// RefreshURL is where refresh tokens are exchanged; usually TokenURL,
	// which is the default.
	RefreshURL string
	Servers    []string // the base URLs of the API; none means "/"
}

// OpenAPI returns the OpenAPI 3.1 document of api as JSON: the routes
// with their path parameters; one "oauth2" security scheme with the
// password flow and every scope of the registry; on each operation the
// security it enforces (Route.Scopes as one requirement, Route.AnyScope
// as alternatives, authentication only as a requirement without scopes,
// Public as none), and the RFC 6750 §3 answers to a request refused (and
// 503 when Config.Denylist or Config.LoadUser puts a store on the
// request path). The
// error bodies are those of [DefaultErrorHandler]. The output is
// deterministic.
func (api *API) OpenAPI(info OpenAPIInfo) ([]byte, error) {
	var missing []string
	for _, f := range []struct{ name, v string }{{"Title", info.Title}, {"Version", info.Version}, {"TokenURL", info.TokenURL}} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if missing != nil {
		return nil, errors.New("tollgate: OpenAPI: OpenAPIInfo." + strings.Join(missing, ", ") + " required")
	}
	if info.RefreshURL == "" {
		info.RefreshURL = info.TokenURL
	}
	doc := oaDocument{
		OpenAPI:    "3.1.0",
		Info:       oaInfo{Title: info.Title, Version: info.Version, Description: info.Description},
		Paths:      map[string]map[string]*oaOperation{},
		Components: components(api.auth.scopes, info, api.auth.cfg.Clients != nil),
	}
	for _, s := range info.Servers {
		doc.Servers = append(doc.Servers, oaServer{URL: s})
	}
	if strings.HasPrefix(info.TokenURL, "/") {
		doc.Paths[info.TokenURL] = map[string]*oaOperation{"post": tokenOperation()}
	}
	for _, r := range api.routes {
		item := doc.Paths[r.template]
		if item == nil {
			item = map[string]*oaOperation{}
			doc.Paths[r.template] = item
		}
		method := strings.ToLower(r.Method)
		if item[method] != nil {
			return nil, fmt.Errorf("tollgate: OpenAPI: %s %s is also the token endpoint", r.Method, r.template)
		}
		op := r.operation()
		if !r.Public && (api.auth.cfg.Denylist != nil || api.auth.cfg.LoadUser) {
			// A protected request consults a store then: one that fails
			// is 503 with Retry-After (storeFailed).
			op.Responses["503"] = ref("responses/Unavailable")
		}
		item[method] = op
	}
	return json.MarshalIndent(doc, "", "  ")
}

// OpenAPIHandler serves api.OpenAPI(info) to GET (and HEAD) requests as
// application/json. The document is built once, here; it panics if that
// fails (a missing OpenAPIInfo field: a wiring bug).
func (api *API) OpenAPIHandler(info OpenAPIInfo) http.Handler {
	doc, err := api.OpenAPI(info)
	if err != nil {
		panic(err.Error())
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "Use GET", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(doc)
	})
}

// The OpenAPI 3.1 objects tollgate writes; maps give sorted keys.
type (
	oaDocument struct {
		OpenAPI    string                             `json:"openapi"`
		Info       oaInfo                             `json:"info"`
		Servers    []oaServer                         `json:"servers,omitempty"`
		Paths      map[string]map[string]*oaOperation `json:"paths"`
		Components map[string]any                     `json:"components"`
	}
	oaInfo struct {
		Title       string `json:"title"`
		Version     string `json:"version"`
		Description string `json:"description,omitempty"`
	}
	oaServer struct {
		URL string `json:"url"`
	}
	oaOperation struct {
		Summary     string                `json:"summary,omitempty"`
		Description string                `json:"description,omitempty"`
		Parameters  []oaParameter         `json:"parameters,omitempty"`
		RequestBody any                   `json:"requestBody,omitempty"`
		Security    []map[string][]string `json:"security"` // always present: [] is "none"
		Responses   map[string]any        `json:"responses"`
	}
	oaParameter struct {
		Name     string         `json:"name"`
		In       string         `json:"in"`
		Required bool           `json:"required"`
		Schema   map[string]any `json:"schema"`
	}
)

// schemeName is the name of tollgate's security scheme.
const schemeName = "oauth2"

// ref is a Reference Object.
func ref(to string) map[string]any { return map[string]any{"$ref": "#/components/" + to} }

// operation is the Operation Object of r.
func (r *apiRoute) operation() *oaOperation {
	op := &oaOperation{
		Summary:   r.Summary,
		Security:  []map[string][]string{},
		Responses: map[string]any{},
	}
	success := "2XX"
	if r.Status != 0 {
		success = strconv.Itoa(r.Status)
	}
	op.Responses[success] = map[string]any{"description": "Success"}
	for _, p := range r.params {
		op.Parameters = append(op.Parameters, oaParameter{Name: p, In: "path", Required: true, Schema: map[string]any{"type": "string"}})
	}
	switch {
	case r.Public:
		op.Description = "No access token needed."
		return op
	case r.AnyScope != nil:
		// RFC 6750 §3 / OpenAPI 3.1 §4.8.30: alternatives, any one of
		// which satisfies the operation.
		for _, s := range r.AnyScope {
			op.Security = append(op.Security, map[string][]string{schemeName: {s}})
		}
		op.Description = "Needs an access token granted one of: " + formatScopeList(r.AnyScope) + "."
	default:
		// One requirement: every scope in it is needed.
		op.Security = append(op.Security, map[string][]string{schemeName: append([]string{}, r.Scopes...)})
		switch op.Description = "Needs an access token"; len(r.Scopes) {
		case 0:
		case 1:
			op.Description += " granted " + formatScopeList(r.Scopes)
		default:
			op.Description += " granted all of: " + formatScopeList(r.Scopes)
		}
		op.Description += "."
	}
	op.Responses["400"] = ref("responses/InvalidRequest")
	op.Responses["401"] = ref("responses/Unauthorized")
	op.Responses["403"] = ref("responses/InsufficientScope")
	return op
}

// formatScopeList is "`a`, `b`" for a description.
func formatScopeList(scopes []string) string {
	return "`" + strings.Join(scopes, "`, `") + "`"
}

// components is the Components Object: the security scheme and the
// shared answers. confidential: Config.Clients is set, so the token
// endpoint serves the client_credentials grant too.
func components(reg scopeRegistry, info OpenAPIInfo, confidential bool) map[string]any {
	scopes := map[string]string(maps.Clone(reg))
	str := map[string]any{"type": "string"}
	jsonOf := func(schema string) map[string]any {
		return map[string]any{"application/json": map[string]any{"schema": ref("schemas/" + schema)}}
	}
	bearerAnswer := func(desc string) map[string]any {
		return map[string]any{
			"description": desc,
			"headers":     map[string]any{"WWW-Authenticate": ref("headers/WWW-Authenticate")},
			"content":     jsonOf("BearerError"),
		}
	}
	tokenError := func(desc string) map[string]any {
		return map[string]any{"description": desc, "content": jsonOf("TokenError")}
	}
	flows := map[string]any{
		// RFC 6749 §4.3.
		"password": map[string]any{
			"tokenUrl":   info.TokenURL,
			"refreshUrl": info.RefreshURL,
			"scopes":     scopes,
		},
	}
	grants := []string{"password", "refresh_token"}
	clientAuth := "invalid_client (RFC 6749 §5.2): an unknown public client."
	if confidential {
		// RFC 6749 §4.4: confidential clients, for themselves; no
		// refresh token (§4.4.3).
		flows["clientCredentials"] = map[string]any{"tokenUrl": info.TokenURL, "scopes": scopes}
		grants = append(grants, "client_credentials")
		clientAuth = "invalid_client (RFC 6749 §5.2): client authentication failed (a wrong or missing secret, an unknown client); 401 with a Basic challenge."
	}
	return map[string]any{
		"securitySchemes": map[string]any{
			schemeName: map[string]any{
				"type":        "oauth2",
				"description": "OAuth 2.0 (RFC 6749) with JWT access tokens (RFC 9068) sent as Bearer tokens (RFC 6750).",
				"flows":       flows,
			},
		},
		"headers": map[string]any{
			"WWW-Authenticate": map[string]any{
				"description": "The Bearer challenge (RFC 6750 §3): the realm, and but for a request without a token, " +
					"error, error_description and, for insufficient_scope, the scope needed.",
				"required": true,
				"schema":   str,
			},
		},
		"responses": map[string]any{
			"InvalidRequest":    bearerAnswer("invalid_request (RFC 6750 §3.1): a malformed Authorization header, several of them, or a token sent in more than one way."),
			"Unauthorized":      bearerAnswer("No access token (RFC 6750 §3.1: a bare challenge; the body's error is \"unauthorized\"), or invalid_token: an invalid, expired or revoked one."),
			"InsufficientScope": bearerAnswer("insufficient_scope (RFC 6750 §3.1): the token lacks a scope the operation needs."),
			"TokenError":        tokenError("An RFC 6749 §5.2 error: invalid_request, invalid_grant (wrong credentials, a bad or spent refresh token), invalid_scope or unsupported_grant_type."),
			"InvalidClient":     tokenError(clientAuth),
			"SlowDown":          tokenError("slow_down: too many failed logins; no password was checked. Retry after Retry-After."),
			"Unavailable":       tokenError("temporarily_unavailable: the server is busy or a store does not answer. Retry after Retry-After."),
		},
		"schemas": map[string]any{
			"BearerError": errorSchema("The body of a refused request to a protected operation (tollgate.DefaultErrorHandler).",
				"unauthorized", "invalid_request", "invalid_token", "insufficient_scope", "temporarily_unavailable"),
			"TokenError": errorSchema("An RFC 6749 §5.2 error response.",
				"invalid_request", "invalid_client", "invalid_grant", "invalid_scope", "unauthorized_client",
				"unsupported_grant_type", "slow_down", "temporarily_unavailable", "server_error"),
			"TokenRequest": map[string]any{
				"description": "RFC 6749 §4.3.2 (password), §6 (refresh_token) and, for confidential clients, §4.4.2 (client_credentials), form-encoded.",
				"type":        "object",
				"required":    []string{"grant_type"},
				"properties": map[string]any{
					"grant_type":    map[string]any{"type": "string", "enum": grants},
					"username":      str,
					"password":      map[string]any{"type": "string", "format": "password"},
					"scope":         map[string]any{"type": "string", "description": "Space-delimited scopes (RFC 6749 §3.3); omitted: every scope the user holds."},
					"refresh_token": str,
					"client_id":     map[string]any{"type": "string", "description": "The client's id (RFC 6749 §2.3.1), here or in a Basic header; omitted: the first-party client."},
					"client_secret": map[string]any{"type": "string", "format": "password", "description": "A confidential client's secret (RFC 6749 §2.3.1), here or in a Basic header, never both."},
				},
			},
			"TokenResponse": map[string]any{
				"description": "RFC 6749 §5.1.",
				"type":        "object",
				"required":    []string{"access_token", "token_type", "expires_in"},
				"properties": map[string]any{
					"access_token":  str,
					"token_type":    map[string]any{"type": "string", "enum": []string{"Bearer"}},
					"expires_in":    map[string]any{"type": "integer"},
					"refresh_token": str,
					"scope":         str,
				},
			},
		},
	}
}

// errorSchema is the Schema Object of an error body
// {"error", "error_description"} with the given codes.
func errorSchema(desc string, codes ...string) map[string]any {
	return map[string]any{
		"description": desc,
		"type":        "object",
		"required":    []string{"error"},
		"properties": map[string]any{
			"error":             map[string]any{"type": "string", "enum": codes},
			"error_description": map[string]any{"type": "string"},
		},
	}
}

// tokenOperation documents the token endpoint (RFC 6749 §3.2).
func tokenOperation() *oaOperation {
	return &oaOperation{
		Summary:     "Token endpoint",
		Description: "The password grant (RFC 6749 §4.3) and the refresh_token grant (§6). No access token needed.",
		RequestBody: map[string]any{
			"required": true,
			"content": map[string]any{"application/x-www-form-urlencoded": map[string]any{
				"schema": ref("schemas/TokenRequest"),
			}},
		},
		Security: []map[string][]string{},
		Responses: map[string]any{
			"200": map[string]any{
				"description": "The tokens (RFC 6749 §5.1), with Cache-Control: no-store.",
				"content":     map[string]any{"application/json": map[string]any{"schema": ref("schemas/TokenResponse")}},
			},
			"400": ref("responses/TokenError"),
			"401": ref("responses/InvalidClient"),
			"429": ref("responses/SlowDown"),
			"503": ref("responses/Unavailable"),
		},
	}
}
