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

// Put adds a copy of c, or replaces the client with the same id.
func (s *Clients) Put(c tollgate.Client) {
	c = copyClient(c)
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
	c = copyClient(c)
	return &c, nil
}

// copyClient returns c with its own secret hash and lists.
func copyClient(c tollgate.Client) tollgate.Client {
	c.SecretHash = bytes.Clone(c.SecretHash)
	c.Grants = slices.Clone(c.Grants)
	c.Scopes = slices.Clone(c.Scopes)
	c.Audience = slices.Clone(c.Audience)
	return c
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

// expiring is an entry of the Denylist's expiry heap.
type expiring struct {
	at   time.Time
	hash string // the denied key
}

// expiryHeap is a min-heap of expiring by at, for container/heap.
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
