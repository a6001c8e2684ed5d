package sqlitestore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/tollgate-go/tollgate"
)

// Clients is a [tollgate.ClientStore] in the database (Config.Clients),
// with the calls to manage clients from Go. Client ids are case-sensitive.
type Clients struct {
	db *DB
}

var _ tollgate.ClientStore = (*Clients)(nil)

// LookupClient returns the client with the given id, or an error
// wrapping tollgate.ErrNotFound.
func (s *Clients) LookupClient(ctx context.Context, id string) (*tollgate.Client, error) {
	c := tollgate.Client{ID: id}
	var grants, scopes, audience string
	err := s.db.read.QueryRowContext(ctx, "SELECT secret_hash, grants, scopes, audience FROM clients WHERE id = ?", id).
		Scan(&c.SecretHash, &grants, &scopes, &audience)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, fmt.Errorf("sqlitestore: client %q: %w", id, tollgate.ErrNotFound)
	case err != nil:
		return nil, fmt.Errorf("sqlitestore: lookup client: %w", err)
	}
	for _, l := range []struct {
		name string
		json string
		to   *[]string
	}{{"grants", grants, &c.Grants}, {"scopes", scopes, &c.Scopes}, {"audience", audience, &c.Audience}} {
		if err := json.Unmarshal([]byte(l.json), l.to); err != nil {
			return nil, fmt.Errorf("sqlitestore: client %q: %s: %w", id, l.name, err)
		}
	}
	return &c, nil
}

// Put adds c, or replaces the client with c's id. It refuses an id that
// is no valid client_id: 1 to 255 bytes of printable ASCII.
func (s *Clients) Put(ctx context.Context, c tollgate.Client) error {
	if !validClientID(c.ID) {
		return fmt.Errorf("sqlitestore: put client %q: a client_id is 1 to 255 bytes of printable ASCII", c.ID)
	}
	args := []any{c.ID, nil} // a NULL secret_hash: public
	if len(c.SecretHash) > 0 {
		args[1] = bytes.Clone(c.SecretHash)
	}
	for _, l := range [][]string{c.Grants, c.Scopes, c.Audience} {
		if l == nil {
			l = []string{}
		}
		j, err := json.Marshal(l)
		if err != nil {
			return fmt.Errorf("sqlitestore: put client %q: %w", c.ID, err)
		}
		args = append(args, string(j))
	}
	if _, err := s.db.write.ExecContext(ctx,
		"INSERT OR REPLACE INTO clients (id, secret_hash, grants, scopes, audience) VALUES (?, ?, ?, ?, ?)", args...); err != nil {
		return fmt.Errorf("sqlitestore: put client: %w", err)
	}
	return nil
}

// Delete removes the client with the given id, or returns an error
// wrapping tollgate.ErrNotFound if there is none.
func (s *Clients) Delete(ctx context.Context, id string) error {
	res, err := s.db.write.ExecContext(ctx, "DELETE FROM clients WHERE id = ?", id)
	return oneRow(res, err, "delete client", "client", id)
}

// validClientID reports whether id is a client_id tollgate accepts: 1 to
// 255 bytes of printable ASCII (RFC 6749 Appendix A.1, Client.ID).
func validClientID(id string) bool {
	return id != "" && len(id) <= 255 && !strings.ContainsFunc(id, func(r rune) bool { return r < 0x20 || r > 0x7e })
}
