package tollgate

// Cookie mode for browsers: the refresh token lives only in an HttpOnly
// cookie that the page's script cannot read, scoped to the refresh and
// logout endpoints; the access token goes to the page in JSON (to keep in
// memory) or, as an option, to a cookie of its own. Every request that a
// cookie authenticates and that can change state is checked against
// cross-origin forgery with the standard library's
// http.CrossOriginProtection (Sec-Fetch-Site and Origin), not a scheme of
// tollgate's own. Logins go through the one issuing path (token.go).

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tollgate-go/tollgate/audit"
)

// Cookies configures cookie mode for browsers (Config.Cookies): setting
// Path turns it on, and with it [Authenticator.LoginHandler],
// [Authenticator.RefreshHandler] and [Authenticator.LogoutHandler].
//
// The refresh token then travels only in a cookie, never in a JSON body:
// HttpOnly (the page's script cannot read it), Secure, SameSite=Strict,
// with Path set to Path so the browser sends it to the login, refresh
// and logout endpoints and nowhere else, and living as long as the
// refresh token. Its name has the "__Host-" prefix when Path is "/" and
// "__Secure-" otherwise (RFC 6265bis §4.1.3: a "__Host-" cookie must
// have Path=/), so that no sibling subdomain and no plain-http page can
// set it. Browsers treat http://localhost and loopback addresses as
// secure, so the cookies work there in development.
//
// Every request authenticated by a cookie with an unsafe method (the
// three handlers, and protected routes reading an access token from a
// cookie) must pass [http.CrossOriginProtection]: a cross-origin request
// is refused with 403 before anything is read or spent ([ErrCrossOrigin]).
type Cookies struct {
	// Path is the path under which the service mounts LoginHandler,
	// RefreshHandler and LogoutHandler, such as "/auth" for
	// /auth/login, /auth/refresh and /auth/logout: the refresh cookie's
	// Path. Setting it turns cookie mode on; it needs Config.Refresh.
	Path string

	// Name is the base of the cookies' names: the refresh cookie is
	// "__Secure-<Name>-refresh" (or "__Host-…" with Path "/"), the
	// access cookie "__Host-<Name>-access". Default "tollgate".
	Name string

	// AccessCookie sends the access token in its own cookie
	// ("__Host-<Name>-access", HttpOnly, Secure, SameSite=Strict, Path=/,
	// living as long as the token) instead of the JSON body, for pages
	// that never touch the token: protected routes then read it from the
	// cookie (Config.Tokens.Cookie is set to its name) when a request has
	// no Authorization header. Default false: the page gets the access
	// token in JSON and keeps it in memory, sending it as a Bearer header,
	// which no other origin can make a browser send.
	AccessCookie bool

	// TrustedOrigins are origins ("https://app.example.com", scheme, host
	// and port) from which cross-origin requests authenticated by a
	// cookie are accepted, as [http.CrossOriginProtection.AddTrustedOrigin]
	// takes them. They also hold for Config.Tokens.Cookie. Default none:
	// only same-origin requests, and requests from clients that are not
	// browsers (they send neither Sec-Fetch-Site nor Origin, and cannot
	// be made to send a victim's cookies).
	TrustedOrigins []string

	// ClientID is the client the three handlers issue to and refresh for;
	// Config.Clients must know it. Default: the first-party client
	// "tollgate".
	ClientID string
}

// ErrCrossOrigin: a cross-origin request authenticated by a cookie with
// an unsafe method, refused by [http.CrossOriginProtection] (403
// invalid_request, without a WWW-Authenticate challenge: it is not the
// token that is wrong). Nothing was read, spent or revoked.
var ErrCrossOrigin error = kindCrossOrigin

// kindCrossOrigin is the kind of ErrCrossOrigin. RFC 6749 and RFC 6750
// have no code for a forged request; invalid_request is the nearest, and
// the status says it is refused, not malformed.
var kindCrossOrigin = &errorKind{"invalid_request", http.StatusForbidden, "Cross-origin request refused"}

// errForged is the cause of ErrCrossOrigin answers, with its reason.
var errForged = &rejection{audit.CrossOrigin, "cross-origin request with a cookie refused (http.CrossOriginProtection)"}

// cookieMode is the resolved Config.Cookies.
type cookieMode struct {
	on          bool
	path        string
	refreshName string
	accessName  string // "" without AccessCookie
	clientID    string
}

