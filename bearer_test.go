package tollgate_test

// Protected routes, RFC 6750: where the token may come from (§2), and the
// answer to a request without, with a bad, or with an insufficient token
// (§3, §3.1). Black-box, over the fixture's ServeMux.

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-go/tollgate"
)

// bareChallenge is the challenge of a request that carried no token
// (RFC 6750 §3.1: no error code).
const bareChallenge = `Bearer realm="https://as.test"`

// Descriptions the library sends, copied here so a change of wording is a
// deliberate, visible change.
const (
	descMalformed    = "Malformed Bearer credentials"
	descMultiple     = "Multiple Authorization headers"
	descTwoMethods   = "The access token was sent in more than one way"
	descInvalidToken = "The access token is invalid"
	descExpired      = "The access token expired"
	descInactiveUser = "The user is no longer active"
	descInsufficient = "The access token lacks a required scope"
	descTooLarge     = "The access token is too large"
)

// challengeWith builds the WWW-Authenticate value for an error code.
func challengeWith(code, desc, scope string) string {
	s := bareChallenge + `, error="` + code + `", error_description="` + desc + `"`
	if scope != "" {
		s += `, scope="` + scope + `"`
	}
	return s
}

// bearerErrBody is the JSON body of a rejected protected request.
type bearerErrBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// checkRejected asserts status, the exact challenge, and a JSON body whose
// error matches the challenge's error code ("unauthorized" when the
// challenge is bare).
func checkRejected(t testing.TB, rec *httptest.ResponseRecorder, wantStatus int, wantChall string) {
	t.Helper()
	if rec.Code != wantStatus {
		t.Errorf("status = %d, want %d (challenge %q)", rec.Code, wantStatus, rec.Header().Get("WWW-Authenticate"))
	}
	if got := rec.Header().Values("WWW-Authenticate"); len(got) != 1 || got[0] != wantChall {
		t.Errorf("WWW-Authenticate = %q, want %q", got, wantChall)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}
	var body bearerErrBody
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("body %q is not JSON: %v", rec.Body, err)
	}
	wantCode := "unauthorized"
	if _, after, ok := strings.Cut(wantChall, `error="`); ok {
		wantCode, _, _ = strings.Cut(after, `"`)
	}
	if body.Error != wantCode {
		t.Errorf("body error = %q, want %q", body.Error, wantCode)
	}
	if body.Description == "" {
		t.Errorf("body has no error_description")
	}
}

// checkInvalidToken asserts 401 invalid_token with the given description
// (descInvalidToken if empty).
func checkInvalidToken(t testing.TB, rec *httptest.ResponseRecorder, desc string) {
	t.Helper()
	if desc == "" {
		desc = descInvalidToken
	}
	checkRejected(t, rec, http.StatusUnauthorized, challengeWith("invalid_token", desc, ""))
}

// tokenOf logs user in and returns the access token.
func tokenOf(t testing.TB, f *fixture, user, pass string, scope ...string) string {
	t.Helper()
	return f.login(t, user, pass, scope...).AccessToken
}

// principalRoute serves the caller's Principal as JSON behind mw.
func principalRoute(mw func(http.Handler) http.Handler, got **tollgate.Principal) http.Handler {
	return mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := tollgate.FromContext(r.Context())
		if !ok {
			http.Error(w, "no principal", http.StatusInternalServerError)
			return
		}
		*got = p
		w.WriteHeader(http.StatusNoContent)
	}))
}

