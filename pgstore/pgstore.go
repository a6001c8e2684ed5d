// Package pgstore keeps tollgate's state in PostgreSQL, so that replicas
// of a service share logins, refresh-token families and revocations:
// users ([tollgate.UserStore], with [tollgate.PasswordUpdater] and
// [tollgate.ScopeLister]), OAuth 2.0 clients ([tollgate.ClientStore]),
// refresh-token families ([tollgate.RefreshStore]) and revoked access
// tokens ([tollgate.Denylist]).
//
// It uses github.com/jackc/pgx/v5 with a connection pool. Each store
// method is one statement, so one round trip; spending a refresh token
// (Rotate) is one call of the tollgate_rotate function, which locks the
// family's row and replaces or deletes it. A refresh grant takes two
// round trips: the family with its user (one join, when users are here
// too: [tollgate.FamilyUserLookup]), then Rotate.
//
//	db, err := pgstore.Open(ctx, "postgres://tollgate@db/tollgate") // applies the schema
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
// never returned; [DB.Purge] deletes them in short batches, and
// [DB.StartJanitor] runs it on a timer until its stop function is called.
// While the server is unreachable every call fails at once or within the
// pool's connect timeout, tollgate answers 503 with Retry-After, and the
// pool reconnects by itself when the server is back.
package pgstore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"time"

	"github.com/tollgate-go/tollgate/internal/janitor"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is an open tollgate database. Its methods and stores are safe for
// concurrent use.
type DB struct {
	pool  *pgxpool.Pool
	owned bool // Close closes the pool
	now   func() time.Time
}

// Open connects to the PostgreSQL database named by connString (a URL or
// key=value DSN, as pgx takes it) and applies the migrations it lacks.
func Open(ctx context.Context, connString string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(connString)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 5 * time.Second // a down server fails a request, never hangs it
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	db, err := New(ctx, pool)
	if err != nil {
		pool.Close()
		return nil, err
	}
	db.owned = true
	return db, nil
}

// New uses an existing pool (which Close then leaves open) and applies
// the migrations the database lacks.
func New(ctx context.Context, pool *pgxpool.Pool) (*DB, error) {
	db := &DB{pool: pool, now: time.Now}
	if err := db.migrate(ctx); err != nil {
		return nil, err
	}
	return db, nil
}

// Close closes the pool if Open made it.
func (db *DB) Close() {
	if db.owned {
		db.pool.Close()
	}
}

// Ping reports whether the database answers, for a readiness check.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.pool.Ping(ctx); err != nil {
		return fmt.Errorf("pgstore: %w", err)
	}
	return nil
}

// migrationLock is the advisory lock that keeps replicas starting at once
// from applying the same migration twice.
const migrationLock = 0x746f6c6c67617465 // "tollgate"

// migrate applies the embedded migrations the database lacks, in order,
// each with its version in one transaction, under an advisory lock.
func (db *DB) migrate(ctx context.Context) error {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	slices.Sort(names)
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(migrationLock)); err != nil {
			return fmt.Errorf("pgstore: migration lock: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS tollgate_schema_migrations (
			version integer PRIMARY KEY, applied_at bigint NOT NULL)`); err != nil {
			return fmt.Errorf("pgstore: schema_migrations: %w", err)
		}
		var have int
		if err := tx.QueryRow(ctx, "SELECT COALESCE(MAX(version), 0) FROM tollgate_schema_migrations").Scan(&have); err != nil {
			return fmt.Errorf("pgstore: reading the schema version: %w", err)
		}
		if have > len(names) {
			return fmt.Errorf("pgstore: the database has schema version %d, newer than this package's %d", have, len(names))
		}
		for i, name := range names {
			version := i + 1
			if !strings.HasPrefix(name, fmt.Sprintf("migrations/%04d_", version)) {
				return fmt.Errorf("pgstore: migration %s out of sequence", name)
			}
			if version <= have {
				continue
			}
			body, err := migrations.ReadFile(name)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, string(body)); err != nil {
				return fmt.Errorf("pgstore: migration %s: %w", name, err)
			}
			if _, err := tx.Exec(ctx, "INSERT INTO tollgate_schema_migrations (version, applied_at) VALUES ($1, $2)", version, db.now().UnixNano()); err != nil {
				return fmt.Errorf("pgstore: migration %s: %w", name, err)
			}
		}
		return nil
	})
}

// Users returns the user store.
func (db *DB) Users() *Users { return &Users{db: db} }

// Clients returns the client store.
func (db *DB) Clients() *Clients { return &Clients{db: db} }

// Refresh returns the refresh-token family store.
func (db *DB) Refresh() *RefreshStore { return &RefreshStore{db: db} }

// Denylist returns the denylist of revoked access tokens.
func (db *DB) Denylist() *Denylist { return &Denylist{db: db} }

// PurgeBatch is the number of rows [DB.Purge] deletes in one statement:
// only the rows of a batch are locked at a time, and never a live one, so
// a refresh grant never waits for a purge.
const PurgeBatch = 1000

// Purge deletes, at now, the refresh families, denylist entries and
// throttle counters that have expired (which are never returned anyway), PurgeBatch rows per
// statement. It returns how many rows it deleted, and stops early with
// ctx's error when ctx is done.
func (db *DB) Purge(ctx context.Context, now time.Time) (int, error) {
	n, err := janitor.Purge(ctx, []string{
		`DELETE FROM tollgate_refresh_families WHERE id IN (
			SELECT id FROM tollgate_refresh_families WHERE drop_after <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`,
		`DELETE FROM tollgate_denylist WHERE jti IN (
			SELECT jti FROM tollgate_denylist WHERE until <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`,
		`DELETE FROM tollgate_counters WHERE key IN (
			SELECT key FROM tollgate_counters WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`,
	}, PurgeBatch, func(ctx context.Context, q string) (int64, error) {
		tag, err := db.pool.Exec(ctx, q, now.UnixNano(), PurgeBatch)
		return tag.RowsAffected(), err
	})
	if err != nil && ctx.Err() == nil {
		err = fmt.Errorf("pgstore: purge: %w", err)
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

// isNoRows reports whether err is pgx's "no rows".
func isNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }
