-- tollgate_counter_add gains p_renews: a positive delta with renew set
-- restarts its counter's window (a mark kept alive while it is used).

DROP FUNCTION tollgate_counter_add(text[], bigint[], bigint[], bigint[], bigint);

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
