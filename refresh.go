package tollgate

// Refresh tokens (RFC 6749 §6) with rotation and reuse detection (RFC 9700
// §4.14.2), at O(1) state per login: a store keeps one record per family
// however often it rotates, and every token of a family names the family
// (by a secret handle), so a token spent long ago is still recognised as
// the family's and revokes it.

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/tollgate-go/tollgate/audit"
	"github.com/tollgate-go/tollgate/internal/jose"
)

// refreshTokenPrefix starts every refresh token tollgate issues ("tgr_"),
// so that secret scanners can recognise a leaked one, and so that a
// refresh token is never mistaken for an access token or the other way
// round.
const refreshTokenPrefix = "tgr_"

// A refresh token is the prefix and base64url(handle ‖ secret): the
// family's handle, 128 random bits the same in each of its tokens and
// never stored (the store keys the family by its hash), and 256 random
// bits of the token's own.
const (
	refreshHandleBytes = 16
	refreshSecretBytes = 32
)

// refreshTokenLen is the exact length of a refresh token (unpadded
// base64url: 4 characters per 3 bytes, and 2 or 3 for a remainder).
const refreshTokenLen = len(refreshTokenPrefix) + ((refreshHandleBytes+refreshSecretBytes)*8+5)/6

// defaultMaxSessions is the default of Config.RefreshMaxSessions.
const defaultMaxSessions = 100

// A RefreshFamily is what a [RefreshStore] keeps of one login: a single
// record however often its refresh token rotates. The tokens themselves
// are never stored, only their hashes.
type RefreshFamily struct {
	// ID identifies the family: base64url(SHA-256(handle)), where the
	// handle is in each of the family's tokens and nowhere else, so the id
	// (in events, logs and, with a denylist, the "sid" claim of the
	// family's access tokens) makes no token.
	ID string
	// Subject and Username identify the user the family belongs to.
	Subject, Username string
	// ClientID is the client the family was issued to.
	ClientID string
	// Scopes is the grant; a refresh can only narrow it.
	Scopes []string
	// CreatedAt is when the family began: the login.
	CreatedAt time.Time
	// FamilyExpiresAt is when the family's absolute lifetime ends; no
	// rotation extends it.
	FamilyExpiresAt time.Time
	// Hash is base64url(SHA-256(token)) of the family's current refresh
	// token, IssuedAt and ExpiresAt its times.
	Hash                string
	IssuedAt, ExpiresAt time.Time
	// PrevHash is the hash of the token the current one replaced ("" at
	// login), PrevUsedAt when it was spent, and PrevReuses whether it was
	// honoured again within the grace period (0 or 1). Set by the store in
	// [RefreshStore.Rotate].
	PrevHash   string
	PrevUsedAt time.Time
	PrevReuses int
	// Rotations counts the rotations so far. Set by the store.
	Rotations int
	// KeepUntil is when the family's last access token expires (its
	// issue plus Config.AccessTTL and Leeway): the store keeps the family
	// at least until then, even past its refresh token's expiry, so that
	// revoking it can still deny that access token; a rotation never
	// moves it back (the store keeps the later of the two).
	KeepUntil time.Time
}

// DropAfter is when a store may drop f: its current token or its
// absolute lifetime has expired, and so has its last access token
// (KeepUntil). Before it, f must be kept; after it, it need never be
// returned again.
func (f *RefreshFamily) DropAfter() time.Time {
	end := f.FamilyExpiresAt
	if f.ExpiresAt.Before(end) {
		end = f.ExpiresAt
	}
	if f.KeepUntil.After(end) {
		end = f.KeepUntil
	}
	return end
}

// FamilyUserLookup is an optional interface of a [RefreshStore] that can
// read a family and its user in one round trip, when users live in the
// same database (pgstore). The refresh grant then calls it in place of
// Lookup and UserStore.LookupUser.
type FamilyUserLookup interface {
	// LookupWithUser is Lookup, and returns besides the user of users
	// whose Username is the family's, or nil if there is none. A store
	// that does not hold users looks it up in users.
	LookupWithUser(ctx context.Context, id string, users UserStore) (RefreshFamily, *User, error)
}

