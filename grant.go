package tollgate

import (
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/tollgate-go/tollgate/audit"
	"github.com/tollgate-go/tollgate/internal/jose"
)

// maxFormBytes bounds the body of token and revocation requests. A token
// request is a few hundred bytes.
const maxFormBytes = 16 << 10

// maxParamBytes bounds any one parameter but scope (and the refresh token,
// whose length is fixed); usernames and passwords longer than this are
// refused before they reach the store or the hasher.
const maxParamBytes = 1024

// TokenHandler returns the OAuth 2.0 token endpoint (RFC 6749 §3.2), to be
// mounted at POST /token. It serves the password grant (§4.3) and the
// refresh_token grant (§6) to public clients, answering with an access
// token, a rotated refresh token (when Config.Refresh is set) and the
// granted scope (§5.1), or an RFC 6749 §5.2 error.
//
// It panics if the Authenticator cannot issue tokens (no Config.Users or
// Config.SigningKey): that is a wiring bug, caught at setup.
func (a *Authenticator) TokenHandler() http.Handler {
	a.mustIssue("TokenHandler")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		form, clientID, err := a.readForm(w, r)
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		var resp *Token
		switch gt := form.Get("grant_type"); gt {
		case "password":
			resp, err = a.passwordGrant(r, form, clientID)
		case "refresh_token":
			if a.cfg.Refresh == nil {
				err = kindUnsupportedGrant.new("The refresh_token grant is not enabled", nil)
				break
			}
			resp, err = a.refreshGrant(r, form, clientID)
		case "":
			err = kindInvalidRequest.new("The grant_type parameter is missing", nil)
		default:
			err = kindUnsupportedGrant.new("Supported grant types: password, refresh_token", nil)
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

// mustIssue panics, naming fn, if the Authenticator cannot issue tokens.
func (a *Authenticator) mustIssue(fn string) {
	if a.cfg.Users == nil || a.keys.signing == nil {
		panic("tollgate: " + fn + " needs Config.Users and Config.SigningKey: this Authenticator only verifies")
	}
}

// appendTokenResponse appends the JSON of r and a newline, byte for byte
// what json.NewEncoder(w).Encode(r) writes, without reflection.
func appendTokenResponse(b []byte, r *Token) []byte {
	b = append(b, `{"access_token":`...)
	b = jose.AppendString(b, r.AccessToken)
	b = append(b, `,"token_type":`...)
	b = jose.AppendString(b, r.TokenType)
	b = append(b, `,"expires_in":`...)
	b = strconv.AppendInt(b, r.ExpiresIn, 10)
	if r.RefreshToken != "" {
		b = append(b, `,"refresh_token":`...)
		b = jose.AppendString(b, r.RefreshToken)
	}
	b = append(b, `,"scope":`...)
	b = jose.AppendString(b, r.Scope)
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
			return nil, "", kindInvalidRequest.new("The body must be application/x-www-form-urlencoded", err)
		}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxFormBytes+1))
	if err != nil {
		return nil, "", kindInvalidRequest.new("The body could not be read", err)
	}
	if len(body) > maxFormBytes {
		return nil, "", kindInvalidRequest.new("The body is too large", nil)
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
		return nil, kindInvalidRequest.new("The body is not a valid form", err)
	}
	for name, vs := range form {
		if len(vs) > 1 {
			return nil, kindInvalidRequest.new("Parameter "+safeName(name)+" is repeated", nil)
		}
		v := vs[0]
		limit := maxParamBytes
		if name == "scope" {
			limit = maxScopeParam
		}
		if len(v) > limit {
			return nil, kindInvalidRequest.new("Parameter "+safeName(name)+" is too long", nil)
		}
		if !utf8.ValidString(v) || hasControl(v) {
			return nil, kindInvalidRequest.new("Parameter "+safeName(name)+" has invalid characters", nil)
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
// or the client_id parameter, or the first-party client "tollgate" when
// neither names one; Config.Clients must know it.
// golang.org/x/oauth2 sends an empty Basic header ("Og==") for a public
// client, and may retry with the credentials in the body.
func (a *Authenticator) authenticateClient(r *http.Request, form url.Values) (string, error) {
	id, secret := form.Get("client_id"), form.Get("client_secret")
	_, inBody := form["client_id"]
	_, secretInBody := form["client_secret"]
	basic := false
	if vs := r.Header.Values("Authorization"); len(vs) > 0 {
		if len(vs) > 1 {
			return "", kindInvalidRequest.new("Multiple Authorization headers", nil)
		}
		scheme, cred, _ := strings.Cut(vs[0], " ")
		if !strings.EqualFold(scheme, "Basic") {
			return "", kindInvalidRequest.new("Unsupported client authentication", nil)
		}
		if inBody || secretInBody {
			return "", kindInvalidRequest.new("Client credentials sent in more than one way", nil)
		}
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
		if err != nil {
			return "", invalidClient(true, "Malformed Basic credentials")
		}
		u, p, ok := strings.Cut(string(raw), ":")
		if !ok {
			return "", invalidClient(true, "Malformed Basic credentials")
		}
		if id, err = url.QueryUnescape(u); err != nil {
			return "", invalidClient(true, "Malformed Basic credentials")
		}
		if secret, err = url.QueryUnescape(p); err != nil {
			return "", invalidClient(true, "Malformed Basic credentials")
		}
		basic = true
	}
	if secret != "" {
		return "", invalidClient(basic, "Confidential clients are not supported")
	}
	return a.checkClient(r.Context(), id, basic)
}

// passwordGrant serves grant_type=password (RFC 6749 §4.3.2).
func (a *Authenticator) passwordGrant(r *http.Request, form url.Values, clientID string) (*Token, error) {
	ctx := r.Context()
	username, password := form.Get("username"), form.Get("password")
	if username == "" || password == "" {
		return nil, kindInvalidRequest.new("The username and password parameters are required", nil)
	}
	requested, err := parseScope(form.Get("scope"))
	if err != nil {
		return nil, kindInvalidScope.new("The scope parameter is malformed", err)
	}
	// Unknown scopes are refused before the password is checked: they say
	// nothing about the user.
	for _, s := range requested {
		if _, ok := a.scopes[s]; !ok {
			return nil, kindInvalidScope.new("Unknown scope '"+s+"'", nil)
		}
	}
	// The throttle comes before the lookup and the hash: a throttled
	// guess costs neither (throttle.go).
	ticket, err := a.startLogin(r, username, clientID)
	if err != nil {
		return nil, err
	}
	u, why, err := a.checkPassword(ctx, ticket.prio, username, password)
	a.endLogin(ticket, u != nil, err, a.now())
	if errors.Is(err, errHashBusy) {
		a.emit(ctx, r, audit.Event{Type: audit.LoginThrottled, Reason: audit.Overloaded, Username: username, ClientID: clientID})
	}
	if err != nil {
		return nil, err
	}
	if u == nil {
		a.emit(ctx, r, audit.Event{Type: audit.LoginFailed, Reason: why, Username: username, ClientID: clientID})
		return nil, kindInvalidGrant.new("Invalid username or password", errLogin)
	}
	// An omitted or empty scope parameter asks for every scope held.
	return a.issue(r, u, clientID, requested)
}
