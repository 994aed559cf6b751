-- collateral: a partial index so a provenance report finds an asset's tamper
-- and alarm readings without scanning its months of ordinary readings.
CREATE INDEX IF NOT EXISTS readings_flagged_idx ON readings (device_id, ts)
    WHERE tamper IS TRUE OR cardinality(alarms) > 0;
