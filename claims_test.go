package tollgate_test

// The claims decoder of the verify path is hand-written; these tests hold
// it to encoding/json's reading of the same bytes, plus the strict rules
// it adds (RFC 7519 §4: unique claim names; case-sensitive names; typed
// values).

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-go/tollgate"
)

var claimsSeeds = []string{
	`{"iss":"https://as.test","sub":"alice","aud":"https://api.test","exp":1900000000,"iat":1700000000,"jti":"x","client_id":"tollgate","scope":"me items:read"}`,
	`{"aud":["a","b"],"exp":1.5,"nbf":0,"preferred_username":"al\u00efce"}`,
	` { "sub" : "a\"b\\c\/d\n" , "x" : [1,{"y":null},true,false,-0.5e+3] } `,
	`{"sub":"a","sub":"b"}`,
	`{"scope":null}`,
	`{"scope":["me"]}`,
	`{"ISS":"x","Sub":"y"}`,
	`{"aud":[]}`,
	`{"aud":[null]}`,
	`{"exp":-1}`,
	`{"exp":1e12}`,
	`{"exp":"1"}`,
	`{"exp":01}`,
	`{"s\u0075b":"escaped name"}`,
	"{\"sub\":\"\xff\xfe\"}",
	`{"sub":"\ud83d\ude00 \ud83d"}`,
	`[]`, `{}`, `{`, `{"a":1,}`, `{"a" 1}`, `{} {}`, `null`, ``,
}

// FuzzDecodeClaims checks decodeClaims against encoding/json: it accepts
// no invalid JSON; what it accepts it reads exactly as encoding/json reads
// the same member; and each valid JSON object it rejects breaks one of the
// strict rules.
func FuzzDecodeClaims(f *testing.F) {
	for _, s := range claimsSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, payload string) {
		got, err := tollgate.DecodeClaims(payload)
		if !json.Valid([]byte(payload)) {
			if err == nil {
				t.Fatalf("DecodeClaims(%q) accepted invalid JSON", payload)
			}
			return
		}
		members, isObject := topMembers(payload)
		if !isObject {
			if err == nil {
				t.Fatalf("DecodeClaims(%q) accepted a non-object", payload)
			}
			return
		}
		want, why := oracleClaims(members)
		if err != nil {
			if why == "" && !strings.Contains(err.Error(), "nested") {
				t.Fatalf("DecodeClaims(%q) = %v, but the claims are well-formed", payload, err)
			}
			return
		}
		if why != "" {
			t.Fatalf("DecodeClaims(%q) accepted claims that %s", payload, why)
		}
		if g, w := mustJSON(got), mustJSON(want); g != w {
			t.Fatalf("DecodeClaims(%q)\n got %s\nwant %s", payload, g, w)
		}
	})
}

func TestDecodeClaimsSeeds(t *testing.T) {
	tests := []struct {
		payload string
		ok      bool
	}{
		{claimsSeeds[0], true},
		{`{"sub":"a","sub":"b"}`, false},            // RFC 7519 §4 duplicate claim
		{`{"sub":"a","s\u0075b":"b"}`, false},       // the same name, escaped
		{`{"scope":null}`, false},                   // scope must be a string
		{`{"scope":["me"]}`, false},                 // ... not an array
		{`{"ISS":"x","Sub":"y","x":1,"x":2}`, true}, // other names, unread
		{`{"aud":[null]}`, false},
		{`{"exp":-1}`, false},
		{`{"exp":1099511627777}`, false}, // past 2^40
		{`{} {}`, false},
	}
	for _, tt := range tests {
		got, err := tollgate.DecodeClaims(tt.payload)
		if (err == nil) != tt.ok {
			t.Errorf("DecodeClaims(%s) = %+v, %v; want ok %v", tt.payload, got, err, tt.ok)
		}
	}
	c, _ := tollgate.DecodeClaims(`{"ISS":"x","iss":"y"}`)
	if c.Iss != "y" {
		t.Errorf(`names are case-sensitive: iss = %q, want "y"`, c.Iss)
	}
}

