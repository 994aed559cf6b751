-- Plain PostgreSQL: a refresh must not fold an hour while a batch that relies
-- on the hour's mark is still open. A writer marks a (device, hour) that is
-- already dirty with ON CONFLICT DO NOTHING, which neither writes nor locks;
-- a refresh that then folded the hour and forgot the mark before the batch
-- committed would miss the batch's readings (it cannot see them yet), and
-- once the batch committed no mark would be left to recompute them. Found by
-- tests/integration/test_telemetry_refresh_race.py.
--
-- The guard is a transaction-level advisory lock (key 7_311_862_001):
--   * every batch (and every UPDATE/DELETE of readings) takes it SHARED just
--     before it marks, and keeps it to its commit; writers never wait on
--     each other for it;
--   * a refresh takes it EXCLUSIVE only to flag the marks it will fold
--     (closing = true), a short UPDATE in a transaction of its own, so it
--     sees the readings of every batch that marked before it (the writer's
--     periodic refresh polls for a free moment with pg_try_advisory_xact_lock
--     first, so batches never queue behind it);
--   * the fold (materialize the flagged marks, then forget them) runs in a
--     second transaction without the guard. A batch that touches a flagged
--     mark in between renews it (closing = false, which also locks it), so
--     the fold leaves it dirty and the next refresh folds it again.
-- One refresh at a time: the Python side holds the session-level advisory
-- lock 7_311_862_002 across both transactions (telemetry/rollups.py).

-- Marks being folded are few and short-lived: renewing them costs a batch a
-- probe of this (normally empty) index instead of a scan of every mark.
CREATE INDEX rollup_dirty_closing ON rollup_dirty (device_id, bucket) WHERE closing;

CREATE FUNCTION aw_rollup_writer_guard() RETURNS void
LANGUAGE sql AS $$ SELECT pg_advisory_xact_lock_shared(7311862001) $$;

-- Step 1 of a refresh (own transaction): flag every dirty bucket that is
-- closed, by the clock (its hour ended before as_of) or by the device's own
-- newest event time. Returns how many marks it flagged.
CREATE FUNCTION aw_rollup_flag_closing(as_of timestamptz) RETURNS integer
LANGUAGE plpgsql SET jit = off AS $$
DECLARE
    n integer;
BEGIN
    PERFORM pg_advisory_xact_lock(7311862001);
    UPDATE rollup_dirty d
    SET closing = true
    FROM latest_state l
    WHERE l.device_id = d.device_id
      AND NOT d.closing
      AND (d.bucket + INTERVAL '1 hour' <= as_of OR d.bucket + INTERVAL '1 hour' <= l.ts);
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;

-- Step 2 (own transaction): fold the flagged buckets into readings_hourly_mat,
-- forget a stored hour whose readings were all deleted, and forget the flagged
-- marks that no batch renewed meanwhile.
CREATE FUNCTION aw_rollup_fold_closing() RETURNS integer
LANGUAGE plpgsql SET jit = off AS $$
BEGIN
    DELETE FROM readings_hourly_mat m
    USING rollup_dirty d
    WHERE d.closing AND m.device_id = d.device_id AND m.bucket = d.bucket
      AND NOT EXISTS (
          SELECT 1 FROM readings r
          WHERE r.device_id = d.device_id
            AND r.ts >= d.bucket AND r.ts < d.bucket + INTERVAL '1 hour');
    RETURN aw_rollup_materialize_closing();
END
$$;

-- Both steps in one transaction, for a manual refresh from psql: correct, but
-- it holds the guard exclusively for the whole fold, so writers wait for it.
CREATE OR REPLACE FUNCTION aw_rollup_refresh(as_of timestamptz) RETURNS integer
LANGUAGE plpgsql SET jit = off AS $$
BEGIN
    PERFORM aw_rollup_flag_closing(as_of);
    RETURN aw_rollup_fold_closing();
END
$$;

-- UPDATE/DELETE of readings (migration 0003) mark under the same guard, and
-- renew flagged marks before marking, as a batch does.
CREATE FUNCTION aw_mark_hours(devices text[], buckets timestamptz[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE rollup_dirty d SET closing = false
    FROM unnest(devices, buckets) AS c (device_id, bucket)
    WHERE d.closing AND d.device_id = c.device_id AND d.bucket = c.bucket;
    INSERT INTO rollup_dirty (device_id, bucket)
    SELECT DISTINCT c.device_id, c.bucket FROM unnest(devices, buckets) AS c (device_id, bucket)
    ON CONFLICT DO NOTHING;
END
$$;

CREATE OR REPLACE FUNCTION aw_mark_changed_hours() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    devices text[];
    buckets timestamptz[];
BEGIN
    PERFORM aw_rollup_writer_guard();
    SELECT array_agg(device_id), array_agg(bucket) INTO devices, buckets
    FROM (SELECT DISTINCT device_id,
                 to_timestamp(floor(extract(epoch FROM ts) / 3600) * 3600) AS bucket
          FROM aw_changed_old) h;
    PERFORM aw_mark_hours(devices, buckets);
    IF TG_OP = 'UPDATE' THEN
        SELECT array_agg(device_id), array_agg(bucket) INTO devices, buckets
        FROM (SELECT DISTINCT device_id,
                     to_timestamp(floor(extract(epoch FROM ts) / 3600) * 3600) AS bucket
              FROM aw_changed_new) h;
        PERFORM aw_mark_hours(devices, buckets);
    END IF;
    RETURN NULL;
END
$$;
