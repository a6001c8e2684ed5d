package tollgate

// Discovery: the authorization server's metadata (RFC 8414) and a
// resource server's protected resource metadata (RFC 9728), built once
// from the configuration, so that they say what the Authenticator does.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// Endpoints are the paths (relative to Config.Issuer) or absolute URLs
// where a service mounts tollgate's endpoints, for the metadata that names
// them. The zero value of each is the conventional path.
type Endpoints struct {
	Token         string // default "/token" (TokenHandler)
	Revocation    string // default "/revoke" (RevokeHandler)
	Introspection string // default "/introspect" (IntrospectionHandler)
	JWKS          string // default "/.well-known/jwks.json" (JWKSHandler)
}

// MetadataHandler serves the authorization server's metadata (RFC 8414
// §3), to be mounted at GET /.well-known/oauth-authorization-server
// (for an issuer with a path, RFC 8414 §3.1 puts the well-known part
// between the host and the path): the issuer, the endpoints (with e's
// paths), the grant types TokenHandler serves with this configuration,
// the registered scopes, and the client authentication methods.
//
// tollgate has no authorization endpoint, so the metadata lists the
// grant types explicitly (the default of RFC 8414 §2 would claim
// authorization_code and implicit), omits authorization_endpoint (required
// only when a listed grant type uses it), and has an empty
// response_types_supported: the member is required, and no response type
// is supported. It panics on an Authenticator that does not issue tokens.
func (a *Authenticator) MetadataHandler(e Endpoints) http.Handler {
	a.mustIssue("MetadataHandler")
	body, err := json.Marshal(a.serverMetadata(e))
	if err != nil {
		panic("tollgate: MetadataHandler: " + err.Error())
	}
	return jsonDocument(body)
}

// serverMetadata is the RFC 8414 §2 document.
func (a *Authenticator) serverMetadata(e Endpoints) map[string]any {
	grants := []string{"password"}
	if a.cfg.Refresh != nil {
		grants = append(grants, "refresh_token")
	}
	auth := []string{"none"} // public clients (RFC 7591 §2)
	if a.cfg.Clients != nil {
		grants = append(grants, "client_credentials")
		auth = append(auth, "client_secret_basic", "client_secret_post")
	}
	m := map[string]any{
		"issuer":                                     a.cfg.Issuer,
		"token_endpoint":                             a.endpointURL(e.Token, "/token"),
		"revocation_endpoint":                        a.endpointURL(e.Revocation, "/revoke"),
		"jwks_uri":                                   a.endpointURL(e.JWKS, "/.well-known/jwks.json"),
		"grant_types_supported":                      grants,
		"response_types_supported":                   []string{},
		"scopes_supported":                           a.scopeNames(),
		"token_endpoint_auth_methods_supported":      auth,
		"revocation_endpoint_auth_methods_supported": auth,
	}
	if a.cfg.Clients != nil {
		// Introspection is for confidential clients (RFC 7662 §2.1).
		m["introspection_endpoint"] = a.endpointURL(e.Introspection, "/introspect")
		m["introspection_endpoint_auth_methods_supported"] = []string{"client_secret_basic", "client_secret_post"}
	}
	return m
}

// endpointURL resolves an endpoint's path (or default) against the
// issuer; an absolute URL stays as it is.
func (a *Authenticator) endpointURL(path, def string) string {
	if path == "" {
		path = def
	}
	if u, err := url.Parse(path); err == nil && u.IsAbs() {
		return path
	}
	return strings.TrimSuffix(a.cfg.Issuer, "/") + "/" + strings.TrimPrefix(path, "/")
}

// scopeNames returns the registered scopes, sorted.
func (a *Authenticator) scopeNames() []string {
	names := make([]string, 0, len(a.scopes))
	for s := range a.scopes {
		names = append(names, s)
	}
	slices.Sort(names)
	return names
}

// ResourceMetadataHandler serves the protected resource metadata of RFC
// 9728 for the resource identifier resource (an https URL; "" for the
// first of Config.Audience), to be mounted at GET
// /.well-known/oauth-protected-resource (for a resource with a path,
// RFC 9728 §3.1 puts the well-known part between the host and the path):
// the resource, the authorization servers whose tokens are accepted
// (Config.Issuer, or every one of Config.Issuers), the registered scopes,
// and how a token may be sent. Set Config.ResourceMetadata to its URL
// for the challenges of protected routes to name it (§5.1).
func (a *Authenticator) ResourceMetadataHandler(resource string) http.Handler {
	if resource == "" {
		resource = a.cfg.Audience[0]
	}
	if u, err := url.Parse(resource); err != nil || !u.IsAbs() || u.Fragment != "" {
		panic(fmt.Sprintf("tollgate: ResourceMetadataHandler(%q): the resource must be an absolute URL without fragment (RFC 9728 §1.2)", resource))
	}
	servers := []string{a.cfg.Issuer}
	if len(a.issuerOrder) > 0 {
		servers = servers[:0]
		for _, sub := range a.issuerOrder {
			servers = append(servers, sub.cfg.Issuer)
		}
	}
	methods := []string{"header"}
	if a.cfg.Tokens.Query {
		methods = append(methods, "query")
	}
	body, err := json.Marshal(map[string]any{
		"resource":                 resource,
		"authorization_servers":    servers,
		"scopes_supported":         a.scopeNames(),
		"bearer_methods_supported": methods,
	})
	if err != nil {
		panic("tollgate: ResourceMetadataHandler: " + err.Error())
	}
	return jsonDocument(body)
}

// jsonDocument serves a public JSON document built once, cacheable for
// an hour.
func jsonDocument(body []byte) http.Handler {
	return serveDocument(append(body, '\n'), "public, max-age=3600")
}

// serveDocument serves a JSON document built once to GET and HEAD, with
// X-Content-Type-Options: nosniff (it carries the configuration's
// strings) and cacheControl, if not empty.
func serveDocument(body []byte, cacheControl string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "Use GET", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("X-Content-Type-Options", "nosniff")
		if cacheControl != "" {
			h.Set("Cache-Control", cacheControl)
		}
		_, _ = w.Write(body)
	})
}
