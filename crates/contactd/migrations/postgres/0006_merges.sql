-- Merges (contract §8): each merge with a snapshot of both contacts as they were, so an
-- undo puts them back; and the ids of merged-away contacts, which stay refs to the
-- contact they were merged into (followed hop by hop when that one was merged too).

CREATE TABLE merges (
    workspace_id         TEXT NOT NULL,
    mode                 TEXT NOT NULL,
    id                   TEXT COLLATE "C" NOT NULL,
    target_id            TEXT COLLATE "C" NOT NULL,
    source_id            TEXT COLLATE "C" NOT NULL,
    moved_conversations  BIGINT NOT NULL,
    moved_messages       BIGINT NOT NULL,
    created_at           BIGINT NOT NULL,
    undone_at            BIGINT,
    -- {"target": contact, "source": contact, "conversations": [ids]} before the merge.
    snapshot             JSONB NOT NULL,
    PRIMARY KEY (workspace_id, mode, id)
);
CREATE INDEX merges_target ON merges (workspace_id, mode, target_id);
CREATE INDEX merges_source ON merges (workspace_id, mode, source_id);

CREATE TABLE merged_ids (
    workspace_id  TEXT NOT NULL,
    mode          TEXT NOT NULL,
    source_id     TEXT COLLATE "C" NOT NULL,
    target_id     TEXT COLLATE "C" NOT NULL,
    merge_id      TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (workspace_id, mode, source_id)
);
CREATE INDEX merged_ids_target ON merged_ids (workspace_id, mode, target_id);
