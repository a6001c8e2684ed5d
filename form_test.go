package tollgate

import (
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParseForm holds parseForm to url.ParseQuery: it accepts a body
// exactly when url.ParseQuery does and the result has no repeated
// parameter (RFC 6749 §3.1), no value too long and none with invalid
// UTF-8 or a control character, and then returns the same values.
func FuzzParseForm(f *testing.F) {
	for _, s := range []string{
		"", "&", "&&&==&=&", "=", "%", "a=1&b=2", "a=1&a=2", "a=%41+b", "a;b=1",
		"a=%3B", "grant_type=refresh_token&refresh_token=tgr_abc", "a", "a=&b",
		"a=%zz", "%zz=1", "a=%00", "a=%FF", "scope=" + strings.Repeat("me+", 600),
		"+=+", "a%26b=c%3Dd", "a=1&&b=2&",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		got, err := parseForm(body)
		want, werr := url.ParseQuery(body)
		ok := werr == nil
		if ok {
			for name, vs := range want {
				limit := maxParamBytes
				if name == "scope" {
					limit = maxScopeParam
				}
				if len(vs) > 1 || len(vs[0]) > limit || !utf8.ValidString(vs[0]) || hasControl(vs[0]) {
					ok = false
				}
			}
		}
		if ok != (err == nil) {
			t.Fatalf("parseForm(%q): err %v; url.ParseQuery: %v, %v", body, err, want, werr)
		}
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code != "invalid_request" {
				t.Fatalf("parseForm(%q): %v, want invalid_request", body, err)
			}
			return
		}
		if !reflect.DeepEqual(map[string][]string(got), map[string][]string(want)) {
			t.Fatalf("parseForm(%q) = %v, url.ParseQuery = %v", body, got, want)
		}
		// Each value is its own slice: appending to one never writes
		// into another.
		for name := range got {
			_ = append(got[name], "x")
		}
		if !reflect.DeepEqual(map[string][]string(got), map[string][]string(want)) {
			t.Fatalf("parseForm(%q): values share room: %v", body, got)
		}
	})
}

// TestParseFormParamBound: more parameters than net/url allows are
// refused, as url.ParseQuery refuses them.
func TestParseFormParamBound(t *testing.T) {
	body := strings.Repeat("&", maxFormParams)
	if _, err := parseForm(body); err == nil {
		t.Fatal("a body of more than maxFormParams parameters was accepted")
	}
	if _, err := parseForm(body[1:]); err != nil {
		t.Fatalf("maxFormParams empty parameters: %v", err)
	}
}
