package jose

import (
	"encoding/base64"
	"strings"
)

// IsB64URL reports whether c is in the base64url alphabet (RFC 4648 §5).
// It runs over every byte of every token, so it is one table lookup.
func IsB64URL(c byte) bool { return b64URLAlphabet[c] }

// b64URLAlphabet marks the bytes of the base64url alphabet. Read-only.
var b64URLAlphabet = func() (t [256]bool) {
	for _, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") {
		t[c] = true
	}
	return t
}()

// Split splits a compact JWS (RFC 7515 §7.1) into its header, payload and
// signature segments. ok is false unless token is exactly three non-empty
// segments of base64url characters separated by two dots: anything else,
// extra dots included, is refused before decoding.
func Split(token string) (header, payload, signature string, ok bool) {
	d1 := strings.IndexByte(token, '.')
	if d1 <= 0 {
		return "", "", "", false
	}
	d2 := d1 + 1 + strings.IndexByte(token[d1+1:], '.')
	if d2 <= d1+1 || d2 == len(token)-1 || strings.IndexByte(token[d2+1:], '.') >= 0 {
		return "", "", "", false
	}
	for i := 0; i < len(token); i++ {
		if c := token[i]; !IsB64URL(c) && c != '.' {
			return "", "", "", false
		}
	}
	return token[:d1], token[d1+1 : d2], token[d2+1:], true
}

// strict is unpadded base64url with canonical trailing bits: one encoding
// per byte string.
var strict = base64.RawURLEncoding.Strict()

// Decode decodes the base64url segment seg (strict, unpadded) into buf
// when it fits, else into a new slice.
func Decode(buf []byte, seg string) ([]byte, error) {
	if n := strict.DecodedLen(len(seg)); n > len(buf) {
		buf = make([]byte, n)
	}
	n, err := strict.Decode(buf, bytesOf(seg))
	return buf[:n], err
}
