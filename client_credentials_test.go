package tollgate_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tollgate-go/tollgate"
	"github.com/tollgate-go/tollgate/audit"
	"github.com/tollgate-go/tollgate/memstore"
)

// The confidential clients of the tests: reports holds the
// client_credentials grant and "items:read"; portal logs users in
// (password and refresh_token) within "me items:read", for one audience.
const (
	reportsSecret = "reports-secret-change-me"
	portalSecret  = "portal-secret"
)

// withConfidential adds the test clients: the public "tollgate", and the
// confidential reports and portal, their secrets hashed with the
// fixture's hasher (as Config.Hasher would).
func withConfidential(c *tollgate.Config) {
	h := c.Hasher
	rs, _ := h.Hash(reportsSecret)
	ps, _ := h.Hash(portalSecret)
	cs := memstore.NewClients("tollgate")
	cs.Put(tollgate.Client{ID: "reports", SecretHash: rs, Grants: []string{"client_credentials"}, Scopes: []string{"items:read"}})
	cs.Put(tollgate.Client{ID: "portal", SecretHash: ps, Scopes: []string{"me", "items:read"}, Audience: []string{"https://portal.test"}})
	cs.Put(tollgate.Client{ID: "webapp", Grants: []string{"password", "client_credentials"}})
	c.Clients = cs
	c.Audience = append(c.Audience, "https://portal.test") // portal's, within Config.Audience
}

// TestRFC6749_4_4_ClientCredentials: the grant for a confidential client
// acting for itself, by either way of client authentication (§2.3.1).
func TestRFC6749_4_4_ClientCredentials(t *testing.T) {
	tests := []struct {
		name       string
		authz      []string
		pairs      []string
		wantStatus int
		wantCode   string
		wantScope  string
	}{
		{"RFC6749_2_3_1 Basic (as x/oauth2/clientcredentials sends it)", []string{basicAuth("reports", reportsSecret)}, nil, 200, "", "items:read"},
		{"RFC6749_2_3_1 body parameters", nil, []string{"client_id", "reports", "client_secret", reportsSecret}, 200, "", "items:read"},
		{"RFC6749_3_3 scope asked within the client's", []string{basicAuth("reports", reportsSecret)}, []string{"scope", "items:read"}, 200, "", "items:read"},
		{"RFC6749_3_3 scope beyond the client's", []string{basicAuth("reports", reportsSecret)}, []string{"scope", "items:write"}, 400, "invalid_scope", ""},
		{"RFC6749_3_3 unknown scope", []string{basicAuth("reports", reportsSecret)}, []string{"scope", "root"}, 400, "invalid_scope", ""},
		{"RFC6749_2_3_1 both ways at once", []string{basicAuth("reports", reportsSecret)}, []string{"client_id", "reports"}, 400, "invalid_request", ""},
		{"RFC6749_5_2 wrong secret", []string{basicAuth("reports", "guess")}, nil, 401, "invalid_client", ""},
		{"RFC6749_5_2 wrong secret in the body", nil, []string{"client_id", "reports", "client_secret", "guess"}, 401, "invalid_client", ""},
		{"RFC6749_5_2 unknown client", []string{basicAuth("nobody", "guess")}, nil, 401, "invalid_client", ""},
		{"RFC6749_5_2 no secret", nil, []string{"client_id", "reports"}, 401, "invalid_client", ""},
		{"RFC6749_4_4 public client", nil, []string{"client_id", "webapp"}, 400, "unauthorized_client", ""},
		{"RFC6749_4_4 public client with a secret", []string{basicAuth("webapp", "x")}, nil, 401, "invalid_client", ""},
		{"RFC6749_5_2 grant not the client's", []string{basicAuth("portal", portalSecret)}, nil, 400, "unauthorized_client", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, "", withConfidential)
			rec := grantReq{body: formBody(append([]string{"grant_type", "client_credentials"}, tt.pairs...)...), authz: tt.authz}.send(f)
			if tt.wantCode != "" {
				checkGrantError(t, rec, tt.wantStatus, tt.wantCode, reportsSecret, "guess")
				if chall := rec.Header().Get("WWW-Authenticate"); tt.wantStatus == 401 && !strings.HasPrefix(chall, "Basic ") {
					t.Errorf("401 with WWW-Authenticate %q, want a Basic challenge (RFC 6749 §5.2)", chall)
				}
				return
			}
			if rec.Code != 200 {
				t.Fatalf("%d %s", rec.Code, rec.Body)
			}
			tj := decodeToken(t, rec)
			if tj.RefreshToken != "" {
				t.Error("a refresh token for client_credentials (RFC 6749 §4.4.3 says it should not be)")
			}
			if tj.Scope != tt.wantScope {
				t.Errorf("scope %q, want %q", tj.Scope, tt.wantScope)
			}
			claims := jwtPart(t, tj.AccessToken, 1)
			if claims["sub"] != "reports" || claims["client_id"] != "reports" || claims["preferred_username"] != nil {
				t.Errorf("claims %v: want sub and client_id the client's id, no username (RFC 9068 §2.2)", claims)
			}
			// The token works, and its Principal is a client.
			mux := http.NewServeMux()
			mux.Handle("GET /whoami", f.auth.RequireScopes("items:read")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				p, _ := tollgate.FromContext(r.Context())
				json.NewEncoder(w).Encode(map[string]any{"client": p.Client, "sub": p.Subject})
			})))
			req := httptest.NewRequest("GET", "/whoami", nil)
			req.Header.Set("Authorization", "Bearer "+tj.AccessToken)
			w := httptest.NewRecorder()
			mux.ServeHTTP(w, req)
			if w.Code != 200 || strings.TrimSpace(w.Body.String()) != `{"client":true,"sub":"reports"}` {
				t.Errorf("protected route: %d %s", w.Code, w.Body)
			}
		})
	}
}

