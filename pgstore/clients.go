package pgstore

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/tollgate-go/tollgate"
)

// Clients is a [tollgate.ClientStore] in PostgreSQL (Config.Clients),
// with the calls to manage clients from Go. Client ids are case-sensitive.
type Clients struct {
	db *DB
}

var _ tollgate.ClientStore = (*Clients)(nil)

// LookupClient returns the client with the given id, or an error
// wrapping tollgate.ErrNotFound.
func (s *Clients) LookupClient(ctx context.Context, id string) (*tollgate.Client, error) {
	c := tollgate.Client{ID: id}
	err := s.db.pool.QueryRow(ctx, "SELECT secret_hash, grants, scopes, audience FROM tollgate_clients WHERE id = $1", id).
		Scan(&c.SecretHash, &c.Grants, &c.Scopes, &c.Audience)
	switch {
	case isNoRows(err):
		return nil, fmt.Errorf("pgstore: client %q: %w", id, tollgate.ErrNotFound)
	case err != nil:
		return nil, fmt.Errorf("pgstore: lookup client: %w", err)
	}
	return &c, nil
}

// Put adds c, or replaces the client with c's id. It refuses an id that
// is no valid client_id: 1 to 255 bytes of printable ASCII.
func (s *Clients) Put(ctx context.Context, c tollgate.Client) error {
	if !validClientID(c.ID) {
		return fmt.Errorf("pgstore: put client %q: a client_id is 1 to 255 bytes of printable ASCII", c.ID)
	}
	var hash []byte // NULL: public
	if len(c.SecretHash) > 0 {
		hash = bytes.Clone(c.SecretHash)
	}
	_, err := s.db.pool.Exec(ctx, "INSERT INTO tollgate_clients (id, secret_hash, grants, scopes, audience) VALUES ($1, $2, $3, $4, $5) "+
		"ON CONFLICT (id) DO UPDATE SET secret_hash = excluded.secret_hash, grants = excluded.grants, "+
		"scopes = excluded.scopes, audience = excluded.audience",
		c.ID, hash, orEmpty(c.Grants), orEmpty(c.Scopes), orEmpty(c.Audience))
	if err != nil {
		return fmt.Errorf("pgstore: put client: %w", err)
	}
	return nil
}

// Delete removes the client with the given id, or returns an error
// wrapping tollgate.ErrNotFound if there is none.
func (s *Clients) Delete(ctx context.Context, id string) error {
	tag, err := s.db.pool.Exec(ctx, "DELETE FROM tollgate_clients WHERE id = $1", id)
	return oneRow(tag, err, "delete client", "client", id)
}

// orEmpty is l, or an empty list for nil (a NOT NULL text[]).
func orEmpty(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// validClientID reports whether id is a client_id tollgate accepts: 1 to
// 255 bytes of printable ASCII (RFC 6749 Appendix A.1, Client.ID).
func validClientID(id string) bool {
	return id != "" && len(id) <= 255 && !strings.ContainsFunc(id, func(r rune) bool { return r < 0x20 || r > 0x7e })
}
