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
