-- The login throttle's counters, shared by replicas (Config.Logins.Shared).

CREATE TABLE tollgate_counters (
	key        text PRIMARY KEY,
	n          bigint NOT NULL,
	expires_at bigint NOT NULL -- Unix nanoseconds
);

CREATE INDEX tollgate_counters_expires_at ON tollgate_counters (expires_at);

-- tollgate.CounterStore.Add in one round trip: the keys are locked (in
-- order, so two calls never deadlock), every limit is checked, then every
-- delta added. over is the index of the first op over its limit (retry:
-- nanoseconds until its counter expires), or -1 with the counts after. A
-- positive delta with renew set restarts its counter's window.
CREATE FUNCTION tollgate_counter_add(p_keys text[], p_deltas bigint[], p_limits bigint[], p_windows bigint[], p_renews boolean[], p_now bigint)
RETURNS TABLE (over integer, retry bigint, counts bigint[])
LANGUAGE plpgsql AS $$
DECLARE
	i integer;
	cur bigint;
	exp bigint;
	out_counts bigint[] := '{}';
BEGIN
	PERFORM pg_advisory_xact_lock(hashtextextended(k, 0)) FROM (SELECT DISTINCT unnest(p_keys) AS k ORDER BY 1) ks;
	FOR i IN 1 .. coalesce(array_length(p_keys, 1), 0) LOOP
		IF p_limits[i] > 0 THEN
			SELECT c.n, c.expires_at INTO cur, exp FROM tollgate_counters c WHERE c.key = p_keys[i] AND c.expires_at > p_now;
			IF FOUND AND cur >= p_limits[i] THEN
				RETURN QUERY SELECT i - 1, exp - p_now, NULL::bigint[];
				RETURN;
			END IF;
		END IF;
	END LOOP;
	FOR i IN 1 .. coalesce(array_length(p_keys, 1), 0) LOOP
		SELECT c.n INTO cur FROM tollgate_counters c WHERE c.key = p_keys[i] AND c.expires_at > p_now;
		IF NOT FOUND THEN
			cur := 0;
			DELETE FROM tollgate_counters c WHERE c.key = p_keys[i]; -- expired
			IF p_deltas[i] > 0 THEN
				INSERT INTO tollgate_counters (key, n, expires_at) VALUES (p_keys[i], p_deltas[i], p_now + p_windows[i]);
				cur := p_deltas[i];
			END IF;
		ELSIF p_deltas[i] <> 0 THEN
			cur := cur + p_deltas[i];
			IF cur <= 0 THEN
				DELETE FROM tollgate_counters c WHERE c.key = p_keys[i];
				cur := 0;
			ELSIF p_deltas[i] > 0 AND p_renews[i] THEN
				UPDATE tollgate_counters c SET n = cur, expires_at = p_now + p_windows[i] WHERE c.key = p_keys[i];
			ELSE
				UPDATE tollgate_counters c SET n = cur WHERE c.key = p_keys[i];
			END IF;
		END IF;
		out_counts := out_counts || cur;
	END LOOP;
	RETURN QUERY SELECT -1, 0::bigint, out_counts;
END;
$$;