// resolveCookies checks cfg.Cookies, fills in its defaults and sets
// Tokens.Cookie for the access cookie. It returns the errors found.
func resolveCookies(cfg *Config) (cookieMode, []error) {
	c := &cfg.Cookies
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("tollgate: "+format, args...)) }
	var m cookieMode
	for _, o := range c.TrustedOrigins {
		if err := http.NewCrossOriginProtection().AddTrustedOrigin(o); err != nil {
			bad("Config.Cookies.TrustedOrigins: %v", err)
		} else if canon := canonicalOrigin(o); canon != o {
			// Compared byte for byte with the browser's Origin header: a
			// form the browser never sends would silently trust nothing.
			bad("Config.Cookies.TrustedOrigins: write %q as a browser sends it: %q (RFC 6454 §6.1)", o, canon)
		}
	}
	if c.Path == "" {
		if c.Name != "" || c.AccessCookie || c.ClientID != "" {
			bad("Config.Cookies.Name, AccessCookie and ClientID need Config.Cookies.Path, which turns cookie mode on")
		}
		if len(c.TrustedOrigins) > 0 && cfg.Tokens.Cookie == "" {
			bad("Config.Cookies.TrustedOrigins is set but no cookie authenticates a request (no Config.Cookies.Path or Config.Tokens.Cookie)")
		}
		return m, errs
	}
	if !strings.HasPrefix(c.Path, "/") || strings.ContainsAny(c.Path, ";?#,\"\\") || !printableASCII(c.Path) {
		bad("Config.Cookies.Path %q must be a URL path such as /auth, in printable ASCII (percent-encode the rest: RFC 6265 §4.1.1 path-value)", c.Path)
	}
	if cfg.Refresh == nil || cfg.SigningKey == nil {
		bad("Config.Cookies needs Config.Refresh and Config.SigningKey: cookie mode carries refresh tokens")
	}
	c.Path = strings.TrimSuffix(c.Path, "/")
	if c.Path == "" {
		c.Path = "/"
	}
	setDefault(&c.Name, "tollgate")
	setDefault(&c.ClientID, defaultClientID)
	if !validCookieName(c.Name) || strings.HasPrefix(strings.ToLower(c.Name), "__") {
		bad("Config.Cookies.Name %q is not a cookie name without a prefix", c.Name)
	}
	if !validClientID(c.ClientID) {
		bad("Config.Cookies.ClientID %q is not a client_id (RFC 6749 Appendix A.1)", c.ClientID)
	}
	m = cookieMode{on: true, path: c.Path, clientID: c.ClientID}
	// RFC 6265bis §4.1.3.2: a "__Host-" cookie has Path=/ and no Domain.
	if c.Path == "/" {
		m.refreshName = "__Host-" + c.Name + "-refresh"
	} else {
		m.refreshName = "__Secure-" + c.Name + "-refresh"
	}
	if c.AccessCookie {
		m.accessName = "__Host-" + c.Name + "-access"
		switch cfg.Tokens.Cookie {
		case "", m.accessName:
			cfg.Tokens.Cookie = m.accessName
		default:
			bad("Config.Tokens.Cookie %q and Config.Cookies.AccessCookie name two access cookies; leave Tokens.Cookie empty", cfg.Tokens.Cookie)
		}
	}
	return m, errs
}

