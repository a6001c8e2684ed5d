package tollgate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/tollgate-go/tollgate/audit"
)

// A User is an account that can log in with the password grant.
type User struct {
	// ID is the stable identifier sent as the "sub" claim. If empty,
	// Username is used.
	ID string
	// Username is what the user types at login. Usernames are compared
	// exactly (case-sensitive) as the store returns them.
	Username string
	// PasswordHash is the output of the configured [PasswordHasher], by
	// default bcrypt ([HashPassword]).
	PasswordHash []byte
	// Scopes are the scopes the user may be granted. Scopes that are not in
	// Config.Scopes are never granted.
	Scopes []string
	// Disabled users cannot log in, refresh, or (with Config.LoadUser) use
	// access tokens issued before they were disabled.
	Disabled bool
	// ValidAfter, if set, ends every session that began before it: a
	// refresh of an older login is refused, and so is, with
	// Config.LoadUser, an access token issued before it. Set it to the
	// time of a password change or a removal of rights. Token times are
	// whole seconds: a login in the same second as ValidAfter counts as
	// after it.
	ValidAfter time.Time
	// Profile holds the user's profile fields (full name, email...) as the
	// store keeps them. tollgate never reads it; Config.Claims gets the
	// User, so it can put profile fields in the token without a second
	// lookup, and handlers with Config.LoadUser find it in Principal.User.
	Profile map[string]any
}

// subject returns the "sub" claim for u.
func (u *User) subject() string {
	if u.ID != "" {
		return u.ID
	}
	return u.Username
}

// LogValue keeps the password hash out of logs.
func (u User) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", u.ID), slog.String("username", u.Username), slog.Bool("disabled", u.Disabled))
}

// UserStore looks up users for the password grant, for the refresh grant
// (a disabled or deleted user's refresh tokens stop working) and, with
// Config.LoadUser, for each protected request. Implementations must be safe
// for concurrent use; package storetest checks them.
type UserStore interface {
	// LookupUser returns the user with the given username, or an error for
	// which errors.Is(err, ErrNotFound) is true. The returned User is not
	// modified by tollgate.
	LookupUser(ctx context.Context, username string) (*User, error)
}

// ScopeLister is an optional interface of a [UserStore] that can say
// which scopes its users hold. [New] then refuses a configuration in which
// a user holds a scope that is not registered in Config.Scopes: such a
// scope would silently never be granted.
type ScopeLister interface {
	// HeldScopes returns every scope that at least one user holds.
	HeldScopes(ctx context.Context) ([]string, error)
}

// errUnregistered marks checkHeldScopes' finding, as opposed to a store
// failure.
var errUnregistered = errors.New("tollgate: users hold scopes that are not in Config.Scopes; they would never be granted")

// heldScopesTimeout bounds the check of New.
const heldScopesTimeout = 10 * time.Second

