package tollgate_test

// Black-box tests of the token endpoint (RFC 6749 §2.3.1, §3.1, §3.2, §3.3,
// §4.3.2, §5.1, §5.2), over HTTP against the shared fixture.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-go/tollgate"
	"github.com/tollgate-go/tollgate/audit"
	"github.com/tollgate-go/tollgate/memstore"
)

// grantReq is one raw request to the token endpoint.
type grantReq struct {
	method string   // default POST
	ct     string   // Content-Type; "-" for none
	body   string   // sent as is
	authz  []string // Authorization header values
}

// send serves req on f's /token.
func (req grantReq) send(f *fixture) *httptest.ResponseRecorder {
	method := req.method
	if method == "" {
		method = http.MethodPost
	}
	r := httptest.NewRequest(method, "/token", strings.NewReader(req.body))
	switch req.ct {
	case "-":
	case "":
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	default:
		r.Header.Set("Content-Type", req.ct)
	}
	for _, v := range req.authz {
		r.Header.Add("Authorization", v)
	}
	return f.do(r)
}

// formBody is a body with the given name=value pairs, in order, encoded
// with url.QueryEscape (so repeated names are possible).
func formBody(pairs ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(pairs); i += 2 {
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(pairs[i]) + "=" + url.QueryEscape(pairs[i+1]))
	}
	return b.String()
}

// aliceForm is a valid password-grant body for alice.
var aliceForm = formBody("grant_type", "password", "username", "alice", "password", "wonderland")

// basicAuth is the RFC 6749 §2.3.1 Basic header for id and secret.
func basicAuth(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
}

// checkGrantError checks an RFC 6749 §5.2 error answer: the status, a JSON
// body with the error code and a description, no-store, and none of the
// secrets in the body.
func checkGrantError(t *testing.T, rec *httptest.ResponseRecorder, status int, code string, secrets ...string) tokenJSON {
	t.Helper()
	if rec.Code != status {
		t.Errorf("status = %d, want %d (body %s)", rec.Code, status, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}
	var raw map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &raw); err != nil {
		t.Fatalf("error body %q is not JSON: %v", rec.Body, err)
	}
	tj := decodeToken(t, rec)
	if tj.Error != code {
		t.Errorf("error = %q, want %q (description %q)", tj.Error, code, tj.Description)
	}
	if tj.Description == "" {
		t.Errorf("error_description is empty")
	}
	if tj.AccessToken != "" || tj.RefreshToken != "" {
		t.Errorf("error answer carries a token: %s", rec.Body)
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(rec.Body.String(), s) {
			t.Errorf("error body %s contains the secret %q", rec.Body, s)
		}
	}
	return tj
}

// jwtPart decodes the header (0) or payload (1) of a compact JWS.
func jwtPart(t testing.TB, token string, i int) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("access token has %d segments, want 3", len(parts))
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		t.Fatalf("segment %d is not base64url: %v", i, err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("segment %d is not a JSON object: %v", i, err)
	}
	return m
}

// sortedFields returns the space-separated fields of s, sorted.
func sortedFields(s string) []string {
	f := strings.Fields(s)
	slices.Sort(f)
	return f
}

