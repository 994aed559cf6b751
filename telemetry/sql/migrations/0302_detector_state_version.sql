-- Streaming detector state: opaque checkpoint text (the hook writes compact JSON
-- and parses it itself: jsonb's parse and binary form doubled the cost of the
-- per-batch save) and a version token written with it, so an ingest process
-- that holds a device's state in memory reads the row's text only when
-- another writer (a shared-subscription peer, or a rolled-back batch) changed it.
ALTER TABLE detector_state ALTER COLUMN state TYPE text USING state::text;
ALTER TABLE detector_state ALTER COLUMN state SET DEFAULT '{}';
ALTER TABLE detector_state ADD COLUMN version bigint NOT NULL DEFAULT 0;
