package memstore

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/tollgate-go/tollgate"
)

// Counters is an in-memory [tollgate.CounterStore]: the reference the
// shared ones (redisstore) are tested against, and a way to test
// LoginLimits.Shared without a server. One process only: it shares
// nothing between replicas. Expired counters are dropped when Add meets
// them, and at most MaxKeys are kept (default 100 000): past it, Add
// fails rather than forget a counter, as a full throttle table refuses
// rather than flush a lockout.
type Counters struct {
	MaxKeys int
	Now     func() time.Time // default time.Now

	mu sync.Mutex
	m  map[string]*counter
}

type counter struct {
	n       int64
	expires time.Time
}

var _ tollgate.CounterStore = (*Counters)(nil)

// errFull is Add's error when MaxKeys counters are live.
var errFull = errors.New("memstore: Counters is full")

// Add implements [tollgate.CounterStore].
func (c *Counters) Add(ctx context.Context, ops []tollgate.CounterOp) (int, time.Duration, []int64, error) {
	if err := ctx.Err(); err != nil {
		return -1, 0, nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if c.Now != nil {
		now = c.Now()
	}
	if c.m == nil {
		c.m = map[string]*counter{}
	}
	live := func(k string) *counter {
		v := c.m[k]
		if v != nil && !now.Before(v.expires) {
			delete(c.m, k)
			return nil
		}
		return v
	}
	for i, op := range ops {
		if v := live(op.Key); op.Limit > 0 && v != nil && v.n >= op.Limit {
			return i, v.expires.Sub(now), nil, nil
		}
	}
	max := c.MaxKeys
	if max <= 0 {
		max = 100_000
	}
	// All or nothing: room for the new counters first.
	fresh := 0
	for _, op := range ops {
		if op.Delta > 0 && live(op.Key) == nil {
			fresh++
		}
	}
	if len(c.m)+fresh > max {
		c.sweep(now)
		if len(c.m)+fresh > max {
			return -1, 0, nil, errFull
		}
	}
	counts := make([]int64, len(ops))
	for i, op := range ops {
		v := live(op.Key)
		if v == nil {
			if op.Delta <= 0 {
				continue // reads and take-backs of nothing create nothing
			}
			v = &counter{expires: now.Add(op.Window)}
			c.m[op.Key] = v
		}
		v.n += op.Delta
		if op.Renew && op.Delta > 0 {
			v.expires = now.Add(op.Window)
		}
		counts[i] = v.n
		if v.n <= 0 {
			delete(c.m, op.Key)
			counts[i] = 0
		}
	}
	return -1, 0, counts, nil
}

// sweep drops the expired counters.
func (c *Counters) sweep(now time.Time) {
	for k, v := range c.m {
		if !now.Before(v.expires) {
			delete(c.m, k)
		}
	}
}
