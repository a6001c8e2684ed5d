package main

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/tollgate-go/tollgate"
	"github.com/tollgate-go/tollgate/examples/internal/demo"
)

// The items API of the examples (package demo): its item and limits.
type item = demo.Item

const (
	maxItemBody = demo.MaxItemBody
	maxItemName = demo.MaxItemName
)

// server holds the state behind the routes.
type server struct {
	auth     *tollgate.Authenticator
	resource string // the resource identifier of RFC 9728: the audience

	items *demo.Items
}

// routes is the API of the example, declared once: tollgate.API guards
// each handler with the route's scopes, and /openapi.json documents the
// same table.
func (s *server) routes(ready func(context.Context) error) []tollgate.Route {
	return []tollgate.Route{
		{Method: "GET", Path: "/.well-known/jwks.json", Summary: "The public verification keys (a JWK Set, RFC 7517)", Status: 200, Public: true, Handler: s.auth.JWKSHandler()},
		{Method: "GET", Path: "/users/me", Summary: "Your username and granted scopes", Status: 200, Scopes: []string{"me"}, Handler: demo.WithSubject(demo.Me)},
		{Method: "GET", Path: "/items", Summary: "List the items", Status: 200, Scopes: []string{"items:read"}, Handler: demo.WithSubject(s.items.List)},
		{Method: "POST", Path: "/items", Summary: `Create an item from {"name": "..."}`, Status: 201, Scopes: []string{"items:write"}, Handler: demo.WithSubject(s.items.Create),
			RequestBody: json.RawMessage(`{"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["name"], "additionalProperties": false,
				"properties": {"name": {"type": "string", "minLength": 1, "maxLength": 100, "description": "Printable characters"}}}}}}`)},
		{Method: "GET", Path: "/admin/users", Summary: "List the users", Status: 200, Scopes: []string{"admin:users"}, Handler: demo.WithSubject(s.listUsers)},
		{Method: "GET", Path: "/reports", Summary: "The calling client's id and scopes (a machine client's route)", Status: 200, Scopes: []string{"reports:read"}, Handler: demo.WithSubject(s.reports)},
		{Method: "GET", Path: "/.well-known/oauth-authorization-server", Summary: "The authorization server's metadata (RFC 8414)", Status: 200, Public: true, Handler: s.auth.MetadataHandler(tollgate.Endpoints{})},
		{Method: "GET", Path: "/.well-known/oauth-protected-resource", Summary: "The protected resource's metadata (RFC 9728)", Status: 200, Public: true, Handler: s.auth.ResourceMetadataHandler(s.resource)},
		{Method: "GET", Path: "/healthz", Summary: "Liveness: the process is up", Status: 200, Public: true, Handler: http.HandlerFunc(healthz)},
		{Method: "GET", Path: "/readyz", Summary: "Readiness: 200 when the stores answer, else 503", Status: 200, Public: true, Handler: readyz(ready)},
	}
}

// listUsers serves GET /admin/users: the accounts without their
// passwords or hashes.
func (s *server) listUsers(w http.ResponseWriter, r *http.Request) {
	type user struct {
		Username string   `json:"username"`
		Scopes   []string `json:"scopes"`
		Disabled bool     `json:"disabled"`
	}
	out := make([]user, 0, len(demoUsers))
	for _, u := range demoUsers {
		out = append(out, user{u.Name, demo.NonNil(u.Scopes), u.Disabled})
	}
	demo.WriteJSON(w, http.StatusOK, out)
}

// reports serves GET /reports, for a machine client's token (client
// credentials): the client and its scopes.
func (s *server) reports(w http.ResponseWriter, r *http.Request) {
	p, _ := tollgate.FromContext(r.Context())
	demo.WriteJSON(w, http.StatusOK, struct {
		ClientID string   `json:"client_id"`
		Scopes   []string `json:"scopes"`
	}{p.ClientID, demo.NonNil(p.Scopes)})
}

// healthz serves GET /healthz, open to all.
func healthz(w http.ResponseWriter, r *http.Request) {
	demo.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz answers GET /readyz: 200 when the stores answer within two
// seconds, 503 otherwise (a readiness check; /healthz stays a liveness
// check that never looks at them).
func readyz(ready func(context.Context) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := ready(ctx); err != nil {
			w.Header().Set("Retry-After", "2")
			demo.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "error": "a store does not answer"})
			return
		}
		demo.WriteJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
}
