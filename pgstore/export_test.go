package pgstore

import "context"

// ExecForTest runs one statement on db.
func ExecForTest(ctx context.Context, db *DB, sql string) error {
	_, err := db.pool.Exec(ctx, sql)
	return err
}

// URLForTest is the connection string db was opened with.
func URLForTest(db *DB) string { return db.pool.Config().ConnString() }