// TestRFC6750_3_1_Table follows RFC 6750 §3.1 row by row.
func TestRFC6750_3_1_Table(t *testing.T) {
	f := newFixture(t, "", nil)
	alice := tokenOf(t, f, "alice", "wonderland")
	bob := tokenOf(t, f, "bob", "builder") // me items:read

	tests := []struct {
		name       string
		method     string
		path       string
		authz      []string // Authorization header values
		wantStatus int
		wantChall  string // "" for a 2xx answer
	}{
		{"RFC6750 §3.1 no header", "GET", "/items", nil, 401, bareChallenge},
		{"RFC6750 §3.1 other scheme Basic", "GET", "/items", []string{"Basic YTpi"}, 401, bareChallenge},
		{"RFC6750 §3.1 other scheme Digest", "GET", "/items", []string{`Digest username="a"`}, 401, bareChallenge},
		{"RFC6750 §3.1 empty header", "GET", "/items", []string{""}, 401, bareChallenge},
		{"RFC6750 §3.1 scheme only", "GET", "/items", []string{"Bearer"}, 400, challengeWith("invalid_request", descMalformed, "")},
		{"RFC6750 §3.1 empty bearer", "GET", "/items", []string{"Bearer "}, 400, challengeWith("invalid_request", descMalformed, "")},
		{"RFC6750 §3.1 spaces only", "GET", "/items", []string{"Bearer    "}, 400, challengeWith("invalid_request", descMalformed, "")},
		{"RFC6750 §3.1 two headers", "GET", "/items", []string{"Bearer " + alice, "Bearer " + alice}, 400, challengeWith("invalid_request", descMultiple, "")},
		{"RFC6750 §3.1 bearer and basic headers", "GET", "/items", []string{"Basic YTpi", "Bearer " + alice}, 400, challengeWith("invalid_request", descMultiple, "")},
		{"RFC6750 §2.1 space inside token", "GET", "/items", []string{"Bearer " + alice[:10] + " " + alice[10:]}, 400, challengeWith("invalid_request", descMalformed, "")},
		{"RFC6750 §2.1 trailing space", "GET", "/items", []string{"Bearer " + alice + " "}, 400, challengeWith("invalid_request", descMalformed, "")},
		{"RFC6750 §2.1 tab inside token", "GET", "/items", []string{"Bearer " + alice[:10] + "\t" + alice[10:]}, 400, challengeWith("invalid_request", descMalformed, "")},
		{"RFC6750 §2.1 comma", "GET", "/items", []string{"Bearer abc,def"}, 400, challengeWith("invalid_request", descMalformed, "")},
		{"RFC6750 §2.1 quotes", "GET", "/items", []string{`Bearer "abc"`}, 400, challengeWith("invalid_request", descMalformed, "")},
		{"RFC6750 §2.1 padding then text", "GET", "/items", []string{"Bearer abc=def"}, 400, challengeWith("invalid_request", descMalformed, "")},
		{"RFC6750 §2.1 non-ASCII", "GET", "/items", []string{"Bearer ab\u00e9c"}, 400, challengeWith("invalid_request", descMalformed, "")},
		{"RFC6750 §2.1 NUL", "GET", "/items", []string{"Bearer ab\x00c"}, 400, challengeWith("invalid_request", descMalformed, "")},
		{"RFC6750 §2.1 auth-param form", "GET", "/items", []string{`Bearer token="abc"`}, 400, challengeWith("invalid_request", descMalformed, "")},
		{"RFC6750 §3.1 garbage token", "GET", "/items", []string{"Bearer x.y.z"}, 401, challengeWith("invalid_token", descInvalidToken, "")},
		{"RFC6750 §3.1 opaque garbage", "GET", "/items", []string{"Bearer mF_9.B5f-4.1JqM"}, 401, challengeWith("invalid_token", descInvalidToken, "")},
		{"RFC6750 §3.1 b64token with slash and plus", "GET", "/items", []string{"Bearer a+b/c.d.e=="}, 401, challengeWith("invalid_token", descInvalidToken, "")},
		{"RFC6750 §3.1 insufficient scope", "POST", "/items", []string{"Bearer " + bob}, 403, challengeWith("insufficient_scope", descInsufficient, "items:write")},
		{"RFC6750 §3.1 insufficient scope admin", "GET", "/admin/users", []string{"Bearer " + alice}, 403, challengeWith("insufficient_scope", descInsufficient, "admin:users")},
		{"RFC6750 §3.1 valid token", "GET", "/items", []string{"Bearer " + bob}, 200, ""},
		{"RFC7235 §2.1 lowercase scheme", "POST", "/items", []string{"bearer " + alice}, 200, ""},
		{"RFC7235 §2.1 uppercase scheme", "GET", "/items", []string{"BEARER " + alice}, 200, ""},
		{"RFC7235 §2.1 mixed-case scheme", "GET", "/items", []string{"bEaReR " + alice}, 200, ""},
		{"RFC7235 §2.1 several spaces after scheme", "GET", "/items", []string{"Bearer   " + alice}, 200, ""},
		{"RFC7235 §2.1 lowercase scheme, no scope", "POST", "/items", []string{"bearer " + bob}, 403, challengeWith("insufficient_scope", descInsufficient, "items:write")},
		{"RFC7235 §2.1 Bearer glued to token", "GET", "/items", []string{"Bearer" + alice}, 401, bareChallenge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.path, nil)
			for _, v := range tt.authz {
				req.Header.Add("Authorization", v)
			}
			rec := f.do(req)
			if tt.wantChall == "" {
				if rec.Code != tt.wantStatus {
					t.Fatalf("%s %s = %d, want %d (%s)", tt.method, tt.path, rec.Code, tt.wantStatus, rec.Header().Get("WWW-Authenticate"))
				}
				if h := rec.Header().Get("WWW-Authenticate"); h != "" {
					t.Errorf("WWW-Authenticate on success = %q", h)
				}
				return
			}
			checkRejected(t, rec, tt.wantStatus, tt.wantChall)
		})
	}
}

