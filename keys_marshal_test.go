package tollgate_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tollgate-go/tollgate"
)

// TestMarshalPrivateRoundTrip: a key written by MarshalPrivate is read
// back by ParseKey as the same key, with the same kid, in each format.
func TestMarshalPrivateRoundTrip(t *testing.T) {
	for _, alg := range []string{"HS256", "RS256", "ES256", "ES384", "ES512", "EdDSA"} {
		k, err := tollgate.GenerateKey(alg)
		if err != nil {
			t.Fatal(err)
		}
		for _, format := range []string{"pem", "jwk"} {
			b, err := k.MarshalPrivate(format)
			if alg == "HS256" && format == "pem" {
				if err == nil {
					t.Errorf("HS256 as PEM: no error")
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s %s: %v", alg, format, err)
			}
			back, err := tollgate.ParseKey(b)
			if err != nil {
				t.Fatalf("%s %s: ParseKey: %v", alg, format, err)
			}
			if !back.Equal(k) || back.Algorithm() != alg {
				t.Errorf("%s %s: read back as another key (kid %s, alg %s)", alg, format, back.ID(), back.Algorithm())
			}
		}
	}
	if _, err := mustKey(t, "ES256").Public().MarshalPrivate("pem"); err == nil {
		t.Error("a public key marshalled as private")
	}
	if _, err := mustKey(t, "ES256").MarshalPrivate("der"); err == nil {
		t.Error("unknown format accepted")
	}
}

// TestMarshalKeySet: the public halves only, read back by ParseKeySet;
// an HS256 secret is never published (RFC 8725 §3.5).
func TestMarshalKeySet(t *testing.T) {
	a, b := mustKey(t, "ES256"), mustKey(t, "EdDSA")
	set, err := tollgate.MarshalKeySet(a, b)
	if err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(set, &raw); err != nil || len(raw.Keys) != 2 {
		t.Fatalf("set %s: %v", set, err)
	}
	for _, k := range raw.Keys {
		if _, ok := k["d"]; ok {
			t.Errorf("a private part was published: %v", k)
		}
	}
	keys, err := tollgate.ParseKeySet(set)
	if err != nil || len(keys) != 2 || keys[0].ID() != a.ID() || keys[1].ID() != b.ID() {
		t.Fatalf("ParseKeySet: %v %v", keys, err)
	}
	if _, err := tollgate.MarshalKeySet(mustKey(t, "HS256")); err == nil || !strings.Contains(err.Error(), "HS256") {
		t.Errorf("HS256 in a key set: %v", err)
	}
}

func mustKey(t *testing.T, alg string) *tollgate.Key {
	t.Helper()
	k, err := tollgate.GenerateKey(alg)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
