-- contactd schema, PostgreSQL.
-- Every tenant-scoped table starts its primary key and every index with
-- (workspace_id, mode): a tenant's rows sit together, and on a sharded PostgreSQL
-- (Citus and the like) the tables distribute by tenant with every key co-located.
-- Times are microseconds since the Unix epoch, as in the SQLite schema.

CREATE TABLE workspaces (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL
);

CREATE TABLE api_keys (
    key_hash      BYTEA PRIMARY KEY,
    prefix        TEXT NOT NULL UNIQUE,
    workspace_id  TEXT NOT NULL REFERENCES workspaces (id),
    mode          TEXT NOT NULL CHECK (mode IN ('live', 'test')),
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT,
    revoked_at    BIGINT
);

CREATE TABLE contacts (
    workspace_id       TEXT NOT NULL,
    mode               TEXT NOT NULL,
    id                 TEXT NOT NULL,
    phone              TEXT,
    email              TEXT,
    email_key          TEXT,
    first_name         TEXT,
    last_name          TEXT,
    preferred_channel  TEXT,
    metadata           JSONB NOT NULL DEFAULT '{}',
    status             TEXT NOT NULL,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    last_contacted     BIGINT,
    PRIMARY KEY (workspace_id, mode, id),
    CHECK (phone IS NOT NULL OR email IS NOT NULL)
);

CREATE UNIQUE INDEX contacts_phone ON contacts (workspace_id, mode, phone) WHERE phone IS NOT NULL;
CREATE UNIQUE INDEX contacts_email ON contacts (workspace_id, mode, email_key) WHERE email_key IS NOT NULL;
CREATE INDEX contacts_created ON contacts (workspace_id, mode, created_at, id);

CREATE TABLE conversations (
    workspace_id     TEXT NOT NULL,
    mode             TEXT NOT NULL,
    id               TEXT NOT NULL,
    contact_id       TEXT NOT NULL,
    channel          TEXT NOT NULL,
    status           TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    last_message_at  BIGINT,
    message_count    BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (workspace_id, mode, id),
    FOREIGN KEY (workspace_id, mode, contact_id)
        REFERENCES contacts (workspace_id, mode, id) ON DELETE CASCADE
);

CREATE INDEX conversations_contact ON conversations (workspace_id, mode, contact_id, created_at, id);

CREATE TABLE messages (
    workspace_id     TEXT NOT NULL,
    mode             TEXT NOT NULL,
    conversation_id  TEXT NOT NULL,
    id               TEXT NOT NULL,
    direction        TEXT NOT NULL,
    text             TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, mode, conversation_id, id),
    FOREIGN KEY (workspace_id, mode, conversation_id)
        REFERENCES conversations (workspace_id, mode, id) ON DELETE CASCADE
);