// TestRFC6750_3_1_RealmDefaultsToIssuer checks Config.Realm and its
// default.
func TestRFC6750_3_1_RealmDefaultsToIssuer(t *testing.T) {
	f := newFixture(t, "", func(c *tollgate.Config) { c.Realm = "items API" })
	checkRejected(t, f.get("/items"), 401, `Bearer realm="items API"`)

	for _, bad := range []string{`a"b`, `a\b`, "a\nb", "a\rb"} {
		cfg := tollgate.Config{Issuer: testIssuer, Audience: []string{testAudience}, VerificationKeys: []*tollgate.Key{testKey(t, "ES256")}, Realm: bad}
		if _, err := tollgate.New(cfg); err == nil {
			t.Errorf("New(Realm: %q) = nil error; want one (header injection)", bad)
		}
	}
}

// TestRFC6750_2_3_QueryParameter: the access_token query parameter is
// refused by default (it ends up in logs) and accepted when enabled, but
// never together with the header.
func TestRFC6750_2_3_QueryParameter(t *testing.T) {
	get := func(f *fixture, query string, authz ...string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", "/items?"+query, nil)
		for _, v := range authz {
			req.Header.Add("Authorization", v)
		}
		return f.do(req)
	}

	t.Run("RFC6750 §2.3 refused by default", func(t *testing.T) {
		f := newFixture(t, "", nil)
		tok := tokenOf(t, f, "alice", "wonderland")
		checkRejected(t, get(f, "access_token="+tok), 401, bareChallenge)
		// The header still works, and the ignored parameter does not make
		// the request ambiguous.
		if rec := get(f, "access_token=junk", "Bearer "+tok); rec.Code != 200 {
			t.Errorf("header with ignored query parameter: %d", rec.Code)
		}
	})

	f := newFixture(t, "", func(c *tollgate.Config) { c.Tokens.Query = true })
	tok := tokenOf(t, f, "alice", "wonderland")
	tests := []struct {
		name       string
		query      string
		authz      []string
		wantStatus int
		wantChall  string
	}{
		{"RFC6750 §2.3 accepted when enabled", "access_token=" + tok, nil, 200, ""},
		{"RFC6750 §2.3 with other parameters", "page=2&access_token=" + tok + "&q=x", nil, 200, ""},
		{"RFC6750 §2.3 other query, no token", "page=2", nil, 401, bareChallenge},
		{"RFC6750 §2 header and query", "access_token=" + tok, []string{"Bearer " + tok}, 400, challengeWith("invalid_request", descTwoMethods, "")},
		{"RFC6750 §2 repeated parameter", "access_token=" + tok + "&access_token=" + tok, nil, 400, challengeWith("invalid_request", descTwoMethods, "")},
		{"RFC6750 §2.3 empty parameter", "access_token=", nil, 400, challengeWith("invalid_request", descMalformed, "")},
		{"RFC6750 §2.3 malformed parameter", "access_token=a%20b", nil, 400, challengeWith("invalid_request", descMalformed, "")},
		{"RFC6750 §2.3 garbage", "access_token=x.y.z", nil, 401, challengeWith("invalid_token", descInvalidToken, "")},
		{"RFC6750 §2.3 with Basic header", "access_token=" + tok, []string{"Basic YTpi"}, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := get(f, tt.query, tt.authz...)
			if tt.wantChall == "" {
				if rec.Code != tt.wantStatus {
					t.Fatalf("status = %d, want %d (%s)", rec.Code, tt.wantStatus, rec.Header().Get("WWW-Authenticate"))
				}
				return
			}
			checkRejected(t, rec, tt.wantStatus, tt.wantChall)
		})
	}
}

// TestRFC6750_2_Cookie: a cookie carries the token only when
// Config.Tokens.Cookie names it, and the header wins over it.
func TestRFC6750_2_Cookie(t *testing.T) {
	withCookie := func(f *fixture, name, value string, authz ...string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", "/items", nil)
		req.AddCookie(&http.Cookie{Name: name, Value: value})
		for _, v := range authz {
			req.Header.Add("Authorization", v)
		}
		return f.do(req)
	}
	t.Run("ignored by default", func(t *testing.T) {
		f := newFixture(t, "", nil)
		tok := tokenOf(t, f, "alice", "wonderland")
		for _, name := range []string{"access_token", "token", "at"} {
			checkRejected(t, withCookie(f, name, tok), 401, bareChallenge)
		}
	})
	f := newFixture(t, "", func(c *tollgate.Config) { c.Tokens.Cookie = "at" })
	tok := tokenOf(t, f, "alice", "wonderland")
	t.Run("configured cookie", func(t *testing.T) {
		if rec := withCookie(f, "at", tok); rec.Code != 200 {
			t.Fatalf("status = %d, want 200", rec.Code)
		}
	})
	t.Run("other cookie name", func(t *testing.T) {
		checkRejected(t, withCookie(f, "access_token", tok), 401, bareChallenge)
	})
	t.Run("garbage cookie", func(t *testing.T) {
		checkInvalidToken(t, withCookie(f, "at", "x.y.z"), "")
	})
	t.Run("header wins over cookie", func(t *testing.T) {
		checkInvalidToken(t, withCookie(f, "at", tok, "Bearer x.y.z"), "")
		if rec := withCookie(f, "at", "x.y.z", "Bearer "+tok); rec.Code != 200 {
			t.Errorf("good header, bad cookie: %d", rec.Code)
		}
	})
	t.Run("non-Bearer header falls back to cookie", func(t *testing.T) {
		if rec := withCookie(f, "at", tok, "Basic YTpi"); rec.Code != 200 {
			t.Errorf("status = %d, want 200", rec.Code)
		}
	})
}

