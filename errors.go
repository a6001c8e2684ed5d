package tollgate

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"
)

// An Error is an OAuth 2.0 error as defined by RFC 6749 §5.2 (token and
// revocation endpoints) and RFC 6750 §3.1 (protected resources).
// Code and Description are sent to the client; Err is for logs only and is
// never written to a response.
//
// Every *Error that tollgate hands out, to a Config.ErrorHandler or to a
// caller of [Authenticator.Authenticate] or [Authenticator.Issue], is a new
// value of the caller's own: a handler may keep or modify it without
// touching any other answer. The Err values below are not *Error values,
// so there is no shared one to modify.
type Error struct {
	Code        string // "invalid_token", "insufficient_scope", ...; empty for ErrNoToken
	Description string // safe to show to the client
	Status      int    // HTTP status code
	Scope       string // for insufficient_scope: the scopes the resource needs
	Err         error  // underlying cause; never sent to the client
}

// Error returns the code and description; it never includes the cause, so
// it is as safe to log as the response body.
func (e *Error) Error() string {
	switch {
	case e.Code == "":
		return "tollgate: no access token"
	case e.Description == "":
		return "tollgate: " + e.Code
	}
	return "tollgate: " + e.Code + ": " + e.Description
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is one of the Err values below, or an *Error,
// with the same Code, so errors.Is(err, ErrInvalidToken) matches every
// invalid_token error. ErrCrossOrigin, an invalid_request of its own,
// matches only the 403 of a refused cross-origin request.
func (e *Error) Is(target error) bool {
	switch t := target.(type) {
	case *errorKind:
		if t == kindCrossOrigin {
			return e.Code == t.code && e.Status == t.status
		}
		return t.code == e.Code
	case *Error:
		return t.Code == e.Code
	}
	return false
}

// An errorKind is an error code with its status: what the Err values are,
// and the only source of *Error values (see new). It has no exported
// fields, so the package-level kinds cannot be modified.
type errorKind struct {
	code   string
	status int
	desc   string // the default description
}

func (k *errorKind) Error() string {
	if k.code == "" {
		return "tollgate: no access token"
	}
	return "tollgate: " + k.code
}

// new returns a fresh *Error of kind k; an empty desc takes the kind's
// default.
func (k *errorKind) new(desc string, cause error) *Error {
	if desc == "" {
		desc = k.desc
	}
	return &Error{Code: k.code, Status: k.status, Description: desc, Err: cause}
}

// The kinds of error tollgate answers with.
var (
	kindNoToken            = &errorKind{"", http.StatusUnauthorized, "No access token was presented"}
	kindInvalidRequest     = &errorKind{"invalid_request", http.StatusBadRequest, ""}
	kindInvalidToken       = &errorKind{"invalid_token", http.StatusUnauthorized, "The access token is invalid"}
	kindInsufficientScope  = &errorKind{"insufficient_scope", http.StatusForbidden, "The access token lacks a required scope"}
	kindInvalidClient      = &errorKind{"invalid_client", http.StatusUnauthorized, ""}
	kindInvalidGrant       = &errorKind{"invalid_grant", http.StatusBadRequest, ""}
	kindInvalidScope       = &errorKind{"invalid_scope", http.StatusBadRequest, ""}
	kindUnsupportedGrant   = &errorKind{"unsupported_grant_type", http.StatusBadRequest, ""}
	kindUnauthorizedClient = &errorKind{"unauthorized_client", http.StatusBadRequest, ""}
	kindServer             = &errorKind{"server_error", http.StatusInternalServerError, "The server could not complete the request"}
	// 429 (RFC 6585 §4) with "slow_down": RFC 6749 §5.2 has no code for
	// it; "slow_down" is the token-endpoint error registered by RFC 8628
	// §3.5 for a client that must wait before it asks again, which is what
	// this is, and a client that does not know it treats it as any other
	// error. The status, not the code, carries the meaning.
	kindSlowDown = &errorKind{"slow_down", http.StatusTooManyRequests, "Too many failed logins; retry later"}
	// 503 with "temporarily_unavailable" (RFC 6749 §4.1.2.1, the code
	// OAuth uses for an overloaded server).
	kindUnavailable = &errorKind{"temporarily_unavailable", http.StatusServiceUnavailable, "The server is busy; retry later"}
	kindStoreDown   = &errorKind{"temporarily_unavailable", http.StatusServiceUnavailable, "The service is temporarily unavailable; retry later"}
)

// The errors tollgate answers with; compare with [errors.Is]. Each answer
// carries an [*Error] of its own with this code.
var (
	// ErrNoToken: the request carried no access token (RFC 6750 §3.1: 401,
	// a bare challenge, no error code).
	ErrNoToken error = kindNoToken
	// ErrInvalidRequest: a malformed request (400).
	ErrInvalidRequest error = kindInvalidRequest
	// ErrInvalidToken: the access token is expired, revoked, malformed or
	// forged (RFC 6750 §3.1: 401).
	ErrInvalidToken error = kindInvalidToken
	// ErrInsufficientScope: the token is valid but lacks a required scope
	// (RFC 6750 §3.1: 403).
	ErrInsufficientScope error = kindInsufficientScope
	// ErrInvalidClient: client authentication failed (RFC 6749 §5.2: 401).
	ErrInvalidClient error = kindInvalidClient
	// ErrInvalidGrant: wrong credentials, a disabled user, or a bad,
	// expired, spent or revoked refresh token (RFC 6749 §5.2: 400).
	ErrInvalidGrant error = kindInvalidGrant
	// ErrInvalidScope: a requested scope is unknown, or not the user's, or
	// wider than the original grant (RFC 6749 §5.2: 400).
	ErrInvalidScope error = kindInvalidScope
	// ErrUnsupportedGrantType: a grant_type other than password and
	// refresh_token (RFC 6749 §5.2: 400).
	ErrUnsupportedGrantType error = kindUnsupportedGrant
	// ErrUnauthorizedClient: the client may not use the grant type (its
	// Client.Grants; client_credentials for a public client) (RFC 6749
	// §5.2: 400).
	ErrUnauthorizedClient error = kindUnauthorizedClient
	// ErrServer: a server-side failure other than a store's (500): a
	// Config.Claims hook or a signer that failed. The cause is logged,
	// never sent. A store that fails (a database down) is 503
	// temporarily_unavailable with Retry-After instead: the client may
	// retry, and the service recovers by itself when the store is back.
	ErrServer error = kindServer
)

// Store contract errors. Implementations of [UserStore], [RefreshStore]
// and [ClientStore] return them, wrapped or not; tollgate tests them with
// [errors.Is].
var (
	// ErrNotFound: no such user, client or refresh token (or the token's
	// family was revoked).
	ErrNotFound = errors.New("tollgate: not found")
	// ErrReused: the refresh token was already spent.
	ErrReused = errors.New("tollgate: refresh token reused")
)

// storeRetryAfter is the Retry-After of an answer to a request that met
// a failing store.
const storeRetryAfter = 2 * time.Second

// storeFault marks the cause of a store's failure, for the bounded error
// log of writeError.
type storeFault struct{ err error }

func (e *storeFault) Error() string { return "tollgate: store: " + e.err.Error() }
func (e *storeFault) Unwrap() error { return e.err }

// storeFailed is the answer to a request whose store call failed with
// err (not ErrNotFound or ErrReused, which callers handle): 503
// temporarily_unavailable with Retry-After (RFC 6749 §5.2 has no code for
// it; RFC 6749 §4.1.2.1's is the one OAuth uses for a server that cannot
// answer now). Nothing was changed by the failed call: every store method
// is one atomic step.
func storeFailed(err error) error {
	return &retryAfterError{err: kindStoreDown.new("", &storeFault{err}), after: storeRetryAfter}
}

// errorBody is the RFC 6749 §5.2 error response.
type errorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// DefaultErrorHandler writes err as the RFC 6749 §5.2 JSON body
// {"error","error_description"} with the status of the [*Error] and
// Cache-Control: no-store. A request without a token (ErrNoToken) gets an
// empty error code, as RFC 6750 §3.1 asks. An error that is not an *Error
// becomes 500 server_error; its text is never sent.
//
// Custom handlers given as Config.ErrorHandler may call it to decorate the
// default. The WWW-Authenticate header has already been set when it runs.
func DefaultErrorHandler(w http.ResponseWriter, r *http.Request, err error) {
	var e *Error
	if !errors.As(err, &e) || e.Status < 400 || e.Status > 599 {
		// Not an error of tollgate's making (a store's own *Error without
		// a status, say): a 500 that says nothing of it.
		e = kindServer.new("", nil)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json;charset=UTF-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(e.Status)
	body := errorBody{Error: e.Code, Description: e.Description}
	if e.Code == "" {
		body.Error = "unauthorized" // a body for humans; the challenge has no code
	}
	_ = json.NewEncoder(w).Encode(body)
}
