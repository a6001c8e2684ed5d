package tollgate

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tollgate-go/tollgate/audit"
	"github.com/tollgate-go/tollgate/internal/jose"
)

// refreshTokenPrefix starts every refresh token tollgate issues ("tgr_"),
// so that secret scanners can recognise a leaked one, and so that a
// refresh token is never mistaken for an access token or the other way
// round.
const refreshTokenPrefix = "tgr_"

// refreshSecretBytes is the entropy of a refresh token: 256 bits.
const refreshSecretBytes = 32

// refreshTokenLen is the exact length of a refresh token.
var refreshTokenLen = len(refreshTokenPrefix) + base64.RawURLEncoding.EncodedLen(refreshSecretBytes)

// A RefreshToken is what a [RefreshStore] keeps of an issued refresh token.
// The token itself is never stored: only its hash.
type RefreshToken struct {
	// Hash identifies the token: base64url(SHA-256(token)).
	Hash string
	// Family is shared by every token that descends, by rotation, from one
	// login. Reuse of a spent token revokes the whole family.
	Family string
	// Subject and Username identify the user the family belongs to.
	Subject, Username string
	// ClientID is the client the family was issued to.
	ClientID string
	// Scopes is the grant; a refresh can only narrow it.
	Scopes []string
	// IssuedAt is when this token was issued.
	IssuedAt time.Time
	// ExpiresAt is when this token stops working.
	ExpiresAt time.Time
	// FamilyExpiresAt is when the family's absolute lifetime ends; no
	// rotation extends it.
	FamilyExpiresAt time.Time
	// UsedAt is when the token was spent; zero while unused. Set by the
	// store in [RefreshStore.Consume].
	UsedAt time.Time
	// Reuses counts presentations after the token was spent. Set by the
	// store in [RefreshStore.Consume].
	Reuses int
	// AccessTokenID is the "jti" of the access token issued with this
	// refresh token, and AccessExpiresAt its expiry; set only when
	// Config.Denylist is on, so that revoking the family can deny it.
	AccessTokenID   string
	AccessExpiresAt time.Time
}

// RefreshStore keeps refresh tokens for rotation and reuse detection
// (RFC 9700 §4.14.2). Implementations must be safe for concurrent use, and
// each method must be atomic; package storetest checks them. Stores never
// read the clock: times come in as arguments and in the records.
type RefreshStore interface {
	// Create stores t, unused. It returns ErrNotFound if t.Family has been
	// revoked (a rotation racing a revocation must not revive the family).
	// A store may drop records whose FamilyExpiresAt and ExpiresAt are
	// before t.IssuedAt.
	Create(ctx context.Context, t RefreshToken) error

	// Lookup returns the token with the given hash without changing it, or
	// ErrNotFound if there is none or its family was revoked.
	Lookup(ctx context.Context, hash string) (RefreshToken, error)

	// Consume atomically marks the token with the given hash as used at now
	// and returns it. If next is not nil, the same atomic step also stores
	// next (the rotated successor, in the same family) as Create would: the
	// spend and the successor happen together or not at all, so a
	// revocation that follows a spend always finds the successor and kills
	// it too. If the token was already used, Consume stores nothing,
	// increments Reuses and returns the token (with the first UsedAt and the
	// new Reuses) and an error for which errors.Is(err, ErrReused) is true.
	// It returns ErrNotFound if there is no such token or its family was
	// revoked. Of concurrent calls for one hash, exactly one succeeds.
	Consume(ctx context.Context, hash string, now time.Time, next *RefreshToken) (RefreshToken, error)

	// RevokeFamily makes every token of family unusable, now and for any
	// later Create in that family. Revoking an unknown family is not an
	// error.
	RevokeFamily(ctx context.Context, family string) error
}

// newRefreshSecret returns a fresh refresh token and its hash.
func newRefreshSecret() (token, hash string) {
	var b [refreshSecretBytes]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	// Built in one buffer: the prefix and the encoded secret, hashed
	// before the one copy into a string.
	var t [len(refreshTokenPrefix) + (refreshSecretBytes*8+5)/6]byte
	copy(t[:], refreshTokenPrefix)
	base64.RawURLEncoding.Encode(t[len(refreshTokenPrefix):], b[:])
	sum := sha256.Sum256(t[:])
	return string(t[:]), base64.RawURLEncoding.EncodeToString(sum[:])
}

