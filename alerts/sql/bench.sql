-- Named queries of the detect benchmark (synthetic portfolio; never used in production).

-- name: seed_borrower
INSERT INTO borrowers (id, name) VALUES ('BENCH', 'Bench borrower');

-- name: seed_assets
INSERT INTO assets (id, borrower_id, class, name)
SELECT 'A' || lpad(i::text, 5, '0'), 'BENCH', 'vehicle', 'bench asset ' || i
FROM generate_series(0, %(devices)s - 1) AS i;

-- name: seed_terminals
INSERT INTO terminals (device_id, protocol, expected_interval_s)
SELECT 'D' || lpad(i::text, 5, '0'), 'json', 60 FROM generate_series(0, %(devices)s - 1) AS i;

-- name: seed_bindings
INSERT INTO bindings (device_id, asset_id, valid_from, by_user)
SELECT 'D' || lpad(i::text, 5, '0'), 'A' || lpad(i::text, 5, '0'),
       %(now)s::timestamptz - INTERVAL '60 days', 'bench'
FROM generate_series(0, %(devices)s - 1) AS i;

-- name: seed_rollups
-- Working days 08-17 h, rest at a depot; every 100th device idles for the last
-- 5 days, the next declines to 30 %% for 7 days, the next rests 55 km away for
-- 4 days, the next has been silent for 12 hours.
INSERT INTO readings_hourly_mat (device_id, bucket, readings, moving_minutes, operating_minutes,
                                 distance_m, first_ts, last_ts, last_lat, last_lon)
SELECT 'D' || lpad(i::text, 5, '0'), h, 60,
       CASE WHEN w THEN 20 + random() * 20 ELSE 0 END,
       CASE WHEN NOT w THEN 0
            WHEN i %% 100 = 0 AND h > %(now)s::timestamptz - INTERVAL '5 days' THEN 0
            WHEN i %% 100 = 1 AND h > %(now)s::timestamptz - INTERVAL '7 days'
                 THEN (40 + random() * 20) * 0.3
            ELSE 40 + random() * 20 END,
       CASE WHEN w THEN 20000 * random() ELSE 0 END,
       h, h + INTERVAL '59 minutes',
       31.2 + (i %% 97) * 0.01 + random() * 0.0002
           + CASE WHEN i %% 100 = 2 AND h > %(now)s::timestamptz - INTERVAL '4 days'
                  THEN 0.5 ELSE 0 END,
       121.4 + (i %% 89) * 0.01 + random() * 0.0002
FROM generate_series(0, %(devices)s - 1) AS i,
     generate_series(date_trunc('hour', %(now)s::timestamptz) - make_interval(days => %(days)s),
                     date_trunc('hour', %(now)s::timestamptz) - INTERVAL '1 hour',
                     INTERVAL '1 hour') AS h,
     LATERAL (SELECT extract(isodow FROM h) < 6 AND extract(hour FROM h) BETWEEN 8 AND 16 AS w) AS x
WHERE NOT (i %% 100 = 3 AND h > %(now)s::timestamptz - INTERVAL '12 hours');

-- name: analyze
ANALYZE;

-- name: server_version
SHOW server_version;

-- name: state_sizes
-- Checkpoint text per device: all of a device's streaming detector states.
SELECT count(*), coalesce(max(octet_length(state)), 0),
       coalesce(round(avg(octet_length(state))), 0)::int
FROM detector_state;
