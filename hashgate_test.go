package tollgate

import (
	"context"
	"sync"
	"testing"
	"time"
)

// TestHashGatePriority: a freed slot goes to the waiter with the lowest
// priority value, then the earliest; a waiter that times out leaves the
// queue; the number of slots never exceeds the bound.
func TestHashGatePriority(t *testing.T) {
	g := newHashGate(1)
	if !g.acquire(context.Background(), 0, time.Second) {
		t.Fatal("a free slot was not taken")
	}
	var mu sync.Mutex
	var order []int
	var wg sync.WaitGroup
	for i, prio := range []int{5, 3, 9, 0, 3} {
		wg.Go(func() {
			if g.acquire(context.Background(), prio, time.Minute) {
				mu.Lock()
				order = append(order, prio)
				mu.Unlock()
				g.release()
			}
		})
		for countWaiting(g) != i+1 { // enqueued in this order
			time.Sleep(time.Millisecond)
		}
	}
	// One waiter gives up: it leaves the queue and gets nothing.
	if g.acquire(context.Background(), -1, time.Millisecond) {
		// prio -1 would be first: it may only get a slot if one is free.
		t.Fatal("a waiter got a slot while none was free")
	}
	g.release()
	wg.Wait()
	want := []int{0, 3, 3, 5, 9}
	if len(order) != len(want) {
		t.Fatalf("order %v, want %v", order, want)
	}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("order %v, want %v", order, want)
		}
	}
	if g.free != 1 || len(g.waiting) != 0 {
		t.Errorf("after all: %d free, %d waiting; want 1 and 0", g.free, len(g.waiting))
	}
}

func countWaiting(g *hashGate) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.waiting)
}
