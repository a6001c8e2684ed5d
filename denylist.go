package tollgate

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/tollgate-go/tollgate/audit"
)

// Denylist revokes access tokens before they expire (Config.Denylist): a
// token whose "jti" is denied is rejected on every protected route. Access
// tokens are otherwise verified without any store lookup, so a denylist
// trades one lookup per request for revocation that takes effect at once;
// most services rely on short access tokens instead.
//
// Implementations must be safe for concurrent use. Package memstore has an
// in-memory one.
type Denylist interface {
	// Deny records that the access token with the given jti is revoked. The
	// token expires at until anyway: the entry may be dropped once until
	// is before the current time, which is now. Denying a jti twice keeps
	// the later until. A Denylist that cannot take the entry (a bounded one
	// that is full) returns an error: the revocation then fails, visibly,
	// rather than silently not holding.
	Deny(ctx context.Context, jti string, until, now time.Time) error

	// IsDenied reports whether jti was denied. It may report true or false
	// for a jti whose until has passed: such a token is rejected as
	// expired whatever it says.
	IsDenied(ctx context.Context, jti string) (bool, error)
}

// Descriptions and causes of denylist answers.
const descRevoked = "The access token was revoked"

var (
	errRevoked = &rejection{audit.Revoked, "access token revoked (denylist)"}
	errNoJTI   = &rejection{audit.NoTokenID, "access token without jti while the denylist is on"}
)

// checkDenylist rejects p when the denylist is on and its token has no
// jti (it could not be revoked), or it was revoked: by its jti, or with
// its refresh-token family (its "sid").
func (a *Authenticator) checkDenylist(ctx context.Context, p *Principal) error {
	if a.cfg.Denylist == nil {
		return nil
	}
	if p.TokenID == "" {
		return invalid(errNoJTI)
	}
	d, err := a.cfg.Denylist.IsDenied(ctx, p.TokenID)
	if err == nil && !d && p.sid != "" {
		d, err = a.cfg.Denylist.IsDenied(ctx, sidKey(p.sid))
	}
	switch {
	case err != nil:
		return storeFailed(err)
	case d:
		return kindInvalidToken.new(descRevoked, errRevoked)
	}
	return nil
}

// sidKey is the denylist entry of a refresh-token family: "sid:" and its
// id (jti values are base64url, so the two never meet).
func sidKey(id string) string { return "sid:" + id }

// revokeAccess handles an access token presented to the revocation
// endpoint: when the denylist is on and the token is a valid one of this
// issuer for the requesting client (RFC 7009 §2.1), it is revoked. One
// issued with a refresh-token family is revoked with its whole family
// (RFC 7009 §2.1 lets a revocation reach the grant), so that a user's
// revocations cost the denylist one entry per login, not one per access
// token; one without a family is denied by its jti until it expires. Any
// other token is ignored: RFC 7009 §2.2 answers 200 for tokens that are
// invalid already.
func (a *Authenticator) revokeAccess(ctx context.Context, r *http.Request, token, clientID string) error {
	if a.cfg.Denylist == nil || token == "" || len(token) > maxTokenBytes {
		return nil
	}
	p, err := a.verifyAccess(token)
	if err != nil || p.TokenID == "" || p.ClientID != clientID {
		return nil
	}
	if p.sid != "" && a.cfg.Refresh != nil {
		err := a.revokeFamily(ctx, r, p.sid, audit.RevocationRequest)
		if !errors.Is(err, ErrNotFound) {
			return err
		}
		// The family is gone (revoked, or dropped by the store): deny its
		// access tokens all the same, until this one expires.
		return a.familyRevoked(ctx, r, RefreshFamily{ID: p.sid, Subject: p.Subject, Username: p.Username, ClientID: p.ClientID,
			KeepUntil: p.ExpiresAt.Add(a.cfg.Leeway)}, audit.RevocationRequest)
	}
	if err := a.cfg.Denylist.Deny(ctx, p.TokenID, p.ExpiresAt.Add(a.cfg.Leeway), a.now()); err != nil {
		return storeFailed(err)
	}
	a.emit(ctx, r, audit.Event{Type: audit.AccessTokenRevoked, Reason: audit.RevocationRequest, Subject: p.Subject, Username: p.Username, ClientID: p.ClientID, TokenID: p.TokenID})
	return nil
}

// familyRevoked denies, with a denylist, the access tokens of a revoked
// family: one entry, until the last of them has expired (KeepUntil). A
// denylist that cannot take it is an error for the caller to answer
// (503): the family is revoked, but its access tokens would otherwise stay
// valid without anyone knowing.
func (a *Authenticator) familyRevoked(ctx context.Context, r *http.Request, f RefreshFamily, why audit.Reason) error {
	if a.cfg.Denylist == nil || f.ID == "" {
		return nil
	}
	now := a.now()
	if !now.Before(f.KeepUntil) {
		return nil // every access token of the family has expired
	}
	if err := a.cfg.Denylist.Deny(ctx, sidKey(f.ID), f.KeepUntil, now); err != nil {
		return storeFailed(fmt.Errorf("tollgate: denying the access tokens of revoked family %s: %w", f.ID, err))
	}
	a.emit(ctx, r, audit.Event{Type: audit.AccessTokenRevoked, Reason: why, Subject: f.Subject, Username: f.Username, ClientID: f.ClientID, Family: f.ID})
	return nil
}
