-- Ingest quarantine: messages from terminals the registry does not know (yet).
-- Kept raw, with what identified them, so `assetwatch ingest release` can run
-- them through the pipeline again once the terminal is registered. A released
-- row keeps its payload (evidence) and records when and how it was released.
CREATE TABLE quarantine (
    id           bigserial   PRIMARY KEY,
    received_at  timestamptz NOT NULL DEFAULT now(),
    topic        text        NOT NULL,
    payload      bytea       NOT NULL,
    id_kind      text        NOT NULL,
    identifier   text        NOT NULL,
    reason       text        NOT NULL,
    released_at  timestamptz,
    release_note text
);
CREATE INDEX quarantine_pending ON quarantine (identifier) WHERE released_at IS NULL;
CREATE INDEX quarantine_received_at ON quarantine (received_at);
