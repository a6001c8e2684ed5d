package tollgate

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"reflect"
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
	// "/items/{id}" (one segment), "/files/{path...}" (the rest of the
	// path: it may contain "/", and the document says so) and a
	// trailing "{$}" (this path exactly). A Path ending in "/", which
	// ServeMux reads as a whole subtree, is refused: one OpenAPI path
	// cannot stand for every path below it. Write "/files/{$}" for
	// "/files/" alone, "/files/{path...}" for the subtree, and "/{$}"
	// for the root.
	//
	// "{$}" and "{name...}" are ServeMux syntax, which chi, gorilla/mux,
	// gin and echo read otherwise or not at all: see [API.Each].
	Path     string
	Summary  string       // a short summary for the document; optional
	Status   int          // the success status to document, as 200 or 201; 0 documents "2XX"
	Scopes   []string     // the token needs all of these ([Authenticator.RequireScopes])
	AnyScope []string     // or one of these ([Authenticator.RequireAnyScope]); not with Scopes
	Public   bool         // no token needed; not with Scopes or AnyScope
	Handler  http.Handler // the operation, called only for requests that pass; never already wrapped in RequireScopes or RequireAnyScope
	// RequestBody, if set, is an OpenAPI 3.1 Request Body Object
	// (§4.8.13), as JSON, copied as it is into the operation: for
	// example {"required": true, "content": {"application/json":
	// {"schema": {...}}}}. It must be a JSON object with "content" (or a
	// Reference Object, "$ref"); tollgate does not read it further.
	RequestBody json.RawMessage
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
	template string      // the OpenAPI path template: "/items/{id}"
	params   []pathParam // the path parameters, in order
}

// pathParam is a wildcard of a Path: "{name}", or "{name...}" (rest).
type pathParam struct {
	name string
	rest bool
}

// API checks routes and returns them as an [API], each handler wrapped in
// [Authenticator.RequireScopes] (Route.Scopes, or none),
// [Authenticator.RequireAnyScope] (Route.AnyScope), or nothing
// (Route.Public).
//
// Like RequireScopes, it panics on a wiring bug: an unregistered scope,
// both Scopes and AnyScope (or either with Public), no handler (nil, or a
// nil func, pointer, map or channel in an http.Handler), a handler that
// RequireScopes or RequireAnyScope already wraps (it would enforce
// scopes the document does not show), a RequestBody that is not a JSON
// object, a method that is not an OpenAPI operation, a path that is not
// a valid pattern or ends in "/" (a subtree), or two routes that
// [http.ServeMux] would refuse together or that OpenAPI cannot tell
// apart: the same method and OpenAPI path ("GET /a/{x}" and
// "GET /a/{x...}"), or the same path up to the wildcard names.
func (a *Authenticator) API(routes ...Route) *API {
	api := &API{auth: a, routes: make([]apiRoute, 0, len(routes))}
	check := http.NewServeMux()       // ServeMux's own pattern rules, at setup
	shapes := map[string]string{}     // pathShape → OpenAPI path
	operations := map[string]string{} // method and OpenAPI path → route
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
		case nilHandler(rt.Handler):
			fail("no Handler")
		case isGuard(rt.Handler):
			fail("the Handler is already wrapped in RequireScopes or RequireAnyScope, which the document cannot see: " +
				"declare the scopes on the Route, not by wrapping")
		case len(rt.Scopes) > 0 && rt.AnyScope != nil:
			fail("Scopes and AnyScope are exclusive")
		case rt.Public && (len(rt.Scopes) > 0 || rt.AnyScope != nil):
			fail("a Public route requires no scope")
		case rt.AnyScope != nil && len(rt.AnyScope) == 0:
			fail("AnyScope is empty")
		case rt.Status != 0 && (rt.Status < 100 || rt.Status > 399):
			fail("Status must be a success (100 to 399), or 0")
		}
		if len(rt.RequestBody) > 0 {
			var body map[string]json.RawMessage
			if err := json.Unmarshal(rt.RequestBody, &body); err != nil || body == nil {
				fail("RequestBody must be a JSON object, an OpenAPI Request Body Object")
			}
			if body["content"] == nil && body["$ref"] == nil {
				fail(`RequestBody needs "content" (OpenAPI 3.1 §4.8.13), or "$ref"`)
			}
		}
		a.scopes.mustKnow("API: route "+name+": Scopes", rt.Scopes)
		a.scopes.mustKnow("API: route "+name+": AnyScope", rt.AnyScope)
		func() {
			defer func() {
				if v := recover(); v != nil {
					fail(fmt.Sprint(v))
				}
			}()
			check.Handle(name, http.NotFoundHandler())
		}()
		// Patterns ServeMux takes together but OpenAPI cannot tell
		// apart: "/a/{x}" and "/a/{x...}" are both the path "/a/{x}".
		op := rt.Method + " " + template
		if prev, ok := operations[op]; ok {
			fail("OpenAPI cannot tell it from " + prev + ": both are " + op)
		}
		operations[op] = name
		// OpenAPI 3.1 §4.8.8: templated paths that differ only in
		// their parameter names MUST NOT exist together.
		shape := pathShape(template)
		if prev, ok := shapes[shape]; ok && prev != template {
			fail("the same path as " + prev + " with other wildcard names")
		}
		shapes[shape] = template
		// Copies, each scope once: the table cannot change after API.
		rt.Scopes = slices.Clone(a.scopes.registered(rt.Scopes))
		rt.AnyScope = slices.Clone(a.scopes.registered(rt.AnyScope))
		rt.RequestBody = slices.Clone(rt.RequestBody)
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

