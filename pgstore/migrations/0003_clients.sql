-- OAuth 2.0 clients (tollgate.Client), version 3.

CREATE TABLE tollgate_clients (
	id          text PRIMARY KEY, -- the client_id, case-sensitive
	secret_hash bytea,            -- NULL for a public client
	grants      text[] NOT NULL DEFAULT '{}',
	scopes      text[] NOT NULL DEFAULT '{}',
	audience    text[] NOT NULL DEFAULT '{}'
);
