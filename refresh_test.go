package tollgate_test

// Refresh tokens and revocation, end to end through /token and /revoke:
// RFC 6749 §6 (refreshing), RFC 9700 §4.14.2 (rotation and reuse
// detection), RFC 7009 §2.1/§2.2 (revocation).

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tollgate-go/tollgate"
	"github.com/tollgate-go/tollgate/audit"
)

// rtHash is how tollgate stores a refresh token: base64url(SHA-256(token)),
// as documented on RefreshToken.Hash.
func rtHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// rtMust refreshes token and fails the test unless it succeeds.
func rtMust(t testing.TB, f *fixture, token string, scope ...string) tokenJSON {
	t.Helper()
	rec := f.refreshWith(token, scope...)
	if rec.Code != http.StatusOK {
		tj := decodeToken(t, rec)
		t.Fatalf("refresh: status %d, error %q (%s), want 200", rec.Code, tj.Error, tj.Description)
	}
	tj := decodeToken(t, rec)
	if tj.RefreshToken == "" || tj.AccessToken == "" {
		t.Fatalf("refresh: 200 without an access and a refresh token")
	}
	return tj
}

// rtWantError checks an RFC 6749 §5.2 error answer with the given status
// and code. It prints the error fields only, never a token.
func rtWantError(t testing.TB, rec *httptest.ResponseRecorder, status int, code, what string) {
	t.Helper()
	if rec.Code == http.StatusOK {
		t.Errorf("%s: status 200, want %d %s", what, status, code)
		return
	}
	tj := decodeToken(t, rec)
	if rec.Code != status || tj.Error != code {
		t.Errorf("%s: %d %q (%s), want %d %q", what, rec.Code, tj.Error, tj.Description, status, code)
	}
	if tj.AccessToken != "" || tj.RefreshToken != "" {
		t.Errorf("%s: error answer carries a token", what)
	}
}

// rtInvalid checks that refreshing with token is refused as invalid_grant.
func rtInvalid(t testing.TB, f *fixture, token, what string) {
	t.Helper()
	rtWantError(t, f.refreshWith(token), http.StatusBadRequest, "invalid_grant", what)
}

// rtRevoke posts token to /revoke with the extra form pairs.
func rtRevoke(f *fixture, token string, extra ...string) *httptest.ResponseRecorder {
	form := url.Values{"token": {token}}
	for i := 0; i+1 < len(extra); i += 2 {
		form.Set(extra[i], extra[i+1])
	}
	return f.post("/revoke", form)
}

// rtStored returns the store's record of token's family.
func rtStored(t testing.TB, f *fixture, token string) tollgate.RefreshFamily {
	t.Helper()
	rt, err := f.refresh.Lookup(context.Background(), tollgate.RefreshFamilyID(token))
	if err != nil {
		t.Fatalf("RefreshStore.Lookup(family of token) = %v, want the record", err)
	}
	return rt
}