// TestRequireAnyScope checks the any-of middleware on /any
// (items:write or admin:users).
func TestRequireAnyScope(t *testing.T) {
	f := newFixture(t, "", nil)
	tests := []struct {
		name       string
		user, pass string
		scope      []string
		wantStatus int
	}{
		{"holds first", "alice", "wonderland", []string{"items:write"}, 200},
		{"holds second only", "carol", "admin-pass-123", []string{"admin:users"}, 200},
		{"holds both", "carol", "admin-pass-123", nil, 200},
		{"holds neither", "bob", "builder", nil, 403},
		{"narrowed away", "alice", "wonderland", []string{"me", "items:read"}, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := f.get("/any", "Bearer "+tokenOf(t, f, tt.user, tt.pass, tt.scope...))
			if tt.wantStatus == 200 {
				if rec.Code != 200 {
					t.Fatalf("status = %d, want 200 (%s)", rec.Code, rec.Header().Get("WWW-Authenticate"))
				}
				return
			}
			checkRejected(t, rec, 403, challengeWith("insufficient_scope", descInsufficient, "items:write admin:users"))
		})
	}
	checkRejected(t, f.get("/any"), 401, bareChallenge)
}

// TestRequireScopesAll checks that RequireScopes needs every scope.
func TestRequireScopesAll(t *testing.T) {
	f := newFixture(t, "", nil)
	h := f.auth.RequireScopes("items:read", "items:write")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	call := func(tok string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	if rec := call(tokenOf(t, f, "alice", "wonderland")); rec.Code != 200 {
		t.Errorf("alice (both scopes) = %d, want 200", rec.Code)
	}
	checkRejected(t, call(tokenOf(t, f, "bob", "builder")), 403, challengeWith("insufficient_scope", descInsufficient, "items:read items:write"))
	checkRejected(t, call(tokenOf(t, f, "alice", "wonderland", "items:write")), 403, challengeWith("insufficient_scope", descInsufficient, "items:read items:write"))
}

// TestRequireScopesAuthenticationOnly: RequireScopes() lets any valid
// token through, even one granted no scope, and still refuses the rest.
func TestRequireScopesAuthenticationOnly(t *testing.T) {
	f := newFixture(t, "", nil)
	if rec := f.get("/authn", "Bearer "+tokenOf(t, f, "bob", "builder", "me")); rec.Code != 200 {
		t.Errorf("/authn with a valid token = %d, want 200", rec.Code)
	}
	// A token granted no scope at all (the issuer may mint one; an empty
	// scope claim is an empty list).
	none := f.forgeGood(t, func(_, c map[string]any) { c["scope"] = "" })
	if rec := f.get("/authn", "Bearer "+none); rec.Code != 200 {
		t.Errorf("/authn with a scopeless token = %d, want 200", rec.Code)
	}
	checkRejected(t, f.get("/users/me", "Bearer "+none), 403, challengeWith("insufficient_scope", descInsufficient, "me"))
	checkRejected(t, f.get("/authn"), 401, bareChallenge)
	checkRejected(t, f.get("/authn", "Bearer x.y.z"), 401, challengeWith("invalid_token", descInvalidToken, ""))
	checkRejected(t, f.get("/authn", "Bearer"), 400, challengeWith("invalid_request", descMalformed, ""))
}

// TestRequireScopesPanicsAtSetup: a scope that is not registered, or not
// a scope-token at all, is a wiring bug caught when the route is built.
func TestRequireScopesPanicsAtSetup(t *testing.T) {
	f := newFixture(t, "", nil)
	tests := []struct {
		name string
		call func()
	}{
		{"unregistered", func() { f.auth.RequireScopes("unregistered") }},
		{"one of several unregistered", func() { f.auth.RequireScopes("me", "items:delete") }},
		{"bad scope with space", func() { f.auth.RequireScopes("bad scope") }},
		{"empty scope", func() { f.auth.RequireScopes("") }},
		{"quote", func() { f.auth.RequireScopes(`a"b`) }},
		{"case differs", func() { f.auth.RequireScopes("ME") }},
		{"any: none", func() { f.auth.RequireAnyScope() }},
		{"any: unregistered", func() { f.auth.RequireAnyScope("me", "nope") }},
		{"any: bad syntax", func() { f.auth.RequireAnyScope("a\\b") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if r == nil {
					t.Fatal("no panic")
				}
				if s, ok := r.(string); !ok || !strings.HasPrefix(s, "tollgate: ") {
					t.Errorf("panic value %#v; want a tollgate: message", r)
				}
			}()
			tt.call()
		})
	}
	// And the registered ones do not panic.
	f.auth.RequireScopes("me", "items:read", "items:write", "admin:users")
	f.auth.RequireAnyScope("me")
}

