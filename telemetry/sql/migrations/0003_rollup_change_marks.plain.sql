-- Plain PostgreSQL: an UPDATE or DELETE of stored readings (an operator's
-- correction, or tampering with the evidence) marks the hours it touches in
-- rollup_dirty, as TimescaleDB's invalidation log does for the continuous
-- aggregate, so the rollups (and the provenance seals checked against them)
-- follow the readings on both layouts. The ingest only inserts, so this costs
-- the hot path nothing. Buckets are UTC hours, whatever the session time zone.
CREATE FUNCTION aw_mark_changed_hours() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO rollup_dirty (device_id, bucket)
    SELECT DISTINCT device_id, to_timestamp(floor(extract(epoch FROM ts) / 3600) * 3600)
    FROM aw_changed_old
    ON CONFLICT DO NOTHING;
    IF TG_OP = 'UPDATE' THEN
        INSERT INTO rollup_dirty (device_id, bucket)
        SELECT DISTINCT device_id, to_timestamp(floor(extract(epoch FROM ts) / 3600) * 3600)
        FROM aw_changed_new
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER readings_updated_mark_hours
    AFTER UPDATE ON readings
    REFERENCING OLD TABLE AS aw_changed_old NEW TABLE AS aw_changed_new
    FOR EACH STATEMENT EXECUTE FUNCTION aw_mark_changed_hours();

CREATE TRIGGER readings_deleted_mark_hours
    AFTER DELETE ON readings
    REFERENCING OLD TABLE AS aw_changed_old
    FOR EACH STATEMENT EXECUTE FUNCTION aw_mark_changed_hours();

-- The refresh, as in 0002, and also forgetting a stored hour whose readings
-- were all deleted (no live aggregate row replaces it).
CREATE OR REPLACE FUNCTION aw_rollup_refresh(as_of timestamptz) RETURNS integer
LANGUAGE plpgsql SET jit = off AS $$
BEGIN
    UPDATE rollup_dirty d
    SET closing = true
    FROM latest_state l
    WHERE l.device_id = d.device_id
      AND NOT d.closing
      AND (d.bucket + INTERVAL '1 hour' <= as_of OR d.bucket + INTERVAL '1 hour' <= l.ts);
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