func TestRFC6749_6_RotationSpendsOldToken(t *testing.T) {
	f := newFixture(t, "", nil)
	rt1 := f.login(t, "alice", "wonderland").RefreshToken

	rec := f.refreshWith(rt1)
	if rec.Code != http.StatusOK {
		t.Fatalf("refresh: status %d, want 200", rec.Code)
	}
	for h, want := range map[string]string{"Cache-Control": "no-store", "Pragma": "no-cache"} {
		if got := rec.Header().Get(h); got != want {
			t.Errorf("RFC 6749 §5.1: refresh answer %s = %q, want %q", h, got, want)
		}
	}
	tj := decodeToken(t, rec)
	if tj.TokenType != "Bearer" || tj.ExpiresIn <= 0 || tj.Scope != "me items:read items:write" {
		t.Errorf("refresh answer: token_type %q, expires_in %d, scope %q; want Bearer, > 0, the login's scope", tj.TokenType, tj.ExpiresIn, tj.Scope)
	}
	rt2 := tj.RefreshToken
	if rt2 == rt1 {
		t.Fatalf("RFC 9700 §4.14.2: the refresh returned the same refresh token; want a new one (rotation)")
	}
	if got := f.get("/items", "Bearer "+tj.AccessToken); got.Code != http.StatusOK {
		t.Errorf("access token from the refresh: GET /items = %d, want 200", got.Code)
	}

	cur := rtStored(t, f, rt2)
	if cur.PrevHash != rtHash(rt1) || cur.PrevUsedAt.IsZero() {
		t.Errorf("the presented token is not recorded as spent in the store")
	}
	if cur.Hash != rtHash(rt2) || cur.Rotations != 1 {
		t.Errorf("the new token is not the family's current one (Rotations %d)", cur.Rotations)
	}
	if cur.ID == "" || tollgate.RefreshFamilyID(rt1) != cur.ID {
		t.Errorf("new token's family %q, old token's %q: rotation keeps the family", cur.ID, tollgate.RefreshFamilyID(rt1))
	}
	if !cur.FamilyExpiresAt.Equal(cur.CreatedAt.Add(90 * 24 * time.Hour)) {
		t.Errorf("rotation moved FamilyExpiresAt to %v: the family's lifetime is absolute", cur.FamilyExpiresAt)
	}
	if ev := f.events.Of(audit.RefreshRotated); len(ev) != 1 || ev[0].Family != cur.ID || ev[0].Subject != "alice" {
		t.Errorf("events %+v, want one refresh_rotated for alice's family", ev)
	}

	rt3 := rtMust(t, f, rt2).RefreshToken
	if rtStored(t, f, rt3).ID != cur.ID {
		t.Errorf("second rotation left the family")
	}
}

// TestRFC9700_4_14_2_ReuseRevokesFamily is the stolen-token scenario: an
// attacker replays a refresh token first, the legitimate client presents
// it later; the reuse revokes the whole family, so the attacker's fresh
// token dies too.
func TestRFC9700_4_14_2_ReuseRevokesFamily(t *testing.T) {
	for _, tc := range []struct {
		name   string
		replay func(rts []string) string // which spent token comes back
	}{
		{"RFC9700 §4.14.2 the first token replayed after two rotations", func(rts []string) string { return rts[0] }},
		{"RFC9700 §4.14.2 the previous token replayed", func(rts []string) string { return rts[len(rts)-2] }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, "", nil)
			rts := []string{f.login(t, "alice", "wonderland").RefreshToken}
			for range 2 {
				rts = append(rts, rtMust(t, f, rts[len(rts)-1]).RefreshToken)
			}
			family := rtStored(t, f, rts[0]).ID

			rtInvalid(t, f, tc.replay(rts), "replayed spent token")
			ev := f.events.Of(audit.RefreshReused)
			if len(ev) != 1 || ev[0].Family != family || ev[0].Subject != "alice" || ev[0].ClientID != "tollgate" {
				t.Errorf("events %+v, want one refresh_reused naming alice, the client and the family", ev)
			}
			for i, rt := range rts {
				rtInvalid(t, f, rt, "token of the revoked family")
				if _, err := f.refresh.Lookup(context.Background(), tollgate.RefreshFamilyID(rt)); !errors.Is(err, tollgate.ErrNotFound) {
					t.Errorf("token #%d of the revoked family: store Lookup = %v, want ErrNotFound", i, err)
				}
			}
			// Another login is a new family, untouched.
			rtMust(t, f, f.login(t, "alice", "wonderland").RefreshToken)
		})
	}
}

