package tollgatetest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-go/tollgate"
	"github.com/tollgate-go/tollgate/memstore"
	"github.com/tollgate-go/tollgate/tollgatetest"
)

var scopes = map[string]string{"items:read": "Read items", "items:write": "Create items", "admin": "Administer"}

// whoami is a handler under test: it answers the caller's username and
// a claim of the service's own.
func whoami(w http.ResponseWriter, r *http.Request) {
	p, _ := tollgate.FromContext(r.Context())
	var own struct {
		Tenant string `json:"tenant"`
	}
	_ = p.DecodeClaims(&own)
	fmt.Fprintf(w, "%s %s %s", p.Subject, p.Username, own.Tenant)
}

// TestKitAnswers drives a protected handler through every RFC 6750
// answer, as a user's handler test would.
func TestKitAnswers(t *testing.T) {
	kit := tollgatetest.New(scopes)
	h := kit.Auth.RequireScopes("items:read")(http.HandlerFunc(whoami))
	anyOf := kit.Auth.RequireAnyScope("items:write", "admin")(http.HandlerFunc(whoami))

	rec := kit.Serve(h, kit.Request("GET", "/items", kit.Token("u-1", []string{"items:read"}, tollgatetest.Username("alice"), tollgatetest.Claims(map[string]any{"tenant": "acme"})), nil))
	if rec.Code != 200 || rec.Body.String() != "u-1 alice acme" {
		t.Fatalf("good token: %d %q", rec.Code, rec.Body)
	}
	tollgatetest.AssertNoToken(t, kit.Serve(h, kit.Request("GET", "/items", "", nil)))
	tollgatetest.AssertInvalidToken(t, kit.Serve(h, kit.Request("GET", "/items", kit.Token("alice", []string{"items:read"}, tollgatetest.Expired()), nil)))
	tollgatetest.AssertInvalidToken(t, kit.Serve(h, kit.Request("GET", "/items", kit.Token("alice", []string{"items:read"}, tollgatetest.NotYetValid()), nil)))
	tollgatetest.AssertInvalidToken(t, kit.Serve(h, kit.Request("GET", "/items", "not.a.token", nil)))
	tollgatetest.AssertInsufficientScope(t, kit.Serve(h, kit.Request("GET", "/items", kit.Token("alice", nil), nil)), "items:read")
	tollgatetest.AssertInsufficientScope(t, kit.Serve(anyOf, kit.Request("GET", "/x", kit.Token("alice", []string{"items:read"}), nil)), "items:write admin")
	if rec := kit.Serve(anyOf, kit.Request("GET", "/x", kit.Token("alice", []string{"admin"}), nil)); rec.Code != 200 {
		t.Errorf("any-of with one: %d", rec.Code)
	}
	two := kit.Request("GET", "/items", kit.Token("alice", []string{"items:read"}), nil)
	two.Header.Add("Authorization", "Bearer x")
	tollgatetest.AssertInvalidRequest(t, kit.Serve(h, two))

	// A token of another kit (another key) is forged here.
	other := tollgatetest.New(scopes)
	tollgatetest.AssertInvalidToken(t, kit.Serve(h, kit.Request("GET", "/items", other.Token("alice", []string{"items:read"}), nil)))
}

// TestKitExpiresIn: a token that expires soon is valid until then.
func TestKitExpiresIn(t *testing.T) {
	kit := tollgatetest.New(scopes, func(c *tollgate.Config) { c.Leeway = -1 })
	h := kit.Auth.RequireScopes()(http.HandlerFunc(whoami))
	if rec := kit.Serve(h, kit.Request("GET", "/", kit.Token("alice", nil, tollgatetest.ExpiresIn(time.Minute)), nil)); rec.Code != 200 {
		t.Errorf("a token with a minute left: %d", rec.Code)
	}
	tollgatetest.AssertInvalidToken(t, kit.Serve(h, kit.Request("GET", "/", kit.Token("alice", nil, tollgatetest.ExpiresIn(-time.Second)), nil)))
}

