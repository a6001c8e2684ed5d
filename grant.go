package tollgate

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxFormBytes bounds the body of token and revocation requests. A token
// request is a few hundred bytes.
const maxFormBytes = 16 << 10

// maxParamBytes bounds any one parameter but scope (and the refresh token,
// whose length is fixed); usernames and passwords longer than this are
// refused before they reach the store or the hasher.
const maxParamBytes = 1024

// grantee is who a token is issued to.
type grantee struct {
	subject, username, clientID string
}

// tokenResponse is the RFC 6749 §5.1 success body.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope"`
}

// TokenHandler returns the OAuth 2.0 token endpoint (RFC 6749 §3.2), to be
// mounted at POST /token. It serves the password grant (§4.3) and the
// refresh_token grant (§6) to public clients, answering with an access
// token, a rotated refresh token (when Config.Refresh is set) and the
// granted scope (§5.1), or an RFC 6749 §5.2 error.
//
// It panics if the Authenticator cannot issue tokens (no Config.Users or
// Config.SigningKey).
func (a *Authenticator) TokenHandler() http.Handler {
	if a.users == nil || a.keys.signing == nil {
		panic("tollgate: TokenHandler needs Config.Users and Config.SigningKey")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		form, clientID, err := a.readForm(w, r)
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		var resp *tokenResponse
		switch gt := form.Get("grant_type"); gt {
		case "password":
			resp, err = a.passwordGrant(r, form, clientID)
		case "refresh_token":
			if a.refresh == nil {
				err = ErrUnsupportedGrantType.with("The refresh_token grant is not enabled", nil)
				break
			}
			resp, err = a.refreshGrant(r, form, clientID)
		case "":
			err = ErrInvalidRequest.with("The grant_type parameter is missing", nil)
		default:
			err = ErrUnsupportedGrantType.with("Supported grant types: password, refresh_token", nil)
		}
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "application/json;charset=UTF-8")
		h.Set("Cache-Control", "no-store")
		h.Set("Pragma", "no-cache")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(appendTokenResponse(make([]byte, 0, 128+len(resp.AccessToken)+len(resp.RefreshToken)+len(resp.Scope)), resp))
	})
}

// appendTokenResponse appends the JSON of r and a newline, byte for byte
// what json.NewEncoder(w).Encode(r) writes, without reflection.
func appendTokenResponse(b []byte, r *tokenResponse) []byte {
	b = append(b, `{"access_token":`...)
	b = appendJSONString(b, r.AccessToken)
	b = append(b, `,"token_type":`...)
	b = appendJSONString(b, r.TokenType)
	b = append(b, `,"expires_in":`...)
	b = strconv.AppendInt(b, r.ExpiresIn, 10)
	if r.RefreshToken != "" {
		b = append(b, `,"refresh_token":`...)
		b = appendJSONString(b, r.RefreshToken)
	}
	b = append(b, `,"scope":`...)
	b = appendJSONString(b, r.Scope)
	return append(b, "}\n"...)
}

// readForm reads the form of a token or revocation request and
// authenticates the (public) client. The rules: POST only (else 405 with
// Allow), application/x-www-form-urlencoded only (RFC 6749 §3.2), a
// bounded body, each parameter at most once (§3.1), valid UTF-8 without
// control characters, and client credentials in the Basic header or the
// body but not both (§2.3.1). A non-empty client secret is invalid_client:
// tollgate serves public clients only.
func (a *Authenticator) readForm(w http.ResponseWriter, r *http.Request) (url.Values, string, error) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return nil, "", &Error{Code: "invalid_request", Status: http.StatusMethodNotAllowed, Description: "Use POST"}
	}
	// The exact type, as clients send it, needs no parsing.
	if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/x-www-form-urlencoded" {
			return nil, "", ErrInvalidRequest.with("The body must be application/x-www-form-urlencoded", err)
		}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxFormBytes+1))
	if err != nil {
		return nil, "", ErrInvalidRequest.with("The body could not be read", err)
	}
	if len(body) > maxFormBytes {
		return nil, "", ErrInvalidRequest.with("The body is too large", nil)
	}
	form, err := parseForm(string(body))
	if err != nil {
		return nil, "", err
	}
	clientID, err := a.authenticateClient(r, form)
	if err != nil {
		return nil, "", err
	}
	return form, clientID, nil
}

// parseForm decodes an application/x-www-form-urlencoded body, refusing
// repeated parameters (RFC 6749 §3.1), invalid UTF-8 and control
// characters, and oversized values.
func parseForm(body string) (url.Values, error) {
	form, err := url.ParseQuery(body)
	if err != nil {
		return nil, ErrInvalidRequest.with("The body is not a valid form", err)
	}
	for name, vs := range form {
		if len(vs) > 1 {
			return nil, ErrInvalidRequest.with("Parameter "+safeName(name)+" is repeated", nil)
		}
		v := vs[0]
		limit := maxParamBytes
		if name == "scope" {
			limit = maxScopeParam
		}
		if len(v) > limit {
			return nil, ErrInvalidRequest.with("Parameter "+safeName(name)+" is too long", nil)
		}
		if !utf8.ValidString(v) || hasControl(v) {
			return nil, ErrInvalidRequest.with("Parameter "+safeName(name)+" has invalid characters", nil)
		}
	}
	return form, nil
}

