package jose

import (
	"strconv"
	"unicode/utf8"
)

// AppendClaims appends the JSON object of c, byte for byte what
// encoding/json writes for the issued claims in this order (iss, sub,
// aud, exp, iat, jti, client_id, scope, then preferred_username when not
// empty), without reflection; "sid" comes after "scope" when not empty.
// "nbf" is never written. extra, if not
// empty, holds further members ("name":value pairs separated by commas,
// already valid JSON), written last.
func AppendClaims(b []byte, c *Claims, extra []byte) []byte {
	b = append(b, `{"iss":`...)
	b = AppendString(b, c.Iss)
	b = append(b, `,"sub":`...)
	b = AppendString(b, c.Sub)
	b = append(b, `,"aud":`...)
	switch len(c.Aud) {
	case 0:
		b = append(b, "null"...)
	case 1:
		b = AppendString(b, c.Aud[0])
	default:
		for i, s := range c.Aud {
			if i == 0 {
				b = append(b, '[')
			} else {
				b = append(b, ',')
			}
			b = AppendString(b, s)
		}
		b = append(b, ']')
	}
	b = append(b, `,"exp":`...)
	b = strconv.AppendInt(b, c.Exp.Time.Unix(), 10)
	b = append(b, `,"iat":`...)
	b = strconv.AppendInt(b, c.Iat.Time.Unix(), 10)
	b = append(b, `,"jti":`...)
	b = AppendString(b, c.Jti)
	b = append(b, `,"client_id":`...)
	b = AppendString(b, c.ClientID)
	b = append(b, `,"scope":`...)
	b = AppendString(b, c.Scope)
	if c.Sid != "" {
		b = append(b, `,"sid":`...)
		b = AppendString(b, c.Sid)
	}
	if c.Username != "" {
		b = append(b, `,"preferred_username":`...)
		b = AppendString(b, c.Username)
	}
	if len(extra) > 0 {
		b = append(b, ',')
		b = append(b, extra...)
	}
	return append(b, '}')
}

// plain marks the bytes AppendString copies as they are.
var plain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// AppendString appends s as a JSON string exactly as encoding/json
// does: HTML-safe, U+2028 and U+2029 escaped, invalid UTF-8 replaced.
func AppendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	// The common case, tokens and names, is all plain ASCII: one table
	// look-up a byte, then one copy.
	i := 0
	for i < len(s) && plain[s[i]] {
		i++
	}
	if i == len(s) {
		b = append(b, s...)
		return append(b, '"')
	}
	start := 0
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
