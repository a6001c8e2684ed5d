package tollgate_test

// Brute-force and overload defences of the token endpoint: the login
// throttle (OWASP Authentication Cheat Sheet, "Protect against automated
// attacks"; RFC 6749 §10.10 and RFC 9700 §2.4 on guessing passwords at the
// token endpoint) and the bound on concurrent password hashes.

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tollgate-go/tollgate"
	"github.com/tollgate-go/tollgate/audit"
	"github.com/tollgate-go/tollgate/memstore"
)

// loginFrom runs the password grant for user with pass, from the client
// address remote ("ip:port"), with extra request headers as name, value
// pairs.
func (f *fixture) loginFrom(remote, user, pass string, headers ...string) *httptest.ResponseRecorder {
	form := url.Values{"grant_type": {"password"}, "username": {user}, "password": {pass}}
	req := httptest.NewRequest("POST", "/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.RemoteAddr = remote
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	return f.do(req)
}

// wantThrottled checks a 429 answer: Retry-After in whole seconds within
// (0, max], RFC 6749 §5.2 JSON with error slow_down, no-store.
func wantThrottled(t *testing.T, rec *httptest.ResponseRecorder, maxRetry time.Duration) {
	t.Helper()
	if rec.Code != http.StatusTooManyRequests {
		t.Fatalf("status = %d, want 429; body %s", rec.Code, rec.Body)
	}
	ra, err := strconv.Atoi(rec.Header().Get("Retry-After"))
	if err != nil || ra <= 0 || time.Duration(ra)*time.Second > maxRetry {
		t.Errorf("Retry-After = %q, want whole seconds in (0, %v]", rec.Header().Get("Retry-After"), maxRetry)
	}
	if got := decodeToken(t, rec).Error; got != "slow_down" {
		t.Errorf("error = %q, want slow_down", got)
	}
	if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}
}

func wantStatus(t *testing.T, what string, rec *httptest.ResponseRecorder, status int) {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("%s: status = %d, want %d; body %s", what, rec.Code, status, rec.Body)
	}
}

