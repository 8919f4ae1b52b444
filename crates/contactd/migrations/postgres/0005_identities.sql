-- Identities (contract §8): a contact's identities as sent, in its row, and every
-- identifier a contact holds alone (its phone, its email and each identity), one row each
-- in contact_handles, whose primary key makes each unique per tenant and namespace and
-- finds a contact by any of them with one index read.

ALTER TABLE contacts ADD COLUMN identities JSONB NOT NULL DEFAULT '[]';
-- A contact may now have an identity alone.
ALTER TABLE contacts DROP CONSTRAINT contacts_check;

CREATE TABLE contact_handles (
    workspace_id  TEXT NOT NULL,
    mode          TEXT NOT NULL,
    -- phone, email (shared by the primary fields and identities of those types), or
    -- another identity type.
    namespace     TEXT COLLATE "C" NOT NULL,
    -- The value as compared: an email lowercased, the rest as stored.
    key           TEXT COLLATE "C" NOT NULL,
    contact_id    TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (workspace_id, mode, namespace, key),
    FOREIGN KEY (workspace_id, mode, contact_id)
        REFERENCES contacts (workspace_id, mode, id) ON DELETE CASCADE
);
CREATE INDEX contact_handles_contact ON contact_handles (workspace_id, mode, contact_id);

INSERT INTO contact_handles (workspace_id, mode, namespace, key, contact_id)
    SELECT workspace_id, mode, 'phone', phone, id FROM contacts WHERE phone IS NOT NULL;
INSERT INTO contact_handles (workspace_id, mode, namespace, key, contact_id)
    SELECT workspace_id, mode, 'email', email_key, id FROM contacts WHERE email_key IS NOT NULL;
