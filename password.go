package tollgate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"golang.org/x/crypto/bcrypt"
)

// A User is an account that can log in with the password grant.
type User struct {
	// ID is the stable identifier sent as the "sub" claim. If empty,
	// Username is used.
	ID string
	// Username is what the user types at login. Usernames are compared
	// exactly (case-sensitive) as the store returns them.
	Username string
	// PasswordHash is the output of a [PasswordHasher], by default bcrypt
	// ([HashPassword]).
	PasswordHash []byte
	// Scopes are the scopes the user may be granted. Scopes that are not in
	// Config.Scopes are never granted.
	Scopes []string
	// Disabled users cannot log in, refresh, or (with Config.LoadUser) use
	// access tokens issued before they were disabled.
	Disabled bool
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

// UserStoreFunc adapts a function to the [UserStore] interface.
type UserStoreFunc func(ctx context.Context, username string) (*User, error)

// LookupUser calls f(ctx, username).
func (f UserStoreFunc) LookupUser(ctx context.Context, username string) (*User, error) {
	return f(ctx, username)
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

// MaxPasswordBytes is bcrypt's input limit. bcrypt silently ignores bytes
// past the 72nd in most implementations; tollgate never does that:
// [Bcrypt.Hash] refuses longer passwords with [ErrPasswordTooLong], and a
// longer password presented at login fails as a wrong password would.
const MaxPasswordBytes = 72

// ErrPasswordTooLong is returned by [Bcrypt.Hash] and [HashPassword] for a
// password longer than [MaxPasswordBytes].
var ErrPasswordTooLong = errors.New("tollgate: password longer than 72 bytes")

// DefaultBcryptCost is the cost used when Bcrypt.Cost is zero. OWASP asks
// for at least 10.
const DefaultBcryptCost = 12

// Bcrypt is the default [PasswordHasher].
type Bcrypt struct {
	// Cost is the bcrypt cost for new hashes, at least 10.
	// Zero means DefaultBcryptCost.
	Cost int
}

func (b Bcrypt) cost() int {
	if b.Cost == 0 {
		return DefaultBcryptCost
	}
	return b.Cost
}

// Hash returns the bcrypt hash of password, refusing passwords longer than
// [MaxPasswordBytes] and empty ones.
func (b Bcrypt) Hash(password string) ([]byte, error) {
	if b.cost() < 10 || b.cost() > bcrypt.MaxCost {
		return nil, fmt.Errorf("tollgate: bcrypt cost %d outside [10, %d]", b.cost(), bcrypt.MaxCost)
	}
	if len(password) > MaxPasswordBytes {
		return nil, ErrPasswordTooLong
	}
	if password == "" {
		return nil, errors.New("tollgate: empty password")
	}
	return bcrypt.GenerateFromPassword([]byte(password), b.cost())
}

// Verify reports whether password matches hash. A password longer than
// [MaxPasswordBytes] never matches.
func (b Bcrypt) Verify(hash []byte, password string) (bool, error) {
	if len(password) > MaxPasswordBytes {
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
func (b Bcrypt) NeedsRehash(hash []byte) bool {
	c, err := bcrypt.Cost(hash)
	return err == nil && c < b.cost()
}

// HashPassword returns the bcrypt hash, at [DefaultBcryptCost], of password,
// for seeding a [UserStore]. It refuses passwords longer than
// [MaxPasswordBytes] rather than truncate them.
func HashPassword(password string) ([]byte, error) {
	return Bcrypt{}.Hash(password)
}

// dummyPassword is hashed at New; unknown users are checked against that
// hash so that they cost as much as a wrong password.
const dummyPassword = "tollgate-dummy-password-for-timing"

// errLogin is the cause behind every failed login; the client sees one
// description whatever went wrong.
var errLogin = errors.New("tollgate: login failed")

// loginFailure says why a login failed; it goes to events, never to the
// client.
type loginFailure string

const (
	failUnknownUser   loginFailure = "unknown_user"
	failWrongPassword loginFailure = "wrong_password"
	failDisabled      loginFailure = "user_disabled"
)

// checkPassword looks up username and checks password. Unknown users still
// pay for one hash comparison (against a dummy hash), so the answer's
// timing does not tell which usernames exist. A password over bcrypt's 72
// bytes fails at once for known and unknown users alike: its length is the
// client's own, and tells nothing about the account. It returns the user, or a
// reason and nil error for a failed login, or an error for a server fault.
func (a *Authenticator) checkPassword(ctx context.Context, username, password string) (*User, loginFailure, error) {
	u, err := a.users.LookupUser(ctx, username)
	if err != nil {
		if !errors.Is(err, ErrNotFound) {
			return nil, "", err
		}
		if _, err := a.verifyHash(ctx, a.dummyHash, password); errors.Is(err, errHashBusy) {
			return nil, "", err
		}
		return nil, failUnknownUser, nil
	}
	if u == nil || u.Username != username {
		if _, err := a.verifyHash(ctx, a.dummyHash, password); errors.Is(err, errHashBusy) {
			return nil, "", err
		}
		return nil, failUnknownUser, nil
	}
	ok, err := a.verifyHash(ctx, u.PasswordHash, password)
	if errors.Is(err, errHashBusy) {
		return nil, "", err
	}
	if err != nil {
		return nil, "", fmt.Errorf("tollgate: stored hash of user %q: %w", u.subject(), err)
	}
	if !ok {
		return nil, failWrongPassword, nil
	}
	if u.Disabled {
		return nil, failDisabled, nil
	}
	if a.hasher.NeedsRehash(u.PasswordHash) {
		a.rehash(ctx, u, password)
	}
	return u, "", nil
}

// rehash stores a fresh hash of password when the store can take it.
// A failure is logged and does not fail the login.
func (a *Authenticator) rehash(ctx context.Context, u *User, password string) {
	up, ok := a.users.(PasswordUpdater)
	if !ok {
		return
	}
	h, err := a.hashPassword(ctx, password)
	if err == nil {
		err = up.UpdatePasswordHash(ctx, u.subject(), h)
	}
	if err != nil && !errors.Is(err, errHashBusy) { // busy: retried at the next login
		a.logger.ErrorContext(ctx, "tollgate: rehash on login failed", "sub", u.subject(), "err", err)
	}
}
