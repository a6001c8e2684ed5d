package storetest

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate-go/tollgate"
)

// TestCounterStore runs the conformance suite for [tollgate.CounterStore]
// against the stores newStore returns, once per subtest, each with no
// counters. It waits for real time to pass (a counter's window), so it
// takes a few seconds. Run it under the race detector.
func TestCounterStore(t *testing.T, newStore func(t *testing.T) tollgate.CounterStore) {
	t.Helper()
	const w = time.Minute
	add := func(t *testing.T, s tollgate.CounterStore, ops ...tollgate.CounterOp) (int, time.Duration, []int64) {
		t.Helper()
		over, retry, counts, err := s.Add(t.Context(), ops)
		if err != nil {
			t.Fatalf("Add(%+v) = %v", ops, err)
		}
		if over < 0 && len(counts) != len(ops) {
			t.Fatalf("Add(%d ops) returned %d counts", len(ops), len(counts))
		}
		return over, retry, counts
	}
	t.Run("AddCounts", func(t *testing.T) {
		s := newStore(t)
		for want := int64(1); want <= 3; want++ {
			if over, _, c := add(t, s, tollgate.CounterOp{Key: "k", Delta: 1, Window: w}); over != -1 || c[0] != want {
				t.Errorf("Add #%d = %d, %v; want -1, [%d]", want, over, c, want)
			}
		}
		if _, _, c := add(t, s, tollgate.CounterOp{Key: "k", Window: w}, tollgate.CounterOp{Key: "other", Window: w}); c[0] != 3 || c[1] != 0 {
			t.Errorf("a read = %v, want [3 0] (a read of no counter is 0 and creates none)", c)
		}
	})
	t.Run("LimitRefusesAndChangesNothing", func(t *testing.T) {
		s := newStore(t)
		for range 3 {
			add(t, s, tollgate.CounterOp{Key: "k", Delta: 1, Window: w})
		}
		over, retry, _ := add(t, s, tollgate.CounterOp{Key: "a", Delta: 1, Window: w}, tollgate.CounterOp{Key: "k", Delta: 1, Limit: 3, Window: w})
		if over != 1 || retry <= 0 || retry > w {
			t.Errorf("Add over a limit = %d, %v; want 1 and a retry within the window", over, retry)
		}
		if _, _, c := add(t, s, tollgate.CounterOp{Key: "a", Window: w}, tollgate.CounterOp{Key: "k", Window: w}); c[0] != 0 || c[1] != 3 {
			t.Errorf("after a refused Add: %v, want [0 3] (nothing changed)", c)
		}
		if over, _, c := add(t, s, tollgate.CounterOp{Key: "k", Delta: 1, Limit: 4, Window: w}); over != -1 || c[0] != 4 {
			t.Errorf("Add under a limit = %d, %v; want -1, [4]", over, c)
		}
	})
	t.Run("ZeroDeletes", func(t *testing.T) {
		s := newStore(t)
		add(t, s, tollgate.CounterOp{Key: "k", Delta: 2, Window: w})
		if _, _, c := add(t, s, tollgate.CounterOp{Key: "k", Delta: -5, Window: w}); c[0] > 0 {
			t.Errorf("a counter taken below zero reads %d, want 0", c[0])
		}
		if _, _, c := add(t, s, tollgate.CounterOp{Key: "k", Delta: 1, Window: w}); c[0] != 1 {
			t.Errorf("after falling to zero, Add = %v, want [1] (a new counter)", c)
		}
	})
	t.Run("ExpiresAfterItsWindow", func(t *testing.T) {
		s := newStore(t)
		add(t, s, tollgate.CounterOp{Key: "k", Delta: 5, Window: 300 * time.Millisecond})
		add(t, s, tollgate.CounterOp{Key: "k", Delta: 1, Window: time.Hour}) // an existing counter keeps its expiry
		time.Sleep(time.Second)
		if _, _, c := add(t, s, tollgate.CounterOp{Key: "k", Window: w}); c[0] != 0 {
			t.Errorf("a counter past its window reads %d, want 0", c[0])
		}
	})
	t.Run("RenewRestartsTheWindow", func(t *testing.T) {
		s := newStore(t)
		add(t, s, tollgate.CounterOp{Key: "k", Delta: 1, Window: 600 * time.Millisecond})
		time.Sleep(400 * time.Millisecond)
		add(t, s, tollgate.CounterOp{Key: "k", Delta: 1, Window: 600 * time.Millisecond, Renew: true})
		time.Sleep(400 * time.Millisecond) // past the first window, within the renewed one
		if _, _, c := add(t, s, tollgate.CounterOp{Key: "k", Window: w}); c[0] != 2 {
			t.Errorf("a renewed counter reads %d after its first window, want 2 (Renew restarts the window)", c[0])
		}
	})
	t.Run("ConcurrentLimitIsExact", func(t *testing.T) {
		s := newStore(t)
		var ok atomic.Int64
		var wg sync.WaitGroup
		for g := range 16 {
			wg.Go(func() {
				for range 20 {
					over, _, _, err := s.Add(t.Context(), []tollgate.CounterOp{{Key: "k", Delta: 1, Limit: 100, Window: w}})
					if err != nil {
						t.Error(fmt.Sprint("goroutine ", g, ": ", err))
						return
					}
					if over == -1 {
						ok.Add(1)
					}
				}
			})
		}
		wg.Wait()
		if ok.Load() != 100 {
			t.Errorf("%d of 320 concurrent Adds under a limit of 100 succeeded, want exactly 100 (check and add are one step)", ok.Load())
		}
	})
}
