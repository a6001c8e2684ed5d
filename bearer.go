package tollgate

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/tollgate-go/tollgate/audit"
	"github.com/tollgate-go/tollgate/internal/jose"
)

// Descriptions sent with Bearer errors.
const (
	descMalformed     = "Malformed Bearer credentials"
	descMultiple      = "Multiple Authorization headers"
	descTwoMethods    = "The access token was sent in more than one way"
	descInvalidToken  = "The access token is invalid"
	descExpired       = "The access token expired"
	descInactiveUser  = "The user is no longer active"
	descGoneClient    = "The client is no longer active"
	descTokenTooLarge = "The access token is too large"
)

// validB64Token reports whether s is a b64token of RFC 6750 §2.1:
// 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func validB64Token(s string) bool {
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		if !jose.IsB64URL(c) && c != '.' && c != '~' && c != '+' && c != '/' {
			break
		}
	}
	if i == 0 {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] != '=' {
			return false
		}
	}
	return true
}

// parseAuthorization parses one Authorization header value. It returns
// ok false when the scheme is not Bearer (the request then carries no
// Bearer token: RFC 6750 §3.1), and an error for malformed Bearer
// credentials. The scheme is matched case-insensitively (RFC 7235 §2.1).
func parseAuthorization(v string) (token string, ok bool, err error) {
	scheme, rest, _ := strings.Cut(v, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", false, nil
	}
	// One or more spaces may separate scheme and token (RFC 7235 §2.1
	// "1*SP"); the token itself has none.
	// Its characters (the b64token syntax of RFC 6750 §2.1) are checked by
	// verifyAccess, after the cache of verified tokens: a token seen and
	// verified before is not scanned again.
	token = strings.TrimLeft(rest, " ")
	if token == "" {
		return "", true, kindInvalidRequest.new(descMalformed, nil)
	}
	return token, true, nil
}

// extractToken returns the access token of r: from the Authorization
// header (RFC 6750 §2.1) and, only when configured, from the access_token
// query parameter (§2.3) or a cookie. A request that uses more than one
// method, or sends several Authorization headers, is invalid_request.
// No token at all is ErrNoToken.
func (a *Authenticator) extractToken(r *http.Request) (string, error) {
	var token string
	found := false
	if vs := r.Header["Authorization"]; len(vs) > 0 {
		if len(vs) > 1 {
			return "", kindInvalidRequest.new(descMultiple, nil)
		}
		t, ok, err := parseAuthorization(vs[0])
		if err != nil {
			return "", err
		}
		token, found = t, ok
	}
	if a.cfg.Tokens.Query && r.URL.RawQuery != "" {
		if qs, ok := r.URL.Query()["access_token"]; ok {
			if found || len(qs) != 1 {
				return "", kindInvalidRequest.new(descTwoMethods, nil)
			}
			if !validB64Token(qs[0]) {
				return "", kindInvalidRequest.new(descMalformed, nil)
			}
			token, found = qs[0], true
		}
	}
	if a.cfg.Tokens.Cookie != "" && !found {
		if c, err := r.Cookie(a.cfg.Tokens.Cookie); err == nil && c.Value != "" {
			// The browser sends the cookie on requests other sites make:
			// an unsafe one must be same-origin (cookies.go).
			if err := a.checkOrigin(r); err != nil {
				return "", err
			}
			if !validB64Token(c.Value) {
				return "", kindInvalidRequest.new(descMalformed, nil)
			}
			token, found = c.Value, true
		}
	}
	if !found {
		return "", kindNoToken.new("", nil)
	}
	return token, nil
}

// Authenticate verifies the access token of r and returns its Principal.
// The error is an [*Error] that says how to answer (ErrNoToken,
// ErrInvalidRequest or ErrInvalidToken), or a server fault when a store
// fails (Config.LoadUser, Config.Denylist). A rejection is reported as
// [Authenticator.RequireScopes] reports it (an audit.AccessDenied event,
// a debug log line), and audit.ReasonOf(err) gives its cause.
//
// Most programs use [Authenticator.RequireScopes] instead; Authenticate is
// for callers outside a handler chain, such as a WebSocket upgrade.
func (a *Authenticator) Authenticate(r *http.Request) (*Principal, error) {
	p, err := a.authenticate(r)
	if err != nil {
		a.reportDenied(r, p, err)
		return nil, err
	}
	return p, nil
}

// authenticate is Authenticate without the report. A token that verified
// but was then refused (revoked, its user inactive) comes back with its
// Principal beside the error, for the report only.
func (a *Authenticator) authenticate(r *http.Request) (*Principal, error) {
	token, err := a.extractToken(r)
	if err != nil {
		return nil, err
	}
	p, err := a.verifyRefreshing(r.Context(), token)
	if err != nil {
		return nil, err
	}
	// After verification and any cache of verified tokens, on every
	// request: a revoked token is refused even if it was cached.
	if err := a.checkDenylist(r.Context(), p); err != nil {
		return p, err
	}
	if a.cfg.LoadUser {
		var err error
		if p.Client {
			err = a.loadClient(r.Context(), p) // a client's own token: no user to load
		} else {
			err = a.loadUser(r.Context(), p)
		}
		if err != nil {
			return p, err
		}
	}
	return p, nil
}

// errInactive is the cause for a token of a user disabled or deleted
// since it was issued.
var errInactive = &rejection{audit.UserInactive, "user disabled or deleted since the token was issued"}