// TestPrincipalInContext: the handler gets the caller with one typed call.
func TestPrincipalInContext(t *testing.T) {
	f := newFixture(t, "", nil)
	f.users.Put(tollgate.User{ID: "u-123", Username: "erin", PasswordHash: mustFastHash("erin-pass"), Scopes: []string{"me", "items:read", "unregistered:scope"}})
	var got *tollgate.Principal
	h := principalRoute(f.auth.RequireScopes("me"), &got)

	tests := []struct {
		name        string
		user, pass  string
		scope       []string
		wantSubject string
		wantUser    string
		wantScopes  []string
	}{
		{"username is subject", "alice", "wonderland", nil, "alice", "alice", []string{"me", "items:read", "items:write"}},
		{"narrowed", "alice", "wonderland", []string{"me"}, "alice", "alice", []string{"me"}},
		{"ID differs from username", "erin", "erin-pass", nil, "u-123", "erin", []string{"me", "items:read"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got = nil
			tj := f.login(t, tt.user, tt.pass, tt.scope...)
			before := time.Now()
			req := httptest.NewRequest("GET", "/", nil)
			req.Header.Set("Authorization", "Bearer "+tj.AccessToken)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusNoContent || got == nil {
				t.Fatalf("status %d, principal %v", rec.Code, got)
			}
			if got.Subject != tt.wantSubject || got.Username != tt.wantUser {
				t.Errorf("Subject, Username = %q, %q; want %q, %q", got.Subject, got.Username, tt.wantSubject, tt.wantUser)
			}
			if !slices.Equal(got.Scopes, tt.wantScopes) {
				t.Errorf("Scopes = %q, want %q", got.Scopes, tt.wantScopes)
			}
			for _, s := range tt.wantScopes {
				if !got.HasScope(s) {
					t.Errorf("HasScope(%q) = false", s)
				}
			}
			if got.HasScope("admin:users") {
				t.Errorf("HasScope(admin:users) = true")
			}
			if got.ClientID != "tollgate" {
				t.Errorf("ClientID = %q, want %q", got.ClientID, "tollgate")
			}
			if len(got.TokenID) < 16 {
				t.Errorf("TokenID = %q, want a random id", got.TokenID)
			}
			// exp is iat + AccessTTL, in whole seconds.
			if d := got.ExpiresAt.Sub(got.IssuedAt); d != (15 * time.Minute) {
				t.Errorf("ExpiresAt - IssuedAt = %v, want %v", d, (15 * time.Minute))
			}
			if got.IssuedAt.After(before) || before.Sub(got.IssuedAt) > time.Hour {
				t.Errorf("IssuedAt = %v, not the time of issue (test started %v)", got.IssuedAt, before)
			}
			if got.User != nil {
				t.Errorf("User set without Config.LoadUser")
			}
		})
	}

	t.Run("distinct token ids", func(t *testing.T) {
		seen := map[string]bool{}
		for range 5 {
			got = nil
			req := httptest.NewRequest("GET", "/", nil)
			req.Header.Set("Authorization", "Bearer "+tokenOf(t, f, "bob", "builder"))
			h.ServeHTTP(httptest.NewRecorder(), req)
			if got == nil || seen[got.TokenID] {
				t.Fatalf("token id repeated or missing: %v", got)
			}
			seen[got.TokenID] = true
		}
	})

	t.Run("no principal outside", func(t *testing.T) {
		if p, ok := tollgate.FromContext(context.Background()); ok || p != nil {
			t.Errorf("FromContext(empty) = %v, %v", p, ok)
		}
		if p, ok := tollgate.FromContext(tollgate.NewContext(context.Background(), nil)); ok || p != nil {
			t.Errorf("FromContext(nil principal) = %v, %v", p, ok)
		}
		want := &tollgate.Principal{Subject: "s"}
		if p, ok := tollgate.FromContext(tollgate.NewContext(context.Background(), want)); !ok || p != want {
			t.Errorf("FromContext(NewContext(p)) = %v, %v", p, ok)
		}
	})
}

// mustFastHash hashes p with the fixture's test hasher.
func mustFastHash(p string) []byte {
	h, _ := (&fastHasher{}).Hash(p)
	return h
}

