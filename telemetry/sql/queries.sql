-- Named queries of the telemetry store (loaded with telemetry.sqlfiles.query).

-- name: staging_prepare
-- One staging table per session, emptied before each batch (TRUNCATE, not
-- DELETE: autovacuum never visits temporary tables, so DELETE would bloat it).
CREATE TEMP TABLE IF NOT EXISTS aw_staging (
    ord          integer NOT NULL,
    device_id    text NOT NULL,
    ts           timestamptz NOT NULL,
    received_at  timestamptz,
    seq          bigint,
    lat          double precision,
    lon          double precision,
    alt_m        double precision,
    speed_kmh    double precision,
    heading_deg  double precision,
    hdop         double precision,
    sats         smallint,
    ignition     boolean,
    engine_on    boolean,
    engine_hours double precision,
    odometer_km  double precision,
    fuel_pct     double precision,
    battery_v    double precision,
    ext_power    boolean,
    tamper       boolean,
    alarms       text[],
    metrics      jsonb,
    source       text NOT NULL,
    topic        text,
    message_id   text,
    late         boolean NOT NULL,
    dedup_key    bigint NOT NULL
);
TRUNCATE aw_staging;

-- name: staging_copy
COPY aw_staging (ord, device_id, ts, received_at, seq, lat, lon, alt_m, speed_kmh, heading_deg, hdop, sats, ignition, engine_on, engine_hours, odometer_km, fuel_pct, battery_v, ext_power, tamper, alarms, metrics, source, topic, message_id, late, dedup_key) FROM STDIN (FORMAT BINARY)

-- name: write_batch
-- Insert the staged readings once each, bring latest_state forward by event
-- time, and return the ord of every staged row that was already stored (none
-- in the common case: the anti-join is skipped when every row went in).
WITH ins AS (
    INSERT INTO readings (
        device_id, ts, received_at, seq, lat, lon, alt_m, speed_kmh, heading_deg, hdop, sats,
        ignition, engine_on, engine_hours, odometer_km, fuel_pct, battery_v, ext_power, tamper,
        alarms, metrics, source, topic, message_id, late, dedup_key)
    SELECT
        device_id, ts, received_at, seq, lat, lon, alt_m, speed_kmh, heading_deg, hdop, sats,
        ignition, engine_on, engine_hours, odometer_km, fuel_pct, battery_v, ext_power, tamper,
        alarms, metrics, source, topic, message_id, late, dedup_key
    FROM aw_staging
    ON CONFLICT (device_id, ts, dedup_key) DO NOTHING
    RETURNING device_id, ts, dedup_key
), newest AS (
    SELECT DISTINCT ON (device_id)
        device_id, ts, received_at, seq, lat, lon, alt_m, speed_kmh, heading_deg, hdop, sats,
        ignition, engine_on, engine_hours, odometer_km, fuel_pct, battery_v, ext_power, tamper,
        alarms, metrics, source, topic, message_id, late, dedup_key,
        max(received_at) OVER (PARTITION BY device_id) AS last_received_at
    FROM aw_staging
    ORDER BY device_id, ts DESC, dedup_key DESC
), upd AS (
    INSERT INTO latest_state (
        device_id, ts, received_at, seq, lat, lon, alt_m, speed_kmh, heading_deg, hdop, sats,
        ignition, engine_on, engine_hours, odometer_km, fuel_pct, battery_v, ext_power, tamper,
        alarms, metrics, source, topic, message_id, late, dedup_key, last_received_at)
    SELECT * FROM newest
    ON CONFLICT (device_id) DO UPDATE SET
        ts = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key)
            THEN EXCLUDED.ts ELSE latest_state.ts END,
        received_at = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key)
            THEN EXCLUDED.received_at ELSE latest_state.received_at END,
        seq = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key)
            THEN EXCLUDED.seq ELSE latest_state.seq END,
        lat = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key)
            THEN EXCLUDED.lat ELSE latest_state.lat END,
        lon = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key)
            THEN EXCLUDED.lon ELSE latest_state.lon END,
        alt_m = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key)
            THEN EXCLUDED.alt_m ELSE latest_state.alt_m END,
        speed_kmh = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key)
            THEN EXCLUDED.speed_kmh ELSE latest_state.speed_kmh END,
        heading_deg = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key)
            THEN EXCLUDED.heading_deg ELSE latest_state.heading_deg END,
        hdop = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key)
            THEN EXCLUDED.hdop ELSE latest_state.hdop END,
        sats = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key)
            THEN EXCLUDED.sats ELSE latest_state.sats END,
        ignition = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key)
            THEN EXCLUDED.ignition ELSE latest_state.ignition END,
        engine_on = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key)
            THEN EXCLUDED.engine_on ELSE latest_state.engine_on END,
        engine_hours = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key)
            THEN EXCLUDED.engine_hours ELSE latest_state.engine_hours END,
        odometer_km = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key)
            THEN EXCLUDED.odometer_km ELSE latest_state.odometer_km END,
        fuel_pct = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key)
            THEN EXCLUDED.fuel_pct ELSE latest_state.fuel_pct END,
        battery_v = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key)
            THEN EXCLUDED.battery_v ELSE latest_state.battery_v END,
        ext_power = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key)
            THEN EXCLUDED.ext_power ELSE latest_state.ext_power END,
        tamper = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key)
            THEN EXCLUDED.tamper ELSE latest_state.tamper END,
        alarms = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key)
            THEN EXCLUDED.alarms ELSE latest_state.alarms END,
        metrics = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key)
            THEN EXCLUDED.metrics ELSE latest_state.metrics END,
        source = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key)
            THEN EXCLUDED.source ELSE latest_state.source END,
        topic = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key)
            THEN EXCLUDED.topic ELSE latest_state.topic END,
        message_id = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key)
            THEN EXCLUDED.message_id ELSE latest_state.message_id END,
        late = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key)
            THEN EXCLUDED.late ELSE latest_state.late END,
        dedup_key = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key)
            THEN EXCLUDED.dedup_key ELSE latest_state.dedup_key END,
        last_received_at = greatest(latest_state.last_received_at, EXCLUDED.last_received_at)
    RETURNING 1
)
SELECT s.ord
FROM aw_staging s
WHERE (SELECT count(*) FROM ins) < %(staged)s
  AND NOT EXISTS (
      SELECT 1 FROM ins i
      WHERE i.device_id = s.device_id AND i.ts = s.ts AND i.dedup_key = s.dedup_key);

