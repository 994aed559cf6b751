-- collateral: the bank's registry (borrowers, loans, assets, terminals), the
-- terminal<->asset bindings and asset<->loan pledges with their history, pledged
-- zones, device profiles, and the append-only audit chain.
--
-- Bindings and pledges are history rows: a change closes the open row (sets
-- valid_to, closed_by, close_reason) and opens a new one; nothing is deleted.
-- Double pledges are found by collateral.pledges.list_conflicts (identity keys
-- such as ear-tag ranges need more than an index can express).

CREATE TABLE IF NOT EXISTS borrowers (
    id         text PRIMARY KEY,
    name       text NOT NULL,
    industry   text,
    region     text,
    officer    text,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS loans (
    id          text PRIMARY KEY,
    borrower_id text NOT NULL REFERENCES borrowers (id),
    amount      numeric,
    currency    text,
    product     text,
    start_date  date,
    end_date    date,
    status      text NOT NULL DEFAULT 'active'
                CHECK (status IN ('pending', 'active', 'closed', 'defaulted', 'written_off')),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS assets (
    id          text PRIMARY KEY,
    borrower_id text NOT NULL REFERENCES borrowers (id),
    class       text NOT NULL CHECK (class IN ('vehicle', 'ship', 'farm', 'equipment')),
    name        text NOT NULL,
    identity    jsonb NOT NULL DEFAULT '{}'::jsonb,
    declared    jsonb NOT NULL DEFAULT '{}'::jsonb,
    stationary  boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS assets_borrower_idx ON assets (borrower_id);

CREATE TABLE IF NOT EXISTS device_profiles (
    name    text PRIMARY KEY,
    mapping jsonb NOT NULL
);

CREATE TABLE IF NOT EXISTS terminals (
    device_id           text PRIMARY KEY CHECK (device_id ~ '^[A-Za-z0-9_.-]{1,64}$'),
    protocol            text NOT NULL CHECK (protocol IN ('json', 'jt808', 'ais', 'lorawan', 'aemp')),
    jt808_phone         text UNIQUE CHECK (jt808_phone ~ '^[0-9]{12}$'),
    mmsi                text UNIQUE CHECK (mmsi ~ '^[0-9]{9}$'),
    dev_eui             text UNIQUE CHECK (dev_eui ~ '^[0-9a-f]{16}$'),
    aemp_serial         text UNIQUE,
    expected_interval_s integer NOT NULL DEFAULT 60 CHECK (expected_interval_s > 0),
    satellite           boolean NOT NULL DEFAULT false,
    device_profile      text REFERENCES device_profiles (name),
    secret_hash         text,
    created_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS bindings (
    id           bigserial PRIMARY KEY,
    device_id    text NOT NULL REFERENCES terminals (device_id),
    asset_id     text NOT NULL REFERENCES assets (id),
    valid_from   timestamptz NOT NULL,
    valid_to     timestamptz,
    by_user      text NOT NULL,
    reason       text NOT NULL DEFAULT '',
    closed_by    text,
    close_reason text,
    CHECK (valid_to IS NULL OR valid_to > valid_from)
);
CREATE INDEX IF NOT EXISTS bindings_device_idx ON bindings (device_id, valid_from);
CREATE INDEX IF NOT EXISTS bindings_asset_idx ON bindings (asset_id, valid_from);
CREATE INDEX IF NOT EXISTS bindings_open_idx ON bindings (device_id) WHERE valid_to IS NULL;

CREATE TABLE IF NOT EXISTS pledges (
    id           bigserial PRIMARY KEY,
    asset_id     text NOT NULL REFERENCES assets (id),
    loan_id      text NOT NULL REFERENCES loans (id),
    valid_from   timestamptz NOT NULL,
    valid_to     timestamptz,
    by_user      text NOT NULL,
    reason       text NOT NULL DEFAULT '',
    closed_by    text,
    close_reason text,
    CHECK (valid_to IS NULL OR valid_to > valid_from)
);
CREATE INDEX IF NOT EXISTS pledges_asset_idx ON pledges (asset_id, valid_from);
CREATE INDEX IF NOT EXISTS pledges_loan_idx ON pledges (loan_id);

CREATE TABLE IF NOT EXISTS zones (
    id         text PRIMARY KEY,
    asset_id   text NOT NULL REFERENCES assets (id),
    kind       text NOT NULL CHECK (kind IN ('pledged', 'base', 'region')),
    name       text NOT NULL DEFAULT '',
    buffer_m   double precision NOT NULL DEFAULT 0 CHECK (buffer_m >= 0),
    geometry   jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS zones_asset_idx ON zones (asset_id);

-- Flags raised when a double pledge or double binding was accepted on purpose
-- (import with allow_conflicts); the alerts engineer turns them into alerts.
CREATE TABLE IF NOT EXISTS registry_conflicts (
    id          bigserial PRIMARY KEY,
    kind        text NOT NULL CHECK (kind IN ('identity', 'asset', 'terminal')),
    key         text NOT NULL,
    asset_ids   text[] NOT NULL,
    loan_ids    text[] NOT NULL DEFAULT '{}',
    device_id   text,
    detail      text NOT NULL,
    flagged_at  timestamptz NOT NULL DEFAULT now()
);

-- ---------------------------------------------------------------------------
-- Audit chain. Each entry stores the canonical JSON of the change (`body`) and
-- hash = sha256(prev_hash || body); `audit_head` keeps the last seq and hash so
-- a removed tail is detected. Appends go through collateral.audit.append, which
-- locks the head row, so seq is gap-free and the chain is linear.
-- ---------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS audit_log (
    seq         bigint PRIMARY KEY,
    at          timestamptz NOT NULL,
    actor       text NOT NULL,
    action      text NOT NULL,
    entity_type text NOT NULL,
    entity_id   text NOT NULL,
    data        jsonb NOT NULL,
    body        text NOT NULL,
    prev_hash   text NOT NULL,
    hash        text NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_log_entity_idx ON audit_log (entity_type, entity_id, seq);

CREATE TABLE IF NOT EXISTS audit_head (
    id    integer PRIMARY KEY CHECK (id = 1),
    seq   bigint NOT NULL,
    hash  text NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000')
ON CONFLICT (id) DO NOTHING;

CREATE OR REPLACE FUNCTION audit_log_forbid_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

DROP TRIGGER IF EXISTS audit_log_no_update ON audit_log;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_forbid_change();
DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log;
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_forbid_change();

-- The head may only move forward, one entry at a time, onto an existing entry.
CREATE OR REPLACE FUNCTION audit_head_forward_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'UPDATE' THEN
        RAISE EXCEPTION 'audit_head cannot be %', TG_OP USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.seq < OLD.seq OR NOT EXISTS (
        SELECT 1 FROM audit_log WHERE seq = NEW.seq AND hash = NEW.hash
    ) THEN
        RAISE EXCEPTION 'audit_head may only advance to an existing entry'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;

DROP TRIGGER IF EXISTS audit_head_guard ON audit_head;
CREATE TRIGGER audit_head_guard BEFORE UPDATE OR DELETE ON audit_head
    FOR EACH ROW EXECUTE FUNCTION audit_head_forward_only();
