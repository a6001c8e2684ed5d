-- tollgate's tables, version 1. Times are Unix nanoseconds, 0 for none.

CREATE TABLE tollgate_users (
	username      text PRIMARY KEY,
	id            text NOT NULL DEFAULT '',
	password_hash bytea NOT NULL,
	scopes        text[] NOT NULL DEFAULT '{}',
	disabled      boolean NOT NULL DEFAULT false,
	valid_after   bigint NOT NULL DEFAULT 0,
	profile       jsonb
);

CREATE UNIQUE INDEX tollgate_users_id ON tollgate_users (id) WHERE id <> '';

-- One row per refresh-token family (a login), however often it rotates.
CREATE TABLE tollgate_refresh_families (
	id                text PRIMARY KEY,
	subject           text NOT NULL,
	username          text NOT NULL,
	client_id         text NOT NULL,
	scopes            text[] NOT NULL,
	created_at        bigint NOT NULL,
	family_expires_at bigint NOT NULL,
	hash              text NOT NULL,
	issued_at         bigint NOT NULL,
	expires_at        bigint NOT NULL,
	prev_hash         text NOT NULL DEFAULT '',
	prev_used_at      bigint NOT NULL DEFAULT 0,
	prev_reuses       integer NOT NULL DEFAULT 0,
	rotations         integer NOT NULL DEFAULT 0,
	keep_until        bigint NOT NULL DEFAULT 0,
	-- When the row may go: its token or its family expired, and its last
	-- access token too (keep_until). Never returned after it; Purge
	-- deletes it.
	drop_after        bigint NOT NULL
);

CREATE INDEX tollgate_refresh_families_subject ON tollgate_refresh_families (subject, created_at);
CREATE INDEX tollgate_refresh_families_drop_after ON tollgate_refresh_families (drop_after);

CREATE TABLE tollgate_denylist (
	jti   text PRIMARY KEY,
	until bigint NOT NULL
);

CREATE INDEX tollgate_denylist_until ON tollgate_denylist (until);

-- The refresh grant's one step (tollgate.RefreshStore.Rotate) in one
-- round trip: the family's row is locked, then replaced by its successor
-- (the current token, or the grace period's one reuse of the previous
-- one) or deleted (reuse). No row: not found. The outcome column says
-- which: 'rotated' with the row after, 'reused' with the row as it was.
CREATE FUNCTION tollgate_rotate(p_id text, p_presented text, p_now bigint, p_grace bigint, p_has_next boolean,
	n_username text, n_client_id text, n_scopes text[], n_family_expires_at bigint,
	n_hash text, n_issued_at bigint, n_expires_at bigint, n_keep_until bigint)
RETURNS TABLE (outcome text, id text, subject text, username text, client_id text, scopes text[],
	created_at bigint, family_expires_at bigint, hash text, issued_at bigint, expires_at bigint,
	prev_hash text, prev_used_at bigint, prev_reuses integer, rotations integer, keep_until bigint)
LANGUAGE plpgsql AS $$
DECLARE
	cur tollgate_refresh_families%ROWTYPE;
	grace_reuse boolean;
BEGIN
	SELECT * INTO cur FROM tollgate_refresh_families f WHERE f.id = p_id AND f.drop_after > p_now FOR UPDATE;
	IF NOT FOUND THEN
		RETURN;
	END IF;
	grace_reuse := p_has_next AND p_presented <> cur.hash AND p_presented = cur.prev_hash AND cur.prev_hash <> ''
		AND cur.prev_reuses = 0 AND p_grace > 0 AND p_now - cur.prev_used_at <= p_grace;
	IF p_has_next AND (p_presented = cur.hash OR grace_reuse) THEN
		RETURN QUERY
		UPDATE tollgate_refresh_families f SET
			username = n_username, client_id = n_client_id, scopes = n_scopes, family_expires_at = n_family_expires_at,
			hash = n_hash, issued_at = n_issued_at, expires_at = n_expires_at,
			prev_hash = CASE WHEN grace_reuse THEN cur.prev_hash ELSE p_presented END,
			prev_used_at = CASE WHEN grace_reuse THEN cur.prev_used_at ELSE p_now END,
			prev_reuses = CASE WHEN grace_reuse THEN 1 ELSE 0 END,
			rotations = cur.rotations + 1,
			keep_until = GREATEST(cur.keep_until, n_keep_until),
			drop_after = GREATEST(LEAST(n_expires_at, n_family_expires_at), GREATEST(cur.keep_until, n_keep_until))
		WHERE f.id = p_id
		RETURNING 'rotated', f.id, f.subject, f.username, f.client_id, f.scopes, f.created_at, f.family_expires_at,
			f.hash, f.issued_at, f.expires_at, f.prev_hash, f.prev_used_at, f.prev_reuses, f.rotations, f.keep_until;
		RETURN;
	END IF;
	-- Reuse (RFC 9700 §4.14.2): the family is revoked in the same step.
	DELETE FROM tollgate_refresh_families f WHERE f.id = p_id;
	RETURN QUERY SELECT 'reused', cur.id, cur.subject, cur.username, cur.client_id, cur.scopes, cur.created_at,
		cur.family_expires_at, cur.hash, cur.issued_at, cur.expires_at, cur.prev_hash, cur.prev_used_at,
		cur.prev_reuses, cur.rotations, cur.keep_until;
END;
$$;
