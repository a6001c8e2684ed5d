package tollgate

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/tollgate-go/tollgate/audit"
)

// emit delivers e to Config.OnEvent, stamped with the time and, when
// there is a request, its remote address.
func (a *Authenticator) emit(ctx context.Context, r *http.Request, e audit.Event) {
	if a.cfg.OnEvent == nil {
		return
	}
	e.Time = a.now()
	if r != nil {
		e.RemoteAddr = r.RemoteAddr
	}
	a.cfg.OnEvent(ctx, e)
}

// A rejection is the cause of a refused token or request: a typed reason
// for events and debug logs, never sent to the client.
type rejection struct {
	reason audit.Reason
	msg    string
}

func (r *rejection) Error() string { return "tollgate: " + r.msg }

// AuditReason makes the reason available to audit.ReasonOf.
func (r *rejection) AuditReason() audit.Reason { return r.reason }

// reasonOf returns the reason of a rejected protected request.
func reasonOf(e *Error) audit.Reason {
	var rej *rejection
	switch {
	case errors.As(e.Err, &rej):
		return rej.reason
	case e.Code == "":
		return audit.NoToken
	case e.Code == kindInsufficientScope.code:
		return audit.InsufficientScope
	case e.Code == kindInvalidRequest.code:
		return audit.InvalidRequest
	}
	return audit.Reason(e.Code)
}

// reportDenied reports a rejected protected request: an AccessDenied event
// with its typed reason, and the same at debug level in Config.Logger (the
// operator's view of what the client's RFC 6750 answer does not say). It
// is only on the rejection path, and costs nothing more when neither is on.
func (a *Authenticator) reportDenied(r *http.Request, p *Principal, err error) {
	var e *Error
	if !errors.As(err, &e) || e.Status >= 500 {
		return // a server fault, logged by writeError
	}
	ctx := r.Context()
	debug := a.cfg.Logger.Enabled(ctx, slog.LevelDebug)
	if a.cfg.OnEvent == nil && !debug {
		return
	}
	ev := audit.Event{Type: audit.AccessDenied, Reason: reasonOf(e)}
	if p != nil {
		ev.Subject, ev.Username, ev.ClientID, ev.TokenID = p.Subject, p.Username, p.ClientID, p.TokenID
	}
	if debug {
		// Bounded like audit.Slog: a flood of bad tokens is counted.
		ok, suppressed := a.debugLimit.Allow(string(ev.Reason), a.now())
		if suppressed > 0 {
			a.cfg.Logger.DebugContext(ctx, "tollgate: access denied (suppressed)", "reason", string(ev.Reason), "suppressed", suppressed)
		}
		if ok {
			a.cfg.Logger.DebugContext(ctx, "tollgate: access denied", "reason", string(ev.Reason),
				"status", e.Status, "method", r.Method, "path", r.URL.Path, "remote_addr", r.RemoteAddr)
		}
	}
	a.emit(ctx, r, ev)
}

// logStoreFault logs a store's failure at error level, at most ten lines
// a second (then one line with the count): a database that is down fails
// every request, and each would otherwise write its own line.
func (a *Authenticator) logStoreFault(r *http.Request, sf *storeFault) {
	ctx := r.Context()
	if ctx.Err() != nil && errors.Is(sf.err, context.Canceled) {
		return // the client went away: not the store's fault
	}
	ok, suppressed := a.debugLimit.Allow("store fault", a.now())
	if suppressed > 0 {
		a.cfg.Logger.ErrorContext(ctx, "tollgate: store failures (suppressed)", "suppressed", suppressed)
	}
	if ok {
		a.cfg.Logger.ErrorContext(ctx, "tollgate: a store failed; answered 503", "method", r.Method, "path", r.URL.Path, "err", sf.err)
	}
}

// writeError answers a token or revocation endpoint request with err
// (RFC 6749 §5.2). Server faults are logged with their cause.
func (a *Authenticator) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var e *Error
	var sf *storeFault
	if errors.As(err, &sf) {
		a.logStoreFault(r, sf)
	} else if !errors.As(err, &e) || e.Status >= 500 && e.Status != http.StatusServiceUnavailable {
		// A 503 is load shedding, not a fault: logging each would turn a
		// flood into a log flood.
		// A client that went away (its request context canceled) is not
		// a server fault; nobody reads the answer, so it is not logged.
		if r.Context().Err() == nil || !errors.Is(err, context.Canceled) {
			a.cfg.Logger.ErrorContext(r.Context(), "tollgate: server error", "method", r.Method, "path", r.URL.Path, "err", err)
		}
		if e == nil {
			err = kindServer.new("", err)
		}
	}
	if e != nil && e.Code == kindInvalidClient.code && e.Status == http.StatusUnauthorized {
		// RFC 6749 §5.2: a 401 names the scheme the client used.
		w.Header().Set("WWW-Authenticate", `Basic realm="`+a.cfg.Realm+`", charset="UTF-8"`)
	}
	if secs, ok := retryAfterSeconds(err); ok {
		w.Header().Set("Retry-After", secs) // 429 throttled, 503 busy
	}
	a.cfg.ErrorHandler(w, r, err)
}
