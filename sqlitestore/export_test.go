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

// ExecForTest runs statements on db's writer.
func ExecForTest(ctx context.Context, db *DB, sql string) error {
	_, err := db.write.ExecContext(ctx, sql)
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

// FileBytesForTest is the database's size in pages, after a checkpoint.
func FileBytesForTest(ctx context.Context, db *DB) int64 {
	_, _ = db.write.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
	var pages, size int64
	_ = db.read.QueryRowContext(ctx, "PRAGMA page_count").Scan(&pages)
	_ = db.read.QueryRowContext(ctx, "PRAGMA page_size").Scan(&size)
	return pages * size
}

// FillLiveForTest inserts n live families (as after n logins of 10 000
// users), with the scopes and hash lengths tollgate writes.
func FillLiveForTest(ctx context.Context, db *DB, n int, now time.Time) error {
	at, later := now.UnixNano(), now.Add(720*time.Hour).UnixNano()
	_, err := db.write.ExecContext(ctx, `INSERT INTO refresh_families (`+familyColumns+`, drop_after)
		WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < ?)
		SELECT printf('%043d', i), 'user-' || (i % 10000), 'user-' || (i % 10000), 'tollgate', '["me","items:read","items:write"]', ?, ?,
			printf('%043d', i), ?, ?, printf('%043d', i), ?, 0, 1, ?, ? FROM c`,
		n, at, later, at, later, at, at, later)
	return err
}
