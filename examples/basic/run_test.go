package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"github.com/tollgate-go/tollgate/examples/internal/demo"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestRequestLog: each request is logged with method, path, status and
// subject, and no password, access token or refresh token reaches the
// log, not even from the query string of /token.
func TestRequestLog(t *testing.T) {
	s := newTestServer(t, nil, nil)
	tr := s.login("alice", "wonderland")
	me := s.get("/users/me", tr.AccessToken)
	bob := s.login("bob", "builder")
	if r := s.do(http.MethodPost, "/items", bob.AccessToken, "application/json", `{"name":"x"}`); r.status != http.StatusForbidden {
		t.Fatalf("POST /items as bob: %d, want 403", r.status)
	}
	refreshed := s.tokens(s.refresh(tr.RefreshToken))
	reused := s.refresh(tr.RefreshToken) // reuse: family revoked
	wrong := s.form("/token", url.Values{"grant_type": {"password"}, "username": {"bob"}, "password": {"not-the-builder"}})
	// A careless client puts the credentials in the query string too.
	query := s.do(http.MethodPost, "/token?username=carol&password=admin-pass-123&marker=query-string-marker", "", "application/x-www-form-urlencoded",
		url.Values{"grant_type": {"password"}, "username": {"carol"}, "password": {"admin-pass-123"}}.Encode())
	carol := s.tokens(query)
	s.form("/revoke", url.Values{"token": {carol.RefreshToken}})
	if me.status != http.StatusOK || reused.status != http.StatusBadRequest || wrong.status != http.StatusBadRequest {
		t.Fatalf("statuses %d %d %d, want 200 400 400", me.status, reused.status, wrong.status)
	}
	s.srv.Close() // waits for the handlers, and so for their log lines
	log := s.log.String()

	secrets := map[string]string{
		"alice's password":          "wonderland",
		"bob's wrong password":      "not-the-builder",
		"carol's password":          "admin-pass-123",
		"the query string":          "query-string-marker",
		"an access token":           tr.AccessToken,
		"bob's access token":        bob.AccessToken,
		"bob's password":            "builder",
		"a refreshed access token":  refreshed.AccessToken,
		"carol's access token":      carol.AccessToken,
		"a refresh token":           tr.RefreshToken,
		"a rotated refresh token":   refreshed.RefreshToken,
		"carol's refresh token":     carol.RefreshToken,
		"a refresh token's secret":  strings.TrimPrefix(tr.RefreshToken, "tgr_"),
		"an access token signature": tr.AccessToken[strings.LastIndex(tr.AccessToken, ".")+1:],
	}
	for what, secret := range secrets {
		if strings.Contains(log, secret) {
			t.Errorf("the log holds %s", what)
		}
	}
	for _, want := range []string{
		"msg=request method=POST path=/token status=200 sub=alice",
		"msg=request method=POST path=/token status=400 sub=\"\"",
		"msg=request method=GET path=/users/me status=200 sub=alice",
		"msg=request method=POST path=/items status=403 sub=bob",
		"msg=request method=POST path=/token status=400",
		"msg=request method=POST path=/revoke status=200",
		`msg="tollgate: login_succeeded" type=login_succeeded sub=alice username=alice client_id=tollgate`,
		`level=WARN msg="tollgate: login_failed" type=login_failed username=bob client_id=tollgate reason=`,
		`msg="tollgate: refresh_rotated" type=refresh_rotated sub=alice`,
		`level=WARN msg="tollgate: refresh_reused" type=refresh_reused sub=alice`,
		`msg="tollgate: token_revoked" type=token_revoked sub=carol`,
		"family=",
		"remote=127.0.0.1:",
		"remote_addr=127.0.0.1:",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("the log lacks %q:\n%s", want, log)
		}
	}
}

// TestRun starts the real program on a free port with real bcrypt, logs
// in, and shuts it down by cancelling its context.
func TestRun(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		// The lowest cost: bcrypt under the race detector is slow.
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-bcrypt-cost", "10"}, pw)
		pw.Close()
	}()

	var out strings.Builder
	sc := bufio.NewScanner(pr)
	listening := regexp.MustCompile(`msg=listening url=(http://127\.0\.0\.1:\d+)`)
	var base string
	for base == "" && sc.Scan() {
		out.WriteString(sc.Text() + "\n")
		if m := listening.FindStringSubmatch(sc.Text()); m != nil {
			base = m[1]
		}
	}
	if base == "" {
		t.Fatalf("run ended without listening: %v\n%s", <-done, out.String())
	}
	go io.Copy(io.Discard, pr) // keep the log flowing
	for _, want := range []string{"WARNING: signing with a key generated at start", "alice     wonderland", "dave      disabled-pass   me  (disabled)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("start-up output lacks %q:\n%s", want, out.String())
		}
	}

	resp, err := http.Get(base + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /healthz: %v %v", resp, err)
	}
	resp.Body.Close()
	resp, err = http.PostForm(base+"/token", url.Values{"grant_type": {"password"}, "username": {"bob"}, "password": {"builder"}})
	if err != nil {
		t.Fatal(err)
	}
	var tr tokenResponse
	_ = json.NewDecoder(resp.Body).Decode(&tr)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || tr.AccessToken == "" {
		t.Fatalf("login with bcrypt: %d", resp.StatusCode)
	}
	if _, claims, _, _ := jwtParts(t, tr.AccessToken); claims["iss"] != base {
		t.Errorf("iss = %v, want the listen URL %s", claims["iss"], base)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run after cancel = %v, want nil", err)
		}
	case <-time.After(time.Minute): // a hang guard, not a timing assertion
		t.Fatal("run did not return after its context was cancelled")
	}
	if resp, err := http.Get(base + "/healthz"); err == nil {
		resp.Body.Close()
		t.Fatal("the server still answers after shutdown")
	}
}

