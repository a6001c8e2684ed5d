-- tollgate's tables, version 1. Times are Unix nanoseconds, 0 for none.

CREATE TABLE users (
	username      TEXT PRIMARY KEY,
	id            TEXT NOT NULL DEFAULT '',
	password_hash BLOB NOT NULL,
	scopes        TEXT NOT NULL DEFAULT '[]', -- a JSON array, in order
	disabled      INTEGER NOT NULL DEFAULT 0,
	valid_after   INTEGER NOT NULL DEFAULT 0,
	profile       TEXT                        -- a JSON object, or NULL
) STRICT;

-- The "sub" of a user: its id, or its username where the id is empty.
CREATE UNIQUE INDEX users_id ON users (id) WHERE id != '';

-- One row per refresh-token family (a login), however often it rotates.
CREATE TABLE refresh_families (
	id                TEXT PRIMARY KEY,
	subject           TEXT NOT NULL,
	username          TEXT NOT NULL,
	client_id         TEXT NOT NULL,
	scopes            TEXT NOT NULL,
	created_at        INTEGER NOT NULL,
	family_expires_at INTEGER NOT NULL,
	hash              TEXT NOT NULL,
	issued_at         INTEGER NOT NULL,
	expires_at        INTEGER NOT NULL,
	prev_hash         TEXT NOT NULL DEFAULT '',
	prev_used_at      INTEGER NOT NULL DEFAULT 0,
	prev_reuses       INTEGER NOT NULL DEFAULT 0,
	rotations         INTEGER NOT NULL DEFAULT 0,
	keep_until        INTEGER NOT NULL DEFAULT 0,
	-- When the row may go: its token or its family expired, and its last
	-- access token too (keep_until). Never returned after it; Purge
	-- deletes it.
	drop_after        INTEGER NOT NULL
) STRICT;

CREATE INDEX refresh_families_subject ON refresh_families (subject, created_at);
CREATE INDEX refresh_families_drop_after ON refresh_families (drop_after);

CREATE TABLE denylist (
	jti   TEXT PRIMARY KEY,
	until INTEGER NOT NULL
) STRICT;

CREATE INDEX denylist_until ON denylist (until);