// hashRefresh is how a refresh token is stored: base64url(SHA-256(token)).
func hashRefresh(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// wellFormedRefresh reports whether s has the shape of a tollgate refresh
// token; anything else is rejected before it reaches the store.
func wellFormedRefresh(s string) bool {
	if len(s) != refreshTokenLen || !strings.HasPrefix(s, refreshTokenPrefix) {
		return false
	}
	for i := len(refreshTokenPrefix); i < len(s); i++ {
		if !jose.IsB64URL(s[i]) {
			return false
		}
	}
	return true
}

// newFamilyID returns a random family identifier.
func newFamilyID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// descRefreshInvalid is the single client-facing answer for every refresh
// token that cannot be used.
const descRefreshInvalid = "The refresh token is invalid, expired or revoked"

// newRefresh makes a new refresh token and its record, not yet stored: in
// parent's family, with parent's scope, or in a new family granting scopes
// when parent is nil.
func (a *Authenticator) newRefresh(parent *RefreshToken, u grantee, scopes []string, now time.Time, accessID string, accessExp time.Time) (string, *RefreshToken) {
	tok, hash := newRefreshSecret()
	rt := RefreshToken{
		Hash:     hash,
		Subject:  u.subject,
		Username: u.username,
		ClientID: u.clientID,
		Scopes:   scopes,
		IssuedAt: now,
	}
	if accessID != "" {
		// Only with a Denylist (see prepare): revoking the family
		// denies the access token issued beside this refresh token.
		rt.AccessTokenID, rt.AccessExpiresAt = accessID, accessExp
	}
	if parent == nil {
		rt.Family = newFamilyID()
		rt.FamilyExpiresAt = now.Add(a.cfg.RefreshFamilyTTL)
	} else {
		rt.Family = parent.Family
		rt.FamilyExpiresAt = parent.FamilyExpiresAt
		// RFC 6749 §6: the new refresh token's scope is identical to the
		// presented one's. A refresh that asks for less narrows the access
		// token only; the next refresh may ask for the whole grant again.
		rt.Scopes = parent.Scopes
	}
	rt.ExpiresAt = now.Add(a.cfg.RefreshTTL)
	if rt.ExpiresAt.After(rt.FamilyExpiresAt) {
		rt.ExpiresAt = rt.FamilyExpiresAt
	}
	return tok, &rt
}

// spendRefresh checks a presented refresh token, spends it and rotates it:
// prepare makes the answer and the successor token, which the store keeps
// in the same atomic step as the spend. It returns the answer and the spent
// record, or an *Error for the client (invalid_grant), or a server fault.
// Every check that can fail runs before the token is spent, so a request
// that fails never spends a token. Reuse of a spent token revokes the
// family (RFC 9700 §4.14.2), unless it falls within the grace period; as
// spend and successor are one step, the revocation always kills the
// successor too, and of concurrent requests with one token exactly one
// gets an answer.
func (a *Authenticator) spendRefresh(ctx context.Context, r *http.Request, token, clientID string,
	check func(RefreshToken) error, prepare func(RefreshToken) (*Token, *RefreshToken, error)) (*Token, RefreshToken, error) {
	now := a.now()
	invalid := kindInvalidGrant.new(descRefreshInvalid, nil)
	if !wellFormedRefresh(token) {
		return nil, RefreshToken{}, invalid
	}
	hash := hashRefresh(token)
	rt, err := a.cfg.Refresh.Lookup(ctx, hash)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, RefreshToken{}, invalid
	case err != nil:
		return nil, RefreshToken{}, err
	}
	// RFC 6749 §6: the token must have been issued to this client. Part
	// of every check, so that a reuse within the grace period by another
	// client is refused too (and revokes the family).
	callerCheck := check
	check = func(rt RefreshToken) error {
		if rt.ClientID != clientID {
			return kindInvalidGrant.new(descRefreshInvalid, errors.New("tollgate: refresh token of another client"))
		}
		return callerCheck(rt)
	}
	if !rt.UsedAt.IsZero() {
		// Reuse is detected before anything else, whichever client_id the
		// request names: a public client's id proves nothing.
		return a.reuse(ctx, r, rt, now, false, check, prepare)
	}
	if !now.Before(rt.ExpiresAt) || !now.Before(rt.FamilyExpiresAt) {
		return nil, RefreshToken{}, invalid
	}
	if err := check(rt); err != nil {
		return nil, RefreshToken{}, err
	}
	resp, next, err := prepare(rt)
	if err != nil {
		return nil, RefreshToken{}, err
	}
	spent, err := a.cfg.Refresh.Consume(ctx, hash, now, next)
	switch {
	case errors.Is(err, ErrReused):
		// Lost a race with another request presenting the same token.
		return a.reuse(ctx, r, spent, now, true, check, prepare)
	case errors.Is(err, ErrNotFound):
		// Unknown by now, or its family revoked meanwhile.
		return nil, RefreshToken{}, invalid
	case err != nil:
		return nil, RefreshToken{}, err
	}
	return resp, spent, nil
}