// TestParseOptions checks the command line and TOLLGATE_SECRET.
func TestParseOptions(t *testing.T) {
	short := "only-31-bytes-of-secret-xxxxxxx"
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string // "" for success
	}{
		{"defaults", nil, nil, ""},
		{"every flag", []string{"-addr", ":9000", "-alg", "EdDSA", "-access-ttl", "1m", "-refresh-ttl", "24h", "-issuer", "https://as.example", "-audience", "https://api.example", "-bcrypt-cost", "11"}, nil, ""},
		{"HS256 with a good secret", []string{"-alg", "HS256"}, map[string]string{"TOLLGATE_SECRET": testSecret}, ""},
		{"HS256 without a secret generates one", []string{"-alg", "HS256"}, nil, ""},
		{"RFC8725 §3.5 short HS256 secret", []string{"-alg", "HS256"}, map[string]string{"TOLLGATE_SECRET": short}, "TOLLGATE_SECRET is 31 bytes long; HS256 needs at least 32"},
		{"short secret ignored for ES256", nil, map[string]string{"TOLLGATE_SECRET": short}, ""},
		{"unknown algorithm", []string{"-alg", "none"}, nil, `-alg "none"`},
		{"HS512 is not offered", []string{"-alg", "HS512"}, nil, `-alg "HS512"`},
		{"zero access TTL", []string{"-access-ttl", "0s"}, nil, "must be positive"},
		{"negative refresh TTL", []string{"-refresh-ttl", "-1h"}, nil, "must be positive"},
		{"bcrypt cost too low", []string{"-bcrypt-cost", "4"}, nil, "-bcrypt-cost 4"},
		{"positional argument", []string{"extra"}, nil, "unexpected arguments"},
		{"unknown flag", []string{"-port", "80"}, nil, "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseOptions(tt.args, envOf(tt.env), io.Discard)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("parseOptions(%q) = %v", tt.args, err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("parseOptions(%q) = %v, want an error with %q", tt.args, err, tt.wantErr)
			case err != nil && tt.env != nil && strings.Contains(err.Error(), tt.env["TOLLGATE_SECRET"]):
				t.Fatalf("the error shows the secret: %v", err)
			case err != nil:
				return
			}
			o.hasher = fastHasher{}
			_, closeStores, err := newServer(o, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatalf("newServer: %v", err)
			}
			closeStores()
		})
	}
}

// TestHelp: -help describes every flag and TOLLGATE_SECRET.
func TestHelp(t *testing.T) {
	var out strings.Builder
	if _, err := parseOptions([]string{"-help"}, envOf(nil), &out); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-help: %v, want flag.ErrHelp", err)
	}
	for _, want := range []string{"-addr", "127.0.0.1:8000", "-alg", "ES256", "-key", "-access-ttl", "15m0s", "-refresh-ttl", "720h0m0s", "-issuer", "-audience", "-bcrypt-cost", "TOLLGATE_SECRET"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("-help output lacks %q", want)
		}
	}
}

