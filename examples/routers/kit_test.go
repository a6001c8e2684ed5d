package routers_test

// A stand-in for the tollgatetest package (issue 11's test kit), which the
// branch this module was written on does not have yet: the same names and
// answers (New, Kit.Auth, Kit.Token with Expired and Username,
// Kit.Request, AssertNoToken, AssertInvalidToken, AssertInsufficientScope),
// built on the public API (tollgate.GenerateKey, New, Issue). Once
// tollgatetest is here, delete this file and import it: the calls keep
// their shape (tollgatetest's Token takes no testing.TB and panics
// instead, its options are tollgatetest.Expired and tollgatetest.Username).

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-go/tollgate"
)

// The issuer and audience of a kit's tokens.
const (
	kitIssuer   = "https://issuer.tollgate.test"
	kitAudience = "https://api.tollgate.test"
)

// A kit is an Authenticator with an ephemeral key, and the tokens and
// requests to call its protected handlers with.
type kit struct {
	Auth *tollgate.Authenticator

	key      *tollgate.Key
	scopes   map[string]string
	expiring *tollgate.Authenticator // issues tokens that are expired at once
}

// newKit returns a kit whose Authenticator registers scopes and signs
// with a fresh ES256 key. It has no leeway (Config.Leeway negative), so
// that a token of the expiring issuer is refused at once; a service keeps
// the default.
func newKit(t testing.TB, scopes map[string]string) *kit {
	t.Helper()
	key, err := tollgate.GenerateKey("ES256")
	if err != nil {
		t.Fatal(err)
	}
	k := &kit{key: key, scopes: scopes}
	k.Auth = k.authenticator(t, 0)
	k.expiring = k.authenticator(t, time.Nanosecond)
	return k
}

func (k *kit) authenticator(t testing.TB, ttl time.Duration) *tollgate.Authenticator {
	t.Helper()
	a, err := tollgate.New(tollgate.Config{
		Issuer:     kitIssuer,
		Audience:   []string{kitAudience},
		SigningKey: k.key,
		Scopes:     k.scopes,
		AccessTTL:  ttl,
		Leeway:     -1,
		Hasher:     noPasswords{},
		Logger:     slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// noPasswords is the kit's PasswordHasher: the kit checks no password,
// and bcrypt's hash of New's dummy password takes seconds under the race
// detector.
type noPasswords struct{}

func (noPasswords) Hash(string) ([]byte, error)         { return []byte("no-passwords"), nil }
func (noPasswords) Verify([]byte, string) (bool, error) { return false, nil }
func (noPasswords) NeedsRehash([]byte) bool             { return false }

// A tokenOption changes a token that kit.Token mints.
type tokenOption func(*tokenSpec)

type tokenSpec struct {
	username string
	expired  bool
}

// expired makes the token expired by the time it is used.
func expired() tokenOption { return func(s *tokenSpec) { s.expired = true } }

// username sets the token's preferred_username; by default the subject.
func username(name string) tokenOption { return func(s *tokenSpec) { s.username = name } }

// Token returns an access token of the kit for subject, granted scopes
// (registered ones: Issue grants no others).
func (k *kit) Token(t testing.TB, subject string, scopes []string, opts ...tokenOption) string {
	t.Helper()
	spec := tokenSpec{username: subject}
	for _, o := range opts {
		o(&spec)
	}
	issuer := k.Auth
	if spec.expired {
		issuer = k.expiring
	}
	if scopes == nil {
		scopes = []string{} // none, not every scope the user holds
	}
	u := &tollgate.User{ID: subject, Username: spec.username, Scopes: scopes}
	tok, err := issuer.Issue(httptest.NewRequest("POST", "/token", nil), u, "", scopes)
	if err != nil {
		t.Fatal(err)
	}
	return tok.AccessToken
}

// Request returns a request for target carrying token in the
// Authorization header; an empty token sends none.
func (k *kit) Request(method, target, token string, body string) *http.Request {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	return r
}

// assertNoToken checks 401 with a bare Bearer challenge (RFC 6750 §3.1).
func assertNoToken(t testing.TB, rec *httptest.ResponseRecorder) {
	t.Helper()
	ch := rec.Header().Get("WWW-Authenticate")
	if rec.Code != http.StatusUnauthorized || !strings.HasPrefix(ch, "Bearer ") || strings.Contains(ch, "error=") {
		t.Errorf("want 401 with a bare Bearer challenge (RFC 6750 §3.1), got %d, WWW-Authenticate %q", rec.Code, ch)
	}
}

// assertInvalidToken checks 401 with error="invalid_token".
func assertInvalidToken(t testing.TB, rec *httptest.ResponseRecorder) {
	t.Helper()
	assertChallenge(t, rec, http.StatusUnauthorized, "invalid_token", "")
}

// assertInsufficientScope checks 403 with error="insufficient_scope" and
// scope.
func assertInsufficientScope(t testing.TB, rec *httptest.ResponseRecorder, scope string) {
	t.Helper()
	assertChallenge(t, rec, http.StatusForbidden, "insufficient_scope", scope)
}

func assertChallenge(t testing.TB, rec *httptest.ResponseRecorder, status int, code, scope string) {
	t.Helper()
	ch := rec.Header().Get("WWW-Authenticate")
	params := challengeParams(ch)
	if rec.Code != status || params["error"] != code || scope != "" && params["scope"] != scope {
		t.Errorf("want %d with a Bearer challenge error=%q scope=%q (RFC 6750 §3.1), got %d, WWW-Authenticate %q", status, code, scope, rec.Code, ch)
	}
}

// challengeParams parses a Bearer challenge as tollgate writes it (quoted
// values without escapes).
func challengeParams(ch string) map[string]string {
	out := map[string]string{}
	rest, ok := strings.CutPrefix(ch, "Bearer ")
	for ok && rest != "" {
		var name, value string
		if name, rest, ok = strings.Cut(rest, `="`); !ok {
			break
		}
		if value, rest, ok = strings.Cut(rest, `"`); !ok {
			break
		}
		out[strings.TrimSpace(name)] = value
		rest = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(rest), ","))
	}
	return out
}