// nilHandler reports whether h is nil, or a nil func, pointer, map,
// channel or interface in an http.Handler (http.HandlerFunc(nil)), which
// would panic at request time, behind the guard.
func nilHandler(h http.Handler) bool {
	if h == nil {
		return true
	}
	switch v := reflect.ValueOf(h); v.Kind() {
	case reflect.Func, reflect.Pointer, reflect.Map, reflect.Chan, reflect.Interface:
		return v.IsNil()
	}
	return false
}

// isGuard reports whether h is what RequireScopes or RequireAnyScope
// returns (bearer.go).
func isGuard(h http.Handler) bool {
	_, ok := h.(guard)
	return ok
}

// operationMethods are the methods an OpenAPI 3.1 Path Item has
// operations for.
var operationMethods = []string{"GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE"}

// pathTemplate turns a ServeMux path pattern into an OpenAPI path
// template and its parameters: "{name}" and "{name...}" are the parameter
// name, a trailing "{$}" is dropped. A pattern ending in "/" (a subtree)
// is refused. Other checks are ServeMux's.
func pathTemplate(path string) (string, []pathParam, error) {
	if !strings.HasPrefix(path, "/") {
		return "", nil, errors.New(`the path must start with "/" (no host)`)
	}
	if strings.HasSuffix(path, "/") {
		return "", nil, fmt.Errorf(`a path ending in "/" is a subtree in ServeMux, every path below it, which OpenAPI cannot document as one path: `+
			`use {$} or {name...}: %q for this path only, %q for the subtree`, path+"{$}", path+"{path...}")
	}
	segs := strings.Split(path[1:], "/")
	var params []pathParam
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
		p := pathParam{name: strings.TrimSuffix(name, "..."), rest: strings.HasSuffix(name, "...")}
		if p.name == "" || slices.ContainsFunc(params, func(q pathParam) bool { return q.name == p.name }) {
			return "", nil, fmt.Errorf("segment %q: a wildcard needs a name of its own", s)
		}
		params = append(params, p)
		segs[i] = "{" + p.name + "}"
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
//
// The paths are passed as they are, in [http.ServeMux] syntax. "{id}"
// reads the same in chi and gorilla/mux, but "{$}" and "{name...}" are
// ServeMux's own, which chi, gorilla/mux, gin and echo read otherwise
// or not at all: a function mounting the table on another router must
// translate them, or refuse them at mount (as examples/routers does).
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
	// TokenURL is where the token endpoint is, required: an absolute URL
	// ("https://auth.example.com/token"), or a path on the server
	// ("/token"), appended to the server's URL as the document's paths
	// are (OpenAPI 3.1 §4.8.8). Neither may have a fragment (RFC 6749
	// §3.2); a path has no query and no braces either. A path also
	// documents the endpoint itself as an operation, when the
	// Authenticator issues tokens (Config.Users and Config.SigningKey);
	// one that only verifies documents the flows' tokenUrl alone.
	//
	// OpenAPI 3.1's text allows relative URLs here ("Relative
	// References in URLs"), but its JSON Schema of 2022-10-07 types
	// tokenUrl and refreshUrl as absolute URIs ("format": "uri";
	// OAI/OpenAPI-Specification#4327), so validators built on it refuse
	// "/token". When Servers[0] is an absolute URL, the flows therefore
	// get the path resolved against it: Servers[0] followed by the path,
	// the URL of the documented operation.
	TokenURL string
	// RefreshURL is where refresh tokens are exchanged; usually TokenURL,
	// which is the default. It is checked and resolved as TokenURL.
	RefreshURL string
	Servers    []string // the base URLs of the API; none means "/"
}

