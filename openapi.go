package tollgate

// The OpenAPI 3.1 document of a route table (routes.go): its security
// schemes, each operation's security requirements and answers, and the
// token endpoint.

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

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
