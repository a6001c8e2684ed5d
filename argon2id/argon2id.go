// Package argon2id is a tollgate PasswordHasher with Argon2id (RFC 9106),
// the OWASP Password Storage Cheat Sheet's first choice, and a hasher that
// moves a bcrypt user base to it without a password reset.
package argon2id

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"

	"github.com/tollgate-go/tollgate"
)

// Argon2id parameters recommended by the OWASP Password Storage Cheat
// Sheet: the first of its equivalent settings, m=19 MiB, t=2, p=1. (The
// cheat sheet lists m=46 MiB, t=1 as equally strong; the smaller memory
// suits a service that runs Config.Logins.ConcurrentHashes hashes at once.)
const (
	DefaultMemory      = 19 * 1024 // KiB
	DefaultIterations  = 2
	DefaultParallelism = 1
)

const (
	argon2SaltLen = 16 // bytes; RFC 9106 §3.1 recommends 16
	argon2KeyLen  = 32 // bytes of tag

	// Bounds on the parameters of a stored hash, so that a corrupted or
	// planted hash cannot make one login allocate gigabytes or run for
	// minutes.
	argon2MaxMemory     = 1 << 20 // KiB: 1 GiB
	argon2MaxIterations = 64
	argon2MinSalt       = 8
	argon2MaxSalt       = 64
	argon2MinKey        = 16
	argon2MaxKey        = 128
)

// Hasher is a tollgate.PasswordHasher using Argon2id (RFC 9106), the OWASP
// Password Storage Cheat Sheet's first choice. Hashes are PHC strings,
// "$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>" with unpadded base64, the
// format of the reference implementation and of libsodium, passlib and
// argon2-cffi, so hashes move between them.
//
// Unlike bcrypt it has no 72-byte limit on passwords. Each hash holds
// Memory KiB while it runs: tollgate's Config.Logins.ConcurrentHashes
// bounds the total (19 MiB × GOMAXPROCS by default). The zero value uses the OWASP
// parameters. It is safe for concurrent use.
type Hasher struct {
	// Memory is the memory cost m in KiB. Default DefaultMemory.
	Memory uint32
	// Iterations is the time cost t. Default DefaultIterations.
	Iterations uint32
	// Parallelism is the number of lanes p. Default 1.
	Parallelism uint8
}

// argon2Params are the parameters of one hash.
type argon2Params struct {
	m, t uint32
	p    uint8
}

func (h Hasher) params() argon2Params {
	p := argon2Params{m: h.Memory, t: h.Iterations, p: h.Parallelism}
	if p.m == 0 {
		p.m = DefaultMemory
	}
	if p.t == 0 {
		p.t = DefaultIterations
	}
	if p.p == 0 {
		p.p = DefaultParallelism
	}
	return p
}

// Hash returns the PHC string of an Argon2id hash of password with a fresh
// random salt. It refuses empty passwords.
func (h Hasher) Hash(password string) ([]byte, error) {
	p := h.params()
	if p.m < 8*uint32(p.p) || p.m > argon2MaxMemory || p.t > argon2MaxIterations {
		return nil, fmt.Errorf("argon2id: Argon2id parameters m=%d, t=%d, p=%d out of range", p.m, p.t, p.p)
	}
	if password == "" {
		return nil, errors.New("argon2id: empty password")
	}
	salt := make([]byte, argon2SaltLen)
	_, _ = rand.Read(salt) // crypto/rand.Read never fails (Go 1.24+)
	key := argon2.IDKey([]byte(password), salt, p.t, p.m, p.p, argon2KeyLen)
	enc := base64.RawStdEncoding
	out := make([]byte, 0, 64+enc.EncodedLen(len(salt))+enc.EncodedLen(len(key)))
	out = fmt.Appendf(out, "$argon2id$v=%d$m=%d,t=%d,p=%d$", argon2.Version, p.m, p.t, p.p)
	out = enc.AppendEncode(out, salt)
	out = append(out, '$')
	out = enc.AppendEncode(out, key)
	return out, nil
}