// canonicalOrigin returns the serialization of origin o as a browser
// sends it in Origin (RFC 6454 §6.1): lower-case scheme and host, no
// default port, no user info.
func canonicalOrigin(o string) string {
	u, err := url.Parse(o)
	if err != nil {
		return ""
	}
	scheme, host, port := strings.ToLower(u.Scheme), strings.ToLower(u.Hostname()), u.Port()
	if scheme == "https" && port == "443" || scheme == "http" && port == "80" {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	return scheme + "://" + host
}

// printableASCII reports whether s has only bytes 0x21 to 0x7e.
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// newOriginCheck returns the cross-origin check of cookie-authenticated
// requests, trusting origins (already checked by resolveCookies).
func newOriginCheck(origins []string) *http.CrossOriginProtection {
	c := http.NewCrossOriginProtection()
	for _, o := range origins {
		_ = c.AddTrustedOrigin(o)
	}
	// A refusal is answered by tollgate (checkOrigin), not by the
	// protection's own handler.
	return c
}

// checkOrigin refuses a cross-origin request with an unsafe method
// (http.CrossOriginProtection.Check): ErrCrossOrigin.
func (a *Authenticator) checkOrigin(r *http.Request) error {
	if err := a.origins.Check(r); err != nil {
		return kindCrossOrigin.new("", errForged)
	}
	return nil
}

// mustCookies panics, naming fn, without cookie mode.
func (a *Authenticator) mustCookies(fn string) {
	if !a.cookies.on {
		panic("tollgate: " + fn + " needs Config.Cookies.Path (cookie mode)")
	}
}

// LoginHandler returns the password login of cookie mode (see
// [Cookies]), to be mounted at POST <Cookies.Path>/login: a form with
// "username", "password" and an optional "scope", as the password grant
// of [Authenticator.TokenHandler] takes them and with the same checks
// and throttle, without client credentials. It answers 200 with
// {"access_token","token_type","expires_in","scope"} and the refresh
// cookie, as [Authenticator.IssueCookie] answers; a wrong password is 400
// invalid_grant as at the token endpoint; a cross-origin request is 403
// (login forgery: a page that logs the victim into its own account).
//
// It panics without Config.Cookies.Path.
func (a *Authenticator) LoginHandler() http.Handler {
	return a.cookieTokenHandler("LoginHandler", a.cookieLogin, false)
}

// cookieTokenHandler is LoginHandler's and RefreshHandler's: serve makes
// the token, writeCookieToken writes it. fn names the handler for the
// panic without cookie mode.
func (a *Authenticator) cookieTokenHandler(fn string, serve func(http.ResponseWriter, *http.Request) (*Token, error), refresh bool) http.Handler {
	a.mustCookies(fn)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, err := serve(w, r)
		if err != nil {
			a.writeCookieError(w, r, err, refresh)
			return
		}
		a.writeCookieToken(w, tok)
	})
}

// cookieLogin serves LoginHandler up to the answer.
func (a *Authenticator) cookieLogin(w http.ResponseWriter, r *http.Request) (*Token, error) {
	if err := a.cookieRequest(w, r); err != nil {
		return nil, err
	}
	form, err := readPlainForm(r)
	if err != nil {
		return nil, err
	}
	if _, ok := form["client_secret"]; ok || form.Has("client_id") || r.Header.Get("Authorization") != "" {
		return nil, kindInvalidRequest.new("This endpoint takes no client credentials", nil)
	}
	if gt := form.Get("grant_type"); gt != "" && gt != "password" {
		return nil, kindUnsupportedGrant.new("This endpoint serves password logins only", nil)
	}
	cl, err := a.checkClient(r.Context(), a.cookies.clientID, false)
	if err != nil {
		return nil, err
	}
	tok, err := a.passwordGrant(r, form, cl)
	if err == nil {
		// The new cookie replaces the browser's old one: end the session
		// it belonged to, which no browser could log out any more. A
		// failure here fails nothing: that session expires by itself.
		_ = a.revokeCookies(r, a.refreshCookies(r))
	}
	return tok, err
}

// RefreshHandler returns the refresh endpoint of cookie mode, to be
// mounted at POST <Cookies.Path>/refresh: it spends the refresh cookie as
// the refresh_token grant spends a refresh token (RFC 6749 §6, with the
// same rotation and reuse detection, RFC 9700 §4.14.2) and answers as
// LoginHandler does, with the rotated cookie. The body is not read. No
// cookie, or a bad, spent, expired or revoked one, is 400 invalid_grant,
// and the answer clears the cookie; a store that fails is 503 and keeps
// it, for a retry.
//
// It panics without Config.Cookies.Path.
func (a *Authenticator) RefreshHandler() http.Handler {
	return a.cookieTokenHandler("RefreshHandler", a.cookieRefresh, true)
}

// cookieRefresh serves RefreshHandler up to the answer.
func (a *Authenticator) cookieRefresh(w http.ResponseWriter, r *http.Request) (*Token, error) {
	if err := a.cookieRequest(w, r); err != nil {
		return nil, err
	}
	n, tokens := len(r.CookiesNamed(a.cookies.refreshName)), a.refreshCookies(r)
	switch {
	case n > 1:
		if err := a.revokeCookies(r, tokens); err != nil {
			return nil, err
		}
		return nil, kindInvalidGrant.new("More than one refresh cookie", errTwoCookies)
	case n == 0:
		return nil, kindInvalidGrant.new("No refresh cookie", nil)
	case len(tokens) == 0:
		return nil, kindInvalidGrant.new(descRefreshInvalid, nil) // not a refresh token's shape
	}
	cl, err := a.checkClient(r.Context(), a.cookies.clientID, false)
	if err != nil {
		return nil, err
	}
	return a.refreshGrant(r, url.Values{"refresh_token": {tokens[0]}}, cl)
}

