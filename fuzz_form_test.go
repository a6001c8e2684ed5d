package tollgate_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tollgate-go/tollgate"
)

// fuzzContentTypes are the Content-Type headers FuzzTokenEndpoint picks
// from; "" sends none.
var fuzzContentTypes = []string{
	"application/x-www-form-urlencoded",
	"application/x-www-form-urlencoded; charset=UTF-8",
	"application/json",
	"multipart/form-data; boundary=XX",
	"",
	"text/plain",
	"application/x-www-form-urlencoded; charset",
	"application/x-www-form-urlencoded, application/json",
}

// fuzzAuthz are the Authorization headers FuzzTokenEndpoint picks from;
// "" sends none.
var fuzzAuthz = []string{
	"",
	"Basic Og==",
	basicAuth("myapp", ""),
	basicAuth("myapp", "s3cret"),
	"Basic !!!",
	"Bearer x",
}

// FuzzTokenEndpoint sends arbitrary bodies to /token with a Content-Type,
// Authorization header and method chosen by mode. Whatever it gets, the
// endpoint must answer 200, 400, 401 or 405 (never 5xx, never a panic)
// with a JSON body that names an error unless it is a 200. The login
// throttle is off (its 429 is tested elsewhere), and requests run one at a
// time, so the hash bound's 503 cannot happen.
func FuzzTokenEndpoint(f *testing.F) {
	fx := newFixture(f, "", func(c *tollgate.Config) {
		c.OnEvent = nil // the event log would grow with every execution
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
		// Every request comes from one address: with the throttle on,
		// the password path would answer 429 after 50 failures and the
		// fuzzer would stop exploring it. The throttle has its own tests.
		c.Logins = tollgate.LoginLimits{DisableThrottle: true}
	})
	seeds := []string{
		aliceForm,
		aliceForm + "&scope=me+items%3Aread",
		aliceForm + "&scope=me%20%20items%3Aread",
		aliceForm + "&scope=root",
		aliceForm + "&client_id=myapp",
		aliceForm + "&client_id=myapp&client_secret=s3cret",
		formBody("grant_type", "password", "username", "bob", "password", "builder", "scope", "items:write"),
		formBody("grant_type", "password", "username", "dave", "password", "disabled-pass"),
		formBody("grant_type", "password", "username", "mallory", "password", "x"),
		formBody("grant_type", "refresh_token", "refresh_token", "tgr_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
		formBody("grant_type", "refresh_token", "refresh_token", "x", "scope", "me"),
		formBody("grant_type", "client_credentials"),
		"grant_type=password&grant_type=password&username=alice&password=wonderland",
		"grant_type=password&username=alice%00&password=wonderland",
		"grant_type=password&username=ali%FFce&password=wonderland",
		"grant_type=password&username=alice&password=wonder%0d%0aland",
		"grant_type=password;username=alice&password=wonderland",
		"grant_type=password&username=alice&password=%zz",
		"grant_type=password&username=alice&password=" + strings.Repeat("a", 73),
		"grant_type=password&username=alice&password=" + strings.Repeat("%41", 1100),
		"scope=" + strings.Repeat("me+", 2000),
		`{"grant_type":"password","username":"alice","password":"wonderland"}`,
		"--XX\r\nContent-Disposition: form-data; name=\"grant_type\"\r\n\r\npassword\r\n--XX--\r\n",
		"&&&==&=&",
		"=",
		"%",
		"",
		"\x00\xff\xfe",
		strings.Repeat("a=b&", 100),
	}
	for _, s := range seeds {
		f.Add(s, uint8(0)) // a form, no Authorization header
	}
	// Every Content-Type, every Authorization header, and PUT.
	for m := range 1 << 7 {
		f.Add(aliceForm, uint8(m))
	}
	f.Add(aliceForm, uint8(0x80))
	f.Fuzz(func(t *testing.T, body string, mode uint8) {
		method := http.MethodPost
		if mode&0x80 != 0 {
			method = http.MethodPut
		}
		ct := fuzzContentTypes[int(mode)%len(fuzzContentTypes)]
		authz := fuzzAuthz[int(mode>>3)%len(fuzzAuthz)]
		req := httptest.NewRequest(method, "/token", strings.NewReader(body))
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		rec := fx.do(req)
		switch rec.Code {
		case 200, 400, 401, 405:
		default:
			t.Fatalf("status %d for body %q, mode %d: %s", rec.Code, body, mode, rec.Body)
		}
		var got struct {
			AccessToken *string `json:"access_token"`
			TokenType   string  `json:"token_type"`
			Error       *string `json:"error"`
			Description *string `json:"error_description"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
			t.Fatalf("status %d, body %q is not JSON: %v", rec.Code, rec.Body, err)
		}
		if rec.Code == 200 {
			if got.AccessToken == nil || *got.AccessToken == "" || got.TokenType != "Bearer" || got.Error != nil {
				t.Fatalf("200 without a token: %s", rec.Body)
			}
			return
		}
		if got.Error == nil || *got.Error == "" {
			t.Fatalf("status %d without an error code: %s", rec.Code, rec.Body)
		}
		if got.AccessToken != nil {
			t.Fatalf("status %d with a token: %s", rec.Code, rec.Body)
		}
		if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
			t.Fatalf("status %d with Cache-Control %q", rec.Code, cc)
		}
		if rec.Code == 401 && !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Basic ") {
			t.Fatalf("401 without a Basic challenge: %q", rec.Header().Get("WWW-Authenticate"))
		}
		if rec.Code == 405 && rec.Header().Get("Allow") != "POST" {
			t.Fatalf("405 with Allow %q", rec.Header().Get("Allow"))
		}
	})
}
