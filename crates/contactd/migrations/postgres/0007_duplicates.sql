-- Duplicate suggestions (contract §8), kept on write (domain/duplicates.rs): each
-- contact's normalized keys, and the pairs found by comparing a contact written with the
-- contacts sharing one of its keys. Reading suggestions is an index read of the pairs.

CREATE TABLE duplicate_keys (
    workspace_id  TEXT NOT NULL,
    mode          TEXT NOT NULL,
    -- email, number, name_domain or name_block.
    kind          TEXT COLLATE "C" NOT NULL,
    key           TEXT COLLATE "C" NOT NULL,
    -- The folded full name on name_block rows: a write compares names from the key rows
    -- alone, without reading the contacts.
    name          TEXT,
    contact_id    TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (workspace_id, mode, kind, key, contact_id)
);
CREATE INDEX duplicate_keys_contact ON duplicate_keys (workspace_id, mode, contact_id);

-- One row a pair, a < b; reasons comma-separated.
CREATE TABLE duplicate_pairs (
    workspace_id  TEXT NOT NULL,
    mode          TEXT NOT NULL,
    a             TEXT COLLATE "C" NOT NULL,
    b             TEXT COLLATE "C" NOT NULL,
    reasons       TEXT NOT NULL,
    score         DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (workspace_id, mode, a, b)
);
CREATE INDEX duplicate_pairs_b ON duplicate_pairs (workspace_id, mode, b);
