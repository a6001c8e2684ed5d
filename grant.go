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
	"sync"
	"time"
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
// mounted at POST /token. It serves the password grant (§4.3), the
// refresh_token grant (§6) and, to confidential clients of
// Config.Clients, the client_credentials grant (§4.4), answering with an
// access token, a rotated refresh token (when Config.Refresh is set, and
// never for client_credentials, §4.4.3) and the granted scope (§5.1), or
// an RFC 6749 §5.2 error. A confidential client authenticates on every
// request, by HTTP Basic or by client_id and client_secret in the body
// (§2.3.1), never both.
//
// It panics if the Authenticator cannot issue tokens (no Config.Users or
// Config.SigningKey): that is a wiring bug, caught at setup.
func (a *Authenticator) TokenHandler() http.Handler {
	a.mustIssue("TokenHandler")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		form, cl, err := a.readForm(w, r)
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		var resp *Token
		gt := form.Get("grant_type")
		switch gt {
		case "client_credentials":
			if a.cfg.Clients == nil {
				// No ClientStore: no confidential client exists to use it.
				err = kindUnsupportedGrant.new("The client_credentials grant needs confidential clients (Config.Clients)", nil)
				break
			}
			fallthrough
		case "password", "refresh_token":
			if !cl.allows(gt) {
				err = kindUnauthorizedClient.new("The client may not use the "+gt+" grant", nil)
			}
		}
		switch {
		case err != nil:
		case gt == "password":
			resp, err = a.passwordGrant(r, form, cl)
		case gt == "refresh_token":
			if a.cfg.Refresh == nil {
				err = kindUnsupportedGrant.new("The refresh_token grant is not enabled", nil)
				break
			}
			resp, err = a.refreshGrant(r, form, cl)
		case gt == "client_credentials":
			resp, err = a.clientCredentialsGrant(r, form, cl)
		case gt == "":
			err = kindInvalidRequest.new("The grant_type parameter is missing", nil)
		default:
			err = kindUnsupportedGrant.new("Supported grant types: password, refresh_token, client_credentials", nil)
		}
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		setJSONHeaders(w.Header())
		w.WriteHeader(http.StatusOK)
		// Write must not retain the buffer (io.Writer): it goes back to
		// the pool.
		bp := answerBufs.Get().(*[]byte)
		b := appendTokenResponse((*bp)[:0], resp)
		_, _ = w.Write(b)
		if cap(b) <= maxPooledAnswer {
			*bp = b
			answerBufs.Put(bp)
		}
	})
}

// answerBufs holds the buffers token answers are written in.
var answerBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// maxPooledAnswer bounds the buffers kept in answerBufs, so one answer of
// many scopes does not pin its size in the pool.
const maxPooledAnswer = 4 << 10

// setJSONHeaders sets the headers of a token answer (RFC 6749 §5.1): the
// three values share one array (one allocation, not three), each its own
// slice of capacity 1, so a later Add or Set never writes into another.
func setJSONHeaders(h http.Header) {
	v := &[3]string{"application/json;charset=UTF-8", "no-store", "no-cache"}
	h["Content-Type"] = v[0:1:1]
	h["Cache-Control"] = v[1:2:2]
	h["Pragma"] = v[2:3:3]
}

// mustIssue panics, naming fn, if the Authenticator cannot issue tokens.
func (a *Authenticator) mustIssue(fn string) {
	if a.cfg.Users == nil || a.ring().signing == nil {
		panic("tollgate: " + fn + " needs Config.Users and Config.SigningKey: this Authenticator only verifies")
	}
}

// appendTokenResponse appends the JSON of r and a newline, byte for byte
// what json.NewEncoder(w).Encode(r) writes, without reflection.
func appendTokenResponse(b []byte, r *Token) []byte {
	b = append(b, `{"access_token":`...)
	b = appendPlain(b, r.AccessToken)
	b = append(b, `,"token_type":`...)
	b = jose.AppendString(b, r.TokenType)
	b = append(b, `,"expires_in":`...)
	b = strconv.AppendInt(b, r.ExpiresIn, 10)
	if r.RefreshToken != "" {
		b = append(b, `,"refresh_token":`...)
		b = appendPlain(b, r.RefreshToken)
	}
	b = append(b, `,"scope":`...)
	b = jose.AppendString(b, r.Scope)
	return append(b, "}\n"...)
}

