package tollgate

import (
	"encoding/json"
	"errors"
	"net/http"
)

// An Error is an OAuth 2.0 error as defined by RFC 6749 §5.2 (token and
// revocation endpoints) and RFC 6750 §3.1 (protected resources).
// Code and Description are sent to the client; Err is for logs only and is
// never written to a response.
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

// Is reports whether target is an *Error with the same Code, so
// errors.Is(err, ErrInvalidToken) matches every invalid_token error.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// with returns a copy of e; the package-level values are never mutated.
func (e *Error) with(desc string, cause error) *Error {
	c := *e
	c.Description, c.Err = desc, cause
	return &c
}

// The errors tollgate produces. Each response carries a copy with its own
// Description; compare with [errors.Is].
var (
	// ErrNoToken: the request carried no access token (RFC 6750 §3.1: 401,
	// a bare challenge, no error code).
	ErrNoToken = &Error{Status: http.StatusUnauthorized, Description: "No access token was presented"}
	// ErrInvalidRequest: a malformed request (400).
	ErrInvalidRequest = &Error{Code: "invalid_request", Status: http.StatusBadRequest}
	// ErrInvalidToken: the access token is expired, revoked, malformed or
	// forged (RFC 6750 §3.1: 401).
	ErrInvalidToken = &Error{Code: "invalid_token", Status: http.StatusUnauthorized}
	// ErrInsufficientScope: the token is valid but lacks a required scope
	// (RFC 6750 §3.1: 403).
	ErrInsufficientScope = &Error{Code: "insufficient_scope", Status: http.StatusForbidden}
	// ErrInvalidClient: client authentication failed (RFC 6749 §5.2: 401).
	ErrInvalidClient = &Error{Code: "invalid_client", Status: http.StatusUnauthorized}
	// ErrInvalidGrant: wrong credentials, or a bad, expired, spent or revoked
	// refresh token (RFC 6749 §5.2: 400).
	ErrInvalidGrant = &Error{Code: "invalid_grant", Status: http.StatusBadRequest}
	// ErrInvalidScope: a requested scope is unknown, or not the user's, or
	// wider than the original grant (RFC 6749 §5.2: 400).
	ErrInvalidScope = &Error{Code: "invalid_scope", Status: http.StatusBadRequest}
	// ErrUnsupportedGrantType: a grant_type other than password and
	// refresh_token (RFC 6749 §5.2: 400).
	ErrUnsupportedGrantType = &Error{Code: "unsupported_grant_type", Status: http.StatusBadRequest}
	// ErrServer: a store or other server-side failure (500). The cause is
	// logged, never sent.
	ErrServer = &Error{Code: "server_error", Status: http.StatusInternalServerError, Description: "The server could not complete the request"}
)

// Store contract errors. Implementations of [UserStore] and [RefreshStore]
// return them, wrapped or not; tollgate tests them with [errors.Is].
var (
	// ErrNotFound: no such user, or no such refresh token (or its family was
	// revoked).
	ErrNotFound = errors.New("tollgate: not found")
	// ErrReused: the refresh token was already spent.
	ErrReused = errors.New("tollgate: refresh token reused")
)

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
		e = ErrServer
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
