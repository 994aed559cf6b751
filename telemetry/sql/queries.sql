-- Named queries of the telemetry store (loaded with telemetry.sqlfiles.query).

-- name: readings_copy
-- Columns in telemetry.copybin.READING_COLUMNS order (fixed-width ones first).
-- Fast path: straight into readings (COPY inserts pages at a time). Runs under a
-- savepoint; a duplicate key aborts it and the batch takes the staging path.
COPY readings (device_id, ts, received_at, seq, lat, lon, alt_m, speed_kmh, heading_deg, hdop, sats, ignition, engine_on, engine_hours, odometer_km, fuel_pct, battery_v, ext_power, tamper, late, dedup_key, source, topic, message_id, alarms, metrics) FROM STDIN (FORMAT BINARY)

-- name: staging_prepare
-- Per-session staging tables, emptied at each commit: ON COMMIT DELETE ROWS
-- truncates the file in place (autovacuum never visits temporary tables, so
-- deleting rows would bloat them; a TRUNCATE per batch makes a new file each
-- time, which cost the writer about a microsecond a row). The DELETE only finds
-- rows when one transaction writes two batches.
CREATE TEMP TABLE IF NOT EXISTS aw_staging (LIKE readings INCLUDING DEFAULTS)
    ON COMMIT DELETE ROWS;
DELETE FROM aw_staging;

-- name: staging_copy
COPY aw_staging (device_id, ts, received_at, seq, lat, lon, alt_m, speed_kmh, heading_deg, hdop, sats, ignition, engine_on, engine_hours, odometer_km, fuel_pct, battery_v, ext_power, tamper, late, dedup_key, source, topic, message_id, alarms, metrics) FROM STDIN (FORMAT BINARY)

-- name: insert_staged
-- Duplicate path: insert what is new, skip what is stored; report what went in.
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
RETURNING device_id, ts, dedup_key;

-- name: latest_prepare
-- Emptied at each commit, as aw_staging.
CREATE TEMP TABLE IF NOT EXISTS aw_latest (LIKE latest_state INCLUDING DEFAULTS)
    ON COMMIT DELETE ROWS;
DELETE FROM aw_latest;

-- name: release_latest_prepare
-- latest_prepare after a successful optimistic COPY, releasing its savepoint.
RELEASE SAVEPOINT aw_copy;
CREATE TEMP TABLE IF NOT EXISTS aw_latest (LIKE latest_state INCLUDING DEFAULTS)
    ON COMMIT DELETE ROWS;
DELETE FROM aw_latest;

-- name: latest_copy
COPY aw_latest (device_id, ts, received_at, seq, lat, lon, alt_m, speed_kmh, heading_deg, hdop, sats, ignition, engine_on, engine_hours, odometer_km, fuel_pct, battery_v, ext_power, tamper, late, dedup_key, last_received_at, source, topic, message_id, alarms, metrics) FROM STDIN (FORMAT BINARY)

