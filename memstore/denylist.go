package memstore

import (
	"container/heap"
	"context"
	"errors"
	"sync"
	"time"

	"github.com/tollgate-go/tollgate"
)

// DefaultDenylistEntries is the capacity of a [Denylist] made with
// NewDenylist(0): room for every access token revoked within one
// AccessTTL at 100 000 revocations per AccessTTL, in about 10 MB.
const DefaultDenylistEntries = 100_000

// ErrDenylistFull is returned by [Denylist.Deny] when the denylist holds
// its maximum of unexpired entries. The revocation then fails visibly
// (the revocation endpoint answers 500 and logs it) instead of an older
// revocation being forgotten to make room.
var ErrDenylistFull = errors.New("memstore: denylist full")

// Denylist is an in-memory [tollgate.Denylist]. An entry is forgotten once
// the token it denies has expired anyway: expired entries are dropped
// lazily, as later ones are added, in expiry order (a heap), so each Deny
// costs O(log n) and no goroutine runs. It holds at most a fixed number of
// unexpired entries. It is safe for concurrent use; the zero value is not
// ready, use [NewDenylist].
type Denylist struct {
	max int

	mu     sync.RWMutex
	until  map[string]time.Time
	expiry expiryHeap // hash field holds the jti
}

// NewDenylist returns an empty denylist holding at most maxEntries
// unexpired entries; 0 means DefaultDenylistEntries.
func NewDenylist(maxEntries int) *Denylist {
	if maxEntries <= 0 {
		maxEntries = DefaultDenylistEntries
	}
	return &Denylist{max: maxEntries, until: map[string]time.Time{}}
}

// Deny records jti as revoked until until, dropping the entries that
// expired before now. It returns ErrDenylistFull when the denylist is at
// capacity and jti is not already in it.
func (d *Denylist) Deny(ctx context.Context, jti string, until, now time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for len(d.expiry) > 0 && d.expiry[0].at.Before(now) {
		e := heap.Pop(&d.expiry).(expiring)
		if u, ok := d.until[e.hash]; ok && !u.After(e.at) { // not extended since
			delete(d.until, e.hash)
		}
	}
	old, ok := d.until[jti]
	switch {
	case ok && !until.After(old):
		return nil
	case !ok && len(d.until) >= d.max:
		return ErrDenylistFull
	}
	d.until[jti] = until
	heap.Push(&d.expiry, expiring{at: until, hash: jti})
	return nil
}

// IsDenied reports whether jti is in the denylist.
func (d *Denylist) IsDenied(ctx context.Context, jti string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	d.mu.RLock()
	_, ok := d.until[jti]
	d.mu.RUnlock()
	return ok, nil
}

// Len returns the number of entries held, expired ones not yet dropped
// included.
func (d *Denylist) Len() int {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return len(d.until)
}

var _ tollgate.Denylist = (*Denylist)(nil)
