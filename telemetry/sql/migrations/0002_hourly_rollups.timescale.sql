-- Hourly rollups per device. The aggregate list is identical in
-- 0002_hourly_rollups.plain.sql and .timescale.sql (a test checks it); the
-- definitions are in docs/telemetry.md ("Hourly rollups"). Moving means
-- speed_kmh >= 3; operating means engine_on, else ignition, else power_kw > 0.
-- distance_m and the *_first/*_last counters cover the bucket's own readings;
-- telemetry.queries adds the segment from the previous bucket, which a
-- continuous aggregate cannot see.
--
-- TimescaleDB: a continuous aggregate with real-time aggregation
-- (materialized_only = false): buckets past the materialization watermark are
-- computed from readings at query time. The refresh policy stops one hour
-- short of now, so the open bucket is always real-time; start_offset NULL lets
-- a refresh fold late data into buckets of any age (invalidation-driven).
CREATE MATERIALIZED VIEW readings_hourly
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT
    device_id,
    time_bucket(INTERVAL '1 hour', ts)                            AS bucket,
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
FROM readings
GROUP BY device_id, time_bucket(INTERVAL '1 hour', ts)
WITH NO DATA;

SELECT add_continuous_aggregate_policy('readings_hourly',
    start_offset => NULL,
    end_offset => INTERVAL '1 hour',
    schedule_interval => INTERVAL '15 minutes');