// appendPlain appends a token tollgate made as a JSON string: a JWS
// compact serialization or a refresh token, base64url and '.' only, which
// JSON never escapes (TestTokenResponseJSON holds it to encoding/json).
func appendPlain(b []byte, token string) []byte {
	b = append(b, '"')
	b = append(b, token...)
	return append(b, '"')
}

// readForm reads the form of a token, revocation or introspection
// request and authenticates the client. The rules: POST only (else 405 with
// Allow), application/x-www-form-urlencoded only (RFC 6749 §3.2), a
// bounded body, each parameter at most once (§3.1), valid UTF-8 without
// control characters, and client credentials in the Basic header or the
// body but not both (§2.3.1).
func (a *Authenticator) readForm(w http.ResponseWriter, r *http.Request) (url.Values, caller, error) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return nil, caller{}, &Error{Code: "invalid_request", Status: http.StatusMethodNotAllowed, Description: "Use POST"}
	}
	form, err := readPlainForm(r)
	if err != nil {
		return nil, caller{}, err
	}
	cl, err := a.authenticateClient(r, form)
	if err != nil {
		return nil, caller{}, err
	}
	return form, cl, nil
}

// readPlainForm reads the form of a POST request by the rules of
// readForm, without the client.
func readPlainForm(r *http.Request) (url.Values, error) {
	// The exact type, as clients send it, needs no parsing.
	if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/x-www-form-urlencoded" {
			return nil, kindInvalidRequest.new("The body must be application/x-www-form-urlencoded", err)
		}
	}
	body, err := readBody(r.Body, r.ContentLength)
	if err != nil {
		return nil, err
	}
	// body is never written again: the form's values can share its bytes.
	return parseForm(jose.String(body))
}

// readBody reads a form body of at most maxFormBytes in one allocation
// when the request states its length (hint), as clients do.
func readBody(r io.Reader, hint int64) ([]byte, error) {
	size := int64(512)
	if hint > 0 && hint <= maxFormBytes {
		size = hint + 1 // room to see EOF without growing
	}
	buf := make([]byte, 0, size)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if len(buf) > maxFormBytes {
			return nil, kindInvalidRequest.new("The body is too large", nil)
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, kindInvalidRequest.new("The body could not be read", err)
		}
	}
}

// maxFormParams is net/url's bound on the parameters of a query.
const maxFormParams = 10000

// parseForm decodes an application/x-www-form-urlencoded body as
// url.ParseQuery does (an unescaped ';' and a bad escape are errors, empty
// pairs are skipped), refusing besides repeated parameters (RFC 6749
// §3.1), invalid UTF-8, control characters and oversized values. Values
// without escapes share body's bytes; FuzzParseForm holds it to
// url.ParseQuery.
func parseForm(body string) (url.Values, error) {
	n := strings.Count(body, "&") + 1
	if n > maxFormParams {
		return nil, kindInvalidRequest.new("The body is not a valid form", errors.New("tollgate: too many parameters"))
	}
	n = min(n, 8)
	form := make(url.Values, n)
	vals := make([]string, 0, n) // the values' one backing array
	for body != "" {
		var pair string
		pair, body, _ = strings.Cut(body, "&")
		if strings.IndexByte(pair, ';') >= 0 {
			return nil, kindInvalidRequest.new("The body is not a valid form", errors.New("tollgate: invalid semicolon separator"))
		}
		if pair == "" {
			continue
		}
		name, v, _ := strings.Cut(pair, "=")
		name, err := unescapeForm(name)
		if err == nil {
			v, err = unescapeForm(v)
		}
		if err != nil {
			return nil, kindInvalidRequest.new("The body is not a valid form", err)
		}
		if _, dup := form[name]; dup {
			return nil, kindInvalidRequest.new("Parameter "+safeName(name)+" is repeated", nil)
		}
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
		vals = append(vals, v)
		form[name] = vals[len(vals)-1 : len(vals) : len(vals)]
	}
	return form, nil
}

