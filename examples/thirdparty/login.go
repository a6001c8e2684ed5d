package main

// The login at the provider: its start and its callback.

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"

	"github.com/tollgate-go/tollgate"
	"golang.org/x/oauth2"
)

// flowCookie holds the key of the browser's flow. "__Secure-" (RFC 6265bis
// §4.1.3.1): no plain-http page can set it. SameSite=Lax: the provider's
// redirect back is a cross-site top-level navigation, which Strict would
// send without it.
const flowCookie = "__Secure-thirdparty-flow"

// login serves the login routes.
type login struct {
	auth     *tollgate.Authenticator
	provider *provider
	flows    *flowTable
	accounts *accounts
	upstream *http.Client
	logger   *slog.Logger
}

// start begins a login: a new flow, its key in the flow cookie, and a
// redirect to the provider's authorization endpoint with the state and
// the S256 challenge of the verifier (RFC 7636 §4.2, §4.3).
func (l *login) start(w http.ResponseWriter, r *http.Request) {
	if name := r.PathValue("provider"); name != "" && name != l.provider.name {
		loginPage(w, http.StatusNotFound, "No such provider here: this service logs in with "+l.provider.title+".")
		return
	}
	if c, err := r.Cookie(flowCookie); err == nil {
		l.flows.take(c.Value) // a login started again replaces the last one
	}
	f := flow{key: rand.Text(), state: rand.Text(), verifier: oauth2.GenerateVerifier()}
	l.flows.add(f)
	http.SetCookie(w, flowCookieOf(f.key, int(flowTTL.Seconds())))
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, l.provider.oauth.AuthCodeURL(f.state, oauth2.S256ChallengeOption(f.verifier)), http.StatusFound)
}

// flowCookieOf is the flow cookie with value, living maxAge seconds; a
// negative maxAge clears it.
func flowCookieOf(value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name: flowCookie, Value: value, Path: cookiePath, MaxAge: maxAge,
		HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode,
	}
}

// callback ends a login: the provider's redirect back (RFC 6749 §4.1.2).
// Whatever the outcome, the flow is spent and its cookie cleared.
func (l *login) callback(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	c, err := r.Cookie(flowCookie)
	if err != nil {
		loginPage(w, http.StatusBadRequest, "No login is in progress in this browser (it expired or cookies are blocked). Start again.")
		return
	}
	http.SetCookie(w, flowCookieOf("", -1))
	f, ok := l.flows.take(c.Value)
	if !ok {
		loginPage(w, http.StatusBadRequest, "This login has expired or was already used. Start again.")
		return
	}
	q := r.URL.Query()
	// RFC 6749 §10.12: the state binds the answer to this browser's
	// request; a mismatch is a forged or crossed callback.
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(f.state)) != 1 {
		l.logger.Warn("login callback refused: state mismatch")
		loginPage(w, http.StatusBadRequest, "The answer from the provider does not belong to this login. Start again.")
		return
	}
	if e := q.Get("error"); e != "" {
		l.logger.Info("login refused by the provider", "error", safeCode(e))
		if e == "access_denied" {
			loginPage(w, http.StatusForbidden, "You declined the login at "+l.provider.title+".")
			return
		}
		loginPage(w, http.StatusBadGateway, l.provider.title+" refused the login ("+safeCode(e)+").")
		return
	}
	code := q.Get("code")
	if code == "" {
		loginPage(w, http.StatusBadRequest, "The answer from the provider has no code. Start again.")
		return
	}
	ctx := context.WithValue(r.Context(), oauth2.HTTPClient, l.upstream)
	tok, err := l.provider.oauth.Exchange(ctx, code, oauth2.VerifierOption(f.verifier))
	if err != nil {
		l.logExchange(err)
		loginPage(w, http.StatusBadGateway, l.provider.title+" did not accept the login. Start again.")
		return
	}
	id, err := l.provider.userinfo(ctx, l.upstream, tok.AccessToken)
	if err != nil {
		l.logger.Warn("login failed: userinfo", "err", err)
		loginPage(w, http.StatusBadGateway, l.provider.title+" did not say who you are. Start again.")
		return
	}
	u, err := l.accounts.user(r.Context(), l.provider.name, id)
	if err != nil {
		l.logger.Error("login failed: the local user", "err", err)
		loginPage(w, http.StatusServiceUnavailable, "The service cannot take your login now.")
		return
	}
	if err := l.issue(w, r, u); err != nil {
		status := http.StatusInternalServerError
		var te *tollgate.Error
		if errors.As(err, &te) {
			status = te.Status
		}
		l.logger.Error("login failed: issuing our tokens", "err", err)
		loginPage(w, status, "The service cannot log you in now.")
	}
}

// issue issues our tokens to u through auth.IssueCookieRedirect: the
// refresh cookie, and a 303 to the page, whose POST /auth/refresh gets
// the access token. The callback is a top-level navigation, which cannot
// read a JSON body into the page's memory, and a token in a page's text
// is a token shown; 303 makes the browser fetch the page with GET, and
// the URL with the code and state leaves the address bar and the history.
func (l *login) issue(w http.ResponseWriter, r *http.Request, u *tollgate.User) error {
	return l.auth.IssueCookieRedirect(w, r, u, nil, "/")
}

// logExchange logs why the token endpoint refused the code: its error
// code and status, never its body (it may echo what was sent).
func (l *login) logExchange(err error) {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		l.logger.Warn("login failed: the provider's token endpoint refused the code", "status", status, "error", safeCode(re.ErrorCode))
		return
	}
	l.logger.Warn("login failed: the provider's token endpoint", "err", err)
}

// safeCode returns an OAuth error code (RFC 6749 §4.1.2.1) for the log
// and the page, or "other" for one that is not.
func safeCode(s string) string {
	if s == "" || len(s) > 64 || strings.Trim(s, "abcdefghijklmnopqrstuvwxyz_") != "" {
		return "other"
	}
	return s
}

// pageTemplate is the answer of a login route that does not redirect.
var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Login failed</title>
<link rel="stylesheet" href="/style.css">
</head>
<body>
<main>
  <h1>Login failed</h1>
  <p id="error" role="alert">{{.}}</p>
  <p><a id="back" href="/">Back to the page</a></p>
</main>
</body>
</html>
`))

// loginPage answers a login route with status and a message for the
// user, in HTML: the routes are top-level navigations of a browser.
func loginPage(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = pageTemplate.Execute(w, msg)
}

// staticFiles are the page's files.
func staticFiles() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // static is embedded: it is there
	}
	return sub
}

// renderIndex renders the page for p: its login link.
func renderIndex(p *provider) ([]byte, error) {
	t, err := template.ParseFS(staticFiles(), "index.html")
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	err = t.Execute(&b, struct{ Title, Login string }{p.title, cookiePath + "/login/" + p.name})
	return b.Bytes(), err
}
