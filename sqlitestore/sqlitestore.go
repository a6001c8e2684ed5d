// Package sqlitestore keeps tollgate's state in one SQLite file: users
// ([tollgate.UserStore], with [tollgate.PasswordUpdater] and
// [tollgate.ScopeLister]), OAuth 2.0 clients ([tollgate.ClientStore]),
// refresh-token families ([tollgate.RefreshStore]) and revoked access
// tokens ([tollgate.Denylist]). It is the embedded, persistent default: a
// restart keeps every session, and no server runs beside the service.
//
// It uses database/sql with modernc.org/sqlite, SQLite in pure Go (no cgo).
// The database is in WAL mode, so readers never wait for the writer; every
// write goes through one connection, so concurrent requests queue in Go
// instead of meeting SQLITE_BUSY, and a busy timeout covers other
// processes sharing the file.
//
//	db, err := sqlitestore.Open(ctx, "tollgate.db") // creates it, applies the schema
//	if err != nil { ... }
//	defer db.Close()
//	// With Config.Clients every client is in the store, the first-party
//	// "tollgate" among them (Put replaces, so this may run at every start):
//	err = db.Clients().Put(ctx, tollgate.Client{ID: "tollgate"})
//	auth, err := tollgate.New(tollgate.Config{
//		Users:    db.Users(),
//		Clients:  db.Clients(),
//		Refresh:  db.Refresh(),
//		Denylist: db.Denylist(),
//		...
//	})
//
// Users and clients are managed from Go: [Users.Put], [Users.Add],
// [Users.SetPassword], [Users.SetDisabled], [Users.Delete];
// [Clients.Put], [Clients.Delete].
//
// No store starts a goroutine behind the caller's back. Expired rows are
// never returned; [DB.Purge] deletes them, in short batches so that
// refresh grants never wait long behind it, and [DB.StartJanitor] runs it
// on a timer until its stop function is called.
package sqlitestore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tollgate-go/tollgate/internal/janitor"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is an open tollgate database. Its methods and stores are safe for
// concurrent use.
type DB struct {
	read  *sql.DB // readers: WAL lets them run beside the writer
	write *sql.DB // one connection: writes queue here, never in SQLite
	now   func() time.Time
}

// busyTimeout is how long a statement waits for a lock held by another
// process sharing the file before it fails.
const busyTimeout = 10 * time.Second

// Open opens (creating it if need be) the SQLite database at path and
// applies the migrations it lacks, each in its own transaction. It
// refuses a database whose schema is newer than this package knows.
func Open(ctx context.Context, path string) (*DB, error) {
	if path == "" {
		return nil, errors.New("sqlitestore: empty path")
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout("+strconv.Itoa(int(busyTimeout/time.Millisecond))+")")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)") // durable in WAL mode at each checkpoint; no corruption on power loss
	q.Add("_pragma", "foreign_keys(ON)")
	q.Set("_txlock", "immediate") // a write transaction takes the write lock when it begins
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
	write, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxIdleTime(0)
	db := &DB{write: write, now: time.Now}
	if err := db.migrate(ctx); err != nil {
		_ = write.Close()
		return nil, err
	}
	read, err := sql.Open("sqlite", dsn)
	if err != nil {
		_ = write.Close()
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	read.SetMaxOpenConns(4)
	read.SetMaxIdleConns(4)
	db.read = read
	return db, nil
}

// Close closes the database.
func (db *DB) Close() error {
	return errors.Join(db.read.Close(), db.write.Close())
}

// Ping reports whether the database answers, for a readiness check.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.read.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlitestore: %w", err)
	}
	var one int
	if err := db.read.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("sqlitestore: %w", err)
	}
	return nil
}

// migrate applies the embedded migrations the database lacks, in order,
// each with its version in one transaction.
func (db *DB) migrate(ctx context.Context) error {
	if _, err := db.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT`); err != nil {
		return fmt.Errorf("sqlitestore: schema_migrations: %w", err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	slices.Sort(names)
	var have int
	if err := db.write.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&have); err != nil {
		return fmt.Errorf("sqlitestore: reading the schema version: %w", err)
	}
	if have > len(names) {
		return fmt.Errorf("sqlitestore: the database has schema version %d, newer than this package's %d", have, len(names))
	}
	for i, name := range names {
		version := i + 1
		if !strings.HasPrefix(name, fmt.Sprintf("migrations/%04d_", version)) {
			return fmt.Errorf("sqlitestore: migration %s out of sequence", name)
		}
		if version <= have {
			continue
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			return err
		}
		err = db.tx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)", version, db.now().UnixNano())
			return err
		})
		if err != nil {
			return fmt.Errorf("sqlitestore: migration %s: %w", name, err)
		}
	}
	return nil
}

// tx runs f in a write transaction, committed if f returns nil.
func (db *DB) tx(ctx context.Context, f func(tx *sql.Tx) error) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// Users returns the user store.
func (db *DB) Users() *Users { return &Users{db: db} }

// Clients returns the client store.
func (db *DB) Clients() *Clients { return &Clients{db: db} }

// Refresh returns the refresh-token family store.
func (db *DB) Refresh() *RefreshStore { return &RefreshStore{db: db} }

// Denylist returns the denylist of revoked access tokens.
func (db *DB) Denylist() *Denylist { return &Denylist{db: db} }

// PurgeBatch is the number of rows [DB.Purge] deletes in one transaction:
// the longest a refresh grant waits behind a purge is one such batch.
const PurgeBatch = 500

// Purge deletes, at now, the refresh families and denylist entries that
// have expired (which are never returned anyway), PurgeBatch rows per
// transaction so that writes of requests run between batches. It returns
// how many rows it deleted. It stops early, with ctx's error, when ctx is
// done.
func (db *DB) Purge(ctx context.Context, now time.Time) (int, error) {
	n, err := janitor.Purge(ctx, []string{
		"DELETE FROM refresh_families WHERE id IN (SELECT id FROM refresh_families WHERE drop_after <= ? LIMIT ?)",
		"DELETE FROM denylist WHERE jti IN (SELECT jti FROM denylist WHERE until <= ? LIMIT ?)",
	}, PurgeBatch, func(ctx context.Context, q string) (int64, error) {
		res, err := db.write.ExecContext(ctx, q, now.UnixNano(), PurgeBatch)
		if err != nil {
			return 0, err
		}
		return res.RowsAffected()
	})
	if err != nil && ctx.Err() == nil {
		err = fmt.Errorf("sqlitestore: purge: %w", err)
	}
	return n, err
}

// StartJanitor runs [DB.Purge] every interval in a goroutine of its own
// until stop is called; stop waits for a purge under way to end. onError,
// if not nil, gets each purge's error.
func (db *DB) StartJanitor(interval time.Duration, onError func(error)) (stop func()) {
	return janitor.Start(interval, func(ctx context.Context) error {
		_, err := db.Purge(ctx, db.now())
		return err
	}, onError)
}

// unixNano is t as stored: Unix nanoseconds, 0 for the zero time.
func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// fromUnixNano is the time stored as n.
func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}
