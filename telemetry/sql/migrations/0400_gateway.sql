-- gateway: API keys (stored hashed), webhook subscriptions and their delivery log.

CREATE TABLE IF NOT EXISTS gateway_api_keys (
    key_id       text PRIMARY KEY,             -- public part of the key, shown in listings
    secret_hash  text NOT NULL,                -- sha256 hex of the secret part; the secret is never stored
    role         text NOT NULL CHECK (role IN ('admin', 'post_loan', 'credit', 'provisioner')),
    name         text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz,
    last_used_at timestamptz
);

CREATE TABLE IF NOT EXISTS gateway_webhooks (
    id          bigserial PRIMARY KEY,
    url         text NOT NULL,
    secret      text NOT NULL,                 -- HMAC key shared with the receiver
    active      boolean NOT NULL DEFAULT true,
    last_event_id bigint NOT NULL DEFAULT 0,   -- the feed position delivered so far
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS gateway_webhook_deliveries (
    id           bigserial PRIMARY KEY,
    webhook_id   bigint NOT NULL REFERENCES gateway_webhooks (id) ON DELETE CASCADE,
    event_id     bigint NOT NULL,
    attempt      integer NOT NULL,
    attempted_at timestamptz NOT NULL DEFAULT now(),
    status_code  integer,
    ok           boolean NOT NULL,
    error        text
);

CREATE INDEX IF NOT EXISTS gateway_webhook_deliveries_hook
    ON gateway_webhook_deliveries (webhook_id, id DESC);
