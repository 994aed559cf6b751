-- TimescaleDB: late data into hours the continuous aggregate has already
-- materialized is counted at once, as on the plain layout. A continuous
-- aggregate computes only the region past its watermark at query time; an
-- invalidated (late-written, corrected) bucket below it would read stale until
-- the next refresh. So the writer marks the (device, hour) buckets of a batch
-- that the refresh policy may already have materialized in rollup_dirty, in
-- the batch's transaction; readings_hourly (now a view) takes those buckets
-- live from readings and every other bucket from the continuous aggregate
-- (renamed readings_hourly_cagg); materialize_rollups() refreshes the
-- aggregate and then forgets the marks it covered (flagged `closing` before the
-- refresh, so a mark renewed meanwhile survives). The live aggregate list is
-- the one of 0002 (a test checks the three stay identical).
ALTER MATERIALIZED VIEW readings_hourly RENAME TO readings_hourly_cagg;

CREATE TABLE rollup_dirty (
    device_id text COLLATE "C" NOT NULL,
    bucket    timestamptz NOT NULL,
    closing   boolean     NOT NULL DEFAULT false,
    PRIMARY KEY (device_id, bucket)
);

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
FROM readings_hourly_cagg m
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
