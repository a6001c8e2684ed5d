-- OAuth 2.0 clients (tollgate.Client), version 2.

CREATE TABLE clients (
	id          TEXT PRIMARY KEY,           -- the client_id, case-sensitive
	secret_hash BLOB,                       -- NULL for a public client
	grants      TEXT NOT NULL DEFAULT '[]', -- JSON arrays, in order
	scopes      TEXT NOT NULL DEFAULT '[]',
	audience    TEXT NOT NULL DEFAULT '[]'
) STRICT;
