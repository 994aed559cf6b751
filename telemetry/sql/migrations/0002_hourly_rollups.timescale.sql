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
    aw_minutes(ts, speed_kmh >= 3.0 ORDER BY ts, speed_kmh >= 3.0) AS moving_minutes,
    aw_minutes(ts, coalesce(engine_on, ignition, (metrics->>'power_kw')::float8 > 0)
               ORDER BY ts, coalesce(engine_on, ignition, (metrics->>'power_kw')::float8 > 0))
                                                                  AS operating_minutes,
    aw_path_m(lat, lon ORDER BY ts, lat, lon)                     AS distance_m,
    max(speed_kmh)                                                AS max_speed_kmh,
    min(ts)                                                       AS first_ts,
    max(ts)                                                       AS last_ts,
    aw_first_a(ts, lat, lon)                                      AS first_lat,
    aw_first_b(ts, lat, lon)                                      AS first_lon,
    aw_last_a(ts, lat, lon)                                       AS last_lat,
    aw_last_b(ts, lat, lon)                                       AS last_lon,
    aw_first_a(ts, engine_hours, NULL::float8)                    AS engine_hours_first,
    aw_last_a(ts, engine_hours, NULL::float8)                     AS engine_hours_last,
    avg((metrics->>'activity')::float8)                           AS avg_activity,
    avg((metrics->>'power_kw')::float8)                           AS avg_power_kw,
    aw_first_a(ts, (metrics->>'energy_kwh')::float8, NULL::float8)  AS energy_kwh_first,
    aw_last_a(ts, (metrics->>'energy_kwh')::float8, NULL::float8)   AS energy_kwh_last,
    aw_first_a(ts, (metrics->>'fuel_used_l')::float8, NULL::float8) AS fuel_used_l_first,
    aw_last_a(ts, (metrics->>'fuel_used_l')::float8, NULL::float8)  AS fuel_used_l_last,
    aw_first_a(ts, (metrics->>'idle_hours')::float8, NULL::float8)  AS idle_hours_first,
    aw_last_a(ts, (metrics->>'idle_hours')::float8, NULL::float8)   AS idle_hours_last,
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
