-- contactd schema, PostgreSQL.
-- Every tenant-scoped table starts its primary key and every index with
-- (workspace_id, mode): a tenant's rows sit together, and on a sharded PostgreSQL
-- (Citus and the like) the tables distribute by tenant with every key co-located.
-- Times are microseconds since the Unix epoch, as in the SQLite schema. Text keys use the
-- "C" collation so that ordering and prefix ranges are bytewise, as in SQLite.

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
    id                 TEXT COLLATE "C" NOT NULL,
    phone              TEXT COLLATE "C",
    email              TEXT,
    email_key          TEXT COLLATE "C",
    first_name         TEXT,
    last_name          TEXT,
    -- Lowercased names for prefix search and sorting; an unset full name sorts last.
    full_name_key      TEXT COLLATE "C" NOT NULL,
    last_name_key      TEXT COLLATE "C",
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
CREATE INDEX contacts_updated ON contacts (workspace_id, mode, updated_at, id);
CREATE INDEX contacts_last_contacted
    ON contacts (workspace_id, mode, (COALESCE(last_contacted, 9223372036854775807)), id);
CREATE INDEX contacts_full_name ON contacts (workspace_id, mode, full_name_key, id);
CREATE INDEX contacts_last_name ON contacts (workspace_id, mode, last_name_key) WHERE last_name_key IS NOT NULL;
-- Metadata filters (containment, @>) on any path. The tenant is part of the indexed
-- document, so this index too only ever finds rows of the asking tenant.
-- (jsonb_build_object is only STABLE in general; with text and jsonb arguments it is
-- immutable, which an index expression needs.)
CREATE FUNCTION contactd_metadata_doc(workspace_id TEXT, mode TEXT, metadata JSONB)
    RETURNS JSONB LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT jsonb_build_object('t', workspace_id || ':' || mode, 'm', metadata) $$;
CREATE INDEX contacts_metadata
    ON contacts USING GIN (contactd_metadata_doc(workspace_id, mode, metadata) jsonb_path_ops);

CREATE TABLE conversations (
    workspace_id     TEXT NOT NULL,
    mode             TEXT NOT NULL,
    id               TEXT COLLATE "C" NOT NULL,
    contact_id       TEXT COLLATE "C" NOT NULL,
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
    conversation_id  TEXT COLLATE "C" NOT NULL,
    id               TEXT COLLATE "C" NOT NULL,
    direction        TEXT NOT NULL,
    text             TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, mode, conversation_id, id),
    FOREIGN KEY (workspace_id, mode, conversation_id)
        REFERENCES conversations (workspace_id, mode, id) ON DELETE CASCADE
);

-- Answers kept for Idempotency-Key retries; status NULL while the first request runs.
CREATE TABLE idempotency_keys (
    workspace_id  TEXT NOT NULL,
    mode          TEXT NOT NULL,
    key           TEXT NOT NULL,
    fingerprint   BYTEA NOT NULL,
    status        INTEGER,
    headers       TEXT,
    body          BYTEA,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, mode, key)
);
