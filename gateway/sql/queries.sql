-- Named queries of the gateway (API keys, webhooks, feed, listings the other
-- packages do not offer as functions).

-- name: key_insert
INSERT INTO gateway_api_keys (key_id, secret_hash, role, name)
VALUES (%(key_id)s, %(secret_hash)s, %(role)s, %(name)s);

-- name: key_lookup
-- last_used_at is written at most once a minute so reads stay reads.
WITH touched AS (
    UPDATE gateway_api_keys SET last_used_at = now()
    WHERE key_id = %(key_id)s AND revoked_at IS NULL
      AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')
)
SELECT secret_hash, role, name FROM gateway_api_keys
WHERE key_id = %(key_id)s AND revoked_at IS NULL;

-- name: key_list
SELECT key_id, role, name, created_at, revoked_at, last_used_at
FROM gateway_api_keys ORDER BY created_at DESC, key_id;

-- name: key_revoke
UPDATE gateway_api_keys SET revoked_at = now()
WHERE key_id = %(key_id)s AND revoked_at IS NULL
RETURNING key_id;

-- name: feed_after
-- The alert feed from the alerts package's table, whatever its columns: the
-- whole row travels as JSON so new columns reach clients without a change here.
SELECT e.id, to_jsonb(e) FROM alert_events e
WHERE e.id > %(after)s ORDER BY e.id LIMIT %(limit)s;

-- name: feed_head
SELECT coalesce(max(id), 0) FROM alert_events;

-- name: webhook_insert
INSERT INTO gateway_webhooks (url, secret, last_event_id)
VALUES (%(url)s, %(secret)s, %(from_id)s)
RETURNING id, url, active, last_event_id, created_at;

-- name: webhook_list
SELECT id, url, active, last_event_id, created_at FROM gateway_webhooks ORDER BY id;

-- name: webhook_active
SELECT id, url, secret, last_event_id FROM gateway_webhooks WHERE active ORDER BY id;

-- name: webhook_deactivate
UPDATE gateway_webhooks SET active = false WHERE id = %(id)s RETURNING id;

-- name: webhook_advance
UPDATE gateway_webhooks SET last_event_id = %(event_id)s
WHERE id = %(id)s AND last_event_id < %(event_id)s;

-- name: delivery_insert
INSERT INTO gateway_webhook_deliveries (webhook_id, event_id, attempt, status_code, ok, error)
VALUES (%(webhook_id)s, %(event_id)s, %(attempt)s, %(status_code)s, %(ok)s, %(error)s);

-- name: delivery_list
SELECT id, webhook_id, event_id, attempt, attempted_at, status_code, ok, error
FROM gateway_webhook_deliveries WHERE webhook_id = %(webhook_id)s
ORDER BY id DESC LIMIT %(limit)s OFFSET %(offset)s;