-- name: rollup_maintain
-- Plain layout only. Mark every (device, hour) of the batch dirty, then
-- materialize the dirty buckets that are closed: the device's newest event
-- time has passed the bucket's end. Open buckets stay dirty and the
-- readings_hourly view computes them live.
INSERT INTO rollup_dirty (device_id, bucket)
SELECT DISTINCT device_id, date_bin(INTERVAL '1 hour', ts, TIMESTAMPTZ '2000-01-01 00:00:00+00')
FROM aw_staging
ON CONFLICT DO NOTHING;
WITH closed AS (
    DELETE FROM rollup_dirty d
    USING latest_state l
    WHERE l.device_id = d.device_id AND d.bucket + INTERVAL '1 hour' <= l.ts
    RETURNING d.device_id, d.bucket
)
INSERT INTO readings_hourly_mat
SELECT c.device_id, c.bucket, h.*
FROM closed c
CROSS JOIN LATERAL aw_hourly(c.device_id, c.bucket) h
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

-- name: rollup_materialize_all
-- Plain layout: materialize every dirty bucket whose hour has ended by the
-- clock (the counterpart of a continuous-aggregate refresh).
WITH closed AS (
    DELETE FROM rollup_dirty d
    WHERE d.bucket + INTERVAL '1 hour' <= %(now)s
    RETURNING d.device_id, d.bucket
)
INSERT INTO readings_hourly_mat
SELECT c.device_id, c.bucket, h.*
FROM closed c
CROSS JOIN LATERAL aw_hourly(c.device_id, c.bucket) h
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

-- name: dead_letter_insert
INSERT INTO dead_letters (received_at, topic, payload, reason, stage, device_id)
VALUES (coalesce(%(received_at)s, now()), %(topic)s, %(payload)s, %(reason)s, %(stage)s,
        %(device_id)s)
RETURNING id;

-- name: dead_letter_copy
COPY dead_letters (received_at, topic, payload, reason, stage, device_id) FROM STDIN

-- name: layout
SELECT to_regclass('rollup_dirty') IS NOT NULL;
-- name: cagg_refresh
-- TimescaleDB: refresh the continuous aggregate up to the start of the current
-- hour (needs an autocommit connection).
CALL refresh_continuous_aggregate('readings_hourly', NULL,
                                  date_trunc('hour', %(now)s::timestamptz));

-- name: ts_set_chunk_interval
SELECT set_chunk_time_interval('readings', %(interval)s::interval);

-- name: ts_chunk_interval
SELECT d.time_interval::text
FROM timescaledb_information.dimensions d
WHERE d.hypertable_name = 'readings' AND d.column_name = 'ts';

-- name: ts_policy_setting
-- The interval a policy job of ``readings`` runs with, or nothing.
SELECT (j.config ->> %(key)s)::interval
FROM timescaledb_information.jobs j
WHERE j.hypertable_name = 'readings' AND j.proc_name = %(proc)s;

-- name: ts_add_compression_policy
SELECT add_compression_policy('readings', compress_after => %(after)s::interval);

-- name: ts_remove_compression_policy
SELECT remove_compression_policy('readings', if_exists => true);

-- name: ts_add_retention_policy
SELECT add_retention_policy('readings', drop_after => %(after)s::interval);

-- name: ts_remove_retention_policy
SELECT remove_retention_policy('readings', if_exists => true);

-- name: ts_features
SELECT
    (SELECT count(*) FROM timescaledb_information.hypertables
      WHERE hypertable_name = 'readings') AS hypertable,
    (SELECT compression_enabled FROM timescaledb_information.hypertables
      WHERE hypertable_name = 'readings') AS compression,
    (SELECT count(*) FROM timescaledb_information.continuous_aggregates
      WHERE view_name = 'readings_hourly') AS cagg,
    (SELECT NOT materialized_only FROM timescaledb_information.continuous_aggregates
      WHERE view_name = 'readings_hourly') AS realtime;

-- name: as_interval
SELECT %(text)s::interval;
