package tollgate

import (
	"context"
	"errors"
	"slices"
)

// A KeySource supplies verification keys that change over time, such as
// an issuer's JWK Set fetched over HTTP (package remotekeys); see
// Config.KeySource. Implementations must be safe for concurrent use, and
// Keys must be cheap: it is called on every verification.
type KeySource interface {
	// Keys returns the current keys and their version, which grows
	// whenever the keys change (a smaller version than one seen before is
	// an older set, and ignored). The slice is not modified by tollgate.
	Keys() (keys []*Key, version uint64)

	// Refresh is called when a token names a key id that is not among
	// the current keys, as happens just after the issuer adds a key. It
	// may fetch the keys again (at a rate of its own choosing: attackers
	// choose key ids) and returns the keys then current.
	Refresh(ctx context.Context) (keys []*Key, version uint64)
}

// ring returns the key ring for a verification: the one built at New,
// or, with a KeySource whose keys have changed since, a new one with the
// source's current keys and an empty cache of verified tokens.
func (a *Authenticator) ring() *keyRing {
	r := a.keys.Load()
	if a.cfg.KeySource == nil {
		return r
	}
	keys, v := a.cfg.KeySource.Keys()
	if v <= r.version {
		return r
	}
	return a.replaceRing(keys, v)
}

// replaceRing installs a ring with the static keys and keys, of version
// v, unless another request did already. A set that cannot form a ring
// (two keys with one kid) keeps the old ring, reported once per version.
func (a *Authenticator) replaceRing(keys []*Key, v uint64) *keyRing {
	a.ringMu.Lock()
	defer a.ringMu.Unlock()
	r := a.keys.Load()
	if v <= r.version {
		return r // this set, or a newer one, is in place: never roll back
	}
	next, err := newKeyRing(a.cfg.SigningKey, append(slices.Clip(a.cfg.VerificationKeys), keys...), a.cfg.Cache)
	if err != nil {
		a.cfg.Logger.Error("tollgate: the key source's new keys are unusable; verifying with the previous ones", "err", err)
		old := *r
		old.version = v // do not retry the same set on every request
		a.keys.Store(&old)
		return &old
	}
	next.version = v
	a.keys.Store(&next)
	return &next
}

// verifyRefreshing is verifyAccess, asking the KeySource for its keys
// again once when the token names a key id it does not know.
//
// With Config.Issuers, the token's issuer is chosen first, and its
// Authenticator verifies.
func (a *Authenticator) verifyRefreshing(ctx context.Context, token string) (*Principal, error) {
	if a.issuers != nil {
		sub, err := a.trusted(token)
		if err != nil {
			return nil, err
		}
		a = sub
	}
	used := a.ring()
	p, err := a.verifyWith(used, token)
	if a.cfg.KeySource == nil || !errors.Is(err, errKid) {
		return p, err
	}
	if keys, v := a.cfg.KeySource.Refresh(ctx); v > used.version {
		a.replaceRing(keys, v)
	}
	// Retry with whatever is newer than the ring that failed: the
	// refresh's keys, or another request's.
	if now := a.ring(); now.version > used.version {
		return a.verifyWith(now, token)
	}
	return p, err // nothing new: the key id is unknown
}
