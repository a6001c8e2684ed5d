package main

// The bounds of what the logins keep: the flow table and the local users.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/tollgate-go/tollgate/memstore"
)

// TestFlowTable: the table holds at most its bound, pushes out the
// oldest flow when full, drops the expired ones first, and hands a flow
// out once (RFC 9700 §4.7.1: one-time use state).
func TestFlowTable(t *testing.T) {
	c := &clock{now: time.Unix(1_700_000_000, 0)}
	tab := newFlowTable(3, 10*time.Minute, c.Now)
	has := func(keys ...string) {
		t.Helper()
		if n := tab.len(); n != len(keys) {
			t.Errorf("%d flows, want %d", n, len(keys))
		}
		tab.mu.Lock()
		defer tab.mu.Unlock()
		for _, k := range keys {
			if _, ok := tab.byKey[k]; !ok {
				t.Errorf("flow %s is gone", k)
			}
		}
	}
	add := func(keys ...string) {
		for _, k := range keys {
			tab.add(flow{key: k, state: "state-" + k, verifier: "verifier-" + k})
		}
	}

	add("a", "b", "c")
	has("a", "b", "c")
	add("d") // full: the oldest goes
	has("b", "c", "d")
	c.advance(5 * time.Minute)
	add("e")
	has("c", "d", "e")
	c.advance(6 * time.Minute) // c and d expired; e has 4 minutes left
	add("f")
	has("e", "f") // the expired went first: nothing in time was pushed out

	f, ok := tab.take("e")
	if !ok || f.state != "state-e" || f.verifier != "verifier-e" {
		t.Errorf("take(e) = %+v, %v", f, ok)
	}
	if _, ok := tab.take("e"); ok {
		t.Error("a flow taken twice")
	}
	c.advance(10 * time.Minute) // f expires
	if _, ok := tab.take("f"); ok {
		t.Error("an expired flow taken")
	}
	has()
	if _, ok := tab.take("never"); ok {
		t.Error("an unknown key taken")
	}
}

// TestFlowsBounded: many login starts keep at most the bound in memory;
// a login in flight completes while it is within the bound and its time,
// and one pushed out by a flood, or expired, is refused cleanly (400).
func TestFlowsBounded(t *testing.T) {
	const bound = 20
	app := startApp(t, newFakeProvider(t), bound)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	starts := func(n int) {
		t.Helper()
		for range n {
			resp, err := client.Get(app.url + "/auth/login")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusFound {
				t.Fatalf("start: %d", resp.StatusCode)
			}
		}
	}

	u := newUser(t)
	cb := u.toProvider(app)
	starts(bound - 1) // with u's, the table is full
	if n := app.login.flows.len(); n != bound {
		t.Fatalf("%d flows, want %d", n, bound)
	}
	app.clock.advance(flowTTL - time.Second)
	if r := u.get(cb); r.status != http.StatusSeeOther {
		t.Fatalf("a login within the bound and its time: %d %s", r.status, r.body)
	}

	cb = u.toProvider(app)
	starts(10 * bound)
	if n := app.login.flows.len(); n > bound {
		t.Fatalf("%d flows after %d starts, want at most %d", n, 10*bound, bound)
	}
	if r := u.get(cb); r.status != http.StatusBadRequest || r.cookie(refreshCookieName) != nil {
		t.Errorf("a login pushed out by a flood: %d, cookie %v", r.status, r.cookie(refreshCookieName))
	}

	// Expired flows go before any in time: after the TTL, a new login
	// completes however many starts came before it.
	app.clock.advance(flowTTL)
	cb = u.toProvider(app)
	if n := app.login.flows.len(); n != 1 {
		t.Errorf("%d flows after the TTL and one start, want 1", n)
	}
	if r := u.get(cb); r.status != http.StatusSeeOther {
		t.Errorf("a login after the flood expired: %d %s", r.status, r.body)
	}
	app.noSecretsLogged()
}

// TestAccountsBounded: the local users are created once each, up to the
// bound; past it a new user is refused and a known one still logs in.
func TestAccountsBounded(t *testing.T) {
	ctx := context.Background()
	a := newAccounts(memstore.NewUsers(), 3)
	for i := range 3 {
		u, err := a.user(ctx, "github", identity{subject: fmt.Sprint(i + 1)})
		if err != nil || u.Username != fmt.Sprintf("github:%d", i+1) || u.ID != u.Username {
			t.Fatalf("user %d: %+v, %v", i+1, u, err)
		}
	}
	if _, err := a.user(ctx, "github", identity{subject: "4"}); !errors.Is(err, errTooManyUsers) {
		t.Errorf("a fourth user: %v, want errTooManyUsers", err)
	}
	if u, err := a.user(ctx, "github", identity{subject: "2"}); err != nil || u.Username != "github:2" {
		t.Errorf("a known user past the bound: %+v, %v", u, err)
	}
	if u, err := a.user(ctx, "google", identity{subject: "1"}); err == nil {
		t.Errorf("google:1 is a new user, past the bound: %+v", u)
	}
	if a.n != 3 {
		t.Errorf("%d users counted, want 3", a.n)
	}
}
