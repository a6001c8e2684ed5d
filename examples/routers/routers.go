// Package routers shows one protected service, declared once as a
// tollgate route table, mounted on five routers: net/http's ServeMux,
// go-chi/chi, gorilla/mux, gin and echo. It is a module of its own, so
// that tollgate itself never depends on any of them.
//
// The pattern has three parts:
//
//   - One table. [Routes] returns the service's operations as
//     []tollgate.Route: method, path, the scopes each needs (or Public) and
//     a plain http.Handler. [tollgate.Authenticator.API] wraps each handler
//     in its guard (RequireScopes), and the same table is the OpenAPI
//     document, so what is enforced and what is documented cannot drift,
//     whichever router serves it.
//
//   - One mounting function per router. [ServeMux], [Chi], [Gorilla],
//     [Gin] and [Echo] walk the table with [tollgate.API.Each], register
//     each guarded handler with the router's own call, and serve the
//     document at GET /openapi.json. Paths are written in ServeMux's
//     syntax ("/items/{id}"); chi and gorilla/mux take that as is, gin and
//     echo get "/items/:id". A pattern this example does not translate
//     (as "/files/{path...}") panics at mount, as tollgate.API does.
//
//   - One way to read a path parameter. The table's handlers read
//     r.PathValue("id"), whatever the router, and get what ServeMux would
//     give them: one path segment, unescaped. ServeMux sets it itself;
//     for the others the mounting function copies the router's own
//     parameters into the request with r.SetPathValue, in one adapter per
//     router (chi sets path values itself, but leaves them escaped when
//     it routes on r.URL.RawPath, as echo does). A handler of the table
//     never imports a router.
//
// The guard answers as on any net/http stack (RFC 6750 §3.1): 401 with a
// bare challenge without a token, 401 invalid_token for a bad or expired
// one, 403 insufficient_scope naming the scope, and the handler, with the
// caller's [tollgate.Principal] in the request context, otherwise. Routes
// the table does not have are the router's own answer: 404, and 405 for a
// known path with another method (gin only with HandleMethodNotAllowed,
// which [Gin] sets). The rest of what is before the table stays each
// router's own too, and differs: ServeMux also serves HEAD for a GET
// route; ServeMux and gorilla/mux redirect an unclean path
// ("/items//2"), the others answer 404; gin redirects "/items/2/" to
// "/items/2" (RedirectTrailingSlash); gorilla/mux and gin do not match an
// escaped slash ("/items/a%2Fb") to "{id}", ServeMux, chi and echo give
// "a/b". A redirect reaches the guard only as the request that follows.
//
// A handler native to gin or echo can sit behind the same guard, outside
// the table: [GinMiddleware] adapts any net/http middleware, such as
// auth.RequireScopes("me"), to a gin.HandlerFunc, and echo has
// echo.WrapMiddleware for it; the native handler then reads the Principal
// from the request's context ([GinWhoAmI], [EchoWhoAmI]). Such a route is
// not in the OpenAPI document: prefer the table, and keep native routes
// for what needs the framework.
package routers

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/tollgate-go/tollgate"
)

// Scopes are the scopes the service's Authenticator registers
// (tollgate.Config.Scopes).
var Scopes = map[string]string{
	"me":          "Read your own username and scopes",
	"items:read":  "Read the items",
	"items:write": "Create items",
	"admin:users": "List the users",
}

// Info describes the service in its OpenAPI document. The service only
// verifies tokens: they come from an issuer elsewhere, at TokenURL.
var Info = tollgate.OpenAPIInfo{
	Title:    "tollgate on five routers",
	Version:  "1.0.0",
	TokenURL: "https://auth.example.com/token",
}

// An item is what the items API serves.
type item struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Owner string `json:"owner"`
}

// items are the service's items, read-only.
var items = map[string]item{
	"1": {ID: "1", Name: "Portal Gun", Owner: "alice"},
	"2": {ID: "2", Name: "Plumbus", Owner: "bob"},
}

// Routes is the service's route table. auth is the Authenticator that
// will guard it (auth.API(Routes(auth)...)); the table serves its JWK
// Set.
func Routes(auth *tollgate.Authenticator) []tollgate.Route {
	return []tollgate.Route{
		{Method: "GET", Path: "/healthz", Summary: "Liveness", Status: 200, Public: true, Handler: http.HandlerFunc(healthz)},
		{Method: "GET", Path: "/.well-known/jwks.json", Summary: "The public verification keys", Status: 200, Public: true, Handler: auth.JWKSHandler()},
		{Method: "GET", Path: "/users/me", Summary: "Your username and granted scopes", Status: 200, Scopes: []string{"me"}, Handler: http.HandlerFunc(me)},
		{Method: "GET", Path: "/items", Summary: "List the items", Status: 200, Scopes: []string{"items:read"}, Handler: http.HandlerFunc(listItems)},
		{Method: "GET", Path: "/items/{id}", Summary: "One item", Status: 200, Scopes: []string{"items:read"}, Handler: http.HandlerFunc(getItem)},
		{Method: "POST", Path: "/items", Summary: `Check an item {"name": "..."} and echo it`, Status: 201, Scopes: []string{"items:write"}, Handler: http.HandlerFunc(createItem)},
		{Method: "GET", Path: "/admin/users", Summary: "List the users", Status: 200, Scopes: []string{"admin:users"}, Handler: http.HandlerFunc(listUsers)},
	}
}

// healthz serves GET /healthz, without a token.
func healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, "ok\n")
}

// principal is the caller: the guard put it in the context before the
// handler runs, so it is always there behind a protected route.
func principal(r *http.Request) *tollgate.Principal {
	p, ok := tollgate.FromContext(r.Context())
	if !ok {
		panic("routers: a protected handler mounted without its guard")
	}
	return p
}

// me serves GET /users/me.
func me(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	writeJSON(w, http.StatusOK, map[string]any{"username": p.Username, "scopes": p.Scopes})
}

// listItems serves GET /items.
func listItems(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"items":  []item{items["1"], items["2"]},
		"viewer": principal(r).Username,
	})
}

// getItem serves GET /items/{id}: the parameter is r.PathValue("id") on
// every router (see the package doc).
func getItem(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	it, ok := items[id]
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]any{"error": "not_found", "id": id})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"item": it, "viewer": principal(r).Username})
}

// maxItemBody bounds the body of POST /items.
const maxItemBody = 4 << 10

// createItem serves POST /items: it checks {"name": "..."} and answers
// the item the caller would own. (It stores nothing: the example is about
// the routing.)
func createItem(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name string `json:"name"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxItemBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(&in)
	if err == nil && dec.More() {
		err = errors.New("one JSON object expected")
	}
	in.Name = strings.TrimSpace(in.Name)
	if err != nil || in.Name == "" || len(in.Name) > 100 {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_item", "error_description": `send {"name": "..."}, 1 to 100 bytes`})
		return
	}
	writeJSON(w, http.StatusCreated, item{ID: "3", Name: in.Name, Owner: principal(r).Username})
}

// listUsers serves GET /admin/users.
func listUsers(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"users": []string{"alice", "bob"}, "viewer": principal(r).Username})
}

// writeJSON answers v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
