package tollgate

// The access token itself (RFC 9068): what tollgate issues, and the one
// issuing path every login goes through (Issue), with the service's own
// claims. Verification is in verify.go; the JSON writer in internal/jose.

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tollgate-go/tollgate/audit"
	"github.com/tollgate-go/tollgate/internal/jose"
)

// A Token is the answer to a login: the RFC 6749 §5.1 response that
// [Authenticator.TokenHandler] writes. encoding/json writes exactly its
// members; an endpoint of the service's own that sends it must also set
// Cache-Control: no-store (RFC 6749 §5.1).
type Token struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"` // "Bearer"
	ExpiresIn    int64  `json:"expires_in"` // seconds
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope"` // the granted scopes, space-separated

	refreshTTL time.Duration // the refresh token's lifetime, for its cookie
}

// maxExtraClaimsBytes bounds the JSON of Config.Claims' claims, so that
// every token stays well within maxTokenBytes.
const maxExtraClaimsBytes = 4096

// reservedClaims are the claims Config.Claims may not set: the registered
// claims of RFC 7519 §4.1 and those tollgate writes or checks (RFC 9068
// §2.2, §4).
var reservedClaims = map[string]bool{
	"iss": true, "sub": true, "aud": true, "exp": true, "nbf": true, "iat": true, "jti": true,
	"scope": true, "client_id": true, "typ": true, "preferred_username": true, "sid": true,
}

// reservedClaim reports whether name is, or folds to, a reserved claim:
// encoding/json matches names case-insensitively (with Unicode folding),
// so "SUB" or "ſcope" would reach a handler's Sub or Scope field.
func reservedClaim(name string) bool {
	if reservedClaims[name] {
		return true
	}
	for r := range reservedClaims {
		if strings.EqualFold(r, name) {
			return true
		}
	}
	return false
}

// errCannotIssue is Issue's answer on an Authenticator without a signing
// key.
var errCannotIssue = errors.New("tollgate: Issue needs Config.SigningKey: this Authenticator only verifies")

// grantee is who a token is issued to.
type grantee struct {
	subject, username, clientID string
	aud                         []string // nil: Config.Audience
}

// Issue issues tokens to u, a user the service has authenticated by
// itself (its own login form, a passkey, a login with another provider):
// the answer [Authenticator.TokenHandler] gives to a password login, with
// the same rules and events. r is the request of that login; its context
// and address go to the events.
//
// clientID names the client the tokens are for; "" is the first-party
// client "tollgate". Config.Clients must know it. With scopes nil, the
// tokens grant every registered scope the user holds; otherwise exactly
// scopes (each once; an empty list grants none), each of which must be
// registered and held by the user (ErrInvalidScope otherwise). A disabled
// user gets ErrInvalidGrant; a user without ID and Username, or whose ID
// or Username breaks the token endpoint's parameter rules (UTF-8, no
// control characters, at most 1 KiB), is refused. A refresh token is
// issued when Config.Refresh is set; its refresh grant looks the user up
// by Username in Config.Users. Issue and the password grant of
// TokenHandler share one issuing path after their own checks.
//
// Errors that are *Error values say how to answer the client; any other
// is a server fault. Issue fails on an Authenticator without a signing
// key.
func (a *Authenticator) Issue(r *http.Request, u *User, clientID string, scopes []string) (*Token, error) {
	switch {
	case a.ring().signing == nil:
		return nil, errCannotIssue
	case r == nil:
		return nil, errors.New("tollgate: Issue: nil request")
	case u == nil:
		return nil, errors.New("tollgate: Issue: nil user")
	}
	if err := checkIdentity(u); err != nil {
		return nil, err
	}
	cl, err := a.lookupClient(r.Context(), clientID, false)
	if err != nil {
		return nil, err
	}
	if !cl.allows("password") {
		// The service authenticated the user: a login like the password
		// grant's, for a client that may log users in.
		return nil, kindUnauthorizedClient.new("The client may not log users in", nil)
	}
	id := cl.id
	if scopes != nil {
		// Registered scope-tokens (RFC 6749 §3.3), each granted once.
		want := make([]string, 0, len(scopes))
		for _, s := range scopes {
			if _, ok := a.scopes[s]; !ok {
				return nil, kindInvalidScope.new("Unknown scope '"+safeScope(s)+"'", nil)
			}
			if !slices.Contains(want, s) {
				want = append(want, s)
			}
		}
		scopes = want
	}
	if u.Disabled {
		a.emit(r.Context(), r, audit.Event{Type: audit.LoginFailed, Reason: audit.UserDisabled, Subject: u.subject(), Username: u.Username, ClientID: id})
		return nil, kindInvalidGrant.new("The user is disabled", errUserDisabled)
	}
	return a.issue(r, u, cl, scopes)
}

