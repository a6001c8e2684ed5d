package tollgate_test

// The issuing API for a service's own login code (Authenticator.Issue),
// claims of the service's own (Config.Claims, Principal.DecodeClaims), and
// the setup checks around them.

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tollgate-go/tollgate"
	"github.com/tollgate-go/tollgate/audit"
	"github.com/tollgate-go/tollgate/memstore"
)

// TestIssue shows Issue giving a user the service authenticated itself the
// answer TokenHandler gives a password login, under the same rules
// (RFC 6749 §3.3 scopes, disabled users refused, Config.Clients) and with
// the same events.
func TestIssue(t *testing.T) {
	f := newFixture(t, "", nil)
	r := httptest.NewRequest("POST", "/login/github/callback", nil)
	r.RemoteAddr = "192.0.2.9:4242"
	alice := &tollgate.User{Username: "alice", Scopes: []string{"me", "items:read", "items:write"}}

	tok, err := f.auth.Issue(r, alice, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if tok.TokenType != "Bearer" || tok.ExpiresIn != 900 || tok.Scope != "me items:read items:write" || !strings.HasPrefix(tok.RefreshToken, "tgr_") {
		t.Errorf("Issue = %+v, want a Bearer token for 900 s with every scope held and a refresh token", tok)
	}
	if rec := f.get("/items", "Bearer "+tok.AccessToken); rec.Code != 200 {
		t.Errorf("the issued access token: %d", rec.Code)
	}
	if c := jwtPart(t, tok.AccessToken, 1); c["client_id"] != "tollgate" || c["sub"] != "alice" || c["iss"] != testIssuer {
		t.Errorf("claims %v", c)
	}
	// The refresh token is an ordinary one of the refresh grant.
	if rec := f.refreshWith(tok.RefreshToken); rec.Code != 200 {
		t.Errorf("refreshing the issued refresh token: %d %s", rec.Code, rec.Body)
	}
	ev := f.events.Of(audit.LoginSucceeded)
	if len(ev) != 1 || ev[0].Subject != "alice" || ev[0].ClientID != "tollgate" || ev[0].RemoteAddr != "192.0.2.9:4242" {
		t.Errorf("events %+v, want one login_succeeded for alice from the request's address", ev)
	}

	t.Run("RFC6749 §3.3 exactly the scopes asked, if held", func(t *testing.T) {
		tok, err := f.auth.Issue(r, alice, "", []string{"items:read"})
		if err != nil || tok.Scope != "items:read" {
			t.Fatalf("Issue(items:read) = %+v, %v", tok, err)
		}
		for _, scopes := range [][]string{{"admin:users"}, {"no-such-scope"}, {"me", "admin:users"}} {
			tok, err := f.auth.Issue(r, alice, "", scopes)
			var e *tollgate.Error
			if tok != nil || !errors.As(err, &e) || !errors.Is(err, tollgate.ErrInvalidScope) || e.Status != 400 {
				t.Errorf("Issue(%q) = %+v, %v; want 400 invalid_scope", scopes, tok, err)
			}
		}
	})
	t.Run("scopes not registered are never granted", func(t *testing.T) {
		u := &tollgate.User{Username: "alice", Scopes: []string{"me", "reports:read"}}
		tok, err := f.auth.Issue(r, u, "", nil)
		if err != nil || tok.Scope != "me" {
			t.Fatalf("Issue = %+v, %v; want scope me", tok, err)
		}
	})
	t.Run("a disabled user is refused", func(t *testing.T) {
		n := len(f.events.Of(audit.LoginFailed))
		tok, err := f.auth.Issue(r, &tollgate.User{Username: "dave", Scopes: []string{"me"}, Disabled: true}, "", nil)
		if tok != nil || !errors.Is(err, tollgate.ErrInvalidGrant) {
			t.Errorf("Issue(disabled) = %+v, %v; want invalid_grant", tok, err)
		}
		if ev := f.events.Of(audit.LoginFailed); len(ev) != n+1 || ev[n].Reason != audit.UserDisabled {
			t.Errorf("events %+v, want login_failed user_disabled", ev[n:])
		}
	})
	t.Run("the client must be known", func(t *testing.T) {
		g := newFixture(t, "", withClients("web", "tollgate"))
		if _, err := g.auth.Issue(r, alice, "web", nil); err != nil {
			t.Errorf("Issue(client web) = %v", err)
		}
		tok, err := g.auth.Issue(r, alice, "mobile", nil)
		if tok != nil || !errors.Is(err, tollgate.ErrInvalidClient) {
			t.Errorf("Issue(unknown client) = %+v, %v; want invalid_client", tok, err)
		}
	})
	t.Run("a verifier cannot issue", func(t *testing.T) {
		v, err := tollgate.New(tollgate.Config{Issuer: testIssuer, Audience: []string{testAudience}, VerificationKeys: []*tollgate.Key{f.key.Public()}})
		if err != nil {
			t.Fatal(err)
		}
		if tok, err := v.Issue(r, alice, "", nil); tok != nil || err == nil || errors.As(err, new(*tollgate.Error)) {
			t.Errorf("verifier Issue = %+v, %v; want a setup error (not an answer for the client)", tok, err)
		}
	})
}

// TestTokenHandlerAndRevokeHandlerPanicOnVerifier: both endpoints of the
// authorization server are wiring bugs on a verifier, caught at setup the
// same way (RevokeHandler used to answer 200 to everything).
func TestTokenHandlerAndRevokeHandlerPanicOnVerifier(t *testing.T) {
	v, err := tollgate.New(tollgate.Config{Issuer: testIssuer, Audience: []string{testAudience}, VerificationKeys: []*tollgate.Key{testKey(t, "ES256").Public()}})
	if err != nil {
		t.Fatal(err)
	}
	for name, mount := range map[string]func() http.Handler{"TokenHandler": v.TokenHandler, "RevokeHandler": v.RevokeHandler} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(r.(string), name) {
					t.Errorf("%s on a verifier: panic %v, want one naming %s", name, r, name)
				}
			}()
			mount()
		}()
	}
}

