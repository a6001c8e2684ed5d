package tollgate_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// readmeSection returns the fenced blocks of lang in README.md's section
// titled heading, in order.
func readmeSection(t *testing.T, heading, lang string) []string {
	t.Helper()
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	i := strings.Index(text, "\n## "+heading+"\n")
	if i < 0 {
		t.Fatalf("README.md has no section %q", heading)
	}
	text = text[i+len(heading)+5:]
	if j := strings.Index(text, "\n## "); j >= 0 {
		text = text[:j]
	}
	var blocks []string
	for {
		k := strings.Index(text, "```"+lang+"\n")
		if k < 0 {
			return blocks
		}
		text = text[k+len(lang)+4:]
		end := strings.Index(text, "```\n")
		if end < 0 {
			t.Fatalf("unterminated %s block in %q", lang, heading)
		}
		blocks = append(blocks, text[:end])
		text = text[end+4:]
	}
}

// TestREADMEQuickStart builds and runs the README's quick start exactly as
// printed: the key command, then the program, in a module of its own that
// uses this checkout; it logs in as alice and calls /users/me. It needs
// the go command and openssl (which .ci/run installs).
func TestREADMEQuickStart(t *testing.T) {
	sh := readmeSection(t, "Quick start", "sh")
	goSrc := readmeSection(t, "Quick start", "go")
	if len(sh) < 1 || len(goSrc) != 1 {
		t.Fatalf("quick start: %d sh and %d go blocks, want the key command and one program", len(sh), len(goSrc))
	}
	keyCmd := strings.TrimSpace(sh[0])
	if !strings.HasPrefix(keyCmd, "openssl ") || strings.Contains(keyCmd, "\n") {
		t.Fatalf("the first quick-start command is %q, want one openssl command", keyCmd)
	}
	root, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("main.go", goSrc[0])
	write("go.mod", "module quickstart\n\ngo 1.26.0\n\nrequire github.com/tollgate-go/tollgate v0.0.0\n\nreplace github.com/tollgate-go/tollgate => "+root+"\n")
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	write("go.sum", string(sum))
	run := func(name string, args ...string) {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
	}
	run("sh", "-c", keyCmd)
	run("go", "build", "-o", "quickstart", ".")

	if ln, err := net.Listen("tcp", "127.0.0.1:8000"); err != nil {
		t.Fatalf("127.0.0.1:8000, the quick start's address, is taken: %v", err)
	} else {
		ln.Close()
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	srv := exec.CommandContext(ctx, filepath.Join(dir, "quickstart"))
	srv.Dir = dir
	srv.Stdout, srv.Stderr = &out, &out
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Process.Kill(); _ = srv.Wait() }()

	base := "http://127.0.0.1:8000"
	var resp *http.Response
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		resp, err = http.PostForm(base+"/token", url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"wonderland"}})
		if err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatalf("POST /token: %v; the program said:\n%s", err, out.String())
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		Scope       string `json:"scope"`
	}
	err = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || tok.Scope != "me items:read" {
		t.Fatalf("login: %d %+v %v", resp.StatusCode, tok, err)
	}
	req, _ := http.NewRequest("GET", base+"/users/me", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var me struct {
		Username string   `json:"username"`
		Scopes   []string `json:"scopes"`
	}
	err = json.NewDecoder(resp.Body).Decode(&me)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || me.Username != "alice" {
		t.Errorf("GET /users/me: %d %+v %v", resp.StatusCode, me, err)
	}
}
