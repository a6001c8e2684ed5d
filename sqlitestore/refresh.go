package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tollgate-go/tollgate"
)

// RefreshStore is a [tollgate.RefreshStore] in the database: one row per
// family however often it rotates, every method one transaction.
type RefreshStore struct {
	db *DB
}

var _ tollgate.RefreshStore = (*RefreshStore)(nil)

// familyColumns are the columns of a family, in scanFamily's order.
const familyColumns = `id, subject, username, client_id, scopes, created_at, family_expires_at,
	hash, issued_at, expires_at, prev_hash, prev_used_at, prev_reuses, rotations, keep_until`

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

func scanFamily(r scanner) (tollgate.RefreshFamily, error) {
	var f tollgate.RefreshFamily
	var scopes string
	var created, famExp, issued, exp, prevUsed, keep int64
	err := r.Scan(&f.ID, &f.Subject, &f.Username, &f.ClientID, &scopes, &created, &famExp,
		&f.Hash, &issued, &exp, &f.PrevHash, &prevUsed, &f.PrevReuses, &f.Rotations, &keep)
	if err != nil {
		return f, err
	}
	if err := json.Unmarshal([]byte(scopes), &f.Scopes); err != nil {
		return f, fmt.Errorf("sqlitestore: family %q: scopes: %w", f.ID, err)
	}
	f.CreatedAt, f.FamilyExpiresAt = fromUnixNano(created), fromUnixNano(famExp)
	f.IssuedAt, f.ExpiresAt = fromUnixNano(issued), fromUnixNano(exp)
	f.PrevUsedAt, f.KeepUntil = fromUnixNano(prevUsed), fromUnixNano(keep)
	return f, nil
}

// familyArgs are f's values for familyColumns, then drop_after.
func familyArgs(f *tollgate.RefreshFamily) ([]any, error) {
	scopes := f.Scopes
	if scopes == nil {
		scopes = []string{}
	}
	sj, err := json.Marshal(scopes)
	if err != nil {
		return nil, err
	}
	return []any{f.ID, f.Subject, f.Username, f.ClientID, string(sj), unixNano(f.CreatedAt), unixNano(f.FamilyExpiresAt),
		f.Hash, unixNano(f.IssuedAt), unixNano(f.ExpiresAt), f.PrevHash, unixNano(f.PrevUsedAt), f.PrevReuses, f.Rotations,
		unixNano(f.KeepUntil), f.DropAfter().UnixNano()}, nil
}

