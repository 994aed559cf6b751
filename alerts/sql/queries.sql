-- Named queries of the alerts package (loaded with telemetry.sqlfiles.query).

-- name: lock_asset_kind
SELECT pg_advisory_xact_lock(hashtextextended(%(asset_id)s || '/' || %(kind)s, 0));

-- name: lock_feed
SELECT pg_advisory_xact_lock(7392001);

-- name: open_alert_for_update
SELECT id, level, peak_level, status, count, condition_ended_at, last_seen, device_id
FROM alerts
WHERE asset_id = %(asset_id)s AND kind = %(kind)s AND status <> 'resolved'
FOR UPDATE;

-- name: last_closed_alert
SELECT id, coalesce(cleared_at, resolved_at) AS closed_at, status
FROM alerts
WHERE asset_id = %(asset_id)s AND kind = %(kind)s AND status = 'resolved'
ORDER BY id DESC
LIMIT 1;

-- name: insert_alert
INSERT INTO alerts (asset_id, device_id, kind, level, peak_level, status, first_seen, last_seen,
                    condition_since, count, evidence)
VALUES (%(asset_id)s, %(device_id)s, %(kind)s, %(level)s, %(level)s, 'open', %(ts)s, %(ts)s,
        %(since)s, 1, %(evidence)s)
RETURNING id;

-- name: update_alert_active
UPDATE alerts
SET level = %(level)s,
    peak_level = %(peak_level)s,
    last_seen = greatest(last_seen, %(ts)s),
    count = count + %(recur)s,
    condition_ended_at = NULL,
    device_id = coalesce(%(device_id)s, device_id),
    evidence = %(evidence)s,
    updated_at = now()
WHERE id = %(id)s;

-- name: update_alert_ended
UPDATE alerts
SET condition_ended_at = %(ts)s, last_seen = greatest(last_seen, %(ts)s), updated_at = now()
WHERE id = %(id)s AND condition_ended_at IS NULL;

-- name: clear_due
UPDATE alerts
SET status = 'resolved', cleared_at = %(now)s, resolved_at = coalesce(resolved_at, %(now)s),
    resolved_by = coalesce(resolved_by, 'system'), updated_at = now()
WHERE status <> 'resolved' AND condition_ended_at IS NOT NULL
  AND condition_ended_at <= %(before)s
RETURNING id, asset_id, kind, level;

-- name: insert_event
INSERT INTO alert_events (alert_id, event, event_ts, asset_id, kind, level, status, payload)
VALUES (%(alert_id)s, %(event)s, %(event_ts)s, %(asset_id)s, %(kind)s, %(level)s, %(status)s,
        %(payload)s)
RETURNING id;

-- name: get_alert
SELECT id, asset_id, device_id, kind, level, peak_level, status, outcome, note, assignee,
       first_seen, last_seen, condition_since, condition_ended_at, count, cleared_at,
       acknowledged_at, resolved_at, resolved_by, evidence
FROM alerts WHERE id = %(id)s;

-- name: get_alert_for_update
SELECT id, asset_id, kind, level, status FROM alerts WHERE id = %(id)s FOR UPDATE;

-- name: acknowledge_alert
UPDATE alerts
SET status = 'acknowledged', acknowledged_at = %(now)s,
    assignee = coalesce(%(assignee)s, assignee), note = coalesce(%(note)s, note),
    updated_at = now()
WHERE id = %(id)s;

-- name: resolve_alert
UPDATE alerts
SET status = 'resolved', resolved_at = %(now)s, resolved_by = %(actor)s, outcome = %(outcome)s,
    assignee = coalesce(%(assignee)s, assignee), note = coalesce(%(note)s, note),
    updated_at = now()
WHERE id = %(id)s;

-- name: set_outcome
UPDATE alerts
SET outcome = %(outcome)s, note = coalesce(%(note)s, note),
    assignee = coalesce(%(assignee)s, assignee), updated_at = now()
WHERE id = %(id)s;

-- name: outcomes_by_kind
SELECT kind,
       count(*)                                           AS alerts,
       count(*) FILTER (WHERE outcome = 'confirmed')      AS confirmed,
       count(*) FILTER (WHERE outcome = 'false_alarm')    AS false_alarm,
       count(*) FILTER (WHERE outcome = 'explained')      AS explained
FROM alerts GROUP BY kind ORDER BY kind;

-- name: events_after
SELECT id, alert_id, event, event_ts, at, asset_id, kind, level, status, payload
FROM alert_events WHERE id > %(after)s ORDER BY id LIMIT %(limit)s;

-- name: raised_events
SELECT e.asset_id, e.kind, e.event_ts, e.level, a.device_id, e.alert_id
FROM alert_events e JOIN alerts a ON a.id = e.alert_id
WHERE e.event IN ('raised', 'recurred')
ORDER BY e.id;

-- name: open_kinds
SELECT asset_id, kind FROM alerts WHERE status <> 'resolved' AND condition_ended_at IS NULL;

-- name: cursor_get
SELECT last_event_id FROM alert_publish_cursor WHERE name = %(name)s;

