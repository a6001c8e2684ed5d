package main

// A fake upstream provider in httptest: an authorization endpoint that
// logs in whoever the test says and redirects back with a code and the
// state, a token endpoint that checks the client, the redirect URI and
// the PKCE verifier by S256 (RFC 7636 §4.6) and spends each code once,
// and userinfo endpoints of GitHub's and OpenID Connect's shapes.

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// The client registered at the fake.
const (
	fakeClientID     = "thirdparty-demo"
	fakeClientSecret = "fake-client-secret-do-not-log"
)

// An upstreamUser is an account at the fake.
type upstreamUser struct {
	id    int64  // GitHub's "id", and the OIDC "sub" as "sub-<id>"
	login string // GitHub's "login", renamable
	email string
}

// A grant is what the fake remembers of an authorization: the code's
// binding (RFC 6749 §4.1.3, RFC 7636 §4.4).
type grant struct {
	challenge, method, redirectURI, clientID string
	user                                     upstreamUser
}

// fakeProvider is the upstream of the tests. Its knobs, set by a test
// under mu, shape the next answers.
type fakeProvider struct {
	srv *httptest.Server
	url string // its URL in the example's flags: srv.URL, or another name of it

	mu          sync.Mutex
	redirectURI string       // the registered redirect URI
	user        upstreamUser // who logs in at the authorization endpoint

	deny            bool   // the user declines: error=access_denied
	tamperChallenge bool   // remember another challenge, so the verifier fails
	tokenError      string // the token endpoint answers 400 with this error
	userinfoStatus  int    // the userinfo endpoints answer this status
	userinfoBody    string // ... or this body

	codes        map[string]grant
	tokens       map[string]upstreamUser
	tokenCalls   int
	pkceFailures int
	methods      []string // the code_challenge_method of each authorization
	secrets      []string // every code and token it handed out
}

func newFakeProvider(t *testing.T) *fakeProvider {
	t.Helper()
	f := &fakeProvider{codes: map[string]grant{}, tokens: map[string]upstreamUser{},
		user: upstreamUser{id: 12345, login: "octocat", email: "octocat@example.com"}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /authorize", f.authorize)
	mux.HandleFunc("POST /token", f.token)
	mux.HandleFunc("GET /user", f.userinfo)
	mux.HandleFunc("GET /userinfo", f.userinfo)
	f.srv = httptest.NewServer(mux)
	f.url = f.srv.URL
	t.Cleanup(f.srv.Close)
	return f
}

// set changes the fake's knobs under its lock.
func (f *fakeProvider) set(change func(f *fakeProvider)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	change(f)
}

// authorize is RFC 6749 §4.1.1 and §4.1.2: no login page, the test's
// user consents at once (or declines, with deny).
func (f *fakeProvider) authorize(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	q := r.URL.Query()
	// §4.1.2.1: a wrong client or redirect URI is never redirected to.
	if q.Get("client_id") != fakeClientID || q.Get("redirect_uri") != f.redirectURI {
		http.Error(w, "unknown client or redirect_uri", http.StatusBadRequest)
		return
	}
	back := func(v url.Values) {
		v.Set("state", q.Get("state"))
		http.Redirect(w, r, f.redirectURI+"?"+v.Encode(), http.StatusFound)
	}
	method, challenge := q.Get("code_challenge_method"), q.Get("code_challenge")
	f.methods = append(f.methods, method)
	switch {
	case q.Get("response_type") != "code":
		back(url.Values{"error": {"unsupported_response_type"}})
		return
	case method != "S256" || len(challenge) != 43: // RFC 7636 §4.2, §4.3
		back(url.Values{"error": {"invalid_request"}, "error_description": {"PKCE S256 required"}})
		return
	case f.deny:
		back(url.Values{"error": {"access_denied"}, "error_description": {"The user declined"}})
		return
	}
	if f.tamperChallenge {
		challenge = s256(challenge) // not the challenge of any verifier sent
	}
	code := rand.Text()
	f.codes[code] = grant{challenge, method, q.Get("redirect_uri"), q.Get("client_id"), f.user}
	f.secrets = append(f.secrets, code)
	back(url.Values{"code": {code}})
}

// token is RFC 6749 §4.1.3 and §4.1.4 with RFC 7636 §4.5 and §4.6.
func (f *fakeProvider) token(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokenCalls++
	fail := func(status int, code string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": "the fake refuses: " + code})
	}
	if err := r.ParseForm(); err != nil {
		fail(http.StatusBadRequest, "invalid_request")
		return
	}
	id, secret, basic := r.BasicAuth()
	if !basic {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != fakeClientID || subtle.ConstantTimeCompare([]byte(secret), []byte(fakeClientSecret)) != 1 {
		fail(http.StatusUnauthorized, "invalid_client")
		return
	}
	if f.tokenError != "" {
		fail(http.StatusBadRequest, f.tokenError)
		return
	}
	code := r.PostForm.Get("code")
	g, ok := f.codes[code]
	delete(f.codes, code) // §4.1.2: a code is used once
	switch {
	case r.PostForm.Get("grant_type") != "authorization_code":
		fail(http.StatusBadRequest, "unsupported_grant_type")
		return
	case !ok || g.clientID != id || g.redirectURI != r.PostForm.Get("redirect_uri"):
		fail(http.StatusBadRequest, "invalid_grant")
		return
	case g.method != "S256" || s256(r.PostForm.Get("code_verifier")) != g.challenge:
		f.pkceFailures++
		fail(http.StatusBadRequest, "invalid_grant") // RFC 7636 §4.6
		return
	}
	tok := rand.Text()
	f.tokens[tok] = g.user
	f.secrets = append(f.secrets, tok)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": 3600})
}

// userinfo answers GitHub's GET /user at /user and OpenID Connect's
// userinfo at /userinfo, for the holder of the bearer token.
func (f *fakeProvider) userinfo(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
	switch {
	case !ok:
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		w.WriteHeader(http.StatusUnauthorized)
		return
	case f.userinfoStatus != 0:
		http.Error(w, `{"message":"the fake fails"}`, f.userinfoStatus)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	switch {
	case f.userinfoBody != "":
		fmt.Fprint(w, f.userinfoBody)
	case r.URL.Path == "/user":
		fmt.Fprintf(w, `{"id": %d, "login": %q, "type": "User"}`, u.id, u.login)
	default:
		fmt.Fprintf(w, `{"sub": "sub-%d", "email": %q, "email_verified": true}`, u.id, u.email)
	}
}

// handedOut returns every code and token the fake handed out.
func (f *fakeProvider) handedOut() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.secrets...)
}

// s256 is BASE64URL(SHA256(v)), RFC 7636 §4.2.
func s256(v string) string {
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
