package tollgate

import (
	"context"
	"errors"
)

// A Client is an OAuth 2.0 client that may request tokens (RFC 6749 §2).
// Today tollgate serves public clients only (§2.1): a Client is known by
// its id alone.
type Client struct {
	// ID is the client_id (RFC 6749 §2.2): printable ASCII, at most 255
	// bytes.
	ID string
}

// ClientStore says which clients exist (Config.Clients). Implementations
// must be safe for concurrent use; memstore.Clients is an in-memory one.
type ClientStore interface {
	// LookupClient returns the client with the given id, or an error for
	// which errors.Is(err, ErrNotFound) is true.
	LookupClient(ctx context.Context, id string) (*Client, error)
}

// checkClient returns the id of the client a request names ("" names the
// first-party client), or invalid_client if Config.Clients does not know
// it. basic says whether the client authenticated with HTTP Basic, for
// the status of the answer.
func (a *Authenticator) checkClient(ctx context.Context, id string, basic bool) (string, error) {
	if id == "" {
		id = defaultClientID
	}
	if !validClientID(id) {
		return "", invalidClient(basic, "Unknown client")
	}
	if a.cfg.Clients == nil {
		return id, nil
	}
	c, err := a.cfg.Clients.LookupClient(ctx, id)
	switch {
	case errors.Is(err, ErrNotFound) || err == nil && (c == nil || c.ID != id):
		return "", invalidClient(basic, "Unknown client")
	case err != nil:
		return "", storeFailed(err)
	}
	return id, nil
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
