-- collateral: per-(terminal, hour) SHA-256 seals of the raw readings, written
-- the first time a provenance report covers an hour older than the seal lag.
-- A report's readings digest is computed from these seals (plus live digests of
-- recent hours), so it costs milliseconds instead of re-reading every reading;
-- `provenance verify` always recomputes from the readings themselves.
-- Append-only, like the audit log.
CREATE TABLE IF NOT EXISTS evidence_seals (
    device_id text COLLATE "C" NOT NULL,
    bucket    timestamptz NOT NULL,
    readings  bigint NOT NULL,
    sha256    text NOT NULL,
    sealed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (device_id, bucket)
);

CREATE OR REPLACE FUNCTION collateral_forbid_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only (% refused)', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

DROP TRIGGER IF EXISTS evidence_seals_no_update ON evidence_seals;
CREATE TRIGGER evidence_seals_no_update BEFORE UPDATE OR DELETE ON evidence_seals
    FOR EACH ROW EXECUTE FUNCTION collateral_forbid_change();
DROP TRIGGER IF EXISTS evidence_seals_no_truncate ON evidence_seals;
CREATE TRIGGER evidence_seals_no_truncate BEFORE TRUNCATE ON evidence_seals
    FOR EACH STATEMENT EXECUTE FUNCTION collateral_forbid_change();
