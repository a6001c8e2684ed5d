package jose

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"hash"
	"sync"
)

// An HMAC is an HMAC-SHA-256 key (HS256) with a pool of hash states, so
// that signing and verifying allocate nothing. Safe for concurrent use.
type HMAC struct {
	pool sync.Pool // of *hmacState
}

type hmacState struct {
	h   hash.Hash
	sum [sha256.Size]byte
}

// NewHMAC returns the HMAC-SHA-256 key secret. The caller must not modify
// secret afterwards.
func NewHMAC(secret []byte) *HMAC {
	m := &HMAC{}
	m.pool.New = func() any { return &hmacState{h: hmac.New(sha256.New, secret)} }
	return m
}

// Append appends the MAC of input to dst.
func (m *HMAC) Append(dst, input []byte) []byte {
	st := m.pool.Get().(*hmacState)
	st.h.Reset()
	st.h.Write(input)
	dst = append(dst, st.h.Sum(st.sum[:0])...)
	m.pool.Put(st)
	return dst
}

// Verify reports whether mac is the MAC of input, in constant time.
func (m *HMAC) Verify(input string, mac []byte) bool {
	st := m.pool.Get().(*hmacState)
	st.h.Reset()
	st.h.Write(bytesOf(input))
	ok := hmac.Equal(st.h.Sum(st.sum[:0]), mac)
	m.pool.Put(st)
	return ok
}

// Verify checks the JWS signature sig over input (RFC 7515 §5.2) with the
// public key pub; the algorithm is the key's (RFC 8725 §3.1):
// RSASSA-PKCS1-v1_5 with SHA-256 for *rsa.PublicKey (RS256); ECDSA for
// *ecdsa.PublicKey with the curve's hash (ES256 P-256 SHA-256, ES384
// P-384 SHA-384, ES512 P-521 SHA-512), r and s each exactly the curve's
// size (RFC 7518 §3.4), both > 0 and below the order; Ed25519 (EdDSA).
// These are the semantics of jwx v2's verifiers, less their per-call key
// conversion and garbage.
func Verify(pub crypto.PublicKey, input string, sig []byte) bool {
	switch pub := pub.(type) {
	case *rsa.PublicKey:
		sum := sha256.Sum256(bytesOf(input))
		return rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig) == nil
	case *ecdsa.PublicKey:
		size := (pub.Curve.Params().BitSize + 7) / 8
		if len(sig) != 2*size {
			return false
		}
		var der [2*(3+66) + 3]byte
		asn, ok := ECDSADER(der[:0], sig[:size], sig[size:])
		if !ok {
			return false
		}
		switch size {
		case 32:
			sum := sha256.Sum256(bytesOf(input))
			return ecdsa.VerifyASN1(pub, sum[:], asn)
		case 48:
			sum := sha512.Sum384(bytesOf(input))
			return ecdsa.VerifyASN1(pub, sum[:], asn)
		case 66:
			sum := sha512.Sum512(bytesOf(input))
			return ecdsa.VerifyASN1(pub, sum[:], asn)
		}
		return false
	case ed25519.PublicKey:
		return ed25519.Verify(pub, bytesOf(input), sig)
	}
	return false
}

// ECDSADER appends the ASN.1 DER ECDSA-Sig-Value of the big-endian
// unsigned integers r and s to b (SEC 1 §C.8). It reports false if either
// is zero, as ecdsa.Verify does.
func ECDSADER(b, r, s []byte) ([]byte, bool) {
	r, s = trimZeros(r), trimZeros(s)
	if len(r) == 0 || len(s) == 0 {
		return nil, false
	}
	n := derIntLen(r) + derIntLen(s)
	b = append(b, 0x30)
	if n >= 0x80 {
		b = append(b, 0x81)
	}
	b = append(b, byte(n))
	b = appendDERInt(b, r)
	return appendDERInt(b, s), true
}

func trimZeros(b []byte) []byte {
	for len(b) > 0 && b[0] == 0 {
		b = b[1:]
	}
	return b
}

func derIntLen(v []byte) int {
	if v[0]&0x80 != 0 {
		return 3 + len(v)
	}
	return 2 + len(v)
}

func appendDERInt(b, v []byte) []byte {
	if v[0]&0x80 != 0 {
		b = append(b, 0x02, byte(len(v)+1), 0)
	} else {
		b = append(b, 0x02, byte(len(v)))
	}
	return append(b, v...)
}
