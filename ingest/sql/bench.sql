-- Tables and statements of `assetwatch bench ingest` (peers and baselines).

-- name: peer_tables
CREATE TABLE IF NOT EXISTS bench_nodered_readings (LIKE readings INCLUDING ALL);
CREATE TABLE IF NOT EXISTS bench_naive_readings (LIKE readings INCLUDING ALL);

-- name: naive_insert
INSERT INTO bench_naive_readings (device_id, ts, received_at, seq, lat, lon, speed_kmh,
                                  source, topic, dedup_key)
VALUES (%(device_id)s, %(ts)s, now(), %(seq)s, %(lat)s, %(lon)s, %(speed_kmh)s,
        'json', %(topic)s, %(seq)s)
ON CONFLICT DO NOTHING;

-- name: count_readings
SELECT count(*) FROM readings;

-- name: count_nodered
SELECT count(*) FROM bench_nodered_readings;

-- name: count_naive
SELECT count(*) FROM bench_naive_readings;

-- name: server_version
SELECT current_setting('server_version');

-- name: register_terminal
INSERT INTO terminals (device_id, protocol) VALUES (%(device_id)s, 'json')
ON CONFLICT (device_id) DO NOTHING;

-- name: truncate_all
TRUNCATE readings, latest_state, dead_letters, quarantine,
         bench_nodered_readings, bench_naive_readings;

-- name: pledge_terminals
-- The bench terminals as a borrower's pledged trucks, each with a pledged zone
-- (a box of about 2 x 3 km holding the workload's positions), so the streaming
-- detectors see what they see in production: a bound asset with a zone.
WITH b AS (
    INSERT INTO borrowers (id, name) VALUES ('BENCH', 'Bench borrower')
    ON CONFLICT (id) DO NOTHING
), a AS (
    INSERT INTO assets (id, borrower_id, class, name)
    SELECT 'asset-' || d, 'BENCH', 'vehicle', 'bench truck ' || d
    FROM unnest(%(device_ids)s::text[]) AS d
    ON CONFLICT (id) DO NOTHING
), k AS (
    INSERT INTO bindings (device_id, asset_id, valid_from, by_user)
    SELECT d, 'asset-' || d, now() - INTERVAL '30 days', 'bench'
    FROM unnest(%(device_ids)s::text[]) AS d
)
INSERT INTO zones (id, asset_id, kind, buffer_m, geometry)
SELECT 'zone-' || d, 'asset-' || d, 'pledged', 200,
       '{"type": "Polygon", "coordinates": [[[121.39, 31.19], [121.41, 31.19],
         [121.41, 31.22], [121.39, 31.22], [121.39, 31.19]]]}'::jsonb
FROM unnest(%(device_ids)s::text[]) AS d
ON CONFLICT (id) DO NOTHING;

-- name: truncate_detectors
TRUNCATE detector_state, alerts, alert_events;

-- name: checkpoint
-- Before the latency run: write out what the throughput runs left in the WAL, so
-- a checkpoint they triggered does not land inside the latency measurement.
CHECKPOINT;