// LogoutHandler returns the logout endpoint of cookie mode, to be mounted
// at POST <Cookies.Path>/logout: it revokes the refresh cookie's family
// (as RFC 7009 revocation does; with Config.Denylist, the family's access
// tokens too) and clears the cookies (Max-Age=0, with the attributes they
// were set with), answering 204. Without a cookie, or with one that is no
// longer valid, there is nothing to revoke: 204 too. A store that fails
// is 503 and keeps the cookie, so that the retry revokes the family.
//
// It panics without Config.Cookies.Path.
func (a *Authenticator) LogoutHandler() http.Handler {
	a.mustCookies("LogoutHandler")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := a.cookieLogout(w, r); err != nil {
			a.writeCookieError(w, r, err, false)
			return
		}
		a.clearCookies(w)
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusNoContent)
	})
}

// cookieLogout serves LogoutHandler up to the answer.
func (a *Authenticator) cookieLogout(w http.ResponseWriter, r *http.Request) error {
	if err := a.cookieRequest(w, r); err != nil {
		return err
	}
	return a.revokeCookies(r, a.refreshCookies(r))
}

// cookieRequest checks what the three cookie handlers share: POST, and
// not a cross-origin forgery.
func (a *Authenticator) cookieRequest(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return &Error{Code: "invalid_request", Status: http.StatusMethodNotAllowed, Description: "Use POST"}
	}
	return a.checkOrigin(r)
}

// refreshCookies returns the values of the request's refresh cookies
// that have a refresh token's shape. There should be one at most; two
// mean that one was tossed in by a sibling subdomain (which the
// "__Secure-" prefix does not prevent).
func (a *Authenticator) refreshCookies(r *http.Request) []string {
	var out []string
	for _, c := range r.CookiesNamed(a.cookies.refreshName) {
		if _, ok := parseRefresh(c.Value); ok {
			out = append(out, c.Value)
		}
	}
	return out
}

// errTwoCookies is the cause of the refusal of two refresh cookies.
var errTwoCookies = errors.New("tollgate: more than one refresh cookie")

// revokeCookies revokes the family of each refresh cookie of r, of the
// cookie client: at logout, at a new login (the session it replaces), and
// when two cookies came (the browser's own and a tossed one: neither is
// guessed at, and neither lives on to be sent alone later).
func (a *Authenticator) revokeCookies(r *http.Request, tokens []string) error {
	var errs []error
	for _, t := range tokens {
		h, _ := parseRefresh(t)
		errs = append(errs, a.revokeRefresh(r.Context(), r, familyID(h), a.cookies.clientID))
	}
	return errors.Join(errs...)
}

// writeCookieError answers a cookie handler's failure. A refresh that
// was refused for its token (invalid_grant) also clears the cookies, so
// the browser stops sending a dead token; a store failure keeps them, and
// so does a refusal of two cookies: the clearing could reach only the
// browser's own, and leave the tossed one to be sent alone.
func (a *Authenticator) writeCookieError(w http.ResponseWriter, r *http.Request, err error, refresh bool) {
	if errors.Is(err, ErrCrossOrigin) {
		a.reportDenied(r, nil, err)
	} else if refresh && errors.Is(err, ErrInvalidGrant) && !errors.Is(err, errTwoCookies) {
		a.clearCookies(w)
	}
	a.writeError(w, r, err)
}

// IssueCookie issues tokens to u, a user the service has authenticated
// by itself (a passkey, a login with another provider), and answers as
// [Authenticator.LoginHandler] does: through [Authenticator.Issue], the
// one issuing path, for the client Cookies.ClientID, with scopes as Issue
// takes them. On success it writes the refresh cookie (never the token
// in the body) and 200 with {"access_token","token_type","expires_in",
// "scope"} (without "access_token", and with the access cookie, under
// Cookies.AccessCookie), Cache-Control: no-store (RFC 6749 §5.1). On
// failure it writes nothing and returns Issue's error, for the caller to
// answer. It fails without cookie mode.
func (a *Authenticator) IssueCookie(w http.ResponseWriter, r *http.Request, u *User, scopes []string) error {
	tok, err := a.issueCookie(r, u, scopes)
	if err != nil {
		return err
	}
	a.writeCookieToken(w, tok)
	return nil
}

