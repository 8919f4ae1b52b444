-- Search at scale: the terms every contact is found by (domain/search.rs), saved segments.
-- Terms start with the tenant and are ordered by creation within a term, so one filter's
-- first page is one range read; the contact's status rides along for counts by status.

ALTER TABLE contacts ADD COLUMN name_words TEXT NOT NULL DEFAULT '';
ALTER TABLE contacts ADD COLUMN email_fold TEXT;
CREATE INDEX contacts_email_fold ON contacts (workspace_id, mode, email_fold)
    WHERE email_fold IS NOT NULL;
-- q on names goes through contact_terms now.
DROP INDEX contacts_last_name;
-- The sort indexes carry created_at, which a walk in their order needs to probe
-- contact_terms by primary key without reading each contact's row.
DROP INDEX contacts_updated;
CREATE INDEX contacts_updated ON contacts (workspace_id, mode, updated_at, id, created_at);
DROP INDEX contacts_last_contacted;
CREATE INDEX contacts_last_contacted
    ON contacts (workspace_id, mode, COALESCE(last_contacted, 9223372036854775807), id, created_at);
DROP INDEX contacts_full_name;
CREATE INDEX contacts_full_name ON contacts (workspace_id, mode, full_name_key, id, created_at);

CREATE TABLE contact_terms (
    workspace_id  TEXT NOT NULL,
    mode          TEXT NOT NULL,
    term          TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    contact_id    TEXT NOT NULL,
    status        TEXT NOT NULL,
    num           REAL,
    PRIMARY KEY (workspace_id, mode, term, created_at, contact_id)
) WITHOUT ROWID;
-- Comparisons (gt, gte, lt, lte) read the numbers of one path in order.
CREATE INDEX contact_terms_num ON contact_terms (workspace_id, mode, term, num, status)
    WHERE num IS NOT NULL;

CREATE TABLE segments (
    workspace_id  TEXT NOT NULL,
    mode          TEXT NOT NULL,
    id            TEXT NOT NULL,
    name          TEXT NOT NULL,
    filter        TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, mode, id)
) WITHOUT ROWID;