// TestLoginThrottle shows password guessing stopped: past the limit, a
// guess is answered 429 without the hash being run, so it tells the
// attacker nothing and costs the server nothing.
func TestLoginThrottle(t *testing.T) {
	const ipA, ipB = "198.51.100.1:4000", "198.51.100.2:4000"

	t.Run("OWASP per-username limit, hash not run, other users unaffected", func(t *testing.T) {
		f := newFixture(t, "", nil) // the default throttle: 10 per username
		for i := range 10 {
			wantStatus(t, fmt.Sprintf("guess %d", i), f.loginFrom(ipA, "alice", fmt.Sprintf("guess-%d", i)), 400)
		}
		before := f.hasher.Verifies()
		wantThrottled(t, f.loginFrom(ipA, "alice", "guess-x"), (15 * time.Minute))
		// From another address, and with the right password: the account
		// is throttled, not the address.
		wantThrottled(t, f.loginFrom(ipB, "alice", "wonderland"), (15 * time.Minute))
		if got := f.hasher.Verifies(); got != before {
			t.Errorf("throttled logins ran %d password hashes, want 0", got-before)
		}
		wantStatus(t, "bob from the same address", f.loginFrom(ipA, "bob", "builder"), 200)
		ev := f.events.Of(audit.LoginThrottled)
		if len(ev) != 2 || ev[0].Reason != "username" || ev[0].Username != "alice" {
			t.Errorf("throttled events = %+v, want 2 with reason username", ev)
		}
	})

	t.Run("OWASP unknown usernames are throttled like known ones", func(t *testing.T) {
		f := newFixture(t, "", func(c *tollgate.Config) { c.Logins = tollgate.LoginLimits{FailuresPerUsername: 3} })
		for range 3 {
			wantStatus(t, "guess", f.loginFrom(ipA, "nobody", "x"), 400)
		}
		wantThrottled(t, f.loginFrom(ipA, "nobody", "x"), (15 * time.Minute))
	})

	t.Run("OWASP per-IP limit across usernames", func(t *testing.T) {
		f := newFixture(t, "", func(c *tollgate.Config) { c.Logins = tollgate.LoginLimits{FailuresPerIP: 5} })
		for i := range 5 {
			wantStatus(t, "spray", f.loginFrom(ipA, fmt.Sprintf("user%d", i), "Password1"), 400)
		}
		before := f.hasher.Verifies()
		wantThrottled(t, f.loginFrom(ipA, "carol", "admin-pass-123"), (15 * time.Minute))
		if got := f.hasher.Verifies(); got != before {
			t.Errorf("throttled login ran %d hashes, want 0", got-before)
		}
		if ev := f.events.Of(audit.LoginThrottled); len(ev) != 1 || ev[0].Reason != "client_ip" {
			t.Errorf("throttled events = %+v, want one with reason client_ip", ev)
		}
		wantStatus(t, "carol from another address", f.loginFrom(ipB, "carol", "admin-pass-123"), 200)
	})

	t.Run("IPv6 addresses count per /64", func(t *testing.T) {
		f := newFixture(t, "", func(c *tollgate.Config) { c.Logins = tollgate.LoginLimits{FailuresPerIP: 2} })
		wantStatus(t, "1", f.loginFrom("[2001:db8:1:2::1]:4000", "u1", "x"), 400)
		wantStatus(t, "2", f.loginFrom("[2001:db8:1:2:ffff::9]:4000", "u2", "x"), 400)
		wantThrottled(t, f.loginFrom("[2001:db8:1:2:abcd::7]:4000", "bob", "builder"), (15 * time.Minute))
		wantStatus(t, "another /64", f.loginFrom("[2001:db8:1:3::1]:4000", "bob", "builder"), 200)
	})

	t.Run("a success clears the username's failures", func(t *testing.T) {
		f := newFixture(t, "", func(c *tollgate.Config) { c.Logins = tollgate.LoginLimits{FailuresPerUsername: 3} })
		for range 2 {
			wantStatus(t, "typo", f.loginFrom(ipA, "alice", "wonderlnad"), 400)
		}
		wantStatus(t, "success", f.loginFrom(ipA, "alice", "wonderland"), 200)
		for range 3 {
			wantStatus(t, "typo after success", f.loginFrom(ipA, "alice", "wonderlnad"), 400)
		}
		// Locked: for an address alice never logged in from at once; for
		// ipA, where she did, after ipA's own budget of failures.
		wantThrottled(t, f.loginFrom("203.0.113.99:1", "alice", "wonderland"), (15 * time.Minute))
		for range 3 {
			wantStatus(t, "typo from the known address", f.loginFrom(ipA, "alice", "wonderlnad"), 400)
		}
		wantThrottled(t, f.loginFrom(ipA, "alice", "wonderland"), (15 * time.Minute))
	})

	t.Run("successes do not count against the IP", func(t *testing.T) {
		f := newFixture(t, "", func(c *tollgate.Config) { c.Logins = tollgate.LoginLimits{FailuresPerIP: 2} })
		for range 10 {
			wantStatus(t, "login", f.loginFrom(ipA, "bob", "builder"), 200)
		}
	})

	t.Run("the window ends and Retry-After says when", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := newFixture(t, "", func(c *tollgate.Config) {
				c.Logins = tollgate.LoginLimits{FailuresPerUsername: 2, Window: 10 * time.Minute}
			})
			wantStatus(t, "1", f.loginFrom(ipA, "alice", "x"), 400)
			time.Sleep(4 * time.Minute)
			wantStatus(t, "2", f.loginFrom(ipA, "alice", "x"), 400)
			rec := f.loginFrom(ipA, "alice", "wonderland")
			wantThrottled(t, rec, 10*time.Minute)
			if got := rec.Header().Get("Retry-After"); got != "360" {
				t.Errorf("Retry-After = %s, want 360 (the window opened 4 min ago)", got)
			}
			time.Sleep(6*time.Minute - time.Second)
			wantThrottled(t, f.loginFrom(ipA, "alice", "wonderland"), time.Second)
			time.Sleep(time.Second)
			wantStatus(t, "after the window", f.loginFrom(ipA, "alice", "wonderland"), 200)
		})
	})

	t.Run("concurrent guesses cannot slip past the limit while hashes run", func(t *testing.T) {
		gate := newGateHasher()
		f := newGateFixture(t, gate, func(c *tollgate.Config) {
			c.Logins = tollgate.LoginLimits{FailuresPerUsername: 5}
			c.Logins.ConcurrentHashes = 50
		})
		const n = 20
		codes := make(chan int, n)
		for i := range n {
			go func() { codes <- f.loginFrom(ipA, "alice", fmt.Sprintf("guess-%d", i)).Code }()
		}
		// The throttled ones answer at once; the others wait in the hash.
		for range n - 5 {
			if c := within(t, codes, "a throttled guess"); c != http.StatusTooManyRequests {
				t.Errorf("status %d, want 429", c)
			}
		}
		for range 5 {
			<-gate.entered
		}
		close(gate.release)
		for range 5 {
			if c := within(t, codes, "a checked guess"); c != http.StatusBadRequest {
				t.Errorf("status %d, want 400", c)
			}
		}
		if got := gate.calls.Load(); got != 5 {
			t.Errorf("%d hashes ran for %d concurrent guesses, want 5 (the limit)", got, n)
		}
	})

	t.Run("table size bounded: a lockout is never evicted", func(t *testing.T) {
		f := newFixture(t, "", func(c *tollgate.Config) {
			c.Logins = tollgate.LoginLimits{FailuresPerUsername: 2, MaxEntries: 2, FailuresPerIP: 1000}
		})
		wantStatus(t, "alice", f.loginFrom(ipA, "alice", "x"), 400)
		wantStatus(t, "alice", f.loginFrom(ipA, "alice", "x"), 400)
		wantThrottled(t, f.loginFrom(ipA, "alice", "wonderland"), 15*time.Minute)
		wantStatus(t, "u2", f.loginFrom(ipA, "u2", "x"), 400)
		// The table is full: u3 evicts u2's open window, not alice's
		// lockout.
		wantStatus(t, "u3", f.loginFrom(ipA, "u3", "x"), 400)
		wantThrottled(t, f.loginFrom(ipA, "alice", "wonderland"), 15*time.Minute)
		// A table of lockouts counts new usernames in its overflow sketch,
		// at the same limit: it neither forgets a lockout nor locks every
		// other username out (that would be a global denial of service).
		wantStatus(t, "u3", f.loginFrom(ipA, "u3", "x"), 400)
		wantStatus(t, "u4 in the sketch", f.loginFrom(ipA, "u4", "x"), 400)
		wantStatus(t, "u4 in the sketch", f.loginFrom(ipA, "u4", "x"), 400)
		wantThrottled(t, f.loginFrom(ipA, "u4", "x"), 15*time.Minute)
		wantStatus(t, "u5, a fresh username, is not locked", f.loginFrom(ipA, "u5", "x"), 400)
		wantThrottled(t, f.loginFrom(ipA, "alice", "wonderland"), 15*time.Minute)
	})

	t.Run("a lockout outlasts a flood of fresh usernames", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := newFixture(t, "", func(c *tollgate.Config) {
				c.Logins = tollgate.LoginLimits{MaxEntries: 100, FailuresPerIP: 1 << 20}
			})
			for range 10 {
				wantStatus(t, "guess", f.loginFrom(ipA, "alice", "x"), 400)
			}
			wantThrottled(t, f.loginFrom(ipA, "alice", "wonderland"), 15*time.Minute)
			for i := range 1000 { // ten times the table
				wantStatus(t, "flood", f.loginFrom(fmt.Sprintf("198.51.%d.%d:1", i/250, i%250), fmt.Sprintf("fresh-%d", i), "x"), 400)
			}
			wantThrottled(t, f.loginFrom(ipA, "alice", "wonderland"), 15*time.Minute)
			time.Sleep(15 * time.Minute)
			wantStatus(t, "after the window", f.loginFrom(ipA, "alice", "wonderland"), 200)
		})
	})

	t.Run("disabled", func(t *testing.T) {
		f := newFixture(t, "", func(c *tollgate.Config) { c.Logins = tollgate.LoginLimits{DisableThrottle: true} })
		for range 30 {
			wantStatus(t, "guess", f.loginFrom(ipA, "alice", "x"), 400)
		}
	})

	t.Run("bad configuration is refused", func(t *testing.T) {
		for _, tc := range []tollgate.LoginLimits{{FailuresPerIP: -1}, {Window: -time.Second}, {TrustedProxyHeader: "X Forwarded"}} {
			cfg := tollgate.Config{Issuer: testIssuer, Audience: []string{testAudience}, SigningKey: testKey(t, "ES256"), Logins: tc, Users: memstore.NewUsers()}
			if _, err := tollgate.New(cfg); err == nil {
				t.Errorf("New(Logins: %+v) succeeded, want an error", tc)
			}
		}
	})
}