-- name: latest_upsert
-- aw_latest holds the newest reading of each device in the batch (chosen by the
-- writer). Known devices: a plain UPDATE where the batch is newer by event time
-- (cheaper than INSERT ... ON CONFLICT with a CASE per column), and only the
-- receive time where it is not. New devices: INSERT; a device another writer
-- inserted meanwhile falls through to ON CONFLICT, which applies the same rule.
WITH newer AS (
    UPDATE latest_state l SET
        ts = a.ts,
        received_at = a.received_at,
        seq = a.seq,
        lat = a.lat,
        lon = a.lon,
        alt_m = a.alt_m,
        speed_kmh = a.speed_kmh,
        heading_deg = a.heading_deg,
        hdop = a.hdop,
        sats = a.sats,
        ignition = a.ignition,
        engine_on = a.engine_on,
        engine_hours = a.engine_hours,
        odometer_km = a.odometer_km,
        fuel_pct = a.fuel_pct,
        battery_v = a.battery_v,
        ext_power = a.ext_power,
        tamper = a.tamper,
        alarms = a.alarms,
        metrics = a.metrics,
        source = a.source,
        topic = a.topic,
        message_id = a.message_id,
        late = a.late,
        dedup_key = a.dedup_key,
        last_received_at = greatest(l.last_received_at, a.last_received_at)
    FROM aw_latest a
    WHERE l.device_id = a.device_id AND (a.ts, a.dedup_key) > (l.ts, l.dedup_key)
    RETURNING 1
), older AS (
    UPDATE latest_state l
    SET last_received_at = a.last_received_at
    FROM aw_latest a
    WHERE l.device_id = a.device_id AND (a.ts, a.dedup_key) <= (l.ts, l.dedup_key)
      AND a.last_received_at > coalesce(l.last_received_at, '-infinity')
    RETURNING 1
)
INSERT INTO latest_state (
    device_id, ts, received_at, seq, lat, lon, alt_m, speed_kmh, heading_deg, hdop, sats,
    ignition, engine_on, engine_hours, odometer_km, fuel_pct, battery_v, ext_power, tamper,
    alarms, metrics, source, topic, message_id, late, dedup_key, last_received_at)
SELECT
    a.device_id, a.ts, a.received_at, a.seq, a.lat, a.lon, a.alt_m, a.speed_kmh, a.heading_deg,
    a.hdop, a.sats, a.ignition, a.engine_on, a.engine_hours, a.odometer_km, a.fuel_pct,
    a.battery_v, a.ext_power, a.tamper, a.alarms, a.metrics, a.source, a.topic, a.message_id,
    a.late, a.dedup_key, a.last_received_at
FROM aw_latest a
WHERE NOT EXISTS (SELECT 1 FROM latest_state l WHERE l.device_id = a.device_id)
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
    last_received_at = greatest(latest_state.last_received_at, EXCLUDED.last_received_at);

-- name: rollup_mark_dirty
-- Plain layout: the (device, hour) buckets a batch touched; hours as epoch/3600.
INSERT INTO rollup_dirty (device_id, bucket)
SELECT u.device_id, to_timestamp(u.hour * 3600)
FROM unnest(%(devices)s::text[], %(hours)s::bigint[]) AS u (device_id, hour)
ON CONFLICT DO NOTHING;

-- name: rollup_mark_guard
-- Plain layout, before a batch's marks: the refresh guard, shared, to the
-- batch's commit (migration 0004). A statement of its own, so the marking
-- statements after it read marks as of after the guard was granted.
SELECT aw_rollup_writer_guard();