// TestUnregisteredScopeReported: a user holding a scope that is not in
// Config.Scopes is a setup mistake. A store that lists its users fails New
// (TestNewConfigErrors); any other store reports it at the first login
// that meets it, once, as an event and a warning, and the scope is still
// never granted.
func TestUnregisteredScopeReported(t *testing.T) {
	users := memstore.NewUsers(tollgate.User{Username: "erin", PasswordHash: must((&fastHasher{}).Hash("pw")), Scopes: []string{"me", "reports:read"}})
	f := newFixture(t, "", func(c *tollgate.Config) {
		c.Users = userStoreFunc(users.LookupUser) // cannot list
	})
	for range 3 {
		if tj := f.login(t, "erin", "pw"); tj.Scope != "me" {
			t.Errorf("scope %q, want me", tj.Scope)
		}
	}
	ev := f.events.Of(audit.ScopeUnregistered)
	if len(ev) != 1 || ev[0].Scope != "reports:read" || ev[0].Subject != "erin" {
		t.Errorf("events %+v, want one scope_unregistered for reports:read", ev)
	}
}

// profileClaims is a Config.Claims hook that puts the user's profile in
// the token, as FastAPI's tutorials put full_name in theirs.
func profileClaims(_ context.Context, u *tollgate.User) (map[string]any, error) {
	return map[string]any{"full_name": u.Profile["full_name"], "email": u.Profile["email"], "roles": []string{"reader"}}, nil
}

