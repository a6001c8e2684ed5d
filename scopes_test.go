package tollgate_test

// Scope syntax (RFC 6749 §3.3) as the token endpoint and RequireScopes see
// it:
//
//	scope       = scope-token *( SP scope-token )
//	scope-token = 1*( %x21 / %x23-5B / %x5D-7E )

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/tollgate-go/tollgate"
)

// oddScope uses every character a scope-token may hold besides letters
// and digits.
const oddScope = "!#$%&'()*+,-./:;<=>?@[]^_`{|}~"

// TestRFC6749_3_3_ScopeParameter asks the token endpoint for alice's
// scopes ("me items:read items:write") in every syntax.
func TestRFC6749_3_3_ScopeParameter(t *testing.T) {
	tests := []struct {
		name      string
		scope     *string // nil: parameter omitted
		wantCode  string  // "" for 200
		wantScope string
	}{
		{"omitted: everything held", nil, "", "me items:read items:write"},
		{"empty: as omitted", ptr(""), "", "me items:read items:write"},
		{"one", ptr("me"), "", "me"},
		{"two, order kept", ptr("items:write me"), "", "items:write me"},
		{"all", ptr("me items:read items:write"), "", "me items:read items:write"},
		{"duplicate dropped", ptr("me me items:read me"), "", "me items:read"},
		{"leading space", ptr(" me"), "invalid_scope", ""},
		{"trailing space", ptr("me "), "invalid_scope", ""},
		{"double space", ptr("me  items:read"), "invalid_scope", ""},
		{"only a space", ptr(" "), "invalid_scope", ""},
		{"tab separator", ptr("me\titems:read"), "invalid_request", ""},
		{"newline separator", ptr("me\nitems:read"), "invalid_request", ""},
		{"NUL", ptr("me\x00"), "invalid_request", ""},
		{"DEL", ptr("me\x7f"), "invalid_request", ""},
		{"invalid UTF-8", ptr("me \xff"), "invalid_request", ""},
		{"non-ASCII", ptr("m\u00e9"), "invalid_scope", ""},
		{"non-breaking space separator", ptr("me\u00a0items:read"), "invalid_scope", ""},
		{"double quote", ptr(`"me"`), "invalid_scope", ""},
		{"backslash", ptr(`me\`), "invalid_scope", ""},
		{"comma-separated: one unknown token", ptr("me,items:read"), "invalid_scope", ""},
		{"case differs", ptr("ME"), "invalid_scope", ""},
		{"unknown", ptr("items:delete"), "invalid_scope", ""},
		{"unknown among known", ptr("me items:delete"), "invalid_scope", ""},
		{"registered but not held", ptr("admin:users"), "invalid_scope", ""},
		{"held and not held", ptr("me admin:users"), "invalid_scope", ""},
		{"longest allowed, repeated token", ptr(strings.TrimSpace(strings.Repeat("me ", 4096/3))), "", "me"},
		{"too long", ptr(strings.Repeat("m", 4097)), "invalid_request", ""},
		{"many unknown tokens", ptr(strings.TrimSpace(strings.Repeat("x ", 2000))), "invalid_scope", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, "", nil)
			form := url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"wonderland"}}
			if tt.scope != nil {
				form.Set("scope", *tt.scope)
			}
			rec := f.post("/token", form)
			tj := decodeToken(t, rec)
			if tt.wantCode != "" {
				if rec.Code != 400 || tj.Error != tt.wantCode {
					t.Fatalf("scope %q: %d %q, want 400 %s", short(tt.scope), rec.Code, tj.Error, tt.wantCode)
				}
				if tj.AccessToken != "" {
					t.Errorf("an error answer carries a token")
				}
				return
			}
			if rec.Code != 200 || tj.Scope != tt.wantScope {
				t.Fatalf("scope %q: %d scope %q (%s), want 200 %q", short(tt.scope), rec.Code, tj.Scope, tj.Error, tt.wantScope)
			}
			// The token's claim says the same, and it works accordingly.
			if _, c := splitJWT(t, tj.AccessToken); c["scope"] != tt.wantScope {
				t.Errorf("scope claim %q, want %q", c["scope"], tt.wantScope)
			}
			wantWrite := strings.Contains(" "+tt.wantScope+" ", " items:write ")
			if rec := f.get("/any", "Bearer "+tj.AccessToken); (rec.Code == 200) != wantWrite {
				t.Errorf("/any (items:write) = %d with scope %q", rec.Code, tt.wantScope)
			}
		})
	}
}

func ptr(s string) *string { return &s }

func short(s *string) string {
	switch {
	case s == nil:
		return "(omitted)"
	case len(*s) > 40:
		return (*s)[:40] + "..."
	}
	return *s
}

// TestRFC6749_3_3_FormEncoding: in a form body '+' is a space, so
// "me+items:read" asks for two scopes, and "%2B" is a literal plus.
func TestRFC6749_3_3_FormEncoding(t *testing.T) {
	f := newFixture(t, "", nil)
	post := func(body string) tokenJSON {
		req := httptest.NewRequest("POST", "/token", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return decodeToken(t, f.do(req))
	}
	base := "grant_type=password&username=alice&password=wonderland&scope="
	if tj := post(base + "me+items:read"); tj.Scope != "me items:read" {
		t.Errorf("me+items:read: %+v", tj)
	}
	if tj := post(base + "me%20items:read"); tj.Scope != "me items:read" {
		t.Errorf("me%%20items:read: %+v", tj)
	}
	if tj := post(base + "me%2Bitems:read"); tj.Error != "invalid_scope" {
		t.Errorf("me%%2Bitems:read: %+v, want invalid_scope (one unknown token)", tj)
	}
	if tj := post(base + "me&scope=items:read"); tj.Error != "invalid_request" {
		t.Errorf("repeated scope parameter: %+v, want invalid_request (RFC 6749 §3.1)", tj)
	}
}

// TestRFC6749_3_3_ScopeTokenAlphabet: every character the grammar allows
// works end to end, in the registry, the grant, the token, RequireScopes
// and the challenge.
func TestRFC6749_3_3_ScopeTokenAlphabet(t *testing.T) {
	f := newFixture(t, "", func(c *tollgate.Config) {
		c.Scopes = map[string]string{oddScope: "odd", "a": ""}
		for k, v := range testScopes {
			c.Scopes[k] = v
		}
	})
	f.users.Put(tollgate.User{Username: "odd", PasswordHash: mustFastHash("pw"), Scopes: []string{oddScope, "a"}})
	h := f.auth.RequireScopes(oddScope)(okHandler())
	tok := tokenOf(t, f, "odd", "pw", oddScope)
	if rec := getVia(h, "/", tok); rec.Code != 200 {
		t.Errorf("odd scope: %d", rec.Code)
	}
	other := tokenOf(t, f, "odd", "pw", "a")
	checkRejected(t, getVia(h, "/", other), 403, challengeWith("insufficient_scope", descInsufficient, oddScope))
}

// okHandler answers 200.
func okHandler() http.Handler {
	return http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
}

// TestRFC6749_3_3_RegistrySyntax: Config.Scopes and RequireScopes accept
// exactly the scope-tokens of the grammar.
func TestRFC6749_3_3_RegistrySyntax(t *testing.T) {
	bad := []string{"", " ", "a b", "a\tb", `a"b`, `a\b`, "\x00", "a\x7f", "\u00e9", "a\nb"}
	good := []string{"a", oddScope, "items:read", "https://api.test/items.read", "A"}
	for _, s := range bad {
		_, err := tollgate.New(tollgate.Config{Issuer: testIssuer, Audience: []string{testAudience}, VerificationKeys: []*tollgate.Key{testKey(t, "ES256")}, Scopes: map[string]string{s: ""}})
		if err == nil {
			t.Errorf("New(Scopes: {%q}) = nil error", s)
		}
	}
	reg := map[string]string{}
	for _, s := range good {
		reg[s] = ""
	}
	a, err := tollgate.New(tollgate.Config{Issuer: testIssuer, Audience: []string{testAudience}, VerificationKeys: []*tollgate.Key{testKey(t, "ES256")}, Scopes: reg})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range good {
		if p := requirePanics(func() { a.RequireScopes(s) }); p != nil {
			t.Errorf("RequireScopes(%q) panicked: %v", s, p)
		}
	}
	for _, s := range append(bad, "unregistered", "items:READ") {
		if p := requirePanics(func() { a.RequireScopes("a", s) }); p == nil {
			t.Errorf("RequireScopes(a, %q) did not panic", s)
		}
		if p := requirePanics(func() { a.RequireAnyScope(s, "a") }); p == nil {
			t.Errorf("RequireAnyScope(%q, a) did not panic", s)
		}
	}
}

// requirePanics runs fn and returns what it panicked with, or nil.
func requirePanics(fn func()) (v any) {
	defer func() { v = recover() }()
	fn()
	return nil
}

// TestRFC6749_6_ScopeOnRefresh: a refresh may narrow the grant, never
// widen it, and its scope parameter has the same syntax.
func TestRFC6749_6_ScopeOnRefresh(t *testing.T) {
	tests := []struct {
		name      string
		scope     []string
		wantCode  string
		wantScope string
	}{
		{"omitted keeps the grant", nil, "", "me items:read"},
		{"narrow", []string{"me"}, "", "me"},
		{"same", []string{"items:read me"}, "", "items:read me"},
		{"widen to a held scope", []string{"me items:write"}, "invalid_scope", ""},
		{"widen to an unheld scope", []string{"admin:users"}, "invalid_scope", ""},
		{"unknown", []string{"nope"}, "invalid_scope", ""},
		{"malformed", []string{"me  items:read"}, "invalid_scope", ""},
		{"control character", []string{"me\x01"}, "invalid_request", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, "", nil)
			rt := f.login(t, "alice", "wonderland", "me", "items:read").RefreshToken
			rec := f.refreshWith(rt, tt.scope...)
			tj := decodeToken(t, rec)
			if tt.wantCode != "" {
				if rec.Code != 400 || tj.Error != tt.wantCode {
					t.Fatalf("%d %q, want 400 %s", rec.Code, tj.Error, tt.wantCode)
				}
				// A failed refresh does not spend the token.
				if rec := f.refreshWith(rt); rec.Code != 200 {
					t.Errorf("the refresh token died with a failed request: %d", rec.Code)
				}
				return
			}
			if rec.Code != 200 || tj.Scope != tt.wantScope {
				t.Fatalf("%d scope %q (%s), want %q", rec.Code, tj.Scope, tj.Error, tt.wantScope)
			}
		})
	}
}
