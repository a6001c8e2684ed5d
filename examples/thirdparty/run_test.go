package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-go/tollgate/examples/internal/demo"
)

// TestRun starts the real program on a free port against the fake
// provider, reads what it says to register, logs in through it, and
// shuts it down by cancelling its context.
func TestRun(t *testing.T) {
	fake := newFakeProvider(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	out := &demo.SyncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append(fakeArgs(fake, "github"), "-addr", "127.0.0.1:0"), fakeEnv, out)
	}()
	listening := regexp.MustCompile(`msg=listening url=(http://127\.0\.0\.1:\d+)`)
	var base string
	for deadline := time.Now().Add(time.Minute); base == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		select {
		case err := <-done:
			t.Fatalf("run ended without listening: %v\n%s", err, out)
		default:
		}
		if m := listening.FindStringSubmatch(out.String()); m != nil {
			base = m[1]
		}
	}
	if base == "" {
		t.Fatalf("run does not listen:\n%s", out)
	}
	for _, want := range []string{
		"Register this client at GitHub:",
		"redirect (callback) URL  " + base + "/auth/callback",
		"client ID                " + fakeClientID,
		"client secret            set (not shown)",
		"WARNING: signing with a key generated",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("start-up output lacks %q:\n%s", want, out)
		}
	}
	fake.set(func(f *fakeProvider) { f.redirectURI = base + callbackPath })
	app := &testApp{t: t, url: base, fake: fake, log: out}
	u := newUser(t)
	if _, me := u.me(app, u.logIn(app)); me["username"] != "github:12345" {
		t.Errorf("GET /api/me: %v", me)
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
	app.noSecretsLogged()
}

// TestParseOptions checks the command line and the environment.
func TestParseOptions(t *testing.T) {
	env := func(secret string) func(string) string {
		return func(name string) string {
			if name == secretEnv {
				return secret
			}
			return ""
		}
	}
	custom := []string{"-provider", "custom", "-client-id", "c", "-auth-url", "https://idp.example/a",
		"-token-url", "https://idp.example/t", "-userinfo-url", "https://idp.example/u"}
	for _, tt := range []struct {
		name    string
		args    []string
		secret  string // in the environment
		wantErr string // "" for success
		check   func(t *testing.T, o options)
	}{
		{"github with the secret from the environment", []string{"-client-id", "x"}, "s3cret", "", func(t *testing.T, o options) {
			p, _ := newProvider(o)
			if o.addr != defaultAddr || o.clientSecret != "s3cret" || p.oauth.Endpoint.TokenURL != "https://github.com/login/oauth/access_token" ||
				p.userinfoURL != "https://api.github.com/user" || o.base()+callbackPath != "http://127.0.0.1:8003/auth/callback" {
				t.Errorf("options %+v, provider %+v", o, p)
			}
		}},
		{"-client-secret before the environment", []string{"-client-id", "x", "-client-secret", "flag"}, "env", "", func(t *testing.T, o options) {
			if o.clientSecret != "flag" {
				t.Errorf("secret %q", o.clientSecret)
			}
		}},
		{"google", []string{"-provider", "google", "-client-id", "x"}, "env-secret-9f2", "", func(t *testing.T, o options) {
			p, _ := newProvider(o)
			if p.oauth.Endpoint.AuthURL != "https://accounts.google.com/o/oauth2/auth" || p.userinfoURL != "https://openidconnect.googleapis.com/v1/userinfo" ||
				strings.Join(p.oauth.Scopes, " ") != "openid email" {
				t.Errorf("provider %+v", p)
			}
		}},
		{"overrides", []string{"-client-id", "x", "-token-url", "http://localhost:9/t", "-base-url", "https://app.example/"}, "env-secret-9f2", "", func(t *testing.T, o options) {
			p, _ := newProvider(o)
			if p.oauth.Endpoint.TokenURL != "http://localhost:9/t" || p.oauth.Endpoint.AuthURL != "https://github.com/login/oauth/authorize" || o.base() != "https://app.example" {
				t.Errorf("provider %+v, base %s", p, o.base())
			}
		}},
		{"custom as a public client (PKCE alone)", custom, "", "", nil},
		{"no client id", nil, "env-secret-9f2", "-client-id is required", nil},
		{"github without a secret", []string{"-client-id", "x"}, "", "needs the client secret", nil},
		{"custom without its URLs", []string{"-provider", "custom", "-client-id", "x"}, "", "-auth-url is required", nil},
		{"an unknown provider", []string{"-provider", "gitlab", "-client-id", "x"}, "env-secret-9f2", `-provider "gitlab"`, nil},
		{"plain http to another host", []string{"-client-id", "x", "-token-url", "http://idp.example/t"}, "env-secret-9f2", "use https", nil},
		{"a relative URL", []string{"-client-id", "x", "-userinfo-url", "/user"}, "env-secret-9f2", "not an absolute URL", nil},
		{"a base URL over plain http", []string{"-client-id", "x", "-base-url", "http://app.example"}, "env-secret-9f2", "use https", nil},
		{"access TTL under a second", []string{"-client-id", "x", "-access-ttl", "500ms"}, "env-secret-9f2", "at least 1s", nil},
		{"positional argument", []string{"-client-id", "x", "extra"}, "env-secret-9f2", "unexpected arguments", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseOptions(tt.args, env(tt.secret), io.Discard)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("parseOptions(%q) = %v", tt.args, err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("parseOptions(%q) = %v, want an error with %q", tt.args, err, tt.wantErr)
			case err != nil && tt.secret != "" && strings.Contains(err.Error(), tt.secret):
				t.Fatalf("the error shows the secret: %v", err)
			}
			if tt.check != nil {
				tt.check(t, o)
			}
		})
	}
}

// TestHelp: -help describes every flag and the environment, and shows
// no secret.
func TestHelp(t *testing.T) {
	var out strings.Builder
	if _, err := parseOptions([]string{"-help"}, func(string) string { return "env-secret" }, &out); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-help: %v, want flag.ErrHelp", err)
	}
	for _, want := range []string{"-addr", "127.0.0.1:8003", "-base-url", "-provider", "github, google, custom", "-client-id", "-client-secret",
		secretEnv, "-auth-url", "-token-url", "-userinfo-url", "-access-ttl", "-refresh-ttl", "-key"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("-help output lacks %q", want)
		}
	}
	if strings.Contains(out.String(), "env-secret") {
		t.Error("-help shows the secret")
	}
}
