// Package openapitest checks that the security an OpenAPI document
// declares is the security a server enforces, operation by operation.
// The tests of tollgate's route table and of examples/basic share it.
package openapitest

import (
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// A Call sends method to path (its parameters filled in) with an access
// token granted exactly scopes, or with no token at all when scopes is
// nil, and returns the answer's status.
type Call func(method, path string, scopes []string) int

// wildcard is a path parameter of an OpenAPI path template.
var wildcard = regexp.MustCompile(`\{[^}]*\}`)

// CheckSecurity checks every operation of doc but those on the paths in
// skip, in a subtest each, and returns how many it checked. Each security
// requirement (OpenAPI 3.1 §4.8.30) must be sufficient: a token granted
// exactly its scopes gets an answer below 400. Together they must be
// necessary: a token granted every scope of registry but one from each
// requirement gets 403 insufficient_scope (RFC 6750 §3.1). An operation
// with security [] must answer a request without a token; any other must
// refuse it with 401.
func CheckSecurity(t *testing.T, doc []byte, registry []string, call Call, skip ...string) int {
	t.Helper()
	var d struct {
		Paths map[string]map[string]struct {
			Security *[]map[string][]string `json:"security"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatalf("the document: %v", err)
	}
	checked := 0
	for template, item := range d.Paths {
		if slices.Contains(skip, template) {
			continue
		}
		path := wildcard.ReplaceAllString(template, "x1")
		for method, op := range item {
			method = strings.ToUpper(method)
			checked++
			t.Run(method+" "+template, func(t *testing.T) {
				if op.Security == nil {
					t.Fatal("no security member: tollgate always writes one ([] for none)")
				}
				var reqs [][]string
				for _, r := range *op.Security {
					scopes, ok := r["oauth2"]
					if len(r) != 1 || !ok || scopes == nil {
						t.Fatalf("security requirement %v: want one member, oauth2, with a list", r)
					}
					reqs = append(reqs, scopes)
				}
				if len(reqs) == 0 {
					if got := call(method, path, nil); got >= 400 {
						t.Errorf("security [], no token: status %d, want success", got)
					}
					return
				}
				if got := call(method, path, nil); got != http.StatusUnauthorized {
					t.Errorf("no token: status %d, want 401 (RFC 6750 §3.1)", got)
				}
				for _, req := range reqs {
					if got := call(method, path, req); got >= 400 {
						t.Errorf("token granted exactly %q: status %d, want success", req, got)
					}
				}
				for _, drop := range oneOfEach(reqs) {
					have := slices.DeleteFunc(slices.Clone(registry), func(s string) bool { return slices.Contains(drop, s) })
					if got := call(method, path, have); got != http.StatusForbidden {
						t.Errorf("token granted %q (all but %q): status %d, want 403 insufficient_scope", have, drop, got)
					}
				}
			})
		}
	}
	return checked
}

// oneOfEach returns every way to pick one scope from each requirement;
// none when a requirement is empty (nothing can be taken from it).
func oneOfEach(reqs [][]string) [][]string {
	out := [][]string{nil}
	for _, r := range reqs {
		var next [][]string
		for _, prefix := range out {
			for _, s := range r {
				next = append(next, append(slices.Clone(prefix), s))
			}
		}
		out = next
	}
	return out
}
