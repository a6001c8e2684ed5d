// Package memstore provides in-memory implementations of
// [tollgate.UserStore], [tollgate.RefreshStore], [tollgate.ClientStore]
// and [tollgate.Denylist], for a single process:
// tests, examples, and services whose refresh tokens may be forgotten on
// restart. Both are safe for concurrent use, start no goroutines, and pass
// the storetest conformance suite.
package memstore

import (
	"bytes"
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/tollgate-go/tollgate"
)

// Users is an in-memory [tollgate.UserStore], keyed by exact username.
// It also implements [tollgate.PasswordUpdater] and [tollgate.ScopeLister]
// (so tollgate.New checks its users' scopes). The zero value is empty and
// ready to use.
type Users struct {
	mu     sync.RWMutex
	byName map[string]tollgate.User
}

// NewUsers returns a store holding copies of users.
func NewUsers(users ...tollgate.User) *Users {
	s := &Users{}
	for _, u := range users {
		s.Put(u)
	}
	return s
}

// Put adds u, or replaces the user with the same username. The store
// keeps copies of the hash, the scopes and the profile map (not of the
// profile's values).
func (s *Users) Put(u tollgate.User) {
	u = copyUser(u)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byName == nil {
		s.byName = map[string]tollgate.User{}
	}
	s.byName[u.Username] = u
}

// Delete removes the user with the given username, if any.
func (s *Users) Delete(username string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byName, username)
}

// SetDisabled disables or re-enables a user; it reports whether the user
// exists.
func (s *Users) SetDisabled(username string, disabled bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.byName[username]
	if ok {
		u.Disabled = disabled
		s.byName[username] = u
	}
	return ok
}

// LookupUser returns a copy of the user with the given username, or
// tollgate.ErrNotFound.
func (s *Users) LookupUser(ctx context.Context, username string) (*tollgate.User, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	u, ok := s.byName[username]
	s.mu.RUnlock()
	if !ok {
		return nil, tollgate.ErrNotFound
	}
	u = copyUser(u)
	return &u, nil
}

// HeldScopes returns every scope that at least one user holds, sorted.
func (s *Users) HeldScopes(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	s.mu.RLock()
	for _, u := range s.byName {
		for _, sc := range u.Scopes {
			seen[sc] = true
		}
	}
	s.mu.RUnlock()
	out := make([]string, 0, len(seen))
	for sc := range seen {
		out = append(out, sc)
	}
	slices.Sort(out)
	return out, nil
}

// copyUser returns u with its own hash, scopes and profile map.
func copyUser(u tollgate.User) tollgate.User {
	u.PasswordHash = bytes.Clone(u.PasswordHash)
	u.Scopes = slices.Clone(u.Scopes)
	u.Profile = maps.Clone(u.Profile)
	return u
}

// Clients is an in-memory [tollgate.ClientStore]. The zero value is empty
// and ready to use.
type Clients struct {
	mu   sync.RWMutex
	byID map[string]tollgate.Client
}

// NewClients returns a store of public clients with the given ids. A
// service whose own first-party client names no client_id includes
// "tollgate" (see Config.Clients).
func NewClients(ids ...string) *Clients {
	s := &Clients{}
	for _, id := range ids {
		s.Put(tollgate.Client{ID: id})
	}
	return s
}

// Put adds c, or replaces the client with the same id.
func (s *Clients) Put(c tollgate.Client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byID == nil {
		s.byID = map[string]tollgate.Client{}
	}
	s.byID[c.ID] = c
}

// Delete removes the client with the given id, if any.
func (s *Clients) Delete(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byID, id)
}

// LookupClient returns a copy of the client with the given id, or
// tollgate.ErrNotFound.
func (s *Clients) LookupClient(ctx context.Context, id string) (*tollgate.Client, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	c, ok := s.byID[id]
	s.mu.RUnlock()
	if !ok {
		return nil, tollgate.ErrNotFound
	}
	return &c, nil
}

// UpdatePasswordHash replaces the hash of the user whose ID (or, where the
// ID is empty, username) is id.
func (s *Users) UpdatePasswordHash(ctx context.Context, id string, hash []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, u := range s.byName {
		if u.ID == id || u.ID == "" && u.Username == id {
			u.PasswordHash = bytes.Clone(hash)
			s.byName[name] = u
			return nil
		}
	}
	return tollgate.ErrNotFound
}

// RefreshStore is an in-memory [tollgate.RefreshStore]. Records are
// dropped once expired, lazily, as later tokens are created: a heap orders
// them by expiry, so each Create costs O(log n) whatever the number of live
// tokens. The zero value is empty and ready to use.
type RefreshStore struct {
	mu       sync.Mutex
	tokens   map[string]*tollgate.RefreshToken
	families map[string]*family
	expiry   expiryHeap
}

// family tracks one login's tokens, and whether it was revoked. A revoked
// family is remembered until its absolute expiry, so that a rotation racing
// the revocation cannot revive it.
type family struct {
	hashes  map[string]struct{}
	revoked bool
	expires time.Time
}

// NewRefreshStore returns an empty store.
func NewRefreshStore() *RefreshStore { return &RefreshStore{} }

// Len returns the number of records held (live, spent or expired but not
// yet dropped).
func (s *RefreshStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.tokens)
}

