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
