// Package tollgatetest helps test handlers that sit behind tollgate's
// middleware, without a running issuer: an Authenticator with an
// ephemeral key in one call, access tokens of any subject, scopes,
// claims and lifetime (expired and not yet valid ones too), requests
// that carry them, and assertions for the RFC 6750 answers.
//
//	kit := tollgatetest.New(map[string]string{"items:read": "Read items"})
//	h := kit.Auth.RequireScopes("items:read")(listItems)
//	rec := kit.Serve(h, kit.Request("GET", "/items", kit.Token("alice", []string{"items:read"}), nil))
//	// rec.Code == 200; with kit.Token("alice", nil): tollgatetest.AssertInsufficientScope(t, rec, "items:read")
//
// The tokens are real: signed as [tollgate.Authenticator.Issue] signs
// them and verified by the same code as in production, so a test that
// passes with them passes against a real issuer with the same settings.
// Never use the kit outside tests: its key lives in memory only.
package tollgatetest

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-go/tollgate"
	"github.com/tollgate-go/tollgate/internal/kit"
)

// The issuer and audience of a Kit's tokens, unless the Config given to
// New sets others.
const (
	Issuer   = "https://issuer.tollgate.test"
	Audience = "https://api.tollgate.test"
)

// A Kit is an Authenticator for tests, with an ephemeral signing key,
// and the tokens and requests to call its protected handlers with.
type Kit struct {
	// Auth verifies the kit's tokens: wrap the handlers under test with
	// its RequireScopes and RequireAnyScope, as the service does.
	Auth *tollgate.Authenticator

	cfg tollgate.Config
}

// New returns a Kit whose Authenticator registers scopes (name and
// description, as Config.Scopes) and signs with a fresh ES256 key, with
// the issuer and audience above, and a Hasher under which no password
// verifies. mutate, if given, may change the Config before tollgate.New
// (Denylist, LoadUser with Users, AccessTTL, an ErrorHandler, a real
// Hasher...). New panics if the Config is refused: a mistake in the
// test's setup.
func New(scopes map[string]string, mutate ...func(*tollgate.Config)) *Kit {
	key, err := tollgate.GenerateKey("ES256")
	if err != nil {
		panic("tollgatetest: " + err.Error())
	}
	cfg := tollgate.Config{
		Issuer:     Issuer,
		Audience:   []string{Audience},
		SigningKey: key,
		Scopes:     scopes,
		Logger:     discard,
		// The kit checks no password: a hasher that hashes none spares
		// the seconds bcrypt takes for New's dummy hash under the race
		// detector. A test of logins sets Hasher in mutate.
		Hasher: noPasswords{},
	}
	for _, m := range mutate {
		m(&cfg)
	}
	a, err := tollgate.New(cfg)
	if err != nil {
		panic("tollgatetest: " + err.Error())
	}
	if cfg.AccessTTL == 0 {
		cfg.AccessTTL = 15 * time.Minute
	}
	return &Kit{Auth: a, cfg: cfg}
}

// discard is the kit's logger: a test's rejected tokens are its point,
// not news.
var discard = slog.New(slog.DiscardHandler)

// noPasswords is the kit's default PasswordHasher: no password verifies.
type noPasswords struct{}

func (noPasswords) Hash(string) ([]byte, error)         { return []byte("tollgatetest: no passwords"), nil }
func (noPasswords) Verify([]byte, string) (bool, error) { return false, nil }
func (noPasswords) NeedsRehash([]byte) bool             { return false }

// An Option changes a token that [Kit.Token] mints.
type Option func(*kit.Token)

// Expired makes the token expired an hour ago, beyond any leeway.
func Expired() Option {
	return func(t *kit.Token) {
		t.ExpiresAt = time.Now().Add(-time.Hour)
		t.IssuedAt = t.ExpiresAt.Add(-15 * time.Minute)
	}
}

// NotYetValid makes the token issued an hour from now: it is refused
// until then (RFC 7519 §4.1.6, beyond any leeway).
func NotYetValid() Option {
	return func(t *kit.Token) {
		t.IssuedAt = time.Now().Add(time.Hour)
		t.ExpiresAt = t.IssuedAt.Add(15 * time.Minute)
	}
}

// ExpiresIn makes the token expire d from now (issued now).
func ExpiresIn(d time.Duration) Option {
	return func(t *kit.Token) {
		t.IssuedAt = time.Now()
		t.ExpiresAt = t.IssuedAt.Add(d)
	}
}

// Claims adds claims of the service's own, as Config.Claims would, for
// Principal.DecodeClaims. The registered and protocol claims cannot be
// set (Token panics).
func Claims(claims map[string]any) Option {
	return func(t *kit.Token) { t.Claims = claims }
}

