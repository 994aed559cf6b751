-- Named queries of the collateral package (loaded with telemetry.sqlfiles.query).

-- ===================================================================== audit
-- name: audit_head_lock
SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE;

-- name: audit_head_read
SELECT seq, hash FROM audit_head WHERE id = 1;

-- name: audit_head_advance
UPDATE audit_head SET seq = %(seq)s, hash = %(hash)s WHERE id = 1;

-- name: audit_copy
COPY audit_log (seq, at, actor, action, entity_type, entity_id, data, body, prev_hash, hash)
FROM STDIN;

-- name: audit_scan
SELECT seq, at, actor, action, entity_type, entity_id, prev_hash, hash, body,
       data = ((body::jsonb) -> 'data') AS data_matches
FROM audit_log
ORDER BY seq;

-- name: audit_entries_for
SELECT seq, at, actor, action, entity_type, entity_id, data, hash
FROM audit_log
WHERE entity_type = %(entity_type)s AND entity_id = %(entity_id)s
ORDER BY seq;

-- ================================================================== registry
-- name: borrowers_all
SELECT id, name, industry, region, officer FROM borrowers ORDER BY id;

-- name: loans_all
SELECT id, borrower_id, amount, currency, product, start_date, end_date, status
FROM loans ORDER BY id;

-- name: device_profiles_all
SELECT name, mapping FROM device_profiles ORDER BY name;

-- name: assets_all
SELECT id, borrower_id, class, name, identity, declared, stationary FROM assets ORDER BY id;

-- name: terminals_all
SELECT device_id, protocol, jt808_phone, mmsi, dev_eui, aemp_serial, expected_interval_s,
       satellite, device_profile, secret_hash
FROM terminals ORDER BY device_id;

-- name: bindings_all
SELECT id, device_id, asset_id, valid_from, valid_to, by_user, reason
FROM bindings ORDER BY device_id, valid_from, id;

-- name: pledges_all
SELECT id, asset_id, loan_id, valid_from, valid_to, by_user, reason
FROM pledges ORDER BY asset_id, valid_from, id;

-- name: zones_all
SELECT id, asset_id, kind, name, buffer_m, geometry FROM zones ORDER BY id;

-- name: borrowers_copy
COPY borrowers (id, name, industry, region, officer) FROM STDIN;

-- name: borrower_update
UPDATE borrowers SET name = %(name)s, industry = %(industry)s, region = %(region)s,
       officer = %(officer)s
WHERE id = %(id)s;

-- name: loans_copy
COPY loans (id, borrower_id, amount, currency, product, start_date, end_date, status) FROM STDIN;

-- name: loan_update
UPDATE loans SET borrower_id = %(borrower_id)s, amount = %(amount)s, currency = %(currency)s,
       product = %(product)s, start_date = %(start_date)s, end_date = %(end_date)s,
       status = %(status)s
WHERE id = %(id)s;

-- name: device_profiles_copy
COPY device_profiles (name, mapping) FROM STDIN;

-- name: device_profile_update
UPDATE device_profiles SET mapping = %(mapping)s WHERE name = %(name)s;

-- name: assets_copy
COPY assets (id, borrower_id, class, name, identity, declared, stationary) FROM STDIN;

-- name: asset_update
UPDATE assets SET borrower_id = %(borrower_id)s, class = %(class_)s, name = %(name)s,
       identity = %(identity)s, declared = %(declared)s, stationary = %(stationary)s
WHERE id = %(id)s;

-- name: terminals_copy
COPY terminals (device_id, protocol, jt808_phone, mmsi, dev_eui, aemp_serial,
                expected_interval_s, satellite, device_profile, secret_hash) FROM STDIN;

-- name: terminal_update
UPDATE terminals SET protocol = %(protocol)s, jt808_phone = %(jt808_phone)s, mmsi = %(mmsi)s,
       dev_eui = %(dev_eui)s, aemp_serial = %(aemp_serial)s,
       expected_interval_s = %(expected_interval_s)s, satellite = %(satellite)s,
       device_profile = %(device_profile)s, secret_hash = %(secret_hash)s
WHERE device_id = %(device_id)s;

-- name: bindings_copy
COPY bindings (device_id, asset_id, valid_from, valid_to, by_user, reason) FROM STDIN;

-- name: binding_close
UPDATE bindings SET valid_to = %(valid_to)s, closed_by = %(closed_by)s,
       close_reason = %(close_reason)s
WHERE id = %(id)s AND valid_to IS NULL;

-- name: pledges_copy
COPY pledges (asset_id, loan_id, valid_from, valid_to, by_user, reason) FROM STDIN;

-- name: pledge_close
UPDATE pledges SET valid_to = %(valid_to)s, closed_by = %(closed_by)s,
       close_reason = %(close_reason)s
WHERE id = %(id)s AND valid_to IS NULL;

-- name: zones_copy
COPY zones (id, asset_id, kind, name, buffer_m, geometry) FROM STDIN;

