-- name: status_counts
SELECT
    (SELECT count(*) FROM latest_state)      AS devices,
    (SELECT count(*) FROM readings)          AS readings,
    (SELECT count(*) FROM dead_letters)      AS dead_letters,
    (SELECT count(*) FROM quarantine WHERE released_at IS NULL) AS quarantined;

-- name: status_alerts_open
SELECT level, count(*) FROM alerts WHERE status <> 'resolved' GROUP BY level;

-- name: status_has_alerts
SELECT to_regclass('alerts') IS NOT NULL;