// TestRFC6749_6_FailedRefreshDoesNotSpend: every check that can fail runs
// before the token is spent, so a client whose request was refused (or
// golang.org/x/oauth2 retrying with other client credentials) still holds
// a working token.
func TestRFC6749_6_FailedRefreshDoesNotSpend(t *testing.T) {
	for _, tc := range []struct {
		name    string
		extra   url.Values
		before  func(f *fixture)
		after   func(f *fixture)
		status  int
		code    string
		loginSc []string
	}{
		{name: "RFC6749 §6 scope wider than the original grant", loginSc: []string{"me"},
			extra: url.Values{"scope": {"me items:read"}}, status: 400, code: "invalid_scope"},
		{name: "RFC6749 §6 scope the user holds but the grant lacks", loginSc: []string{"me", "items:read"},
			extra: url.Values{"scope": {"items:write"}}, status: 400, code: "invalid_scope"},
		{name: "RFC6749 §3.3 unregistered scope",
			extra: url.Values{"scope": {"root"}}, status: 400, code: "invalid_scope"},
		{name: "RFC6749 §3.3 malformed scope",
			extra: url.Values{"scope": {"me  items:read"}}, status: 400, code: "invalid_scope"},
		{name: "RFC6749 §6 token issued to another client",
			extra: url.Values{"client_id": {"other-app"}}, status: 400, code: "invalid_grant"},
		{name: "RFC6749 §2.3.1 client secret from a public client",
			extra: url.Values{"client_id": {"tollgate"}, "client_secret": {"s3cret"}}, status: 401, code: "invalid_client"},
		{name: "disabled user",
			before: func(f *fixture) { f.users.SetDisabled("alice", true) },
			after:  func(f *fixture) { f.users.SetDisabled("alice", false) },
			status: 400, code: "invalid_grant"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, "", nil)
			rt := f.login(t, "alice", "wonderland", tc.loginSc...).RefreshToken
			if tc.before != nil {
				tc.before(f)
			}
			form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
			for k, v := range tc.extra {
				form[k] = v
			}
			rtWantError(t, f.post("/token", form), tc.status, tc.code, "refused refresh")
			if tc.after != nil {
				tc.after(f)
			}
			if st := rtStored(t, f, rt); st.Hash != rtHash(rt) || st.Rotations != 0 {
				t.Errorf("the refused request spent the token")
			}
			rtMust(t, f, rt) // still works afterwards
			if ev := f.events.Of(audit.RefreshReused); len(ev) != 0 {
				t.Errorf("a refused request counted as reuse: %+v", ev)
			}
		})
	}
}

