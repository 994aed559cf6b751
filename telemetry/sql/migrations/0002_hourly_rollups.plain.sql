-- Hourly rollups per device. The aggregate list is identical in
-- 0002_hourly_rollups.plain.sql and .timescale.sql (a test checks it); the
-- definitions are in docs/telemetry.md ("Hourly rollups"). Moving means
-- speed_kmh >= 3; operating means engine_on, else ignition, else power_kw > 0.
-- distance_m and the *_first/*_last counters cover the bucket's own readings;
-- telemetry.queries adds the segment from the previous bucket, which a
-- continuous aggregate cannot see.
--
-- Plain PostgreSQL: readings_hourly_mat holds materialized buckets. The writer
-- marks each (device, hour) a batch touches in rollup_dirty, in the batch's
-- transaction; aw_rollup_refresh() (run by the writer every
-- ASSETWATCH_ROLLUP_REFRESH_S, or by telemetry.store.materialize_rollups)
-- folds the closed dirty buckets into the table, like a continuous-aggregate
-- refresh policy. The view readings_hourly computes still-dirty buckets live,
-- so a query always sees every stored reading, late ones included.
CREATE TABLE rollup_dirty (
    device_id text COLLATE "C" NOT NULL,
    bucket    timestamptz NOT NULL,
    closing   boolean     NOT NULL DEFAULT false,
    PRIMARY KEY (device_id, bucket)
);

CREATE TABLE readings_hourly_mat (
    device_id text COLLATE "C" NOT NULL,
    bucket    timestamptz NOT NULL,
    readings bigint, moving_minutes float8, operating_minutes float8, distance_m float8,
    max_speed_kmh float8, first_ts timestamptz, last_ts timestamptz,
    first_lat float8, first_lon float8, last_lat float8, last_lon float8,
    engine_hours_first float8, engine_hours_last float8,
    avg_activity float8, avg_power_kw float8,
    energy_kwh_first float8, energy_kwh_last float8,
    fuel_used_l_first float8, fuel_used_l_last float8,
    idle_hours_first float8, idle_hours_last float8,
    avg_load_pct float8, avg_body_temp_c float8, avg_silo_level_pct float8,
    min_battery_v float8,
    PRIMARY KEY (device_id, bucket)
);

-- The dirty buckets computed from readings: one aggregate over a join, so the
-- custom aggregates are set up once per statement, not once per bucket.
CREATE VIEW readings_hourly_live AS
SELECT
    d.device_id,
    d.bucket,
    d.closing,
    count(*)::bigint                                              AS readings,
    aw_minutes_of(array_agg(ARRAY[extract(epoch FROM ts)::float8,
                                  (coalesce(speed_kmh >= 3.0, false))::int::float8,
                                  (coalesce(engine_on, ignition, (metrics->>'power_kw')::float8 > 0, false))::int::float8,
                                  lat, lon]
                            ORDER BY ts, coalesce(speed_kmh >= 3.0, false),
                                     coalesce(engine_on, ignition, (metrics->>'power_kw')::float8 > 0, false),
                                     lat, lon), 2)                  AS moving_minutes,
    aw_minutes_of(array_agg(ARRAY[extract(epoch FROM ts)::float8,
                                  (coalesce(speed_kmh >= 3.0, false))::int::float8,
                                  (coalesce(engine_on, ignition, (metrics->>'power_kw')::float8 > 0, false))::int::float8,
                                  lat, lon]
                            ORDER BY ts, coalesce(speed_kmh >= 3.0, false),
                                     coalesce(engine_on, ignition, (metrics->>'power_kw')::float8 > 0, false),
                                     lat, lon), 3)                  AS operating_minutes,
    aw_path_of(array_agg(ARRAY[extract(epoch FROM ts)::float8,
                               (coalesce(speed_kmh >= 3.0, false))::int::float8,
                               (coalesce(engine_on, ignition, (metrics->>'power_kw')::float8 > 0, false))::int::float8,
                               lat, lon]
                         ORDER BY ts, coalesce(speed_kmh >= 3.0, false),
                                  coalesce(engine_on, ignition, (metrics->>'power_kw')::float8 > 0, false),
                                  lat, lon))                        AS distance_m,
    max(speed_kmh)                                                AS max_speed_kmh,
    min(ts)                                                       AS first_ts,
    max(ts)                                                       AS last_ts,
    (min(ARRAY[extract(epoch FROM ts)::float8, lat, lon]) FILTER (WHERE lat IS NOT NULL AND lon IS NOT NULL))[2] AS first_lat,
    (min(ARRAY[extract(epoch FROM ts)::float8, lat, lon]) FILTER (WHERE lat IS NOT NULL AND lon IS NOT NULL))[3] AS first_lon,
    (max(ARRAY[extract(epoch FROM ts)::float8, lat, lon]) FILTER (WHERE lat IS NOT NULL AND lon IS NOT NULL))[2] AS last_lat,
    (max(ARRAY[extract(epoch FROM ts)::float8, lat, lon]) FILTER (WHERE lat IS NOT NULL AND lon IS NOT NULL))[3] AS last_lon,
    (min(ARRAY[extract(epoch FROM ts)::float8, engine_hours]) FILTER (WHERE engine_hours IS NOT NULL))[2] AS engine_hours_first,
    (max(ARRAY[extract(epoch FROM ts)::float8, engine_hours]) FILTER (WHERE engine_hours IS NOT NULL))[2] AS engine_hours_last,
    avg((metrics->>'activity')::float8)                           AS avg_activity,
    avg((metrics->>'power_kw')::float8)                           AS avg_power_kw,
    (min(ARRAY[extract(epoch FROM ts)::float8, (metrics->>'energy_kwh')::float8]) FILTER (WHERE (metrics->>'energy_kwh') IS NOT NULL))[2] AS energy_kwh_first,
    (max(ARRAY[extract(epoch FROM ts)::float8, (metrics->>'energy_kwh')::float8]) FILTER (WHERE (metrics->>'energy_kwh') IS NOT NULL))[2] AS energy_kwh_last,
    (min(ARRAY[extract(epoch FROM ts)::float8, (metrics->>'fuel_used_l')::float8]) FILTER (WHERE (metrics->>'fuel_used_l') IS NOT NULL))[2] AS fuel_used_l_first,
    (max(ARRAY[extract(epoch FROM ts)::float8, (metrics->>'fuel_used_l')::float8]) FILTER (WHERE (metrics->>'fuel_used_l') IS NOT NULL))[2] AS fuel_used_l_last,
    (min(ARRAY[extract(epoch FROM ts)::float8, (metrics->>'idle_hours')::float8]) FILTER (WHERE (metrics->>'idle_hours') IS NOT NULL))[2] AS idle_hours_first,
    (max(ARRAY[extract(epoch FROM ts)::float8, (metrics->>'idle_hours')::float8]) FILTER (WHERE (metrics->>'idle_hours') IS NOT NULL))[2] AS idle_hours_last,
    avg((metrics->>'load_pct')::float8)                           AS avg_load_pct,
    avg((metrics->>'body_temp_c')::float8)                        AS avg_body_temp_c,
    avg((metrics->>'silo_level_pct')::float8)                     AS avg_silo_level_pct,
    min(battery_v)                                                AS min_battery_v
FROM rollup_dirty d
JOIN readings r
  ON r.device_id = d.device_id AND r.ts >= d.bucket AND r.ts < d.bucket + INTERVAL '1 hour'
GROUP BY d.device_id, d.bucket, d.closing;

CREATE VIEW readings_hourly AS
SELECT m.*
FROM readings_hourly_mat m
WHERE NOT EXISTS (
    SELECT 1 FROM rollup_dirty d WHERE d.device_id = m.device_id AND d.bucket = m.bucket)
UNION ALL
SELECT
    device_id, bucket,
    readings,
    moving_minutes,
    operating_minutes,
    distance_m,
    max_speed_kmh,
    first_ts,
    last_ts,
    first_lat,
    first_lon,
    last_lat,
    last_lon,
    engine_hours_first,
    engine_hours_last,
    avg_activity,
    avg_power_kw,
    energy_kwh_first,
    energy_kwh_last,
    fuel_used_l_first,
    fuel_used_l_last,
    idle_hours_first,
    idle_hours_last,
    avg_load_pct,
    avg_body_temp_c,
    avg_silo_level_pct,
    min_battery_v
FROM readings_hourly_live;

-- Materialize the buckets flagged closing and forget them. JIT is off: these
-- statements are small and run once per batch, where JIT compilation would cost
-- more than it saves.
CREATE FUNCTION aw_rollup_materialize_closing() RETURNS integer
LANGUAGE plpgsql SET jit = off AS $$
DECLARE
    n integer;
BEGIN
    INSERT INTO readings_hourly_mat
    SELECT
        device_id, bucket,
        readings,
        moving_minutes,
        operating_minutes,
        distance_m,
        max_speed_kmh,
        first_ts,
        last_ts,
        first_lat,
        first_lon,
        last_lat,
        last_lon,
        engine_hours_first,
        engine_hours_last,
        avg_activity,
        avg_power_kw,
        energy_kwh_first,
        energy_kwh_last,
        fuel_used_l_first,
        fuel_used_l_last,
        idle_hours_first,
        idle_hours_last,
        avg_load_pct,
        avg_body_temp_c,
        avg_silo_level_pct,
        min_battery_v
    FROM readings_hourly_live
    WHERE closing
    ON CONFLICT (device_id, bucket) DO UPDATE SET
        readings = EXCLUDED.readings,
        moving_minutes = EXCLUDED.moving_minutes,
        operating_minutes = EXCLUDED.operating_minutes,
        distance_m = EXCLUDED.distance_m,
        max_speed_kmh = EXCLUDED.max_speed_kmh,
        first_ts = EXCLUDED.first_ts,
        last_ts = EXCLUDED.last_ts,
        first_lat = EXCLUDED.first_lat,
        first_lon = EXCLUDED.first_lon,
        last_lat = EXCLUDED.last_lat,
        last_lon = EXCLUDED.last_lon,
        engine_hours_first = EXCLUDED.engine_hours_first,
        engine_hours_last = EXCLUDED.engine_hours_last,
        avg_activity = EXCLUDED.avg_activity,
        avg_power_kw = EXCLUDED.avg_power_kw,
        energy_kwh_first = EXCLUDED.energy_kwh_first,
        energy_kwh_last = EXCLUDED.energy_kwh_last,
        fuel_used_l_first = EXCLUDED.fuel_used_l_first,
        fuel_used_l_last = EXCLUDED.fuel_used_l_last,
        idle_hours_first = EXCLUDED.idle_hours_first,
        idle_hours_last = EXCLUDED.idle_hours_last,
        avg_load_pct = EXCLUDED.avg_load_pct,
        avg_body_temp_c = EXCLUDED.avg_body_temp_c,
        avg_silo_level_pct = EXCLUDED.avg_silo_level_pct,
        min_battery_v = EXCLUDED.min_battery_v;
    GET DIAGNOSTICS n = ROW_COUNT;
    DELETE FROM rollup_dirty WHERE closing;
    RETURN n;
END
$$;

-- The plain-layout refresh: materialize every dirty bucket that is closed,
-- either by the clock (its hour ended before as_of) or by the device's own
-- event time (its newest reading is past the bucket's end). Open buckets stay
-- dirty and readings_hourly computes them live.
CREATE FUNCTION aw_rollup_refresh(as_of timestamptz) RETURNS integer
LANGUAGE plpgsql SET jit = off AS $$
BEGIN
    UPDATE rollup_dirty d
    SET closing = true
    FROM latest_state l
    WHERE l.device_id = d.device_id
      AND NOT d.closing
      AND (d.bucket + INTERVAL '1 hour' <= as_of OR d.bucket + INTERVAL '1 hour' <= l.ts);
    RETURN aw_rollup_materialize_closing();
END
$$;