// TestLoginThrottleClientIP checks where the client address comes from: the
// connection, unless the service names a proxy header it trusts.
func TestLoginThrottleClientIP(t *testing.T) {
	const proxy = "10.0.0.1:5555" // the reverse proxy's own address
	t.Run("a client-sent X-Forwarded-For is ignored by default", func(t *testing.T) {
		f := newFixture(t, "", func(c *tollgate.Config) { c.Logins = tollgate.LoginLimits{FailuresPerIP: 3} })
		for i := range 3 {
			wantStatus(t, "spray", f.loginFrom(proxy, "u", "x", "X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i)), 400)
		}
		wantThrottled(t, f.loginFrom(proxy, "bob", "builder", "X-Forwarded-For", "203.0.113.99"), (15 * time.Minute))
	})
	t.Run("trusted header: the right-most address counts, spoofed ones on the left do not", func(t *testing.T) {
		f := newFixture(t, "", func(c *tollgate.Config) {
			c.Logins = tollgate.LoginLimits{FailuresPerIP: 3, TrustedProxyHeader: "x-forwarded-for"}
		})
		for i := range 3 {
			// The attacker varies the part it controls; the proxy appends
			// the real address.
			xff := fmt.Sprintf("192.0.2.%d, 203.0.113.5", i)
			wantStatus(t, "spray", f.loginFrom(proxy, fmt.Sprintf("u%d", i), "x", "X-Forwarded-For", xff), 400)
		}
		wantThrottled(t, f.loginFrom(proxy, "bob", "builder", "X-Forwarded-For", "198.18.0.1, 203.0.113.5"), (15 * time.Minute))
		// Several header lines: the last line's last element.
		wantThrottled(t, f.loginFrom(proxy, "bob", "builder", "X-Forwarded-For", "198.18.0.1", "X-Forwarded-For", "203.0.113.5"), (15 * time.Minute))
		wantStatus(t, "another client behind the proxy", f.loginFrom(proxy, "bob", "builder", "X-Forwarded-For", "203.0.113.6"), 200)
		// No usable header: the connection's address.
		wantStatus(t, "no header", f.loginFrom(proxy, "bob", "builder"), 200)
		wantStatus(t, "garbage header", f.loginFrom(proxy, "bob", "builder", "X-Forwarded-For", "not-an-ip"), 200)
	})
}

// within receives from ch, failing the test instead of hanging when a
// defence that should answer at once lets the request block. The bound is
// a safety net, not a measurement.
func within[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: no answer after 30s; it is blocked", what)
		panic("unreachable")
	}
}

// gateHasher wraps a fixture's fastHasher: Verify announces itself on
// entered and then waits for release to be closed.
type gateHasher struct {
	inner   tollgate.PasswordHasher
	entered chan struct{}
	release chan struct{}
	calls   atomic.Int64
	active  atomic.Int64
	peak    atomic.Int64
}

func newGateHasher() *gateHasher {
	return &gateHasher{entered: make(chan struct{}, 1000), release: make(chan struct{})}
}

// newGateFixture is a fixture whose hasher is g in front of a fastHasher
// (whose hashes are deterministic, so the fixture's users still match).
func newGateFixture(t *testing.T, g *gateHasher, mutate func(*tollgate.Config)) *fixture {
	t.Helper()
	g.inner = &fastHasher{}
	return newFixture(t, "", func(c *tollgate.Config) {
		c.Hasher = g
		if mutate != nil {
			mutate(c)
		}
	})
}

func (g *gateHasher) Hash(p string) ([]byte, error) { return g.inner.Hash(p) }
func (g *gateHasher) NeedsRehash(h []byte) bool     { return g.inner.NeedsRehash(h) }
func (g *gateHasher) Verify(h []byte, p string) (bool, error) {
	g.calls.Add(1)
	n := g.active.Add(1)
	defer g.active.Add(-1)
	for {
		old := g.peak.Load()
		if n <= old || g.peak.CompareAndSwap(old, n) {
			break
		}
	}
	g.entered <- struct{}{}
	<-g.release
	return g.inner.Verify(h, p)
}

// TestHashConcurrencyBound shows the overload defence: when every hashing
// slot is taken, a login waits at most HashQueueWait and is then answered
// 503 with Retry-After, instead of queueing without bound.
func TestHashConcurrencyBound(t *testing.T) {
	for _, tc := range []struct{ name, user string }{
		{"known user", "bob"},
		{"unknown user (the dummy hash goes through the same bound)", "nobody"},
	} {
		t.Run("short wait: "+tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			gate := newGateHasher()
			f := newGateFixture(t, gate, func(c *tollgate.Config) {
				c.Logins.ConcurrentHashes = 1
				c.Logins.HashQueueWait = time.Millisecond
				c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			})
			first := make(chan int)
			go func() { first <- f.loginFrom("198.51.100.1:1", "alice", "wonderland").Code }()
			<-gate.entered

			before := gate.calls.Load()
			recs := make(chan *httptest.ResponseRecorder, 1)
			go func() { recs <- f.loginFrom("198.51.100.2:1", tc.user, "whatever") }()
			rec := within(t, recs, "the second login")
			wantStatus(t, "second login", rec, http.StatusServiceUnavailable)
			if ra := rec.Header().Get("Retry-After"); ra != "1" {
				t.Errorf("Retry-After = %q, want 1", ra)
			}
			if e := decodeToken(t, rec).Error; e != "temporarily_unavailable" {
				t.Errorf("error = %q, want temporarily_unavailable", e)
			}
			if gate.calls.Load() != before {
				t.Error("the shed login ran a hash")
			}
			if ev := f.events.Of(audit.LoginThrottled); len(ev) != 1 || ev[0].Reason != "overloaded" {
				t.Errorf("events = %+v, want one login_throttled/overloaded", ev)
			}
			if logs.Len() != 0 {
				t.Errorf("load shedding was logged as a server error: %s", logs.String())
			}

			close(gate.release)
			if c := <-first; c != 200 {
				t.Errorf("first login: status %d, want 200", c)
			}
			// The slot is free again, and the shed attempt was not
			// counted as a failure: bob logs in.
			wantStatus(t, "after the flood", f.loginFrom("198.51.100.2:1", "bob", "builder"), 200)
		})
	}

	t.Run("queue wait: a slot freed in time is taken, else 503 after the wait", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			gate := newGateHasher()
			f := newGateFixture(t, gate, func(c *tollgate.Config) {
				c.Logins.ConcurrentHashes = 1
				c.Logins.HashQueueWait = 2 * time.Second
			})
			first := make(chan int, 1)
			go func() { first <- f.loginFrom("198.51.100.1:1", "alice", "wonderland").Code }()
			<-gate.entered
			second := make(chan *httptest.ResponseRecorder, 1)
			start := time.Now()
			go func() { second <- f.loginFrom("198.51.100.2:1", "bob", "builder") }()
			synctest.Wait() // the second login waits for the slot
			rec := <-second
			wantStatus(t, "waited too long", rec, http.StatusServiceUnavailable)
			if waited := time.Since(start); waited != 2*time.Second {
				t.Errorf("503 after %v, want after HashQueueWait (2s)", waited)
			}
			if ra := rec.Header().Get("Retry-After"); ra != "2" {
				t.Errorf("Retry-After = %q, want 2", ra)
			}

			go func() { second <- f.loginFrom("198.51.100.2:1", "bob", "builder") }()
			time.Sleep(time.Second)
			synctest.Wait()
			close(gate.release) // the first login ends within the wait
			<-gate.entered
			wantStatus(t, "slot freed in time", <-second, 200)
			if c := <-first; c != 200 {
				t.Errorf("first login: %d", c)
			}
			if p := gate.peak.Load(); p != 1 {
				t.Errorf("%d hashes ran at once, want at most 1", p)
			}
		})
	})

	t.Run("bad configuration is refused", func(t *testing.T) {
		cfg := tollgate.Config{Issuer: testIssuer, Audience: []string{testAudience}, SigningKey: testKey(t, "ES256"), Users: memstore.NewUsers(), Logins: tollgate.LoginLimits{ConcurrentHashes: -1}}
		if _, err := tollgate.New(cfg); err == nil {
			t.Error("New(Logins.ConcurrentHashes: -1) succeeded, want an error")
		}
	})
}