// TestClientCredentialsWithoutClientStore: without Config.Clients there is
// no confidential client, and the grant is unsupported.
func TestClientCredentialsWithoutClientStore(t *testing.T) {
	f := newFixture(t, "", nil)
	rec := grantReq{body: formBody("grant_type", "client_credentials"), authz: []string{basicAuth("reports", reportsSecret)}}.send(f)
	checkGrantError(t, rec, 401, "invalid_client", reportsSecret)
	rec = grantReq{body: formBody("grant_type", "client_credentials")}.send(f)
	checkGrantError(t, rec, 400, "unsupported_grant_type")
}

// TestClientSecretTiming: a secret for an unknown client, or for a public
// client (which has none), is checked against a dummy hash, as a known
// confidential client's is against its own, so the time of the answer
// does not tell which clients exist, nor which are public.
func TestClientSecretTiming(t *testing.T) {
	f := newFixture(t, "", withConfidential)
	for _, tc := range []struct {
		name     string
		id       string
		verifies int
	}{{"known", "reports", 1}, {"unknown", "nobody", 1}, {"public", "webapp", 1}} {
		before := f.hasher.Verifies()
		grantReq{body: formBody("grant_type", "client_credentials"), authz: []string{basicAuth(tc.id, "guess")}}.send(f)
		if n := f.hasher.Verifies() - before; n != tc.verifies {
			t.Errorf("%s client: %d hash checks, want %d", tc.name, n, tc.verifies)
		}
	}
	denied := f.events.Of(audit.LoginFailed)
	if len(denied) != 3 || denied[0].Reason != audit.WrongSecret || denied[1].Reason != audit.UnknownClient || denied[0].Username != "" {
		t.Errorf("events %+v", denied)
	}
}

