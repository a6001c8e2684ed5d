package tollgate

import (
	"context"
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

// FamilyLister is an optional interface of a [RefreshStore]. With a
// [Denylist], revoking a refresh-token family (RFC 7009 revocation, or
// reuse detection) also denies the access tokens issued with the family's
// refresh tokens that have not expired yet. Without FamilyLister only the
// access token issued with the refresh token at hand is denied, which
// misses the one issued at the latest rotation.
type FamilyLister interface {
	// ListFamily returns the tokens of family that the store still holds,
	// spent ones included, or none if the family is unknown or revoked.
	ListFamily(ctx context.Context, family string) ([]RefreshToken, error)
}

// Descriptions and causes of denylist answers.
const descRevoked = "The access token was revoked"

var (
	errRevoked = &rejection{audit.Revoked, "access token revoked (denylist)"}
	errNoJTI   = &rejection{audit.NoTokenID, "access token without jti while the denylist is on"}
)

// denied reports whether the access token with the given jti is revoked.
// It is false when there is no denylist. The verification path calls it
// on every request, after any cache of verified tokens, so a cached token
// that was revoked since is still refused.
func (a *Authenticator) denied(ctx context.Context, jti string) (bool, error) {
	if a.cfg.Denylist == nil {
		return false, nil
	}
	return a.cfg.Denylist.IsDenied(ctx, jti)
}

// checkDenylist rejects p when the denylist is on and its token has no
// jti (it could not be revoked) or was revoked.
func (a *Authenticator) checkDenylist(ctx context.Context, p *Principal) error {
	if a.cfg.Denylist == nil {
		return nil
	}
	if p.TokenID == "" {
		return invalid(errNoJTI)
	}
	d, err := a.denied(ctx, p.TokenID)
	switch {
	case err != nil:
		return err
	case d:
		return kindInvalidToken.new(descRevoked, errRevoked)
	}
	return nil
}

// revokeAccess handles an access token presented to the revocation
// endpoint: when the denylist is on and the token is a valid one of this
// issuer for the requesting client (RFC 7009 §2.1), its jti is denied
// until it expires. Any other token is ignored: RFC 7009 §2.2 answers 200
// for tokens that are invalid already.
func (a *Authenticator) revokeAccess(ctx context.Context, r *http.Request, token, clientID string) error {
	if a.cfg.Denylist == nil || token == "" || len(token) > maxTokenBytes {
		return nil
	}
	p, err := a.verifyAccess(token)
	if err != nil || p.TokenID == "" || p.ClientID != clientID {
		return nil
	}
	if err := a.cfg.Denylist.Deny(ctx, p.TokenID, p.ExpiresAt.Add(a.cfg.Leeway), a.now()); err != nil {
		return err
	}
	a.emit(ctx, r, audit.Event{Type: audit.AccessTokenRevoked, Reason: audit.RevocationRequest, Subject: p.Subject, Username: p.Username, ClientID: p.ClientID, TokenID: p.TokenID})
	return nil
}

// revokeFamily revokes the refresh-token family of rt and, with a
// denylist, denies the access tokens issued with the family's tokens that
// are still live. why is the event reason: audit.RevocationRequest or
// audit.RefreshReuse.
func (a *Authenticator) revokeFamily(ctx context.Context, r *http.Request, rt RefreshToken, why audit.Reason) error {
	if a.cfg.Denylist == nil {
		return a.cfg.Refresh.RevokeFamily(ctx, rt.Family)
	}
	toks := []RefreshToken{rt}
	if fl, ok := a.cfg.Refresh.(FamilyLister); ok {
		more, err := fl.ListFamily(ctx, rt.Family)
		if err != nil {
			a.cfg.Logger.ErrorContext(ctx, "tollgate: listing a refresh family to deny its access tokens", "family", rt.Family, "err", err)
		}
		toks = append(toks, more...)
	}
	if err := a.cfg.Refresh.RevokeFamily(ctx, rt.Family); err != nil {
		return err
	}
	now := a.now()
	seen := make(map[string]bool, len(toks))
	for _, t := range toks {
		until := t.AccessExpiresAt.Add(a.cfg.Leeway)
		if t.AccessTokenID == "" || seen[t.AccessTokenID] || !now.Before(until) {
			continue
		}
		seen[t.AccessTokenID] = true
		if err := a.cfg.Denylist.Deny(ctx, t.AccessTokenID, until, now); err != nil {
			// The family is revoked; its access tokens lapse within AccessTTL.
			a.cfg.Logger.ErrorContext(ctx, "tollgate: denying an access token of a revoked family", "family", rt.Family, "err", err)
			continue
		}
		a.emit(ctx, r, audit.Event{Type: audit.AccessTokenRevoked, Reason: why, Subject: t.Subject, Username: t.Username, ClientID: t.ClientID, Family: t.Family, TokenID: t.AccessTokenID})
	}
	return nil
}