-- ---------------------------------------------------------------------------
-- Registry listings (read-only; changes go through collateral's functions).
-- ---------------------------------------------------------------------------

-- name: borrowers_page
SELECT id, name, industry, region, officer FROM borrowers
WHERE (%(region)s::text IS NULL OR region = %(region)s)
  AND (%(industry)s::text IS NULL OR industry = %(industry)s)
  AND (%(officer)s::text IS NULL OR officer = %(officer)s)
ORDER BY id LIMIT %(limit)s OFFSET %(offset)s;

-- name: borrower_get
SELECT id, name, industry, region, officer FROM borrowers WHERE id = %(id)s;

-- name: loans_page
SELECT id, borrower_id, amount::float8 AS amount, currency, product, start_date, end_date, status
FROM loans
WHERE (%(borrower_id)s::text IS NULL OR borrower_id = %(borrower_id)s)
  AND (%(status)s::text IS NULL OR status = %(status)s)
ORDER BY id LIMIT %(limit)s OFFSET %(offset)s;

-- name: loan_get
SELECT id, borrower_id, amount::float8 AS amount, currency, product, start_date, end_date, status
FROM loans WHERE id = %(id)s;

-- name: assets_page
SELECT id, borrower_id, class, name, identity, declared, stationary FROM assets
WHERE (%(borrower_id)s::text IS NULL OR borrower_id = %(borrower_id)s)
  AND (%(class)s::text IS NULL OR class = %(class)s)
ORDER BY id LIMIT %(limit)s OFFSET %(offset)s;

-- name: asset_get
SELECT id, borrower_id, class, name, identity, declared, stationary FROM assets WHERE id = %(id)s;

-- name: terminals_page
SELECT device_id, protocol, jt808_phone, mmsi, dev_eui, aemp_serial, expected_interval_s,
       satellite, device_profile
FROM terminals
WHERE (%(protocol)s::text IS NULL OR protocol = %(protocol)s)
ORDER BY device_id LIMIT %(limit)s OFFSET %(offset)s;

-- name: terminal_get
SELECT device_id, protocol, jt808_phone, mmsi, dev_eui, aemp_serial, expected_interval_s,
       satellite, device_profile
FROM terminals WHERE device_id = %(id)s;

-- name: bindings_page
SELECT id, device_id, asset_id, valid_from, valid_to, by_user, reason FROM bindings
WHERE (%(asset_id)s::text IS NULL OR asset_id = %(asset_id)s)
  AND (%(device_id)s::text IS NULL OR device_id = %(device_id)s)
  AND (NOT %(active)s OR valid_to IS NULL)
ORDER BY id LIMIT %(limit)s OFFSET %(offset)s;

-- name: pledges_page
SELECT id, asset_id, loan_id, valid_from, valid_to, by_user, reason FROM pledges
WHERE (%(asset_id)s::text IS NULL OR asset_id = %(asset_id)s)
  AND (%(loan_id)s::text IS NULL OR loan_id = %(loan_id)s)
  AND (NOT %(active)s OR valid_to IS NULL)
ORDER BY id LIMIT %(limit)s OFFSET %(offset)s;

-- name: zones_page
SELECT id, asset_id, kind, name, buffer_m, geometry FROM zones
WHERE (%(asset_id)s::text IS NULL OR asset_id = %(asset_id)s)
  AND (%(kind)s::text IS NULL OR kind = %(kind)s)
ORDER BY id LIMIT %(limit)s OFFSET %(offset)s;

-- name: zone_get
SELECT id, asset_id, kind, name, buffer_m, geometry FROM zones WHERE id = %(id)s;

-- name: asset_devices
-- Terminals bound to an asset at any time (newest binding first), for its track.
SELECT device_id, valid_from, valid_to FROM bindings
WHERE asset_id = %(asset_id)s ORDER BY valid_from DESC;

-- name: latest_json
-- Latest state of every asset with an active binding, as one JSON document built
-- by the server: 10,000 assets in one round trip with no per-row Python work.
SELECT coalesce(json_agg(json_build_object(
    'asset_id', b.asset_id, 'device_id', l.device_id, 'ts', l.ts,
    'received_at', l.last_received_at, 'lat', l.lat, 'lon', l.lon,
    'speed_kmh', l.speed_kmh, 'heading_deg', l.heading_deg, 'ignition', l.ignition,
    'engine_on', l.engine_on, 'engine_hours', l.engine_hours, 'battery_v', l.battery_v,
    'ext_power', l.ext_power, 'tamper', l.tamper, 'metrics', l.metrics
) ORDER BY b.asset_id), '[]')::text
FROM bindings b JOIN latest_state l ON l.device_id = b.device_id
WHERE b.valid_to IS NULL
  AND (%(asset_ids)s::text[] IS NULL OR b.asset_id = ANY(%(asset_ids)s));

-- name: latest_one_naive
-- Baseline for the benchmark: one asset at a time, as a naive client would ask.
SELECT l.device_id, l.ts, l.lat, l.lon, l.speed_kmh
FROM bindings b JOIN latest_state l ON l.device_id = b.device_id
WHERE b.valid_to IS NULL AND b.asset_id = %(asset_id)s;

-- ---------------------------------------------------------------------------
-- Dead letters (telemetry's table) and quarantine (ingest's table).
-- ---------------------------------------------------------------------------

-- name: dead_letters_page
SELECT id, received_at, topic, reason, stage, device_id, length(payload) AS payload_bytes
FROM dead_letters
WHERE (%(stage)s::text IS NULL OR stage = %(stage)s)
  AND (%(device_id)s::text IS NULL OR device_id = %(device_id)s)
ORDER BY id DESC LIMIT %(limit)s OFFSET %(offset)s;

-- name: dead_letter_get
SELECT id, received_at, topic, reason, stage, device_id, payload FROM dead_letters
WHERE id = %(id)s;

-- name: quarantine_page
SELECT id, received_at, topic, id_kind, identifier, reason, released_at,
       length(payload) AS payload_bytes
FROM quarantine
WHERE (%(pending)s IS FALSE OR released_at IS NULL)
  AND (%(identifier)s::text IS NULL OR identifier = %(identifier)s)
ORDER BY id DESC LIMIT %(limit)s OFFSET %(offset)s;

-- name: quarantine_get
SELECT id, received_at, topic, id_kind, identifier, reason, released_at, payload
FROM quarantine WHERE id = %(id)s;

-- ---------------------------------------------------------------------------
-- Alerts (alerts' table) joined to the registry for filtering and display.
-- ---------------------------------------------------------------------------

-- name: alerts_page
-- Filters are optional (NULL = any). Newest activity first; the first page
-- reads the last_seen order of at most limit+1 matching rows.
SELECT a.id, a.asset_id, a.device_id, a.kind, a.level, a.peak_level, a.status, a.outcome,
       a.note, a.assignee, a.first_seen, a.last_seen, a.count, a.acknowledged_at,
       a.resolved_at, a.resolved_by, s.name AS asset_name, s.class AS asset_class,
       b.id AS borrower_id, b.name AS borrower_name, b.region, b.industry, b.officer
FROM alerts a
LEFT JOIN assets s ON s.id = a.asset_id
LEFT JOIN borrowers b ON b.id = s.borrower_id
WHERE (%(level)s::text[] IS NULL OR a.level = ANY(%(level)s))
  AND (%(statuses)s::text[] IS NULL OR a.status = ANY(%(statuses)s))
  AND (%(kind)s::text IS NULL OR a.kind = %(kind)s)
  AND (%(asset_id)s::text IS NULL OR a.asset_id = %(asset_id)s)
  AND (%(borrower_id)s::text IS NULL OR b.id = %(borrower_id)s)
  AND (%(region)s::text IS NULL OR b.region = %(region)s)
  AND (%(industry)s::text IS NULL OR b.industry = %(industry)s)
  AND (%(officer)s::text IS NULL OR b.officer = %(officer)s)
  AND (%(assignee)s::text IS NULL OR a.assignee = %(assignee)s)
  AND (%(since)s::timestamptz IS NULL OR a.last_seen >= %(since)s)
  AND (%(until)s::timestamptz IS NULL OR a.first_seen < %(until)s)
ORDER BY a.last_seen DESC, a.id DESC
LIMIT %(limit)s OFFSET %(offset)s;

-- name: alert_get
SELECT a.*, s.name AS asset_name, s.class AS asset_class,
       b.id AS borrower_id, b.name AS borrower_name, b.region, b.industry, b.officer
FROM alerts a
LEFT JOIN assets s ON s.id = a.asset_id
LEFT JOIN borrowers b ON b.id = s.borrower_id
WHERE a.id = %(id)s;

-- name: alert_history
SELECT id, event, event_ts, at, level, status, payload FROM alert_events
WHERE alert_id = %(id)s ORDER BY id;

-- name: alert_pledges
-- Loans the alert's asset is pledged to now (exposure shown with the alert).
SELECT l.id AS loan_id, l.product, l.amount::float8 AS amount, l.currency, l.status
FROM pledges p JOIN loans l ON l.id = p.loan_id
WHERE p.asset_id = %(asset_id)s AND p.valid_to IS NULL ORDER BY l.id;

-- name: portfolio_concentration
-- Open (unresolved) alerts by one registry dimension and the asset's worst
-- level, with the exposure of the loans those assets are pledged to. Each
-- loan counts once per (group, level) however many of its assets alert.
WITH worst AS (
    SELECT asset_id,
           (ARRAY['watch', 'yellow', 'orange', 'red'])[max(CASE level
                WHEN 'red' THEN 4 WHEN 'orange' THEN 3 WHEN 'yellow' THEN 2 ELSE 1 END)] AS level,
           count(*) AS open_alerts
    FROM alerts WHERE status <> 'resolved' GROUP BY asset_id
), exposed AS (
    SELECT w.asset_id, w.level, w.open_alerts, b.region, b.industry, b.officer,
           l.id AS loan_id, l.product, l.amount
    FROM worst w
    JOIN assets s ON s.id = w.asset_id
    JOIN borrowers b ON b.id = s.borrower_id
    LEFT JOIN pledges p ON p.asset_id = w.asset_id AND p.valid_to IS NULL
    LEFT JOIN loans l ON l.id = p.loan_id
), grouped AS (
    SELECT CASE %(by)s WHEN 'region' THEN region WHEN 'industry' THEN industry
                       WHEN 'officer' THEN officer ELSE product END AS grp,
           level, asset_id, open_alerts, loan_id, amount
    FROM exposed
)
SELECT grp AS "group", level,
       (SELECT sum(x.open_alerts) FROM (SELECT DISTINCT g2.asset_id, g2.open_alerts FROM grouped g2
            WHERE g2.grp IS NOT DISTINCT FROM g.grp AND g2.level = g.level) x)::int AS open_alerts,
       count(DISTINCT asset_id)::int AS assets,
       count(DISTINCT loan_id)::int AS loans,
       coalesce((SELECT sum(y.amount) FROM (SELECT DISTINCT g3.loan_id, g3.amount FROM grouped g3
            WHERE g3.grp IS NOT DISTINCT FROM g.grp AND g3.level = g.level) y), 0)::float8 AS exposure
FROM grouped g
GROUP BY grp, level
ORDER BY CASE level WHEN 'red' THEN 1 WHEN 'orange' THEN 2 WHEN 'yellow' THEN 3 ELSE 4 END,
         exposure DESC, grp;

-- name: report_insert
INSERT INTO gateway_provenance_reports (id, asset_id, created_by, report_sha256, report)
VALUES (%(id)s, %(asset_id)s, %(created_by)s, %(sha)s, %(report)s)
RETURNING id, asset_id, created_at, created_by, report_sha256;

-- name: report_get
SELECT id, asset_id, created_at, created_by, report_sha256, report
FROM gateway_provenance_reports WHERE id = %(id)s;

-- name: reports_page
SELECT id, asset_id, created_at, created_by, report_sha256 FROM gateway_provenance_reports
WHERE (%(asset_id)s::text IS NULL OR asset_id = %(asset_id)s)
ORDER BY created_at DESC, id LIMIT %(limit)s OFFSET %(offset)s;

-- name: latest_token
-- What the cached latest-state document depends on, read in one snapshot:
-- the snapshot's oldest running transaction (rows written by older ones are
-- settled), and fingerprints of the bindings and of the set of devices (one
-- scan of each table).
SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS snap_xmin,
       b.active, b.all_rows, b.xmin_sum, d.devices, d.devices_sum
FROM (SELECT count(*) FILTER (WHERE valid_to IS NULL) AS active, count(*) AS all_rows,
             coalesce(sum(xmin::text::bigint), 0) AS xmin_sum
      FROM bindings) b,
     (SELECT count(*) AS devices, coalesce(sum(hashtext(device_id)::bigint), 0) AS devices_sum
      FROM latest_state) d;

-- name: latest_fragments
-- One JSON object per asset with an active binding, with the statement's
-- snapshot xmin on every row. `since` (a 32-bit transaction id) limits the
-- rows to those written by transactions not yet settled at the last read.
SELECT b.asset_id, json_build_object(
    'asset_id', b.asset_id, 'device_id', l.device_id, 'ts', l.ts,
    'received_at', l.last_received_at, 'lat', l.lat, 'lon', l.lon,
    'speed_kmh', l.speed_kmh, 'heading_deg', l.heading_deg, 'ignition', l.ignition,
    'engine_on', l.engine_on, 'engine_hours', l.engine_hours, 'battery_v', l.battery_v,
    'ext_power', l.ext_power, 'tamper', l.tamper, 'metrics', l.metrics
)::text
FROM bindings b JOIN latest_state l ON l.device_id = b.device_id
WHERE b.valid_to IS NULL
  AND (%(since)s::bigint IS NULL OR l.xmin::text::bigint >= %(since)s);

-- name: webhook_leader
-- One dispatcher per database delivers: several gateway processes must not
-- post the same event twice. The lock is held by the dispatcher's session.
SELECT pg_try_advisory_lock(%(key)s);

-- name: webhook_unlock
SELECT pg_advisory_unlock(%(key)s);
