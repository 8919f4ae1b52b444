-- Search at scale: the terms every contact is found by (domain/search.rs), saved segments.
-- Terms start with the tenant and are ordered by creation within a term, so one filter's
-- first page is one range read; status and number ride in the index (INCLUDE) so counts
-- are index-only scans.

ALTER TABLE contacts ADD COLUMN name_words TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE contacts ADD COLUMN email_fold TEXT COLLATE "C";
CREATE INDEX contacts_email_fold ON contacts (workspace_id, mode, email_fold)
    WHERE email_fold IS NOT NULL;
-- q on names and the metadata filters go through contact_terms now.
DROP INDEX contacts_last_name;
DROP INDEX contacts_metadata;
DROP FUNCTION contactd_metadata_doc(TEXT, TEXT, JSONB);

CREATE TABLE contact_terms (
    workspace_id  TEXT NOT NULL,
    mode          TEXT NOT NULL,
    term          TEXT COLLATE "C" NOT NULL,
    created_at    BIGINT NOT NULL,
    contact_id    TEXT COLLATE "C" NOT NULL,
    status        TEXT NOT NULL,
    num           DOUBLE PRECISION,
    PRIMARY KEY (workspace_id, mode, term, created_at, contact_id) INCLUDE (status)
);
-- Comparisons (gt, gte, lt, lte) read the numbers of one path in order.
CREATE INDEX contact_terms_num ON contact_terms (workspace_id, mode, term, num)
    INCLUDE (status, created_at, contact_id) WHERE num IS NOT NULL;
-- Keep the visibility map fresh so counts stay index-only under steady writes.
ALTER TABLE contact_terms SET (autovacuum_vacuum_scale_factor = 0.02,
                               autovacuum_vacuum_insert_scale_factor = 0.02);

CREATE TABLE segments (
    workspace_id  TEXT NOT NULL,
    mode          TEXT NOT NULL,
    id            TEXT COLLATE "C" NOT NULL,
    name          TEXT NOT NULL,
    filter        TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, mode, id)
);