// Username sets the token's "preferred_username" (Principal.Username);
// by default it is the subject.
func Username(name string) Option {
	return func(t *kit.Token) { t.Username = name }
}

// ClientID sets the token's "client_id"; by default the first-party
// client "tollgate".
func ClientID(id string) Option {
	return func(t *kit.Token) { t.ClientID = id }
}

// Token mints an access token for subject (the "sub" claim) granted
// scopes, valid from now for the Config's AccessTTL unless an option
// says otherwise. Scopes need not be registered: a token of another
// service's scopes is a case worth testing. Token panics on a token
// tollgate would not issue (a reserved claim, a scope that is not a
// scope-token, more than 8 KiB): a mistake in the test.
func (k *Kit) Token(subject string, scopes []string, opts ...Option) string {
	now := time.Now()
	t := kit.Token{Subject: subject, ClientID: "tollgate", Scopes: scopes, IssuedAt: now, ExpiresAt: now.Add(k.cfg.AccessTTL)}
	for _, o := range opts {
		o(&t)
	}
	tok, err := kit.Mint(k.Auth, t)
	if err != nil {
		panic("tollgatetest: " + err.Error())
	}
	return tok
}

// Request returns a request for target with body (nil for none), as
// httptest.NewRequest makes it, carrying token in the Authorization
// header (RFC 6750 §2.1); an empty token sends none.
func (k *Kit) Request(method, target, token string, body io.Reader) *http.Request {
	r := httptest.NewRequest(method, target, body)
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	return r
}

// Serve serves r with h and returns what h answered.
func (k *Kit) Serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

// AssertNoToken checks the answer to a request without a token: 401 and
// a bare challenge with no error code (RFC 6750 §3.1).
func AssertNoToken(t testing.TB, rec *httptest.ResponseRecorder) {
	t.Helper()
	ch := rec.Header().Get("WWW-Authenticate")
	if rec.Code != http.StatusUnauthorized || !strings.HasPrefix(ch, "Bearer ") || strings.Contains(ch, "error=") {
		t.Errorf("want 401 with a bare Bearer challenge (RFC 6750 §3.1), got %d, WWW-Authenticate %q", rec.Code, ch)
	}
}

// AssertInvalidToken checks the answer to a bad, expired or forged
// token: 401 with error="invalid_token" (RFC 6750 §3.1).
func AssertInvalidToken(t testing.TB, rec *httptest.ResponseRecorder) {
	t.Helper()
	assertChallenge(t, rec, http.StatusUnauthorized, "invalid_token", "")
}

// AssertInsufficientScope checks the answer to a valid token without a
// required scope: 403 with error="insufficient_scope" and scope naming
// what is required, space-separated, as the middleware was given it
// (RFC 6750 §3.1).
func AssertInsufficientScope(t testing.TB, rec *httptest.ResponseRecorder, scope string) {
	t.Helper()
	assertChallenge(t, rec, http.StatusForbidden, "insufficient_scope", scope)
}

// AssertInvalidRequest checks the answer to a malformed request (two
// Authorization headers, a token sent two ways): 400 with
// error="invalid_request" (RFC 6750 §3.1).
func AssertInvalidRequest(t testing.TB, rec *httptest.ResponseRecorder) {
	t.Helper()
	assertChallenge(t, rec, http.StatusBadRequest, "invalid_request", "")
}

// assertChallenge checks status and the challenge's error and scope.
func assertChallenge(t testing.TB, rec *httptest.ResponseRecorder, status int, code, scope string) {
	t.Helper()
	params := challengeParams(rec.Header().Get("WWW-Authenticate"))
	if rec.Code != status || params["error"] != code || scope != "" && params["scope"] != scope {
		want := `error="` + code + `"`
		if scope != "" {
			want += `, scope="` + scope + `"`
		}
		t.Errorf("want %d with a Bearer challenge %s (RFC 6750 §3.1), got %d, WWW-Authenticate %q", status, want, rec.Code, rec.Header().Get("WWW-Authenticate"))
	}
}

// challengeParams parses the auth-params of a Bearer challenge as
// tollgate writes them (quoted values without escapes).
func challengeParams(ch string) map[string]string {
	out := map[string]string{}
	rest, ok := strings.CutPrefix(ch, "Bearer ")
	if !ok {
		return out
	}
	for rest != "" {
		name, after, ok := strings.Cut(rest, `="`)
		if !ok {
			break
		}
		value, after, ok := strings.Cut(after, `"`)
		if !ok {
			break
		}
		out[strings.TrimSpace(name)] = value
		rest = strings.TrimPrefix(strings.TrimSpace(after), ",")
		rest = strings.TrimSpace(rest)
	}
	return out
}
