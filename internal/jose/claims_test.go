package jose

// The claims decoder of the verify path is hand-written; these tests hold
// it to encoding/json's reading of the same bytes, plus the strict rules
// it adds (RFC 7519 §4: unique claim names; case-sensitive names; typed
// values).

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// decodedClaims is what DecodeClaims read, with dates in Unix nanoseconds
// (-1 when absent).
type decodedClaims struct {
	Iss, Sub, Jti, ClientID, Scope, Sid, Username string
	Aud                                           []string
	Exp, Nbf, Iat                                 int64
}

func decode(payload string) (decodedClaims, error) {
	var c Claims
	err := DecodeClaims(payload, &c)
	ns := func(d NumericDate) int64 {
		if !d.Set {
			return -1
		}
		return d.Time.UnixNano()
	}
	return decodedClaims{c.Iss, c.Sub, c.Jti, c.ClientID, c.Scope, c.Sid, c.Username, c.Aud, ns(c.Exp), ns(c.Nbf), ns(c.Iat)}, err
}

// stdClaims is the issued claims as encoding/json writes them: the oracle
// of AppendClaims.
type stdClaims struct {
	Iss      string   `json:"iss"`
	Sub      string   `json:"sub"`
	Aud      audience `json:"aud"`
	Exp      int64    `json:"exp"`
	Iat      int64    `json:"iat"`
	Jti      string   `json:"jti"`
	ClientID string   `json:"client_id"`
	Scope    string   `json:"scope"`
	Sid      string   `json:"sid,omitempty"`
	Username string   `json:"preferred_username,omitempty"`
}

// audience is written as a string when it has one member.
type audience []string

func (a audience) MarshalJSON() ([]byte, error) {
	if len(a) == 1 {
		return json.Marshal(a[0])
	}
	return json.Marshal([]string(a))
}

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