// TestClientSecretThrottled: wrong secrets are throttled like wrong
// passwords, per client id: past the limit the answer is 429 and no hash
// runs (throttle.go); the client's own address stays open.
func TestClientSecretThrottled(t *testing.T) {
	f := newFixture(t, "", func(c *tollgate.Config) {
		withConfidential(c)
		c.Logins.FailuresPerUsername = 3
	})
	guess := func(addr, secret string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "/token", strings.NewReader("grant_type=client_credentials"))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Authorization", basicAuth("reports", secret))
		r.RemoteAddr = addr
		return f.do(r)
	}
	for i := 0; i < 3; i++ {
		if rec := guess("203.0.113.7:1000", "guess"); rec.Code != 401 {
			t.Fatalf("guess %d: %d", i, rec.Code)
		}
	}
	before := f.hasher.Verifies()
	if rec := guess("203.0.113.7:1000", "guess"); rec.Code != http.StatusTooManyRequests {
		t.Fatalf("past the limit: %d, want 429", rec.Code)
	}
	if f.hasher.Verifies() != before {
		t.Error("a throttled guess ran a hash")
	}
	if rec := guess("203.0.113.7:1000", reportsSecret); rec.Code != http.StatusTooManyRequests {
		t.Errorf("the right secret from the guessing address: %d, want 429 (the throttle holds)", rec.Code)
	}
	// A user named like the throttle's key for a client does not share its
	// bucket: usernames cannot hold its control characters.
	if rec := f.post("/token", map[string][]string{"grant_type": {"password"}, "username": {"alice"}, "password": {"wonderland"}}); rec.Code != 200 {
		t.Errorf("a user's login while a client is throttled: %d", rec.Code)
	}
}

// TestConfidentialClientUserGrants: a confidential client may log users
// in (password grant) and refresh; it authenticates every time, its
// refresh tokens are bound to it (RFC 6749 §6), its Scopes bound the
// user's, and its Audience names the tokens' audience.
func TestConfidentialClientUserGrants(t *testing.T) {
	f := newFixture(t, "", withConfidential)
	portal := []string{basicAuth("portal", portalSecret)}
	rec := grantReq{body: aliceForm, authz: portal}.send(f)
	if rec.Code != 200 {
		t.Fatalf("password grant: %d %s", rec.Code, rec.Body)
	}
	tj := decodeToken(t, rec)
	if tj.Scope != "me items:read" {
		t.Errorf("scope %q: want alice's scopes within the client's, \"me items:read\"", tj.Scope)
	}
	claims := jwtPart(t, tj.AccessToken, 1)
	if claims["client_id"] != "portal" || claims["aud"] != "https://portal.test" {
		t.Errorf("claims %v: want client_id portal, aud the client's", claims)
	}
	refresh := formBody("grant_type", "refresh_token", "refresh_token", tj.RefreshToken)
	// RFC 6749 §6: the client authenticates to refresh.
	checkGrantError(t, grantReq{body: refresh + "&client_id=portal"}.send(f), 401, "invalid_client")
	checkGrantError(t, grantReq{body: refresh, authz: []string{basicAuth("portal", "guess")}}.send(f), 401, "invalid_client")
	// RFC 6749 §6: another client cannot use it.
	checkGrantError(t, grantReq{body: refresh}.send(f), 400, "invalid_grant")
	rec = grantReq{body: refresh, authz: portal}.send(f)
	if rec.Code != 200 {
		t.Fatalf("refresh by its client: %d %s", rec.Code, rec.Body)
	}
	// A client without the password grant cannot log users in.
	checkGrantError(t, grantReq{body: aliceForm, authz: []string{basicAuth("reports", reportsSecret)}}.send(f), 400, "unauthorized_client")
	// A user asking for more than the client's Scopes.
	checkGrantError(t, grantReq{body: aliceForm + "&scope=items%3Awrite", authz: portal}.send(f), 400, "invalid_scope")
}

// TestRFC9068_2_2_SubjectCollision: no user token may pass for a client's
// own (Principal.Client): a user whose subject is the client's id is
// refused for that client.
func TestRFC9068_2_2_SubjectCollision(t *testing.T) {
	f := newFixture(t, "", withConfidential)
	h, _ := f.hasher.Hash("pw")
	f.users.Put(tollgate.User{Username: "webapp", PasswordHash: h, Scopes: []string{"me"}})
	rec := f.post("/token", map[string][]string{"grant_type": {"password"}, "username": {"webapp"}, "password": {"pw"}, "client_id": {"webapp"}})
	checkGrantError(t, rec, 400, "invalid_grant")
}

