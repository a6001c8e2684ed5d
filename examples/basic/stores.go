package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/tollgate-go/tollgate"
	"github.com/tollgate-go/tollgate/memstore"
	"github.com/tollgate-go/tollgate/pgstore"
	"github.com/tollgate-go/tollgate/redisstore"
	"github.com/tollgate-go/tollgate/sqlitestore"
)

// stores is where the example keeps its state, as -store names it.
type stores struct {
	users    tollgate.UserStore
	refresh  tollgate.RefreshStore
	denylist tollgate.Denylist     // nil in memory, as before -store
	counters tollgate.CounterStore // the login throttle's, shared by replicas (redis); nil: per process
	clients  tollgate.ClientStore
	// addClient stores a demo client unless one of its id exists.
	addClient func(ctx context.Context, c tollgate.Client) error
	// add stores a demo user unless one of its name exists.
	add func(ctx context.Context, u tollgate.User) error
	// ready reports whether the stores answer (GET /readyz).
	ready func(ctx context.Context) error
	close func()
	// durable says what a restart keeps, for the log.
	durable string
}

// storeUsage is -store's help.
const storeUsage = "where state lives: `memory`, sqlite:PATH (one file: users, sessions, revocations),\n" +
	"postgres://... (all state, shared by replicas) or redis://... (sessions, revocations and the\n" +
	"login throttle, shared by replicas; users in memory)"

// openStores opens the stores -store names.
func openStores(ctx context.Context, spec string) (*stores, error) {
	switch {
	case spec == "" || spec == "memory":
		users, clients := memstore.NewUsers(), memstore.NewClients()
		return &stores{
			users: users, refresh: memstore.NewRefreshStore(), clients: clients, addClient: memClients(clients),
			add: func(_ context.Context, u tollgate.User) error {
				users.Put(u)
				return nil
			},
			ready:   func(context.Context) error { return nil },
			close:   func() {},
			durable: "nothing (in memory)",
		}, nil
	case strings.HasPrefix(spec, "sqlite:"):
		path := strings.TrimPrefix(spec, "sqlite:")
		db, err := sqlitestore.Open(ctx, path)
		if err != nil {
			return nil, err
		}
		return &stores{
			users: db.Users(), refresh: db.Refresh(), denylist: db.Denylist(),
			clients: db.Clients(), addClient: addClient(db.Clients(), db.Clients().Put),
			add: func(ctx context.Context, u tollgate.User) error {
				_, err := db.Users().Add(ctx, u)
				return err
			},
			ready:   db.Ping,
			close:   func() { _ = db.Close() },
			durable: "users, sessions and revocations in " + path,
		}, nil
	case strings.HasPrefix(spec, "postgres://") || strings.HasPrefix(spec, "postgresql://"):
		db, err := pgstore.Open(ctx, spec)
		if err != nil {
			return nil, err
		}
		return &stores{
			users: db.Users(), refresh: db.Refresh(), denylist: db.Denylist(), counters: db.Counters(),
			clients: db.Clients(), addClient: addClient(db.Clients(), db.Clients().Put),
			add: func(ctx context.Context, u tollgate.User) error {
				_, err := db.Users().Add(ctx, u)
				return err
			},
			ready:   db.Ping,
			close:   db.Close,
			durable: "users, sessions, revocations and the login throttle's counts in PostgreSQL",
		}, nil
	case strings.HasPrefix(spec, "redis://") || strings.HasPrefix(spec, "rediss://"):
		rs, err := redisstore.Open(ctx, spec, "tollgate:")
		if err != nil {
			return nil, err
		}
		users, clients := memstore.NewUsers(), memstore.NewClients()
		return &stores{
			users: users, refresh: rs.Refresh(), denylist: rs.Denylist(), counters: rs.Counters(),
			clients: clients, addClient: memClients(clients),
			add: func(_ context.Context, u tollgate.User) error {
				users.Put(u)
				return nil
			},
			ready:   rs.Ping,
			close:   func() { _ = rs.Close() },
			durable: "sessions, revocations and the login throttle's counts in Redis (with its append-only file on); users in memory",
		}, nil
	}
	return nil, fmt.Errorf("-store %q: use memory, sqlite:PATH, a postgres:// URL or a redis:// URL", spec)
}

// memClients adds clients to an in-memory store.
func memClients(s *memstore.Clients) func(context.Context, tollgate.Client) error {
	return func(_ context.Context, c tollgate.Client) error {
		s.Put(c)
		return nil
	}
}

// addClient adds a client with put unless the store has one of its id,
// so that a restart on a persistent store keeps it as it is.
func addClient(s tollgate.ClientStore, put func(context.Context, tollgate.Client) error) func(context.Context, tollgate.Client) error {
	return func(ctx context.Context, c tollgate.Client) error {
		_, err := s.LookupClient(ctx, c.ID)
		switch {
		case err == nil:
			return nil
		case !errors.Is(err, tollgate.ErrNotFound):
			return err
		}
		return put(ctx, c)
	}
}

// knownUser reports whether the store holds a user named name, so that
// a restart on a persistent store neither rehashes nor resets it.
func knownUser(ctx context.Context, users tollgate.UserStore, name string) (bool, error) {
	_, err := users.LookupUser(ctx, name)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, tollgate.ErrNotFound):
		return false, nil
	}
	return false, err
}