// FuzzDecodeClaims checks DecodeClaims against encoding/json: it accepts
// no invalid JSON; what it accepts it reads exactly as encoding/json reads
// the same member; and each valid JSON object it rejects breaks one of the
// strict rules.
func FuzzDecodeClaims(f *testing.F) {
	for _, s := range claimsSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, payload string) {
		got, err := decode(payload)
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
		if why == "" && badText(payload) {
			why = "hold text that is not UTF-8 or has a lone surrogate (RFC 8725 §3.7)"
		}
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
		got, err := decode(tt.payload)
		if (err == nil) != tt.ok {
			t.Errorf("DecodeClaims(%s) = %+v, %v; want ok %v", tt.payload, got, err, tt.ok)
		}
	}
	c, _ := decode(`{"ISS":"x","iss":"y"}`)
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
func oracleClaims(ms []member) (decodedClaims, string) {
	c := decodedClaims{Exp: -1, Nbf: -1, Iat: -1}
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
		case "sid":
			why = str(m.raw, &c.Sid)
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

// FuzzAccessClaimsJSON checks that AppendClaims writes exactly
// what json.Marshal writes for the same claims.
func FuzzAccessClaimsJSON(f *testing.F) {
	f.Add("https://as.test", "alice", "https://api.test", "", int64(1900000000), int64(1700000000), "jti", "tollgate", "me items:read", "")
	f.Add("a<b>&c", "\u2028\u2029\x00\x1f\"\\/", "x", "y", int64(-1), int64(0), "\xff\xfe", "\b\f\n\r\t", "é ü", "ü")
	f.Fuzz(func(t *testing.T, iss, sub, aud1, aud2 string, exp, iat int64, jti, clientID, scope, username string) {
		if exp > 1<<50 || exp < -(1<<50) || iat > 1<<50 || iat < -(1<<50) {
			t.Skip("mint writes times from the clock")
		}
		aud := []string{aud1}
		if aud2 != "" {
			aud = append(aud, aud2)
		}
		c := Claims{Iss: iss, Sub: sub, Aud: aud, Exp: NumericDate{Time: time.Unix(exp, 0)}, Iat: NumericDate{Time: time.Unix(iat, 0)},
			Jti: jti, ClientID: clientID, Scope: scope, Sid: username, Username: username}
		mine := string(AppendClaims(nil, &c, nil))
		std, err := json.Marshal(stdClaims{iss, sub, aud, exp, iat, jti, clientID, scope, username, username})
		if err != nil {
			t.Fatal(err)
		}
		if mine != string(std) {
			t.Fatalf("claims JSON\n mine %q\n  std %q", mine, std)
		}
		// Further members go last, inside the object.
		withExtra := string(AppendClaims(nil, &c, []byte(`"x":1`)))
		if want := string(std[:len(std)-1]) + `,"x":1}`; withExtra != want {
			t.Fatalf("claims JSON with extra\n mine %q\n want %q", withExtra, want)
		}
	})
}

// TestRFC7519_2_NumericDateEdges pins how the strict claims reader treats
// number forms that encoding/json accepts and forms it does not: a
// negative zero (or a negative number that underflows to zero) is the
// epoch, which changes no decision (an exp of 0 has expired); every other
// edge is refused.
func TestRFC7519_2_NumericDateEdges(t *testing.T) {
	tests := []struct {
		payload string
		ok      bool
	}{
		{`{"exp":-0}`, true},      // the epoch: expired, harmless
		{`{"exp":-1e-400}`, true}, // underflows to -0: the epoch
		{`{"exp":-1}`, false},
		{`{"exp":1e999}`, false},                   // +Inf
		{`{"exp":99999999999999999999999}`, false}, // past 2^40, not truncated
		{`{"exp":9223372036854775808}`, false},     // past int64
		{`{"exp":01}`, false},                      // leading zero
		{`{"exp":+1}`, false},
		{`{"exp":.5}`, false},
		{`{"exp":5.}`, false},
		{`{"exp":0x10}`, false},
		{`{"exp":NaN}`, false},
		{`{"exp":Infinity}`, false},
		{`{"exp":"1900000000"}`, false},
		{`{"exp":1,"exp":1}`, false},
		{"\ufeff{}", false}, // byte order mark
		{"{}\x00", false},   // trailing garbage
		{`{"a":"`, false},   // unterminated string
		{`{"a":[[[`, false}, // unterminated nesting
		{`{"a":"\u12"}`, false},
		{`{"a":"\x"}`, false},
		{"{\"a\":\"\x01\"}", false}, // raw control character
	}
	for _, tt := range tests {
		_, err := decode(tt.payload)
		if (err == nil) != tt.ok {
			t.Errorf("DecodeClaims(%q) = %v; want ok %v", tt.payload, err, tt.ok)
		}
	}
	deep := `{"a":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`
	if _, err := decode(deep); err == nil {
		t.Errorf("DecodeClaims accepted nesting 20000 deep")
	}
}

// badText reports whether the JSON text s holds bytes that are not UTF-8,
// or a \u escape of a UTF-16 surrogate that is not a high one followed by
// a low one.
func badText(s string) bool {
	if !utf8.ValidString(s) {
		return true
	}
	high := false
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			if high {
				return true
			}
			continue
		}
		i++
		if i >= len(s) {
			return false
		}
		if s[i] != 'u' || i+4 >= len(s) {
			if high {
				return true
			}
			continue
		}
		v, err := strconv.ParseUint(s[i+1:i+5], 16, 32)
		if err != nil {
			continue
		}
		i += 4
		switch {
		case v >= 0xD800 && v <= 0xDBFF:
			if high {
				return true
			}
			high = true
		case v >= 0xDC00 && v <= 0xDFFF:
			if !high {
				return true
			}
			high = false
		default:
			if high {
				return true
			}
		}
	}
	return high
}

// TestRFC8725_3_7_UTF8 shows the strict reading of RFC 8725 §3.7: a claim
// that is not UTF-8, or that holds a lone UTF-16 surrogate, refuses the
// claims, where encoding/json would replace it with U+FFFD and make
// "bob\xff" and "bob\xfe" one subject.
func TestRFC8725_3_7_UTF8(t *testing.T) {
	for _, payload := range []string{
		"{\"sub\":\"bob\xff\"}", "{\"sub\":\"bob\xfe\"}",
		`{"sub":"bob\ud800"}`, `{"sub":"bob\udc00"}`, `{"sub":"\ud800\ud800\udc00"}`, `{"sub":"\ud800x"}`, `{"sub":"\ud800\n"}`,
		"{\"x\":[\"\xc0\xaf\"]}", "{\"n\xff\":1}", `{"x":{"y":"\udfff"}}`,
	} {
		if _, err := decode(payload); err == nil {
			t.Errorf("DecodeClaims(%q) accepted text that is not UTF-8", payload)
		}
	}
	c, err := decode(`{"sub":"\ud83d\ude00 \u00e9 é"}`)
	if err != nil || c.Sub != "😀 é é" {
		t.Errorf("a surrogate pair and other escapes: %q, %v", c.Sub, err)
	}
}
