// Package janitor runs a store's purge on a timer, for the StartJanitor
// of the store modules: one goroutine, started only when asked, stopped by
// the function Start returns.
package janitor

import (
	"context"
	"sync"
	"time"
)

// Start calls purge every interval in a goroutine of its own until stop
// is called; stop waits for a purge under way to end (its context is
// canceled), and may be called more than once. onError, if not nil, gets
// each purge's error other than the cancellation.
func Start(interval time.Duration, purge func(ctx context.Context) error, onError func(error)) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := purge(ctx); err != nil && ctx.Err() == nil && onError != nil {
					onError(err)
				}
			}
		}
	})
	var once sync.Once
	return func() {
		once.Do(func() {
			cancel()
			wg.Wait()
		})
	}
}

// Purge runs each statement of stmts again and again through exec, which
// deletes at most batch expired rows per call and says how many it did,
// until a call deletes fewer: short steps, so that a store's other
// writes run between them. It returns the rows deleted, and stops early
// with ctx's error when ctx is done.
func Purge(ctx context.Context, stmts []string, batch int64, exec func(ctx context.Context, stmt string) (int64, error)) (int, error) {
	total := 0
	for _, q := range stmts {
		for {
			if err := ctx.Err(); err != nil {
				return total, err
			}
			n, err := exec(ctx, q)
			if err != nil {
				return total, err
			}
			total += int(n)
			if n < batch {
				break
			}
		}
	}
	return total, nil
}
