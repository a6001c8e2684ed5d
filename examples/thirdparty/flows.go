package main

// The logins in flight, and the local users they map to.

import (
	"container/list"
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/tollgate-go/tollgate"
	"github.com/tollgate-go/tollgate/examples/internal/demo"
	"github.com/tollgate-go/tollgate/memstore"
)

// A flow is one login in flight: what the callback must see again.
type flow struct {
	key      string // the flow cookie's value
	state    string // RFC 6749 §4.1.1, §10.12
	verifier string // RFC 7636 §4.1
	started  time.Time
}

// flowTable holds the flows, at most max, each for ttl, in the order
// they started (which, with one ttl, is the order they expire in). Full,
// it pushes out the oldest: a flood of starts costs the logins it
// outlasts a restart, but never memory past the bound.
type flowTable struct {
	mu    sync.Mutex
	max   int
	ttl   time.Duration
	now   func() time.Time
	byKey map[string]*list.Element // of *flow
	order *list.List               // oldest first
}

func newFlowTable(max int, ttl time.Duration, now func() time.Time) *flowTable {
	return &flowTable{max: max, ttl: ttl, now: now, byKey: map[string]*list.Element{}, order: list.New()}
}

// add records f, started now, after dropping the expired flows and, if
// the table is full, the oldest.
func (t *flowTable) add(f flow) {
	t.mu.Lock()
	defer t.mu.Unlock()
	f.started = t.now()
	t.purge(f.started)
	for t.order.Len() >= t.max {
		t.remove(t.order.Front())
	}
	t.byKey[f.key] = t.order.PushBack(&f)
}

// take removes the flow of key and returns it, unless there is none or
// it has expired: a flow is spent by its first callback, whatever the
// outcome.
func (t *flowTable) take(key string) (flow, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.byKey[key]
	if !ok {
		return flow{}, false
	}
	f := *e.Value.(*flow)
	t.remove(e)
	return f, t.now().Sub(f.started) < t.ttl
}

// len is the number of flows held.
func (t *flowTable) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.order.Len()
}

// purge drops the flows that have expired at now.
func (t *flowTable) purge(now time.Time) {
	for e := t.order.Front(); e != nil && now.Sub(e.Value.(*flow).started) >= t.ttl; e = t.order.Front() {
		t.remove(e)
	}
}

func (t *flowTable) remove(e *list.Element) {
	delete(t.byKey, e.Value.(*flow).key)
	t.order.Remove(e)
}

// localScopes is the scope registry (Config.Scopes).
var localScopes = map[string]string{"me": demo.Scopes["me"]}

// newUserScopes are the scopes a local user starts with.
var newUserScopes = []string{"me"}

// errTooManyUsers: the table of local users is full.
var errTooManyUsers = errors.New("the demo holds no more users")

// accounts maps upstream identities to local users, in users (the
// Authenticator's Config.Users, where the refresh grant finds them),
// creating each at its first login, at most max.
type accounts struct {
	mu    sync.Mutex
	users *memstore.Users
	max   int
	n     int
}

func newAccounts(users *memstore.Users, max int) *accounts {
	return &accounts{users: users, max: max}
}

// user returns the local user of the identity at provider, created if
// new. Its username, "provider:subject", is its key: the subject is the
// provider's immutable id of the account, so a renamed account stays
// the same user and a login name given up and taken by someone else
// does not lead to it.
func (a *accounts) user(ctx context.Context, providerName string, id identity) (*tollgate.User, error) {
	name := providerName + ":" + id.subject
	a.mu.Lock()
	defer a.mu.Unlock()
	u, err := a.users.LookupUser(ctx, name)
	switch {
	case err == nil:
		return u, nil
	case !errors.Is(err, tollgate.ErrNotFound):
		return nil, err
	case a.n >= a.max:
		return nil, errTooManyUsers
	}
	nu := tollgate.User{ID: name, Username: name, Scopes: slices.Clone(newUserScopes), Profile: id.profile}
	a.users.Put(nu)
	a.n++
	return &nu, nil
}