// OpenAPI returns the OpenAPI 3.1 document of api as JSON. It has the
// routes with their path parameters and Route.RequestBody; the "oauth2"
// security scheme with the password flow (and clientCredentials, with
// Config.Clients) and every scope of the registry, and an "apiKey"
// scheme for each other place Config.Tokens lets the token come from
// (the cookie, the access_token query parameter); on each operation the
// security it enforces (Route.Scopes as one requirement, Route.AnyScope
// as alternatives, authentication only as a requirement without scopes,
// Public as none; each once per scheme, with the same scopes), and the
// RFC 6750 §3 answers to a request refused (403 only where a scope is
// needed or a cross-origin cookie request is refused, and 503 when
// Config.Denylist or Config.LoadUser puts a store on the request path).
// The error bodies are those of [DefaultErrorHandler]. The output is
// deterministic.
//
// It fails when an OpenAPIInfo field is missing or malformed, or when a
// route is the token endpoint the document describes itself.
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
	tokenPath, err := endpointPath("TokenURL", info.TokenURL)
	if err != nil {
		return nil, err
	}
	refreshPath, err := endpointPath("RefreshURL", info.RefreshURL)
	if err != nil {
		return nil, err
	}
	base := serverBase(info.Servers)
	flowURL := func(v, path string) string {
		if path != "" && base != "" {
			return base + path
		}
		return v
	}
	doc := oaDocument{
		OpenAPI:    "3.1.0",
		Info:       oaInfo{Title: info.Title, Version: info.Version, Description: info.Description},
		Paths:      map[string]map[string]*oaOperation{},
		Components: api.components(flowURL(info.TokenURL, tokenPath), flowURL(info.RefreshURL, refreshPath)),
	}
	for _, s := range info.Servers {
		doc.Servers = append(doc.Servers, oaServer{URL: s})
	}
	cfg := &api.auth.cfg
	if tokenPath != "" && cfg.Users != nil && api.auth.ring().signing != nil {
		doc.Paths[tokenPath] = map[string]*oaOperation{"post": tokenOperation(cfg.Clients != nil)}
	}
	for _, r := range api.routes {
		item := doc.Paths[r.template]
		if item == nil {
			item = map[string]*oaOperation{}
			doc.Paths[r.template] = item
		}
		method := strings.ToLower(r.Method)
		if item[method] != nil {
			// API refused every other pair of the same method and path.
			return nil, fmt.Errorf("tollgate: OpenAPI: route %s %s is the token endpoint, OpenAPIInfo.TokenURL %q, "+
				"which the document describes itself: serve TokenHandler there, not a Route", r.Method, r.Path, info.TokenURL)
		}
		item[method] = api.operation(&r)
	}
	return json.MarshalIndent(doc, "", "  ")
}

