package tollgate

import (
	"errors"
	"fmt"

	"github.com/tollgate-go/tollgate/internal/jose"
)

// An Issuer is one authorization server a resource server trusts
// (Config.Issuers): its "iss", the audiences its tokens must name, and
// its keys, static or from a [KeySource] (package remotekeys).
type Issuer struct {
	Issuer           string    // the "iss" its tokens carry, as Config.Issuer
	Audience         []string  // the audiences its tokens must name, as Config.Audience
	VerificationKeys []*Key    // its keys, as Config.VerificationKeys
	KeySource        KeySource // or its keys over time, as Config.KeySource
}

// newTrusting builds an Authenticator that verifies the tokens of every
// issuer of cfg.Issuers: a token is checked only against the keys of the
// issuer its "iss" names, with that issuer's audiences; the rest of cfg
// (scopes, leeway, cache bounds, denylist, hooks) holds for all.
func newTrusting(cfg Config) (*Authenticator, error) {
	if cfg.Issuer != "" || len(cfg.Audience) > 0 || cfg.SigningKey != nil || len(cfg.VerificationKeys) > 0 || cfg.KeySource != nil {
		return nil, errors.New("tollgate: with Config.Issuers, each issuer's name, audiences and keys go in its Issuer, and the Authenticator only verifies: leave Config.Issuer, Audience, SigningKey, VerificationKeys and KeySource empty")
	}
	subs := make(map[string]*Authenticator, len(cfg.Issuers))
	order := make([]*Authenticator, 0, len(cfg.Issuers))
	var errs []error
	for i, is := range cfg.Issuers {
		c := cfg
		c.Issuers = nil
		c.Issuer, c.Audience, c.VerificationKeys, c.KeySource = is.Issuer, is.Audience, is.VerificationKeys, is.KeySource
		sub, err := New(c)
		if err != nil {
			errs = append(errs, fmt.Errorf("Config.Issuers[%d] (%q): %w", i, is.Issuer, err))
			continue
		}
		if _, dup := subs[is.Issuer]; dup {
			errs = append(errs, fmt.Errorf("tollgate: Config.Issuers names %q twice", is.Issuer))
			continue
		}
		subs[is.Issuer] = sub
		order = append(order, sub)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	// The first issuer's Authenticator serves as the whole one too: it
	// dispatches every request (verifyRefreshing), and verifies as the
	// first issuer when a token names it.
	a := order[0]
	a.issuers, a.issuerOrder = subs, order
	return a, nil
}

// trusted returns the issuer's Authenticator that verifies token: the
// one whose cache holds it, or the one its "iss" names. The claims are
// read before the signature is checked only to choose the keys; the
// issuer's Authenticator then checks everything, its "iss" included.
func (a *Authenticator) trusted(token string) (*Authenticator, error) {
	for _, sub := range a.issuerOrder {
		if c := sub.ring().cache; c != nil && c.get(token) != nil {
			return sub, nil
		}
	}
	if len(token) > maxTokenBytes {
		return nil, kindInvalidToken.new(descTokenTooLarge, errTooLarge)
	}
	if !validB64Token(token) {
		return nil, kindInvalidRequest.new(descMalformed, nil)
	}
	_, pb64, _, ok := jose.Split(token)
	if !ok {
		return nil, invalid(errShape)
	}
	var buf [1024]byte
	payload, err := jose.Decode(buf[:], pb64)
	if err != nil {
		return nil, invalid(errClaims)
	}
	var c jose.Claims
	if err := jose.DecodeClaims(string(payload), &c); err != nil {
		return nil, invalid(errClaims)
	}
	sub := a.issuers[c.Iss]
	if sub == nil {
		return nil, invalid(errIssuer)
	}
	return sub, nil
}
