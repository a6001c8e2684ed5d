package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/tollgate-go/tollgate"
)

// Users is a [tollgate.UserStore] in the database, with
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
	var u tollgate.User
	var scopes string
	var profile sql.NullString
	var disabled, validAfter int64
	err := s.db.read.QueryRowContext(ctx,
		"SELECT username, id, password_hash, scopes, disabled, valid_after, profile FROM users WHERE username = ?", username).
		Scan(&u.Username, &u.ID, &u.PasswordHash, &scopes, &disabled, &validAfter, &profile)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, fmt.Errorf("sqlitestore: user %q: %w", username, tollgate.ErrNotFound)
	case err != nil:
		return nil, fmt.Errorf("sqlitestore: lookup user: %w", err)
	}
	if err := json.Unmarshal([]byte(scopes), &u.Scopes); err != nil {
		return nil, fmt.Errorf("sqlitestore: user %q: scopes: %w", username, err)
	}
	if profile.Valid {
		if err := json.Unmarshal([]byte(profile.String), &u.Profile); err != nil {
			return nil, fmt.Errorf("sqlitestore: user %q: profile: %w", username, err)
		}
	}
	u.Disabled, u.ValidAfter = disabled != 0, fromUnixNano(validAfter)
	return &u, nil
}

// HeldScopes returns every scope that at least one user holds, sorted.
func (s *Users) HeldScopes(ctx context.Context) ([]string, error) {
	rows, err := s.db.read.QueryContext(ctx, "SELECT DISTINCT value FROM users, json_each(users.scopes) ORDER BY value")
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: held scopes: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var sc string
		if err := rows.Scan(&sc); err != nil {
			return nil, fmt.Errorf("sqlitestore: held scopes: %w", err)
		}
		out = append(out, sc)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: held scopes: %w", err)
	}
	return out, nil
}

// UpdatePasswordHash replaces the hash of the user with the given ID
// (User.ID, or Username where ID is empty), as tollgate does when it
// rehashes a password at login.
func (s *Users) UpdatePasswordHash(ctx context.Context, id string, hash []byte) error {
	res, err := s.db.write.ExecContext(ctx,
		"UPDATE users SET password_hash = ? WHERE (id != '' AND id = ?) OR (id = '' AND username = ?)", hash, id, id)
	return oneRow(res, err, "update password hash", "user", id)
}

// oneRow turns the result of a statement meant for one row (of a kind,
// "user" or "client") into an error: none if it changed a row,
// tollgate.ErrNotFound if it changed none.
func oneRow(res sql.Result, err error, what, kind, who string) error {
	if err != nil {
		return fmt.Errorf("sqlitestore: %s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlitestore: %s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("sqlitestore: %s: %s %q: %w", what, kind, who, tollgate.ErrNotFound)
	}
	return nil
}

// userArgs are u's values for the columns username, id, password_hash,
// scopes, disabled, valid_after, profile.
func userArgs(u tollgate.User) ([]any, error) {
	if u.Username == "" {
		return nil, errors.New("sqlitestore: a user needs a username")
	}
	scopes := u.Scopes
	if scopes == nil {
		scopes = []string{}
	}
	sj, err := json.Marshal(scopes)
	if err != nil {
		return nil, err
	}
	var profile any // NULL
	if u.Profile != nil {
		pj, err := json.Marshal(u.Profile)
		if err != nil {
			return nil, fmt.Errorf("sqlitestore: user %q: profile: %w", u.Username, err)
		}
		profile = string(pj)
	}
	disabled := 0
	if u.Disabled {
		disabled = 1
	}
	return []any{u.Username, u.ID, slices.Clone(u.PasswordHash), string(sj), disabled, unixNano(u.ValidAfter), profile}, nil
}

const userColumns = "username, id, password_hash, scopes, disabled, valid_after, profile"

// Put adds u, or replaces the user with u's username. A user whose
// subject (ID, or Username where the ID is empty) is another user's is
// refused: INSERT OR REPLACE would have deleted that other user.
func (s *Users) Put(ctx context.Context, u tollgate.User) error {
	args, err := userArgs(u)
	if err != nil {
		return err
	}
	if _, err := s.db.write.ExecContext(ctx, "INSERT INTO users ("+userColumns+") VALUES (?, ?, ?, ?, ?, ?, ?) "+
		"ON CONFLICT (username) DO UPDATE SET id = excluded.id, password_hash = excluded.password_hash, scopes = excluded.scopes, "+
		"disabled = excluded.disabled, valid_after = excluded.valid_after, profile = excluded.profile", args...); err != nil {
		return fmt.Errorf("sqlitestore: put user: %w", err)
	}
	return nil
}

// Add adds u unless a user with its username exists, and reports whether
// it did: seeding users this way at every start changes nothing after the
// first.
func (s *Users) Add(ctx context.Context, u tollgate.User) (added bool, err error) {
	args, err := userArgs(u)
	if err != nil {
		return false, err
	}
	res, err := s.db.write.ExecContext(ctx,
		"INSERT INTO users ("+userColumns+") VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (username) DO NOTHING", args...)
	if err != nil {
		return false, fmt.Errorf("sqlitestore: add user: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("sqlitestore: add user: %w", err)
	}
	return n == 1, nil
}

// SetPassword sets the password hash of the user with the given username
// and ends its sessions older than at (User.ValidAfter): after a password
// change, refresh tokens of earlier logins stop working.
func (s *Users) SetPassword(ctx context.Context, username string, hash []byte, at time.Time) error {
	res, err := s.db.write.ExecContext(ctx, "UPDATE users SET password_hash = ?, valid_after = MAX(valid_after, ?) WHERE username = ?",
		slices.Clone(hash), unixNano(at), username)
	return oneRow(res, err, "set password", "user", username)
}

// SetDisabled disables or enables the user with the given username. A
// disabled user cannot log in or refresh.
func (s *Users) SetDisabled(ctx context.Context, username string, disabled bool) error {
	d := 0
	if disabled {
		d = 1
	}
	res, err := s.db.write.ExecContext(ctx, "UPDATE users SET disabled = ? WHERE username = ?", d, username)
	return oneRow(res, err, "set disabled", "user", username)
}

// Delete removes the user with the given username.
func (s *Users) Delete(ctx context.Context, username string) error {
	res, err := s.db.write.ExecContext(ctx, "DELETE FROM users WHERE username = ?", username)
	return oneRow(res, err, "delete user", "user", username)
}