// checkHeldScopes reports the scopes of l's users that are not registered.
func checkHeldScopes(l ScopeLister, scopes scopeRegistry) error {
	ctx, cancel := context.WithTimeout(context.Background(), heldScopesTimeout)
	defer cancel()
	held, err := l.HeldScopes(ctx)
	if err != nil {
		return fmt.Errorf("tollgate: listing the scopes the users hold: %w", err)
	}
	var bad []string
	for _, s := range held {
		if _, ok := scopes[s]; !ok && !slices.Contains(bad, s) {
			bad = append(bad, s)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	slices.Sort(bad)
	return fmt.Errorf("%w: %q", errUnregistered, bad)
}

// PasswordUpdater is an optional interface of a [UserStore]. When the store
// implements it, a successful login whose hash the [PasswordHasher] reports
// as outdated (a raised bcrypt cost, say) stores a fresh hash of the same
// password, as passlib's deprecated="auto" does.
type PasswordUpdater interface {
	// UpdatePasswordHash replaces the hash of the user with the given ID
	// (User.ID, or Username where ID is empty).
	UpdatePasswordHash(ctx context.Context, id string, hash []byte) error
}

// PasswordHasher hashes and checks passwords. Implementations must be safe
// for concurrent use.
type PasswordHasher interface {
	// Hash returns a hash of password that embeds its own parameters.
	Hash(password string) ([]byte, error)
	// Verify reports whether password matches hash. A mismatch is
	// (false, nil); a malformed hash is an error.
	Verify(hash []byte, password string) (bool, error)
	// NeedsRehash reports whether hash was made with weaker parameters than
	// the hasher's current ones.
	NeedsRehash(hash []byte) bool
}

// maxPasswordBytes is bcrypt's input limit. bcrypt silently ignores bytes
// past the 72nd in most implementations; tollgate never does that:
// [HashPassword] and the [Bcrypt] hasher refuse longer passwords, and a
// longer password presented at login fails as a wrong password would.
const maxPasswordBytes = 72

// ErrPasswordTooLong is the error of [HashPassword] and of the [Bcrypt]
// hasher's Hash for a password longer than bcrypt's 72 bytes, which they
// refuse rather than truncate: a signup form can tell its user so.
var ErrPasswordTooLong = errors.New("tollgate: password longer than 72 bytes, bcrypt's limit")

// defaultBcryptCost is the cost of Bcrypt(0). OWASP asks for at least 10.
const defaultBcryptCost = 12

// Bcrypt returns the bcrypt [PasswordHasher] with the given cost for new
// hashes: at least 10, or 0 for the default, 12. It refuses to hash
// passwords longer than bcrypt's 72-byte limit rather than truncate them,
// a longer password never verifies, and NeedsRehash reports hashes of a
// lower cost, so that raising the cost upgrades each user at their next
// login (see [PasswordUpdater]). It is the default Config.Hasher.
func Bcrypt(cost int) PasswordHasher {
	if cost == 0 {
		cost = defaultBcryptCost
	}
	return bcryptHasher{cost: cost}
}

// bcryptHasher is the hasher Bcrypt returns.
type bcryptHasher struct{ cost int }

// Hash returns the bcrypt hash of password at b's cost.
func (b bcryptHasher) Hash(password string) ([]byte, error) {
	if b.cost < 10 || b.cost > bcrypt.MaxCost {
		return nil, fmt.Errorf("tollgate: bcrypt cost %d outside [10, %d]", b.cost, bcrypt.MaxCost)
	}
	if len(password) > maxPasswordBytes {
		return nil, ErrPasswordTooLong
	}
	if password == "" {
		return nil, errors.New("tollgate: empty password")
	}
	return bcrypt.GenerateFromPassword([]byte(password), b.cost)
}

// Verify reports whether password matches hash; over 72 bytes it never
// does, and costs the same comparison as any other wrong password, so the
// answer's timing does not tell the 72-byte rule from a wrong guess.
func (b bcryptHasher) Verify(hash []byte, password string) (bool, error) {
	if len(password) > maxPasswordBytes {
		_ = bcrypt.CompareHashAndPassword(hash, []byte(password[:maxPasswordBytes]))
		return false, nil
	}
	err := bcrypt.CompareHashAndPassword(hash, []byte(password))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return false, nil
	}
	return false, err
}

// NeedsRehash reports whether hash has a lower cost than b's.
func (b bcryptHasher) NeedsRehash(hash []byte) bool {
	c, err := bcrypt.Cost(hash)
	return err == nil && c < b.cost
}

// HashPassword returns the bcrypt hash, at cost 12, of password, for
// seeding a [UserStore]. It refuses empty passwords and passwords longer
// than bcrypt's 72 bytes rather than truncate them.
func HashPassword(password string) ([]byte, error) {
	return Bcrypt(0).Hash(password)
}

// dummyPassword is hashed at New; unknown users are checked against that
// hash so that they cost as much as a wrong password.
const dummyPassword = "tollgate-dummy-password-for-timing"

// dummyHasher is an optional interface of a PasswordHasher that verifies
// hashes of several schemes (argon2id.Migrating): DummyHashes returns a
// hash of password in each of them, and unknown users are checked against
// the slowest, so that they take as long as a user of any scheme.
type dummyHasher interface {
	DummyHashes(password string) ([][]byte, error)
}

// dummyHash returns the hash unknown users are checked against: h's hash
// of dummyPassword or, for a dummyHasher, the slowest of its hashes to
// verify (timed at New, the best of three tries each).
func dummyHash(h PasswordHasher) ([]byte, error) {
	dh, ok := h.(dummyHasher)
	if !ok {
		return h.Hash(dummyPassword)
	}
	hashes, err := dh.DummyHashes(dummyPassword)
	if err != nil || len(hashes) == 0 {
		return nil, fmt.Errorf("DummyHashes: %v", err)
	}
	var slowest []byte
	var worst time.Duration
	for _, hash := range hashes {
		best := time.Duration(math.MaxInt64)
		for range 3 {
			start := time.Now()
			_, _ = h.Verify(hash, "not-"+dummyPassword)
			best = min(best, time.Since(start))
		}
		if best > worst {
			slowest, worst = hash, best
		}
	}
	return slowest, nil
}

// errLogin is the cause behind every failed login; the client sees one
// description whatever went wrong.
var errLogin = errors.New("tollgate: login failed")

// checkPassword looks up username and checks password. Unknown users still
// pay for one hash comparison (against a dummy hash, of the slowest scheme
// the hasher verifies), so the answer's timing does not tell which
// usernames exist, and a password over bcrypt's 72 bytes costs the same
// comparison as any other wrong one. It returns the user, or a
// reason and nil error for a failed login, or an error for a server fault.
func (a *Authenticator) checkPassword(ctx context.Context, prio int, username, password string) (*User, audit.Reason, error) {
	u, err := a.cfg.Users.LookupUser(ctx, username)
	if err != nil {
		if !errors.Is(err, ErrNotFound) {
			return nil, "", storeFailed(err)
		}
		if _, err := a.verifyHash(ctx, prio, a.dummyHash, password); errors.Is(err, errHashBusy) {
			return nil, "", err
		}
		return nil, audit.UnknownUser, nil
	}
	if u == nil || u.Username != username {
		if _, err := a.verifyHash(ctx, prio, a.dummyHash, password); errors.Is(err, errHashBusy) {
			return nil, "", err
		}
		return nil, audit.UnknownUser, nil
	}
	ok, err := a.verifyHash(ctx, prio, u.PasswordHash, password)
	if errors.Is(err, errHashBusy) {
		return nil, "", err
	}
	if err != nil {
		return nil, "", fmt.Errorf("tollgate: stored hash of user %q: %w", u.subject(), err)
	}
	if !ok {
		return nil, audit.WrongPassword, nil
	}
	if u.Disabled {
		return nil, audit.UserDisabled, nil
	}
	if a.cfg.Hasher.NeedsRehash(u.PasswordHash) {
		a.rehash(ctx, prio, u, password)
	}
	return u, "", nil
}

// rehash stores a fresh hash of password when the store can take it.
// A failure is logged and does not fail the login.
func (a *Authenticator) rehash(ctx context.Context, prio int, u *User, password string) {
	up, ok := a.cfg.Users.(PasswordUpdater)
	if !ok {
		return
	}
	h, err := a.hashPassword(ctx, prio, password)
	if err == nil {
		err = up.UpdatePasswordHash(ctx, u.subject(), h)
	}
	if err != nil && !errors.Is(err, errHashBusy) { // busy: retried at the next login
		a.cfg.Logger.ErrorContext(ctx, "tollgate: rehash on login failed", "sub", u.subject(), "err", err)
	}
}
