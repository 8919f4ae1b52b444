-- The change feed and webhooks (contract §7).
-- A tenant's events are numbered by one counter row; SQLite's single writer commits in
-- the order it numbers (see docs/architecture.md, "The change feed").

CREATE TABLE event_counters (
    workspace_id   TEXT NOT NULL,
    mode           TEXT NOT NULL,
    next_sequence  INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, mode)
);

CREATE TABLE events (
    workspace_id  TEXT NOT NULL,
    mode          TEXT NOT NULL,
    sequence      INTEGER NOT NULL,
    id            TEXT NOT NULL,
    type          TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    -- The contact the event is about, so that its erasure finds it.
    contact_id    TEXT,
    data          TEXT NOT NULL,
    PRIMARY KEY (workspace_id, mode, sequence)
) WITHOUT ROWID;
CREATE INDEX events_contact ON events (workspace_id, mode, contact_id) WHERE contact_id IS NOT NULL;
CREATE INDEX events_created_at ON events (created_at);

CREATE TABLE webhooks (
    workspace_id           TEXT NOT NULL,
    mode                   TEXT NOT NULL,
    id                     TEXT NOT NULL,
    url                    TEXT NOT NULL,
    -- A JSON array of event types, or NULL for all.
    event_types            TEXT,
    description            TEXT,
    status                 TEXT NOT NULL,
    disabled_reason        TEXT,
    secret                 TEXT NOT NULL,
    previous_secret        TEXT,
    previous_secret_until  INTEGER,
    -- The first failure of the current run of failures (NULL after a success).
    failing_since          INTEGER,
    -- The last event sequence turned into deliveries for this endpoint.
    fanned_out             INTEGER NOT NULL,
    created_at             INTEGER NOT NULL,
    updated_at             INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, mode, id)
);

CREATE TABLE webhook_deliveries (
    workspace_id     TEXT NOT NULL,
    mode             TEXT NOT NULL,
    webhook_id       TEXT NOT NULL,
    id               TEXT NOT NULL,
    sequence         INTEGER NOT NULL,
    event_id         TEXT NOT NULL,
    event_type       TEXT NOT NULL,
    state            TEXT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER,
    lease_owner      TEXT,
    last_attempt_at  INTEGER,
    last_status      INTEGER,
    last_error       TEXT,
    last_latency_ms  INTEGER,
    response_body    TEXT,
    created_at       INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, mode, webhook_id, id),
    UNIQUE (workspace_id, mode, webhook_id, sequence),
    FOREIGN KEY (workspace_id, mode, webhook_id)
        REFERENCES webhooks (workspace_id, mode, id) ON DELETE CASCADE
);
-- Due deliveries of an endpoint, earliest first: a claim reads just the rows it leases.
CREATE INDEX webhook_deliveries_due
    ON webhook_deliveries (workspace_id, mode, webhook_id, next_attempt_at, sequence)
    WHERE state = 'pending';
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (created_at)
    WHERE state = 'pending';