-- name: rollup_mark_renew
-- Plain layout: a mark a refresh has flagged and not yet folded is renewed
-- (it may not see this batch's readings), so the fold leaves it dirty. Before
-- rollup_mark_dirty, which then finds it and does nothing.
UPDATE rollup_dirty d SET closing = false
FROM unnest(%(devices)s::text[], %(hours)s::bigint[]) AS u (device_id, hour)
WHERE d.closing AND d.device_id = u.device_id AND d.bucket = to_timestamp(u.hour * 3600);

-- name: rollup_refresh_lock
-- Plain layout: one refresh at a time (session level, across its two transactions).
SELECT pg_advisory_lock(7311862002);

-- name: rollup_refresh_try_lock
SELECT pg_try_advisory_lock(7311862002);

-- name: rollup_refresh_unlock
SELECT pg_advisory_unlock(7311862002);

-- name: rollup_flag_try_guard
-- Plain layout, refresh step 1 of a periodic refresh: the guard, exclusive,
-- if no batch holds it now (polled, so batches never queue behind a refresh).
SELECT pg_try_advisory_xact_lock(7311862001);

-- name: rollup_flag_closing_plain
-- Plain layout, refresh step 1 (its own transaction): takes the guard
-- exclusively (at once if rollup_flag_try_guard got it), then flags.
SELECT aw_rollup_flag_closing(%(now)s::timestamptz);

-- name: rollup_fold_closing_plain
-- Plain layout, refresh step 2 (its own transaction).
SELECT aw_rollup_fold_closing();

-- name: dead_letter_insert
INSERT INTO dead_letters (received_at, topic, payload, reason, stage, device_id)
VALUES (coalesce(%(received_at)s, now()), %(topic)s, %(payload)s, %(reason)s, %(stage)s,
        %(device_id)s)
RETURNING id;

-- name: dead_letter_copy
COPY dead_letters (received_at, topic, payload, reason, stage, device_id) FROM STDIN

-- name: layout
-- True on the plain layout (its rollup table exists only there).
SELECT to_regclass('readings_hourly_mat') IS NOT NULL;

-- name: rollup_mark_late
-- TimescaleDB: the buckets of a batch that the refresh policy may already have
-- materialized (migration 0003); a mark flagged closing by a refresh in
-- progress is renewed, so the refresh does not forget it.
INSERT INTO rollup_dirty (device_id, bucket)
SELECT u.device_id, to_timestamp(u.hour * 3600)
FROM unnest(%(devices)s::text[], %(hours)s::bigint[]) AS u (device_id, hour)
ON CONFLICT (device_id, bucket) DO UPDATE SET closing = false WHERE rollup_dirty.closing;

-- name: rollup_flag_closing
-- TimescaleDB, before a refresh up to the start of %(now)s's hour: the marks it covers.
UPDATE rollup_dirty SET closing = true
WHERE NOT closing AND bucket + INTERVAL '1 hour' <= date_trunc('hour', %(now)s::timestamptz);

-- name: rollup_forget_closing
-- TimescaleDB, after the refresh: its continuous aggregate holds those buckets now.
DELETE FROM rollup_dirty WHERE closing;

-- name: cagg_refresh
-- TimescaleDB: refresh the continuous aggregate up to the start of the current
-- hour (needs an autocommit connection).
CALL refresh_continuous_aggregate('readings_hourly_cagg', NULL,
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
      WHERE view_name = 'readings_hourly_cagg') AS cagg,
    (SELECT NOT materialized_only FROM timescaledb_information.continuous_aggregates
      WHERE view_name = 'readings_hourly_cagg') AS realtime;

-- name: as_interval
SELECT %(text)s::interval;

-- name: savepoint
SAVEPOINT aw_copy;

-- name: rollback_savepoint
ROLLBACK TO SAVEPOINT aw_copy;

-- name: release_savepoint
RELEASE SAVEPOINT aw_copy;

-- name: latest_states_all
SELECT device_id, ts, received_at, seq, lat, lon, alt_m, speed_kmh, heading_deg, hdop, sats,
       ignition, engine_on, engine_hours, odometer_km, fuel_pct, battery_v, ext_power, tamper,
       alarms, metrics, source, topic, message_id, late, last_received_at
FROM latest_state
ORDER BY device_id;

-- name: latest_states_some
SELECT device_id, ts, received_at, seq, lat, lon, alt_m, speed_kmh, heading_deg, hdop, sats,
       ignition, engine_on, engine_hours, odometer_km, fuel_pct, battery_v, ext_power, tamper,
       alarms, metrics, source, topic, message_id, late, last_received_at
FROM latest_state
WHERE device_id = ANY(%(devices)s::text[])
ORDER BY device_id;

-- name: track_points
-- A device's positions in [start, end), in event-time order.
SELECT ts, lat, lon, speed_kmh, heading_deg
FROM readings
WHERE device_id = %(device)s AND ts >= %(start)s AND ts < %(end)s
  AND lat IS NOT NULL AND lon IS NOT NULL
ORDER BY ts, dedup_key;

-- name: hourly_rows
-- Stored hourly rollups (continuous aggregate or table + live view) of some
-- devices for buckets starting in [since, end), in order.
SELECT device_id, bucket, readings, moving_minutes, operating_minutes, distance_m,
       max_speed_kmh, first_ts, last_ts, first_lat, first_lon, last_lat, last_lon,
       engine_hours_first, engine_hours_last, avg_activity, avg_power_kw,
       energy_kwh_first, energy_kwh_last, fuel_used_l_first, fuel_used_l_last,
       idle_hours_first, idle_hours_last, avg_load_pct, avg_body_temp_c,
       avg_silo_level_pct, min_battery_v
FROM readings_hourly
WHERE device_id = ANY(%(devices)s::text[]) AND bucket >= %(since)s AND bucket < %(end)s
ORDER BY device_id, bucket;

-- name: server_version
SELECT version();

-- name: bench_insert_one_plain
-- Baseline of `assetwatch bench store`: one statement per reading through
-- executemany, doing what the writer does for it: insert unless stored,
-- bring latest_state forward by event time (receive time always),
-- mark the reading's hour for the rollups.
WITH ins AS (
    INSERT INTO readings (
        device_id, ts, received_at, seq, lat, lon, alt_m, speed_kmh, heading_deg, hdop, sats,
        ignition, engine_on, engine_hours, odometer_km, fuel_pct, battery_v, ext_power,
        tamper, alarms, metrics, source, topic, message_id, late, dedup_key)
    VALUES (
        %(device_id)s, %(ts)s, %(received_at)s, %(seq)s, %(lat)s, %(lon)s, %(alt_m)s,
        %(speed_kmh)s, %(heading_deg)s, %(hdop)s, %(sats)s, %(ignition)s, %(engine_on)s,
        %(engine_hours)s, %(odometer_km)s, %(fuel_pct)s, %(battery_v)s, %(ext_power)s,
        %(tamper)s, %(alarms)s, %(metrics)s, %(source)s, %(topic)s, %(message_id)s, %(late)s,
        %(dedup_key)s)
    ON CONFLICT (device_id, ts, dedup_key) DO NOTHING
    RETURNING device_id, ts
), latest AS (
    INSERT INTO latest_state (
        device_id, ts, received_at, seq, lat, lon, alt_m, speed_kmh, heading_deg, hdop, sats,
        ignition, engine_on, engine_hours, odometer_km, fuel_pct, battery_v, ext_power,
        tamper, alarms, metrics, source, topic, message_id, late, dedup_key, last_received_at)
    VALUES (
        %(device_id)s, %(ts)s, %(received_at)s, %(seq)s, %(lat)s, %(lon)s, %(alt_m)s,
        %(speed_kmh)s, %(heading_deg)s, %(hdop)s, %(sats)s, %(ignition)s, %(engine_on)s,
        %(engine_hours)s, %(odometer_km)s, %(fuel_pct)s, %(battery_v)s, %(ext_power)s,
        %(tamper)s, %(alarms)s, %(metrics)s, %(source)s, %(topic)s, %(message_id)s, %(late)s,
        %(dedup_key)s, %(received_at)s)
    ON CONFLICT (device_id) DO UPDATE SET
        ts = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key) THEN EXCLUDED.ts ELSE latest_state.ts END,
        received_at = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key) THEN EXCLUDED.received_at ELSE latest_state.received_at END,
        seq = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key) THEN EXCLUDED.seq ELSE latest_state.seq END,
        lat = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key) THEN EXCLUDED.lat ELSE latest_state.lat END,
        lon = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key) THEN EXCLUDED.lon ELSE latest_state.lon END,
        alt_m = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key) THEN EXCLUDED.alt_m ELSE latest_state.alt_m END,
        speed_kmh = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key) THEN EXCLUDED.speed_kmh ELSE latest_state.speed_kmh END,
        heading_deg = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key) THEN EXCLUDED.heading_deg ELSE latest_state.heading_deg END,
        hdop = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key) THEN EXCLUDED.hdop ELSE latest_state.hdop END,
        sats = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key) THEN EXCLUDED.sats ELSE latest_state.sats END,
        ignition = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key) THEN EXCLUDED.ignition ELSE latest_state.ignition END,
        engine_on = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key) THEN EXCLUDED.engine_on ELSE latest_state.engine_on END,
        engine_hours = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key) THEN EXCLUDED.engine_hours ELSE latest_state.engine_hours END,
        odometer_km = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key) THEN EXCLUDED.odometer_km ELSE latest_state.odometer_km END,
        fuel_pct = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key) THEN EXCLUDED.fuel_pct ELSE latest_state.fuel_pct END,
        battery_v = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key) THEN EXCLUDED.battery_v ELSE latest_state.battery_v END,
        ext_power = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key) THEN EXCLUDED.ext_power ELSE latest_state.ext_power END,
        tamper = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key) THEN EXCLUDED.tamper ELSE latest_state.tamper END,
        alarms = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key) THEN EXCLUDED.alarms ELSE latest_state.alarms END,
        metrics = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key) THEN EXCLUDED.metrics ELSE latest_state.metrics END,
        source = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key) THEN EXCLUDED.source ELSE latest_state.source END,
        topic = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key) THEN EXCLUDED.topic ELSE latest_state.topic END,
        message_id = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key) THEN EXCLUDED.message_id ELSE latest_state.message_id END,
        late = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key) THEN EXCLUDED.late ELSE latest_state.late END,
        dedup_key = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key) THEN EXCLUDED.dedup_key ELSE latest_state.dedup_key END,
        last_received_at = greatest(latest_state.last_received_at, EXCLUDED.last_received_at)
)
INSERT INTO rollup_dirty (device_id, bucket)
SELECT device_id, to_timestamp(floor(extract(epoch FROM ts) / 3600) * 3600) FROM ins
ON CONFLICT DO NOTHING;