func TestRFC6749_6_Scope(t *testing.T) {
	t.Run("RFC6749 §6 omitted scope keeps the original grant", func(t *testing.T) {
		f := newFixture(t, "", nil)
		rt := f.login(t, "alice", "wonderland", "items:read", "me").RefreshToken
		tj := rtMust(t, f, rt)
		if tj.Scope != "items:read me" {
			t.Errorf("refresh without scope granted %q, want the login's %q", tj.Scope, "items:read me")
		}
		if got := f.get("/items", "Bearer "+tj.AccessToken); got.Code != http.StatusOK {
			t.Errorf("GET /items = %d, want 200", got.Code)
		}
		if got := f.get("/admin/users", "Bearer "+tj.AccessToken); got.Code != http.StatusForbidden {
			t.Errorf("GET /admin/users = %d, want 403 (not in the grant)", got.Code)
		}
	})

	t.Run("RFC6749 §6 scope narrows the access token only", func(t *testing.T) {
		f := newFixture(t, "", nil)
		rt1 := f.login(t, "alice", "wonderland").RefreshToken
		narrow := rtMust(t, f, rt1, "items:read")
		if narrow.Scope != "items:read" {
			t.Fatalf("narrowed refresh granted %q, want %q", narrow.Scope, "items:read")
		}
		if got := f.get("/items", "Bearer "+narrow.AccessToken); got.Code != http.StatusOK {
			t.Errorf("narrowed token: GET /items = %d, want 200", got.Code)
		}
		for _, path := range []string{"/users/me"} {
			if got := f.get(path, "Bearer "+narrow.AccessToken); got.Code != http.StatusForbidden {
				t.Errorf("narrowed token: GET %s = %d, want 403", path, got.Code)
			}
		}
		// "If a new refresh token is issued, the refresh token scope MUST
		// be identical to that of the refresh token included by the
		// client in the request."
		if got := rtStored(t, f, narrow.RefreshToken).Scopes; strings.Join(got, " ") != "me items:read items:write" {
			t.Errorf("the new refresh token's scope is %q, want the presented token's %q", got, "me items:read items:write")
		}
		full := rtMust(t, f, narrow.RefreshToken)
		if full.Scope != "me items:read items:write" {
			t.Errorf("refresh without scope after a narrowed one granted %q, want the original grant", full.Scope)
		}
		again := rtMust(t, f, full.RefreshToken, "me items:write")
		if again.Scope != "me items:write" {
			t.Errorf("refresh asking for another part of the grant got %q, want %q", again.Scope, "me items:write")
		}
	})

	t.Run("scopes withdrawn from the user since the login are not granted again", func(t *testing.T) {
		f := newFixture(t, "", nil)
		rt := f.login(t, "alice", "wonderland").RefreshToken
		h, _ := f.hasher.Hash("wonderland")
		f.users.Put(tollgate.User{Username: "alice", PasswordHash: h, Scopes: []string{"me", "items:read"}})
		tj := rtMust(t, f, rt)
		if tj.Scope != "me items:read" {
			t.Errorf("refresh after items:write was withdrawn granted %q, want %q", tj.Scope, "me items:read")
		}
		if got := f.get("/items", "Bearer "+tj.AccessToken); got.Code != http.StatusOK {
			t.Errorf("GET /items = %d, want 200", got.Code)
		}
	})
}

// TestRefreshInactiveUser: a disabled or deleted user's refresh tokens stop
// working, and so do they for a new account that took a deleted user's
// name.
func TestRefreshInactiveUser(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(f *fixture)
		reason string
	}{
		{"disabled", func(f *fixture) { f.users.SetDisabled("alice", true) }, "user_disabled"},
		{"deleted", func(f *fixture) { f.users.Delete("alice") }, "unknown_user"},
		{"deleted and the name reused by another account", func(f *fixture) {
			h, _ := f.hasher.Hash("wonderland")
			f.users.Put(tollgate.User{ID: "alice-2", Username: "alice", PasswordHash: h, Scopes: []string{"me"}})
		}, "unknown_user"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, "", nil)
			rt := f.login(t, "alice", "wonderland").RefreshToken
			tc.change(f)
			rtInvalid(t, f, rt, "refresh token of an inactive user")
			ev := f.events.Of(audit.RefreshRejected)
			if len(ev) != 1 || ev[0].Reason != audit.Reason(tc.reason) || ev[0].Subject != "alice" {
				t.Errorf("events %+v, want one refresh_rejected for alice with reason %q", ev, tc.reason)
			}
		})
	}
}

