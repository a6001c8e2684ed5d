// Package audit is the vocabulary of tollgate's security events: what
// Config.OnEvent receives, with a typed Reason for every refusal, and
// [Slog], a ready hook that writes them to a log/slog logger.
//
// Events carry no password, token or secret: a token is named by its
// "jti" (an id), a refresh-token family by its random id.
package audit

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/tollgate-go/tollgate/internal/logflood"
)

// A Type says what happened.
type Type string

// The event types.
const (
	// LoginSucceeded: tokens were issued for a login (the password grant,
	// or Authenticator.Issue from the service's own login code).
	LoginSucceeded Type = "login_succeeded"
	// LoginFailed: a login was refused. Reason: UnknownUser, WrongPassword,
	// UserDisabled or ScopeNotHeld.
	LoginFailed Type = "login_failed"
	// LoginThrottled: a login was refused without checking the password.
	// Reason: ThrottledUsername or ThrottledIP (429, over the login
	// throttle's limit), or Overloaded (503, every hashing slot stayed
	// taken).
	LoginThrottled Type = "login_throttled"
	// RefreshRotated: a refresh token was spent and replaced.
	RefreshRotated Type = "refresh_rotated"
	// RefreshReused: a spent refresh token came back; its family was
	// revoked (RFC 9700 §4.14.2).
	RefreshReused Type = "refresh_reused"
	// RefreshGraceReuse: a just-spent refresh token was honoured once
	// within the configured grace period.
	RefreshGraceReuse Type = "refresh_grace_reuse"
	// RefreshRejected: a refresh of a user that can no longer log in.
	// Reason: UnknownUser or UserDisabled.
	RefreshRejected Type = "refresh_rejected"
	// TokenRevoked: a refresh-token family was revoked. Reason:
	// RevocationRequest or TooManySessions.
	TokenRevoked Type = "token_revoked"
	// AccessTokenRevoked: an access token's jti was put on the denylist.
	// Reason: RevocationRequest or RefreshReuse.
	AccessTokenRevoked Type = "access_token_revoked"
	// AccessDenied: a protected route refused a request (RFC 6750 §3.1);
	// Reason says why. Subject, ClientID and TokenID are set when the
	// token itself was valid (InsufficientScope, Revoked, UserInactive).
	AccessDenied Type = "access_denied"
	// ScopeUnregistered: a user holds a scope that is not registered in
	// Config.Scopes, so it is never granted: a setup mistake. Scope names
	// it; reported once per scope.
	ScopeUnregistered Type = "scope_unregistered"

	// KeySetChanged: a remote key set (package remotekeys) now holds
	// other keys; Detail names the set and the key ids added and removed.
	KeySetChanged Type = "key_set_changed"
	// KeySetFetchFailed: a remote key set could not be fetched or read;
	// verification goes on with the keys fetched before. Detail names the
	// set and the cause.
	KeySetFetchFailed Type = "key_set_fetch_failed"
)

// A Reason says why a login, refresh or request was refused. It is for
// operators: the client's answer never says more than RFC 6749 §5.2 or
// RFC 6750 §3.1 allow.
type Reason string

// Reasons of LoginFailed and RefreshRejected.
const (
	UnknownUser    Reason = "unknown_user"
	WrongPassword  Reason = "wrong_password"
	UserDisabled   Reason = "user_disabled"
	ScopeNotHeld   Reason = "scope_not_held"  // a requested scope the user does not hold
	SessionExpired Reason = "session_expired" // the login is older than User.ValidAfter
	UnknownClient  Reason = "unknown_client"  // a client secret for a client that does not exist
	WrongSecret    Reason = "wrong_secret"    // a wrong client secret, or a secret from a public client
)

// Reasons of LoginThrottled.
const (
	ThrottledUsername Reason = "username"
	ThrottledIP       Reason = "client_ip"
	Overloaded        Reason = "overloaded"
)

// Reasons of AccessDenied: the cause of a rejected request or token.
const (
	NoToken           Reason = "no_token"           // no credentials at all (401, bare challenge)
	InvalidRequest    Reason = "invalid_request"    // malformed credentials or two ways of sending them (400)
	Malformed         Reason = "malformed"          // not a compact JWS; bad header, claims JSON or scope claim
	TooLarge          Reason = "token_too_large"    // longer than tollgate reads
	BadSignature      Reason = "bad_signature"      // the signature does not verify
	UnknownKey        Reason = "unknown_kid"        // no configured key has the token's "kid"
	WrongAlgorithm    Reason = "wrong_alg"          // "alg" is not the key's (RFC 8725 §3.1)
	WrongType         Reason = "wrong_typ"          // "typ" is not at+jwt (RFC 9068 §4)
	UnsupportedHeader Reason = "unsupported_header" // crit, jku, x5u, jwk, x5c, b64 or zip (RFC 8725 §3.10)
	WrongIssuer       Reason = "wrong_issuer"       // "iss" missing or not Config.Issuer
	WrongAudience     Reason = "wrong_audience"     // "aud" names none of Config.Audience
	NoSubject         Reason = "no_subject"         // "sub" missing
	NoExpiry          Reason = "no_expiry"          // "exp" missing
	Expired           Reason = "token_expired"      // past "exp" (with leeway)
	NotYetValid       Reason = "not_yet_valid"      // before "nbf", or "iat" in the future
	Revoked           Reason = "token_revoked"      // its jti is on the denylist
	NoTokenID         Reason = "no_jti"             // no "jti" while the denylist is on
	UserInactive      Reason = "user_inactive"      // user disabled or deleted since (Config.LoadUser)
	InsufficientScope Reason = "insufficient_scope" // valid, but lacks a required scope (403)
	CrossOrigin       Reason = "cross_origin"       // a cross-origin request authenticated by a cookie (403, tollgate.ErrCrossOrigin)
)