func (s *RefreshStore) init() {
	if s.tokens == nil {
		s.tokens = map[string]*tollgate.RefreshToken{}
		s.families = map[string]*family{}
	}
}

// Create stores t. It returns tollgate.ErrNotFound if t's family was
// revoked.
func (s *RefreshStore) Create(ctx context.Context, t tollgate.RefreshToken) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.create(t)
}

// create stores t; s.mu is held.
func (s *RefreshStore) create(t tollgate.RefreshToken) error {
	t.Scopes = slices.Clone(t.Scopes)
	t.UsedAt, t.Reuses = time.Time{}, 0
	s.init()
	s.dropExpired(t.IssuedAt)
	f := s.families[t.Family]
	if f == nil {
		f = &family{hashes: map[string]struct{}{}, expires: t.FamilyExpiresAt}
		s.families[t.Family] = f
		s.expiry.push(expiring{at: t.FamilyExpiresAt, family: t.Family})
	}
	if f.revoked {
		return tollgate.ErrNotFound
	}
	if old, ok := s.tokens[t.Hash]; ok {
		delete(s.families[old.Family].hashes, t.Hash)
	}
	s.tokens[t.Hash] = &t
	f.hashes[t.Hash] = struct{}{}
	s.expiry.push(expiring{at: t.ExpiresAt, hash: t.Hash})
	return nil
}

// dropExpired removes tokens whose ExpiresAt, and families whose
// FamilyExpiresAt, are before now.
func (s *RefreshStore) dropExpired(now time.Time) {
	for len(s.expiry) > 0 && s.expiry[0].at.Before(now) {
		e := s.expiry.pop()
		if e.hash != "" {
			t, ok := s.tokens[e.hash]
			if ok && !t.ExpiresAt.After(e.at) { // not replaced by a later Create
				delete(s.tokens, e.hash)
				if f := s.families[t.Family]; f != nil {
					delete(f.hashes, e.hash)
				}
			}
			continue
		}
		if f, ok := s.families[e.family]; ok && !f.expires.After(e.at) {
			for h := range f.hashes {
				delete(s.tokens, h)
			}
			delete(s.families, e.family)
		}
	}
}

// Lookup returns a copy of the token with the given hash.
func (s *RefreshStore) Lookup(ctx context.Context, hash string) (tollgate.RefreshToken, error) {
	if err := ctx.Err(); err != nil {
		return tollgate.RefreshToken{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[hash]
	if !ok {
		return tollgate.RefreshToken{}, tollgate.ErrNotFound
	}
	return copyToken(t), nil
}

// Consume marks the token used at now and stores next, if not nil, in one
// atomic step.
func (s *RefreshStore) Consume(ctx context.Context, hash string, now time.Time, next *tollgate.RefreshToken) (tollgate.RefreshToken, error) {
	if err := ctx.Err(); err != nil {
		return tollgate.RefreshToken{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[hash]
	if !ok {
		return tollgate.RefreshToken{}, tollgate.ErrNotFound
	}
	if !t.UsedAt.IsZero() {
		t.Reuses++
		return copyToken(t), tollgate.ErrReused
	}
	if next != nil {
		if err := s.create(*next); err != nil {
			return tollgate.RefreshToken{}, err
		}
	}
	t.UsedAt = now
	return copyToken(t), nil
}

// RevokeFamily deletes every token of family and refuses new ones in it.
func (s *RefreshStore) RevokeFamily(ctx context.Context, fam string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.families[fam]
	if !ok {
		return nil
	}
	for h := range f.hashes {
		delete(s.tokens, h)
	}
	f.hashes = map[string]struct{}{}
	f.revoked = true
	return nil
}

func copyToken(t *tollgate.RefreshToken) tollgate.RefreshToken {
	c := *t
	c.Scopes = slices.Clone(t.Scopes)
	return c
}

// expiring is an entry of the expiry heap: a token (hash set) or a family.
type expiring struct {
	at     time.Time
	hash   string
	family string
}

// expiryHeap is a min-heap of expiring by at. The RefreshStore uses push
// and pop, container/heap's algorithm typed, with no interface boxing (no
// allocation per token); the Denylist uses container/heap.
type expiryHeap []expiring

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h expiryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)        { *h = append(*h, x.(expiring)) }
func (h *expiryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

func (h *expiryHeap) push(e expiring) {
	*h = append(*h, e)
	q := *h
	for j := len(q) - 1; j > 0; {
		i := (j - 1) / 2 // parent
		if i == j || !q[j].at.Before(q[i].at) {
			break
		}
		q[i], q[j] = q[j], q[i]
		j = i
	}
}

func (h *expiryHeap) pop() expiring {
	q := *h
	n := len(q) - 1
	q[0], q[n] = q[n], q[0]
	for i := 0; ; {
		j1 := 2*i + 1
		if j1 >= n || j1 < 0 {
			break
		}
		j := j1 // left child
		if j2 := j1 + 1; j2 < n && q[j2].at.Before(q[j1].at) {
			j = j2 // right child
		}
		if !q[j].at.Before(q[i].at) {
			break
		}
		q[i], q[j] = q[j], q[i]
		i = j
	}
	e := q[n]
	q[n] = expiring{} // drop the strings for the GC
	*h = q[:n]
	return e
}
