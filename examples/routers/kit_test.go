package routers_test

// The tests' names for the test kit, tollgatetest: the same tokens,
// requests and assertions, with the table's own shapes (a body as a
// string, options as package functions).

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tollgate-go/tollgate"
	"github.com/tollgate-go/tollgate/tollgatetest"
)

// kit is tollgatetest's Kit with the tests' Token and Request.
type kit struct{ *tollgatetest.Kit }

// newKit returns a kit whose Authenticator registers scopes, with no
// leeway, so that an expired token is refused at once.
func newKit(_ testing.TB, scopes map[string]string) *kit {
	return &kit{tollgatetest.New(scopes, func(c *tollgate.Config) { c.Leeway = -1 })}
}

// Token mints a token of the kit for subject, granted scopes.
func (k *kit) Token(_ testing.TB, subject string, scopes []string, opts ...tollgatetest.Option) string {
	return k.Kit.Token(subject, scopes, opts...)
}

// Request returns a request for target carrying token.
func (k *kit) Request(method, target, token, body string) *http.Request {
	return k.Kit.Request(method, target, token, strings.NewReader(body))
}

var (
	expired  = tollgatetest.Expired
	username = tollgatetest.Username
)

func assertNoToken(t testing.TB, rec *httptest.ResponseRecorder) {
	t.Helper()
	tollgatetest.AssertNoToken(t, rec)
}

func assertInvalidToken(t testing.TB, rec *httptest.ResponseRecorder) {
	t.Helper()
	tollgatetest.AssertInvalidToken(t, rec)
}

func assertInsufficientScope(t testing.TB, rec *httptest.ResponseRecorder, scope string) {
	t.Helper()
	tollgatetest.AssertInsufficientScope(t, rec, scope)
}
