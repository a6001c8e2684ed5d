package main

// Fixtures for the end-to-end tests of the example: the real handler from
// newServer behind httptest, driven over HTTP as a client sees it.

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"github.com/tollgate-go/tollgate/examples/internal/demo"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// testSecret is the TOLLGATE_SECRET of the HS256 tests.
const testSecret = "an-hs256-test-secret-of-40-bytes-or-so!!"

// fastHasher replaces bcrypt, which under the race detector takes seconds
// per hash: "fast$" + base64 of SHA-256. Tests of the real bcrypt path go
// through run (TestRun).
type fastHasher struct{}

func (fastHasher) Hash(p string) ([]byte, error) {
	sum := sha256.Sum256([]byte(p))
	return []byte("fast$" + base64.RawStdEncoding.EncodeToString(sum[:])), nil
}

func (h fastHasher) Verify(hash []byte, p string) (bool, error) {
	if !strings.HasPrefix(string(hash), "fast$") {
		return false, errors.New("not a fast hash")
	}
	want, _ := h.Hash(p)
	return subtle.ConstantTimeCompare(want, hash) == 1, nil
}

func (fastHasher) NeedsRehash([]byte) bool { return false }

// syncBuffer is a log sink that the server's goroutines write to while
// the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// envOf returns a getenv over env.
func envOf(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}

// argsFor returns the command line and environment that select alg.
func argsFor(alg string) ([]string, map[string]string) {
	if alg == "HS256" {
		return []string{"-alg", alg}, map[string]string{"TOLLGATE_SECRET": testSecret}
	}
	return []string{"-alg", alg}, nil
}

// testServer is the example behind httptest, with its log.
type testServer struct {
	t      *testing.T
	srv    *httptest.Server
	log    *syncBuffer
	issuer string
}

// newTestServer parses args and env as run does and serves the handler of
// newServer (with the fast hasher) over httptest.
func newTestServer(t *testing.T, args []string, env map[string]string) *testServer {
	t.Helper()
	o, err := parseOptions(args, envOf(env), io.Discard)
	if err != nil {
		t.Fatalf("parseOptions(%q) = %v", args, err)
	}
	o.hasher = fastHasher{}
	log := &syncBuffer{}
	h, closeStores, err := newServer(o, slog.New(slog.NewTextHandler(log, nil)))
	if err != nil {
		t.Fatalf("newServer: %v", err)
	}
	t.Cleanup(closeStores)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &testServer{t: t, srv: srv, log: log, issuer: demo.IssuerFor(o.addr)}
}

// response is an answer read in full.
type response struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body into a generic value.
func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", r.body, err)
	}
	return m
}

// do sends a request; token, if not empty, goes in the Authorization
// header.
func (s *testServer) do(method, path, token, contentType string, body string) response {
	s.t.Helper()
	req, err := http.NewRequest(method, s.srv.URL+path, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := s.srv.Client().Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, b}
}

// get is a GET with a bearer token.
func (s *testServer) get(path, token string) response {
	s.t.Helper()
	return s.do(http.MethodGet, path, token, "", "")
}

// form posts an application/x-www-form-urlencoded body.
func (s *testServer) form(path string, form url.Values) response {
	s.t.Helper()
	return s.do(http.MethodPost, path, "", "application/x-www-form-urlencoded", form.Encode())
}

// tokenResponse is the RFC 6749 §5.1 answer.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	Scope        string `json:"scope"`
}

// login runs the password grant and requires success.
func (s *testServer) login(user, password string) tokenResponse {
	s.t.Helper()
	r := s.form("/token", url.Values{"grant_type": {"password"}, "username": {user}, "password": {password}})
	return s.tokens(r)
}

// refresh runs the refresh_token grant and returns the raw answer.
func (s *testServer) refresh(refreshToken string) response {
	s.t.Helper()
	return s.form("/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}})
}

// tokens requires r to be a 200 token response and decodes it.
func (s *testServer) tokens(r response) tokenResponse {
	s.t.Helper()
	if r.status != http.StatusOK {
		s.t.Fatalf("token endpoint: status %d, body %s; want 200", r.status, r.body)
	}
	var tr tokenResponse
	if err := json.Unmarshal(r.body, &tr); err != nil {
		s.t.Fatalf("token response %q: %v", r.body, err)
	}
	return tr
}

// wantOAuthError checks an RFC 6749 §5.2 / RFC 6750 §3 error answer.
func wantOAuthError(t *testing.T, r response, status int, code string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d (body %s), want %d", r.status, r.body, status)
	}
	if got := r.json(t)["error"]; got != code {
		t.Fatalf("error = %v (body %s), want %q", got, r.body, code)
	}
}

// jwtParts decodes a compact JWS: header, claims, signing input and
// signature.
func jwtParts(t *testing.T, token string) (hdr, claims map[string]any, input, sig []byte) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d segments, want 3", len(parts))
	}
	dec := func(s string) []byte {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			t.Fatalf("segment %q: %v", s, err)
		}
		return b
	}
	if err := json.Unmarshal(dec(parts[0]), &hdr); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(dec(parts[1]), &claims); err != nil {
		t.Fatal(err)
	}
	return hdr, claims, []byte(parts[0] + "." + parts[1]), dec(parts[2])
}

// jwk is the subset of RFC 7517/7518 members the example publishes.
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
	N   string `json:"n"`
	E   string `json:"e"`
	D   string `json:"d"` // must never be published
	K   string `json:"k"` // must never be published
}

// verifyWithJWK checks a JWS signature with the standard library alone,
// as a client in another language would, from the published key.
func verifyWithJWK(t *testing.T, k jwk, input, sig []byte) bool {
	t.Helper()
	b := func(s string) []byte {
		v, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			t.Fatalf("JWK member %q: %v", s, err)
		}
		return v
	}
	digest := sha256.Sum256(input)
	switch k.Kty {
	case "RSA":
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(b(k.N)), E: int(new(big.Int).SetBytes(b(k.E)).Int64())}
		return rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig) == nil
	case "EC":
		if k.Crv != "P-256" || len(sig) != 64 {
			return false
		}
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, b(k.X)...), b(k.Y)...))
		if err != nil {
			t.Fatalf("EC JWK: %v", err)
		}
		return ecdsa.Verify(pub, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:]))
	case "OKP":
		return k.Crv == "Ed25519" && ed25519.Verify(ed25519.PublicKey(b(k.X)), input, sig)
	}
	t.Fatalf("unexpected JWK kty %q", k.Kty)
	return false
}

// verifyHS256 checks an HS256 signature with the shared secret.
func verifyHS256(secret string, input, sig []byte) bool {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(input)
	return hmac.Equal(m.Sum(nil), sig)
}

// ecdsaVerifyJWS checks an ES256 JWS signature (r || s) with pub.
func ecdsaVerifyJWS(pub *ecdsa.PublicKey, input, sig []byte) bool {
	digest := sha256.Sum256(input)
	return len(sig) == 64 && ecdsa.Verify(pub, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:]))
}
