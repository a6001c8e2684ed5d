package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/tollgate-go/tollgate"
)

// Counters is a [tollgate.CounterStore] in PostgreSQL, for
// Config.Logins.Shared: the login throttle's counts seen by every
// replica. Each Add is one call of tollgate_counter_add, one round trip;
// expired counters are never counted and Purge deletes them.
type Counters struct{ db *DB }

var _ tollgate.CounterStore = (*Counters)(nil)

// Counters returns the shared counters of the login throttle.
func (db *DB) Counters() *Counters { return &Counters{db: db} }

// Add implements [tollgate.CounterStore].
func (c *Counters) Add(ctx context.Context, ops []tollgate.CounterOp) (int, time.Duration, []int64, error) {
	keys := make([]string, len(ops))
	deltas, limits, windows := make([]int64, len(ops)), make([]int64, len(ops)), make([]int64, len(ops))
	renews := make([]bool, len(ops))
	for i, op := range ops {
		keys[i], deltas[i], limits[i], windows[i], renews[i] = op.Key, op.Delta, op.Limit, int64(op.Window), op.Renew
	}
	var over int
	var retry int64
	var counts []int64
	err := c.db.pool.QueryRow(ctx, "SELECT * FROM tollgate_counter_add($1, $2, $3, $4, $5, $6)",
		keys, deltas, limits, windows, renews, c.db.now().UnixNano()).Scan(&over, &retry, &counts)
	if err != nil {
		return -1, 0, nil, fmt.Errorf("pgstore: counters: %w", err)
	}
	if over >= 0 {
		return over, time.Duration(max(retry, 1)), nil, nil
	}
	return -1, 0, counts, nil
}