// TestSigningKeySources: -key loads a PEM or JWK file and the tokens
// verify with its public half; TOLLGATE_SECRET is never logged; a
// generated key is announced loudly.
func TestSigningKeySources(t *testing.T) {
	dir := t.TempDir()
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(ecKey)
	ecFile := filepath.Join(dir, "ec.pem")
	writeFile(t, ecFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	pubDER, _ := x509.MarshalPKIXPublicKey(&ecKey.PublicKey)
	pubFile := filepath.Join(dir, "ec-public.pem")
	writeFile(t, pubFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}))
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	edDER, _ := x509.MarshalPKCS8PrivateKey(edKey)
	edFile := filepath.Join(dir, "ed.pem")
	writeFile(t, edFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: edDER}))

	t.Run("PEM file: tokens verify with the file's key", func(t *testing.T) {
		s := newTestServer(t, []string{"-key", ecFile}, nil)
		tr := s.login("alice", "wonderland")
		hdr, _, input, sig := jwtParts(t, tr.AccessToken)
		if hdr["alg"] != "ES256" {
			t.Fatalf("alg = %v, want the key's ES256", hdr["alg"])
		}
		r := s.get("/.well-known/jwks.json", "")
		var set struct{ Keys []jwk }
		if err := json.Unmarshal(r.body, &set); err != nil || len(set.Keys) != 1 {
			t.Fatalf("JWKS: %s", r.body)
		}
		if !verifyWithJWK(t, set.Keys[0], input, sig) {
			t.Fatal("token does not verify with the published key")
		}
		if !ecdsaVerifyJWS(&ecKey.PublicKey, input, sig) {
			t.Fatal("token does not verify with the key from the file")
		}
		if !strings.Contains(s.log.String(), "signing key loaded") || strings.Contains(s.log.String(), "WARNING") {
			t.Errorf("log:\n%s", s.log.String())
		}
	})

	t.Run("JWK file: its kid is kept", func(t *testing.T) {
		pub, _ := ecKey.PublicKey.Bytes() // 0x04 || x || y
		d, _ := ecKey.Bytes()
		b64 := base64.RawURLEncoding.EncodeToString
		jwkFile := filepath.Join(dir, "ec.jwk")
		writeFile(t, jwkFile, []byte(`{"kty":"EC","crv":"P-256","kid":"demo-2026","alg":"ES256",`+
			`"x":"`+b64(pub[1:33])+`","y":"`+b64(pub[33:])+`","d":"`+b64(d)+`"}`))
		s := newTestServer(t, []string{"-key", jwkFile, "-alg", "ES256"}, nil)
		hdr, _, input, sig := jwtParts(t, s.login("alice", "wonderland").AccessToken)
		if hdr["kid"] != "demo-2026" || !ecdsaVerifyJWS(&ecKey.PublicKey, input, sig) {
			t.Fatalf("header %v; signature verifies with the file's key: %v", hdr, ecdsaVerifyJWS(&ecKey.PublicKey, input, sig))
		}
	})

	t.Run("Ed25519 PEM file without -alg uses the key's algorithm", func(t *testing.T) {
		s := newTestServer(t, []string{"-key", edFile}, nil)
		if hdr, _, _, _ := jwtParts(t, s.login("bob", "builder").AccessToken); hdr["alg"] != "EdDSA" {
			t.Fatalf("alg = %v, want EdDSA", hdr["alg"])
		}
	})

	errorCases := []struct {
		name, wantErr string
		args          []string
	}{
		{"RFC8725 §3.1 -alg must match the key", "-alg RS256, but the key", []string{"-alg", "RS256", "-key", ecFile}},
		{"public key cannot sign", "no private key", []string{"-key", pubFile}},
		{"missing file", "no such file", []string{"-key", filepath.Join(dir, "nope.pem")}},
	}
	for _, tt := range errorCases {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseOptions(tt.args, envOf(nil), io.Discard)
			if err == nil {
				o.hasher = fastHasher{}
				var closeStores func()
				if _, closeStores, err = newServer(o, slog.New(slog.DiscardHandler)); err == nil {
					closeStores()
				}
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("%q: err = %v, want %q", tt.args, err, tt.wantErr)
			}
		})
	}

	t.Run("TOLLGATE_SECRET is never logged", func(t *testing.T) {
		s := newTestServer(t, []string{"-alg", "HS256"}, map[string]string{"TOLLGATE_SECRET": testSecret})
		s.login("alice", "wonderland")
		s.srv.Close()
		if log := s.log.String(); strings.Contains(log, testSecret) || strings.Contains(log, "WARNING") {
			t.Errorf("log:\n%s", log)
		}
	})

	t.Run("generated HS256 secret: loud warning, secret not shown", func(t *testing.T) {
		s := newTestServer(t, []string{"-alg", "HS256"}, nil)
		if log := s.log.String(); !strings.Contains(log, "level=WARN msg=\"WARNING: TOLLGATE_SECRET is not set") {
			t.Errorf("log lacks the warning:\n%s", log)
		}
	})

	t.Run("issuer and audience flags reach the tokens", func(t *testing.T) {
		s := newTestServer(t, []string{"-issuer", "https://as.example", "-audience", "https://api.example"}, nil)
		_, claims, _, _ := jwtParts(t, s.login("alice", "wonderland").AccessToken)
		if claims["iss"] != "https://as.example" || (claims["aud"] != "https://api.example" && !slicesEqual(claims["aud"], "https://api.example")) {
			t.Errorf("iss %v aud %v", claims["iss"], claims["aud"])
		}
		if got := s.get("/users/me", "").header.Get("WWW-Authenticate"); got != `Bearer realm="https://as.example"` {
			t.Errorf("challenge = %q", got)
		}
	})
}

// TestIssuerFor: the default issuer follows the listen address.
func TestIssuerFor(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.1:8000": "http://127.0.0.1:8000",
		":8000":          "http://localhost:8000",
		"0.0.0.0:80":     "http://localhost:80",
		"[::]:8080":      "http://localhost:8080",
		"[::1]:8080":     "http://[::1]:8080",
		"example.test:1": "http://example.test:1",
	} {
		if got := demo.IssuerFor(addr); got != want {
			t.Errorf("demo.IssuerFor(%q) = %q, want %q", addr, got, want)
		}
	}
}

func writeFile(t *testing.T, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(name, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func slicesEqual(v any, want ...string) bool {
	list, ok := v.([]any)
	if !ok || len(list) != len(want) {
		return false
	}
	for i := range list {
		if list[i] != want[i] {
			return false
		}
	}
	return true
}
