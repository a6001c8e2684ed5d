package tollgate

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/tollgate-go/tollgate/audit"
)

// A Client is an OAuth 2.0 client that may request tokens (RFC 6749 §2):
// public when it has no secret (§2.1: a browser page, a mobile app, which
// cannot keep one), confidential when it has one (a service).
type Client struct {
	// ID is the client_id (RFC 6749 §2.2): printable ASCII, at most 255
	// bytes.
	ID string

	// SecretHash is the hash of the client's secret, made with the
	// Authenticator's Config.Hasher (as a user's PasswordHash is). A
	// client with a SecretHash is confidential and must authenticate on
	// every request (RFC 6749 §2.3.1); without one it is public.
	SecretHash []byte

	// Grants are the grant types the client may use: "password",
	// "refresh_token", "client_credentials". Empty: password and
	// refresh_token. client_credentials is for confidential clients only
	// (RFC 6749 §4.4); a public client listing it cannot use it.
	Grants []string

	// Scopes, if not empty, bound what any token issued to the client is
	// granted: for client_credentials, what it may ask for (and gets when
	// it asks for nothing); for a user's login, the user's scopes within
	// them. Empty: no bound for users' logins, and no scope at all for
	// client_credentials.
	Scopes []string

	// Audience, if not empty, is the "aud" of the tokens issued to the
	// client, in place of Config.Audience: a service's client for one
	// resource server among several. Each must be one of Config.Audience
	// (else issuing fails with a server error).
	Audience []string
}

// ClientStore says which clients exist (Config.Clients). Implementations
// must be safe for concurrent use; memstore.Clients is an in-memory one,
// and package storetest checks them.
type ClientStore interface {
	// LookupClient returns the client with the given id, or an error for
	// which errors.Is(err, ErrNotFound) is true.
	LookupClient(ctx context.Context, id string) (*Client, error)
}

// defaultGrants are the grant types of a Client without Grants.
var defaultGrants = []string{"password", "refresh_token"}

// confidential reports whether c has a secret.
func (c *Client) confidential() bool { return len(c.SecretHash) > 0 }

// allows reports whether c may use the grant type gt.
func (c *Client) allows(gt string) bool {
	if gt == "client_credentials" && !c.confidential() {
		return false // RFC 6749 §4.4: confidential clients only
	}
	if len(c.Grants) == 0 {
		return slices.Contains(defaultGrants, gt)
	}
	return slices.Contains(c.Grants, gt)
}

// A caller is the client of a token request, once checked: its id, and
// the client as Config.Clients returned it (nil without a ClientStore:
// any well-formed id is a public client with the default grants).
type caller struct {
	id     string
	client *Client
	// authenticated: the client proved its secret on this request.
	authenticated bool
}

// allows reports whether the caller may use grant type gt.
func (c caller) allows(gt string) bool {
	if c.client == nil {
		return slices.Contains(defaultGrants, gt)
	}
	return c.client.allows(gt)
}

// bound returns the members of scopes within the client's Scopes (all of
// them if the client has none, for a user's grant).
func (c caller) bound(scopes []string) []string {
	if c.client == nil || len(c.client.Scopes) == 0 {
		return scopes
	}
	return intersect(scopes, c.client.Scopes)
}

// audience returns the "aud" of the caller's tokens, nil for
// Config.Audience. A Client.Audience must be within Config.Audience, the
// resource servers this issuer issues for (and the audiences it checks
// when it introspects or revokes a token); one that is not is a setup
// mistake of the store's, answered as a server error.
func (a *Authenticator) audience(c caller) ([]string, error) {
	if c.client == nil || len(c.client.Audience) == 0 {
		return nil, nil // a store may return an empty list for none
	}
	for _, aud := range c.client.Audience {
		if !slices.Contains(a.cfg.Audience, aud) {
			return nil, fmt.Errorf("tollgate: client %q: Client.Audience %q is not in Config.Audience", c.id, aud)
		}
	}
	return c.client.Audience, nil
}

// checkClient returns the client a request names ("" names the
// first-party client), or invalid_client if Config.Clients does not know
// it. A confidential client is refused here: it must authenticate
// (authenticateClient). basic says whether the request used HTTP Basic,
// for the status of the answer.
func (a *Authenticator) checkClient(ctx context.Context, id string, basic bool) (caller, error) {
	c, err := a.lookupClient(ctx, id, basic)
	if err != nil {
		return caller{}, err
	}
	if c.client != nil && c.client.confidential() {
		// The same answer as for an unknown client: the answer does not
		// tell which confidential clients exist.
		return caller{}, errClientAuth()
	}
	return c, nil
}