func TestRefreshLifetimes(t *testing.T) {
	t.Run("per-token TTL", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := newFixture(t, "", func(c *tollgate.Config) {
				c.RefreshTTL = time.Hour
				c.RefreshFamilyTTL = 10 * time.Hour
			})
			rt1 := f.login(t, "alice", "wonderland").RefreshToken
			time.Sleep(time.Hour - time.Second)
			rt2 := rtMust(t, f, rt1).RefreshToken // one second left
			time.Sleep(time.Hour)
			rtInvalid(t, f, rt2, "refresh token at its ExpiresAt")
			if ev := f.events.Of(audit.RefreshReused); len(ev) != 0 {
				t.Errorf("an expired token counted as reuse: %+v", ev)
			}
		})
	})
	t.Run("absolute family TTL", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := newFixture(t, "", func(c *tollgate.Config) {
				c.RefreshTTL = time.Hour
				c.RefreshFamilyTTL = 3 * time.Hour
			})
			start := time.Now()
			rt := f.login(t, "alice", "wonderland").RefreshToken
			for range 3 { // at 50, 100 and 150 minutes: each token well within its TTL
				time.Sleep(50 * time.Minute)
				rt = rtMust(t, f, rt).RefreshToken
			}
			time.Sleep(29 * time.Minute) // 179 minutes
			rt = rtMust(t, f, rt).RefreshToken
			stored := rtStored(t, f, rt)
			if want := start.Add(3 * time.Hour); !stored.ExpiresAt.Equal(want) || !stored.FamilyExpiresAt.Equal(want) {
				t.Errorf("token issued a minute before the family's end: ExpiresAt %v, FamilyExpiresAt %v; want both %v (rotation never extends a family)", stored.ExpiresAt, stored.FamilyExpiresAt, want)
			}
			time.Sleep(time.Minute) // 180 minutes: the token is a minute old
			rtInvalid(t, f, rt, "refresh after the family's absolute lifetime")
		})
	})
}

func TestRefreshGracePeriod(t *testing.T) {
	grace := func(c *tollgate.Config) { c.RefreshGracePeriod = 10 * time.Second }

	t.Run("a reuse within the period is honoured exactly once", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := newFixture(t, "", grace)
			rt1 := f.login(t, "alice", "wonderland").RefreshToken
			rt2 := rtMust(t, f, rt1).RefreshToken // the response the client lost
			time.Sleep(5 * time.Second)
			rt3 := rtMust(t, f, rt1).RefreshToken // the client retries
			if ev := f.events.Of(audit.RefreshGraceReuse); len(ev) != 1 || ev[0].Subject != "alice" {
				t.Errorf("events %+v, want one refresh_grace_reuse", ev)
			}
			if ev := f.events.Of(audit.RefreshReused); len(ev) != 0 {
				t.Errorf("the honoured reuse revoked the family: %+v", ev)
			}
			if got, want := rtStored(t, f, rt3).ID, tollgate.RefreshFamilyID(rt1); got != want {
				t.Errorf("the honoured reuse left the family")
			}
			rt4 := rtMust(t, f, rt3).RefreshToken

			rtInvalid(t, f, rt1, "second reuse within the grace period")
			if ev := f.events.Of(audit.RefreshReused); len(ev) != 1 {
				t.Errorf("events %+v, want one refresh_reused", ev)
			}
			for _, rt := range []string{rt2, rt3, rt4} {
				rtInvalid(t, f, rt, "token of the family revoked by the second reuse")
			}
		})
	})

	t.Run("a reuse after the period revokes the family", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := newFixture(t, "", grace)
			rt1 := f.login(t, "alice", "wonderland").RefreshToken
			rt2 := rtMust(t, f, rt1).RefreshToken
			time.Sleep(11 * time.Second)
			rtInvalid(t, f, rt1, "reuse after the grace period")
			rtInvalid(t, f, rt2, "newest token of the revoked family")
			if ev := f.events.Of(audit.RefreshGraceReuse); len(ev) != 0 {
				t.Errorf("a late reuse was honoured: %+v", ev)
			}
		})
	})

	t.Run("the period does not excuse a refused check", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := newFixture(t, "", grace)
			rt1 := f.login(t, "alice", "wonderland").RefreshToken
			rtMust(t, f, rt1)
			f.users.SetDisabled("alice", true)
			rtInvalid(t, f, rt1, "reuse within the period by a disabled user")
			if ev := f.events.Of(audit.RefreshGraceReuse); len(ev) != 0 {
				t.Errorf("reuse of a disabled user honoured: %+v", ev)
			}
		})
	})
}