// TestRFC7009_ConfidentialClientRevocation: a confidential client
// authenticates at the revocation endpoint too (RFC 7009 §2.1).
func TestRFC7009_ConfidentialClientRevocation(t *testing.T) {
	f := newFixture(t, "", withConfidential)
	tj := decodeToken(t, grantReq{body: aliceForm, authz: []string{basicAuth("portal", portalSecret)}}.send(f))
	r := httptest.NewRequest("POST", "/revoke", strings.NewReader(formBody("token", tj.RefreshToken, "client_id", "portal")))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if rec := f.do(r); rec.Code != 401 {
		t.Errorf("revocation without the secret: %d, want 401", rec.Code)
	}
	r = httptest.NewRequest("POST", "/revoke", strings.NewReader(formBody("token", tj.RefreshToken)))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Authorization", basicAuth("portal", portalSecret))
	if rec := f.do(r); rec.Code != 200 {
		t.Fatalf("revocation: %d %s", rec.Code, rec.Body)
	}
	refresh := formBody("grant_type", "refresh_token", "refresh_token", tj.RefreshToken)
	checkGrantError(t, grantReq{body: refresh, authz: []string{basicAuth("portal", portalSecret)}}.send(f), 400, "invalid_grant")
}

// TestClientEmptyListsMeanNone: a store may return empty lists where none
// were set (a database's empty array): an empty Audience is
// Config.Audience, empty Grants the default grants, empty Scopes no bound.
func TestClientEmptyListsMeanNone(t *testing.T) {
	f := newFixture(t, "", func(c *tollgate.Config) {
		cs := memstore.NewClients()
		cs.Put(tollgate.Client{ID: "tollgate", Grants: []string{}, Scopes: []string{}, Audience: []string{}})
		c.Clients = cs
	})
	tj := f.login(t, "alice", "wonderland")
	if aud := jwtPart(t, tj.AccessToken, 1)["aud"]; aud != testAudience {
		t.Errorf("aud %v, want Config.Audience", aud)
	}
	if tj.Scope != "me items:read items:write" {
		t.Errorf("scope %q", tj.Scope)
	}
	if rec := f.get("/items", "Bearer "+tj.AccessToken); rec.Code != 200 {
		t.Errorf("the token: %d", rec.Code)
	}
}

// TestLoadUserRefusesGoneClient: with Config.LoadUser, a client's own
// token stops working once its client is deleted, or no longer holds the
// client_credentials grant, as a deleted user's token does (401
// invalid_token, RFC 6750 §3.1).
func TestLoadUserRefusesGoneClient(t *testing.T) {
	for name, change := range map[string]func(cs *memstore.Clients, c tollgate.Client){
		"deleted":       func(cs *memstore.Clients, c tollgate.Client) { cs.Delete(c.ID) },
		"grant removed": func(cs *memstore.Clients, c tollgate.Client) { c.Grants = []string{"password"}; cs.Put(c) },
	} {
		t.Run(name, func(t *testing.T) {
			var cs *memstore.Clients
			f := newFixture(t, "", func(c *tollgate.Config) {
				withConfidential(c)
				c.LoadUser = true
				cs = c.Clients.(*memstore.Clients)
			})
			tj := decodeToken(t, grantReq{body: "grant_type=client_credentials", authz: []string{basicAuth("reports", reportsSecret)}}.send(f))
			if rec := f.get("/items", "Bearer "+tj.AccessToken); rec.Code != 200 {
				t.Fatalf("the client's token before: %d", rec.Code)
			}
			c, _ := cs.LookupClient(t.Context(), "reports")
			change(cs, *c)
			rec := f.get("/items", "Bearer "+tj.AccessToken)
			if rec.Code != 401 || !strings.Contains(rec.Header().Get("WWW-Authenticate"), `error="invalid_token"`) {
				t.Errorf("the client's token after: %d %q, want 401 invalid_token", rec.Code, rec.Header().Get("WWW-Authenticate"))
			}
		})
	}
}
