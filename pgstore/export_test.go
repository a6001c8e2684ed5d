package pgstore

import (
	"context"
	"time"
)

// ExecForTest runs one statement on db.
func ExecForTest(ctx context.Context, db *DB, sql string) error {
	_, err := db.pool.Exec(ctx, sql)
	return err
}

// URLForTest is the connection string db was opened with.
func URLForTest(db *DB) string { return db.pool.Config().ConnString() }

// TableBytesForTest is the size of the families' table with its indexes.
func TableBytesForTest(ctx context.Context, db *DB) int64 {
	var n int64
	_, _ = db.pool.Exec(ctx, "VACUUM ANALYZE tollgate_refresh_families")
	_ = db.pool.QueryRow(ctx, "SELECT pg_total_relation_size('tollgate_refresh_families')").Scan(&n)
	return n
}

// FillLiveForTest inserts n live families (as after n logins of 10 000
// users), with the scopes and hash lengths tollgate writes.
func FillLiveForTest(ctx context.Context, db *DB, n int, now time.Time) error {
	at, later := now.UnixNano(), now.Add(720*time.Hour).UnixNano()
	_, err := db.pool.Exec(ctx, `INSERT INTO tollgate_refresh_families (`+familyColumns+`, drop_after)
		SELECT lpad(i::text, 43, '0'), 'user-' || (i % 10000), 'user-' || (i % 10000), 'tollgate', '{me,items:read,items:write}', $2, $3,
			lpad(i::text, 43, '0'), $2, $3, lpad(i::text, 43, '0'), $2, 0, 1, $3, $3 FROM generate_series(1, $1) AS i`,
		n, at, later)
	return err
}