// TestRefreshTokenTypeConfusion: an access token is not a refresh token
// and a refresh token is not an access token.
func TestRefreshTokenTypeConfusion(t *testing.T) {
	f := newFixture(t, "", nil)
	tj := f.login(t, "alice", "wonderland")

	rtInvalid(t, f, tj.AccessToken, "access token as refresh_token")

	rec := f.get("/items", "Bearer "+tj.RefreshToken)
	if rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Header().Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Errorf("refresh token as Bearer: %d %s, want 401 invalid_token", rec.Code, rec.Header().Get("WWW-Authenticate"))
	}
	rtMust(t, f, tj.RefreshToken) // neither attempt spent it
}

func TestRefreshMalformedToken(t *testing.T) {
	f := newFixture(t, "", nil)
	good := f.login(t, "alice", "wonderland").RefreshToken
	body := strings.TrimPrefix(good, "tgr_")
	random := make([]byte, 32)
	rand.Read(random)
	for _, tc := range []struct{ name, token string }{
		{"garbage", "garbage"},
		{"prefix only", "tgr_"},
		{"no prefix", body},
		{"other prefix", "tgx_" + body},
		{"prefix in upper case", strings.ToUpper("tgr_") + body},
		{"one character short", good[:len(good)-1]},
		{"one character long", good + "A"},
		{"padded", good + "="},
		{"standard base64 alphabet", "tgr_" + strings.Repeat("+", len(body))},
		{"leading space", " " + good[1:]},
		{"JWT shape", "a.b.c"},
		{"well-formed but never issued", "tgr_" + base64.RawURLEncoding.EncodeToString(random)},
		{"the stored hash instead of the token", rtHash(good)},
		{"the stored hash behind the prefix", "tgr_" + rtHash(good)},
	} {
		t.Run(tc.name, func(t *testing.T) { rtInvalid(t, f, tc.token, tc.name) })
	}
	rtMust(t, f, good) // no attempt touched the real token
}

// TestRFC9700_4_14_2_ConcurrentRefresh: of 32 concurrent refreshes with one
// token, exactly one spends it and gets 200: the spend and the successor
// token are one atomic store step, so no loser's revocation can land
// between them. The other 31 present a spent token, which is reuse: the
// family is revoked, and the winner's new token dies with it. None of the
// tokens works afterwards.
func TestRFC9700_4_14_2_ConcurrentRefresh(t *testing.T) {
	const n = 32
	var store *countingRefreshStore
	f := newFixture(t, "", func(c *tollgate.Config) {
		store = &countingRefreshStore{RefreshStore: c.Refresh}
		c.Refresh = store
	})
	rt := f.login(t, "alice", "wonderland").RefreshToken

	recs := make([]*httptest.ResponseRecorder, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			recs[i] = f.refreshWith(rt)
		})
	}
	close(start)
	wg.Wait()

	if got := store.consumed.Load(); got != 1 {
		t.Errorf("%d of %d concurrent refreshes spent the token, want exactly 1 (spending is atomic)", got, n)
	}
	var issued []string
	for _, rec := range recs {
		if rec.Code == http.StatusOK {
			issued = append(issued, decodeToken(t, rec).RefreshToken)
			continue
		}
		rtWantError(t, rec, http.StatusBadRequest, "invalid_grant", "concurrent refresh")
	}
	if len(issued) != 1 {
		t.Errorf("%d of %d concurrent refreshes got 200, want exactly 1", len(issued), n)
	}
	if ev := f.events.Of(audit.RefreshReused); len(ev) == 0 {
		t.Errorf("no refresh_reused event: the losers presented a spent token")
	}
	for _, tok := range append(issued, rt) {
		rtInvalid(t, f, tok, "token of the family after concurrent reuse")
	}
}

// countingRefreshStore counts successful spends.
type countingRefreshStore struct {
	tollgate.RefreshStore
	consumed atomic.Int32
}

