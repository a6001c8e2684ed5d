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
//
// Besides oauth2 (the Authorization header), the requirements may name
// the other places tollgate takes the token from (Config.Tokens: a
// cookie, the access_token query parameter) as alternatives with the
// same scopes: each scheme must list the same requirements as oauth2,
// and only oauth2's are called, with a Bearer token.
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
				reqs := requirements(t, *op.Security)
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

// requirements returns the scopes of each oauth2 requirement of security,
// after checking that each requirement has one member, a list, and that
// every other scheme has the same requirements as oauth2.
func requirements(t *testing.T, security []map[string][]string) [][]string {
	t.Helper()
	byScheme := map[string][][]string{}
	var order []string
	for _, r := range security {
		if len(r) != 1 {
			t.Fatalf("security requirement %v: want one member", r)
		}
		for scheme, scopes := range r {
			if scopes == nil {
				t.Fatalf("security requirement %v: want a list", r)
			}
			if byScheme[scheme] == nil {
				order = append(order, scheme)
			}
			byScheme[scheme] = append(byScheme[scheme], scopes)
		}
	}
	reqs := byScheme["oauth2"]
	if len(security) > 0 && reqs == nil {
		t.Fatalf("security %v: no oauth2 requirement", security)
	}
	key := func(rs [][]string) []string {
		var out []string
		for _, r := range rs {
			out = append(out, strings.Join(slices.Sorted(slices.Values(r)), " "))
		}
		slices.Sort(out)
		return out
	}
	for _, scheme := range order {
		if !slices.Equal(key(byScheme[scheme]), key(reqs)) {
			t.Errorf("security scheme %s requires %q, oauth2 %q: the token is the same wherever it comes from", scheme, byScheme[scheme], reqs)
		}
	}
	return reqs
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
