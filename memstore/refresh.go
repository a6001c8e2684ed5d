package memstore

import (
	"container/heap"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/tollgate-go/tollgate"
)

// RefreshStore is an in-memory [tollgate.RefreshStore]: one record per
// family (login), however often it rotates, and an index by subject for
// RevokeSubject. A family is dropped once its current token or its
// absolute lifetime has expired and its KeepUntil has passed, lazily, as later families are created or
// rotated: a heap orders the families by that time (each family has one
// place in it, moved on rotation), so each call costs O(log n) whatever
// the number of live families, and no goroutine runs. The zero value is
// empty and ready to use.
type RefreshStore struct {
	mu        sync.Mutex
	families  map[string]*record
	bySubject map[string]map[string]*record
	expiry    recordHeap
}

// record is a family with its place in the expiry heap, ordered by at: a
// time at or before which the family cannot end (its ends when it was
// last placed). A rotation only moves ends later, so it leaves the heap
// alone; dropExpired places a record again when it finds it later than
// its place said.
type record struct {
	f     tollgate.RefreshFamily
	at    time.Time
	index int
}

// ends is when r may be dropped (tollgate.RefreshFamily.DropAfter).
func (r *record) ends() time.Time { return r.f.DropAfter() }

// NewRefreshStore returns an empty store.
func NewRefreshStore() *RefreshStore { return &RefreshStore{} }

// Len returns the number of families held (expired ones not yet dropped
// included).
func (s *RefreshStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.families)
}

func (s *RefreshStore) init() {
	if s.families == nil {
		s.families = map[string]*record{}
		s.bySubject = map[string]map[string]*record{}
	}
}

// dropExpired removes the families that ended before now.
func (s *RefreshStore) dropExpired(now time.Time) {
	for len(s.expiry) > 0 && s.expiry[0].at.Before(now) {
		r := s.expiry[0]
		if end := r.ends(); !end.Equal(r.at) {
			// Rotated since it was placed: place it again (once per
			// rotation that outlived its place, not per rotation).
			r.at = end
			heap.Fix(&s.expiry, 0)
			continue
		}
		s.remove(r)
	}
}

// remove deletes r from every index.
func (s *RefreshStore) remove(r *record) {
	heap.Remove(&s.expiry, r.index)
	delete(s.families, r.f.ID)
	if m := s.bySubject[r.f.Subject]; m != nil {
		delete(m, r.f.ID)
		if len(m) == 0 {
			delete(s.bySubject, r.f.Subject)
		}
	}
}

// Create stores f and, past keep families of its subject, revokes the
// oldest of them.
func (s *RefreshStore) Create(ctx context.Context, f tollgate.RefreshFamily, keep int) ([]tollgate.RefreshFamily, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.init()
	s.dropExpired(f.CreatedAt)
	f.Scopes = slices.Clone(f.Scopes)
	f.PrevHash, f.PrevUsedAt, f.PrevReuses, f.Rotations = "", time.Time{}, 0, 0
	if old, ok := s.families[f.ID]; ok {
		s.remove(old)
	}
	r := &record{f: f}
	r.at = r.ends()
	s.families[f.ID] = r
	heap.Push(&s.expiry, r)
	m := s.bySubject[f.Subject]
	if m == nil {
		m = map[string]*record{}
		s.bySubject[f.Subject] = m
	}
	m[f.ID] = r
	var revoked []tollgate.RefreshFamily
	for keep > 0 && len(m) > keep {
		var oldest *record
		for _, o := range m {
			if oldest == nil || o.f.CreatedAt.Before(oldest.f.CreatedAt) {
				oldest = o
			}
		}
		revoked = append(revoked, copyFamily(oldest.f))
		s.remove(oldest)
	}
	return revoked, nil
}

