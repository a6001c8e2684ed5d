package tollgate

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
)

// IntrospectionHandler returns the token introspection endpoint of RFC
// 7662, to be mounted at POST /introspect, for the confidential clients
// of Config.Clients (a resource server, say), which authenticate as at
// the token endpoint (§2.1); any other caller gets 401 invalid_client.
// It takes a form with "token" (and an optional "token_type_hint",
// which the token's shape makes unneeded) and answers 200 with:
//
//   - for an access token that protected routes would accept now (its
//     signature, issuer, audience and times, the denylist, and with
//     Config.LoadUser its user): "active": true and its claims (scope,
//     client_id, username, token_type, exp, iat, sub, aud, iss, jti);
//   - for a refresh token that the refresh grant would take now (its
//     family's current one, not expired, its user still able to log in),
//     presented by the client it was issued to: "active": true,
//     "token_type": "refresh_token" and its family's scope, client_id,
//     username, sub, iat and exp;
//   - for anything else (malformed, forged, expired, revoked, spent,
//     another client's refresh token): {"active": false} and nothing
//     more (§2.2), so that the answer never tells one case from another.
//
// A store that fails is 503, which says nothing of the token. It panics,
// like TokenHandler, on an Authenticator that does not issue tokens.
func (a *Authenticator) IntrospectionHandler() http.Handler {
	a.mustIssue("IntrospectionHandler")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		form, cl, err := a.readForm(w, r)
		if err == nil && !cl.authenticated {
			err = secretRequired() // RFC 7662 §2.1: the caller authenticates
		}
		if err != nil {
			var e *Error
			if errors.As(err, &e) && e.Code == kindInvalidClient.code {
				e.Status = http.StatusUnauthorized // with the Basic challenge (writeError)
			}
			a.writeError(w, r, err)
			return
		}
		token := form.Get("token")
		if token == "" {
			a.writeError(w, r, kindInvalidRequest.new("The token parameter is missing", nil))
			return
		}
		answer, err := a.introspect(r, token, cl)
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		setJSONHeaders(w.Header())
		w.WriteHeader(http.StatusOK)
		_ = json.NewEncoder(w).Encode(answer)
	})
}

// inactive is the answer for every token that is not active (RFC 7662
// §2.2).
var inactive = map[string]any{"active": false}

// introspect returns the RFC 7662 §2.2 answer for token, or a server
// fault (a store that failed).
func (a *Authenticator) introspect(r *http.Request, token string, cl caller) (map[string]any, error) {
	ctx := r.Context()
	if h, ok := parseRefresh(token); ok {
		if a.cfg.Refresh == nil {
			return inactive, nil
		}
		f, err := a.cfg.Refresh.Lookup(ctx, familyID(h))
		switch {
		case errors.Is(err, ErrNotFound):
			return inactive, nil
		case err != nil:
			return nil, storeFailed(err)
		}
		now := a.now()
		if hashRefresh(token) != f.Hash || !now.Before(f.ExpiresAt) || !now.Before(f.FamilyExpiresAt) || f.ClientID != cl.id {
			return inactive, nil
		}
		// Active only if the refresh grant would take it: its user can
		// still log in.
		if _, why, err := a.familyUser(ctx, &f, nil, false); err != nil {
			return nil, err
		} else if why != "" {
			return inactive, nil
		}
		return map[string]any{
			"active": true, "token_type": "refresh_token", "scope": formatScope(f.Scopes),
			"client_id": f.ClientID, "username": f.Username, "sub": f.Subject,
			"iat": f.IssuedAt.Unix(), "exp": f.ExpiresAt.Unix(), "iss": a.cfg.Issuer,
		}, nil
	}
	if len(token) > maxTokenBytes || strings.ContainsAny(token, " \t\r\n") {
		return inactive, nil
	}
	req := r.Clone(ctx)
	req.Header = http.Header{"Authorization": {"Bearer " + token}}
	p, err := a.authenticate(req)
	if err != nil {
		var e *Error
		if errors.As(err, &e) && e.Status < 500 {
			return inactive, nil
		}
		return nil, err // a store that failed: no answer about the token
	}
	var claims struct {
		Aud any `json:"aud"`
	}
	_ = p.DecodeClaims(&claims)
	out := map[string]any{
		"active": true, "token_type": "Bearer", "scope": formatScope(p.Scopes),
		"client_id": p.ClientID, "sub": p.Subject, "iss": a.cfg.Issuer,
		"exp": p.ExpiresAt.Unix(), "iat": p.IssuedAt.Unix(), "jti": p.TokenID, "aud": claims.Aud,
	}
	if !p.Client {
		out["username"] = p.Username
	}
	return out, nil
}
