package main

import (
	"embed"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"

	"github.com/tollgate-go/tollgate"
)

// openAPIInfo is what /openapi.json says beyond the routes. The server
// is "/": the one serving the document, at whatever address it listens
// on (OpenAPI 3.1 §4.8.5: a relative server URL).
var openAPIInfo = tollgate.OpenAPIInfo{
	Title:   "tollgate examples/basic",
	Version: "1.0.0",
	Description: "The items API of tollgate's example, with the OAuth 2.0 password grant. " +
		"Authorize as alice / wonderland (me items:read items:write), bob / builder (me items:read) " +
		"or carol / admin-pass-123 (every scope); leave client_id and client_secret empty.",
	TokenURL:   "/token",
	RefreshURL: "/token",
	Servers:    []string{"/"},
}

// page holds the /docs page and its script, written for this example;
// Swagger UI itself comes from the npm package swagger-ui-dist.
//
//go:embed docs/index.html docs/init.js
var page embed.FS

// swaggerFiles are the files of swagger-ui-dist the page uses.
var swaggerFiles = []string{"swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png", "favicon-16x16.png"}

// swaggerDist is where npm puts swagger-ui-dist below examples/basic.
const swaggerDist = "node_modules/swagger-ui-dist"

// notInstalled is the answer of /docs without the swagger-ui-dist files.
const notInstalled = "Swagger UI is not installed. From the repository root run:\n\n" +
	"    npm ci --prefix examples/basic\n\n" +
	"then restart the server (or point -swagger-ui at a swagger-ui-dist directory).\n" +
	"The API itself works without it, and /openapi.json is served.\n"

// docsCSP is the Content-Security-Policy of /docs: scripts and styles
// from this origin only (the page's script is a file: no inline script),
// the inline style attributes and data: images Swagger UI renders, and
// requests (the document, /token, the API) to this origin only.
const docsCSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// docs serves Swagger UI at /docs from the swagger-ui-dist files in dir.
type docs struct {
	dir string // "" when they were not found
}

// newDocs finds the swagger-ui-dist files: dir if given, else the first
// of ./node_modules/swagger-ui-dist (go test, or a run from
// examples/basic), ./examples/basic/node_modules/swagger-ui-dist (go run
// ./examples/basic from the repository root) and the one beside this
// source file (go run from anywhere else).
func newDocs(dir string, logger *slog.Logger) docs {
	candidates := []string{dir}
	if dir == "" {
		candidates = []string{swaggerDist, filepath.Join("examples", "basic", swaggerDist)}
		if _, src, _, ok := runtime.Caller(0); ok && filepath.IsAbs(src) {
			candidates = append(candidates, filepath.Join(filepath.Dir(src), swaggerDist))
		}
	}
	for _, c := range candidates {
		if installed(c) {
			logger.Info("swagger ui", "url", "/docs", "files", c)
			return docs{dir: c}
		}
	}
	logger.Warn("Swagger UI files not found: /docs answers 503 until you run npm ci --prefix examples/basic and restart", "tried", candidates)
	return docs{}
}

// installed reports whether dir holds the files the page uses.
func installed(dir string) bool {
	for _, f := range swaggerFiles {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || !st.Mode().IsRegular() {
			return false
		}
	}
	return true
}

// register mounts GET /docs and the files of the page.
func (d docs) register(mux *http.ServeMux) {
	mux.HandleFunc("GET /docs", d.serve)
	mux.HandleFunc("GET /docs/{file}", d.serve)
}

// serve answers /docs (the page) and /docs/{file}: the page's script, or
// one of swaggerFiles. Without the files, 503 with what to run.
func (d docs) serve(w http.ResponseWriter, r *http.Request) {
	file := r.PathValue("file")
	if file != "" && file != "init.js" && !slices.Contains(swaggerFiles, file) {
		http.NotFound(w, r)
		return
	}
	if d.dir == "" || !installed(d.dir) {
		w.Header().Set("Retry-After", "60")
		http.Error(w, notInstalled, http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Security-Policy", docsCSP)
	switch file {
	case "":
		http.ServeFileFS(w, r, page, "docs/index.html")
	case "init.js":
		http.ServeFileFS(w, r, page, "docs/init.js")
	default:
		http.ServeFile(w, r, filepath.Join(d.dir, file))
	}
}