// TestClaimsHook: claims of the service's own go into every access token,
// login and refresh alike, from the user the store returned (its Profile,
// without a second lookup), and handlers read them into a struct of their
// own.
func TestClaimsHook(t *testing.T) {
	lookups := 0
	users := memstore.NewUsers(tollgate.User{Username: "alice", PasswordHash: must((&fastHasher{}).Hash("wonderland")), Scopes: []string{"me"},
		Profile: map[string]any{"full_name": "Alice Liddell", "email": "alice@example.com"}})
	f := newFixture(t, "", func(c *tollgate.Config) {
		c.Users = userStoreFunc(func(ctx context.Context, name string) (*tollgate.User, error) {
			lookups++
			return users.LookupUser(ctx, name)
		})
		c.Claims = profileClaims
	})
	type profile struct {
		Sub      string   `json:"sub"`
		FullName string   `json:"full_name"`
		Email    string   `json:"email"`
		Roles    []string `json:"roles"`
	}
	check := func(what, token string) {
		t.Helper()
		var got profile
		h := f.auth.RequireScopes("me")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, _ := tollgate.FromContext(r.Context())
			if err := p.DecodeClaims(&got); err != nil {
				t.Errorf("%s: DecodeClaims: %v", what, err)
			}
		}))
		for range 2 { // verified, then from the cache
			req := httptest.NewRequest("GET", "/me", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != 200 {
				t.Fatalf("%s: %d", what, rec.Code)
			}
			if got.Sub != "alice" || got.FullName != "Alice Liddell" || got.Email != "alice@example.com" || len(got.Roles) != 1 {
				t.Errorf("%s: claims %+v", what, got)
			}
		}
	}
	tj := f.login(t, "alice", "wonderland")
	if lookups != 1 {
		t.Errorf("a login looked the user up %d times, want 1 (the hook gets the user at hand)", lookups)
	}
	check("login", tj.AccessToken)
	rec := f.refreshWith(tj.RefreshToken)
	if rec.Code != 200 {
		t.Fatalf("refresh: %d", rec.Code)
	}
	check("refresh", decodeToken(t, rec).AccessToken)

	var p tollgate.Principal
	if err := p.DecodeClaims(&struct{}{}); err == nil {
		t.Error("DecodeClaims on a Principal made by hand succeeded")
	}
}

// TestClaimsHookCannotOverride: the registered and protocol claims are
// tollgate's (RFC 7519 §4.1, RFC 9068 §2.2): a hook that sets one fails
// the login with a server error, and no token is issued; so does a hook
// whose claims would make a token larger than tollgate verifies.
func TestClaimsHookCannotOverride(t *testing.T) {
	for _, name := range []string{"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "scope", "client_id", "typ", "preferred_username", ""} {
		t.Run("claim "+name, func(t *testing.T) {
			f := newFixture(t, "", func(c *tollgate.Config) {
				c.Logger = discardLogger()
				c.Claims = func(context.Context, *tollgate.User) (map[string]any, error) {
					return map[string]any{"full_name": "x", name: "attacker-chosen"}, nil
				}
			})
			rec := f.loginFrom("192.0.2.1:1", "alice", "wonderland")
			if rec.Code != 500 || strings.Contains(rec.Body.String(), "access_token") {
				t.Errorf("login: %d %s, want 500 and no token", rec.Code, rec.Body)
			}
		})
	}
	t.Run("too large", func(t *testing.T) {
		var logs strings.Builder
		f := newFixture(t, "", func(c *tollgate.Config) {
			c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			c.Claims = func(context.Context, *tollgate.User) (map[string]any, error) {
				return map[string]any{"blob": strings.Repeat("x", 5000)}, nil
			}
		})
		if rec := f.loginFrom("192.0.2.1:1", "alice", "wonderland"); rec.Code != 500 {
			t.Errorf("login: %d, want 500", rec.Code)
		}
		if !strings.Contains(logs.String(), "at most 4096") {
			t.Errorf("log %q, want the size bound named", logs.String())
		}
	})
	t.Run("a hook error fails the login", func(t *testing.T) {
		f := newFixture(t, "", func(c *tollgate.Config) {
			c.Logger = discardLogger()
			c.Claims = func(context.Context, *tollgate.User) (map[string]any, error) {
				return nil, errors.New("profile service down")
			}
		})
		if rec := f.loginFrom("192.0.2.1:1", "alice", "wonderland"); rec.Code != 500 {
			t.Errorf("login: %d, want 500", rec.Code)
		}
	})
	t.Run("largest claims verify", func(t *testing.T) {
		f := newFixture(t, "RS256", func(c *tollgate.Config) {
			c.Claims = func(context.Context, *tollgate.User) (map[string]any, error) {
				return map[string]any{"blob": strings.Repeat("x", 4000)}, nil
			}
		})
		tj := f.login(t, "alice", "wonderland")
		if rec := f.get("/items", "Bearer "+tj.AccessToken); rec.Code != 200 {
			t.Errorf("a token with 4 KB of claims: %d", rec.Code)
		}
	})
}