// TestRFC6749_3_2_TokenEndpointRequest checks the shape rules of a token
// request: POST only, a form body only, a bounded body.
func TestRFC6749_3_2_TokenEndpointRequest(t *testing.T) {
	tests := []struct {
		name       string
		req        grantReq
		wantStatus int
		wantCode   string // "" for success
	}{
		{"RFC6749 §3.2 POST form", grantReq{body: aliceForm}, 200, ""},
		{"RFC6749 §3.2 GET", grantReq{method: "GET", ct: "-"}, 405, "invalid_request"},
		{"RFC6749 §3.2 GET with a form in the query", grantReq{method: "GET", ct: "-", body: aliceForm}, 405, "invalid_request"},
		{"RFC6749 §3.2 PUT", grantReq{method: "PUT", body: aliceForm}, 405, "invalid_request"},
		{"RFC6749 §3.2 charset=UTF-8 accepted", grantReq{ct: "application/x-www-form-urlencoded; charset=UTF-8", body: aliceForm}, 200, ""},
		{"RFC6749 §3.2 media type is case-insensitive", grantReq{ct: "Application/X-WWW-Form-URLEncoded", body: aliceForm}, 200, ""},
		{"RFC6749 §3.2 JSON body", grantReq{ct: "application/json", body: `{"grant_type":"password","username":"alice","password":"wonderland"}`}, 400, "invalid_request"},
		{"RFC6749 §3.2 JSON body labelled as a form", grantReq{body: `{"grant_type":"password","username":"alice","password":"wonderland"}`}, 400, "invalid_request"},
		{"RFC6749 §3.2 multipart body", grantReq{
			ct:   "multipart/form-data; boundary=XX",
			body: "--XX\r\nContent-Disposition: form-data; name=\"grant_type\"\r\n\r\npassword\r\n--XX\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\nalice\r\n--XX\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\nwonderland\r\n--XX--\r\n",
		}, 400, "invalid_request"},
		{"RFC6749 §3.2 no Content-Type", grantReq{ct: "-", body: aliceForm}, 400, "invalid_request"},
		{"RFC6749 §3.2 text/plain", grantReq{ct: "text/plain", body: aliceForm}, 400, "invalid_request"},
		{"RFC6749 §3.2 malformed Content-Type", grantReq{ct: "application/x-www-form-urlencoded; charset", body: aliceForm}, 400, "invalid_request"},
		{"RFC6749 §3.2 body over the bound", grantReq{body: aliceForm + "&pad=" + strings.Repeat("a", 17<<10)}, 400, "invalid_request"},
		{"RFC6749 §3.2 1 MB body", grantReq{body: aliceForm + "&pad=" + strings.Repeat("a", 1<<20)}, 400, "invalid_request"},
		{"RFC6749 §3.2 parameter over the bound", grantReq{body: aliceForm + "&pad=" + strings.Repeat("a", 2000)}, 400, "invalid_request"},
		{"RFC6749 §3.2 bad percent-encoding", grantReq{body: aliceForm + "&x=%zz"}, 400, "invalid_request"},
		{"RFC6749 §3.2 semicolon separator", grantReq{body: "grant_type=password;username=alice&password=wonderland"}, 400, "invalid_request"},
		{"RFC6749 §3.2 empty body", grantReq{}, 400, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, "", nil)
			rec := tt.req.send(f)
			if tt.wantCode == "" {
				if rec.Code != tt.wantStatus {
					t.Fatalf("status = %d, want %d (body %s)", rec.Code, tt.wantStatus, rec.Body)
				}
				if tj := decodeToken(t, rec); tj.AccessToken == "" {
					t.Errorf("no access_token in %s", rec.Body)
				}
				return
			}
			checkGrantError(t, rec, tt.wantStatus, tt.wantCode, "wonderland")
			if rec.Code == http.StatusMethodNotAllowed {
				if got := rec.Header().Get("Allow"); got != "POST" {
					t.Errorf("Allow = %q, want POST", got)
				}
			}
			if n := f.hasher.Verifies(); n != 0 {
				t.Errorf("a refused request ran %d password checks, want 0", n)
			}
		})
	}
}

// TestRFC6749_3_1_RepeatedParameters checks that a parameter sent twice is
// refused, even with the same value twice (§3.1: "Request and response
// parameters MUST NOT be included more than once").
func TestRFC6749_3_1_RepeatedParameters(t *testing.T) {
	tests := []struct {
		name string
		body string
	}{
		{"grant_type twice", formBody("grant_type", "password", "grant_type", "refresh_token", "username", "alice", "password", "wonderland")},
		{"grant_type twice, same value", formBody("grant_type", "password", "grant_type", "password", "username", "alice", "password", "wonderland")},
		{"username twice", formBody("grant_type", "password", "username", "bob", "username", "alice", "password", "wonderland")},
		{"password twice", formBody("grant_type", "password", "username", "alice", "password", "x", "password", "wonderland")},
		{"scope twice", formBody("grant_type", "password", "username", "alice", "password", "wonderland", "scope", "me", "scope", "items:write")},
		{"client_id twice", formBody("grant_type", "password", "username", "alice", "password", "wonderland", "client_id", "a", "client_id", "b")},
		{"unknown parameter twice", formBody("grant_type", "password", "username", "alice", "password", "wonderland", "x", "1", "x", "1")},
	}
	for _, tt := range tests {
		t.Run("RFC6749 §3.1 "+tt.name, func(t *testing.T) {
			f := newFixture(t, "", nil)
			checkGrantError(t, grantReq{body: tt.body}.send(f), 400, "invalid_request", "wonderland")
			if n := f.hasher.Verifies(); n != 0 {
				t.Errorf("ran %d password checks, want 0", n)
			}
		})
	}
}

