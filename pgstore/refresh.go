package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/tollgate-go/tollgate"
)

// RefreshStore is a [tollgate.RefreshStore] in PostgreSQL: one row per
// family however often it rotates, every method one statement.
type RefreshStore struct {
	db *DB
}

var _ tollgate.RefreshStore = (*RefreshStore)(nil)

// familyColumns are the columns of a family, in scanFamily's order.
const familyColumns = `id, subject, username, client_id, scopes, created_at, family_expires_at,
	hash, issued_at, expires_at, prev_hash, prev_used_at, prev_reuses, rotations, keep_until`

func scanFamily(r pgx.Row, extra ...any) (tollgate.RefreshFamily, error) {
	var f tollgate.RefreshFamily
	var created, famExp, issued, exp, prevUsed, keep int64
	dest := append(extra, &f.ID, &f.Subject, &f.Username, &f.ClientID, &f.Scopes, &created, &famExp,
		&f.Hash, &issued, &exp, &f.PrevHash, &prevUsed, &f.PrevReuses, &f.Rotations, &keep)
	if err := r.Scan(dest...); err != nil {
		return f, err
	}
	f.CreatedAt, f.FamilyExpiresAt = fromUnixNano(created), fromUnixNano(famExp)
	f.IssuedAt, f.ExpiresAt = fromUnixNano(issued), fromUnixNano(exp)
	f.PrevUsedAt, f.KeepUntil = fromUnixNano(prevUsed), fromUnixNano(keep)
	return f, nil
}

func scopesOf(f *tollgate.RefreshFamily) []string {
	if f.Scopes == nil {
		return []string{}
	}
	return f.Scopes
}

// Create stores a new family (replacing one with its id) and revokes the
// subject's oldest live families past keep, in one statement. Concurrent
// logins of one subject may each count without the other's family, so the
// bound may be passed by as many as log in at that instant; the next
// login of the subject brings it back to keep.
func (s *RefreshStore) Create(ctx context.Context, f tollgate.RefreshFamily, keep int) ([]tollgate.RefreshFamily, error) {
	if keep <= 0 {
		keep = -1 // no bound
	}
	rows, err := s.db.pool.Query(ctx, createQuery,
		f.ID, f.Subject, f.Username, f.ClientID, scopesOf(&f), unixNano(f.CreatedAt), unixNano(f.FamilyExpiresAt),
		f.Hash, unixNano(f.IssuedAt), unixNano(f.ExpiresAt), unixNano(f.KeepUntil), f.DropAfter().UnixNano(), keep)
	if err != nil {
		return nil, fmt.Errorf("pgstore: create: %w", err)
	}
	revoked, err := collectFamilies(rows)
	if err != nil {
		return nil, fmt.Errorf("pgstore: create: %w", err)
	}
	return revoked, nil
}

// The statements that name columns of two tables, built once.
var (
	// createQuery stores a family and deletes its subject's oldest live
	// families past keep ($13), returning them.
	createQuery = `
		WITH ins AS (
			INSERT INTO tollgate_refresh_families (` + familyColumns + `, drop_after)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, '', 0, 0, 0, $11, $12)
			ON CONFLICT (id) DO UPDATE SET subject = excluded.subject, username = excluded.username,
				client_id = excluded.client_id, scopes = excluded.scopes, created_at = excluded.created_at,
				family_expires_at = excluded.family_expires_at, hash = excluded.hash, issued_at = excluded.issued_at,
				expires_at = excluded.expires_at, prev_hash = '', prev_used_at = 0, prev_reuses = 0, rotations = 0,
				keep_until = excluded.keep_until, drop_after = excluded.drop_after
			RETURNING id, created_at
		), old AS (
			SELECT id FROM (
				SELECT id, created_at FROM tollgate_refresh_families
				WHERE subject = $2 AND drop_after > $6 AND id <> $1
				UNION ALL SELECT id, created_at FROM ins
			) fams
			ORDER BY created_at DESC, id DESC OFFSET CASE WHEN $13::int < 0 THEN 2147483647 ELSE $13::int END
		)
		DELETE FROM tollgate_refresh_families f USING old WHERE f.id = old.id AND f.id <> $1
		RETURNING ` + prefixed("f.", familyColumns)
	// lookupWithUserQuery reads a family and its user: the user's
	// columns first, then the family's.
	lookupWithUserQuery = "SELECT " + prefixed("u.", userColumns) + ", " + prefixed("f.", familyColumns) + `
		FROM tollgate_refresh_families f LEFT JOIN tollgate_users u ON u.username = f.username
		WHERE f.id = $1 AND f.drop_after > $2`
)

