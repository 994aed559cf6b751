-- name: status_counts
SELECT
    (SELECT count(*) FROM latest_state)      AS devices,
    (SELECT count(*) FROM readings)          AS readings,
    (SELECT count(*) FROM dead_letters)      AS dead_letters;

-- name: status_has_quarantine
-- quarantine is created by ingest (migration 0200); status works before it exists.
SELECT to_regclass('quarantine') IS NOT NULL;

-- name: status_quarantined
SELECT count(*) FROM quarantine WHERE released_at IS NULL;

-- name: status_alerts_open
SELECT level, count(*) FROM alerts WHERE status <> 'resolved' GROUP BY level;

-- name: status_has_alerts
SELECT to_regclass('alerts') IS NOT NULL;

-- name: terminal_credentials
SELECT device_id, secret_hash FROM terminals ORDER BY device_id;

-- name: set_terminal_secret
UPDATE terminals SET secret_hash = %(secret_hash)s WHERE device_id = %(device_id)s;

-- name: event_clock
SELECT max(ts) FROM latest_state;

-- name: soak_progress
SELECT (SELECT n_tup_ins FROM pg_stat_user_tables WHERE relname = 'readings'),
       (SELECT max(ts) FROM latest_state);

-- name: soak_backend_pids
SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid();