-- name: zone_update
UPDATE zones SET asset_id = %(asset_id)s, kind = %(kind)s, name = %(name)s,
       buffer_m = %(buffer_m)s, geometry = %(geometry)s, updated_at = now()
WHERE id = %(id)s;

-- name: zone_delete
DELETE FROM zones WHERE id = %(id)s;

-- name: conflict_flag
INSERT INTO registry_conflicts (kind, key, asset_ids, loan_ids, device_id, detail)
VALUES (%(kind)s, %(key)s, %(asset_ids)s, %(loan_ids)s, %(device_id)s, %(detail)s);

-- name: registry_lock
SELECT pg_advisory_xact_lock(7367227781);

-- ==================================================================== lookups
-- name: bindings_open
SELECT device_id, asset_id, valid_from FROM bindings
WHERE valid_from <= %(at)s AND (valid_to IS NULL OR valid_to > %(at)s)
ORDER BY device_id, valid_from;

-- name: bindings_of_asset
SELECT id, device_id, asset_id, valid_from, valid_to, by_user, reason, closed_by, close_reason
FROM bindings WHERE asset_id = %(asset_id)s ORDER BY valid_from, id;

-- name: pledges_of_asset
SELECT p.id, p.asset_id, p.loan_id, p.valid_from, p.valid_to, p.by_user, p.reason,
       p.closed_by, p.close_reason, l.borrower_id, l.status, l.amount, l.currency, l.product
FROM pledges p JOIN loans l ON l.id = p.loan_id
WHERE p.asset_id = ANY(%(asset_ids)s) ORDER BY p.valid_from, p.id;

-- name: asset_one
SELECT a.id, a.borrower_id, a.class, a.name, a.identity, a.declared, a.stationary,
       b.name, b.industry, b.region, b.officer
FROM assets a JOIN borrowers b ON b.id = a.borrower_id WHERE a.id = %(asset_id)s;

-- name: terminals_of
SELECT device_id, protocol, jt808_phone, mmsi, dev_eui, aemp_serial, expected_interval_s,
       satellite, device_profile, secret_hash
FROM terminals WHERE device_id = ANY(%(device_ids)s) ORDER BY device_id;

-- ================================================================ provenance
-- Hourly rollups of one device over [start, end) (plain view or Timescale
-- continuous aggregate, same columns).
-- name: prov_hourly
SELECT bucket, readings, moving_minutes, operating_minutes, distance_m, max_speed_kmh,
       first_ts, last_ts, first_lat, first_lon, last_lat, last_lon,
       engine_hours_first, engine_hours_last, avg_activity, avg_power_kw,
       energy_kwh_first, energy_kwh_last, fuel_used_l_first, fuel_used_l_last,
       idle_hours_first, idle_hours_last, avg_load_pct, avg_body_temp_c, min_battery_v
FROM readings_hourly
WHERE device_id = %(device_id)s AND bucket >= %(start)s AND bucket < %(end)s
ORDER BY bucket;