// TestLoadUser: with Config.LoadUser a token stops working as soon as its
// user is disabled or deleted (FastAPI's get_current_active_user), and the
// handler sees the user.
func TestLoadUser(t *testing.T) {
	f := newFixture(t, "", func(c *tollgate.Config) { c.LoadUser = true })
	var got *tollgate.Principal
	h := principalRoute(f.auth.RequireScopes("me"), &got)
	call := func(tok string) *httptest.ResponseRecorder {
		got = nil
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	inactive := challengeWith("invalid_token", descInactiveUser, "")

	t.Run("active user", func(t *testing.T) {
		rec := call(tokenOf(t, f, "alice", "wonderland"))
		if rec.Code != http.StatusNoContent || got == nil || got.User == nil {
			t.Fatalf("status %d, principal %+v", rec.Code, got)
		}
		if got.User.Username != "alice" || got.User.Disabled {
			t.Errorf("User = %+v", got.User)
		}
	})
	t.Run("disabled after issue", func(t *testing.T) {
		tok := tokenOf(t, f, "bob", "builder")
		if rec := call(tok); rec.Code != http.StatusNoContent {
			t.Fatalf("before disabling: %d", rec.Code)
		}
		f.users.SetDisabled("bob", true)
		checkRejected(t, call(tok), 401, inactive)
		f.users.SetDisabled("bob", false)
		if rec := call(tok); rec.Code != http.StatusNoContent {
			t.Errorf("re-enabled: %d", rec.Code)
		}
	})
	t.Run("deleted after issue", func(t *testing.T) {
		tok := tokenOf(t, f, "carol", "admin-pass-123")
		f.users.Delete("carol")
		checkRejected(t, call(tok), 401, inactive)
	})
	t.Run("username reused by another account", func(t *testing.T) {
		f.users.Put(tollgate.User{ID: "id-1", Username: "frank", PasswordHash: mustFastHash("pw"), Scopes: []string{"me"}})
		tok := tokenOf(t, f, "frank", "pw")
		if rec := call(tok); rec.Code != http.StatusNoContent {
			t.Fatalf("frank: %d", rec.Code)
		}
		f.users.Put(tollgate.User{ID: "id-2", Username: "frank", PasswordHash: mustFastHash("pw"), Scopes: []string{"me"}})
		checkRejected(t, call(tok), 401, inactive)
	})
	t.Run("store failure is 503, retry later", func(t *testing.T) {
		boom := errors.New("store down")
		f2 := newFixture(t, "", func(c *tollgate.Config) {
			c.LoadUser = true
			users := c.Users
			c.Users = userStoreFunc(func(ctx context.Context, name string) (*tollgate.User, error) {
				if ctx.Value(failKey{}) != nil {
					return nil, boom
				}
				return users.LookupUser(ctx, name)
			})
			c.Logger = discardLogger()
		})
		req := httptest.NewRequest("GET", "/items", nil)
		req.Header.Set("Authorization", "Bearer "+tokenOf(t, f2, "alice", "wonderland"))
		req = req.WithContext(context.WithValue(req.Context(), failKey{}, true))
		rec := f2.do(req)
		if rec.Code != 503 || rec.Header().Get("Retry-After") == "" {
			t.Errorf("status = %d, Retry-After %q; want 503 with Retry-After (the user store is down: retry later)", rec.Code, rec.Header().Get("Retry-After"))
		}
		if strings.Contains(rec.Body.String(), "store down") {
			t.Errorf("cause leaked to the client: %s", rec.Body)
		}
	})
	t.Run("without LoadUser a disabled user's token still verifies", func(t *testing.T) {
		// The documented default: stateless verification until exp.
		g := newFixture(t, "", nil)
		tok := tokenOf(t, g, "alice", "wonderland")
		g.users.SetDisabled("alice", true)
		if rec := g.get("/items", "Bearer "+tok); rec.Code != 200 {
			t.Errorf("status = %d, want 200", rec.Code)
		}
	})
}

type failKey struct{}

// TestErrorHandlerReplacesBodyOnly: a custom ErrorHandler writes its own
// body, but the challenge header and the 400/401/403 decision are the
// library's.
func TestErrorHandlerReplacesBodyOnly(t *testing.T) {
	type seen struct {
		chall string
		err   error
	}
	var last seen
	f := newFixture(t, "", func(c *tollgate.Config) {
		c.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
			last = seen{w.Header().Get("WWW-Authenticate"), err}
			var e *tollgate.Error
			if !errors.As(err, &e) {
				w.WriteHeader(500)
				return
			}
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(e.Status)
			io.WriteString(w, `{"title":"custom","code":"`+e.Code+`"}`)
		}
	})
	bob := tokenOf(t, f, "bob", "builder")
	tests := []struct {
		name       string
		method     string
		authz      []string
		wantStatus int
		wantChall  string
		wantErr    error
	}{
		{"no token", "GET", nil, 401, bareChallenge, tollgate.ErrNoToken},
		{"malformed", "GET", []string{"Bearer"}, 400, challengeWith("invalid_request", descMalformed, ""), tollgate.ErrInvalidRequest},
		{"invalid", "GET", []string{"Bearer x.y.z"}, 401, challengeWith("invalid_token", descInvalidToken, ""), tollgate.ErrInvalidToken},
		{"insufficient", "POST", []string{"Bearer " + bob}, 403, challengeWith("insufficient_scope", descInsufficient, "items:write"), tollgate.ErrInsufficientScope},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			last = seen{}
			req := httptest.NewRequest(tt.method, "/items", nil)
			for _, v := range tt.authz {
				req.Header.Add("Authorization", v)
			}
			rec := f.do(req)
			if rec.Code != tt.wantStatus {
				t.Errorf("status = %d, want %d", rec.Code, tt.wantStatus)
			}
			if last.chall != tt.wantChall {
				t.Errorf("challenge seen by the handler = %q, want %q", last.chall, tt.wantChall)
			}
			if got := rec.Header().Get("WWW-Authenticate"); got != tt.wantChall {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tt.wantChall)
			}
			if !errors.Is(last.err, tt.wantErr) {
				t.Errorf("handler err = %v, want errors.Is %v", last.err, tt.wantErr)
			}
			if !strings.Contains(rec.Body.String(), `"title":"custom"`) {
				t.Errorf("body = %s, want the custom one", rec.Body)
			}
		})
	}
}