// TestRFC6749_3_2_ParameterCharacters checks that invalid UTF-8, NUL and
// other control characters in username, password or scope are refused as
// invalid_request before they reach the store or the hasher, as are
// oversized passwords.
func TestRFC6749_3_2_ParameterCharacters(t *testing.T) {
	bad := []struct {
		name, value string
	}{
		{"invalid UTF-8", "ali\xffce"},
		{"truncated UTF-8", "alice\xe2\x82"},
		{"overlong UTF-8 NUL", "alice\xc0\x80"},
		{"NUL", "alice\x00"},
		{"leading NUL", "\x00alice"},
		{"LF", "alice\n"},
		{"CR LF", "alice\r\nX-Injected: 1"},
		{"tab", "al\tice"},
		{"ESC", "alice\x1b[31m"},
		{"DEL", "alice\x7f"},
	}
	for _, param := range []string{"username", "password", "scope"} {
		for _, b := range bad {
			t.Run("RFC6749 §3.2 "+param+" "+b.name, func(t *testing.T) {
				f := newFixture(t, "", nil)
				vals := map[string]string{"username": "alice", "password": "wonderland", "scope": "me"}
				vals[param] = b.value
				body := formBody("grant_type", "password", "username", vals["username"], "password", vals["password"], "scope", vals["scope"])
				checkGrantError(t, grantReq{body: body}.send(f), 400, "invalid_request", "wonderland", b.value)
				if n := f.hasher.Verifies(); n != 0 {
					t.Errorf("ran %d password checks, want 0", n)
				}
				if ev := f.events.Of(audit.LoginSucceeded); len(ev) != 0 {
					t.Errorf("login succeeded: %+v", ev)
				}
			})
		}
	}
	for _, n := range []int{1025, 10000} {
		t.Run(fmt.Sprintf("RFC6749 §3.2 %d-byte password never reaches the hasher", n), func(t *testing.T) {
			f := newFixture(t, "", nil)
			pw := strings.Repeat("p", n)
			body := formBody("grant_type", "password", "username", "alice", "password", pw)
			checkGrantError(t, grantReq{body: body}.send(f), 400, "invalid_request", pw)
			if n := f.hasher.Verifies(); n != 0 {
				t.Errorf("ran %d password checks, want 0", n)
			}
		})
	}
	t.Run("RFC6749 §3.2 non-ASCII UTF-8 password is accepted", func(t *testing.T) {
		f := newFixture(t, "", nil)
		h, _ := f.hasher.Hash("pässwörd-€")
		f.users.Put(tollgate.User{Username: "jörg", PasswordHash: h, Scopes: []string{"me"}})
		tj := f.login(t, "jörg", "pässwörd-€")
		if tj.Scope != "me" {
			t.Errorf("scope = %q, want me", tj.Scope)
		}
	})
}

// TestRFC6749_4_3_2_PasswordGrant checks a successful password grant and
// its RFC 6749 §5.1 answer.
func TestRFC6749_4_3_2_PasswordGrant(t *testing.T) {
	for _, ttl := range []time.Duration{0, 10 * time.Minute, 90 * time.Second} {
		t.Run(fmt.Sprintf("RFC6749 §5.1 AccessTTL %v", ttl), func(t *testing.T) {
			f := newFixture(t, "", func(c *tollgate.Config) { c.AccessTTL = ttl })
			rec := grantReq{body: aliceForm}.send(f)
			if rec.Code != http.StatusOK {
				t.Fatalf("status = %d, want 200 (body %s)", rec.Code, rec.Body)
			}
			for h, want := range map[string]string{"Cache-Control": "no-store", "Pragma": "no-cache"} {
				if got := rec.Header().Get(h); got != want {
					t.Errorf("%s = %q, want %q", h, got, want)
				}
			}
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
			var raw map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &raw); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"access_token", "token_type", "expires_in", "refresh_token", "scope"} {
				if _, ok := raw[k]; !ok {
					t.Errorf("answer lacks %q: %s", k, rec.Body)
				}
			}
			if _, ok := raw["expires_in"].(float64); !ok {
				t.Errorf("expires_in is %T, want a JSON number", raw["expires_in"])
			}
			tj := decodeToken(t, rec)
			want := ttl
			if want == 0 {
				want = (15 * time.Minute)
			}
			if tj.TokenType != "Bearer" {
				t.Errorf("token_type = %q, want Bearer", tj.TokenType)
			}
			if tj.ExpiresIn != int64(want/time.Second) {
				t.Errorf("expires_in = %d, want %d", tj.ExpiresIn, int64(want/time.Second))
			}
			if tj.RefreshToken == "" {
				t.Errorf("no refresh_token")
			}
			if got, want := sortedFields(tj.Scope), []string{"items:read", "items:write", "me"}; !slices.Equal(got, want) {
				t.Errorf("scope = %q, want all of alice's scopes %v", tj.Scope, want)
			}
			c := jwtPart(t, tj.AccessToken, 1)
			if exp, iat := c["exp"].(float64), c["iat"].(float64); int64(exp-iat) != int64(want/time.Second) {
				t.Errorf("exp - iat = %v, want %v", exp-iat, want/time.Second)
			}
			if rec := f.get("/items", "Bearer "+tj.AccessToken); rec.Code != 200 {
				t.Errorf("GET /items with the issued token: %d", rec.Code)
			}
		})
	}
	t.Run("RFC6749 §4.3.2 scope omitted grants only registered scopes", func(t *testing.T) {
		f := newFixture(t, "", nil)
		h, _ := f.hasher.Hash("pw")
		f.users.Put(tollgate.User{Username: "erin", PasswordHash: h, Scopes: []string{"me", "root", "items:read", "me"}})
		tj := f.login(t, "erin", "pw")
		if tj.Scope != "me items:read" {
			t.Errorf("scope = %q, want %q", tj.Scope, "me items:read")
		}
	})
	t.Run("RFC6749 §5.1 no RefreshStore: no refresh_token", func(t *testing.T) {
		f := newFixture(t, "", func(c *tollgate.Config) { c.Refresh = nil })
		rec := grantReq{body: aliceForm}.send(f)
		var raw map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &raw); err != nil || rec.Code != 200 {
			t.Fatalf("status %d, body %s", rec.Code, rec.Body)
		}
		if _, ok := raw["refresh_token"]; ok {
			t.Errorf("refresh_token sent without a RefreshStore: %s", rec.Body)
		}
	})
}