// RefreshStore keeps refresh-token families for rotation and reuse
// detection (RFC 9700 §4.14.2). Implementations must be safe for
// concurrent use, and each method must be one atomic step; package
// storetest checks them. Stores never read the clock: times come in as
// arguments and in the records, and tollgate checks the times itself. A
// store may drop a family once its current token or its absolute lifetime
// has expired and KeepUntil has passed.
type RefreshStore interface {
	// Create stores a new family (a login). If the subject then has more
	// than keep families, the oldest of them (by CreatedAt) are revoked
	// in the same step and returned, so that no user holds more than keep
	// sessions.
	Create(ctx context.Context, f RefreshFamily, keep int) (revoked []RefreshFamily, err error)

	// Lookup returns the family with the given id, or ErrNotFound.
	Lookup(ctx context.Context, id string) (RefreshFamily, error)

	// Rotate is the refresh grant's one step on the family id, for the
	// presented token's hash, at now:
	//   - presented is the current token's hash and next is not nil: the
	//     family becomes next, with PrevHash = presented, PrevUsedAt =
	//     now, PrevReuses = 0 and Rotations one more;
	//   - presented is PrevHash, next is not nil, PrevReuses is 0 and
	//     now is within grace of PrevUsedAt: the grace period's one reuse;
	//     the family becomes next, keeping PrevHash and PrevUsedAt, with
	//     PrevReuses = 1 and Rotations one more;
	//   - anything else (an earlier token, a reuse past the grace, a nil
	//     next): the family is revoked in the same step.
	// It returns the family as it is after the step, or, when it revoked
	// it, as it was with an error for which errors.Is(err, ErrReused) is
	// true. It returns ErrNotFound if there is no such family.
	Rotate(ctx context.Context, id, presented string, next *RefreshFamily, now time.Time, grace time.Duration) (RefreshFamily, error)

	// Revoke revokes the family with the given id and returns it, or
	// ErrNotFound.
	Revoke(ctx context.Context, id string) (RefreshFamily, error)

	// RevokeSubject revokes every family of subject and returns them.
	RevokeSubject(ctx context.Context, subject string) ([]RefreshFamily, error)
}

// descRefreshInvalid is the single client-facing answer for every refresh
// token that cannot be used.
const descRefreshInvalid = "The refresh token is invalid, expired or revoked"

// refreshHandle is a family's handle.
type refreshHandle [refreshHandleBytes]byte

// newRefreshToken returns a fresh token of the family with handle h, and
// its hash.
func newRefreshToken(h refreshHandle) (token, hash string) {
	var raw [refreshHandleBytes + refreshSecretBytes]byte
	copy(raw[:], h[:])
	_, _ = rand.Read(raw[refreshHandleBytes:]) // crypto/rand.Read never fails (Go 1.24+)
	var t [refreshTokenLen]byte
	copy(t[:], refreshTokenPrefix)
	base64.RawURLEncoding.Encode(t[len(refreshTokenPrefix):], raw[:])
	return string(t[:]), b64SHA256(t[:])
}

// hashRefresh is how a refresh token is stored: base64url(SHA-256(token)).
func hashRefresh(token string) string {
	var buf [refreshTokenLen]byte // every token that reaches a store
	if len(token) == len(buf) {
		copy(buf[:], token)
		return b64SHA256(buf[:])
	}
	return b64SHA256([]byte(token))
}

// b64SHA256 returns base64url(SHA-256(b)) in one allocation.
func b64SHA256(b []byte) string {
	sum := sha256.Sum256(b)
	var out [43]byte
	base64.RawURLEncoding.Encode(out[:], sum[:])
	return string(out[:])
}

// familyID is the store's key of the family with handle h.
func familyID(h refreshHandle) string {
	return b64SHA256(h[:])
}

// parseRefresh returns the handle of a token with the shape of a tollgate
// refresh token; anything else is refused before it reaches the store.
func parseRefresh(s string) (refreshHandle, bool) {
	var h refreshHandle
	if len(s) != refreshTokenLen || s[:len(refreshTokenPrefix)] != refreshTokenPrefix {
		return h, false
	}
	for i := len(refreshTokenPrefix); i < len(s); i++ {
		if !jose.IsB64URL(s[i]) {
			return h, false
		}
	}
	var raw [refreshHandleBytes + refreshSecretBytes]byte
	if _, err := base64.RawURLEncoding.Strict().Decode(raw[:], []byte(s[len(refreshTokenPrefix):])); err != nil {
		return h, false
	}
	copy(h[:], raw[:refreshHandleBytes])
	return h, true
}

// newHandle returns the handle of a new family.
func newHandle() refreshHandle {
	var h refreshHandle
	_, _ = rand.Read(h[:])
	return h
}

