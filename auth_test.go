package tollgate_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/tollgate-go/tollgate"
)

// A key generated in memory is for development: New says so, loudly, and
// says nothing for a key loaded from material the service keeps.
func TestNewWarnsAboutGeneratedKey(t *testing.T) {
	gen, err := tollgate.GenerateKey("ES256")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		key  *tollgate.Key
		warn bool
	}{
		{"generated", gen, true},
		{"loaded", testKey(t, "ES256"), false},
	} {
		var logs bytes.Buffer
		_, err := tollgate.New(tollgate.Config{
			Issuer: testIssuer, Audience: []string{testAudience}, SigningKey: tc.key,
			Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(logs.String(), "level=WARN") && strings.Contains(logs.String(), "generated"); got != tc.warn {
			t.Errorf("%s key: warning logged = %v, want %v (log: %q)", tc.name, got, tc.warn, logs.String())
		}
	}
}