// TestAuthenticateDirect: Authenticate serves callers outside a handler
// chain, with errors that say how to answer.
func TestAuthenticateDirect(t *testing.T) {
	f := newFixture(t, "", nil)
	req := func(authz ...string) *http.Request {
		r := httptest.NewRequest("GET", "/ws", nil)
		for _, v := range authz {
			r.Header.Add("Authorization", v)
		}
		return r
	}
	p, err := f.auth.Authenticate(req("Bearer " + tokenOf(t, f, "bob", "builder")))
	if err != nil || p.Subject != "bob" || !p.HasScope("items:read") {
		t.Fatalf("Authenticate(good) = %+v, %v", p, err)
	}
	tests := []struct {
		name   string
		authz  []string
		want   error
		status int
	}{
		{"no token", nil, tollgate.ErrNoToken, 401},
		{"basic", []string{"Basic YTpi"}, tollgate.ErrNoToken, 401},
		{"malformed", []string{"Bearer a b"}, tollgate.ErrInvalidRequest, 400},
		{"two headers", []string{"Bearer a", "Bearer b"}, tollgate.ErrInvalidRequest, 400},
		{"garbage", []string{"Bearer x.y.z"}, tollgate.ErrInvalidToken, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := f.auth.Authenticate(req(tt.authz...))
			if p != nil || !errors.Is(err, tt.want) {
				t.Fatalf("Authenticate = %v, %v; want nil, %v", p, err, tt.want)
			}
			var e *tollgate.Error
			if !errors.As(err, &e) || e.Status != tt.status {
				t.Errorf("error %v has status %v, want %d", err, e, tt.status)
			}
		})
	}
	// Distinct errors compare unequal.
	_, err = f.auth.Authenticate(req("Bearer x.y.z"))
	if errors.Is(err, tollgate.ErrNoToken) || errors.Is(err, tollgate.ErrInsufficientScope) {
		t.Errorf("invalid_token error matches another sentinel: %v", err)
	}
}

// verifierFor builds a verify-only service (no Users, no SigningKey) from
// keys, with the fixture's routes.
func verifierFor(t testing.TB, keys ...*tollgate.Key) http.Handler {
	t.Helper()
	a, err := tollgate.New(tollgate.Config{
		Issuer:           testIssuer,
		Audience:         []string{testAudience},
		VerificationKeys: keys,
		Scopes:           testScopes,
	})
	if err != nil {
		t.Fatalf("New(verifier): %v", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /items", a.RequireScopes("items:read")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := tollgate.FromContext(r.Context())
		io.WriteString(w, p.Subject)
	})))
	return mux
}