-- name: bench_insert_one_timescale
-- Baseline of `assetwatch bench store`: one statement per reading through
-- executemany, doing what the writer does for it: insert unless stored,
-- bring latest_state forward by event time (receive time always), and mark
-- an hour the continuous aggregate may already hold (before the current hour).
WITH ins AS (
    INSERT INTO readings (
        device_id, ts, received_at, seq, lat, lon, alt_m, speed_kmh, heading_deg, hdop, sats,
        ignition, engine_on, engine_hours, odometer_km, fuel_pct, battery_v, ext_power,
        tamper, alarms, metrics, source, topic, message_id, late, dedup_key)
    VALUES (
        %(device_id)s, %(ts)s, %(received_at)s, %(seq)s, %(lat)s, %(lon)s, %(alt_m)s,
        %(speed_kmh)s, %(heading_deg)s, %(hdop)s, %(sats)s, %(ignition)s, %(engine_on)s,
        %(engine_hours)s, %(odometer_km)s, %(fuel_pct)s, %(battery_v)s, %(ext_power)s,
        %(tamper)s, %(alarms)s, %(metrics)s, %(source)s, %(topic)s, %(message_id)s, %(late)s,
        %(dedup_key)s)
    ON CONFLICT (device_id, ts, dedup_key) DO NOTHING
    RETURNING device_id, ts
), latest AS (
INSERT INTO latest_state (
    device_id, ts, received_at, seq, lat, lon, alt_m, speed_kmh, heading_deg, hdop, sats,
    ignition, engine_on, engine_hours, odometer_km, fuel_pct, battery_v, ext_power,
    tamper, alarms, metrics, source, topic, message_id, late, dedup_key, last_received_at)
VALUES (
    %(device_id)s, %(ts)s, %(received_at)s, %(seq)s, %(lat)s, %(lon)s, %(alt_m)s,
    %(speed_kmh)s, %(heading_deg)s, %(hdop)s, %(sats)s, %(ignition)s, %(engine_on)s,
    %(engine_hours)s, %(odometer_km)s, %(fuel_pct)s, %(battery_v)s, %(ext_power)s,
    %(tamper)s, %(alarms)s, %(metrics)s, %(source)s, %(topic)s, %(message_id)s, %(late)s,
    %(dedup_key)s, %(received_at)s)
ON CONFLICT (device_id) DO UPDATE SET
    ts = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key) THEN EXCLUDED.ts ELSE latest_state.ts END,
    received_at = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key) THEN EXCLUDED.received_at ELSE latest_state.received_at END,
    seq = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key) THEN EXCLUDED.seq ELSE latest_state.seq END,
    lat = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key) THEN EXCLUDED.lat ELSE latest_state.lat END,
    lon = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key) THEN EXCLUDED.lon ELSE latest_state.lon END,
    alt_m = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key) THEN EXCLUDED.alt_m ELSE latest_state.alt_m END,
    speed_kmh = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key) THEN EXCLUDED.speed_kmh ELSE latest_state.speed_kmh END,
    heading_deg = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key) THEN EXCLUDED.heading_deg ELSE latest_state.heading_deg END,
    hdop = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key) THEN EXCLUDED.hdop ELSE latest_state.hdop END,
    sats = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key) THEN EXCLUDED.sats ELSE latest_state.sats END,
    ignition = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key) THEN EXCLUDED.ignition ELSE latest_state.ignition END,
    engine_on = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key) THEN EXCLUDED.engine_on ELSE latest_state.engine_on END,
    engine_hours = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key) THEN EXCLUDED.engine_hours ELSE latest_state.engine_hours END,
    odometer_km = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key) THEN EXCLUDED.odometer_km ELSE latest_state.odometer_km END,
    fuel_pct = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key) THEN EXCLUDED.fuel_pct ELSE latest_state.fuel_pct END,
    battery_v = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key) THEN EXCLUDED.battery_v ELSE latest_state.battery_v END,
    ext_power = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key) THEN EXCLUDED.ext_power ELSE latest_state.ext_power END,
    tamper = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key) THEN EXCLUDED.tamper ELSE latest_state.tamper END,
    alarms = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key) THEN EXCLUDED.alarms ELSE latest_state.alarms END,
    metrics = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key) THEN EXCLUDED.metrics ELSE latest_state.metrics END,
    source = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key) THEN EXCLUDED.source ELSE latest_state.source END,
    topic = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key) THEN EXCLUDED.topic ELSE latest_state.topic END,
    message_id = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key) THEN EXCLUDED.message_id ELSE latest_state.message_id END,
    late = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key) THEN EXCLUDED.late ELSE latest_state.late END,
    dedup_key = CASE WHEN (EXCLUDED.ts, EXCLUDED.dedup_key) > (latest_state.ts, latest_state.dedup_key) THEN EXCLUDED.dedup_key ELSE latest_state.dedup_key END,
    last_received_at = greatest(latest_state.last_received_at, EXCLUDED.last_received_at)