func (s *countingRefreshStore) Rotate(ctx context.Context, id, presented string, next *tollgate.RefreshFamily, now time.Time, grace time.Duration) (tollgate.RefreshFamily, error) {
	rt, err := s.RefreshStore.Rotate(ctx, id, presented, next, now, grace)
	if err == nil {
		s.consumed.Add(1)
	}
	return rt, err
}

// revokingRefreshStore revokes a token's family right after spending it:
// a revocation request landing in the middle of a rotation.
type revokingRefreshStore struct{ tollgate.RefreshStore }

func (s revokingRefreshStore) Rotate(ctx context.Context, id, presented string, next *tollgate.RefreshFamily, now time.Time, grace time.Duration) (tollgate.RefreshFamily, error) {
	rt, err := s.RefreshStore.Rotate(ctx, id, presented, next, now, grace)
	if err == nil {
		_, err = s.RefreshStore.Revoke(ctx, id)
	}
	return rt, err
}

func TestRFC7009_2_1_Revocation(t *testing.T) {
	t.Run("RFC7009 §2.1 revoking the newest token kills the family", func(t *testing.T) {
		f := newFixture(t, "", nil)
		rt1 := f.login(t, "alice", "wonderland").RefreshToken
		rt2 := rtMust(t, f, rt1).RefreshToken
		rec := rtRevoke(f, rt2)
		if rec.Code != http.StatusOK {
			t.Fatalf("revoke: status %d, want 200", rec.Code)
		}
		if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
			t.Errorf("revoke: Cache-Control %q, want no-store", cc)
		}
		rtInvalid(t, f, rt2, "revoked token")
		rtInvalid(t, f, rt1, "spent token of the revoked family")
		if ev := f.events.Of(audit.TokenRevoked); len(ev) != 1 || ev[0].Subject != "alice" || ev[0].Username != "alice" || ev[0].Family == "" {
			t.Errorf("events %+v, want one token_revoked for alice", ev)
		}
	})

	t.Run("RFC7009 §2.1 revoking a spent token kills the newest", func(t *testing.T) {
		f := newFixture(t, "", nil)
		rt1 := f.login(t, "alice", "wonderland").RefreshToken
		rt2 := rtMust(t, f, rt1).RefreshToken
		if rec := rtRevoke(f, rt1); rec.Code != http.StatusOK {
			t.Fatalf("revoke: status %d, want 200", rec.Code)
		}
		rtInvalid(t, f, rt2, "newest token of the revoked family")
	})

	t.Run("RFC7009 §2.1 a wrong token_type_hint does not stop the revocation", func(t *testing.T) {
		f := newFixture(t, "", nil)
		rt := f.login(t, "alice", "wonderland").RefreshToken
		if rec := rtRevoke(f, rt, "token_type_hint", "access_token"); rec.Code != http.StatusOK {
			t.Fatalf("revoke: status %d, want 200", rec.Code)
		}
		rtInvalid(t, f, rt, "revoked token")
	})

	t.Run("RFC7009 §2.1 a client cannot revoke another client's token", func(t *testing.T) {
		f := newFixture(t, "", nil)
		rt := f.login(t, "alice", "wonderland").RefreshToken
		if rec := rtRevoke(f, rt, "client_id", "other-app"); rec.Code != http.StatusOK {
			t.Errorf("revoke by another client: status %d, want 200 (as for an unknown token)", rec.Code)
		}
		rtMust(t, f, rt)
	})

	t.Run("RFC7009 §2.1 a revoked family stays revoked", func(t *testing.T) {
		f := newFixture(t, "", nil)
		rt1 := f.login(t, "alice", "wonderland").RefreshToken
		rt2 := rtMust(t, f, rt1).RefreshToken
		rtRevoke(f, rt2)
		fresh := f.login(t, "alice", "wonderland").RefreshToken // a new family
		for i := range 2 {
			if rec := rtRevoke(f, rt2); rec.Code != http.StatusOK {
				t.Errorf("revoking again #%d: status %d, want 200", i+1, rec.Code)
			}
			rtInvalid(t, f, rt2, "revoked token")
			rtInvalid(t, f, rt1, "spent token of the revoked family")
		}
		rtMust(t, f, fresh)
	})

	t.Run("RFC7009 §2.1 a revocation racing a rotation does not revive the family", func(t *testing.T) {
		// The revocation lands right after the atomic spend-and-rotate: the
		// rotation happened first, so it is answered, but the successor it
		// stored dies with the family.
		f := newFixture(t, "", func(c *tollgate.Config) { c.Refresh = revokingRefreshStore{c.Refresh} })
		rt := f.login(t, "alice", "wonderland").RefreshToken
		rec := f.refreshWith(rt)
		if rec.Code != http.StatusOK {
			t.Fatalf("rotation before the revocation: status %d, want 200", rec.Code)
		}
		rtInvalid(t, f, decodeToken(t, rec).RefreshToken, "successor of a family revoked right after the rotation")
		rtInvalid(t, f, rt, "spent token of the revoked family")
	})
}