// Lookup returns a copy of the family with the given id, or
// tollgate.ErrNotFound.
func (s *RefreshStore) Lookup(ctx context.Context, id string) (tollgate.RefreshFamily, error) {
	if err := ctx.Err(); err != nil {
		return tollgate.RefreshFamily{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.families[id]
	if !ok {
		return tollgate.RefreshFamily{}, tollgate.ErrNotFound
	}
	return copyFamily(r.f), nil
}

// Rotate spends the presented token of the family id and stores next, or
// honours the grace period's one reuse, or revokes the family: one step,
// under the store's lock (see [tollgate.RefreshStore]).
func (s *RefreshStore) Rotate(ctx context.Context, id, presented string, next *tollgate.RefreshFamily, now time.Time, grace time.Duration) (tollgate.RefreshFamily, error) {
	if err := ctx.Err(); err != nil {
		return tollgate.RefreshFamily{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.init()
	s.dropExpired(now)
	r, ok := s.families[id]
	if !ok {
		return tollgate.RefreshFamily{}, tollgate.ErrNotFound
	}
	cur := r.f
	switch {
	case next != nil && presented == cur.Hash:
		n := successor(cur, *next)
		n.ID, n.Subject, n.CreatedAt = cur.ID, cur.Subject, cur.CreatedAt
		n.PrevHash, n.PrevUsedAt, n.PrevReuses, n.Rotations = presented, now, 0, cur.Rotations+1
		n.KeepUntil = later(cur.KeepUntil, n.KeepUntil)
		r.f = n
	case next != nil && presented == cur.PrevHash && cur.PrevHash != "" && cur.PrevReuses == 0 && grace > 0 && now.Sub(cur.PrevUsedAt) <= grace:
		n := successor(cur, *next)
		n.ID, n.Subject, n.CreatedAt = cur.ID, cur.Subject, cur.CreatedAt
		n.PrevHash, n.PrevUsedAt, n.PrevReuses, n.Rotations = cur.PrevHash, cur.PrevUsedAt, 1, cur.Rotations+1
		n.KeepUntil = later(cur.KeepUntil, n.KeepUntil)
		r.f = n
	default:
		s.remove(r)
		return copyFamily(cur), tollgate.ErrReused
	}
	return copyFamily(r.f), nil
}

// Revoke removes the family with the given id and returns it.
func (s *RefreshStore) Revoke(ctx context.Context, id string) (tollgate.RefreshFamily, error) {
	if err := ctx.Err(); err != nil {
		return tollgate.RefreshFamily{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.families[id]
	if !ok {
		return tollgate.RefreshFamily{}, tollgate.ErrNotFound
	}
	s.remove(r)
	return copyFamily(r.f), nil
}

// RevokeSubject removes every family of subject and returns them.
func (s *RefreshStore) RevokeSubject(ctx context.Context, subject string) ([]tollgate.RefreshFamily, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []tollgate.RefreshFamily
	for _, r := range s.bySubject[subject] {
		out = append(out, copyFamily(r.f))
		s.remove(r)
	}
	return out, nil
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// successor is the record to store for next, cur's successor: its scopes
// are cur's own (never written in place, so they can be shared) when they
// are the same, as a refresh keeps them, else a copy.
func successor(cur, next tollgate.RefreshFamily) tollgate.RefreshFamily {
	if slices.Equal(next.Scopes, cur.Scopes) {
		next.Scopes = cur.Scopes
		return next
	}
	return copyFamily(next)
}

func copyFamily(f tollgate.RefreshFamily) tollgate.RefreshFamily {
	f.Scopes = slices.Clone(f.Scopes)
	return f
}

// recordHeap orders records by when they may be dropped.
type recordHeap []*record

func (h recordHeap) Len() int           { return len(h) }
func (h recordHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h recordHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *recordHeap) Push(x any) {
	r := x.(*record)
	r.index = len(*h)
	*h = append(*h, r)
}
func (h *recordHeap) Pop() any {
	old := *h
	r := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return r
}

var _ tollgate.RefreshStore = (*RefreshStore)(nil)