// getVia calls GET path on h with a Bearer token.
func getVia(h http.Handler, path, token string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// TestVerifierOnly: a resource server that holds only the issuer's public
// key accepts the issuer's tokens and nothing else.
func TestVerifierOnly(t *testing.T) {
	for _, alg := range []string{"RS256", "ES256", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			issuer := newFixture(t, alg, nil)
			v := verifierFor(t, issuer.key.Public())
			tok := tokenOf(t, issuer, "alice", "wonderland")
			if rec := getVia(v, "/items", tok); rec.Code != 200 || rec.Body.String() != "alice" {
				t.Fatalf("issuer's token: %d %s", rec.Code, rec.Header().Get("WWW-Authenticate"))
			}
			checkRejected(t, getVia(v, "/items", ""), 401, bareChallenge)
			checkInvalidToken(t, getVia(v, "/items", "x.y.z"), "")
			// Another issuer's key (another algorithm in the shared test keys).
			other := newFixture(t, map[string]string{"RS256": "EdDSA", "ES256": "RS256", "EdDSA": "ES256"}[alg], nil)
			checkInvalidToken(t, getVia(v, "/items", tokenOf(t, other, "alice", "wonderland")), "")
			// Same claims, same kid, signed by a key the verifier does not hold.
			fresh, err := tollgate.GenerateKey(alg)
			if err != nil {
				t.Fatal(err)
			}
			issuer2 := newFixture(t, alg, func(c *tollgate.Config) { c.SigningKey = fresh })
			checkInvalidToken(t, getVia(v, "/items", tokenOf(t, issuer2, "alice", "wonderland")), "")
		})
	}
	t.Run("a verifier cannot issue", func(t *testing.T) {
		a, err := tollgate.New(tollgate.Config{Issuer: testIssuer, Audience: []string{testAudience}, VerificationKeys: []*tollgate.Key{testKey(t, "ES256").Public()}})
		if err != nil {
			t.Fatal(err)
		}
		defer func() {
			if recover() == nil {
				t.Error("TokenHandler on a verifier did not panic")
			}
		}()
		a.TokenHandler()
	})
	t.Run("HS256 verifier shares the secret", func(t *testing.T) {
		issuer := newFixture(t, "HS256", nil)
		v := verifierFor(t, testKey(t, "HS256"))
		if rec := getVia(v, "/items", tokenOf(t, issuer, "alice", "wonderland")); rec.Code != 200 {
			t.Errorf("status = %d", rec.Code)
		}
	})
}

// TestVerifierFromJWKS: keys parsed from the issuer's JWKS verify its
// tokens.
func TestVerifierFromJWKS(t *testing.T) {
	for _, alg := range []string{"RS256", "ES256", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			issuer := newFixture(t, alg, nil)
			rec := issuer.get("/.well-known/jwks.json")
			if rec.Code != 200 {
				t.Fatalf("JWKS: %d", rec.Code)
			}
			keys, err := tollgate.ParseKeySet(rec.Body.Bytes())
			if err != nil {
				t.Fatalf("ParseKeySet: %v", err)
			}
			if len(keys) != 1 || keys[0].ID() != issuer.key.ID() || keys[0].Algorithm() != alg {
				t.Fatalf("keys = %v, want the issuer's %v", keys, issuer.key)
			}
			v := verifierFor(t, keys...)
			if rec := getVia(v, "/items", tokenOf(t, issuer, "bob", "builder")); rec.Code != 200 || rec.Body.String() != "bob" {
				t.Errorf("issuer's token: %d %s", rec.Code, rec.Header().Get("WWW-Authenticate"))
			}
			checkInvalidToken(t, getVia(v, "/items", issuer.forgeGood(t, func(h, c map[string]any) { c["iss"] = "https://evil.test" })), "")
		})
	}
}

// discardLogger keeps expected server-error logs out of test output.
func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// TestErrorHandlerCannotChangeLaterChallenges: an error handler that
// modifies the error it is given (here, the shared insufficient_scope
// answer) changes nothing for the next request.
func TestErrorHandlerCannotChangeLaterChallenges(t *testing.T) {
	f := newFixture(t, "", func(c *tollgate.Config) {
		c.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
			tollgate.DefaultErrorHandler(w, r, err)
			var e *tollgate.Error
			if errors.As(err, &e) {
				e.Scope, e.Description, e.Code, e.Status = "hacked", "hacked", "hacked", 200
			}
		}
	})
	bob := tokenOf(t, f, "bob", "builder")
	want := challengeWith("insufficient_scope", descInsufficient, "items:write")
	for i := range 3 {
		req := httptest.NewRequest("POST", "/items", nil)
		req.Header.Set("Authorization", "Bearer "+bob)
		rec := f.do(req)
		if got := rec.Header().Get("WWW-Authenticate"); got != want || rec.Code != 403 {
			t.Fatalf("request %d: %d, WWW-Authenticate = %q, want 403 %q", i, rec.Code, got, want)
		}
	}
	// Nor can the package's Err values change: they are not *Error values.
	var e *tollgate.Error
	if errors.As(tollgate.ErrInsufficientScope, &e) || errors.As(tollgate.ErrInvalidToken, &e) {
		t.Errorf("an Err value is an *Error, which a handler could modify: %+v", e)
	}
	for range 2 {
		checkInvalidToken(t, f.get("/items", "Bearer x.y.z"), "")
		checkRejected(t, f.get("/items"), 401, bareChallenge)
	}
}