// TestRFC6749_3_3_Scope checks scope narrowing: what is asked is granted
// exactly when the user holds it and it is registered; otherwise
// invalid_scope, and never more than asked.
func TestRFC6749_3_3_Scope(t *testing.T) {
	tests := []struct {
		name, user, pass, scope string
		wantScope               string // granted scope; "" when an error is expected
		wantCode                string
	}{
		{"subset", "alice", "wonderland", "items:read", "items:read", ""},
		{"two of three", "alice", "wonderland", "me items:read", "me items:read", ""},
		{"order kept", "alice", "wonderland", "items:write me", "items:write me", ""},
		{"all held", "carol", "admin-pass-123", "admin:users", "admin:users", ""},
		{"duplicate collapsed", "alice", "wonderland", "me me", "me", ""},
		{"empty counts as omitted", "bob", "builder", "", "me items:read", ""},
		{"not held", "bob", "builder", "items:write", "", "invalid_scope"},
		{"held and not held", "bob", "builder", "me admin:users", "", "invalid_scope"},
		{"unregistered", "alice", "wonderland", "root", "", "invalid_scope"},
		{"unregistered beside held", "alice", "wonderland", "me root", "", "invalid_scope"},
		{"prefix of a scope", "alice", "wonderland", "items", "", "invalid_scope"},
		{"case differs", "alice", "wonderland", "ME", "", "invalid_scope"},
		{"double space", "alice", "wonderland", "me  items:read", "", "invalid_scope"},
		{"leading space", "alice", "wonderland", " me", "", "invalid_scope"},
		{"trailing space", "alice", "wonderland", "me ", "", "invalid_scope"},
		{"only a space", "alice", "wonderland", " ", "", "invalid_scope"},
		{"comma separated", "alice", "wonderland", "me,items:read", "", "invalid_scope"},
		{"double quote", "alice", "wonderland", `me"`, "", "invalid_scope"},
		{"backslash", "alice", "wonderland", `me\`, "", "invalid_scope"},
		{"non-ASCII", "alice", "wonderland", "mé", "", "invalid_scope"},
		{"NBSP separator", "alice", "wonderland", "me\u00a0items:read", "", "invalid_scope"},
		// Control characters are refused by the form rules (see
		// TestRFC6749_3_2_ParameterCharacters) before scope parsing.
		{"tab separator", "alice", "wonderland", "me\titems:read", "", "invalid_request"},
		{"NUL", "alice", "wonderland", "me\x00", "", "invalid_request"},
		{"over the bound", "alice", "wonderland", strings.Repeat("me ", 1500) + "me", "", "invalid_request"},
	}
	for _, tt := range tests {
		t.Run("RFC6749 §3.3 "+tt.name, func(t *testing.T) {
			f := newFixture(t, "", nil)
			body := formBody("grant_type", "password", "username", tt.user, "password", tt.pass, "scope", tt.scope)
			rec := grantReq{body: body}.send(f)
			if tt.wantCode != "" {
				checkGrantError(t, rec, 400, tt.wantCode, tt.pass)
				if ev := f.events.Of(audit.LoginSucceeded); len(ev) != 0 {
					t.Errorf("login succeeded: %+v", ev)
				}
				return
			}
			if rec.Code != 200 {
				t.Fatalf("status = %d, want 200 (body %s)", rec.Code, rec.Body)
			}
			tj := decodeToken(t, rec)
			if tj.Scope != tt.wantScope {
				t.Errorf("scope = %q, want %q", tj.Scope, tt.wantScope)
			}
			if got := jwtPart(t, tj.AccessToken, 1)["scope"]; got != tt.wantScope {
				t.Errorf("scope claim = %v, want %q", got, tt.wantScope)
			}
		})
	}
	t.Run("RFC6749 §3.3 a narrowed token is refused where the rest is needed", func(t *testing.T) {
		f := newFixture(t, "", nil)
		tj := f.login(t, "alice", "wonderland", "items:read")
		if rec := f.get("/items", "Bearer "+tj.AccessToken); rec.Code != 200 {
			t.Errorf("GET /items: %d, want 200", rec.Code)
		}
		for _, path := range []string{"/users/me", "/any"} {
			if rec := f.get(path, "Bearer "+tj.AccessToken); rec.Code != 403 {
				t.Errorf("GET %s with an items:read token: %d, want 403", path, rec.Code)
			}
		}
	})
	t.Run("RFC6749 §3.3 unregistered scope is refused before the password is checked", func(t *testing.T) {
		f := newFixture(t, "", nil)
		body := formBody("grant_type", "password", "username", "alice", "password", "wonderland", "scope", "root")
		checkGrantError(t, grantReq{body: body}.send(f), 400, "invalid_scope")
		if n := f.hasher.Verifies(); n != 0 {
			t.Errorf("ran %d password checks, want 0", n)
		}
	})
	t.Run("RFC6749 §3.3 a scope not held is not granted with a wrong password either", func(t *testing.T) {
		f := newFixture(t, "", nil)
		body := formBody("grant_type", "password", "username", "bob", "password", "wrong", "scope", "admin:users")
		checkGrantError(t, grantReq{body: body}.send(f), 400, "invalid_grant", "wrong")
	})
}

// TestRFC6749_5_2_InvalidGrant checks failed logins: one code and one
// description whatever went wrong, and one hash comparison for an unknown
// user as for a wrong password.
func TestRFC6749_5_2_InvalidGrant(t *testing.T) {
	tests := []struct {
		name, user, pass string
		wantVerifies     int
	}{
		{"wrong password", "alice", "not-wonderland", 1},
		{"another user's password", "alice", "builder", 1},
		{"unknown user", "mallory", "wonderland", 1},
		{"username case differs", "Alice", "wonderland", 1},
		{"username with trailing space", "alice ", "wonderland", 1},
		{"disabled user, right password", "dave", "disabled-pass", 1},
		{"disabled user, wrong password", "dave", "nope", 1},
		{"password with trailing space", "alice", "wonderland ", 1},
	}
	descs := map[string]string{}
	for _, tt := range tests {
		t.Run("RFC6749 §5.2 "+tt.name, func(t *testing.T) {
			f := newFixture(t, "", nil)
			body := formBody("grant_type", "password", "username", tt.user, "password", tt.pass)
			tj := checkGrantError(t, grantReq{body: body}.send(f), 400, "invalid_grant", tt.pass)
			descs[tt.name] = tj.Description
			if n := f.hasher.Verifies(); n != tt.wantVerifies {
				t.Errorf("ran %d password checks, want %d", n, tt.wantVerifies)
			}
			if ev := f.events.Of(audit.LoginSucceeded); len(ev) != 0 {
				t.Errorf("login succeeded: %+v", ev)
			}
		})
	}
	t.Run("RFC6749 §5.2 one description for every failed login", func(t *testing.T) {
		want := descs["wrong password"]
		if want == "" {
			t.Fatal("no description recorded")
		}
		for name, d := range descs {
			if d != want {
				t.Errorf("%s: description %q, want %q (same as wrong password)", name, d, want)
			}
		}
	})
}

// TestRFC6749_5_2_RequestErrors checks the error codes of requests that are
// malformed or ask for a grant tollgate does not serve.
func TestRFC6749_5_2_RequestErrors(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		wantStatus int
		wantCode   string
	}{
		{"missing grant_type", formBody("username", "alice", "password", "wonderland"), 400, "invalid_request"},
		{"empty grant_type", formBody("grant_type", "", "username", "alice", "password", "wonderland"), 400, "invalid_request"},
		{"unknown grant_type", formBody("grant_type", "magic", "username", "alice", "password", "wonderland"), 400, "unsupported_grant_type"},
		{"client_credentials", formBody("grant_type", "client_credentials"), 400, "unsupported_grant_type"},
		{"authorization_code", formBody("grant_type", "authorization_code", "code", "x"), 400, "unsupported_grant_type"},
		{"implicit token", formBody("grant_type", "token"), 400, "unsupported_grant_type"},
		{"grant_type case differs", formBody("grant_type", "Password", "username", "alice", "password", "wonderland"), 400, "unsupported_grant_type"},
		{"missing username", formBody("grant_type", "password", "password", "wonderland"), 400, "invalid_request"},
		{"missing password", formBody("grant_type", "password", "username", "alice"), 400, "invalid_request"},
		{"empty password", formBody("grant_type", "password", "username", "alice", "password", ""), 400, "invalid_request"},
		{"empty username", formBody("grant_type", "password", "username", "", "password", "wonderland"), 400, "invalid_request"},
		{"missing refresh_token", formBody("grant_type", "refresh_token"), 400, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run("RFC6749 §5.2 "+tt.name, func(t *testing.T) {
			f := newFixture(t, "", nil)
			checkGrantError(t, grantReq{body: tt.body}.send(f), tt.wantStatus, tt.wantCode, "wonderland")
			if n := f.hasher.Verifies(); n != 0 {
				t.Errorf("ran %d password checks, want 0", n)
			}
		})
	}
	t.Run("RFC6749 §5.2 refresh_token grant without a RefreshStore", func(t *testing.T) {
		f := newFixture(t, "", func(c *tollgate.Config) { c.Refresh = nil })
		checkGrantError(t, grantReq{body: formBody("grant_type", "refresh_token", "refresh_token", "x")}.send(f), 400, "unsupported_grant_type")
	})
}

// TestRFC6749_2_3_1_ClientAuthentication checks public-client
// authentication: the Basic header (with the empty credentials
// golang.org/x/oauth2 sends) or the body, never both; a secret that does
// not authenticate a confidential client is 401 (client_credentials_test.go
// has the confidential clients).
func TestRFC6749_2_3_1_ClientAuthentication(t *testing.T) {
	tests := []struct {
		name       string
		mutate     func(*tollgate.Config)
		authz      []string
		extra      []string // extra body pairs
		wantStatus int
		wantCode   string // "" for success
		wantClient string // client_id claim on success
	}{
		{"no client named", nil, nil, nil, 200, "", "tollgate"},
		{"empty Basic (x/oauth2)", nil, []string{"Basic Og=="}, nil, 200, "", "tollgate"},
		{"lower-case basic scheme", nil, []string{"basic Og=="}, nil, 200, "", "tollgate"},
		{"Basic id, empty secret", nil, []string{basicAuth("myapp", "")}, nil, 200, "", "myapp"},
		{"Basic id form-encoded", nil, []string{"Basic " + base64.StdEncoding.EncodeToString([]byte("my%3Aapp:"))}, nil, 200, "", "my:app"},
		{"body client_id", nil, nil, []string{"client_id", "myapp"}, 200, "", "myapp"},
		{"body client_id, empty secret", nil, nil, []string{"client_id", "myapp", "client_secret", ""}, 200, "", "myapp"},
		{"empty body client_id", nil, nil, []string{"client_id", ""}, 200, "", "tollgate"},

		{"Basic with a secret", nil, []string{basicAuth("myapp", "s3cret")}, nil, 401, "invalid_client", ""},
		{"Basic with only a secret", nil, []string{basicAuth("", "s3cret")}, nil, 401, "invalid_client", ""},
		{"body secret", nil, nil, []string{"client_id", "myapp", "client_secret", "s3cret"}, 401, "invalid_client", ""},
		{"body secret without id", nil, nil, []string{"client_secret", "s3cret"}, 401, "invalid_client", ""},
		{"Basic and body client_id", nil, []string{"Basic Og=="}, []string{"client_id", "myapp"}, 400, "invalid_request", ""},
		{"Basic and body client_secret", nil, []string{basicAuth("myapp", "")}, []string{"client_secret", ""}, 400, "invalid_request", ""},
		{"two Authorization headers", nil, []string{"Basic Og==", "Basic Og=="}, nil, 400, "invalid_request", ""},
		{"Bearer instead of Basic", nil, []string{"Bearer abc"}, nil, 400, "invalid_request", ""},
		{"Basic not base64", nil, []string{"Basic !!!"}, nil, 401, "invalid_client", ""},
		{"Basic without colon", nil, []string{"Basic " + base64.StdEncoding.EncodeToString([]byte("myapp"))}, nil, 401, "invalid_client", ""},
		{"Basic bad percent-encoding", nil, []string{"Basic " + base64.StdEncoding.EncodeToString([]byte("my%zzapp:"))}, nil, 401, "invalid_client", ""},
		{"Basic id with a control character", nil, []string{basicAuth("my\napp", "")}, nil, 401, "invalid_client", ""},
		{"body id too long", nil, nil, []string{"client_id", strings.Repeat("a", 256)}, 401, "invalid_client", ""},

		{"Config.Clients: listed id by Basic", withClients("cli", "tollgate"), []string{basicAuth("cli", "")}, nil, 200, "", "cli"},
		{"Config.Clients: listed id in body", withClients("cli", "tollgate"), nil, []string{"client_id", "cli"}, 200, "", "cli"},
		{"Config.Clients: default id named", withClients("cli", "tollgate"), nil, []string{"client_id", "tollgate"}, 200, "", "tollgate"},
		{"Config.Clients: none named", withClients("cli", "tollgate"), []string{"Basic Og=="}, nil, 200, "", "tollgate"},
		{"Config.Clients: unlisted id by Basic", withClients("cli", "tollgate"), []string{basicAuth("myapp", "")}, nil, 401, "invalid_client", ""},
		{"Config.Clients: unlisted id in body", withClients("cli", "tollgate"), nil, []string{"client_id", "myapp"}, 401, "invalid_client", ""},
		{"Config.Clients without the default: none named", withClients("cli"), []string{"Basic Og=="}, nil, 401, "invalid_client", ""},
		{"Config.Clients without the default: none named in body", withClients("cli"), nil, nil, 401, "invalid_client", ""},
		{"Config.Clients empty", withClients(), nil, []string{"client_id", "myapp"}, 401, "invalid_client", ""},
	}
	for _, tt := range tests {
		t.Run("RFC6749 §2.3.1 "+tt.name, func(t *testing.T) {
			f := newFixture(t, "", tt.mutate)
			pairs := append([]string{"grant_type", "password", "username", "alice", "password", "wonderland"}, tt.extra...)
			rec := grantReq{body: formBody(pairs...), authz: tt.authz}.send(f)
			if tt.wantCode != "" {
				checkGrantError(t, rec, tt.wantStatus, tt.wantCode, "wonderland", "s3cret")
				chall := rec.Header().Get("WWW-Authenticate")
				if tt.wantStatus == 401 && !strings.HasPrefix(chall, "Basic ") {
					t.Errorf("401 with WWW-Authenticate %q, want a Basic challenge (RFC 6749 §5.2)", chall)
				}
				if tt.wantStatus != 401 && chall != "" {
					t.Errorf("%d with WWW-Authenticate %q, want none", tt.wantStatus, chall)
				}
				if n := f.hasher.Verifies(); n != 0 {
					t.Errorf("ran %d password checks before client authentication, want 0", n)
				}
				return
			}
			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d (body %s)", rec.Code, tt.wantStatus, rec.Body)
			}
			tj := decodeToken(t, rec)
			if got := jwtPart(t, tj.AccessToken, 1)["client_id"]; got != tt.wantClient {
				t.Errorf("client_id claim = %v, want %q", got, tt.wantClient)
			}
			if ev := f.events.Of(audit.LoginSucceeded); len(ev) != 1 || ev[0].ClientID != tt.wantClient {
				t.Errorf("login events = %+v, want one with ClientID %q", ev, tt.wantClient)
			}
		})
	}
}

// TestRFC9068_AccessTokenClaims decodes issued access tokens by hand and
// checks their header and claims, for every algorithm.
func TestRFC9068_AccessTokenClaims(t *testing.T) {
	for _, alg := range []string{"HS256", "RS256", "ES256", "EdDSA"} {
		t.Run("RFC9068 §2 "+alg, func(t *testing.T) {
			f := newFixture(t, alg, func(c *tollgate.Config) { c.AccessTTL = 5 * time.Minute })
			before := time.Now().Unix()
			tj := f.login(t, "alice", "wonderland", "me items:read")
			after := time.Now().Unix()

			h := jwtPart(t, tj.AccessToken, 0)
			for k, want := range map[string]any{"typ": "at+jwt", "alg": alg, "kid": f.key.ID()} {
				if h[k] != want {
					t.Errorf("header %s = %v, want %v", k, h[k], want)
				}
			}
			if f.key.ID() == "" {
				t.Errorf("key has no ID")
			}
			for _, k := range []string{"jku", "jwk", "x5u", "x5c", "crit"} {
				if _, ok := h[k]; ok {
					t.Errorf("header carries %q", k)
				}
			}

			c := jwtPart(t, tj.AccessToken, 1)
			if c["iss"] != testIssuer {
				t.Errorf("iss = %v, want %q", c["iss"], testIssuer)
			}
			if c["sub"] != "alice" {
				t.Errorf("sub = %v, want alice", c["sub"])
			}
			switch aud := c["aud"].(type) {
			case string:
				if aud != testAudience {
					t.Errorf("aud = %q, want %q", aud, testAudience)
				}
			case []any:
				if len(aud) != 1 || aud[0] != testAudience {
					t.Errorf("aud = %v, want [%q]", aud, testAudience)
				}
			default:
				t.Errorf("aud = %v (%T), want %q", c["aud"], c["aud"], testAudience)
			}
			iat, ok1 := c["iat"].(float64)
			exp, ok2 := c["exp"].(float64)
			if !ok1 || !ok2 {
				t.Fatalf("iat = %v, exp = %v, want numbers", c["iat"], c["exp"])
			}
			if int64(iat) < before || int64(iat) > after {
				t.Errorf("iat = %v, want within [%d, %d]", iat, before, after)
			}
			if exp-iat != 300 {
				t.Errorf("exp - iat = %v, want 300", exp-iat)
			}
			if jti, _ := c["jti"].(string); len(jti) < 16 {
				t.Errorf("jti = %v, want a string of at least 16 characters", c["jti"])
			}
			if c["scope"] != "me items:read" {
				t.Errorf("scope = %v (%T), want the string %q", c["scope"], c["scope"], "me items:read")
			}
			if c["client_id"] != "tollgate" {
				t.Errorf("client_id = %v, want tollgate", c["client_id"])
			}
			if _, ok := c["preferred_username"]; ok {
				t.Errorf("preferred_username sent though it equals sub")
			}
			for _, secret := range []string{"wonderland", tj.RefreshToken} {
				if strings.Contains(fmt.Sprint(c), secret) {
					t.Errorf("claims carry a secret")
				}
			}
		})
	}
	t.Run("RFC9068 §2.2 sub is User.ID, the username beside it", func(t *testing.T) {
		f := newFixture(t, "", nil)
		h, _ := f.hasher.Hash("pw")
		f.users.Put(tollgate.User{ID: "u-42", Username: "erin", PasswordHash: h, Scopes: []string{"me"}})
		tj := f.login(t, "erin", "pw")
		c := jwtPart(t, tj.AccessToken, 1)
		if c["sub"] != "u-42" || c["preferred_username"] != "erin" {
			t.Errorf("sub = %v, preferred_username = %v, want u-42, erin", c["sub"], c["preferred_username"])
		}
	})
	t.Run("RFC7519 §4.1.7 jti is unique", func(t *testing.T) {
		f := newFixture(t, "", nil)
		seen := map[string]bool{}
		tj := f.login(t, "alice", "wonderland")
		for i := range 50 {
			var access string
			if i%2 == 0 {
				access = f.login(t, "bob", "builder").AccessToken
			} else {
				rec := f.refreshWith(tj.RefreshToken)
				if rec.Code != 200 {
					t.Fatalf("refresh: %d %s", rec.Code, rec.Body)
				}
				tj = decodeToken(t, rec)
				access = tj.AccessToken
			}
			jti, _ := jwtPart(t, access, 1)["jti"].(string)
			if jti == "" || seen[jti] {
				t.Fatalf("token %d: jti %q empty or seen before", i, jti)
			}
			seen[jti] = true
		}
	})
}

// TestTokenEndpointEvents checks the login events: one per attempt, with
// the reason of a failure, and never the password.
func TestTokenEndpointEvents(t *testing.T) {
	tests := []struct {
		name, user, pass string
		wantType         audit.Type
		wantReason       string
		wantSubject      string
	}{
		{"success", "alice", "wonderland", audit.LoginSucceeded, "", "alice"},
		{"unknown user", "mallory", "secret-guess-1", audit.LoginFailed, "unknown_user", ""},
		{"wrong password", "alice", "secret-guess-2", audit.LoginFailed, "wrong_password", ""},
		{"disabled user", "dave", "disabled-pass", audit.LoginFailed, "user_disabled", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, "", nil)
			body := formBody("grant_type", "password", "username", tt.user, "password", tt.pass, "client_id", "myapp")
			r := httptest.NewRequest("POST", "/token", strings.NewReader(body))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.RemoteAddr = "192.0.2.7:5555"
			rec := f.do(r)
			var other audit.Type = audit.LoginFailed
			if tt.wantType == audit.LoginFailed {
				other = audit.LoginSucceeded
			}
			if n := len(f.events.Of(other)); n != 0 {
				t.Errorf("%d %s events, want 0", n, other)
			}
			ev := f.events.Of(tt.wantType)
			if len(ev) != 1 {
				t.Fatalf("%d %s events, want 1 (status %d)", len(ev), tt.wantType, rec.Code)
			}
			e := ev[0]
			if e.Reason != audit.Reason(tt.wantReason) || e.Username != tt.user || e.ClientID != "myapp" || e.RemoteAddr != "192.0.2.7:5555" {
				t.Errorf("event = %+v, want Reason %q, Username %q, ClientID myapp, RemoteAddr 192.0.2.7:5555", e, tt.wantReason, tt.user)
			}
			if tt.wantSubject != "" && e.Subject != tt.wantSubject {
				t.Errorf("event Subject = %q, want %q", e.Subject, tt.wantSubject)
			}
			if e.Time.IsZero() {
				t.Errorf("event has no Time")
			}
			if s := fmt.Sprintf("%#v", e); strings.Contains(s, tt.pass) {
				t.Errorf("event carries the password: %s", s)
			}
			if tok := decodeToken(t, rec); tok.AccessToken != "" && strings.Contains(fmt.Sprintf("%#v", e), tok.AccessToken) {
				t.Errorf("event carries the access token")
			}
		})
	}
	t.Run("OnEvent gets the request context", func(t *testing.T) {
		type ctxKey struct{}
		var got any
		f := newFixture(t, "", func(c *tollgate.Config) {
			c.OnEvent = func(ctx context.Context, e audit.Event) { got = ctx.Value(ctxKey{}) }
		})
		r := httptest.NewRequest("POST", "/token", strings.NewReader(aliceForm))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, "req-1"))
		if rec := f.do(r); rec.Code != 200 {
			t.Fatalf("status %d", rec.Code)
		}
		if got != "req-1" {
			t.Errorf("OnEvent context value = %v, want req-1", got)
		}
	})
}

// withClients sets Config.Clients to an in-memory store of the given ids.
func withClients(ids ...string) func(*tollgate.Config) {
	return func(c *tollgate.Config) { c.Clients = memstore.NewClients(ids...) }
}