// unescapeForm is url.QueryUnescape, without a copy when s has nothing
// to unescape.
func unescapeForm(s string) (string, error) {
	if strings.IndexByte(s, '%') < 0 && strings.IndexByte(s, '+') < 0 {
		return s, nil
	}
	return url.QueryUnescape(s)
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

// authenticateClient returns the client making the request, from the
// Basic header (RFC 6749 §2.3.1, its parts form-encoded) or the
// client_id and client_secret parameters, or the first-party client
// "tollgate" when neither names one; Config.Clients must know it. A
// client that presents a secret is authenticated with it
// (authenticateSecret); a confidential client that presents none is
// refused. golang.org/x/oauth2 sends an empty Basic header ("Og==") for a
// public client, and may retry with the credentials in the body.
func (a *Authenticator) authenticateClient(r *http.Request, form url.Values) (caller, error) {
	id, secret := form.Get("client_id"), form.Get("client_secret")
	_, inBody := form["client_id"]
	_, secretInBody := form["client_secret"]
	basic := false
	if vs := r.Header.Values("Authorization"); len(vs) > 0 {
		if len(vs) > 1 {
			return caller{}, kindInvalidRequest.new("Multiple Authorization headers", nil)
		}
		scheme, cred, _ := strings.Cut(vs[0], " ")
		if !strings.EqualFold(scheme, "Basic") {
			return caller{}, kindInvalidRequest.new("Unsupported client authentication", nil)
		}
		if inBody || secretInBody {
			return caller{}, kindInvalidRequest.new("Client credentials sent in more than one way", nil)
		}
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
		if err != nil {
			return caller{}, invalidClient(true, "Malformed Basic credentials")
		}
		u, p, ok := strings.Cut(string(raw), ":")
		if !ok {
			return caller{}, invalidClient(true, "Malformed Basic credentials")
		}
		if id, err = url.QueryUnescape(u); err != nil {
			return caller{}, invalidClient(true, "Malformed Basic credentials")
		}
		if secret, err = url.QueryUnescape(p); err != nil {
			return caller{}, invalidClient(true, "Malformed Basic credentials")
		}
		if len(secret) > maxParamBytes || hasControl(secret) || hasControl(id) {
			return caller{}, invalidClient(true, "Malformed Basic credentials")
		}
		basic = true
	}
	if secret != "" {
		return a.authenticateSecret(r, id, secret)
	}
	return a.checkClient(r.Context(), id, basic)
}

// passwordGrant serves grant_type=password (RFC 6749 §4.3.2).
func (a *Authenticator) passwordGrant(r *http.Request, form url.Values, cl caller) (*Token, error) {
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
	clientID := cl.id
	ticket, err := a.startLogin(r, username, username, clientID)
	if err != nil {
		return nil, err
	}
	u, why, err := a.checkPassword(ctx, ticket.prio, username, password)
	a.endLogin(r.Context(), ticket, u != nil, err, a.now())
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
	return a.issue(r, u, cl, requested)
}

// clientCredentialsGrant serves grant_type=client_credentials (RFC 6749
// §4.4) to a confidential client that authenticated: a token for the
// client itself, its "sub" and "client_id" the client's id (RFC 9068
// §2.2), of the requested scopes within the client's Scopes (all of them
// when none is asked for, §3.3), and no refresh token (§4.4.3).
func (a *Authenticator) clientCredentialsGrant(r *http.Request, form url.Values, cl caller) (*Token, error) {
	if !cl.authenticated {
		return nil, secretRequired() // allows() admits confidential clients only; they authenticated
	}
	requested, err := parseScope(form.Get("scope"))
	if err != nil {
		return nil, kindInvalidScope.new("The scope parameter is malformed", err)
	}
	held := a.scopes.registered(cl.client.Scopes)
	granted := held
	if requested != nil {
		for _, s := range requested {
			if _, ok := a.scopes[s]; !ok {
				return nil, kindInvalidScope.new("Unknown scope '"+s+"'", nil)
			}
		}
		if !hasAll(held, requested) {
			return nil, kindInvalidScope.new("The client may not have every requested scope", nil)
		}
		granted = requested
	}
	aud, err := a.audience(cl)
	if err != nil {
		return nil, err
	}
	g := grantee{subject: cl.id, username: cl.id, clientID: cl.id, aud: aud}
	now := a.now()
	access, exp, err := a.mint(g, formatScope(granted), "", nil, now)
	if err != nil {
		return nil, err
	}
	a.emit(r.Context(), r, audit.Event{Type: audit.LoginSucceeded, Subject: cl.id, ClientID: cl.id})
	return &Token{
		AccessToken: access,
		TokenType:   "Bearer",
		ExpiresIn:   int64(exp.Sub(now.Truncate(time.Second)).Seconds()),
		Scope:       formatScope(granted),
	}, nil
}