type member struct {
	name string
	raw  json.RawMessage
}

// topMembers lists the members of a JSON object in order, duplicates kept.
func topMembers(s string) ([]member, bool) {
	dec := json.NewDecoder(strings.NewReader(s))
	tok, err := dec.Token()
	if d, ok := tok.(json.Delim); err != nil || !ok || d != '{' {
		return nil, false
	}
	var out []member
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return nil, false
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, false
		}
		out = append(out, member{k.(string), raw})
	}
	return out, true
}

// oracleClaims reads the claims with encoding/json, one member at a time,
// and says why they break a strict rule, if they do.
func oracleClaims(ms []member) (tollgate.DecodedClaims, string) {
	c := tollgate.DecodedClaims{Exp: -1, Nbf: -1, Iat: -1}
	seen := map[string]bool{}
	str := func(raw json.RawMessage, dst *string) string {
		if raw[0] != '"' {
			return "have a non-string value"
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			return "have a bad string"
		}
		return ""
	}
	date := func(raw json.RawMessage, dst *int64) string {
		if raw[0] != '-' && (raw[0] < '0' || raw[0] > '9') {
			return "have a non-number date"
		}
		f, err := json.Number(raw).Float64()
		if err != nil || f < 0 || f > 1<<40 {
			return "have a date out of range"
		}
		sec, frac := math.Modf(f)
		*dst = time.Unix(int64(sec), int64(frac*1e9)).UnixNano()
		return ""
	}
	for _, m := range ms {
		var why string
		switch m.name {
		case "iss":
			why = str(m.raw, &c.Iss)
		case "sub":
			why = str(m.raw, &c.Sub)
		case "jti":
			why = str(m.raw, &c.Jti)
		case "client_id":
			why = str(m.raw, &c.ClientID)
		case "scope":
			why = str(m.raw, &c.Scope)
		case "preferred_username":
			why = str(m.raw, &c.Username)
		case "aud":
			if m.raw[0] == '"' {
				var s string
				why = str(m.raw, &s)
				c.Aud = []string{s}
				break
			}
			var elems []json.RawMessage
			if m.raw[0] != '[' || json.Unmarshal(m.raw, &elems) != nil {
				why = "have a bad aud"
				break
			}
			c.Aud = []string{}
			for _, e := range elems {
				var s string
				if why = str(e, &s); why != "" {
					break
				}
				c.Aud = append(c.Aud, s)
			}
		case "exp":
			why = date(m.raw, &c.Exp)
		case "nbf":
			why = date(m.raw, &c.Nbf)
		case "iat":
			why = date(m.raw, &c.Iat)
		default:
			continue
		}
		if why != "" {
			return c, m.name + ": " + why
		}
		if seen[m.name] {
			return c, "name " + m.name + " twice"
		}
		seen[m.name] = true
	}
	return c, ""
}

func mustJSON(v any) string {
	var b bytes.Buffer
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(false)
	_ = e.Encode(v)
	return b.String()
}

// FuzzAccessClaimsJSON checks that mint's claims writer writes exactly
// what json.Marshal writes for the same claims.
func FuzzAccessClaimsJSON(f *testing.F) {
	f.Add("https://as.test", "alice", "https://api.test", "", int64(1900000000), int64(1700000000), "jti", "tollgate", "me items:read", "")
	f.Add("a<b>&c", "\u2028\u2029\x00\x1f\"\\/", "x", "y", int64(-1), int64(0), "\xff\xfe", "\b\f\n\r\t", "é ü", "ü")
	f.Fuzz(func(t *testing.T, iss, sub, aud1, aud2 string, exp, iat int64, jti, clientID, scope, username string) {
		aud := []string{aud1}
		if aud2 != "" {
			aud = append(aud, aud2)
		}
		mine, std := tollgate.AccessClaimsJSON(iss, sub, aud, exp, iat, jti, clientID, scope, username)
		if mine != std {
			t.Fatalf("claims JSON\n mine %q\n  std %q", mine, std)
		}
	})
}