// ReasonOf returns the reason of an error that tollgate returned for a
// rejected token or request (from Authenticator.Authenticate, say), or ""
// if err carries none. The reason is the operator's: the client's answer
// never names it.
func ReasonOf(err error) Reason {
	var r interface{ AuditReason() Reason }
	if errors.As(err, &r) {
		return r.AuditReason()
	}
	return ""
}

// Reasons of TokenRevoked and AccessTokenRevoked.
const (
	RevocationRequest Reason = "revocation_request" // at the revocation endpoint, or Authenticator.RevokeUser
	RefreshReuse      Reason = "refresh_reused"     // its family was revoked on reuse
	TooManySessions   Reason = "too_many_sessions"  // the user's oldest session, past Config.RefreshMaxSessions
)

// An Event is a security-relevant fact for audit logs. It never holds a
// password or a token.
type Event struct {
	Type       Type
	Reason     Reason
	Time       time.Time
	Subject    string // "sub" of the user concerned, when known
	Username   string // the username given or stored
	ClientID   string
	Family     string // the refresh-token family concerned
	TokenID    string // "jti" of the access token concerned; an id, not a secret
	Scope      string // for ScopeUnregistered: the scope
	Detail     string // for the key-set events: the set's URL and what changed or failed
	RemoteAddr string
}

// Slog returns an event hook (for Config.OnEvent) that writes each event
// to l as one record, message "tollgate: <type>", with the event's
// non-empty fields as attributes: type, sub, username, client_id, family,
// jti, reason, scope, remote_addr. A nil l is slog.Default(). Events carry
// no password and no token, so neither can reach the log; the username
// is logged as typed, which for a failed login is occasionally a password
// typed in the wrong field (OWASP Logging Cheat Sheet): keep audit logs as
// protected as other personal data.
//
// Levels: Warn for what suggests an attack or a setup mistake (a spent
// refresh token reused, a throttled or shed login, a failed login, an
// unregistered scope); Debug for a request without any token (browsers
// and probes send many, and logging each at a higher level turns logs
// into an amplifier); Info for the rest.
//
// Under a flood the log stays bounded: of the events of one type and
// reason, at most 10 a second are written; the rest are counted, and the
// count is written as one record, message "tollgate: <type> (suppressed)"
// with the attribute suppressed, when the next such event comes (a count
// is not written until then). Refresh reuse and revocations, rare by
// construction and what an investigation needs whole, are never
// summarised.
func Slog(l *slog.Logger) func(context.Context, Event) {
	if l == nil {
		l = slog.Default()
	}
	limit := &logflood.Limiter{Window: time.Second, Burst: 10}
	return func(ctx context.Context, e Event) {
		level := slog.LevelInfo
		switch e.Type {
		case RefreshReused, LoginThrottled, LoginFailed, RefreshGraceReuse, ScopeUnregistered, KeySetFetchFailed:
			level = slog.LevelWarn
		case AccessDenied:
			if e.Reason == NoToken {
				level = slog.LevelDebug
			}
		}
		if !l.Enabled(ctx, level) {
			return
		}
		now := e.Time
		if now.IsZero() {
			now = time.Now()
		}
		ok, suppressed := true, 0
		switch e.Type {
		case RefreshReused, TokenRevoked, AccessTokenRevoked, ScopeUnregistered, KeySetChanged:
			// Rare by construction (each needs a login, or a setup
			// mistake) and what an investigation needs whole: never
			// summarised.
		default:
			ok, suppressed = limit.Allow(string(e.Type)+"/"+string(e.Reason), now)
		}
		if suppressed > 0 {
			l.LogAttrs(ctx, level, "tollgate: "+string(e.Type)+" (suppressed)", slog.String("type", string(e.Type)),
				slog.String("reason", string(e.Reason)), slog.Int("suppressed", suppressed))
		}
		if !ok {
			return
		}
		attrs := make([]slog.Attr, 0, 10)
		attrs = append(attrs, slog.String("type", string(e.Type)))
		add := func(k, v string) {
			if v != "" {
				attrs = append(attrs, slog.String(k, v))
			}
		}
		add("sub", e.Subject)
		add("username", e.Username)
		add("client_id", e.ClientID)
		add("family", e.Family)
		add("jti", e.TokenID)
		add("reason", string(e.Reason))
		add("scope", e.Scope)
		add("remote_addr", e.RemoteAddr)
		add("detail", e.Detail)
		l.LogAttrs(ctx, level, "tollgate: "+string(e.Type), attrs...)
	}
}
