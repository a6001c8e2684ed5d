package tollgate_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tollgate-go/tollgate"
)

// TestMultipleIssuers: a resource server trusting two issuers accepts
// each one's tokens, checks a token only against the keys of the issuer
// it names (a token naming B signed with A's key is refused), with that
// issuer's audiences, and refuses tokens of any other issuer.
func TestMultipleIssuers(t *testing.T) {
	kA, kB := testKey(t, "ES256"), testKey(t, "EdDSA")
	issuer := func(name string, key *tollgate.Key, aud string) *fixture {
		return newFixture(t, "", func(c *tollgate.Config) { c.Issuer, c.SigningKey, c.Audience = name, key, []string{aud} })
	}
	a := issuer("https://a.test", kA, "https://api.test")
	b := issuer("https://b.test", kB, "https://api.test")
	forgedB := issuer("https://b.test", kA, "https://api.test") // names B, signed with A's key
	other := issuer("https://c.test", kA, "https://api.test")
	bForOtherAPI := issuer("https://b.test", kB, "https://other-api.test")

	rs, err := tollgate.New(tollgate.Config{
		Scopes: testScopes,
		Issuers: []tollgate.Issuer{
			{Issuer: "https://a.test", Audience: []string{"https://api.test"}, VerificationKeys: []*tollgate.Key{kA.Public()}},
			{Issuer: "https://b.test", Audience: []string{"https://api.test"}, VerificationKeys: []*tollgate.Key{kB.Public()}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	h := rs.RequireScopes("me")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := tollgate.FromContext(r.Context())
		_, _ = w.Write([]byte(p.Subject))
	}))
	call := func(token string) int {
		r := httptest.NewRequest("GET", "/users/me", nil)
		r.Header.Set("Authorization", "Bearer "+token)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	for name, tc := range map[string]struct {
		f    *fixture
		want int
	}{
		"issuer A":                     {a, http.StatusOK},
		"issuer B":                     {b, http.StatusOK},
		"names B, signed with A's key": {forgedB, http.StatusUnauthorized},
		"an issuer not trusted":        {other, http.StatusUnauthorized},
		"B's token for another API":    {bForOtherAPI, http.StatusUnauthorized},
	} {
		tok := tc.f.login(t, "alice", "wonderland").AccessToken
		for range 2 { // the second time from the cache, if it was cached
			if got := call(tok); got != tc.want {
				t.Errorf("%s: %d, want %d", name, got, tc.want)
			}
		}
	}
	if got := call("not.a.token"); got == http.StatusOK {
		t.Errorf("a malformed token: %d", got)
	}
}

// TestIssuersConfig: with Config.Issuers, the single-issuer settings are
// refused, and an issuer named twice is an error.
func TestIssuersConfig(t *testing.T) {
	k := testKey(t, "ES256").Public()
	one := tollgate.Issuer{Issuer: "https://a.test", Audience: []string{"x"}, VerificationKeys: []*tollgate.Key{k}}
	for name, cfg := range map[string]tollgate.Config{
		"Issuer beside Issuers":  {Issuer: "https://a.test", Issuers: []tollgate.Issuer{one}},
		"an issuer twice":        {Issuers: []tollgate.Issuer{one, one}},
		"an issuer without keys": {Issuers: []tollgate.Issuer{{Issuer: "https://b.test", Audience: []string{"x"}}}},
	} {
		if _, err := tollgate.New(cfg); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
}
