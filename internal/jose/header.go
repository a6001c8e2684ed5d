package jose

import (
	"encoding/json"
	"errors"
)

// MaxHeaderBytes bounds a decoded protected header.
const MaxHeaderBytes = 1024

// A Header is what tollgate reads of a JWS protected header.
type Header struct {
	Alg string `json:"alg"`
	Typ string `json:"typ"`
	Kid string `json:"kid"`
}

// rawHeader also notes the members whose presence alone refuses a token.
type rawHeader struct {
	Header
	Crit json.RawMessage `json:"crit"`
	Jku  json.RawMessage `json:"jku"`
	X5u  json.RawMessage `json:"x5u"`
	Jwk  json.RawMessage `json:"jwk"`
	X5c  json.RawMessage `json:"x5c"`
	B64  json.RawMessage `json:"b64"`
	Zip  json.RawMessage `json:"zip"`
}

// Errors of DecodeHeader.
var (
	ErrHeader    = errors.New("bad JOSE header")
	ErrExtension = errors.New("header names an extension or key source tollgate does not accept (RFC 8725 §3.10, RFC 7515 §4.1.11)")
)

// DecodeHeader decodes the base64url protected header seg. A header that
// names a critical extension, a key or a key source (crit, jku, x5u, jwk,
// x5c), unencoded payloads (b64) or compression (zip) is ErrExtension:
// the key comes from the verifier's configuration, never from the token.
func DecodeHeader(seg string) (Header, error) {
	if strict.DecodedLen(len(seg)) > MaxHeaderBytes {
		return Header{}, ErrHeader
	}
	var buf [MaxHeaderBytes]byte
	b, err := Decode(buf[:], seg)
	if err != nil {
		return Header{}, ErrHeader
	}
	var h rawHeader
	if err := json.Unmarshal(b, &h); err != nil {
		return Header{}, ErrHeader
	}
	if h.Crit != nil || h.Jku != nil || h.X5u != nil || h.Jwk != nil || h.X5c != nil || h.B64 != nil || h.Zip != nil {
		return Header{}, ErrExtension
	}
	return h.Header, nil
}
