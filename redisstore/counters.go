package redisstore

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/tollgate-go/tollgate"
)

// Counters is a [tollgate.CounterStore] in Redis, for
// Config.Logins.Shared: the login throttle's counts seen by every replica.
// Each Add is one script; each counter is a key that Redis expires at the
// end of its window.
type Counters struct{ s *Store }

var _ tollgate.CounterStore = (*Counters)(nil)

// Counters returns the shared counters of the login throttle.
func (s *Store) Counters() *Counters { return &Counters{s: s} }

// addScript checks every limit, then adds every delta. KEYS: the
// counters. ARGV: delta, limit, window (ms), renew ("1") for each.
var addScript = redis.NewScript(`
for i = 1, #KEYS do
	local limit = tonumber(ARGV[(i - 1) * 4 + 2])
	if limit > 0 then
		local v = tonumber(redis.call('GET', KEYS[i]) or '0')
		if v >= limit then
			return {i - 1, redis.call('PTTL', KEYS[i])}
		end
	end
end
local counts = {}
for i = 1, #KEYS do
	local delta = tonumber(ARGV[(i - 1) * 4 + 1])
	local v = 0
	if delta == 0 then
		v = tonumber(redis.call('GET', KEYS[i]) or '0')
	else
		local existed = redis.call('EXISTS', KEYS[i]) == 1
		if existed or delta > 0 then
			v = redis.call('INCRBY', KEYS[i], delta)
			if not existed or (delta > 0 and ARGV[(i - 1) * 4 + 4] == '1') then
				redis.call('PEXPIRE', KEYS[i], ARGV[(i - 1) * 4 + 3])
			end
			if v <= 0 then
				redis.call('DEL', KEYS[i])
				v = 0
			end
		end
	end
	counts[i] = v
end
return {-1, counts}`)

// Add implements [tollgate.CounterStore] in one round trip.
func (c *Counters) Add(ctx context.Context, ops []tollgate.CounterOp) (int, time.Duration, []int64, error) {
	keys := make([]string, len(ops))
	args := make([]any, 0, 4*len(ops))
	for i, op := range ops {
		keys[i] = c.s.prefix + "ctr:" + op.Key
		renew := "0"
		if op.Renew {
			renew = "1"
		}
		args = append(args, op.Delta, op.Limit, max(op.Window.Milliseconds(), 1), renew)
	}
	res, err := addScript.Run(ctx, c.s.rdb, keys, args...).Slice()
	if err != nil {
		return -1, 0, nil, fmt.Errorf("redisstore: counters: %w", err)
	}
	if len(res) != 2 {
		return -1, 0, nil, fmt.Errorf("redisstore: counters: %w", errBadRecord)
	}
	over, _ := res[0].(int64)
	if over >= 0 {
		ttl, _ := res[1].(int64)
		return int(over), time.Duration(max(ttl, 1)) * time.Millisecond, nil, nil
	}
	raw, ok := res[1].([]any)
	if !ok || len(raw) != len(ops) {
		return -1, 0, nil, fmt.Errorf("redisstore: counters: %w", errBadRecord)
	}
	counts := make([]int64, len(ops))
	for i, v := range raw {
		counts[i], _ = v.(int64)
	}
	return -1, 0, counts, nil
}