// refreshGrant serves grant_type=refresh_token (RFC 6749 §6): the token is
// checked, then spent, and a new one issued in its family (RFC 9700
// §4.14.2). scope may narrow the original grant, never widen it; without
// scope the original grant is kept.
func (a *Authenticator) refreshGrant(r *http.Request, form url.Values, clientID string) (*Token, error) {
	ctx := r.Context()
	token := form.Get("refresh_token")
	if token == "" {
		return nil, kindInvalidRequest.new("The refresh_token parameter is missing", nil)
	}
	requested, err := parseScope(form.Get("scope"))
	if err != nil {
		return nil, kindInvalidScope.new("The scope parameter is malformed", err)
	}
	var user *User
	check := func(rt RefreshToken) error {
		if requested != nil && !hasAll(rt.Scopes, requested) {
			return kindInvalidScope.new("The requested scope exceeds the original grant", nil)
		}
		// A disabled or deleted user's refresh tokens stop working.
		u, err := a.cfg.Users.LookupUser(ctx, rt.Username)
		reject := func(why audit.Reason) error {
			a.emit(ctx, r, audit.Event{Type: audit.RefreshRejected, Reason: why, Subject: rt.Subject, Username: rt.Username, ClientID: rt.ClientID, Family: rt.Family})
			return kindInvalidGrant.new(descRefreshInvalid, nil)
		}
		switch {
		case errors.Is(err, ErrNotFound) || err == nil && (u == nil || u.subject() != rt.Subject):
			return reject(audit.UnknownUser)
		case err != nil:
			return err
		case u.Disabled:
			return reject(audit.UserDisabled)
		}
		user = u
		return nil
	}
	// prepare mints the access token and the successor refresh token for
	// a checked parent; the successor is stored atomically with the spend.
	prepare := func(rt RefreshToken) (*Token, *RefreshToken, error) {
		granted := rt.Scopes
		if requested != nil {
			granted = requested
		}
		// Scopes withdrawn from the user, or from the registry, since the
		// login are not granted again.
		granted = intersect(granted, a.grantable(ctx, r, user))
		g := grantee{subject: rt.Subject, username: rt.Username, clientID: rt.ClientID}
		return a.prepare(ctx, &rt, g, granted, user)
	}
	resp, rt, err := a.spendRefresh(ctx, r, token, clientID, check, prepare)
	if err != nil {
		return nil, err
	}
	a.emit(ctx, r, audit.Event{Type: audit.RefreshRotated, Subject: rt.Subject, Username: rt.Username, ClientID: rt.ClientID, Family: rt.Family})
	return resp, nil
}

