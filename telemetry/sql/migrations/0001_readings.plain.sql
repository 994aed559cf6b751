-- Plain PostgreSQL: readings arrive roughly in time order, so a BRIN index on
-- ts serves time-only scans (status, retention) at a tiny fraction of a btree's
-- size and insert cost; per-device ranges use the unique (device_id, ts, key) index.
CREATE INDEX readings_ts_brin ON readings USING brin (ts) WITH (pages_per_range = 32);