// checkIdentity refuses a user whose ID or Username could not be the
// subject of a token: a subject is required (RFC 9068 §2.2), and both
// follow the rules of the token endpoint's parameters (valid UTF-8, no
// control characters, at most 1 KiB), so two users never share a "sub".
func checkIdentity(u *User) error {
	if u.subject() == "" {
		return errors.New("tollgate: Issue: the user has neither ID nor Username")
	}
	for _, s := range []string{u.ID, u.Username} {
		if len(s) > maxParamBytes || !utf8.ValidString(s) || hasControl(s) {
			return errors.New("tollgate: Issue: the user's ID or Username is longer than 1 KiB, not UTF-8 or has control characters")
		}
	}
	return nil
}

// errUserDisabled is the cause of Issue's refusal of a disabled user.
var errUserDisabled = errors.New("tollgate: user disabled")

// issue grants u the requested scopes (nil: every registered scope held)
// for the checked clientID, and mints the tokens: the one issuing path.
func (a *Authenticator) issue(r *http.Request, u *User, cl caller, requested []string) (*Token, error) {
	ctx := r.Context()
	clientID := cl.id
	if u.subject() == clientID {
		// RFC 9068 §2.2: a token whose subject is its client is the
		// client's own (Principal.Client); no user may pass for one.
		return nil, kindInvalidGrant.new("The user and the client share an identifier", errors.New("tollgate: user subject equals client id"))
	}
	held := cl.bound(a.grantable(ctx, r, u))
	granted := held
	if requested != nil {
		// RFC 6749 §3.3: never more than asked, never more than held.
		if !hasAll(held, requested) {
			a.emit(ctx, r, audit.Event{Type: audit.LoginFailed, Reason: audit.ScopeNotHeld, Subject: u.subject(), Username: u.Username, ClientID: clientID})
			return nil, kindInvalidScope.new("The user does not hold every requested scope", nil)
		}
		granted = requested
	}
	aud, err := a.audience(cl)
	if err != nil {
		return nil, err
	}
	g := grantee{subject: u.subject(), username: u.Username, clientID: clientID, aud: aud}
	tok, next, err := a.prepare(ctx, nil, refreshHandle{}, g, granted, u)
	if err != nil {
		return nil, err
	}
	if next != nil {
		revoked, err := a.cfg.Refresh.Create(ctx, *next, a.cfg.RefreshMaxSessions)
		if err != nil {
			return nil, storeFailed(err)
		}
		for _, f := range revoked {
			// Past the user's bound on sessions: the oldest ends.
			a.emit(ctx, r, audit.Event{Type: audit.TokenRevoked, Reason: audit.TooManySessions, Subject: f.Subject, Username: f.Username, ClientID: f.ClientID, Family: f.ID})
			if err := a.familyRevoked(ctx, r, f, audit.TooManySessions); err != nil {
				return nil, err
			}
		}
	}
	a.emit(ctx, r, audit.Event{Type: audit.LoginSucceeded, Subject: g.subject, Username: g.username, ClientID: clientID})
	return tok, nil
}

// grantable returns the registered scopes u holds, in u's order, and
// reports the unregistered ones (audit.ScopeUnregistered, once per scope).
func (a *Authenticator) grantable(ctx context.Context, r *http.Request, u *User) []string {
	held := a.scopes.registered(u.Scopes)
	if len(held) == len(u.Scopes) {
		return held
	}
	for _, s := range u.Scopes {
		if _, ok := a.scopes[s]; ok {
			continue
		}
		a.reportMu.Lock()
		seen := a.reported[s] || len(a.reported) >= maxReportedScopes
		if !seen {
			a.reported[s] = true
		}
		a.reportMu.Unlock()
		if seen {
			continue
		}
		a.cfg.Logger.WarnContext(ctx, "tollgate: a user holds a scope that is not in Config.Scopes; it is never granted", "scope", safeScope(s), "sub", u.subject())
		a.emit(ctx, r, audit.Event{Type: audit.ScopeUnregistered, Subject: u.subject(), Username: u.Username, Scope: safeScope(s)})
	}
	return held
}

// maxReportedScopes bounds the unregistered scopes remembered as reported.
const maxReportedScopes = 1024

// safeScope returns s if it is a scope-token short enough to echo, or a
// placeholder.
func safeScope(s string) string {
	if len(s) > 64 || !validScopeToken(s) {
		return "(invalid)"
	}
	return s
}

// prepare mints an access token for scopes and, with a RefreshStore,
// makes (but does not store) the refresh-token family record that goes
// with it: parent's successor, in the family of handle h, or a new family
// when parent is nil. u is the user, for Config.Claims.
func (a *Authenticator) prepare(ctx context.Context, parent *RefreshFamily, h refreshHandle, g grantee, scopes []string, u *User) (*Token, *RefreshFamily, error) {
	now := a.now()
	scope := formatScope(scopes)
	var refresh, sid string
	var next *RefreshFamily
	if a.cfg.Refresh != nil {
		if parent == nil {
			h = newHandle()
		}
		refresh, next = a.newRefresh(parent, h, g, scopes, now)
		if a.cfg.Denylist != nil {
			// The access token names its family, so that revoking the
			// family denies it (one denylist entry per family).
			sid = next.ID
		}
	}
	extra, err := a.extraClaims(ctx, u)
	if err != nil {
		return nil, nil, err
	}
	access, exp, err := a.mint(g, scope, sid, extra, now)
	if err != nil {
		return nil, nil, err
	}
	tok := &Token{
		AccessToken:  access,
		TokenType:    "Bearer",
		ExpiresIn:    int64(exp.Sub(now.Truncate(time.Second)).Seconds()),
		RefreshToken: refresh,
		Scope:        scope,
	}
	if next != nil {
		tok.refreshTTL = next.ExpiresAt.Sub(now)
	}
	return tok, next, nil
}