// reuse handles a spent refresh token presented again. rt comes from
// Lookup (counted false) or from a Consume that already counted this
// presentation (counted true). Within the grace period, the first reuse is
// honoured once (the client may have lost the response to its refresh),
// with a successor in the same family; every other reuse revokes the
// family (RFC 9700 §4.14.2).
func (a *Authenticator) reuse(ctx context.Context, r *http.Request, rt RefreshToken, now time.Time, counted bool,
	check func(RefreshToken) error, prepare func(RefreshToken) (*Token, *RefreshToken, error)) (*Token, RefreshToken, error) {
	if g := a.cfg.RefreshGracePeriod; g > 0 && now.Sub(rt.UsedAt) <= g &&
		now.Before(rt.ExpiresAt.Add(g)) && now.Before(rt.FamilyExpiresAt) && check(rt) == nil {
		if !counted {
			var err error
			rt, err = a.cfg.Refresh.Consume(ctx, rt.Hash, now, nil)
			switch {
			case errors.Is(err, ErrNotFound):
				return nil, RefreshToken{}, kindInvalidGrant.new(descRefreshInvalid, err)
			case err != nil && !errors.Is(err, ErrReused):
				return nil, RefreshToken{}, err
			}
		}
		if rt.Reuses == 1 {
			resp, next, err := prepare(rt)
			if err == nil && next != nil {
				err = a.cfg.Refresh.Create(ctx, *next)
			}
			switch {
			case errors.Is(err, ErrNotFound):
				return nil, RefreshToken{}, kindInvalidGrant.new(descRefreshInvalid, err)
			case err != nil:
				return nil, RefreshToken{}, err
			}
			a.emit(ctx, r, audit.Event{Type: audit.RefreshGraceReuse, Subject: rt.Subject, Username: rt.Username, ClientID: rt.ClientID, Family: rt.Family})
			return resp, rt, nil
		}
	}
	if err := a.revokeFamily(ctx, r, rt, audit.RefreshReuse); err != nil {
		return nil, RefreshToken{}, err
	}
	a.emit(ctx, r, audit.Event{Type: audit.RefreshReused, Subject: rt.Subject, Username: rt.Username, ClientID: rt.ClientID, Family: rt.Family})
	return nil, RefreshToken{}, kindInvalidGrant.new(descRefreshInvalid, ErrReused)
}

// RevokeHandler returns the RFC 7009 token revocation endpoint, to be
// mounted at POST /revoke. It takes a form with "token" (and an optional
// "token_type_hint"). A refresh token is spent and its whole family
// revoked. Unknown and malformed tokens, and access tokens (which expire
// by themselves), get 200 as RFC 7009 §2.2 asks, so the endpoint tells an
// attacker nothing. With Config.Denylist, an access token issued to the
// requesting client is denied until it expires, and revoking a family
// denies the access tokens issued with it.
//
// Like [Authenticator.TokenHandler], it panics if the Authenticator cannot
// issue tokens: a verifier has nothing to revoke.
func (a *Authenticator) RevokeHandler() http.Handler {
	a.mustIssue("RevokeHandler")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		form, clientID, err := a.readForm(w, r)
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		token := form.Get("token")
		if token == "" {
			a.writeError(w, r, kindInvalidRequest.new("The token parameter is missing", nil))
			return
		}
		// token_type_hint is optional and only an optimisation (RFC 7009
		// §2.1): the token's own shape tells a refresh token apart.
		// Without a RefreshStore no refresh token was ever issued: a
		// refresh-shaped token is as unknown as any other.
		if wellFormedRefresh(token) {
			if a.cfg.Refresh != nil {
				if err := a.revokeRefresh(r.Context(), r, hashRefresh(token), clientID); err != nil {
					a.writeError(w, r, err)
					return
				}
			}
		} else if err := a.revokeAccess(r.Context(), r, token, clientID); err != nil {
			// Only with Config.Denylist (denylist.go).
			a.writeError(w, r, err)
			return
		}
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("Pragma", "no-cache")
		w.WriteHeader(http.StatusOK)
	})
}

// revokeRefresh revokes the family of the token with the given hash, if
// the token exists and belongs to clientID.
func (a *Authenticator) revokeRefresh(ctx context.Context, r *http.Request, hash, clientID string) error {
	rt, err := a.cfg.Refresh.Lookup(ctx, hash)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil
	case err != nil:
		return err
	}
	if rt.ClientID != clientID {
		// RFC 7009 §2.1: a client may only revoke its own tokens. Answer as
		// for an unknown token.
		return nil
	}
	if err := a.revokeFamily(ctx, r, rt, audit.RevocationRequest); err != nil {
		return err
	}
	a.emit(ctx, r, audit.Event{Type: audit.TokenRevoked, Subject: rt.Subject, Username: rt.Username, ClientID: rt.ClientID, Family: rt.Family})
	return nil
}