const insertFamily = `INSERT OR REPLACE INTO refresh_families (` + familyColumns + `, drop_after)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// Create stores a new family and revokes the subject's oldest families
// past keep, in one transaction.
func (s *RefreshStore) Create(ctx context.Context, f tollgate.RefreshFamily, keep int) ([]tollgate.RefreshFamily, error) {
	f.PrevHash, f.PrevUsedAt, f.PrevReuses, f.Rotations = "", time.Time{}, 0, 0
	args, err := familyArgs(&f)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	var revoked []tollgate.RefreshFamily
	err = s.db.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, insertFamily, args...); err != nil {
			return err
		}
		if keep <= 0 {
			return nil
		}
		rows, err := tx.QueryContext(ctx, `DELETE FROM refresh_families WHERE id IN (
			SELECT id FROM refresh_families WHERE subject = ? AND drop_after > ?
			ORDER BY created_at DESC, id DESC LIMIT -1 OFFSET ?) RETURNING `+familyColumns,
			f.Subject, unixNano(f.CreatedAt), keep)
		if err != nil {
			return err
		}
		revoked, err = scanFamilies(rows)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: create: %w", err)
	}
	return revoked, nil
}

func scanFamilies(rows *sql.Rows) ([]tollgate.RefreshFamily, error) {
	defer rows.Close()
	var out []tollgate.RefreshFamily
	for rows.Next() {
		f, err := scanFamily(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// Lookup returns the family with the given id, or tollgate.ErrNotFound
// (also for a family past its drop time).
func (s *RefreshStore) Lookup(ctx context.Context, id string) (tollgate.RefreshFamily, error) {
	f, err := scanFamily(s.db.read.QueryRowContext(ctx,
		"SELECT "+familyColumns+" FROM refresh_families WHERE id = ? AND drop_after > ?", id, s.db.now().UnixNano()))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return f, tollgate.ErrNotFound
	case err != nil:
		return f, fmt.Errorf("sqlitestore: lookup: %w", err)
	}
	return f, nil
}

// Rotate is the refresh grant's one step (see [tollgate.RefreshStore]),
// one transaction: read the family, then replace or delete its row.
func (s *RefreshStore) Rotate(ctx context.Context, id, presented string, next *tollgate.RefreshFamily, now time.Time, grace time.Duration) (tollgate.RefreshFamily, error) {
	var out tollgate.RefreshFamily
	reused := false
	err := s.db.tx(ctx, func(tx *sql.Tx) error {
		cur, err := scanFamily(tx.QueryRowContext(ctx,
			"SELECT "+familyColumns+" FROM refresh_families WHERE id = ? AND drop_after > ?", id, now.UnixNano()))
		if errors.Is(err, sql.ErrNoRows) {
			return tollgate.ErrNotFound
		}
		if err != nil {
			return err
		}
		var n tollgate.RefreshFamily
		switch {
		case next != nil && presented == cur.Hash:
			n = *next
			n.PrevHash, n.PrevUsedAt, n.PrevReuses = presented, now, 0
		case next != nil && presented == cur.PrevHash && cur.PrevHash != "" && cur.PrevReuses == 0 && grace > 0 && now.Sub(cur.PrevUsedAt) <= grace:
			n = *next
			n.PrevHash, n.PrevUsedAt, n.PrevReuses = cur.PrevHash, cur.PrevUsedAt, 1
		default:
			// Reuse (RFC 9700 §4.14.2): revoked in the same step.
			if _, err := tx.ExecContext(ctx, "DELETE FROM refresh_families WHERE id = ?", id); err != nil {
				return err
			}
			out, reused = cur, true
			return nil
		}
		n.ID, n.Subject, n.CreatedAt, n.Rotations = cur.ID, cur.Subject, cur.CreatedAt, cur.Rotations+1
		if cur.KeepUntil.After(n.KeepUntil) {
			n.KeepUntil = cur.KeepUntil
		}
		args, err := familyArgs(&n)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, insertFamily, args...); err != nil {
			return err
		}
		out = n
		return nil
	})
	switch {
	case errors.Is(err, tollgate.ErrNotFound):
		return tollgate.RefreshFamily{}, tollgate.ErrNotFound
	case err != nil:
		return tollgate.RefreshFamily{}, fmt.Errorf("sqlitestore: rotate: %w", err)
	case reused:
		return out, tollgate.ErrReused
	}
	return out, nil
}

// Revoke deletes the family with the given id and returns it, or
// tollgate.ErrNotFound.
func (s *RefreshStore) Revoke(ctx context.Context, id string) (tollgate.RefreshFamily, error) {
	var out []tollgate.RefreshFamily
	err := s.db.tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, "DELETE FROM refresh_families WHERE id = ? RETURNING "+familyColumns+", drop_after", id)
		if err != nil {
			return err
		}
		out, err = scanLive(rows, s.db.now())
		return err
	})
	if err != nil {
		return tollgate.RefreshFamily{}, fmt.Errorf("sqlitestore: revoke: %w", err)
	}
	if len(out) == 0 {
		return tollgate.RefreshFamily{}, tollgate.ErrNotFound
	}
	return out[0], nil
}

// RevokeSubject deletes every family of subject and returns the live ones.
func (s *RefreshStore) RevokeSubject(ctx context.Context, subject string) ([]tollgate.RefreshFamily, error) {
	var out []tollgate.RefreshFamily
	err := s.db.tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, "DELETE FROM refresh_families WHERE subject = ? RETURNING "+familyColumns+", drop_after", subject)
		if err != nil {
			return err
		}
		out, err = scanLive(rows, s.db.now())
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: revoke subject: %w", err)
	}
	return out, nil
}

// scanLive scans rows of familyColumns and drop_after, keeping the
// families whose drop time is after now (the others were gone already).
func scanLive(rows *sql.Rows, now time.Time) ([]tollgate.RefreshFamily, error) {
	defer rows.Close()
	var out []tollgate.RefreshFamily
	for rows.Next() {
		var drop int64
		f, err := scanFamily(withDrop{rows, &drop})
		if err != nil {
			return nil, err
		}
		if drop > now.UnixNano() {
			out = append(out, f)
		}
	}
	return out, rows.Err()
}

// withDrop scans familyColumns and then drop_after.
type withDrop struct {
	r    scanner
	drop *int64
}

func (w withDrop) Scan(dest ...any) error { return w.r.Scan(append(dest, w.drop)...) }