// endpointPath checks OpenAPIInfo.field, v: an absolute URL (the result
// is "") or a path on the server (the result is that path, the key of
// its Path Item).
func endpointPath(field, v string) (string, error) {
	bad := func(why string) error {
		return fmt.Errorf("tollgate: OpenAPI: OpenAPIInfo.%s %q: %s", field, v, why)
	}
	u, err := url.Parse(v)
	switch {
	case err != nil:
		return "", bad("not a URL")
	case u.Fragment != "" || strings.Contains(v, "#"):
		return "", bad("a fragment (RFC 6749 §3.2: the endpoint URI MUST NOT include one)")
	case u.IsAbs() && u.Host != "":
		return "", nil
	case !strings.HasPrefix(v, "/") || strings.HasPrefix(v, "//"):
		return "", bad(`want an absolute URL ("https://auth.example.com/token") or a path on the server ("/token")`)
	case u.RawQuery != "" || u.ForceQuery:
		return "", bad("a path on the server with a query, which an OpenAPI path cannot hold")
	case strings.ContainsAny(u.Path, "{}"):
		return "", bad("braces, which an OpenAPI path reads as a template")
	}
	return u.EscapedPath(), nil
}

// serverBase is servers[0] without a trailing "/" when it is an absolute
// URL (no server variables, query or fragment), else "".
func serverBase(servers []string) string {
	if len(servers) == 0 || strings.ContainsAny(servers[0], "{}") {
		return ""
	}
	u, err := url.Parse(servers[0])
	if err != nil || !u.IsAbs() || u.Host == "" || u.RawQuery != "" || u.ForceQuery || strings.Contains(servers[0], "#") {
		return ""
	}
	return strings.TrimSuffix(servers[0], "/")
}

// OpenAPIHandler serves api.OpenAPI(info) to GET (and HEAD) requests as
// application/json, with X-Content-Type-Options: nosniff (the document
// carries the route table's strings). The document is built once, here;
// it panics if that fails (a missing OpenAPIInfo field: a wiring bug).
func (api *API) OpenAPIHandler(info OpenAPIInfo) http.Handler {
	doc, err := api.OpenAPI(info)
	if err != nil {
		panic(err.Error())
	}
	return serveDocument(doc, "")
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
		Name        string         `json:"name"`
		In          string         `json:"in"`
		Description string         `json:"description,omitempty"`
		Required    bool           `json:"required"`
		Schema      map[string]any `json:"schema"`
	}
)

// The names of tollgate's security schemes: the Authorization header
// (RFC 6750 §2.1), and the two other places Config.Tokens may allow.
const (
	schemeName   = "oauth2"
	cookieScheme = "tokenCookie" // Config.Tokens.Cookie
	queryScheme  = "tokenQuery"  // Config.Tokens.Query: access_token (RFC 6750 §2.3)
)

// schemes are the security schemes a protected operation accepts.
func (api *API) schemes() []string {
	s := []string{schemeName}
	if api.auth.cfg.Tokens.Cookie != "" {
		s = append(s, cookieScheme)
	}
	if api.auth.cfg.Tokens.Query {
		s = append(s, queryScheme)
	}
	return s
}

// ref is a Reference Object.
func ref(to string) map[string]any { return map[string]any{"$ref": "#/components/" + to} }

