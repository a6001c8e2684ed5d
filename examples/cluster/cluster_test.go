package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/tollgate-go/tollgate/internal/testserver"
)

type tokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

func post(t *testing.T, base string, form url.Values, remote string) (int, tokens) {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s/token: %v", base, err)
	}
	defer resp.Body.Close()
	var tj tokens
	body, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(body, &tj)
	return resp.StatusCode, tj
}

func login(t *testing.T, base, user, pass string) (int, tokens) {
	return post(t, base, url.Values{"grant_type": {"password"}, "username": {user}, "password": {pass}}, "")
}

func refresh(t *testing.T, base, rt string) (int, tokens) {
	return post(t, base, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, "")
}

func me(t *testing.T, base, token string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/users/me", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s/users/me: %v", base, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// runCluster starts the cluster on free loopback ports over store.
func runCluster(t *testing.T, store string) *cluster {
	t.Helper()
	addr := func() string { return fmt.Sprint("127.0.0.1:", testserver.FreePort(t)) }
	o := options{store: store, a: addr(), b: addr(), api: addr(), bcryptCost: 10, stdout: io.Discard, stderr: io.Discard}
	c, err := start(t.Context(), o)
	if err != nil {
		t.Fatalf("starting the cluster: %v", err)
	}
	t.Cleanup(c.stopAll)
	return c
}

// clusterChecks are the cluster's promises, on either store.
func clusterChecks(t *testing.T, c *cluster) {
	a, b, api := c.url(c.o.a), c.url(c.o.b), c.url(c.o.api)

	// A login on A refreshes on B; replaying the spent token on A revokes
	// the family everywhere (RFC 9700 §4.14.2).
	code, t1 := login(t, a, "alice", "wonderland")
	if code != http.StatusOK {
		t.Fatalf("login on A: %d", code)
	}
	code, t2 := refresh(t, b, t1.RefreshToken)
	if code != http.StatusOK {
		t.Fatalf("refresh on B of A's token: %d", code)
	}
	if code, _ := refresh(t, a, t1.RefreshToken); code != http.StatusBadRequest {
		t.Errorf("replay of the spent token on A: %d, want 400", code)
	}
	if code, _ := refresh(t, b, t2.RefreshToken); code != http.StatusBadRequest {
		t.Errorf("the family's newest token on B after the replay: %d, want 400 (revoked everywhere)", code)
	}

	// The API verifies the replicas' tokens through A's JWKS.
	if code := me(t, api, t2.AccessToken); code != http.StatusOK {
		t.Errorf("the API with a replica's token: %d", code)
	}

	// The per-username lockout counts the guesses made on both replicas
	// (10 by default, 5 on each).
	for i := range 10 {
		base := a
		if i%2 == 1 {
			base = b
		}
		if code, _ := login(t, base, "bob", "wrong"); code != http.StatusBadRequest {
			t.Fatalf("guess %d: %d, want 400", i+1, code)
		}
	}
	for _, base := range []string{a, b} {
		if code, _ := login(t, base, "bob", "wrong"); code != http.StatusTooManyRequests {
			t.Errorf("a guess on %s after 10 over both replicas: %d, want 429", base, code)
		}
	}

	// A key rotation (both replicas restarted with a new key, the old one
	// still verifying) is picked up by the API without a restart.
	if err := c.rotate(t.Context()); err != nil {
		t.Fatal(err)
	}
	code, t3 := login(t, b, "carol", "admin-pass-123")
	if code != http.StatusOK {
		t.Fatalf("login after the rotation: %d", code)
	}
	if code := me(t, api, t3.AccessToken); code != http.StatusOK {
		t.Errorf("the API with a token of the new key: %d, want 200 (no restart)", code)
	}

	// Both replicas down: the API keeps verifying with the keys it has.
	c.stopReplica(0)
	c.stopReplica(1)
	if code := me(t, api, t3.AccessToken); code != http.StatusOK {
		t.Errorf("the API with both replicas down: %d, want 200", code)
	}
}

func TestClusterPostgres(t *testing.T) {
	pg := testserver.StartPostgres(t)
	clusterChecks(t, runCluster(t, pg.URL("postgres", "")))
}

func TestClusterRedis(t *testing.T) {
	rd := testserver.StartRedis(t, true)
	clusterChecks(t, runCluster(t, "redis://"+rd.Addr()+"/0"))
}

// TestFlags: -store must name a shared store; by default the cluster
// starts a PostgreSQL of its own.
func TestFlags(t *testing.T) {
	for _, args := range [][]string{{"-store", "memory"}, {"-store", "sqlite:x.db"}, {"-store", ""}} {
		if _, err := parseOptions(args, io.Discard); err == nil {
			t.Errorf("parseOptions(%q) succeeded", args)
		}
	}
	if o, err := parseOptions(nil, io.Discard); err != nil || o.store != "postgres" {
		t.Errorf("defaults: %+v, %v", o, err)
	}
}

// TestOwnServer: with -store postgres or redis the cluster starts a
// server of its own, and stopping it removes it.
func TestOwnServer(t *testing.T) {
	for _, kind := range []string{"postgres", "redis"} {
		url, stop, err := ownServer(kind)
		if err != nil && os.Getenv("TOLLGATE_REQUIRE_SERVERS") == "" && strings.Contains(err.Error(), "apt-get install") {
			t.Skip(err) // no server binaries here
		}
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		if !strings.HasPrefix(url, kind) {
			t.Errorf("%s: URL %q", kind, url)
		}
		stop()
	}
}
