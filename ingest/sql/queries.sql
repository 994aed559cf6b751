-- Named queries of the ingest package (loaded with telemetry.sqlfiles.query).

-- name: registry_terminals
SELECT t.device_id, t.protocol, t.jt808_phone, t.mmsi, t.dev_eui, t.aemp_serial,
       t.device_profile, p.mapping
FROM terminals t
LEFT JOIN device_profiles p ON p.name = t.device_profile;

-- name: registry_available
SELECT to_regclass('terminals') IS NOT NULL AND to_regclass('device_profiles') IS NOT NULL;

-- name: copy_quarantine
COPY quarantine (received_at, topic, payload, id_kind, identifier, reason) FROM STDIN;

-- name: quarantine_pending
SELECT id, received_at, topic, payload, id_kind, identifier
FROM quarantine
WHERE released_at IS NULL AND id > %(after)s
ORDER BY id
LIMIT %(limit)s
FOR UPDATE SKIP LOCKED;

-- name: quarantine_mark_released
UPDATE quarantine SET released_at = now(), release_note = %(note)s WHERE id = %(id)s;

-- name: quarantine_count
SELECT count(*) FROM quarantine WHERE released_at IS NULL;

-- name: dead_letter_count
SELECT count(*) FROM dead_letters;
