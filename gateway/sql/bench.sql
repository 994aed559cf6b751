-- Synthetic data and baselines for `assetwatch bench gateway` (bench only).

-- name: copy_alerts
COPY alerts (asset_id, device_id, kind, level, peak_level, status, first_seen, last_seen,
             evidence) FROM STDIN;

-- name: disable_index_scans
-- Baseline: the alert queue as it would run without the gateway's indexes.
SET enable_indexscan = off;

-- name: disable_bitmap_scans
SET enable_bitmapscan = off;

-- name: analyze
ANALYZE;

-- name: active_bindings
SELECT device_id, asset_id FROM bindings WHERE valid_to IS NULL;

-- name: server_version
SHOW server_version;
