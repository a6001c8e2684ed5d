package demo

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"strings"
)

// TestHasher is a tollgate.PasswordHasher for the examples' tests only:
// "fast$" + base64 of SHA-256, unsalted and fast, which a password hash
// must never be. bcrypt under the race detector takes more than a second
// a hash; the tests of the real bcrypt path start the programs as they
// run.
type TestHasher struct{}

// Hash returns the SHA-256 of p, marked "fast$".
func (TestHasher) Hash(p string) ([]byte, error) {
	sum := sha256.Sum256([]byte(p))
	return []byte("fast$" + base64.RawStdEncoding.EncodeToString(sum[:])), nil
}

// Verify reports whether hash is the TestHasher hash of p.
func (h TestHasher) Verify(hash []byte, p string) (bool, error) {
	if !strings.HasPrefix(string(hash), "fast$") {
		return false, errors.New("not a fast hash")
	}
	want, _ := h.Hash(p)
	return subtle.ConstantTimeCompare(want, hash) == 1, nil
}

// NeedsRehash is false: a test has nothing to upgrade.
func (TestHasher) NeedsRehash([]byte) bool { return false }
