package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/tollgate-go/tollgate"
)

// Denylist is a [tollgate.Denylist] in PostgreSQL, shared by every
// replica. An entry lives until its token would have expired anyway;
// [DB.Purge] deletes it after.
type Denylist struct {
	db *DB
}

var _ tollgate.Denylist = (*Denylist)(nil)

// Deny records jti as revoked until until, keeping the later until of two.
func (d *Denylist) Deny(ctx context.Context, jti string, until, now time.Time) error {
	_, err := d.db.pool.Exec(ctx,
		"INSERT INTO tollgate_denylist (jti, until) VALUES ($1, $2) ON CONFLICT (jti) DO UPDATE SET until = GREATEST(tollgate_denylist.until, excluded.until)",
		jti, until.UnixNano())
	if err != nil {
		return fmt.Errorf("pgstore: deny: %w", err)
	}
	return nil
}

// IsDenied reports whether jti is denied and its entry has not expired.
func (d *Denylist) IsDenied(ctx context.Context, jti string) (bool, error) {
	var denied bool
	err := d.db.pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM tollgate_denylist WHERE jti = $1 AND until > $2)", jti, d.db.now().UnixNano()).Scan(&denied)
	if err != nil {
		return false, fmt.Errorf("pgstore: is denied: %w", err)
	}
	return denied, nil
}