// Verify reports whether password matches the Argon2id hash, comparing in
// constant time. A hash that is not a well-formed argon2id PHC string of
// version 19 with parameters in a sane range is an error.
func (h Hasher) Verify(hash []byte, password string) (bool, error) {
	p, salt, key, err := parseArgon2id(hash)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(password), salt, p.t, p.m, p.p, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

// NeedsRehash reports whether hash was made with a lower memory or time
// cost than h's, or a shorter salt or tag than h makes.
func (h Hasher) NeedsRehash(hash []byte) bool {
	p, salt, key, err := parseArgon2id(hash)
	if err != nil {
		return false
	}
	want := h.params()
	return p.m < want.m || p.t < want.t || len(salt) < argon2SaltLen || len(key) < argon2KeyLen
}

// errArgon2Hash is the cause of every malformed Argon2id hash.
var errArgon2Hash = errors.New("argon2id: not an argon2id v=19 PHC hash")

// parseArgon2id parses "$argon2id$v=19$m=<m>,t=<t>,p=<p>$<salt>$<hash>".
func parseArgon2id(hash []byte) (argon2Params, []byte, []byte, error) {
	var p argon2Params
	parts := strings.Split(string(hash), "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, errArgon2Hash
	}
	ps := strings.Split(parts[3], ",")
	if len(ps) != 3 {
		return p, nil, nil, errArgon2Hash
	}
	var vals [3]uint64
	for i, name := range []string{"m=", "t=", "p="} {
		v, ok := strings.CutPrefix(ps[i], name)
		if !ok || v == "" || v[0] == '0' || v[0] == '+' {
			return p, nil, nil, errArgon2Hash
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return p, nil, nil, errArgon2Hash
		}
		vals[i] = n
	}
	p.m, p.t = uint32(vals[0]), uint32(vals[1])
	if vals[2] > 255 || p.m < 8*uint32(vals[2]) || p.m > argon2MaxMemory || p.t > argon2MaxIterations {
		return p, nil, nil, errArgon2Hash
	}
	p.p = uint8(vals[2])
	enc := base64.RawStdEncoding.Strict()
	salt, err := enc.DecodeString(parts[4])
	if err != nil || len(salt) < argon2MinSalt || len(salt) > argon2MaxSalt {
		return p, nil, nil, errArgon2Hash
	}
	key, err := enc.DecodeString(parts[5])
	if err != nil || len(key) < argon2MinKey || len(key) > argon2MaxKey {
		return p, nil, nil, errArgon2Hash
	}
	return p, salt, key, nil
}

// Migrating is a tollgate.PasswordHasher for moving a user base from bcrypt
// to Argon2id without a password reset. It verifies both bcrypt hashes
// ("$2a$", "$2b$", "$2y$") and Argon2id ones, hashes new passwords with
// Argon2id, and reports every bcrypt hash as needing a rehash, so that
// each user's hash is replaced
// by an Argon2id one at their next successful login (the store must be a
// tollgate.PasswordUpdater).
//
// Until a user logs in, their bcrypt hash stays, with bcrypt's 72-byte
// password limit (a longer password costs a full bcrypt comparison and
// fails, like any wrong one). Logins for unknown users are checked against
// a dummy hash of the slower scheme (see DummyHashes), so they cannot be
// told from users of that scheme; users of the faster one still answer
// faster, so pick Argon2id parameters that cost about as much as the
// bcrypt cost in use. It is safe for concurrent use.
type Migrating struct {
	// Argon2id hashes new passwords and verifies Argon2id hashes. Its zero
	// value uses the OWASP parameters.
	Argon2id Hasher
	// BcryptCost is the cost of the bcrypt hashes still stored, for timing
	// logins of unknown users like those of users not yet migrated.
	// Default 12.
	BcryptCost int
}

// DummyHashes returns a hash of password in each scheme h verifies,
// Argon2id and bcrypt at BcryptCost. tollgate checks logins of unknown
// users against the slower of the two, so that neither an unknown user
// nor a user of either scheme can be told apart by the answer's timing.
func (h Migrating) DummyHashes(password string) ([][]byte, error) {
	a, err := h.Argon2id.Hash(password)
	if err != nil {
		return nil, err
	}
	b, err := tollgate.Bcrypt(h.BcryptCost).Hash(password)
	if err != nil {
		return nil, err
	}
	return [][]byte{a, b}, nil
}

var (
	_ tollgate.PasswordHasher = Hasher{}
	_ tollgate.PasswordHasher = Migrating{}
)

// bcryptVerifier verifies the legacy hashes (tollgate's bcrypt hasher
// never truncates: a password over 72 bytes does not match).
var bcryptVerifier = tollgate.Bcrypt(0)

// isBcrypt reports whether hash is in the modular crypt format of bcrypt.
func isBcrypt(hash []byte) bool { return bytes.HasPrefix(hash, []byte("$2")) }

// Hash returns an Argon2id hash of password.
func (h Migrating) Hash(password string) ([]byte, error) { return h.Argon2id.Hash(password) }

// Verify checks password against a bcrypt or an Argon2id hash.
func (h Migrating) Verify(hash []byte, password string) (bool, error) {
	if isBcrypt(hash) {
		return bcryptVerifier.Verify(hash, password)
	}
	return h.Argon2id.Verify(hash, password)
}

// NeedsRehash reports true for every bcrypt hash, and for Argon2id hashes
// weaker than h.Argon2id's parameters.
func (h Migrating) NeedsRehash(hash []byte) bool {
	return isBcrypt(hash) || h.Argon2id.NeedsRehash(hash)
}
