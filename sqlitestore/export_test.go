package sqlitestore

import (
	"context"
	"time"
)

// SetSchemaVersionForTest records a schema version, as a newer package
// would.
func SetSchemaVersionForTest(ctx context.Context, db *DB, version int) error {
	_, err := db.write.ExecContext(ctx, "INSERT INTO schema_migrations (version, applied_at) VALUES (?, 0)", version)
	return err
}

// RowsForTest counts the rows of refresh_families, expired ones included.
func RowsForTest(ctx context.Context, db *DB) int {
	var n int
	_ = db.read.QueryRowContext(ctx, "SELECT COUNT(*) FROM refresh_families").Scan(&n)
	return n
}

// FillExpiredForTest inserts n families whose drop time is an hour before
// now, spread over 10 000 subjects, in one statement.
func FillExpiredForTest(ctx context.Context, db *DB, n int, now time.Time) error {
	past := now.Add(-time.Hour).UnixNano()
	_, err := db.write.ExecContext(ctx, `INSERT INTO refresh_families (`+familyColumns+`, drop_after)
		WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < ?)
		SELECT 'expired-' || i, 'user-' || (i % 10000), 'user-' || (i % 10000), 'tollgate', '["me"]', ?, ?,
			'hash-' || i, ?, ?, '', 0, 0, 0, ?, ? FROM c`,
		n, past, past, past, past, past, past)
	return err
}