// prefixed qualifies each column of a comma-separated list with p.
func prefixed(p, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = p + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}

func collectFamilies(rows pgx.Rows) ([]tollgate.RefreshFamily, error) {
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
	f, err := scanFamily(s.db.pool.QueryRow(ctx,
		"SELECT "+familyColumns+" FROM tollgate_refresh_families WHERE id = $1 AND drop_after > $2", id, s.db.now().UnixNano()))
	switch {
	case isNoRows(err):
		return f, tollgate.ErrNotFound
	case err != nil:
		return f, fmt.Errorf("pgstore: lookup: %w", err)
	}
	return f, nil
}

// LookupWithUser is Lookup and, when users is this database's user store,
// the family's user in the same query: a refresh grant's reads in one
// round trip ([tollgate.FamilyUserLookup]). With another user store it
// asks that one.
func (s *RefreshStore) LookupWithUser(ctx context.Context, id string, users tollgate.UserStore) (tollgate.RefreshFamily, *tollgate.User, error) {
	if pu, ok := users.(*Users); !ok || pu.db != s.db {
		f, err := s.Lookup(ctx, id)
		if err != nil {
			return f, nil, err
		}
		u, err := users.LookupUser(ctx, f.Username)
		if errors.Is(err, tollgate.ErrNotFound) {
			return f, nil, nil
		}
		return f, u, err
	}
	var r userRow
	f, err := scanFamily(s.db.pool.QueryRow(ctx, lookupWithUserQuery, id, s.db.now().UnixNano()), r.dest()...)
	switch {
	case isNoRows(err):
		return f, nil, tollgate.ErrNotFound
	case err != nil:
		return f, nil, fmt.Errorf("pgstore: lookup: %w", err)
	}
	u, err := r.user()
	return f, u, err
}

var _ tollgate.FamilyUserLookup = (*RefreshStore)(nil)

// Rotate is the refresh grant's one step (see [tollgate.RefreshStore]):
// one call of tollgate_rotate, one round trip.
func (s *RefreshStore) Rotate(ctx context.Context, id, presented string, next *tollgate.RefreshFamily, now time.Time, grace time.Duration) (tollgate.RefreshFamily, error) {
	var n tollgate.RefreshFamily
	if next != nil {
		n = *next
	}
	var outcome string
	f, err := scanFamily(s.db.pool.QueryRow(ctx,
		"SELECT * FROM tollgate_rotate($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
		id, presented, now.UnixNano(), int64(grace), next != nil,
		n.Username, n.ClientID, scopesOf(&n), unixNano(n.FamilyExpiresAt), n.Hash, unixNano(n.IssuedAt), unixNano(n.ExpiresAt), unixNano(n.KeepUntil)),
		&outcome)
	switch {
	case isNoRows(err):
		return tollgate.RefreshFamily{}, tollgate.ErrNotFound
	case err != nil:
		return tollgate.RefreshFamily{}, fmt.Errorf("pgstore: rotate: %w", err)
	case outcome == "reused":
		return f, tollgate.ErrReused
	}
	return f, nil
}

// Revoke deletes the family with the given id and returns it, or
// tollgate.ErrNotFound.
func (s *RefreshStore) Revoke(ctx context.Context, id string) (tollgate.RefreshFamily, error) {
	var live bool
	f, err := scanFamily(s.db.pool.QueryRow(ctx,
		"DELETE FROM tollgate_refresh_families WHERE id = $1 RETURNING drop_after > $2, "+familyColumns, id, s.db.now().UnixNano()),
		&live)
	switch {
	case isNoRows(err) || err == nil && !live: // gone, or past its drop time
		return tollgate.RefreshFamily{}, tollgate.ErrNotFound
	case err != nil:
		return f, fmt.Errorf("pgstore: revoke: %w", err)
	}
	return f, nil
}

// RevokeSubject deletes every family of subject and returns the live ones.
func (s *RefreshStore) RevokeSubject(ctx context.Context, subject string) ([]tollgate.RefreshFamily, error) {
	rows, err := s.db.pool.Query(ctx, `WITH gone AS (DELETE FROM tollgate_refresh_families WHERE subject = $1 RETURNING *)
		SELECT `+familyColumns+` FROM gone WHERE drop_after > $2`, subject, s.db.now().UnixNano())
	if err != nil {
		return nil, fmt.Errorf("pgstore: revoke subject: %w", err)
	}
	out, err := collectFamilies(rows)
	if err != nil {
		return nil, fmt.Errorf("pgstore: revoke subject: %w", err)
	}
	return out, nil
}
