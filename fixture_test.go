package tollgate_test

import "testing"

// TestFixtureIsSound checks the shared fixture itself: a token the fixture
// forges with the real key is accepted, so a test that expects rejection of
// an altered token fails for the alteration alone.
func TestFixtureIsSound(t *testing.T) {
	for _, alg := range []string{"HS256", "RS256", "ES256", "EdDSA"} {
		f := newFixture(t, alg, nil)
		if rec := f.get("/items", "Bearer "+f.forgeGood(t, nil)); rec.Code != 200 {
			t.Errorf("%s: forged-good token: status %d, %s", alg, rec.Code, rec.Header().Get("WWW-Authenticate"))
		}
		tj := f.login(t, "alice", "wonderland")
		if rec := f.get("/items", "Bearer "+tj.AccessToken); rec.Code != 200 {
			t.Errorf("%s: issued token: status %d", alg, rec.Code)
		}
	}
}