// TestSuccessfulLoginsBounded: holding an account does not buy the
// hashing slots. Successful logins are bounded per username and per
// address (their own, higher limits): two accounts looping successful
// logins from one address get 429 like guessers, and other users on
// other addresses are not affected.
func TestSuccessfulLoginsBounded(t *testing.T) {
	const ipA = "198.51.100.50:1"
	f := newFixture(t, "", func(c *tollgate.Config) {
		c.Logins = tollgate.LoginLimits{SuccessesPerUsername: 5, SuccessesPerIP: 8}
	})
	for range 5 {
		wantStatus(t, "alice", f.loginFrom(ipA, "alice", "wonderland"), 200)
	}
	wantThrottled(t, f.loginFrom(ipA, "alice", "wonderland"), 15*time.Minute)
	for range 3 {
		wantStatus(t, "bob", f.loginFrom(ipA, "bob", "builder"), 200)
	}
	// The address is at its limit: bob is refused there, not elsewhere.
	wantThrottled(t, f.loginFrom(ipA, "bob", "builder"), 15*time.Minute)
	wantStatus(t, "bob elsewhere", f.loginFrom("203.0.113.77:1", "bob", "builder"), 200)
	wantStatus(t, "carol elsewhere", f.loginFrom("203.0.113.78:1", "carol", "admin-pass-123"), 200)
	if ev := f.events.Of(audit.LoginThrottled); len(ev) != 2 {
		t.Errorf("%d login_throttled events, want 2", len(ev))
	}
}