// TestKitConfig: mutate reaches the Config: with a denylist the kit's
// tokens carry a jti that can be denied, and with LoadUser a deleted
// user's token is refused.
func TestKitConfig(t *testing.T) {
	users := memstore.NewUsers(tollgate.User{Username: "alice"})
	kit := tollgatetest.New(scopes, func(c *tollgate.Config) { c.Users = users; c.LoadUser = true })
	h := kit.Auth.RequireScopes()(http.HandlerFunc(whoami))
	tok := kit.Token("alice", nil)
	if rec := kit.Serve(h, kit.Request("GET", "/", tok, nil)); rec.Code != 200 {
		t.Fatalf("LoadUser, user present: %d %s", rec.Code, rec.Body)
	}
	tollgatetest.AssertInvalidToken(t, kit.Serve(h, kit.Request("GET", "/", kit.Token("mallory", nil), nil)))
}

// TestKitPanicsOnBadSetup: mistakes in a test's setup panic at once.
func TestKitPanicsOnBadSetup(t *testing.T) {
	kit := tollgatetest.New(scopes)
	for name, f := range map[string]func(){
		"reserved claim":      func() { kit.Token("alice", nil, tollgatetest.Claims(map[string]any{"sub": "root"})) },
		"bad scope":           func() { kit.Token("alice", []string{"a b"}) },
		"unregistered in New": func() { tollgatetest.New(map[string]string{"a b": "x"}) },
		"bad config":          func() { tollgatetest.New(nil, func(c *tollgate.Config) { c.Leeway = time.Hour }) },
	} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.HasPrefix(fmt.Sprint(r), "tollgatetest: ") {
					t.Errorf("%s: recovered %v", name, r)
				}
			}()
			f()
		}()
	}
}

// TestAssertionsFail: each assertion fails on an answer it does not
// describe, so a test that uses it can fail.
func TestAssertionsFail(t *testing.T) {
	kit := tollgatetest.New(scopes)
	h := kit.Auth.RequireScopes("items:read")(http.HandlerFunc(whoami))
	ok := kit.Serve(h, kit.Request("GET", "/", kit.Token("alice", []string{"items:read"}), nil))
	noScope := kit.Serve(h, kit.Request("GET", "/", kit.Token("alice", nil), nil))
	for name, check := range map[string]func(testing.TB){
		"AssertNoToken on 200":                 func(tb testing.TB) { tollgatetest.AssertNoToken(tb, ok) },
		"AssertInvalidToken on 403":            func(tb testing.TB) { tollgatetest.AssertInvalidToken(tb, noScope) },
		"AssertInsufficientScope, other scope": func(tb testing.TB) { tollgatetest.AssertInsufficientScope(tb, noScope, "admin") },
		"AssertInvalidRequest on 200":          func(tb testing.TB) { tollgatetest.AssertInvalidRequest(tb, ok) },
	} {
		rt := &recordingTB{TB: t}
		check(rt)
		if !rt.failed {
			t.Errorf("%s did not fail", name)
		}
	}
}

// recordingTB records a failure instead of failing the test.
type recordingTB struct {
	testing.TB
	failed bool
}

func (r *recordingTB) Errorf(string, ...any) { r.failed = true }
func (r *recordingTB) Helper()               {}

// A handler test in ten lines: the kit's Authenticator wraps the handler
// as the service's does, and its tokens say who calls with what.
func Example() {
	kit := tollgatetest.New(map[string]string{"items:read": "Read items"})
	h := kit.Auth.RequireScopes("items:read")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := tollgate.FromContext(r.Context())
		json.NewEncoder(w).Encode(map[string]string{"user": p.Subject})
	}))
	fmt.Print(kit.Serve(h, kit.Request("GET", "/items", kit.Token("alice", []string{"items:read"}), nil)).Body)
	fmt.Println(kit.Serve(h, kit.Request("GET", "/items", kit.Token("alice", nil), nil)).Code)
	fmt.Println(kit.Serve(h, kit.Request("GET", "/items", kit.Token("alice", []string{"items:read"}, tollgatetest.Expired()), nil)).Code)
	// Output:
	// {"user":"alice"}
	// 403
	// 401
}
