//! Contacts in SQLite: the reads and the statements of the plans of `domain::write`.

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;

use super::duplicates::write_duplicates;
use super::{events, in_place, in_snapshot, SqliteStore};
use crate::domain::batch::BatchItem;
use crate::domain::contact::{
    Channel, Contact, ContactPatch, NewContact, Precondition, UpsertContact, UpsertOutcome,
};
use crate::domain::contact_query::{full_name_key, ContactFilter, ContactPage, ContactQuery};
use crate::domain::email::Email;
use crate::domain::event::NewEvent;
use crate::domain::ids::ContactId;
use crate::domain::phone::Phone;
use crate::domain::refs::ContactRef;
use crate::domain::search::{SearchKeys, TermChanges};
use crate::domain::tenant::Tenant;
use crate::domain::time::Timestamp;
use crate::domain::write::{self, Write};
use crate::store::listing;
use crate::store::records::{self, CONTACT_COLUMNS, CONTACT_COLUMN_COUNT};
use crate::store::{ContactStore, Entity, StoreError, StoreResult};

/// How many merges a merged-away id is followed through to the contact it names now.
const MAX_MERGE_HOPS: usize = 32;

/// The contact a ref names in this tenant, if any; an id of a merged-away contact names
/// the contact it was merged into.
pub(super) fn find(
    conn: &Connection,
    tenant: &Tenant,
    contact: &ContactRef,
) -> StoreResult<Option<Contact>> {
    let (namespace, key) = records::ref_key(contact);
    let (ws, mode) = (&tenant.workspace_id, tenant.mode.as_str());
    let found = if namespace == "id" {
        return by_id_or_merged(conn, tenant, key);
    } else {
        conn.prepare_cached(&format!(
            "SELECT {CONTACT_COLUMNS} FROM contacts WHERE workspace_id = ?1 AND mode = ?2 \
             AND id = (SELECT contact_id FROM contact_handles WHERE workspace_id = ?1 \
             AND mode = ?2 AND namespace = ?3 AND key = ?4)"
        ))?
        .query_row(params![ws, mode, namespace, key], |row| {
            Ok(records::contact(row))
        })
        .optional()?
    };
    found.transpose()
}

/// The contact of this id exactly, if it exists.
pub(super) fn by_id(conn: &Connection, tenant: &Tenant, id: &str) -> StoreResult<Option<Contact>> {
    conn.prepare_cached(&format!(
        "SELECT {CONTACT_COLUMNS} FROM contacts \
         WHERE workspace_id = ?1 AND mode = ?2 AND id = ?3"
    ))?
    .query_row(
        params![tenant.workspace_id, tenant.mode.as_str(), id],
        |row| Ok(records::contact(row)),
    )
    .optional()?
    .transpose()
}

/// The contact of this id, or the one a contact of this id was merged into (following
/// merges of merges, at most [`MAX_MERGE_HOPS`]).
fn by_id_or_merged(conn: &Connection, tenant: &Tenant, id: String) -> StoreResult<Option<Contact>> {
    let mut id = id;
    for _ in 0..MAX_MERGE_HOPS {
        if let Some(contact) = by_id(conn, tenant, &id)? {
            return Ok(Some(contact));
        }
        let target: Option<String> = conn
            .prepare_cached(
                "SELECT target_id FROM merged_ids \
                 WHERE workspace_id = ?1 AND mode = ?2 AND source_id = ?3",
            )?
            .query_row(
                params![tenant.workspace_id, tenant.mode.as_str(), id],
                |row| row.get(0),
            )
            .optional()?;
        match target {
            Some(target) => id = target,
            None => return Ok(None),
        }
    }
    Ok(None)
}

/// Keeps `contact_handles` in step with a contact's identifiers: deletes the handles
/// `old` held and `new` does not, inserts those `new` holds and `old` did not. The
/// caller checked that no other contact holds them (the writer is alone, so none can
/// take one meanwhile).
fn write_handles(
    conn: &Connection,
    tenant: &Tenant,
    old: Option<&Contact>,
    new: Option<&Contact>,
) -> StoreResult<()> {
    let before = old.map(Contact::handles).unwrap_or_default();
    let after = new.map(Contact::handles).unwrap_or_default();
    let (ws, mode) = (&tenant.workspace_id, tenant.mode.as_str());
    for (namespace, key) in before.iter().filter(|h| !after.contains(h)) {
        conn.prepare_cached(
            "DELETE FROM contact_handles WHERE workspace_id = ?1 AND mode = ?2 \
             AND namespace = ?3 AND key = ?4",
        )?
        .execute(params![ws, mode, namespace, key])?;
    }
    if let Some(c) = new {
        for (namespace, key) in after.iter().filter(|h| !before.contains(h)) {
            conn.prepare_cached(
                "INSERT INTO contact_handles (workspace_id, mode, namespace, key, contact_id) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![ws, mode, namespace, key, c.id.as_str()])?;
        }
    }
    Ok(())
}

pub(super) fn get(
    conn: &Connection,
    tenant: &Tenant,
    contact: &ContactRef,
) -> StoreResult<Contact> {
    find(conn, tenant, contact)?.ok_or(StoreError::NotFound(Entity::Contact))
}

/// Another contact of the tenant that already holds this contact's phone or email.
fn conflict(
    conn: &Connection,
    tenant: &Tenant,
    contact: &Contact,
) -> StoreResult<Option<StoreError>> {
    for (field, holder) in write::unique_refs(contact) {
        let holder = find(conn, tenant, &holder)?;
        if let Some(duplicate) = write::duplicate(contact, field, holder) {
            return Ok(Some(duplicate.into()));
        }
    }
    Ok(None)
}

/// Maps a unique-index violation to `Duplicate` naming the contact that holds the value.
/// The check before each write gives the same answer; this is the database's own word
/// for it, should another process write between the check and the write.
fn on_unique_violation(
    conn: &Connection,
    tenant: &Tenant,
    contact: &Contact,
    error: rusqlite::Error,
) -> StoreError {
    if error.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation) {
        if let Ok(Some(duplicate)) = conflict(conn, tenant, contact) {
            return duplicate;
        }
    }
    error.into()
}

