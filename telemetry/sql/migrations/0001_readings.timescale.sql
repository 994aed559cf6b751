-- TimescaleDB: readings is a hypertable on event time. The chunk interval given
-- here is a starting value; `db init` applies the configured one
-- (ASSETWATCH_CHUNK_INTERVAL) with set_chunk_time_interval, as well as the
-- compression and retention policies, which depend on settings.
SELECT create_hypertable('readings', by_range('ts', INTERVAL '1 day'),
                         create_default_indexes => false);

-- Columnar compression: one segment per device, rows in time order inside it,
-- which is how every query reads them (a device's track, a device's hours).
ALTER TABLE readings SET (
    timescaledb.compress,
    timescaledb.compress_segmentby = 'device_id',
    timescaledb.compress_orderby = 'ts DESC, dedup_key'
);
