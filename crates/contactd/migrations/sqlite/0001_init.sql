-- contactd schema, SQLite.
-- Every tenant-scoped table starts its primary key and every index with
-- (workspace_id, mode), so one tenant's rows sit together and never mix with another's.

CREATE TABLE workspaces (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE api_keys (
    key_hash      BLOB PRIMARY KEY,
    prefix        TEXT NOT NULL UNIQUE,
    workspace_id  TEXT NOT NULL REFERENCES workspaces (id),
    mode          TEXT NOT NULL CHECK (mode IN ('live', 'test')),
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER,
    revoked_at    INTEGER
) WITHOUT ROWID;

CREATE TABLE contacts (
    workspace_id       TEXT NOT NULL,
    mode               TEXT NOT NULL,
    id                 TEXT NOT NULL,
    phone              TEXT,
    email              TEXT,
    email_key          TEXT,
    first_name         TEXT,
    last_name          TEXT,
    -- Lowercased names for prefix search and sorting; an unset full name sorts last.
    full_name_key      TEXT NOT NULL,
    last_name_key      TEXT,
    preferred_channel  TEXT,
    metadata           TEXT NOT NULL DEFAULT '{}',
    status             TEXT NOT NULL,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    last_contacted     INTEGER,
    PRIMARY KEY (workspace_id, mode, id),
    CHECK (phone IS NOT NULL OR email IS NOT NULL)
) WITHOUT ROWID;

CREATE UNIQUE INDEX contacts_phone ON contacts (workspace_id, mode, phone) WHERE phone IS NOT NULL;
CREATE UNIQUE INDEX contacts_email ON contacts (workspace_id, mode, email_key) WHERE email_key IS NOT NULL;
CREATE INDEX contacts_created ON contacts (workspace_id, mode, created_at, id);
CREATE INDEX contacts_updated ON contacts (workspace_id, mode, updated_at, id);
CREATE INDEX contacts_last_contacted
    ON contacts (workspace_id, mode, COALESCE(last_contacted, 9223372036854775807), id);
CREATE INDEX contacts_full_name ON contacts (workspace_id, mode, full_name_key, id);
CREATE INDEX contacts_last_name ON contacts (workspace_id, mode, last_name_key) WHERE last_name_key IS NOT NULL;

CREATE TABLE conversations (
    workspace_id     TEXT NOT NULL,
    mode             TEXT NOT NULL,
    id               TEXT NOT NULL,
    contact_id       TEXT NOT NULL,
    channel          TEXT NOT NULL,
    status           TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    last_message_at  INTEGER,
    message_count    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (workspace_id, mode, id),
    FOREIGN KEY (workspace_id, mode, contact_id)
        REFERENCES contacts (workspace_id, mode, id) ON DELETE CASCADE
) WITHOUT ROWID;

CREATE INDEX conversations_contact ON conversations (workspace_id, mode, contact_id, created_at, id);

CREATE TABLE messages (
    workspace_id     TEXT NOT NULL,
    mode             TEXT NOT NULL,
    conversation_id  TEXT NOT NULL,
    id               TEXT NOT NULL,
    direction        TEXT NOT NULL,
    text             TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, mode, conversation_id, id),
    FOREIGN KEY (workspace_id, mode, conversation_id)
        REFERENCES conversations (workspace_id, mode, id) ON DELETE CASCADE
) WITHOUT ROWID;

-- Answers kept for Idempotency-Key retries; status NULL while the first request runs.
CREATE TABLE idempotency_keys (
    workspace_id  TEXT NOT NULL,
    mode          TEXT NOT NULL,
    key           TEXT NOT NULL,
    fingerprint   BLOB NOT NULL,
    status        INTEGER,
    headers       TEXT,
    body          BLOB,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, mode, key)
) WITHOUT ROWID;