/// Keeps the contact's search terms in step with its row (see `domain::search`): one
/// statement deletes the removed and rewritten terms, then each written term is inserted.
/// Runs after the row's write, which is the one statement that can fail on a constraint;
/// these cannot (`OR IGNORE`: the rows they insert were just deleted or never existed), so
/// a write needs no savepoint. They are single-row inserts on purpose: SQLite gives a
/// statement that writes several rows and may abort a statement journal, and closing one
/// costs more the larger the group transaction (it made a 1M import five times slower).
fn write_terms(
    conn: &Connection,
    tenant: &Tenant,
    c: &Contact,
    changes: &TermChanges,
) -> StoreResult<()> {
    if !changes.remove.is_empty() || !changes.rewritten.is_empty() {
        conn.prepare_cached(
            "DELETE FROM contact_terms WHERE workspace_id = ?1 AND mode = ?2 \
             AND created_at = ?3 AND contact_id = ?4 \
             AND term IN (SELECT value FROM json_each(?5))",
        )?
        .execute(params![
            tenant.workspace_id,
            tenant.mode.as_str(),
            c.created_at.as_micros(),
            c.id.as_str(),
            changes.delete_json(),
        ])?;
    }
    if !changes.write.is_empty() {
        let mut insert = conn.prepare_cached(
            "INSERT OR IGNORE INTO contact_terms \
             (workspace_id, mode, term, created_at, contact_id, status, num) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        let (created_at, status) = (c.created_at.as_micros(), c.status.as_str());
        for (term, num) in &changes.write {
            insert.execute(params![
                tenant.workspace_id,
                tenant.mode.as_str(),
                term,
                created_at,
                c.id.as_str(),
                status,
                num
            ])?;
        }
    }
    Ok(())
}

pub(super) fn insert(conn: &Connection, tenant: &Tenant, c: &Contact) -> StoreResult<()> {
    if let Some(duplicate) = conflict(conn, tenant, c)? {
        return Err(duplicate);
    }
    let keys = SearchKeys::of(c);
    conn.prepare_cached(
        "INSERT INTO contacts (workspace_id, mode, id, phone, email, email_key, first_name, \
         last_name, preferred_channel, metadata, status, created_at, updated_at, last_contacted, \
         full_name_key, last_name_key, name_words, email_fold, identities) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, \
         ?19)",
    )?
    .execute(params![
        tenant.workspace_id,
        tenant.mode.as_str(),
        c.id.as_str(),
        c.phone.as_ref().map(Phone::as_str),
        c.email.as_ref().map(Email::as_str),
        c.email.as_ref().map(Email::normalized),
        c.first_name,
        c.last_name,
        c.preferred_channel.map(Channel::as_str),
        Value::Object(c.metadata.clone()).to_string(),
        c.status.as_str(),
        c.created_at.as_micros(),
        c.updated_at.as_micros(),
        c.last_contacted.map(Timestamp::as_micros),
        full_name_key(c),
        c.last_name.as_ref().map(|n| n.to_lowercase()),
        keys.name_words,
        keys.email_fold,
        records::identities_json(c).to_string(),
    ])
    .map_err(|e| on_unique_violation(conn, tenant, c, e))?;
    write_handles(conn, tenant, None, Some(c))?;
    write_duplicates(conn, tenant, None, Some(c))?;
    write_terms(
        conn,
        tenant,
        c,
        &TermChanges::of_keys(None, Some((&keys, c.status))),
    )
}

/// Writes `c` over `old`, the stored version read in this transaction.
pub(super) fn update(
    conn: &Connection,
    tenant: &Tenant,
    old: &Contact,
    c: &Contact,
) -> StoreResult<()> {
    if let Some(duplicate) = conflict(conn, tenant, c)? {
        return Err(duplicate);
    }
    let keys = SearchKeys::of(c);
    conn.prepare_cached(
        "UPDATE contacts SET phone = ?4, email = ?5, email_key = ?6, first_name = ?7, \
         last_name = ?8, preferred_channel = ?9, metadata = ?10, status = ?11, \
         updated_at = ?12, last_contacted = ?13, full_name_key = ?14, last_name_key = ?15, \
         name_words = ?16, email_fold = ?17, identities = ?18 \
         WHERE workspace_id = ?1 AND mode = ?2 AND id = ?3",
    )?
    .execute(params![
        tenant.workspace_id,
        tenant.mode.as_str(),
        c.id.as_str(),
        c.phone.as_ref().map(Phone::as_str),
        c.email.as_ref().map(Email::as_str),
        c.email.as_ref().map(Email::normalized),
        c.first_name,
        c.last_name,
        c.preferred_channel.map(Channel::as_str),
        Value::Object(c.metadata.clone()).to_string(),
        c.status.as_str(),
        c.updated_at.as_micros(),
        c.last_contacted.map(Timestamp::as_micros),
        full_name_key(c),
        c.last_name.as_ref().map(|n| n.to_lowercase()),
        keys.name_words,
        keys.email_fold,
        records::identities_json(c).to_string(),
    ])
    .map_err(|e| on_unique_violation(conn, tenant, c, e))?;
    write_handles(conn, tenant, Some(old), Some(c))?;
    write_duplicates(conn, tenant, Some(old), Some(c))?;
    let before = SearchKeys::of(old);
    let changes = TermChanges::of_keys(Some((&before, old.status)), Some((&keys, c.status)));
    write_terms(conn, tenant, c, &changes)
}

/// Deletes a contact's row and search terms; its conversations (unless moved first) and
/// handles go by ON DELETE CASCADE, in this transaction.
pub(super) fn remove(conn: &Connection, tenant: &Tenant, c: &Contact) -> StoreResult<()> {
    conn.prepare_cached("DELETE FROM contacts WHERE workspace_id = ?1 AND mode = ?2 AND id = ?3")?
        .execute(params![
            tenant.workspace_id,
            tenant.mode.as_str(),
            c.id.as_str()
        ])?;
    write_duplicates(conn, tenant, Some(c), None)?;
    write_terms(conn, tenant, c, &TermChanges::between(Some(c), None))
}

/// Runs a plan's statement and appends its event; answers the contact as written and
/// the outcome.
fn run(conn: &Connection, tenant: &Tenant, write: Write) -> StoreResult<(Contact, UpsertOutcome)> {
    match &write {
        Write::Insert(contact) => insert(conn, tenant, contact)?,
        Write::Update { old, new } => update(conn, tenant, old, new)?,
        Write::Unchanged(_) => {}
    }
    if let Some(event) = NewEvent::of_write(&write) {
        events::append(conn, tenant, &[event])?;
    }
    Ok(write.into_answer())
}

/// Records an outbound message's time on its contact.
pub(super) fn mark_contacted(
    conn: &Connection,
    tenant: &Tenant,
    id: &ContactId,
    at: Timestamp,
) -> StoreResult<()> {
    let current = get(conn, tenant, &ContactRef::Id(id.clone()))?;
    run(conn, tenant, write::contacted(current, at)).map(drop)
}

/// Runs one batch item, or an upsert: its lookups, its plan, the plan's statement. Each
/// writes at most one statement after its checks, so a failing item leaves nothing behind
/// and the others go on.
fn batch_item(
    conn: &Connection,
    tenant: &Tenant,
    item: BatchItem,
) -> StoreResult<(Contact, UpsertOutcome)> {
    let found = write::lookups(&item)
        .iter()
        .map(|lookup| find(conn, tenant, lookup))
        .collect::<StoreResult<Vec<_>>>()?;
    run(conn, tenant, write::plan(&item, found)?)
}

/// Writes every stored contact's duplicate keys and pairs (after the migration that adds
/// them), as if each were inserted now, oldest first.
pub(super) fn find_all_duplicates(conn: &Connection) -> StoreResult<()> {
    let mut select = conn.prepare(&format!(
        "SELECT {CONTACT_COLUMNS}, workspace_id, mode FROM contacts ORDER BY created_at, id"
    ))?;
    let mut rows = select.query([])?;
    while let Some(row) = rows.next()? {
        let contact = records::contact(row)?;
        let tenant = records::tenant(row, CONTACT_COLUMN_COUNT)?;
        write_duplicates(conn, &tenant, None, Some(&contact))?;
    }
    Ok(())
}

/// Writes the search columns and terms of every stored contact again (after a migration
/// that changes what is indexed).
pub(super) fn reindex_all(conn: &Connection) -> StoreResult<()> {
    conn.execute_batch("DELETE FROM contact_terms")?;
    let mut select = conn.prepare(&format!(
        "SELECT {CONTACT_COLUMNS}, workspace_id, mode FROM contacts"
    ))?;
    let mut rows = select.query([])?;
    while let Some(row) = rows.next()? {
        let contact = records::contact(row)?;
        let tenant = records::tenant(row, CONTACT_COLUMN_COUNT)?;
        let keys = SearchKeys::of(&contact);
        conn.prepare_cached(
            "UPDATE contacts SET name_words = ?4, email_fold = ?5 \
             WHERE workspace_id = ?1 AND mode = ?2 AND id = ?3",
        )?
        .execute(params![
            tenant.workspace_id,
            tenant.mode.as_str(),
            contact.id.as_str(),
            keys.name_words,
            keys.email_fold
        ])?;
        write_terms(
            conn,
            &tenant,
            &contact,
            &TermChanges::between(None, Some(&contact)),
        )?;
    }
    Ok(())
}

#[async_trait]
impl ContactStore for SqliteStore {
    async fn create_contact(&self, tenant: &Tenant, new: NewContact) -> StoreResult<Contact> {
        let tenant = tenant.clone();
        self.writer
            .run(move |conn| Ok(run(conn, &tenant, write::create(new))?.0))
            .await
    }

    async fn get_contact(&self, tenant: &Tenant, contact: &ContactRef) -> StoreResult<Contact> {
        let (tenant, contact) = (tenant.clone(), contact.clone());
        self.readers
            .run_quick(move |conn| get(conn, &tenant, &contact))
            .await
    }

    async fn update_contact(
        &self,
        tenant: &Tenant,
        contact: &ContactRef,
        patch: ContactPatch,
        precondition: Option<Precondition>,
    ) -> StoreResult<Contact> {
        let (tenant, contact) = (tenant.clone(), contact.clone());
        self.writer
            .run(move |conn| {
                let current = get(conn, &tenant, &contact)?;
                let write = write::update(current, precondition.as_ref(), &patch)?;
                Ok(run(conn, &tenant, write)?.0)
            })
            .await
    }

    async fn delete_contact(
        &self,
        tenant: &Tenant,
        contact: &ContactRef,
        precondition: Option<Precondition>,
    ) -> StoreResult<Contact> {
        let (tenant, contact) = (tenant.clone(), contact.clone());
        self.writer
            .run_atomic(move |conn| {
                let erase = write::delete(get(conn, &tenant, &contact)?, precondition.as_ref())?;
                let current = erase.contact();
                remove(conn, &tenant, current)?;
                // The contacts merged into it, and those they had absorbed before: their
                // data lives on in it, so their events are erased with its own.
                let absorbed = conn
                    .prepare_cached(
                        "WITH RECURSIVE absorbed(id) AS (SELECT ?3 UNION SELECT m.source_id \
                         FROM merged_ids m JOIN absorbed a ON m.workspace_id = ?1 \
                         AND m.mode = ?2 AND m.target_id = a.id) SELECT id FROM absorbed",
                    )?
                    .query_map(
                        params![
                            tenant.workspace_id,
                            tenant.mode.as_str(),
                            current.id.as_str()
                        ],
                        |r| r.get::<_, String>(0),
                    )?
                    .collect::<Result<Vec<_>, _>>()?;
                // Merges into it keep snapshots of the contacts it absorbed: all go too.
                let ids =
                    serde_json::to_string(&absorbed).map_err(|e| StoreError::Internal(e.into()))?;
                for sql in [
                    "DELETE FROM merges WHERE workspace_id = ?1 AND mode = ?2 \
                     AND (target_id IN (SELECT value FROM json_each(?3)) \
                     OR source_id IN (SELECT value FROM json_each(?3)))",
                    "DELETE FROM merged_ids WHERE workspace_id = ?1 AND mode = ?2 \
                     AND target_id IN (SELECT value FROM json_each(?3))",
                ] {
                    conn.prepare_cached(sql)?.execute(params![
                        tenant.workspace_id,
                        tenant.mode.as_str(),
                        ids
                    ])?;
                }
                events::erase_contacts(conn, &tenant, &absorbed)?;
                events::append(conn, &tenant, &[NewEvent::contact_deleted(current)])?;
                Ok(erase.answer())
            })
            .await
    }

    async fn list_contacts(
        &self,
        tenant: &Tenant,
        query: &ContactQuery,
    ) -> StoreResult<ContactPage> {
        let (tenant, query) = (tenant.clone(), query.clone());
        self.scan(&tenant.clone(), move |conn| {
            in_snapshot(conn, || in_place(listing::list(conn, &tenant, &query)))
        })
        .await
    }

    async fn count_contacts(&self, tenant: &Tenant, filter: &ContactFilter) -> StoreResult<u64> {
        let (tenant, filter) = (tenant.clone(), filter.clone());
        self.scan(&tenant.clone(), move |conn| {
            in_snapshot(conn, || in_place(listing::count(conn, &tenant, &filter)))
        })
        .await
    }

    async fn upsert_contact(
        &self,
        tenant: &Tenant,
        request: UpsertContact,
    ) -> StoreResult<(Contact, UpsertOutcome)> {
        let tenant = tenant.clone();
        self.writer
            .run(move |conn| batch_item(conn, &tenant, BatchItem::Upsert(request)))
            .await
    }

    async fn batch_contacts(
        &self,
        tenant: &Tenant,
        items: Vec<BatchItem>,
    ) -> StoreResult<Vec<StoreResult<(Contact, UpsertOutcome)>>> {
        let tenant = tenant.clone();
        self.writer
            .run_atomic(move |conn| {
                Ok(items
                    .into_iter()
                    .map(|item| batch_item(conn, &tenant, item))
                    .collect())
            })
            .await
    }
}
