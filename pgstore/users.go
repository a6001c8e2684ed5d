package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/tollgate-go/tollgate"
)

// Users is a [tollgate.UserStore] in PostgreSQL, with
// [tollgate.PasswordUpdater] (rehash on login) and [tollgate.ScopeLister]
// (the check at tollgate.New), and the calls to manage users from Go.
// Usernames are case-sensitive.
type Users struct {
	db *DB
}

var (
	_ tollgate.UserStore       = (*Users)(nil)
	_ tollgate.PasswordUpdater = (*Users)(nil)
	_ tollgate.ScopeLister     = (*Users)(nil)
)

// LookupUser returns the user with the given username, or an error
// wrapping tollgate.ErrNotFound.
func (s *Users) LookupUser(ctx context.Context, username string) (*tollgate.User, error) {
	var r userRow
	err := s.db.pool.QueryRow(ctx, "SELECT "+userColumns+" FROM tollgate_users WHERE username = $1", username).Scan(r.dest()...)
	switch {
	case isNoRows(err):
		return nil, fmt.Errorf("pgstore: user %q: %w", username, tollgate.ErrNotFound)
	case err != nil:
		return nil, fmt.Errorf("pgstore: lookup user: %w", err)
	}
	return r.user()
}

// userRow is a row of userColumns being scanned; NULLs (a LEFT JOIN
// without a user) leave it empty.
type userRow struct {
	username, id *string
	hash         []byte
	scopes       []string
	disabled     *bool
	validAfter   *int64
	profile      []byte
}

func (r *userRow) dest() []any {
	return []any{&r.username, &r.id, &r.hash, &r.scopes, &r.disabled, &r.validAfter, &r.profile}
}

// user is the scanned user, or nil if the row held none.
func (r *userRow) user() (*tollgate.User, error) {
	if r.username == nil {
		return nil, nil
	}
	u := &tollgate.User{Username: *r.username, PasswordHash: r.hash, Scopes: r.scopes}
	if r.id != nil {
		u.ID = *r.id
	}
	if r.disabled != nil {
		u.Disabled = *r.disabled
	}
	if r.validAfter != nil {
		u.ValidAfter = fromUnixNano(*r.validAfter)
	}
	if r.profile != nil {
		if err := json.Unmarshal(r.profile, &u.Profile); err != nil {
			return nil, fmt.Errorf("pgstore: user %q: profile: %w", u.Username, err)
		}
	}
	return u, nil
}

// HeldScopes returns every scope that at least one user holds, sorted.
func (s *Users) HeldScopes(ctx context.Context) ([]string, error) {
	var out []string
	err := s.db.pool.QueryRow(ctx,
		"SELECT COALESCE(array_agg(DISTINCT sc ORDER BY sc), '{}') FROM tollgate_users, unnest(scopes) AS sc").Scan(&out)
	if err != nil {
		return nil, fmt.Errorf("pgstore: held scopes: %w", err)
	}
	return out, nil
}

// UpdatePasswordHash replaces the hash of the user with the given ID
// (User.ID, or Username where ID is empty), as tollgate does when it
// rehashes a password at login.
func (s *Users) UpdatePasswordHash(ctx context.Context, id string, hash []byte) error {
	tag, err := s.db.pool.Exec(ctx,
		"UPDATE tollgate_users SET password_hash = $2 WHERE (id <> '' AND id = $1) OR (id = '' AND username = $1)", id, slices.Clone(hash))
	return oneRow(tag, err, "update password hash", "user", id)
}

// oneRow turns the result of a statement meant for one row (of a kind,
// "user" or "client") into an error: none if it changed a row,
// tollgate.ErrNotFound if it changed none.
func oneRow(tag pgconn.CommandTag, err error, what, kind, who string) error {
	if err != nil {
		return fmt.Errorf("pgstore: %s: %w", what, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("pgstore: %s: %s %q: %w", what, kind, who, tollgate.ErrNotFound)
	}
	return nil
}

// userArgs are u's values for userColumns.
func userArgs(u tollgate.User) ([]any, error) {
	if u.Username == "" {
		return nil, errors.New("pgstore: a user needs a username")
	}
	var profile []byte // NULL
	if u.Profile != nil {
		p, err := json.Marshal(u.Profile)
		if err != nil {
			return nil, fmt.Errorf("pgstore: user %q: profile: %w", u.Username, err)
		}
		profile = p
	}
	return []any{u.Username, u.ID, slices.Clone(u.PasswordHash), orEmpty(u.Scopes), u.Disabled, unixNano(u.ValidAfter), profile}, nil
}

const userColumns = "username, id, password_hash, scopes, disabled, valid_after, profile"

// Put adds u, or replaces the user with u's username.
func (s *Users) Put(ctx context.Context, u tollgate.User) error {
	args, err := userArgs(u)
	if err != nil {
		return err
	}
	_, err = s.db.pool.Exec(ctx, "INSERT INTO tollgate_users ("+userColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7) "+
		"ON CONFLICT (username) DO UPDATE SET id = excluded.id, password_hash = excluded.password_hash, scopes = excluded.scopes, "+
		"disabled = excluded.disabled, valid_after = excluded.valid_after, profile = excluded.profile", args...)
	if err != nil {
		return fmt.Errorf("pgstore: put user: %w", err)
	}
	return nil
}

// Add adds u unless a user with its username exists, and reports whether
// it did: seeding users this way at every start changes nothing after the
// first, on any replica.
func (s *Users) Add(ctx context.Context, u tollgate.User) (added bool, err error) {
	args, err := userArgs(u)
	if err != nil {
		return false, err
	}
	tag, err := s.db.pool.Exec(ctx, "INSERT INTO tollgate_users ("+userColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7) "+
		"ON CONFLICT (username) DO NOTHING", args...)
	if err != nil {
		return false, fmt.Errorf("pgstore: add user: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// SetPassword sets the password hash of the user with the given username
// and ends its sessions older than at (User.ValidAfter): after a password
// change, refresh tokens of earlier logins stop working.
func (s *Users) SetPassword(ctx context.Context, username string, hash []byte, at time.Time) error {
	tag, err := s.db.pool.Exec(ctx, "UPDATE tollgate_users SET password_hash = $2, valid_after = GREATEST(valid_after, $3) WHERE username = $1",
		username, slices.Clone(hash), unixNano(at))
	return oneRow(tag, err, "set password", "user", username)
}

// SetDisabled disables or enables the user with the given username. A
// disabled user cannot log in or refresh.
func (s *Users) SetDisabled(ctx context.Context, username string, disabled bool) error {
	tag, err := s.db.pool.Exec(ctx, "UPDATE tollgate_users SET disabled = $2 WHERE username = $1", username, disabled)
	return oneRow(tag, err, "set disabled", "user", username)
}

// Delete removes the user with the given username.
func (s *Users) Delete(ctx context.Context, username string) error {
	tag, err := s.db.pool.Exec(ctx, "DELETE FROM tollgate_users WHERE username = $1", username)
	return oneRow(tag, err, "delete user", "user", username)
}
