package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-go/tollgate/examples/internal/demo"
)

// TestRun starts the real program on a free port with real bcrypt, logs
// in through /auth/login, and shuts it down by cancelling its context.
func TestRun(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	out := &demo.SyncBuffer{}
	done := make(chan error, 1)
	go func() {
		// The lowest cost: bcrypt under the race detector is slow.
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-bcrypt-cost", "10"}, out)
	}()
	listening := regexp.MustCompile(`msg=listening url=(http://127\.0\.0\.1:\d+)`)
	var base string
	for deadline := time.Now().Add(2 * time.Minute); base == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
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
	for _, want := range []string{"WARNING: signing with a key generated", "alice     wonderland", "dave      disabled-pass   me  (disabled)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("start-up output lacks %q:\n%s", want, out)
		}
	}

	resp, err := http.PostForm(base+"/auth/login", url.Values{"username": {"bob"}, "password": {"builder"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || len(resp.Cookies()) != 1 || resp.Cookies()[0].Name != refreshCookieName {
		t.Fatalf("login with bcrypt: %d, cookies %v", resp.StatusCode, resp.Cookies())
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
	if log := out.String(); strings.Contains(log, "tgr_") || strings.Contains(log, "builder\"") {
		t.Errorf("the log shows a secret:\n%s", log)
	}
}

// TestParseOptions checks the command line.
func TestParseOptions(t *testing.T) {
	for _, tt := range []struct {
		name    string
		args    []string
		wantErr string // "" for success
	}{
		{"defaults", nil, ""},
		{"every flag", []string{"-addr", ":9001", "-access-ttl", "5s", "-refresh-ttl", "24h", "-bcrypt-cost", "11"}, ""},
		{"access TTL under a second", []string{"-access-ttl", "500ms"}, "at least 1s"},
		{"zero refresh TTL", []string{"-refresh-ttl", "0s"}, "at least 1s"},
		{"bcrypt cost too low", []string{"-bcrypt-cost", "4"}, "-bcrypt-cost 4"},
		{"positional argument", []string{"extra"}, "unexpected arguments"},
		{"unknown flag", []string{"-port", "80"}, "flag provided but not defined"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseOptions(tt.args, io.Discard)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("parseOptions(%q) = %v", tt.args, err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("parseOptions(%q) = %v, want an error with %q", tt.args, err, tt.wantErr)
			}
			if tt.name == "defaults" && (o.addr != defaultAddr || o.accessTTL != 15*time.Minute || o.bcryptCost != 12) {
				t.Errorf("defaults %+v", o)
			}
		})
	}
	if _, err := newServer(options{addr: "127.0.0.1:1", keyFile: "/nonexistent/key.pem", accessTTL: time.Minute, refreshTTL: time.Hour}, nil); err == nil {
		t.Error("a missing -key file is not an error")
	}
}

// TestHelp: -help describes every flag.
func TestHelp(t *testing.T) {
	var out strings.Builder
	if _, err := parseOptions([]string{"-help"}, &out); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-help: %v, want flag.ErrHelp", err)
	}
	for _, want := range []string{"-addr", "127.0.0.1:8001", "-access-ttl", "15m0s", "-refresh-ttl", "-bcrypt-cost", "-key"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("-help output lacks %q", want)
		}
	}
}
