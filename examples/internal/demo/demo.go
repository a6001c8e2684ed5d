// Package demo holds what the examples share: the demo users and their
// passwords, the scope registry with its descriptions, the items API
// (list and create, bounded, in memory) and the JSON answers. The
// passwords are printed at start on purpose: this is a demo, and they are
// meant to be typed.
package demo

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/tollgate-go/tollgate"
)

// Scopes is the scope registry of the demo services (Config.Scopes).
var Scopes = map[string]string{
	"me":          "Read your own profile",
	"items:read":  "List items",
	"items:write": "Create items",
	"admin:users": "List the users",
}

// A User is one of the accounts the examples start with.
type User struct {
	Name, Password string
	Scopes         []string
	Disabled       bool
}

// Users are the demo accounts.
var Users = []User{
	{"alice", "wonderland", []string{"me", "items:read", "items:write"}, false},
	{"bob", "builder", []string{"me", "items:read"}, false},
	{"carol", "admin-pass-123", []string{"me", "items:read", "items:write", "admin:users"}, false},
	{"dave", "disabled-pass", []string{"me"}, true},
}

// PrintUsers writes the demo accounts as a table, passwords included.
func PrintUsers(out io.Writer) {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "Demo users (in memory; the passwords are printed because this is a demo):")
	fmt.Fprintln(tw, "  USERNAME\tPASSWORD\tSCOPES\t")
	for _, u := range Users {
		s := strings.Join(u.Scopes, " ")
		if u.Disabled {
			s += "  (disabled)"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t\n", u.Name, u.Password, s)
	}
	_ = tw.Flush()
}

// HashUsers returns Users as tollgate users, their passwords hashed with
// h. bcrypt is slow on purpose, so the hashes are computed concurrently.
func HashUsers(h tollgate.PasswordHasher) ([]tollgate.User, error) {
	out := make([]tollgate.User, len(Users))
	errs := make([]error, len(Users))
	var wg sync.WaitGroup
	for i, u := range Users {
		wg.Go(func() {
			hash, err := h.Hash(u.Password)
			if err != nil {
				errs[i] = fmt.Errorf("hashing the password of %s: %w", u.Name, err)
				return
			}
			out[i] = tollgate.User{ID: u.Name, Username: u.Name, PasswordHash: hash, Scopes: slices.Clone(u.Scopes), Disabled: u.Disabled}
		})
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// IssuerFor is the default issuer for a listen address: "http://" + addr,
// with "localhost" for an unspecified host.
func IssuerFor(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// Me serves the caller's username and granted scopes,
// {"username", "scopes"}, behind RequireScopes.
func Me(w http.ResponseWriter, r *http.Request) {
	p, _ := tollgate.FromContext(r.Context())
	WriteJSON(w, http.StatusOK, struct {
		Username string   `json:"username"`
		Scopes   []string `json:"scopes"`
	}{p.Username, NonNil(p.Scopes)})
}

// NonNil returns s, or an empty slice for nil, so that JSON shows [].
func NonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// WriteJSON answers with v as JSON. The answers are about the caller, so
// no cache keeps them.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// WriteError answers with the error shape of the token endpoint
// (RFC 6749 §5.2), so that clients parse one kind of error.
func WriteError(w http.ResponseWriter, status int, desc string) {
	code := "invalid_request"
	if status >= 500 {
		code = "temporarily_unavailable"
	}
	WriteJSON(w, status, map[string]string{"error": code, "error_description": desc})
}