// extraClaims returns the members Config.Claims adds for u, as JSON
// ("name":value pairs without the braces), or nil.
func (a *Authenticator) extraClaims(ctx context.Context, u *User) ([]byte, error) {
	if a.cfg.Claims == nil {
		return nil, nil
	}
	m, err := a.cfg.Claims(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("tollgate: Config.Claims: %w", err)
	}
	return encodeClaims(m)
}

// encodeClaims returns the JSON members of claims of the service's own
// (Config.Claims), checked: no reserved claim, names UTF-8 without
// control characters, at most maxExtraClaimsBytes.
func encodeClaims(m map[string]any) ([]byte, error) {
	if len(m) == 0 {
		return nil, nil
	}
	for name := range m {
		if reservedClaim(name) {
			return nil, fmt.Errorf("tollgate: Config.Claims returned the claim %q, which is tollgate's to set", name)
		}
		if name == "" || !utf8.ValidString(name) || hasControl(name) {
			return nil, fmt.Errorf("tollgate: Config.Claims returned a claim name that is empty, not UTF-8 or has control characters: %q", name)
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("tollgate: Config.Claims: %w", err)
	}
	if len(b)-2 > maxExtraClaimsBytes {
		return nil, fmt.Errorf("tollgate: Config.Claims returned %d bytes of claims; at most %d fit in a token", len(b)-2, maxExtraClaimsBytes)
	}
	return b[1 : len(b)-1], nil
}

// errTokenTooLarge is the issue-time error for a token longer than
// tollgate would verify.
var errTokenTooLarge = fmt.Errorf("tollgate: the access token would be longer than %d bytes, more than tollgate verifies; issue fewer scopes or claims", maxTokenBytes)

// mint signs an access token (RFC 9068) with the signing key; sid, if not
// empty, is its refresh-token family.
func (a *Authenticator) mint(g grantee, scope, sid string, extra []byte, now time.Time) (token string, exp time.Time, err error) {
	return a.mintAt(g, scope, sid, extra, now, now.Add(a.cfg.AccessTTL))
}

// mintAt is mint with the token's "iat" (now) and "exp" given: the test
// kit's tokens, expired or not yet valid (kit.go).
func (a *Authenticator) mintAt(g grantee, scope, sid string, extra []byte, now, exp time.Time) (token string, _ time.Time, err error) {
	k := a.ring().signing
	aud := a.cfg.Audience
	if g.aud != nil {
		aud = g.aud
	}
	// The "jti": 128 random bits, base64url, in a stack buffer (the
	// claims are copied into the token, so no string need outlive mint).
	var rnd [16]byte
	var jtiBuf [22]byte
	_, _ = rand.Read(rnd[:]) // crypto/rand.Read never fails (Go 1.24+)
	base64.RawURLEncoding.Encode(jtiBuf[:], rnd[:])
	c := jose.Claims{
		Iss:      a.cfg.Issuer,
		Sub:      g.subject,
		Aud:      aud,
		Exp:      jose.NumericDate{Time: exp},
		Iat:      jose.NumericDate{Time: now},
		Jti:      string(jtiBuf[:]),
		ClientID: g.clientID,
		Scope:    scope,
		Sid:      sid,
	}
	if g.username != g.subject {
		c.Username = g.username
	}
	var pbuf [512]byte
	payload := jose.AppendClaims(pbuf[:0], &c, extra)
	enc := base64.RawURLEncoding
	size := len(k.hdr) + 1 + enc.EncodedLen(len(payload)) + 1 + enc.EncodedLen(k.sigSize())
	if size > maxTokenBytes {
		return "", time.Time{}, errTokenTooLarge
	}
	// Sized for the token exactly: a larger buffer costs more in
	// allocation and cache misses than the signature.
	buf := make([]byte, 0, size)
	buf = append(buf, k.hdr...)
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, payload)
	if k.mac != nil {
		var sum [32]byte
		mac := k.mac.Append(sum[:0], buf)
		buf = append(buf, '.')
		buf = enc.AppendEncode(buf, mac)
	} else {
		sig, err := k.sign(buf)
		if err != nil {
			return "", time.Time{}, fmt.Errorf("tollgate: signing access token: %w", err)
		}
		buf = append(buf, '.')
		buf = enc.AppendEncode(buf, sig)
	}
	// buf is never written again: the token can share its bytes.
	return jose.String(buf), time.Unix(exp.Unix(), 0), nil
}
