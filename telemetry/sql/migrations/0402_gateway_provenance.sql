-- gateway: provenance reports as issued, so they can be fetched, printed and
-- verified later (collateral builds and verifies them; the gateway keeps them).
CREATE TABLE IF NOT EXISTS gateway_provenance_reports (
    id            text PRIMARY KEY,
    asset_id      text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    created_by    text NOT NULL,
    report_sha256 text NOT NULL,
    report        jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS gateway_provenance_reports_asset
    ON gateway_provenance_reports (asset_id, created_at DESC);
