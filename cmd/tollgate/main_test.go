package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tollgate-go/tollgate"
	"github.com/tollgate-go/tollgate/memstore"
	"github.com/tollgate-go/tollgate/tollgatetest"
)

// tg runs the command with args and stdin, and returns its exit code,
// standard output and standard error.
func tg(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

// TestHelp: every command says what it does on -help, and a bad call
// prints the usage with exit code 2.
func TestHelp(t *testing.T) {
	if code, _, stderr := tg(t, "", "-help"); code != 0 || !strings.Contains(stderr, "genkey") {
		t.Errorf("-help: %d %q", code, stderr)
	}
	if code, _, _ := tg(t, ""); code != 2 {
		t.Errorf("no command: %d", code)
	}
	if code, _, stderr := tg(t, "", "frobnicate"); code != 2 || !strings.Contains(stderr, "unknown command") {
		t.Errorf("unknown command: %d %q", code, stderr)
	}
	for _, c := range commands {
		code, _, stderr := tg(t, "", c.name, "-help")
		if code != 0 || !strings.Contains(stderr, "Usage: tollgate "+c.name) || !strings.Contains(stderr, strings.Fields(c.doc)[0]) {
			t.Errorf("%s -help: %d %q", c.name, code, stderr)
		}
		if code, _, _ := tg(t, "", c.name, "-no-such-flag"); code != 2 {
			t.Errorf("%s with a bad flag: exit %d, want 2", c.name, code)
		}
	}
}

// TestGenkey: each algorithm's key reads back with ParseKey; a file is
// mode 0600 and never overwritten.
func TestGenkey(t *testing.T) {
	for _, alg := range []string{"ES256", "ES384", "ES512", "RS256", "EdDSA", "HS256"} {
		for _, format := range []string{"", "pem", "jwk"} {
			args := []string{"genkey", "-alg", alg}
			if format != "" {
				args = append(args, "-format", format)
			}
			code, out, stderr := tg(t, "", args...)
			if alg == "HS256" && format == "pem" {
				if code == 0 {
					t.Errorf("HS256 as PEM succeeded")
				}
				continue
			}
			if code != 0 {
				t.Fatalf("%v: %d %s", args, code, stderr)
			}
			k, err := tollgate.ParseKey([]byte(out))
			if err != nil || k.Algorithm() != alg || !strings.Contains(stderr, k.ID()) {
				t.Errorf("%v: %v %v, stderr %q", args, k, err, stderr)
			}
		}
	}
	path := filepath.Join(t.TempDir(), "signing.pem")
	if code, out, stderr := tg(t, "", "genkey", "-alg", "ES256", "-out", path); code != 0 || out != "" {
		t.Fatalf("-out: %d %q %s", code, out, stderr)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v (%v), want 0600", fi.Mode().Perm(), err)
	}
	if _, err := tollgate.LoadKeyFile(path); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	if code, _, _ := tg(t, "", "genkey", "-alg", "ES256", "-out", path); code == 0 {
		t.Error("an existing key file was overwritten")
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Error("the existing key file changed")
	}
	for _, args := range [][]string{{"genkey"}, {"genkey", "-alg", "ES256", "-format", "der"}, {"genkey", "-alg", "ES256", "extra"}} {
		if code, _, _ := tg(t, "", args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	if code, _, _ := tg(t, "", "genkey", "-alg", "none"); code != 1 {
		t.Errorf("-alg none: exit %d, want 1", code)
	}
}

// TestJWKS: the public halves of the key files, read back by
// ParseKeySet; no private part; an HS256 secret is refused.
func TestJWKS(t *testing.T) {
	dir := t.TempDir()
	var files []string
	var kids []string
	for _, alg := range []string{"ES256", "RS256", "EdDSA"} {
		k, _ := tollgate.GenerateKey(alg)
		b, _ := k.MarshalPrivate("pem")
		f := filepath.Join(dir, alg+".pem")
		os.WriteFile(f, b, 0o600)
		files, kids = append(files, f), append(kids, k.ID())
	}
	code, out, stderr := tg(t, "", append([]string{"jwks"}, files...)...)
	if code != 0 {
		t.Fatalf("%d %s", code, stderr)
	}
	if strings.Contains(out, `"d"`) || strings.Contains(out, `"p"`) {
		t.Errorf("private parts in the set: %s", out)
	}
	keys, err := tollgate.ParseKeySet([]byte(out))
	if err != nil || len(keys) != 3 {
		t.Fatalf("ParseKeySet: %v %v", keys, err)
	}
	for i, k := range keys {
		if k.ID() != kids[i] {
			t.Errorf("key %d: kid %s, want %s", i, k.ID(), kids[i])
		}
	}
	hs, _ := tollgate.GenerateKey("HS256")
	b, _ := hs.MarshalPrivate("jwk")
	os.WriteFile(filepath.Join(dir, "hs.jwk"), b, 0o600)
	if code, _, stderr := tg(t, "", "jwks", filepath.Join(dir, "hs.jwk")); code != 1 || !strings.Contains(stderr, "HS256") {
		t.Errorf("HS256 in a key set: %d %q", code, stderr)
	}
	if code, _, _ := tg(t, "", "jwks"); code != 2 {
		t.Errorf("no files: exit %d", code)
	}
}

// TestHashPassword: the password comes from standard input, never from
// an argument, and the hash verifies it.
func TestHashPassword(t *testing.T) {
	code, out, stderr := tg(t, "correct horse\n", "hash-password", "-cost", "10")
	if code != 0 {
		t.Fatalf("%d %s", code, stderr)
	}
	hash := []byte(strings.TrimSpace(out))
	if ok, err := tollgate.Bcrypt(10).Verify(hash, "correct horse"); !ok || err != nil {
		t.Errorf("the hash does not verify the password: %v", err)
	}
	if strings.Contains(out+stderr, "correct horse") {
		t.Error("the password was echoed")
	}
	if code, _, _ := tg(t, "", "hash-password", "hunter2"); code != 2 {
		t.Errorf("a password as an argument: exit %d, want 2", code)
	}
	if code, _, _ := tg(t, "", "hash-password"); code != 1 {
		t.Errorf("no password: exit %d, want 1", code)
	}
	if code, _, _ := tg(t, strings.Repeat("x", 73), "hash-password", "-cost", "10"); code != 1 {
		t.Errorf("a 73-byte password: exit %d, want 1 (bcrypt's limit)", code)
	}
}

// TestInspect: decoding, and verification that names the exact reason
// a token fails, with keys from a URL or a file.
func TestInspect(t *testing.T) {
	kit := tollgatetest.New(map[string]string{"items:read": "Read items"})
	srv := httptest.NewServer(kit.Auth.JWKSHandler())
	defer srv.Close()
	set, _ := http.Get(srv.URL)
	setFile := filepath.Join(t.TempDir(), "jwks.json")
	var buf bytes.Buffer
	buf.ReadFrom(set.Body)
	set.Body.Close()
	os.WriteFile(setFile, buf.Bytes(), 0o644)

	good := kit.Token("alice", []string{"items:read"})
	verify := []string{"-issuer", tollgatetest.Issuer, "-audience", tollgatetest.Audience}
	for _, tc := range []struct {
		name  string
		args  []string
		stdin string
		code  int
		want  string
	}{
		{"decode only", []string{good}, "", 0, "signature: not checked"},
		{"valid, URL", append([]string{"-jwks", srv.URL, good}, verify...), "", 0, `valid: subject "alice", scopes "items:read"`},
		{"valid, file, flags after", append([]string{good, "-jwks", setFile}, verify...), "", 0, "valid:"},
		{"valid, stdin", append([]string{"-jwks", setFile, "-"}, verify...), good + "\n", 0, "valid:"},
		{"token's own iss and aud", []string{"-jwks", setFile, good}, "", 0, "proves nothing"},
		{"expired", append([]string{"-jwks", setFile, kit.Token("alice", nil, tollgatetest.Expired())}, verify...), "", 1, "invalid: token_expired"},
		{"not yet valid", append([]string{"-jwks", setFile, kit.Token("alice", nil, tollgatetest.NotYetValid())}, verify...), "", 1, "invalid: not_yet_valid"},
		{"wrong issuer", []string{"-jwks", setFile, "-issuer", "https://other.example", "-audience", tollgatetest.Audience, good}, "", 1, "invalid: wrong_issuer"},
		{"wrong audience", []string{"-jwks", setFile, "-issuer", tollgatetest.Issuer, "-audience", "https://other.example", good}, "", 1, "invalid: wrong_audience"},
		{"another key", append([]string{"-jwks", setFile, tollgatetest.New(nil).Token("alice", nil)}, verify...), "", 1, "invalid: unknown_kid"},
		{"bad signature", append([]string{"-jwks", setFile, good[:len(good)-4] + "AAAA"}, verify...), "", 1, "invalid: bad_signature"},
		{"not a JWS", []string{"a.b"}, "", 1, "not a compact JWS"},
		{"not JSON", []string{"YWJj.YWJj.YWJj"}, "", 1, "not JSON"},
		{"two tokens", []string{good, good}, "", 2, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, stderr := tg(t, tc.stdin, append([]string{"inspect"}, tc.args...)...)
			if code != tc.code || !strings.Contains(out, tc.want) {
				t.Fatalf("exit %d, want %d; stdout %q; stderr %q; want %q", code, tc.code, out, stderr, tc.want)
			}
		})
	}
	// The decoded claims are the token's.
	_, out, _ := tg(t, "", "inspect", good)
	claims := out[strings.Index(out, "claims: ")+len("claims: "):]
	claims = claims[:strings.Index(claims, "\n}")+2]
	var c map[string]any
	if err := json.Unmarshal([]byte(claims), &c); err != nil || c["sub"] != "alice" || c["scope"] != "items:read" {
		t.Errorf("claims %q: %v", claims, err)
	}
}

// TestMetadata: the RFC 8414 checks, against metadata documents served
// here: a valid one, and one breaking each rule.
func TestMetadata(t *testing.T) {
	var doc map[string]any
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/oauth-authorization-server", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(doc)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	valid := func() map[string]any {
		return map[string]any{
			"issuer":                   srv.URL,
			"token_endpoint":           srv.URL + "/token",
			"jwks_uri":                 srv.URL + "/.well-known/jwks.json",
			"grant_types_supported":    []string{"password", "refresh_token"},
			"response_types_supported": []string{},
			"scopes_supported":         []string{"me"},
		}
	}
	for _, tc := range []struct {
		name   string
		change func(m map[string]any)
		want   string
	}{
		{"valid", func(map[string]any) {}, ""},
		{"RFC8414_3_3_other_issuer", func(m map[string]any) { m["issuer"] = "https://evil.example" }, "FAIL issuer"},
		{"RFC8414_2_no_token_endpoint", func(m map[string]any) { delete(m, "token_endpoint") }, "FAIL token_endpoint is present"},
		{"RFC8414_2_http_endpoint", func(m map[string]any) { m["token_endpoint"] = "http://api.example.com/token" }, "FAIL token_endpoint"},
		{"RFC8414_2_no_response_types", func(m map[string]any) { delete(m, "response_types_supported") }, "FAIL response_types_supported"},
		{"RFC8414_2_code_without_authorization_endpoint", func(m map[string]any) { m["grant_types_supported"] = []string{"authorization_code"} }, "FAIL authorization_endpoint"},
		{"RFC8414_2_default_grants", func(m map[string]any) { delete(m, "grant_types_supported") }, "FAIL authorization_endpoint"},
		{"RFC8414_2_scopes_not_strings", func(m map[string]any) { m["scopes_supported"] = []any{1} }, "FAIL scopes_supported"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc = valid()
			tc.change(doc)
			for _, u := range []string{srv.URL, srv.URL + "/.well-known/oauth-authorization-server"} {
				code, out, stderr := tg(t, "", "metadata", u)
				if tc.want == "" && (code != 0 || strings.Contains(out, "FAIL")) || tc.want != "" && (code != 1 || !strings.Contains(out, tc.want)) {
					t.Errorf("%s: exit %d; stdout %q; stderr %q; want %q", u, code, out, stderr, tc.want)
				}
			}
		})
	}
	// An issuer with a path: the well-known part goes before it (RFC 8414 §3.1).
	m, iss, err := metadataURLs("https://api.example.com/tenant1")
	if err != nil || m != "https://api.example.com/.well-known/oauth-authorization-server/tenant1" || iss != "https://api.example.com/tenant1" {
		t.Errorf("metadataURLs: %q %q %v", m, iss, err)
	}
}

// TestMetadataOfTollgate: the metadata tollgate's own MetadataHandler
// serves passes every check.
func TestMetadataOfTollgate(t *testing.T) {
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	key, _ := tollgate.GenerateKey("ES256")
	as, err := tollgate.New(tollgate.Config{Issuer: srv.URL, Audience: []string{"https://api.test"}, SigningKey: key,
		Scopes: map[string]string{"me": "Read your profile"}, Users: memstore.NewUsers(), Refresh: memstore.NewRefreshStore(), Clients: memstore.NewClients("tollgate")})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("GET /.well-known/oauth-authorization-server", as.MetadataHandler(tollgate.Endpoints{}))
	code, out, stderr := tg(t, "", "metadata", srv.URL)
	if code != 0 || strings.Contains(out, "FAIL") {
		t.Errorf("exit %d\n%s%s", code, out, stderr)
	}
}
