package jose

// The claims of a presented access token are decoded by a small strict
// JSON reader made for the fixed claim set, behind one function,
// Decode, so it can be swapped for encoding/json (or its v2 engine)
// and measured. It is stricter than encoding/json where that matters for a
// security decision (RFC 7519 §4, RFC 8725 §3.2):
//
//   - claim names are case-sensitive ("ISS" is not "iss");
//   - a claim tollgate reads that appears twice is an error;
//   - a claim tollgate reads with a value of the wrong type, null
//     included, is an error ("scope" must be a string, "aud" a string or an
//     array of strings, dates numbers);
//   - anything that is not one well-formed JSON object is an error.
//
// Other claims are checked for syntax and skipped. Strings without escapes
// are substrings of the payload (no copy); escaped ones are decoded by
// encoding/json, so their meaning is exactly JSON's.

import (
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// Claims are the claims tollgate writes in an access token and reads of
// a presented one (RFC 7519 §4.1, RFC 9068 §2.2). Other claims are
// skipped by DecodeClaims.
type Claims struct {
	Iss      string
	Sub      string
	Aud      []string // a string or an array of strings (RFC 7519 §4.1.3)
	Exp      NumericDate
	Nbf      NumericDate
	Iat      NumericDate
	Jti      string
	ClientID string // "client_id"
	Scope    string
	Sid      string // "sid": the session (refresh-token family) of the token
	Username string // "preferred_username"
}

// A NumericDate is a NumericDate claim (RFC 7519 §2): seconds since the
// epoch; Set records that the claim was present.
type NumericDate struct {
	Time time.Time
	Set  bool
}

var errJSON = errors.New("malformed claims JSON")

// maxJSONDepth bounds the nesting of skipped claim values, as
// encoding/json does.
const maxJSONDepth = 10000

// Bits of the claims DecodeClaims has seen, for the duplicate check.
const (
	seenIss = 1 << iota
	seenSub
	seenAud
	seenExp
	seenNbf
	seenIat
	seenJti
	seenClientID
	seenScope
	seenSid
	seenUsername
)

// DecodeClaims reads the claims set payload into c.
func DecodeClaims(payload string, c *Claims) error {
	d := jsonReader{s: payload}
	d.ws()
	if !d.eat('{') {
		return errJSON
	}
	var seen uint
	d.ws()
	if d.eat('}') {
		return d.end()
	}
	for {
		d.ws()
		name, ok := d.str()
		if !ok {
			return errJSON
		}
		d.ws()
		if !d.eat(':') {
			return errJSON
		}
		d.ws()
		var bit uint
		var err error
		switch name {
		case "iss":
			bit = seenIss
			c.Iss, err = d.strValue()
		case "sub":
			bit = seenSub
			c.Sub, err = d.strValue()
		case "jti":
			bit = seenJti
			c.Jti, err = d.strValue()
		case "client_id":
			bit = seenClientID
			c.ClientID, err = d.strValue()
		case "scope":
			bit = seenScope
			c.Scope, err = d.strValue()
		case "sid":
			bit = seenSid
			c.Sid, err = d.strValue()
		case "preferred_username":
			bit = seenUsername
			c.Username, err = d.strValue()
		case "aud":
			bit = seenAud
			c.Aud, err = d.audValue()
		case "exp":
			bit = seenExp
			c.Exp, err = d.dateValue()
		case "nbf":
			bit = seenNbf
			c.Nbf, err = d.dateValue()
		case "iat":
			bit = seenIat
			c.Iat, err = d.dateValue()
		default:
			err = d.skip(0)
		}
		if err != nil {
			return err
		}
		if seen&bit != 0 {
			return errors.New("duplicate claim " + strconv.Quote(name))
		}
		seen |= bit
		d.ws()
		if d.eat(',') {
			continue
		}
		if d.eat('}') {
			return d.end()
		}
		return errJSON
	}
}

// jsonReader reads JSON from s at i.
type jsonReader struct {
	s string
	i int
}

func (d *jsonReader) ws() {
	for d.i < len(d.s) {
		switch d.s[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *jsonReader) eat(c byte) bool {
	if d.i < len(d.s) && d.s[d.i] == c {
		d.i++
		return true
	}
	return false
}

// end accepts only trailing whitespace.
func (d *jsonReader) end() error {
	d.ws()
	if d.i != len(d.s) {
		return errJSON
	}
	return nil
}

// str reads a JSON string and returns its value.
func (d *jsonReader) str() (string, bool) {
	if !d.eat('"') {
		return "", false
	}
	start := d.i
	plain := true
	high := false // the previous escape was a high surrogate, \uD800-\uDBFF
	for d.i < len(d.s) {
		c := d.s[d.i]
		if high && c != '\\' {
			return "", false // a high surrogate not followed by a low one
		}
		switch {
		case c == '"':
			raw := d.s[start:d.i]
			d.i++
			if plain {
				return raw, true
			}
			// Escapes, checked above to be well-formed and to pair their
			// surrogates: encoding/json gives their exact JSON meaning.
			var v string
			if err := json.Unmarshal([]byte(d.s[start-1:d.i]), &v); err != nil {
				return "", false
			}
			return v, true
		case c < 0x20:
			return "", false
		case c == '\\':
			plain = false
			d.i++
			if d.i >= len(d.s) {
				return "", false
			}
			if high && d.s[d.i] != 'u' {
				return "", false
			}
			switch d.s[d.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				d.i++
			case 'u':
				if d.i+5 > len(d.s) {
					return "", false
				}
				var u rune
				for _, h := range []byte(d.s[d.i+1 : d.i+5]) {
					v, ok := hexValue(h)
					if !ok {
						return "", false
					}
					u = u<<4 | v
				}
				d.i += 5
				// RFC 8259 §8.2, RFC 8725 §3.7: a UTF-16 surrogate is only
				// valid as a high one followed by a low one. A lone one
				// would decode to U+FFFD, making two different strings
				// one.
				switch {
				case u >= 0xD800 && u <= 0xDBFF:
					if high {
						return "", false
					}
					high = true
				case u >= 0xDC00 && u <= 0xDFFF:
					if !high {
						return "", false
					}
					high = false
				default:
					if high {
						return "", false
					}
				}
			default:
				return "", false
			}
		case c < utf8.RuneSelf:
			d.i++
		default:
			r, n := utf8.DecodeRuneInString(d.s[d.i:])
			if r == utf8.RuneError && n == 1 {
				// Not UTF-8 (RFC 8725 §3.7): refused, not replaced by
				// U+FFFD, so "bob\xff" and "bob\xfe" stay apart.
				return "", false
			}
			d.i += n
		}
	}
	return "", false
}

// hexValue returns the value of the hex digit c.
func hexValue(c byte) (rune, bool) {
	switch {
	case c >= '0' && c <= '9':
		return rune(c - '0'), true
	case c >= 'a' && c <= 'f':
		return rune(c-'a') + 10, true
	case c >= 'A' && c <= 'F':
		return rune(c-'A') + 10, true
	}
	return 0, false
}

func (d *jsonReader) strValue() (string, error) {
	s, ok := d.str()
	if !ok {
		return "", errJSON
	}
	return s, nil
}

// audValue reads "aud": a string, or an array of strings (RFC 7519 §4.1.3).
func (d *jsonReader) audValue() ([]string, error) {
	if d.i < len(d.s) && d.s[d.i] == '"' {
		s, ok := d.str()
		if !ok {
			return nil, errJSON
		}
		return []string{s}, nil
	}
	if !d.eat('[') {
		return nil, errors.New("aud is neither a string nor an array of strings")
	}
	out := []string{}
	d.ws()
	if d.eat(']') {
		return out, nil
	}
	for {
		d.ws()
		s, ok := d.str()
		if !ok {
			return nil, errors.New("aud is neither a string nor an array of strings")
		}
		out = append(out, s)
		d.ws()
		if d.eat(',') {
			continue
		}
		if d.eat(']') {
			return out, nil
		}
		return nil, errJSON
	}
}

// number reads a JSON number (RFC 8259 §6) and returns its text.
func (d *jsonReader) number() (string, bool) {
	start := d.i
	d.eat('-')
	switch {
	case d.eat('0'):
	case d.i < len(d.s) && d.s[d.i] >= '1' && d.s[d.i] <= '9':
		d.digits()
	default:
		return "", false
	}
	if d.eat('.') {
		if d.digits() == 0 {
			return "", false
		}
	}
	if d.eat('e') || d.eat('E') {
		if !d.eat('+') {
			d.eat('-')
		}
		if d.digits() == 0 {
			return "", false
		}
	}
	return d.s[start:d.i], true
}

func (d *jsonReader) digits() int {
	n := 0
	for d.i < len(d.s) && d.s[d.i] >= '0' && d.s[d.i] <= '9' {
		d.i++
		n++
	}
	return n
}

// dateValue reads a NumericDate (RFC 7519 §2): seconds since the epoch,
// possibly fractional, not negative, at most 2^40.
func (d *jsonReader) dateValue() (NumericDate, error) {
	text, ok := d.number()
	if !ok {
		return NumericDate{}, errors.New("not a NumericDate")
	}
	// Fast path: a plain integer of up to 13 digits (2^40 has 13).
	if len(text) <= 13 {
		var n int64
		plain := true
		for i := 0; i < len(text); i++ {
			c := text[i]
			if c < '0' || c > '9' {
				plain = false
				break
			}
			n = n*10 + int64(c-'0')
		}
		if plain {
			if n > 1<<40 {
				return NumericDate{}, errors.New("not a NumericDate")
			}
			return NumericDate{Time: time.Unix(n, 0), Set: true}, nil
		}
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1<<40 {
		return NumericDate{}, errors.New("not a NumericDate")
	}
	sec, frac := math.Modf(f)
	return NumericDate{Time: time.Unix(int64(sec), int64(frac*1e9)), Set: true}, nil
}

// skip checks the syntax of one JSON value and moves past it.
func (d *jsonReader) skip(depth int) error {
	if depth > maxJSONDepth {
		return errors.New("claims nested too deep")
	}
	if d.i >= len(d.s) {
		return errJSON
	}
	switch c := d.s[d.i]; c {
	case '"':
		if _, ok := d.str(); !ok {
			return errJSON
		}
		return nil
	case '{':
		d.i++
		d.ws()
		if d.eat('}') {
			return nil
		}
		for {
			d.ws()
			if _, ok := d.str(); !ok {
				return errJSON
			}
			d.ws()
			if !d.eat(':') {
				return errJSON
			}
			d.ws()
			if err := d.skip(depth + 1); err != nil {
				return err
			}
			d.ws()
			if d.eat(',') {
				continue
			}
			if d.eat('}') {
				return nil
			}
			return errJSON
		}
	case '[':
		d.i++
		d.ws()
		if d.eat(']') {
			return nil
		}
		for {
			d.ws()
			if err := d.skip(depth + 1); err != nil {
				return err
			}
			d.ws()
			if d.eat(',') {
				continue
			}
			if d.eat(']') {
				return nil
			}
			return errJSON
		}
	case 't':
		return d.literal("true")
	case 'f':
		return d.literal("false")
	case 'n':
		return d.literal("null")
	default:
		if _, ok := d.number(); !ok {
			return errJSON
		}
		return nil
	}
}

func (d *jsonReader) literal(word string) error {
	if len(d.s)-d.i < len(word) || d.s[d.i:d.i+len(word)] != word {
		return errJSON
	}
	d.i += len(word)
	return nil
}
