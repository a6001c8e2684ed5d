package tollgate

import (
	"container/heap"
	"context"
	"sync"
	"time"
)

// hashGate bounds the password hashes that run at once
// (Config.Logins.ConcurrentHashes) and shares the slots fairly: when all
// are taken, a freed slot goes to the waiting login with the lowest
// priority value, which is the number of logins its client address made
// in the throttle's window (then the earliest). A flood from many
// addresses, each soon with logins counted against it, thus cannot keep a
// login from a quiet address waiting: that login is next. Waiting is
// bounded by Config.Logins.HashQueueWait, after which the login is shed
// (503).
type hashGate struct {
	mu      sync.Mutex
	free    int
	waiting waiterHeap
	seq     uint64
}

type waiter struct {
	prio  int
	seq   uint64
	ready chan struct{} // closed when the slot is handed over
	index int           // in the heap; -1 once out of it
}

func newHashGate(slots int) *hashGate { return &hashGate{free: slots} }

// acquire takes a slot for a login of priority prio, waiting at most wait
// or until ctx is done. It reports whether it got one.
func (g *hashGate) acquire(ctx context.Context, prio int, wait time.Duration) bool {
	g.mu.Lock()
	if g.free > 0 && len(g.waiting) == 0 {
		g.free--
		g.mu.Unlock()
		return true
	}
	g.seq++
	w := &waiter{prio: prio, seq: g.seq, ready: make(chan struct{})}
	heap.Push(&g.waiting, w)
	g.mu.Unlock()

	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-w.ready:
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if w.index < 0 {
		// Handed a slot as the wait ended: take it.
		return true
	}
	heap.Remove(&g.waiting, w.index)
	return false
}

// release gives a slot back, to the first waiter if there is one.
func (g *hashGate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.waiting) == 0 {
		g.free++
		return
	}
	w := heap.Pop(&g.waiting).(*waiter)
	close(w.ready)
}

// waiterHeap orders waiters by priority, then arrival.
type waiterHeap []*waiter

func (h waiterHeap) Len() int { return len(h) }
func (h waiterHeap) Less(i, j int) bool {
	if h[i].prio != h[j].prio {
		return h[i].prio < h[j].prio
	}
	return h[i].seq < h[j].seq
}
func (h waiterHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *waiterHeap) Push(x any) {
	w := x.(*waiter)
	w.index = len(*h)
	*h = append(*h, w)
}
func (h *waiterHeap) Pop() any {
	old := *h
	w := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	w.index = -1
	return w
}