// lookupClient looks up the client id names ("" names the first-party
// client).
func (a *Authenticator) lookupClient(ctx context.Context, id string, basic bool) (caller, error) {
	if id == "" {
		id = defaultClientID
	}
	if !validClientID(id) {
		return caller{}, errClientAuth()
	}
	if a.cfg.Clients == nil {
		return caller{id: id}, nil
	}
	c, err := a.cfg.Clients.LookupClient(ctx, id)
	switch {
	case errors.Is(err, ErrNotFound) || err == nil && (c == nil || c.ID != id):
		return caller{}, errClientAuth()
	case err != nil:
		return caller{}, storeFailed(err)
	}
	return caller{id: id, client: c}, nil
}

// authenticateSecret authenticates client id with secret (RFC 6749
// §2.3.1), throttled as logins are, by client id and address: an unknown
// client costs the hash of a dummy, so that the time of the answer does
// not tell which clients exist. Any failure is 401 invalid_client, with
// the Basic challenge.
func (a *Authenticator) authenticateSecret(r *http.Request, id, secret string) (caller, error) {
	ctx := r.Context()
	if id == "" || !validClientID(id) || a.cfg.Clients == nil {
		return caller{}, errClientAuth()
	}
	// Failures are counted per client and address, and per address:
	// a secret is the client's to make long and random, and a bound per
	// client alone would let anyone lock a service out from addresses of
	// their own. Successes are not counted: a service authenticates on
	// every request.
	key := clientThrottleKey(id)
	if a.throttle != nil {
		key += "\x00" + a.throttle.clientIP(r).String()
	}
	ticket, err := a.startLogin(r, key, "", id)
	if err != nil {
		return caller{}, err
	}
	c, lookupErr := a.cfg.Clients.LookupClient(ctx, id)
	var ok bool
	why := audit.UnknownClient
	switch {
	case errors.Is(lookupErr, ErrNotFound) || lookupErr == nil && (c == nil || c.ID != id):
		_, err = a.verifyHash(ctx, ticket.prio, a.dummyHash, secret)
	case lookupErr != nil:
		err = storeFailed(lookupErr)
	case !c.confidential():
		// A public client has no secret to present: refused, after the
		// same hash as any other guess, so that the time of the answer
		// does not tell public clients from unknown ones.
		why = audit.WrongSecret
		_, err = a.verifyHash(ctx, ticket.prio, a.dummyHash, secret)
	default:
		why = audit.WrongSecret
		ok, err = a.verifyHash(ctx, ticket.prio, c.SecretHash, secret)
	}
	settled := err
	if ok && err == nil {
		settled = errNotALogin // a success: the attempt is not counted
	}
	a.endLogin(ctx, ticket, false, settled, a.now())
	if errors.Is(err, errHashBusy) {
		a.emit(ctx, r, audit.Event{Type: audit.LoginThrottled, Reason: audit.Overloaded, ClientID: id})
	}
	if err != nil {
		return caller{}, err
	}
	if !ok {
		a.emit(ctx, r, audit.Event{Type: audit.LoginFailed, Reason: why, ClientID: id})
		return caller{}, errClientAuth()
	}
	return caller{id: id, client: c, authenticated: true}, nil
}

// errNotALogin settles a client's successful authentication in the
// login throttle as not counted at all (endLogin refunds it).
var errNotALogin = errors.New("tollgate: a client authenticated")

// clientThrottleKey is a client's key in the login throttle: a control
// character no username has (they are refused) keeps it apart from every
// username.
func clientThrottleKey(id string) string { return "\x00client\x00" + id }

// errClientAuth is the answer to a client that failed to authenticate
// (RFC 6749 §5.2): 401 invalid_client with the Basic challenge, whichever
// way it sent its credentials.
func errClientAuth() *Error {
	return kindInvalidClient.new("Client authentication failed", nil)
}

// secretRequired is the answer to a confidential client that did not
// authenticate.
func secretRequired() *Error {
	return kindInvalidClient.new("Client authentication required", nil)
}

// invalidClient is RFC 6749 §5.2 invalid_client: 401, with a Basic
// challenge when the client used the Basic header.
func invalidClient(basic bool, desc string) *Error {
	e := kindInvalidClient.new(desc, nil)
	if !basic {
		// The spec allows 400 when the client did not use the
		// Authorization header; 401 needs a challenge, which the token
		// endpoint's error writer adds for Basic.
		e.Status = 400
	}
	return e
}
