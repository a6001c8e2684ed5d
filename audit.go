package tollgate

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
)

// The events of the brute-force, overload and revocation defences, and of
// rejected requests on protected routes. See also the login and refresh
// events beside [Event].
const (
	// EventLoginThrottled: a login was refused without checking the
	// password. Reason: "username" or "client_ip" (429, over the
	// Config.LoginThrottle limit), or "overloaded" (503, every hashing slot
	// of Config.MaxConcurrentHashes stayed taken).
	EventLoginThrottled EventType = "login_throttled"

	// EventAccessDenied: a protected route refused a request (RFC 6750
	// §3.1). Reason: "no_token", "invalid_request", "invalid_token",
	// "token_expired", "token_revoked", "user_inactive" or
	// "insufficient_scope". Subject, ClientID and TokenID are set for
	// insufficient_scope, when the token itself was valid.
	EventAccessDenied EventType = "access_denied"

	// EventAccessTokenRevoked: an access token's jti was put on the
	// Config.Denylist. Reason: "revocation_request" (the token, or its
	// refresh token, was presented to the revocation endpoint) or
	// "refresh_reused" (its family was revoked on reuse).
	EventAccessTokenRevoked EventType = "access_token_revoked"
)

// deniedReason names why a protected request was rejected, for
// EventAccessDenied.
func deniedReason(e *Error) string {
	switch {
	case e.Code == "":
		return "no_token"
	case e.Code != ErrInvalidToken.Code:
		return e.Code
	case errors.Is(e.Err, errExpired):
		return "token_expired"
	case errors.Is(e.Err, errRevoked):
		return "token_revoked"
	case e.Description == descInactiveUser:
		return "user_inactive"
	}
	return e.Code
}

// emitDenied reports a rejected protected request. It is only on the
// rejection path, and returns at once without an OnEvent hook.
func (a *Authenticator) emitDenied(r *http.Request, p *Principal, err error) {
	if a.cfg.OnEvent == nil {
		return
	}
	var e *Error
	if !errors.As(err, &e) || e.Status >= 500 {
		return // a server fault, logged by writeError
	}
	ev := Event{Type: EventAccessDenied, Reason: deniedReason(e)}
	if p != nil {
		ev.Subject, ev.Username, ev.ClientID, ev.TokenID = p.Subject, p.Username, p.ClientID, p.TokenID
	}
	a.emit(r.Context(), r, ev)
}

// SlogEvents returns an OnEvent hook (Config.OnEvent) that writes each
// event to l as one record, message "tollgate: <type>", with the event's
// non-empty fields as attributes: type, sub, username, client_id, family,
// jti, reason, remote_addr. Events carry no password and no token, so
// neither can reach the log; the username is logged as typed, which for a
// failed login is occasionally a password typed in the wrong field
// (OWASP Logging Cheat Sheet): keep audit logs as protected as other
// personal data.
//
// Levels: Warn for what suggests an attack (a spent refresh token reused,
// a throttled or shed login, a failed login); Debug for a request without
// any token (browsers and probes send many, and logging each at a higher
// level turns logs into an amplifier); Info for the rest.
func SlogEvents(l *slog.Logger) func(context.Context, Event) {
	if l == nil {
		l = slog.Default()
	}
	return func(ctx context.Context, e Event) {
		level := slog.LevelInfo
		switch e.Type {
		case EventRefreshReused, EventLoginThrottled, EventLoginFailed, EventRefreshGraceReuse:
			level = slog.LevelWarn
		case EventAccessDenied:
			if e.Reason == "no_token" {
				level = slog.LevelDebug
			}
		}
		if !l.Enabled(ctx, level) {
			return
		}
		attrs := make([]slog.Attr, 0, 8)
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
		add("reason", e.Reason)
		add("remote_addr", e.RemoteAddr)
		l.LogAttrs(ctx, level, "tollgate: "+string(e.Type), attrs...)
	}
}