// safeName returns a parameter name fit to echo in a description, or a
// placeholder.
func safeName(name string) string {
	if len(name) > 32 || !validScopeToken(name) {
		return "(unnamed)"
	}
	// Single quotes: RFC 6749 §5.2 allows no '"' in error_description.
	return "'" + name + "'"
}

// hasControl reports whether s has an ASCII control character (NUL, line
// breaks, DEL...).
func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}

// authenticateClient returns the id of the public client making the
// request: from the Basic header (RFC 6749 §2.3.1, its parts form-encoded)
// or the client_id parameter, or Config.ClientID when neither names one.
// golang.org/x/oauth2 sends an empty Basic header ("Og==") for a public
// client, and may retry with the credentials in the body.
func (a *Authenticator) authenticateClient(r *http.Request, form url.Values) (string, error) {
	id, secret := form.Get("client_id"), form.Get("client_secret")
	_, inBody := form["client_id"]
	_, secretInBody := form["client_secret"]
	basic := false
	if vs := r.Header.Values("Authorization"); len(vs) > 0 {
		if len(vs) > 1 {
			return "", ErrInvalidRequest.with("Multiple Authorization headers", nil)
		}
		scheme, cred, _ := strings.Cut(vs[0], " ")
		if !strings.EqualFold(scheme, "Basic") {
			return "", ErrInvalidRequest.with("Unsupported client authentication", nil)
		}
		if inBody || secretInBody {
			return "", ErrInvalidRequest.with("Client credentials sent in more than one way", nil)
		}
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
		if err != nil {
			return "", a.invalidClient(true, "Malformed Basic credentials")
		}
		u, p, ok := strings.Cut(string(raw), ":")
		if !ok {
			return "", a.invalidClient(true, "Malformed Basic credentials")
		}
		if id, err = url.QueryUnescape(u); err != nil {
			return "", a.invalidClient(true, "Malformed Basic credentials")
		}
		if secret, err = url.QueryUnescape(p); err != nil {
			return "", a.invalidClient(true, "Malformed Basic credentials")
		}
		basic = true
	}
	if secret != "" {
		return "", a.invalidClient(basic, "Confidential clients are not supported")
	}
	if id == "" {
		return a.cfg.ClientID, nil
	}
	if !validClientID(id) || a.clients != nil && !a.clients[id] {
		return "", a.invalidClient(basic, "Unknown client")
	}
	return id, nil
}

// invalidClient is RFC 6749 §5.2 invalid_client: 401, with a Basic
// challenge when the client used the Basic header.
func (a *Authenticator) invalidClient(basic bool, desc string) *Error {
	e := ErrInvalidClient.with(desc, nil)
	if !basic {
		// The spec allows 400 when the client did not use the
		// Authorization header; 401 needs a challenge, which the token
		// endpoint's error writer adds for Basic.
		e.Status = http.StatusBadRequest
	}
	return e
}

// passwordGrant serves grant_type=password (RFC 6749 §4.3.2).
func (a *Authenticator) passwordGrant(r *http.Request, form url.Values, clientID string) (*tokenResponse, error) {
	ctx := r.Context()
	username, password := form.Get("username"), form.Get("password")
	if username == "" || password == "" {
		return nil, ErrInvalidRequest.with("The username and password parameters are required", nil)
	}
	requested, err := parseScope(form.Get("scope"))
	if err != nil {
		return nil, ErrInvalidScope.with("The scope parameter is malformed", err)
	}
	// Unknown scopes are refused before the password is checked: they say
	// nothing about the user.
	for _, s := range requested {
		if _, ok := a.scopes[s]; !ok {
			return nil, ErrInvalidScope.with("Unknown scope '"+s+"'", nil)
		}
	}
	// The throttle comes before the lookup and the hash: a throttled
	// guess costs neither (throttle.go).
	ticket, err := a.startLogin(r, username, clientID)
	if err != nil {
		return nil, err
	}
	u, why, err := a.checkPassword(ctx, username, password)
	a.endLogin(ticket, u != nil, err)
	if errors.Is(err, errHashBusy) {
		a.emit(ctx, r, Event{Type: EventLoginThrottled, Username: username, ClientID: clientID, Reason: "overloaded"})
	}
	if err != nil {
		return nil, err
	}
	if u == nil {
		a.emit(ctx, r, Event{Type: EventLoginFailed, Username: username, ClientID: clientID, Reason: string(why)})
		return nil, ErrInvalidGrant.with("Invalid username or password", errLogin)
	}
	held := a.scopes.registered(u.Scopes)
	granted := held
	if form.Get("scope") != "" {
		// RFC 6749 §3.3: never more than asked, never more than held.
		if !hasAll(held, requested) {
			a.emit(ctx, r, Event{Type: EventLoginFailed, Subject: u.subject(), Username: username, ClientID: clientID, Reason: "scope_not_held"})
			return nil, ErrInvalidScope.with("The user does not hold every requested scope", nil)
		}
		granted = requested
	}
	g := grantee{subject: u.subject(), username: u.Username, clientID: clientID}
	resp, err := a.issue(ctx, g, granted)
	if err != nil {
		return nil, err
	}
	a.emit(ctx, r, Event{Type: EventLoginSucceeded, Subject: g.subject, Username: g.username, ClientID: clientID})
	return resp, nil
}