// newRefresh makes the next refresh token of a family and the record to
// store: a new family (a login) when parent is nil, else parent's
// successor, with parent's scopes (RFC 6749 §6: the new refresh token's
// scope is identical to the presented one's; a refresh that asks for less
// narrows the access token only).
func (a *Authenticator) newRefresh(parent *RefreshFamily, h refreshHandle, g grantee, scopes []string, now time.Time) (string, *RefreshFamily) {
	tok, hash := newRefreshToken(h)
	var f RefreshFamily
	if parent == nil {
		f = RefreshFamily{
			ID:      familyID(h),
			Subject: g.subject, Username: g.username, ClientID: g.clientID,
			Scopes: slices.Clone(scopes), CreatedAt: now, FamilyExpiresAt: now.Add(a.cfg.RefreshFamilyTTL),
		}
	} else {
		f = *parent
	}
	f.Hash, f.IssuedAt = hash, now
	f.KeepUntil = now.Add(a.cfg.AccessTTL + a.cfg.Leeway)
	f.ExpiresAt = now.Add(a.cfg.RefreshTTL)
	if f.ExpiresAt.After(f.FamilyExpiresAt) {
		f.ExpiresAt = f.FamilyExpiresAt
	}
	return tok, &f
}

// refreshGrant serves grant_type=refresh_token (RFC 6749 §6): the token is
// checked, then spent, and a new one issued in its family (RFC 9700
// §4.14.2). scope may narrow the original grant, never widen it; without
// scope the original grant is kept.
//
// Every check that can fail runs before the store's one step, so a request
// that fails never spends a token. A token that is not the family's
// current one is reuse, detected before anything else, whichever client
// the request names (a public client's id proves nothing): the store
// revokes the family in the same step that detects it, unless it is the
// grace period's one honoured reuse of the token just spent.
func (a *Authenticator) refreshGrant(r *http.Request, form url.Values, cl caller) (*Token, error) {
	ctx := r.Context()
	clientID := cl.id
	token := form.Get("refresh_token")
	if token == "" {
		return nil, kindInvalidRequest.new("The refresh_token parameter is missing", nil)
	}
	requested, err := parseScope(form.Get("scope"))
	if err != nil {
		return nil, kindInvalidScope.new("The scope parameter is malformed", err)
	}
	h, ok := parseRefresh(token)
	if !ok {
		return nil, kindInvalidGrant.new(descRefreshInvalid, nil)
	}
	now := a.now()
	id, hash := familyID(h), hashRefresh(token)
	// A store that keeps users beside families reads both at once: one
	// round trip instead of two.
	var f RefreshFamily
	var joined *User
	fu, join := a.cfg.Refresh.(FamilyUserLookup)
	if join {
		f, joined, err = fu.LookupWithUser(ctx, id, a.cfg.Users)
	} else {
		f, err = a.cfg.Refresh.Lookup(ctx, id)
	}
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, kindInvalidGrant.new(descRefreshInvalid, nil)
	case err != nil:
		return nil, storeFailed(err)
	}
	if !now.Before(f.FamilyExpiresAt) {
		return nil, kindInvalidGrant.new(descRefreshInvalid, nil)
	}
	current := hash == f.Hash
	if current && !now.Before(f.ExpiresAt) {
		return nil, kindInvalidGrant.new(descRefreshInvalid, nil) // expired: not spent, nothing revoked
	}
	// The checks of a token that may be answered: its client (RFC 6749
	// §6), the scope asked for, and its user, who must still be able to
	// log in.
	var user *User
	check := func() error {
		if f.ClientID != clientID {
			return kindInvalidGrant.new(descRefreshInvalid, errors.New("tollgate: refresh token of another client"))
		}
		if requested != nil && !hasAll(f.Scopes, requested) {
			return kindInvalidScope.new("The requested scope exceeds the original grant", nil)
		}
		u, why, err := a.familyUser(ctx, &f, joined, join)
		switch {
		case err != nil:
			return err
		case why != "":
			a.emit(ctx, r, audit.Event{Type: audit.RefreshRejected, Reason: why, Subject: f.Subject, Username: f.Username, ClientID: f.ClientID, Family: f.ID})
			return kindInvalidGrant.new(descRefreshInvalid, nil)
		}
		user = u
		return nil
	}
	var next *RefreshFamily
	var tok *Token
	graceful := !current && a.cfg.RefreshGracePeriod > 0 && hash == f.PrevHash && f.PrevReuses == 0 &&
		now.Sub(f.PrevUsedAt) <= a.cfg.RefreshGracePeriod
	if current || graceful {
		if err := check(); err != nil {
			// A reuse that cannot be honoured because of the token itself
			// (another client, a user who can no longer log in) is revoked
			// below; any other failure (a store fault, a scope too wide) is
			// answered as it is, and changes nothing.
			if current || !errors.Is(err, ErrInvalidGrant) {
				return nil, err
			}
			graceful = false
		}
	}
	if current || graceful {
		granted := f.Scopes
		if requested != nil {
			granted = requested
		}
		// Scopes withdrawn from the user, or from the registry, since the
		// login are not granted again.
		granted = cl.bound(intersect(granted, a.grantable(ctx, r, user)))
		aud, err := a.audience(cl)
		if err != nil {
			return nil, err
		}
		g := grantee{subject: f.Subject, username: f.Username, clientID: f.ClientID, aud: aud}
		if tok, next, err = a.prepare(ctx, &f, h, g, granted, user); err != nil {
			return nil, err
		}
	}
	if next == nil {
		// Reuse: the store will revoke the family. Its access tokens are
		// denied first, so that a denylist that fails leaves the family
		// (and the reuse) for the retry to find, instead of a revoked
		// family whose access tokens live on.
		if err := a.familyRevoked(ctx, r, f, audit.RefreshReuse); err != nil {
			return nil, err
		}
	}
	after, err := a.cfg.Refresh.Rotate(ctx, id, hash, next, now, a.cfg.RefreshGracePeriod)
	switch {
	case errors.Is(err, ErrReused):
		// Reuse (RFC 9700 §4.14.2), or a lost race with another request
		// presenting the same token: the store revoked the family.
		a.emit(ctx, r, audit.Event{Type: audit.RefreshReused, Subject: after.Subject, Username: after.Username, ClientID: after.ClientID, Family: after.ID})
		if next != nil || after.KeepUntil.After(f.KeepUntil) {
			// Not denied above, or rotated since the lookup.
			if err := a.familyRevoked(ctx, r, after, audit.RefreshReuse); err != nil {
				return nil, err
			}
		}
		return nil, kindInvalidGrant.new(descRefreshInvalid, ErrReused)
	case errors.Is(err, ErrNotFound):
		return nil, kindInvalidGrant.new(descRefreshInvalid, nil) // revoked meanwhile
	case err != nil:
		return nil, storeFailed(err) // nothing rotated: Rotate is one atomic step
	}
	if after.PrevReuses == 1 && !current {
		a.emit(ctx, r, audit.Event{Type: audit.RefreshGraceReuse, Subject: after.Subject, Username: after.Username, ClientID: after.ClientID, Family: after.ID})
	} else {
		a.emit(ctx, r, audit.Event{Type: audit.RefreshRotated, Subject: after.Subject, Username: after.Username, ClientID: after.ClientID, Family: after.ID})
	}
	return tok, nil
}

