// Package jose holds the self-contained codecs of tollgate's token path:
// the compact JWS split (RFC 7515 §7.1), the signature checks with the
// ECDSA DER re-encoding, the strict claims reader, and the JSON writer of
// issued claims. None of it holds Authenticator state, and every parser
// of untrusted input here has its fuzz target beside it.
//
// It is the only package of tollgate that uses unsafe: the token is a
// string, and its bytes are read, never written, by base64 decoding,
// hashing and signature checks (see bytesOf and String).
package jose

import "unsafe"

// bytesOf returns the bytes of s without copying. Callers pass them only
// to functions that neither keep nor modify their input.
func bytesOf(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// String returns b as a string without copying. The caller must never
// write b again.
func String(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}