// operation is the Operation Object of r.
func (api *API) operation(r *apiRoute) *oaOperation {
	op := &oaOperation{
		Summary:   r.Summary,
		Security:  []map[string][]string{},
		Responses: map[string]any{},
	}
	if len(r.RequestBody) > 0 {
		op.RequestBody = r.RequestBody
	}
	success := "2XX"
	if r.Status != 0 {
		success = strconv.Itoa(r.Status)
	}
	op.Responses[success] = map[string]any{"description": "Success"}
	for _, p := range r.params {
		param := oaParameter{Name: p.name, In: "path", Required: true, Schema: map[string]any{"type": "string"}}
		if p.rest {
			param.Description = "The rest of the path ({" + p.name + `...} in http.ServeMux): it may contain "/", and be empty.`
		}
		op.Parameters = append(op.Parameters, param)
	}
	var reqs [][]string // the requirements of one scheme
	switch {
	case r.Public:
		op.Description = "No access token needed."
		return op
	case r.AnyScope != nil:
		// RFC 6750 §3 / OpenAPI 3.1 §4.8.30: alternatives, any one of
		// which satisfies the operation.
		for _, s := range r.AnyScope {
			reqs = append(reqs, []string{s})
		}
		op.Description = "Needs an access token granted one of: " + formatScopeList(r.AnyScope) + "."
	default:
		// One requirement: every scope in it is needed.
		reqs = [][]string{r.Scopes}
		switch op.Description = "Needs an access token"; len(r.Scopes) {
		case 0:
		case 1:
			op.Description += " granted " + formatScopeList(r.Scopes)
		default:
			op.Description += " granted all of: " + formatScopeList(r.Scopes)
		}
		op.Description += "."
	}
	// The same requirements for each place the token may come from: the
	// scopes are the token's wherever it was found (OpenAPI 3.1
	// §4.8.30 allows them, as "roles", on schemes other than oauth2).
	for _, scheme := range api.schemes() {
		for _, req := range reqs {
			op.Security = append(op.Security, map[string][]string{scheme: append([]string{}, req...)})
		}
	}
	op.Responses["400"] = ref("responses/InvalidRequest")
	op.Responses["401"] = ref("responses/Unauthorized")
	// A token without scopes to check has none to lack: 403 only for a
	// route with scopes, or for a cross-origin request with an unsafe
	// method whose token came in the cookie (checkOrigin).
	scoped := len(r.Scopes) > 0 || r.AnyScope != nil
	crossOrigin := api.auth.cfg.Tokens.Cookie != "" && !slices.Contains(safeMethods, r.Method)
	switch {
	case scoped && crossOrigin:
		op.Responses["403"] = ref("responses/InsufficientScopeOrCrossOrigin")
	case scoped:
		op.Responses["403"] = ref("responses/InsufficientScope")
	case crossOrigin:
		op.Responses["403"] = ref("responses/CrossOrigin")
	}
	if api.auth.cfg.Denylist != nil || api.auth.cfg.LoadUser {
		// A protected request consults a store then: one that fails
		// is 503 with Retry-After (storeFailed).
		op.Responses["503"] = ref("responses/Unavailable")
	}
	return op
}

// safeMethods are the methods [http.CrossOriginProtection] lets through
// from any origin.
var safeMethods = []string{"GET", "HEAD", "OPTIONS"}

// formatScopeList is "`a`, `b`" for a description.
func formatScopeList(scopes []string) string {
	return "`" + strings.Join(scopes, "`, `") + "`"
}

