// Package redisstore keeps tollgate's refresh-token families
// ([tollgate.RefreshStore]) and revoked access tokens ([tollgate.Denylist])
// in Redis, so that replicas of a service share them. Users stay where
// they are (memstore, sqlitestore, pgstore).
//
// It uses github.com/redis/go-redis/v9. Every atomic step is one Lua
// script, so one round trip, and Redis runs a script alone: a rotation,
// a reuse that revokes its family, a login past the bound on sessions.
// Expiry is Redis's own: each record's TTL is set to the time tollgate
// may drop it, so expired records are never returned and nothing needs
// purging.
//
// Durability: Redis keeps data in memory. For refresh tokens to survive
// a Redis restart, run it with the append-only file on
// (appendonly yes; appendfsync always loses nothing, everysec at most a
// second of logins and rotations). With RDB snapshots alone, a restart
// loses every session since the last snapshot: those users log in again,
// and a rotation lost this way makes the client's newer token unknown,
// never an older one valid again.
//
// The scripts touch keys they derive from the family (its subject's
// index), so the store needs a single Redis server (or a primary with
// replicas and Sentinel), not Redis Cluster.
package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/tollgate-go/tollgate"
)

// Store is tollgate's state in Redis. It is safe for concurrent use.
type Store struct {
	rdb    redis.UniversalClient
	prefix string
}

// New returns a store on rdb whose keys all begin with prefix (for
// example "tollgate:"), so that several services can share one Redis.
func New(rdb redis.UniversalClient, prefix string) *Store {
	return &Store{rdb: rdb, prefix: prefix}
}

// Open connects to the Redis server named by url
// (redis://[user:password@]host:port/db, as redis.ParseURL takes it) and
// checks that it answers.
func Open(ctx context.Context, url, prefix string) (*Store, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redisstore: %w", err)
	}
	rdb := redis.NewClient(opt)
	if err := rdb.Ping(ctx).Err(); err != nil {
		_ = rdb.Close()
		return nil, fmt.Errorf("redisstore: %w", err)
	}
	return New(rdb, prefix), nil
}

// Close closes the client.
func (s *Store) Close() error { return s.rdb.Close() }

// Ping reports whether Redis answers, for a readiness check.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redisstore: %w", err)
	}
	return nil
}

// Refresh returns the refresh-token family store.
func (s *Store) Refresh() *RefreshStore { return &RefreshStore{s: s} }

// Denylist returns the denylist of revoked access tokens.
func (s *Store) Denylist() *Denylist { return &Denylist{s: s} }

// ms is t in Unix milliseconds, 0 for the zero time: Lua's numbers are
// doubles, exact for milliseconds, not for nanoseconds.
func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(s string) (time.Time, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n == 0 {
		return time.Time{}, err
	}
	return time.UnixMilli(n), nil
}

// Denylist is a [tollgate.Denylist] in Redis: one key per entry, which
// expires when its token would have.
type Denylist struct{ s *Store }

var _ tollgate.Denylist = (*Denylist)(nil)

// denyScript sets KEYS[1] to expire at ARGV[1] (ms), unless it already
// expires later.
var denyScript = redis.NewScript(`
local cur = redis.call('PEXPIRETIME', KEYS[1])
local untilMS = tonumber(ARGV[1])
if cur < untilMS then
	redis.call('SET', KEYS[1], '1', 'PXAT', untilMS)
end
return 1`)

// Deny records jti as revoked until until, keeping the later until of two.
func (d *Denylist) Deny(ctx context.Context, jti string, until, now time.Time) error {
	if !until.After(now) {
		return nil // expired already: nothing to deny
	}
	if err := denyScript.Run(ctx, d.s.rdb, []string{d.s.prefix + "deny:" + jti}, ms(until)).Err(); err != nil {
		return fmt.Errorf("redisstore: deny: %w", err)
	}
	return nil
}

// IsDenied reports whether jti is denied.
func (d *Denylist) IsDenied(ctx context.Context, jti string) (bool, error) {
	n, err := d.s.rdb.Exists(ctx, d.s.prefix+"deny:"+jti).Result()
	if err != nil {
		return false, fmt.Errorf("redisstore: is denied: %w", err)
	}
	return n == 1, nil
}

// errBadRecord is a family record Redis returned in a shape this package
// did not write.
var errBadRecord = errors.New("redisstore: malformed family record")
