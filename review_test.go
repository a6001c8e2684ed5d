package tollgate_test

// Regression tests of the security and correctness review: each one shows
// an attack or a protocol violation that the review found, failing.

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tollgate-go/tollgate"
	"github.com/tollgate-go/tollgate/audit"
	"github.com/tollgate-go/tollgate/memstore"
)

// TestRFC6749_6_GraceReuseByAnotherClient: RFC 6749 §6 makes the server
// check that a refresh token was issued to the client that presents it.
// The grace period (RFC 9700 §4.14.2 relaxed for lost responses) must not
// skip that check: a spent token presented by another client within the
// period is reuse, and revokes the family, rather than a new token pair for
// the wrong client.
func TestRFC6749_6_GraceReuseByAnotherClient(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, "", func(c *tollgate.Config) {
			c.RefreshGracePeriod = 10 * time.Second
			c.Clients = memstore.NewClients("other-app", "tollgate")
		})
		rt1 := f.login(t, "alice", "wonderland").RefreshToken
		rt2 := rtMust(t, f, rt1).RefreshToken
		time.Sleep(2 * time.Second)
		form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt1}, "client_id": {"other-app"}}
		rtWantError(t, f.post("/token", form), http.StatusBadRequest, "invalid_grant",
			"spent token presented by another client within the grace period")
		if ev := f.events.Of(audit.RefreshGraceReuse); len(ev) != 0 {
			t.Errorf("another client's reuse was honoured: %+v", ev)
		}
		if ev := f.events.Of(audit.RefreshReused); len(ev) != 1 {
			t.Errorf("events %+v, want one refresh_reused", ev)
		}
		rtInvalid(t, f, rt2, "successor of the family revoked by the foreign reuse")
	})
}

// TestRFC6749_5_2_ErrorDescriptionCharset: error_description "MUST NOT
// include characters outside the set %x20-21 / %x23-5B / %x5D-7E": no
// double quote, no backslash, no non-ASCII.
func TestRFC6749_5_2_ErrorDescriptionCharset(t *testing.T) {
	f := newFixture(t, "", nil)
	cases := []struct {
		name string
		body string
	}{
		{"unknown scope", "grant_type=password&username=alice&password=wonderland&scope=nosuch"},
		{"repeated parameter", "grant_type=password&username=alice&username=bob&password=x"},
		{"parameter too long", "grant_type=password&username=" + strings.Repeat("a", 2000) + "&password=x"},
		{"control character", "grant_type=password&username=a%01&password=x"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", "/token", strings.NewReader(tc.body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			rec := f.do(req)
			tj := decodeToken(t, rec)
			if rec.Code != http.StatusBadRequest || tj.Error == "" {
				t.Fatalf("status %d, error %q; want 400 with an error code", rec.Code, tj.Error)
			}
			for _, c := range []byte(tj.Description) {
				if c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
					t.Fatalf("error_description %q has %q, outside RFC 6749 §5.2's set", tj.Description, c)
				}
			}
		})
	}
}

// TestRFC7009_2_RevokeRefreshShapedTokenWithoutRefreshStore: a service
// without a RefreshStore still mounts the revocation endpoint (for access
// tokens, with a denylist); a token shaped like a refresh token must be
// answered 200 like any unknown token (RFC 7009 §2.2), not panic on the
// missing store.
func TestRFC7009_2_RevokeRefreshShapedTokenWithoutRefreshStore(t *testing.T) {
	f := newFixture(t, "", func(c *tollgate.Config) { c.Refresh = nil })
	token := "tgr_" + strings.Repeat("A", 43)
	var rec interface{ Result() *http.Response }
	func() {
		defer func() {
			if p := recover(); p != nil {
				t.Fatalf("revoking a refresh-shaped token without a RefreshStore panicked: %v", p)
			}
		}()
		rec = rtRevoke(f, token)
	}()
	if code := rec.Result().StatusCode; code != http.StatusOK {
		t.Errorf("status %d, want 200 (RFC 7009 §2.2: an unknown token is not an error)", code)
	}
}

// panicHasher panics in Verify when armed, as a broken custom hasher or a
// hash library bug would.
type panicHasher struct {
	fastHasher
	armed bool
}

func (h *panicHasher) Verify(hash []byte, p string) (bool, error) {
	if h.armed {
		panic("hasher exploded")
	}
	return h.fastHasher.Verify(hash, p)
}

// TestHashSlotReleasedOnPanicAndCancel: every path out of a password check
// gives its hashing slot back (Config.Logins.ConcurrentHashes): a panicking
// hasher (net/http recovers the panic and the server goes on) and a client
// that goes away while queued. Were a slot leaked, the logins after the
// loop would all be shed with 503.
func TestHashSlotReleasedOnPanicAndCancel(t *testing.T) {
	h := &panicHasher{}
	f := newFixture(t, "", func(c *tollgate.Config) {
		c.Hasher = h
		c.Logins.ConcurrentHashes = 1
		c.Logins = tollgate.LoginLimits{DisableThrottle: true}
	})
	h.armed = true
	for i := 0; i < 3; i++ {
		func() {
			defer func() { _ = recover() }()
			f.post("/token", url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"wonderland"}})
		}()
	}
	h.armed = false
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", "/token",
		strings.NewReader(url.Values{"grant_type": {"password"}, "username": {"bob"}, "password": {"builder"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	f.do(req) // the cancelled request takes or skips the free slot; either way it must give it back
	for i := 0; i < 3; i++ {
		f.login(t, "alice", "wonderland") // fails the test on 503
	}
}