// loadUser attaches the current user to p, rejecting users disabled or
// deleted since the token was issued.
func (a *Authenticator) loadUser(ctx context.Context, p *Principal) error {
	u, err := a.cfg.Users.LookupUser(ctx, p.Username)
	switch {
	case errors.Is(err, ErrNotFound) || err == nil && (u == nil || u.Disabled || u.subject() != p.Subject ||
		!u.ValidAfter.IsZero() && p.IssuedAt.Before(u.ValidAfter.Truncate(time.Second))):
		cause := error(errInactive)
		if err != nil {
			cause = fmt.Errorf("%w: %w", errInactive, err)
		}
		return kindInvalidToken.new(descInactiveUser, cause)
	case err != nil:
		return storeFailed(err)
	}
	p.User = u
	return nil
}

// loadClient, with Config.LoadUser, refuses the token of a client acting
// for itself (Principal.Client) once the client is gone from
// Config.Clients, as loadUser refuses a deleted user's. p.User stays nil:
// a client is no user.
func (a *Authenticator) loadClient(ctx context.Context, p *Principal) error {
	if a.cfg.Clients == nil {
		return nil
	}
	c, err := a.cfg.Clients.LookupClient(ctx, p.ClientID)
	switch {
	case errors.Is(err, ErrNotFound) || err == nil && (c == nil || c.ID != p.ClientID || !c.allows("client_credentials")):
		return kindInvalidToken.new(descGoneClient, errInactive)
	case err != nil:
		return storeFailed(err)
	}
	return nil
}

// RequireScopes returns middleware that lets a request through only if it
// carries a valid access token granted every one of scopes; with no scopes,
// any valid token will do (authentication only). The [Principal] is stored
// in the request context, for [FromContext].
//
// Rejected requests get the RFC 6750 §3 answer: 401 with a bare
// WWW-Authenticate challenge when there is no token, 401 invalid_token for
// a bad, expired or forged one, 400 invalid_request for a malformed
// request, and 403 insufficient_scope naming the required scopes. The body
// is written by Config.ErrorHandler.
//
// It panics if a scope is not in Config.Scopes: that is a wiring bug.
func (a *Authenticator) RequireScopes(scopes ...string) func(http.Handler) http.Handler {
	a.scopes.mustKnow("RequireScopes", scopes)
	scopes = append([]string(nil), scopes...)
	return a.middleware(scopes, func(have []string) bool { return hasAll(have, scopes) })
}

// RequireAnyScope is like [Authenticator.RequireScopes] but lets a request
// through if its token was granted at least one of scopes. It panics if
// scopes is empty or names an unregistered scope.
func (a *Authenticator) RequireAnyScope(scopes ...string) func(http.Handler) http.Handler {
	if len(scopes) == 0 {
		panic("tollgate: RequireAnyScope() needs at least one scope")
	}
	a.scopes.mustKnow("RequireAnyScope", scopes)
	scopes = append([]string(nil), scopes...)
	return a.middleware(scopes, func(have []string) bool { return hasAny(have, scopes) })
}

// middleware builds the handler wrapper shared by RequireScopes and
// RequireAnyScope.
func (a *Authenticator) middleware(scopes []string, ok func([]string) bool) func(http.Handler) http.Handler {
	need := formatScope(scopes)
	return func(next http.Handler) http.Handler {
		return guard(func(w http.ResponseWriter, r *http.Request) {
			p, err := a.authenticate(r)
			if err == nil && !ok(p.Scopes) {
				e := kindInsufficientScope.new("", nil)
				e.Scope = need
				err = e
			}
			if err != nil {
				a.reportDenied(r, p, err) // audit.go; off the success path
				a.reject(w, r, err)
				return
			}
			next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), p)))
		})
	}
}

// guard is the handler of RequireScopes and RequireAnyScope: an
// http.HandlerFunc under a type of its own, so that [Authenticator.API]
// can refuse a Route.Handler already guarded (its scopes would be
// enforced but not documented). It costs nothing more than HandlerFunc.
type guard func(http.ResponseWriter, *http.Request)

// ServeHTTP calls g(w, r).
func (g guard) ServeHTTP(w http.ResponseWriter, r *http.Request) { g(w, r) }

// reject answers a protected request that failed. The challenge header is
// the library's (RFC 6750 §3); the body is Config.ErrorHandler's.
func (a *Authenticator) reject(w http.ResponseWriter, r *http.Request, err error) {
	var e *Error
	if errors.As(err, &e) && e.Status < 500 {
		if !errors.Is(e, ErrCrossOrigin) {
			// A forged request is refused whatever its token: no
			// challenge asks for another.
			w.Header().Set("WWW-Authenticate", a.challengeFor(e))
		}
		a.cfg.ErrorHandler(w, r, err)
		return
	}
	a.writeError(w, r, err)
}

// challengeFor returns the WWW-Authenticate value for e (RFC 6750 §3):
// the realm alone when the request had no token (§3.1), otherwise with
// error, error_description and, for insufficient_scope, scope.
func (a *Authenticator) challengeFor(e *Error) string {
	if e.Code == "" {
		return a.challenge
	}
	var b strings.Builder
	b.Grow(len(a.challenge) + 64 + len(e.Scope))
	b.WriteString(a.challenge)
	b.WriteString(`, error="`)
	b.WriteString(e.Code)
	b.WriteByte('"')
	if e.Description != "" {
		b.WriteString(`, error_description="`)
		b.WriteString(e.Description)
		b.WriteByte('"')
	}
	if e.Scope != "" {
		b.WriteString(`, scope="`)
		b.WriteString(e.Scope)
		b.WriteByte('"')
	}
	return b.String()
}