-- The same rows computed from raw readings: the benchmark's baseline.
-- name: prov_hourly_raw
-- Same aggregate list as telemetry's readings_hourly (0002_hourly_rollups.*.sql),
-- grouped on the fly; tests check both give the same report.
SELECT date_trunc('hour', ts) AS bucket,
    count(*)::bigint,
    aw_minutes_of(array_agg(ARRAY[extract(epoch FROM ts)::float8,
                                  (coalesce(speed_kmh >= 3.0, false))::int::float8,
                                  (coalesce(engine_on, ignition, (metrics->>'power_kw')::float8 > 0, false))::int::float8,
                                  lat, lon]
                            ORDER BY ts, coalesce(speed_kmh >= 3.0, false),
                                     coalesce(engine_on, ignition, (metrics->>'power_kw')::float8 > 0, false),
                                     lat, lon), 2),
    aw_minutes_of(array_agg(ARRAY[extract(epoch FROM ts)::float8,
                                  (coalesce(speed_kmh >= 3.0, false))::int::float8,
                                  (coalesce(engine_on, ignition, (metrics->>'power_kw')::float8 > 0, false))::int::float8,
                                  lat, lon]
                            ORDER BY ts, coalesce(speed_kmh >= 3.0, false),
                                     coalesce(engine_on, ignition, (metrics->>'power_kw')::float8 > 0, false),
                                     lat, lon), 3),
    aw_path_of(array_agg(ARRAY[extract(epoch FROM ts)::float8,
                               (coalesce(speed_kmh >= 3.0, false))::int::float8,
                               (coalesce(engine_on, ignition, (metrics->>'power_kw')::float8 > 0, false))::int::float8,
                               lat, lon]
                         ORDER BY ts, coalesce(speed_kmh >= 3.0, false),
                                  coalesce(engine_on, ignition, (metrics->>'power_kw')::float8 > 0, false),
                                  lat, lon)),
    max(speed_kmh), min(ts), max(ts),
    (min(ARRAY[extract(epoch FROM ts)::float8, lat, lon]) FILTER (WHERE lat IS NOT NULL AND lon IS NOT NULL))[2],
    (min(ARRAY[extract(epoch FROM ts)::float8, lat, lon]) FILTER (WHERE lat IS NOT NULL AND lon IS NOT NULL))[3],
    (max(ARRAY[extract(epoch FROM ts)::float8, lat, lon]) FILTER (WHERE lat IS NOT NULL AND lon IS NOT NULL))[2],
    (max(ARRAY[extract(epoch FROM ts)::float8, lat, lon]) FILTER (WHERE lat IS NOT NULL AND lon IS NOT NULL))[3],
    (min(ARRAY[extract(epoch FROM ts)::float8, engine_hours]) FILTER (WHERE engine_hours IS NOT NULL))[2],
    (max(ARRAY[extract(epoch FROM ts)::float8, engine_hours]) FILTER (WHERE engine_hours IS NOT NULL))[2],
    avg((metrics->>'activity')::float8),
    avg((metrics->>'power_kw')::float8),
    (min(ARRAY[extract(epoch FROM ts)::float8, (metrics->>'energy_kwh')::float8]) FILTER (WHERE (metrics->>'energy_kwh') IS NOT NULL))[2],
    (max(ARRAY[extract(epoch FROM ts)::float8, (metrics->>'energy_kwh')::float8]) FILTER (WHERE (metrics->>'energy_kwh') IS NOT NULL))[2],
    (min(ARRAY[extract(epoch FROM ts)::float8, (metrics->>'fuel_used_l')::float8]) FILTER (WHERE (metrics->>'fuel_used_l') IS NOT NULL))[2],
    (max(ARRAY[extract(epoch FROM ts)::float8, (metrics->>'fuel_used_l')::float8]) FILTER (WHERE (metrics->>'fuel_used_l') IS NOT NULL))[2],
    (min(ARRAY[extract(epoch FROM ts)::float8, (metrics->>'idle_hours')::float8]) FILTER (WHERE (metrics->>'idle_hours') IS NOT NULL))[2],
    (max(ARRAY[extract(epoch FROM ts)::float8, (metrics->>'idle_hours')::float8]) FILTER (WHERE (metrics->>'idle_hours') IS NOT NULL))[2],
    avg((metrics->>'load_pct')::float8),
    avg((metrics->>'body_temp_c')::float8),
    min(battery_v)
FROM readings
WHERE device_id = %(device_id)s AND ts >= %(start)s AND ts < %(end)s
GROUP BY 1
ORDER BY 1;

-- Tamper and alarm readings (served by readings_flagged_idx).
-- name: prov_flagged
SELECT ts, tamper, alarms, ext_power, battery_v
FROM readings
WHERE device_id = %(device_id)s AND ts >= %(start)s AND ts < %(end)s
  AND (tamper IS TRUE OR cardinality(alarms) > 0)
ORDER BY ts
LIMIT 10000;

-- Evidence: SHA-256 per (terminal, hour) over the canonical text of each raw
-- reading, one line per reading in (ts, dedup_key) order. Floats print in
-- PostgreSQL's shortest exact form, jsonb in its normalised form, NULL as ''.
-- name: prov_hour_digests
SELECT date_trunc('hour', r.ts) AS bucket, count(*),
       encode(sha256(convert_to(string_agg(concat_ws('|',
           r.device_id, (extract(epoch FROM r.ts) * 1000000)::bigint, r.seq, r.lat, r.lon,
           r.alt_m, r.speed_kmh, r.heading_deg, r.hdop, r.sats, r.ignition, r.engine_on,
           r.engine_hours, r.odometer_km, r.fuel_pct, r.battery_v, r.ext_power, r.tamper,
           r.alarms::text, r.metrics::text, r.source, r.dedup_key),
           E'\n' ORDER BY r.ts, r.dedup_key), 'UTF8')), 'hex')
FROM readings r
WHERE r.device_id = %(device_id)s AND r.ts >= %(start)s AND r.ts < %(end)s
GROUP BY 1
ORDER BY 1;

-- name: prov_seals
SELECT bucket, readings, sha256 FROM evidence_seals
WHERE device_id = %(device_id)s AND bucket >= %(start)s AND bucket < %(end)s
ORDER BY bucket;

-- name: prov_seal_insert
INSERT INTO evidence_seals (device_id, bucket, readings, sha256)
SELECT %(device_id)s, u.bucket, u.readings, u.sha256
FROM unnest(%(buckets)s::timestamptz[], %(counts)s::bigint[], %(hashes)s::text[])
     AS u (bucket, readings, sha256)
ON CONFLICT (device_id, bucket) DO NOTHING;

-- name: prov_has_alerts
SELECT to_regclass('alerts') IS NOT NULL;

-- name: prov_alerts
SELECT id, kind, level, peak_level, status, outcome, first_seen, last_seen, count, device_id
FROM alerts
WHERE asset_id = %(asset_id)s AND last_seen >= %(start)s AND first_seen < %(end)s
ORDER BY first_seen, id;