// familyUser returns the user of family f, who must still be able to log
// in for f to refresh: why says otherwise (the user is gone, another one
// holds the name, disabled, or logged out everywhere since the login).
// With joined, u is the user the store returned with f (nil: none);
// else the user is looked up. A store that fails is an error.
func (a *Authenticator) familyUser(ctx context.Context, f *RefreshFamily, u *User, joined bool) (*User, audit.Reason, error) {
	var err error
	switch {
	case !joined:
		u, err = a.cfg.Users.LookupUser(ctx, f.Username)
	case u == nil:
		err = ErrNotFound
	}
	switch {
	case errors.Is(err, ErrNotFound) || err == nil && (u == nil || u.subject() != f.Subject):
		return nil, audit.UnknownUser, nil
	case err != nil:
		return nil, "", storeFailed(err)
	case u.Disabled:
		return nil, audit.UserDisabled, nil
	case !u.ValidAfter.IsZero() && f.CreatedAt.Before(u.ValidAfter):
		return nil, audit.SessionExpired, nil
	}
	return u, "", nil
}

// RevokeHandler returns the RFC 7009 token revocation endpoint, to be
// mounted at POST /revoke. It takes a form with "token" (and an optional
// "token_type_hint"). A refresh token's whole family is revoked. Unknown
// and malformed tokens, and access tokens (which expire by themselves),
// get 200 as RFC 7009 §2.2 asks, so the endpoint tells an attacker
// nothing. With Config.Denylist, revoking a family denies the access
// tokens issued with it, and an access token presented here is denied
// with its family (or alone, if it has none).
//
// Like [Authenticator.TokenHandler], it panics if the Authenticator cannot
// issue tokens: a verifier has nothing to revoke.
func (a *Authenticator) RevokeHandler() http.Handler {
	a.mustIssue("RevokeHandler")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		form, cl, err := a.readForm(w, r)
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		clientID := cl.id
		token := form.Get("token")
		if token == "" {
			a.writeError(w, r, kindInvalidRequest.new("The token parameter is missing", nil))
			return
		}
		// token_type_hint is optional and only an optimisation (RFC 7009
		// §2.1): the token's own shape tells a refresh token apart.
		// Without a RefreshStore no refresh token was ever issued: a
		// refresh-shaped token is as unknown as any other.
		if h, ok := parseRefresh(token); ok {
			if a.cfg.Refresh != nil {
				if err := a.revokeRefresh(r.Context(), r, familyID(h), clientID); err != nil {
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

// revokeRefresh revokes the family with the given id, if it exists and
// belongs to clientID.
func (a *Authenticator) revokeRefresh(ctx context.Context, r *http.Request, id, clientID string) error {
	f, err := a.cfg.Refresh.Lookup(ctx, id)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil
	case err != nil:
		return storeFailed(err)
	}
	if f.ClientID != clientID {
		// RFC 7009 §2.1: a client may only revoke its own tokens. Answer as
		// for an unknown token.
		return nil
	}
	if err := a.revokeLooked(ctx, r, f, audit.RevocationRequest); !errors.Is(err, ErrNotFound) {
		return err
	}
	return nil // revoked meanwhile
}

// revokeFamily revokes the family id (see revokeLooked).
func (a *Authenticator) revokeFamily(ctx context.Context, r *http.Request, id string, why audit.Reason) error {
	f, err := a.cfg.Refresh.Lookup(ctx, id)
	switch {
	case errors.Is(err, ErrNotFound):
		return err // the caller decides
	case err != nil:
		return storeFailed(err)
	}
	return a.revokeLooked(ctx, r, f, why)
}

// revokeLooked revokes f, as Lookup returned it, and reports it. Its
// access tokens are denied first (with a denylist), so that a denylist
// that fails leaves the family alive for the client's retry, instead of
// a family gone from the store with its access tokens still valid. A
// rotation that slipped in between extends the denial to its token.
func (a *Authenticator) revokeLooked(ctx context.Context, r *http.Request, f RefreshFamily, why audit.Reason) error {
	if err := a.familyRevoked(ctx, r, f, why); err != nil {
		return err
	}
	g, err := a.cfg.Refresh.Revoke(ctx, f.ID)
	switch {
	case errors.Is(err, ErrNotFound):
		return err // the caller decides
	case err != nil:
		return storeFailed(err)
	}
	a.emit(ctx, r, audit.Event{Type: audit.TokenRevoked, Reason: why, Subject: g.Subject, Username: g.Username, ClientID: g.ClientID, Family: g.ID})
	if g.KeepUntil.After(f.KeepUntil) {
		return a.familyRevoked(ctx, r, g, why)
	}
	return nil
}

// RevokeUser ends every session of the user with the given subject (the
// "sub" claim, User.ID or Username), as "log out everywhere" or a
// password change wants: every refresh-token family of the user is
// revoked in one store call, and, with Config.Denylist, so are the access
// tokens issued with them (an error if the denylist cannot take them). Access tokens issued by Issue without a refresh
// store, and access tokens without a denylist, stay valid until they
// expire (Config.AccessTTL). A user whose User.ValidAfter is set to now is
// also refused at every later refresh of an older session.
func (a *Authenticator) RevokeUser(ctx context.Context, subject string) error {
	if a.cfg.Refresh == nil {
		return nil
	}
	fams, err := a.cfg.Refresh.RevokeSubject(ctx, subject)
	if err != nil {
		return err
	}
	var errs []error
	for _, f := range fams {
		a.emit(ctx, nil, audit.Event{Type: audit.TokenRevoked, Reason: audit.RevocationRequest, Subject: f.Subject, Username: f.Username, ClientID: f.ClientID, Family: f.ID})
		errs = append(errs, a.familyRevoked(ctx, nil, f, audit.RevocationRequest))
	}
	return errors.Join(errs...)
}