func TestRFC7009_2_2_RevocationResponse(t *testing.T) {
	f := newFixture(t, "", nil)
	tj := f.login(t, "alice", "wonderland")
	random := make([]byte, 32)
	rand.Read(random)
	for _, tc := range []struct{ name, token string }{
		{"RFC7009 §2.2 garbage", "garbage"},
		{"RFC7009 §2.2 well-formed but unknown", "tgr_" + base64.RawURLEncoding.EncodeToString(random)},
		{"RFC7009 §2.2 an access token", tj.AccessToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if rec := rtRevoke(f, tc.token); rec.Code != http.StatusOK {
				t.Errorf("revoke: status %d, want 200", rec.Code)
			}
		})
	}
	rtMust(t, f, tj.RefreshToken) // none of those touched the real token

	t.Run("RFC7009 §2.2.1 missing token is invalid_request", func(t *testing.T) {
		rtWantError(t, f.post("/revoke", url.Values{"token_type_hint": {"refresh_token"}}), http.StatusBadRequest, "invalid_request", "revoke without token")
	})
	t.Run("RFC7009 §2.1 GET is 405 with Allow: POST", func(t *testing.T) {
		rec := f.get("/revoke")
		if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != http.MethodPost {
			t.Errorf("GET /revoke: %d, Allow %q; want 405, POST", rec.Code, rec.Header().Get("Allow"))
		}
	})
}

// TestRefreshTokenShape: refresh tokens carry a prefix for secret scanners
// and 256 bits from crypto/rand, and only their hash is stored.
func TestRefreshTokenShape(t *testing.T) {
	f := newFixture(t, "", nil)
	seen := map[string]bool{}
	for range 8 {
		rt := f.login(t, "alice", "wonderland").RefreshToken
		body, ok := strings.CutPrefix(rt, "tgr_")
		if !ok {
			t.Fatalf("refresh token does not start with %q", "tgr_")
		}
		raw, err := base64.RawURLEncoding.Strict().DecodeString(body)
		if err != nil || len(raw) < 32 {
			t.Fatalf("refresh token body: %d bytes of unpadded base64url (err %v), want at least 32 (256 bits)", len(raw), err)
		}
		if seen[rt] {
			t.Fatalf("the same refresh token was issued twice")
		}
		seen[rt] = true

		stored := rtStored(t, f, rt) // by its family: found
		if stored.Hash != rtHash(rt) || stored.Subject != "alice" {
			t.Errorf("stored record: Hash matches %v, Subject %q", stored.Hash == rtHash(rt), stored.Subject)
		}
		for _, key := range []string{rt, body} {
			if _, err := f.refresh.Lookup(context.Background(), key); !errors.Is(err, tollgate.ErrNotFound) {
				t.Errorf("the store holds the plain token: Lookup by the token itself = %v, want ErrNotFound", err)
			}
		}
	}
}