// TestClaimsNamesCannotShadow: encoding/json, which DecodeClaims uses,
// matches names case-insensitively (with Unicode folding) and lets the
// last one win. So a hook may not set a claim that folds to a reserved
// one ("SUB", "ſcope" with U+017F), nor one that is not UTF-8, and
// DecodeClaims refuses a token, of any issuer, that names a claim twice
// in two cases: a handler's Sub is always the verified "sub".
func TestClaimsNamesCannotShadow(t *testing.T) {
	for _, name := range []string{"SUB", "Scope", "\u017fcope", "Client_ID", "ISS", "role\xff"} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, "", func(c *tollgate.Config) {
				c.Logger = discardLogger()
				c.Claims = func(context.Context, *tollgate.User) (map[string]any, error) {
					return map[string]any{name: "admin:users"}, nil
				}
			})
			if rec := f.loginFrom("192.0.2.1:1", "alice", "wonderland"); rec.Code != 500 || strings.Contains(rec.Body.String(), "access_token") {
				t.Errorf("login with a hook claim %q: %d %s, want 500 and no token", name, rec.Code, rec.Body)
			}
		})
	}
	t.Run("a foreign token naming sub twice", func(t *testing.T) {
		f := newFixture(t, "", nil)
		tok := f.forgeGood(t, func(h, c map[string]any) { c["Sub"] = "mallory" })
		h := f.auth.RequireScopes("me")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, _ := tollgate.FromContext(r.Context())
			var c struct {
				Sub string `json:"sub"`
			}
			if err := p.DecodeClaims(&c); err == nil {
				t.Errorf("DecodeClaims accepted sub and Sub: Sub = %q", c.Sub)
			}
		}))
		req := httptest.NewRequest("GET", "/me", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		h.ServeHTTP(httptest.NewRecorder(), req)
	})
}

// TestIssueRefusesBadInput: Issue's caller hands it a user and scopes
// that no form parsing has checked, so Issue checks them as the token
// endpoint checks its parameters.
func TestIssueRefusesBadInput(t *testing.T) {
	f := newFixture(t, "", nil)
	r := httptest.NewRequest("POST", "/login", nil)
	for name, u := range map[string]*tollgate.User{
		"no ID and no Username": {Scopes: []string{"me"}},
		"ID not UTF-8":          {ID: "alice\xff", Username: "alice", Scopes: []string{"me"}},
		"Username with a NUL":   {Username: "alice\x00", Scopes: []string{"me"}},
		"ID of 2 KiB":           {ID: strings.Repeat("a", 2048), Username: "alice", Scopes: []string{"me"}},
	} {
		if tok, err := f.auth.Issue(r, u, "", nil); tok != nil || err == nil {
			t.Errorf("Issue(%s) = %+v, %v; want an error", name, tok, err)
		}
	}
	if _, err := f.auth.Issue(nil, &tollgate.User{Username: "alice"}, "", nil); err == nil {
		t.Error("Issue(nil request) succeeded")
	}
	alice := &tollgate.User{Username: "alice", Scopes: []string{"me", "items:read"}}
	tok, err := f.auth.Issue(r, alice, "", []string{"me", "me", "items:read", "me"})
	if err != nil || tok.Scope != "me items:read" {
		t.Errorf("Issue(me me items:read me) = %+v, %v; want each scope once", tok, err)
	}
	tok, err = f.auth.Issue(r, alice, "", []string{})
	if err != nil || tok.Scope != "" {
		t.Errorf("Issue(no scopes) = %+v, %v; want a token granting none", tok, err)
	}
	if ev := f.events.Of(audit.LoginSucceeded); len(ev) != 2 {
		t.Errorf("%d login events, want 2 (refused input is no login)", len(ev))
	}
}
