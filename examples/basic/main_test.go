package main

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestEndToEnd drives every route of the example, for each signing
// algorithm, the way a client sees it.
func TestEndToEnd(t *testing.T) {
	for _, alg := range algorithms {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			args, env := argsFor(alg)
			s := newTestServer(t, args, env)
			testEndToEnd(t, s, alg)
		})
	}
}

func testEndToEnd(t *testing.T, s *testServer, alg string) {
	sessions := map[string]tokenResponse{}

	t.Run("RFC6749 §4.3.3 §5.1 login of each active user", func(t *testing.T) {
		for _, u := range demoUsers {
			if u.Disabled {
				continue
			}
			r := s.form("/token", url.Values{"grant_type": {"password"}, "username": {u.Name}, "password": {u.Password}})
			tr := s.tokens(r)
			if tr.TokenType != "Bearer" || tr.ExpiresIn != 900 || tr.Scope != strings.Join(u.Scopes, " ") ||
				tr.AccessToken == "" || !strings.HasPrefix(tr.RefreshToken, "tgr_") {
				t.Errorf("login %s: token_type %q, expires_in %d, scope %q, refresh prefix ok %v; want Bearer, 900, %q, true",
					u.Name, tr.TokenType, tr.ExpiresIn, tr.Scope, strings.HasPrefix(tr.RefreshToken, "tgr_"), strings.Join(u.Scopes, " "))
			}
			if cc, pragma := r.header.Get("Cache-Control"), r.header.Get("Pragma"); cc != "no-store" || pragma != "no-cache" {
				t.Errorf("login %s: Cache-Control %q, Pragma %q; want no-store, no-cache", u.Name, cc, pragma)
			}
			sessions[u.Name] = tr
		}
	})
	if t.Failed() {
		t.FailNow()
	}
	alice, bob, carol := sessions["alice"].AccessToken, sessions["bob"].AccessToken, sessions["carol"].AccessToken

	t.Run("RFC6749 §5.2 disabled user, wrong password and unknown user get invalid_grant", func(t *testing.T) {
		var descs []string
		for _, c := range [][2]string{{"dave", "disabled-pass"}, {"alice", "not-wonderland"}, {"mallory", "wonderland"}} {
			r := s.form("/token", url.Values{"grant_type": {"password"}, "username": {c[0]}, "password": {c[1]}})
			wantOAuthError(t, r, http.StatusBadRequest, "invalid_grant")
			descs = append(descs, r.json(t)["error_description"].(string))
		}
		if descs[1] != descs[2] {
			t.Errorf("wrong password says %q, unknown user %q: an attacker can tell them apart", descs[1], descs[2])
		}
	})

	t.Run("RFC9068 access token header and claims, signature checked from the JWKS", func(t *testing.T) {
		r := s.get("/.well-known/jwks.json", "")
		if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
			t.Fatalf("GET /.well-known/jwks.json: %d %q", r.status, r.header.Get("Content-Type"))
		}
		var set struct{ Keys []jwk }
		if err := json.Unmarshal(r.body, &set); err != nil {
			t.Fatalf("JWKS %s: %v", r.body, err)
		}
		hdr, claims, input, sig := jwtParts(t, alice)
		if hdr["alg"] != alg || hdr["typ"] != "at+jwt" || hdr["kid"] == "" {
			t.Errorf("JOSE header = %v, want alg %s, typ at+jwt, a kid", hdr, alg)
		}
		want := map[string]any{"iss": s.issuer, "sub": "alice", "scope": "me items:read items:write", "client_id": "tollgate"}
		for k, v := range want {
			if claims[k] != v {
				t.Errorf("claim %s = %v, want %v", k, claims[k], v)
			}
		}
		if aud := claims["aud"]; aud != s.issuer && !reflect.DeepEqual(aud, []any{s.issuer}) {
			t.Errorf("claim aud = %v, want %s", aud, s.issuer)
		}
		if alg == "HS256" {
			if len(set.Keys) != 0 {
				t.Errorf("JWKS publishes %d keys for HS256; the secret must stay secret", len(set.Keys))
			}
			if !verifyHS256(testSecret, input, sig) {
				t.Error("HS256 signature does not verify with TOLLGATE_SECRET")
			}
			return
		}
		if len(set.Keys) != 1 {
			t.Fatalf("JWKS has %d keys, want 1: %s", len(set.Keys), r.body)
		}
		k := set.Keys[0]
		if k.Kid != hdr["kid"] || k.Alg != alg || k.D != "" || k.K != "" {
			t.Errorf("JWK kid %q alg %q (private parts present: %v); want kid %v alg %s, public only", k.Kid, k.Alg, k.D != "" || k.K != "", hdr["kid"], alg)
		}
		if !verifyWithJWK(t, k, input, sig) {
			t.Error("the access token's signature does not verify with the published key")
		}
	})

	t.Run("GET /users/me answers exactly username and scopes", func(t *testing.T) {
		for name, tr := range sessions {
			r := s.get("/users/me", tr.AccessToken)
			var got map[string]any
			if err := json.Unmarshal(r.body, &got); r.status != http.StatusOK || err != nil {
				t.Fatalf("GET /users/me as %s: %d %s", name, r.status, r.body)
			}
			var scopes []any
			for _, sc := range strings.Fields(tr.Scope) {
				scopes = append(scopes, sc)
			}
			want := map[string]any{"username": name, "scopes": scopes}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("GET /users/me as %s = %s, want %v", name, r.body, want)
			}
		}
	})

	t.Run("RFC6750 §3.1 no token: 401 with a bare challenge", func(t *testing.T) {
		for _, path := range []string{"/users/me", "/items", "/admin/users"} {
			r := s.get(path, "")
			if r.status != http.StatusUnauthorized {
				t.Errorf("GET %s without a token: %d, want 401", path, r.status)
			}
			if got, want := r.header.Get("WWW-Authenticate"), `Bearer realm="`+s.issuer+`"`; got != want {
				t.Errorf("GET %s without a token: WWW-Authenticate %q, want %q", path, got, want)
			}
		}
	})

	t.Run("RFC6750 §3.1 forged token: 401 invalid_token", func(t *testing.T) {
		// carol's claims under alice's signature: the payload is tampered.
		parts := strings.Split(alice, ".")
		claims := `{"iss":"` + s.issuer + `","sub":"carol","aud":"` + s.issuer + `","exp":9999999999,"scope":"admin:users"}`
		r := s.get("/admin/users", parts[0]+"."+base64.RawURLEncoding.EncodeToString([]byte(claims))+"."+parts[2])
		wantOAuthError(t, r, http.StatusUnauthorized, "invalid_token")
		if !strings.Contains(r.header.Get("WWW-Authenticate"), `error="invalid_token"`) {
			t.Errorf("WWW-Authenticate = %q, want error=\"invalid_token\"", r.header.Get("WWW-Authenticate"))
		}
	})

	t.Run("GET /items with items:read", func(t *testing.T) {
		r := s.get("/items", bob)
		var items []item
		if err := json.Unmarshal(r.body, &items); r.status != http.StatusOK || err != nil || len(items) < 2 {
			t.Fatalf("GET /items as bob: %d %s", r.status, r.body)
		}
		if items[0] != (item{ID: 1, Name: "Portal Gun", Owner: "alice"}) {
			t.Errorf("first item = %+v", items[0])
		}
	})

	t.Run("RFC6750 §3.1 POST /items without items:write: 403 insufficient_scope", func(t *testing.T) {
		r := s.do(http.MethodPost, "/items", bob, "application/json", `{"name":"Hammer"}`)
		wantOAuthError(t, r, http.StatusForbidden, "insufficient_scope")
		ch := r.header.Get("WWW-Authenticate")
		if !strings.HasPrefix(ch, `Bearer realm="`) || !strings.Contains(ch, `error="insufficient_scope"`) || !strings.Contains(ch, `scope="items:write"`) {
			t.Errorf("WWW-Authenticate = %q, want insufficient_scope naming items:write", ch)
		}
	})

	t.Run("POST /items with items:write: 201 and the item", func(t *testing.T) {
		r := s.do(http.MethodPost, "/items", alice, "application/json", `{"name":"Hammer"}`)
		var it item
		if err := json.Unmarshal(r.body, &it); r.status != http.StatusCreated || err != nil {
			t.Fatalf("POST /items as alice: %d %s, want 201", r.status, r.body)
		}
		if it.Name != "Hammer" || it.Owner != "alice" || it.ID <= 2 {
			t.Errorf("created %+v, want Hammer owned by alice with a new id", it)
		}
		var items []item
		_ = json.Unmarshal(s.get("/items", bob).body, &items)
		if !slices.Contains(items, it) {
			t.Errorf("GET /items = %+v, lacks the new %+v", items, it)
		}
	})

	t.Run("POST /items with a bad body", func(t *testing.T) {
		tests := []struct {
			name, body string
			status     int
		}{
			{"not JSON", `name=Hammer`, http.StatusBadRequest},
			{"empty body", ``, http.StatusBadRequest},
			{"JSON array", `["Hammer"]`, http.StatusBadRequest},
			{"name not a string", `{"name":42}`, http.StatusBadRequest},
			{"no name", `{}`, http.StatusBadRequest},
			{"control character", `{"name":"a\u0000b"}`, http.StatusBadRequest},
			{"name too long", `{"name":"` + strings.Repeat("x", maxItemName+1) + `"}`, http.StatusBadRequest},
			{"two objects", `{"name":"a"}{"name":"b"}`, http.StatusBadRequest},
			{"body too large", `{"name":"` + strings.Repeat("x", maxItemBody) + `"}`, http.StatusRequestEntityTooLarge},
		}
		for _, tt := range tests {
			r := s.do(http.MethodPost, "/items", alice, "application/json", tt.body)
			if r.status != tt.status || r.json(t)["error"] != "invalid_request" || r.json(t)["error_description"] == "" {
				t.Errorf("%s: %d %s, want %d invalid_request", tt.name, r.status, r.body, tt.status)
			}
		}
	})

	t.Run("GET /admin/users: 200 for admin:users, 403 without", func(t *testing.T) {
		r := s.get("/admin/users", carol)
		var users []map[string]any
		if err := json.Unmarshal(r.body, &users); r.status != http.StatusOK || err != nil || len(users) != len(demoUsers) {
			t.Fatalf("GET /admin/users as carol: %d %s", r.status, r.body)
		}
		want := map[string]any{"username": "dave", "scopes": []any{"me"}, "disabled": true}
		if !reflect.DeepEqual(users[3], want) {
			t.Errorf("users[3] = %v, want %v", users[3], want)
		}
		for _, u := range demoUsers {
			if strings.Contains(string(r.body), u.Password) || strings.Contains(string(r.body), "$2") || strings.Contains(string(r.body), "fast$") {
				t.Fatalf("GET /admin/users leaks a password or hash: %s", r.body)
			}
		}
		wantOAuthError(t, s.get("/admin/users", alice), http.StatusForbidden, "insufficient_scope")
	})

	t.Run("RFC9700 §4.14.2 refresh rotates; reusing a spent token revokes the family", func(t *testing.T) {
		first := s.login("alice", "wonderland")
		second := s.tokens(s.refresh(first.RefreshToken))
		if second.RefreshToken == first.RefreshToken || second.AccessToken == first.AccessToken {
			t.Fatal("refresh did not rotate the tokens")
		}
		if second.Scope != first.Scope {
			t.Errorf("refresh scope = %q, want the original %q", second.Scope, first.Scope)
		}
		if r := s.get("/users/me", second.AccessToken); r.status != http.StatusOK {
			t.Errorf("GET /users/me with the refreshed token: %d", r.status)
		}
		wantOAuthError(t, s.refresh(first.RefreshToken), http.StatusBadRequest, "invalid_grant")
		// The reuse revoked the family: the newest token is dead too.
		wantOAuthError(t, s.refresh(second.RefreshToken), http.StatusBadRequest, "invalid_grant")
	})

	t.Run("RFC7009 §2.2 revoke answers 200, then the refresh token fails", func(t *testing.T) {
		tr := s.login("bob", "builder")
		r := s.form("/revoke", url.Values{"token": {tr.RefreshToken}})
		if r.status != http.StatusOK {
			t.Fatalf("POST /revoke: %d %s", r.status, r.body)
		}
		wantOAuthError(t, s.refresh(tr.RefreshToken), http.StatusBadRequest, "invalid_grant")
		if r := s.form("/revoke", url.Values{"token": {"tgr_unknown"}}); r.status != http.StatusOK {
			t.Errorf("POST /revoke of an unknown token: %d, want 200", r.status)
		}
	})

	t.Run("GET /healthz is open", func(t *testing.T) {
		r := s.get("/healthz", "")
		if r.status != http.StatusOK || strings.TrimSpace(string(r.body)) != `{"status":"ok"}` {
			t.Errorf("GET /healthz: %d %s", r.status, r.body)
		}
	})

	t.Run("RFC6749 §3.2 wrong method on /token and /revoke: 405, Allow: POST", func(t *testing.T) {
		for _, path := range []string{"/token", "/revoke"} {
			for _, m := range []string{http.MethodGet, http.MethodPut} {
				r := s.do(m, path, "", "", "")
				if r.status != http.StatusMethodNotAllowed || r.header.Get("Allow") != http.MethodPost {
					t.Errorf("%s %s: %d, Allow %q; want 405, POST", m, path, r.status, r.header.Get("Allow"))
				}
			}
		}
	})

	t.Run("RFC6749 §3.2 token request that is not a form: 400 invalid_request", func(t *testing.T) {
		for _, ct := range []string{"application/json", "multipart/form-data; boundary=x", "text/plain", ""} {
			r := s.do(http.MethodPost, "/token", "", ct, `{"grant_type":"password","username":"alice","password":"wonderland"}`)
			wantOAuthError(t, r, http.StatusBadRequest, "invalid_request")
		}
	})

	t.Run("wrong method on a protected route: 405 from the mux", func(t *testing.T) {
		if r := s.do(http.MethodDelete, "/items", alice, "", ""); r.status != http.StatusMethodNotAllowed {
			t.Errorf("DELETE /items: %d, want 405", r.status)
		}
	})
}
