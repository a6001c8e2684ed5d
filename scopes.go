package tollgate

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// maxScopeParam bounds the scope parameter of a token request. A registry
// of a few hundred scopes fits; anything longer is an attack.
const maxScopeParam = 4096

// validScopeToken reports whether s is a scope-token of RFC 6749 §3.3:
// 1*( %x21 / %x23-5B / %x5D-7E ), that is printable ASCII other than
// space, '"' and '\'.
func validScopeToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// errScopeSyntax is the cause for a scope parameter that breaks RFC 6749 §3.3.
var errScopeSyntax = errors.New("tollgate: scope is not a space-delimited list of scope-tokens")

// parseScope splits a scope parameter (RFC 6749 §3.3) into its tokens,
// dropping duplicates and keeping the first order. Tokens are separated by
// single spaces; leading, trailing or doubled spaces, control characters and
// any other byte outside the scope-token alphabet are errors.
// An empty string is an empty list.
func parseScope(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	if len(s) > maxScopeParam {
		return nil, errScopeSyntax
	}
	n := strings.Count(s, " ") + 1
	out := make([]string, 0, n)
	var seen map[string]struct{} // past a few tokens, so deduplication stays linear
	if n > 16 {
		seen = make(map[string]struct{}, n)
	}
	for tok := range strings.SplitSeq(s, " ") {
		if !validScopeToken(tok) {
			return nil, errScopeSyntax
		}
		if seen != nil {
			if _, dup := seen[tok]; dup {
				continue
			}
			seen[tok] = struct{}{}
		} else if slices.Contains(out, tok) {
			continue
		}
		out = append(out, tok)
	}
	return out, nil
}

// formatScope joins scopes into a scope parameter.
func formatScope(scopes []string) string { return strings.Join(scopes, " ") }

// hasAll reports whether have contains every one of want.
func hasAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

// hasAny reports whether have contains at least one of want.
func hasAny(have, want []string) bool {
	for _, w := range want {
		if slices.Contains(have, w) {
			return true
		}
	}
	return false
}

// intersect returns the members of a that are also in b, in a's order.
func intersect(a, b []string) []string {
	if all(a, func(s string) bool { return slices.Contains(b, s) }) {
		return a // the usual case, without a copy
	}
	out := make([]string, 0, len(a))
	for _, s := range a {
		if slices.Contains(b, s) {
			out = append(out, s)
		}
	}
	return out
}

// scopeRegistry is the set of scopes a service knows, with descriptions.
type scopeRegistry map[string]string

// newScopeRegistry copies and checks Config.Scopes.
func newScopeRegistry(m map[string]string) (scopeRegistry, error) {
	r := make(scopeRegistry, len(m))
	for name, desc := range m {
		if !validScopeToken(name) {
			return nil, fmt.Errorf("tollgate: Config.Scopes: %q is not a valid scope-token (RFC 6749 §3.3)", name)
		}
		r[name] = desc
	}
	return r, nil
}

// registered returns the members of scopes that are in the registry,
// in their order.
func (r scopeRegistry) registered(scopes []string) []string {
	if all(scopes, func(s string) bool { _, ok := r[s]; return ok }) && !hasRepeat(scopes) {
		return scopes // the usual case, without a copy
	}
	out := make([]string, 0, len(scopes))
	for _, s := range scopes {
		if _, ok := r[s]; ok && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// mustKnow panics if a scope required by a middleware is not registered:
// that is a wiring bug, caught at setup like a bad ServeMux pattern.
func (r scopeRegistry) mustKnow(fn string, scopes []string) {
	for _, s := range scopes {
		if !validScopeToken(s) {
			panic(fmt.Sprintf("tollgate: %s(%q): not a valid scope-token (RFC 6749 §3.3)", fn, s))
		}
		if _, ok := r[s]; !ok {
			panic(fmt.Sprintf("tollgate: %s(%q): scope is not in Config.Scopes", fn, s))
		}
	}
}

// all reports whether every element of s satisfies ok.
func all(s []string, ok func(string) bool) bool {
	for _, v := range s {
		if !ok(v) {
			return false
		}
	}
	return true
}

// hasRepeat reports whether a scope appears twice in s.
func hasRepeat(s []string) bool {
	for i, v := range s {
		if slices.Contains(s[:i], v) {
			return true
		}
	}
	return false
}
