-- Hourly rollups per device. The aggregate list is identical in
-- 0002_hourly_rollups.plain.sql and .timescale.sql (a test checks it); the
-- definitions are in docs/telemetry.md ("Hourly rollups"). Moving means
-- speed_kmh >= 3; operating means engine_on, else ignition, else power_kw > 0.
-- distance_m and the *_first/*_last counters cover the bucket's own readings;
-- telemetry.queries adds the segment from the previous bucket, which a
-- continuous aggregate cannot see.
--
-- Plain PostgreSQL: readings_hourly_mat holds materialized buckets; the writer
-- marks each (device, hour) it touches in rollup_dirty and re-materializes a
-- dirty bucket once the device's latest event time has passed its end. The
-- view readings_hourly computes dirty buckets (the open hour, late data) live,
-- so a query always sees every stored reading.
CREATE TABLE rollup_dirty (
    device_id text        NOT NULL,
    bucket    timestamptz NOT NULL,
    PRIMARY KEY (device_id, bucket)
);

CREATE FUNCTION aw_hourly(p_device text, p_bucket timestamptz)
RETURNS TABLE (
    readings bigint, moving_minutes float8, operating_minutes float8, distance_m float8,
    max_speed_kmh float8, first_ts timestamptz, last_ts timestamptz,
    first_lat float8, first_lon float8, last_lat float8, last_lon float8,
    engine_hours_first float8, engine_hours_last float8,
    avg_activity float8, avg_power_kw float8,
    energy_kwh_first float8, energy_kwh_last float8,
    fuel_used_l_first float8, fuel_used_l_last float8,
    idle_hours_first float8, idle_hours_last float8,
    avg_load_pct float8, avg_body_temp_c float8, avg_silo_level_pct float8,
    min_battery_v float8
) LANGUAGE sql STABLE AS $$
SELECT
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
WHERE device_id = p_device AND ts >= p_bucket AND ts < p_bucket + INTERVAL '1 hour'
$$;

CREATE TABLE readings_hourly_mat (
    device_id text        NOT NULL,
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

CREATE VIEW readings_hourly AS
SELECT m.*
FROM readings_hourly_mat m
WHERE NOT EXISTS (
    SELECT 1 FROM rollup_dirty d WHERE d.device_id = m.device_id AND d.bucket = m.bucket)
UNION ALL
SELECT d.device_id, d.bucket, h.*
FROM rollup_dirty d
CROSS JOIN LATERAL aw_hourly(d.device_id, d.bucket) h;