-- name: cursor_set
INSERT INTO alert_publish_cursor (name, last_event_id) VALUES (%(name)s, %(id)s)
ON CONFLICT (name) DO UPDATE SET last_event_id = EXCLUDED.last_event_id;

-- name: state_ensure
-- Rows for devices the detectors have not seen yet (locked by the insert itself).
INSERT INTO detector_state (device_id, state, version)
SELECT unnest(%(device_ids)s::text[]), '{}', 0
ON CONFLICT (device_id) DO NOTHING;

-- name: state_lock
-- Lock the batch's devices in device order (two workers never deadlock) and
-- read each row's version token only: the hook keeps states in memory.
SELECT device_id, version FROM detector_state
WHERE device_id = ANY(%(device_ids)s)
ORDER BY device_id
FOR UPDATE;

-- name: state_read
-- The states the hook does not hold at the version stored (already locked).
SELECT device_id, state FROM detector_state WHERE device_id = ANY(%(device_ids)s);

-- name: state_save
-- All of a batch's states in one statement (two parallel arrays): cheaper than a
-- temporary table + COPY + UPDATE for a few hundred rows of ~1.5 KB. The arrays
-- are sent in binary format: quoting JSON text into a text-format array literal
-- cost ten times the UPDATE itself.
UPDATE detector_state d SET state = u.state, version = %(version)s, updated_at = now()
FROM unnest(%(device_ids)b::text[], %(states)b::text[]) AS u(device_id, state)
WHERE d.device_id = u.device_id;

-- name: device_contexts
-- What the detectors need to know about each terminal: the asset it is bound to
-- now, the asset's class, stationary flag and declared season, its pledged zones,
-- and the terminal's cadence.
SELECT t.device_id, b.asset_id, a.class, coalesce(a.stationary, false),
       coalesce(a.declared -> 'season_months', '[]'::jsonb),
       t.expected_interval_s, t.satellite,
       coalesce((SELECT jsonb_agg(jsonb_build_object('id', z.id, 'buffer_m', z.buffer_m,
                                                     'geometry', z.geometry) ORDER BY z.id)
                 FROM zones z WHERE z.asset_id = b.asset_id AND z.kind = 'pledged'),
                '[]'::jsonb)
FROM terminals t
LEFT JOIN LATERAL (
    SELECT asset_id FROM bindings
    WHERE device_id = t.device_id AND valid_to IS NULL
    ORDER BY valid_from DESC LIMIT 1
) b ON true
LEFT JOIN assets a ON a.id = b.asset_id
WHERE t.device_id = ANY(%(device_ids)s);

-- name: all_device_ids
SELECT device_id FROM terminals ORDER BY device_id;

-- name: daily_rollups
-- Trailing 24-hour windows ending at %(now)s (day 0 = the last 24 h), per device.
-- The resting place of a day is the median last position of its hours without movement
-- (of all its hours when it never stood still, e.g. a grazing herd).
SELECT device_id,
       floor(extract(epoch FROM (%(now)s::timestamptz - bucket)) / 86400)::int AS day,
       sum(readings)::float8,
       sum(coalesce(operating_minutes, 0)),
       sum(coalesce(moving_minutes, 0)),
       sum(coalesce(distance_m, 0)),
       coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY last_lat)
                    FILTER (WHERE coalesce(moving_minutes, 0) = 0),
                percentile_cont(0.5) WITHIN GROUP (ORDER BY last_lat)),
       coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY last_lon)
                    FILTER (WHERE coalesce(moving_minutes, 0) = 0),
                percentile_cont(0.5) WITHIN GROUP (ORDER BY last_lon)),
       max(last_ts),
       sum(avg_power_kw)
FROM readings_hourly
WHERE bucket >= %(now)s::timestamptz - make_interval(days => %(days)s)
  AND bucket < %(now)s::timestamptz
GROUP BY 1, 2;

-- name: device_hourly
-- The naive baseline of the detect benchmark: one device's hourly rollups.
SELECT bucket, readings, operating_minutes, moving_minutes, distance_m, last_lat, last_lon,
       last_ts
FROM readings_hourly
WHERE device_id = %(device_id)s
  AND bucket >= %(now)s::timestamptz - make_interval(days => %(days)s)
  AND bucket < %(now)s::timestamptz
ORDER BY bucket;

-- name: registry_identities
SELECT a.id, a.identity FROM assets a
WHERE EXISTS (SELECT 1 FROM pledges p JOIN loans l ON l.id = p.loan_id
              WHERE p.asset_id = a.id AND l.status = 'active'
                AND p.valid_from <= %(now)s AND (p.valid_to IS NULL OR p.valid_to > %(now)s));

-- name: registry_active_bindings
SELECT device_id, asset_id, valid_from FROM bindings
WHERE valid_from <= %(now)s AND (valid_to IS NULL OR valid_to > %(now)s);

-- name: registry_flagged_conflicts
SELECT kind, key, asset_ids, device_id, detail FROM registry_conflicts;

-- name: asset_count
SELECT count(*) FROM assets;

-- name: assign_alert
UPDATE alerts
SET assignee = %(assignee)s, note = coalesce(%(note)s, note), updated_at = now()
WHERE id = %(id)s;
