package sqlitestore

import (
	"context"
	"fmt"
	"time"

	"github.com/tollgate-go/tollgate"
)

// Denylist is a [tollgate.Denylist] in the database. An entry lives until
// its token would have expired anyway; [DB.Purge] deletes it after.
type Denylist struct {
	db *DB
}

var _ tollgate.Denylist = (*Denylist)(nil)

// Deny records jti as revoked until until, keeping the later until of two.
func (d *Denylist) Deny(ctx context.Context, jti string, until, now time.Time) error {
	_, err := d.db.write.ExecContext(ctx,
		"INSERT INTO denylist (jti, until) VALUES (?, ?) ON CONFLICT (jti) DO UPDATE SET until = MAX(until, excluded.until)",
		jti, until.UnixNano())
	if err != nil {
		return fmt.Errorf("sqlitestore: deny: %w", err)
	}
	return nil
}

// IsDenied reports whether jti is denied and its entry has not expired.
func (d *Denylist) IsDenied(ctx context.Context, jti string) (bool, error) {
	var one int
	err := d.db.read.QueryRowContext(ctx, "SELECT COUNT(*) FROM denylist WHERE jti = ? AND until > ?", jti, d.db.now().UnixNano()).Scan(&one)
	if err != nil {
		return false, fmt.Errorf("sqlitestore: is denied: %w", err)
	}
	return one > 0, nil
}