RETURNING 1
)
INSERT INTO rollup_dirty (device_id, bucket)
SELECT device_id, to_timestamp(floor(extract(epoch FROM ts) / 3600) * 3600) FROM ins
WHERE ts < date_trunc('hour', now())
ON CONFLICT (device_id, bucket) DO UPDATE SET closing = false WHERE rollup_dirty.closing;

-- name: bench_ceiling_table
-- `assetwatch bench store`: the server's own ceiling for this row shape. A
-- table like readings with the same indexes, filled by a COPY of rows already
-- encoded (no client work, no dedup check, no latest state, no rollups).
CREATE TABLE bench_ceiling (LIKE readings INCLUDING ALL);

-- name: bench_ceiling_out
COPY (SELECT device_id, ts, received_at, seq, lat, lon, alt_m, speed_kmh, heading_deg, hdop, sats, ignition, engine_on, engine_hours, odometer_km, fuel_pct, battery_v, ext_power, tamper, source, topic, message_id, late, alarms, metrics, dedup_key FROM readings) TO STDOUT (FORMAT BINARY)

-- name: bench_ceiling_in
COPY bench_ceiling (device_id, ts, received_at, seq, lat, lon, alt_m, speed_kmh, heading_deg, hdop, sats, ignition, engine_on, engine_hours, odometer_km, fuel_pct, battery_v, ext_power, tamper, source, topic, message_id, late, alarms, metrics, dedup_key) FROM STDIN (FORMAT BINARY)