// TestShedLoginCounts: a login shed for want of a hashing slot (503)
// costs its address a failure, as a checked one does; otherwise a flood
// that is shed never reaches the per-address limit.
func TestShedLoginCounts(t *testing.T) {
	gate := newGateHasher()
	f := newGateFixture(t, gate, func(c *tollgate.Config) {
		c.Logins.ConcurrentHashes = 1
		c.Logins.HashQueueWait = time.Millisecond
		c.Logins.FailuresPerIP = 3
	})
	first := make(chan int)
	go func() { first <- f.loginFrom("198.51.100.1:1", "alice", "wonderland").Code }()
	<-gate.entered
	for i := range 3 {
		wantStatus(t, fmt.Sprint("shed ", i), f.loginFrom("198.51.100.2:1", fmt.Sprint("ghost-", i), "x"), http.StatusServiceUnavailable)
	}
	wantThrottled(t, f.loginFrom("198.51.100.2:1", "ghost-4", "x"), 15*time.Minute)
	close(gate.release)
	if c := <-first; c != 200 {
		t.Errorf("first login: %d", c)
	}
}

// TestLockoutNotFreeDoS: the per-username lockout is not a free denial of
// service (OWASP Authentication Cheat Sheet, "Account Lockout"). An
// attacker who knows alice's username locks it from many addresses; alice
// still logs in from the address she logged in from before, while a new
// address stays locked for the window (the documented residual).
func TestLockoutNotFreeDoS(t *testing.T) {
	const home = "198.51.100.7:1"
	f := newFixture(t, "", nil)
	wantStatus(t, "alice at home", f.loginFrom(home, "alice", "wonderland"), 200)
	for i := range 10 {
		wantStatus(t, "attacker", f.loginFrom(fmt.Sprintf("203.0.113.%d:1", i), "alice", "guess"), 400)
	}
	wantThrottled(t, f.loginFrom("203.0.113.50:1", "alice", "guess"), 15*time.Minute)
	wantThrottled(t, f.loginFrom("192.0.2.200:1", "alice", "wonderland"), 15*time.Minute) // a new address
	wantStatus(t, "alice at home, during the lockout", f.loginFrom(home, "alice", "wonderland"), 200)
	// The attacker cannot use alice's known address from elsewhere, and
	// at that address gets the address's own budget only.
	wantThrottled(t, f.loginFrom("203.0.113.51:1", "alice", "guess"), 15*time.Minute)
}