// components is the Components Object: the security schemes and the
// shared answers, with the flows' tokenUrl and refreshUrl as given.
func (api *API) components(tokenURL, refreshURL string) map[string]any {
	cfg := &api.auth.cfg
	scopes := map[string]string(maps.Clone(api.auth.scopes))
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
	// maybeChallenge is an answer whose challenge tollgate sends in one
	// case and not in another: the header is not required.
	maybeChallenge := func(desc, header string) map[string]any {
		return map[string]any{
			"description": desc,
			"headers":     map[string]any{"WWW-Authenticate": map[string]any{"description": header, "schema": str}},
			"content":     jsonOf("BearerError"),
		}
	}
	tokenError := func(desc string, headers map[string]any) map[string]any {
		r := map[string]any{"description": desc, "content": jsonOf("TokenError")}
		if headers != nil {
			r["headers"] = headers
		}
		return r
	}
	retryAfter := map[string]any{"Retry-After": ref("headers/Retry-After")}
	password := map[string]any{"tokenUrl": tokenURL, "scopes": scopes} // RFC 6749 §4.3
	grants := []string{"password"}
	if cfg.Refresh != nil {
		// RFC 6749 §6: only an Authenticator with a RefreshStore issues
		// refresh tokens.
		password["refreshUrl"] = refreshURL
		grants = append(grants, "refresh_token")
	}
	flows := map[string]any{"password": password}
	clientAuth := "invalid_client (RFC 6749 §5.2): an unknown public client."
	if cfg.Clients != nil {
		// RFC 6749 §4.4: confidential clients, for themselves; no
		// refresh token (§4.4.3).
		flows["clientCredentials"] = map[string]any{"tokenUrl": tokenURL, "scopes": scopes}
		grants = append(grants, "client_credentials")
		clientAuth = "invalid_client (RFC 6749 §5.2): client authentication failed (a wrong or missing secret, an unknown client); 401 with a Basic challenge."
	}
	schemes := map[string]any{
		schemeName: map[string]any{
			"type":        "oauth2",
			"description": "OAuth 2.0 (RFC 6749) with JWT access tokens (RFC 9068) sent as Bearer tokens (RFC 6750).",
			"flows":       flows,
		},
	}
	const sameScopes = " Operations list the scopes the token needs, as for oauth2; a token sent in more than one way is 400 invalid_request."
	if c := cfg.Tokens.Cookie; c != "" {
		schemes[cookieScheme] = map[string]any{
			"type": "apiKey", "in": "cookie", "name": c,
			"description": "The access token of oauth2 in the cookie " + c + ", read when there is no Authorization header. " +
				"A request so authenticated with an unsafe method (not GET, HEAD or OPTIONS) must be same-origin, else 403." + sameScopes,
		}
	}
	if cfg.Tokens.Query {
		schemes[queryScheme] = map[string]any{
			"type": "apiKey", "in": "query", "name": "access_token",
			"description": "The access token of oauth2 in the access_token query parameter (RFC 6750 §2.3)." + sameScopes,
		}
	}
	const crossOrigin = "invalid_request without a challenge: a cross-origin request with an unsafe method, authenticated by the token cookie."
	responses := map[string]any{
		"InvalidRequest": maybeChallenge("tollgate's invalid_request (RFC 6750 §3.1, with the challenge): a malformed Authorization header, "+
			"several of them, or a token sent in more than one way; or the operation's own 400.",
			"The Bearer challenge (RFC 6750 §3) of tollgate's invalid_request; the operation's own 400 may have none."),
		"Unauthorized":      bearerAnswer("No access token (RFC 6750 §3.1: a bare challenge; the body's error is \"unauthorized\"), or invalid_token: an invalid, expired or revoked one."),
		"InsufficientScope": bearerAnswer("insufficient_scope (RFC 6750 §3.1): the token lacks a scope the operation needs."),
		"TokenError": tokenError("An RFC 6749 §5.2 error: invalid_request, invalid_grant (wrong credentials, a bad or spent refresh token), invalid_scope, "+
			"unsupported_grant_type, unauthorized_client, or invalid_client for a client that did not authenticate with the Basic header.", nil),
		"InvalidClient": tokenError(clientAuth, map[string]any{"WWW-Authenticate": map[string]any{
			"description": "The Basic challenge of a 401 invalid_client (RFC 6749 §5.2): Basic realm=\"...\", charset=\"UTF-8\" (RFC 7617).",
			"schema":      str,
		}}),
		"SlowDown":    tokenError("slow_down: too many failed logins; no password was checked. Retry after Retry-After.", retryAfter),
		"Unavailable": tokenError("temporarily_unavailable: the server is busy or a store does not answer. Retry after Retry-After.", retryAfter),
	}
	if cfg.Tokens.Cookie != "" {
		responses["CrossOrigin"] = map[string]any{"description": crossOrigin, "content": jsonOf("BearerError")}
		responses["InsufficientScopeOrCrossOrigin"] = maybeChallenge(
			"insufficient_scope (RFC 6750 §3.1, with the challenge): the token lacks a scope the operation needs; or "+crossOrigin,
			"The Bearer challenge (RFC 6750 §3) of insufficient_scope; not sent for a cross-origin request.")
	}
	return map[string]any{
		"securitySchemes": schemes,
		"headers": map[string]any{
			"WWW-Authenticate": map[string]any{
				"description": "The Bearer challenge (RFC 6750 §3): the realm, and but for a request without a token, " +
					"error, error_description and, for insufficient_scope, the scope needed.",
				"required": true,
				"schema":   str,
			},
			"Retry-After": map[string]any{
				"description": "The seconds to wait before trying again (RFC 9110 §10.2.3).",
				"schema":      map[string]any{"type": "integer", "minimum": 0},
			},
		},
		"responses": responses,
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

// tokenOperation documents the token endpoint (RFC 6749 §3.2);
// confidential: Config.Clients is set, so it serves client_credentials
// too.
func tokenOperation(confidential bool) *oaOperation {
	desc := "The password grant (RFC 6749 §4.3) and the refresh_token grant (§6). No access token needed."
	if confidential {
		desc = "The password grant (RFC 6749 §4.3), the refresh_token grant (§6) and, for confidential clients, the client_credentials grant (§4.4). No access token needed."
	}
	return &oaOperation{
		Summary:     "Token endpoint",
		Description: desc,
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