// IssueCookieRedirect is [Authenticator.IssueCookie] for a login that
// ends in a top-level navigation (the callback of a login with another
// provider): it sets the refresh cookie and answers 303 See Other to
// location, a path of this site ("/" or "/app", never "//host" or a URL:
// no open redirect), with no token in the answer; the page then calls
// [Authenticator.RefreshHandler] for its access token (with
// Cookies.AccessCookie, the access cookie is set here too). The refresh cookie
// is SameSite=Strict, so the browser sends it on the page's refresh even
// though the navigation came from another site. On failure it writes
// nothing and returns the error.
func (a *Authenticator) IssueCookieRedirect(w http.ResponseWriter, r *http.Request, u *User, scopes []string, location string) error {
	if !strings.HasPrefix(location, "/") || strings.HasPrefix(location, "//") || strings.HasPrefix(location, "/\\") || hasControl(location) {
		return fmt.Errorf("tollgate: IssueCookieRedirect: location %q is not a path of this site", location)
	}
	tok, err := a.issueCookie(r, u, scopes)
	if err != nil {
		return err
	}
	http.SetCookie(w, a.cookie(a.cookies.refreshName, a.cookies.path, tok.RefreshToken, tok.refreshTTL))
	if a.cookies.accessName != "" {
		http.SetCookie(w, a.cookie(a.cookies.accessName, "/", tok.AccessToken, time.Duration(tok.ExpiresIn)*time.Second))
	}
	// Without an access cookie, the access token of this login is not
	// sent: the page gets its own from the refresh endpoint, and this one
	// expires unused.
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Location", location)
	w.WriteHeader(http.StatusSeeOther)
	return nil
}

// issueCookie issues through Issue for the cookie client, and ends the
// session of any refresh cookie the request carries, which the new one
// replaces (as LoginHandler does).
func (a *Authenticator) issueCookie(r *http.Request, u *User, scopes []string) (*Token, error) {
	if !a.cookies.on {
		return nil, errors.New("tollgate: IssueCookie needs Config.Cookies.Path (cookie mode)")
	}
	tok, err := a.Issue(r, u, a.cookies.clientID, scopes)
	if err != nil {
		return nil, err
	}
	_ = a.revokeCookies(r, a.refreshCookies(r))
	return tok, nil
}

// writeCookieToken writes t as the answer of cookie mode (IssueCookie).
func (a *Authenticator) writeCookieToken(w http.ResponseWriter, t *Token) {
	if t.RefreshToken != "" {
		http.SetCookie(w, a.cookie(a.cookies.refreshName, a.cookies.path, t.RefreshToken, t.refreshTTL))
	}
	if a.cookies.accessName != "" {
		http.SetCookie(w, a.cookie(a.cookies.accessName, "/", t.AccessToken, time.Duration(t.ExpiresIn)*time.Second))
	}
	setJSONHeaders(w.Header())
	w.WriteHeader(http.StatusOK)
	if a.cookies.accessName != "" {
		_ = json.NewEncoder(w).Encode(struct {
			TokenType string `json:"token_type"`
			ExpiresIn int64  `json:"expires_in"`
			Scope     string `json:"scope"`
		}{t.TokenType, t.ExpiresIn, t.Scope})
		return
	}
	body := *t
	body.RefreshToken = ""
	_, _ = w.Write(appendTokenResponse(nil, &body))
}

// clearCookies expires the cookies of cookie mode in the browser: the
// same names, paths and attributes, Max-Age=0 (RFC 6265 §5.2.2).
func (a *Authenticator) clearCookies(w http.ResponseWriter) {
	http.SetCookie(w, a.cookie(a.cookies.refreshName, a.cookies.path, "", 0))
	if a.cookies.accessName != "" {
		http.SetCookie(w, a.cookie(a.cookies.accessName, "/", "", 0))
	}
}

// cookie returns a cookie of cookie mode living for ttl (whole seconds,
// rounded down so it never outlives its token); ttl <= 0 clears it.
func (a *Authenticator) cookie(name, path, value string, ttl time.Duration) *http.Cookie {
	maxAge := int(ttl / time.Second)
	if maxAge <= 0 {
		maxAge = -1 // net/http writes Max-Age=0
	}
	return &http.Cookie{
		Name: name, Value: value, Path: path, MaxAge: maxAge,
		HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode,
	}
}
