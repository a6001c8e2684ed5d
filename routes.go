package tollgate

// The route table: one declaration per route of its method, path, scopes
// and handler, which guards the handler (RequireScopes, RequireAnyScope)
// and from which openapi.go writes the OpenAPI document, so that the
// docs cannot drift from what is enforced.

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"slices"
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