// refreshGrant serves grant_type=refresh_token (RFC 6749 §6): the token is
// checked, then spent, and a new one issued in its family (RFC 9700
// §4.14.2). scope may narrow the original grant, never widen it; without
// scope the original grant is kept.
func (a *Authenticator) refreshGrant(r *http.Request, form url.Values, clientID string) (*tokenResponse, error) {
	ctx := r.Context()
	token := form.Get("refresh_token")
	if token == "" {
		return nil, ErrInvalidRequest.with("The refresh_token parameter is missing", nil)
	}
	requested, err := parseScope(form.Get("scope"))
	if err != nil {
		return nil, ErrInvalidScope.with("The scope parameter is malformed", err)
	}
	var user *User
	check := func(rt RefreshToken) error {
		if form.Get("scope") != "" && !hasAll(rt.Scopes, requested) {
			return ErrInvalidScope.with("The requested scope exceeds the original grant", nil)
		}
		// A disabled or deleted user's refresh tokens stop working.
		u, err := a.users.LookupUser(ctx, rt.Username)
		switch {
		case errors.Is(err, ErrNotFound) || err == nil && (u == nil || u.subject() != rt.Subject):
			a.emit(ctx, r, Event{Type: EventRefreshRejected, Subject: rt.Subject, Username: rt.Username, ClientID: rt.ClientID, Family: rt.Family, Reason: string(failUnknownUser)})
			return ErrInvalidGrant.with(descRefreshInvalid, nil)
		case err != nil:
			return err
		case u.Disabled:
			a.emit(ctx, r, Event{Type: EventRefreshRejected, Subject: rt.Subject, Username: rt.Username, ClientID: rt.ClientID, Family: rt.Family, Reason: string(failDisabled)})
			return ErrInvalidGrant.with(descRefreshInvalid, nil)
		}
		user = u
		return nil
	}
	// prepare mints the access token and the successor refresh token for
	// a checked parent; the successor is stored atomically with the spend.
	prepare := func(rt RefreshToken) (*tokenResponse, *RefreshToken, error) {
		granted := rt.Scopes
		if form.Get("scope") != "" {
			granted = requested
		}
		// Scopes withdrawn from the user, or from the registry, since the
		// login are not granted again.
		granted = intersect(granted, a.scopes.registered(user.Scopes))
		g := grantee{subject: rt.Subject, username: rt.Username, clientID: rt.ClientID}
		return a.prepare(&rt, g, granted)
	}
	resp, rt, err := a.spendRefresh(ctx, r, token, clientID, check, prepare)
	if err != nil {
		return nil, err
	}
	a.emit(ctx, r, Event{Type: EventRefreshRotated, Subject: rt.Subject, Username: rt.Username, ClientID: rt.ClientID, Family: rt.Family})
	return resp, nil
}

// issue mints an access token and, with a RefreshStore, stores a refresh
// token in a new family: the answer to a login.
func (a *Authenticator) issue(ctx context.Context, g grantee, scopes []string) (*tokenResponse, error) {
	resp, next, err := a.prepare(nil, g, scopes)
	if err != nil {
		return nil, err
	}
	if next != nil {
		if err := a.refresh.Create(ctx, *next); err != nil {
			return nil, err
		}
	}
	return resp, nil
}

// prepare mints an access token for scopes and, with a RefreshStore,
// makes (but does not store) the refresh token that goes with it: in
// parent's family, or in a new family when parent is nil.
func (a *Authenticator) prepare(parent *RefreshToken, g grantee, scopes []string) (*tokenResponse, *RefreshToken, error) {
	now := a.now()
	scope := formatScope(scopes)
	access, jti, exp, err := a.mint(g, scope, now)
	if err != nil {
		return nil, nil, err
	}
	resp := &tokenResponse{
		AccessToken: access,
		TokenType:   "Bearer",
		ExpiresIn:   int64(exp.Sub(now.Truncate(1e9)).Seconds()),
		Scope:       scope,
	}
	if a.refresh == nil {
		return resp, nil, nil
	}
	if a.denylist == nil {
		jti = "" // recorded only where revoking the family can deny it
	}
	tok, next := a.newRefresh(parent, g, scopes, now, jti, exp)
	resp.RefreshToken = tok
	return resp, next, nil
}
