-- Alerts (owned by the alerts package, range 0300-0399).
-- One open alert per (asset, kind): the partial unique index is the rule, the
-- engine's per-(asset, kind) advisory lock keeps concurrent writers polite.
CREATE TABLE alerts (
    id                 bigserial   PRIMARY KEY,
    asset_id           text        NOT NULL,
    device_id          text,
    kind               text        NOT NULL,
    level              text        NOT NULL CHECK (level IN ('red', 'orange', 'yellow', 'watch')),
    peak_level         text        NOT NULL CHECK (peak_level IN ('red', 'orange', 'yellow', 'watch')),
    status             text        NOT NULL DEFAULT 'open'
                                   CHECK (status IN ('open', 'acknowledged', 'resolved')),
    outcome            text        CHECK (outcome IN ('confirmed', 'false_alarm', 'explained')),
    note               text,
    assignee           text,
    first_seen         timestamptz NOT NULL,
    last_seen          timestamptz NOT NULL,
    condition_since    timestamptz,
    condition_ended_at timestamptz,
    count              integer     NOT NULL DEFAULT 1,
    cleared_at         timestamptz,
    acknowledged_at    timestamptz,
    resolved_at        timestamptz,
    resolved_by        text,
    evidence           jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX alerts_one_open ON alerts (asset_id, kind) WHERE status <> 'resolved';
CREATE INDEX alerts_asset_kind ON alerts (asset_id, kind, id DESC);
CREATE INDEX alerts_open_level ON alerts (level) WHERE status <> 'resolved';
CREATE INDEX alerts_ended ON alerts (condition_ended_at) WHERE status <> 'resolved';

-- The live feed: every alert change, ids committed in order (writers take a
-- transaction advisory lock before inserting, so a reader resuming after id N
-- never misses a row committed later with a smaller id).
CREATE TABLE alert_events (
    id        bigserial   PRIMARY KEY,
    alert_id  bigint      NOT NULL REFERENCES alerts (id),
    event     text        NOT NULL CHECK (event IN ('raised', 'escalated', 'recurred',
                          'condition_ended', 'cleared', 'acknowledged', 'resolved', 'reopened')),
    event_ts  timestamptz NOT NULL,
    at        timestamptz NOT NULL DEFAULT now(),
    asset_id  text        NOT NULL,
    kind      text        NOT NULL,
    level     text        NOT NULL,
    status    text        NOT NULL,
    payload   jsonb       NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX alert_events_alert ON alert_events (alert_id);

-- Per-device streaming detector state, checkpointed with the readings it reflects.
CREATE TABLE detector_state (
    device_id  text        PRIMARY KEY,
    state      jsonb       NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- How far each MQTT publisher has got through alert_events.
CREATE TABLE alert_publish_cursor (
    name          text   PRIMARY KEY,
    last_event_id bigint NOT NULL
);
