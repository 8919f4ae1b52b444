//! Contacts in SQLite.

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde_json::Value;

use super::in_snapshot;
use super::SqliteStore;
use crate::domain::batch::BatchItem;
use crate::domain::contact::{
    Channel, Contact, ContactPatch, ContactStatus, NewContact, Precondition, UpsertContact,
    UpsertOutcome, UpsertTarget,
};
use crate::domain::contact_query::{full_name_key, ContactFilter, ContactPage, ContactQuery};
use crate::domain::email::Email;
use crate::domain::ids::ContactId;
use crate::domain::phone::Phone;
use crate::domain::refs::ContactRef;
use crate::domain::search::{SearchKeys, TermChanges};
use crate::domain::tenant::Tenant;
use crate::domain::time::Timestamp;
use crate::store::contact_list::{self, Dialect, Param, Search, Sql, TextHints};
use crate::store::records::ContactRecord;
use crate::store::{ContactStore, Entity, StoreError, StoreResult};

const COLUMNS: &str = "id, phone, email, first_name, last_name, preferred_channel, metadata, \
                       status, created_at, updated_at, last_contacted";

fn from_row(row: &Row<'_>) -> rusqlite::Result<StoreResult<Contact>> {
    let metadata: String = row.get(6)?;
    let Ok(metadata) = serde_json::from_str::<Value>(&metadata) else {
        return Ok(Err(StoreError::Internal(anyhow::anyhow!(
            "stored metadata is not JSON"
        ))));
    };
    let record = ContactRecord {
        id: row.get(0)?,
        phone: row.get(1)?,
        email: row.get(2)?,
        first_name: row.get(3)?,
        last_name: row.get(4)?,
        preferred_channel: row.get(5)?,
        metadata,
        status: row.get(7)?,
        created_at: row.get(8)?,
        updated_at: row.get(9)?,
        last_contacted: row.get(10)?,
    };
    Ok(Contact::try_from(record))
}

/// The contact a ref names in this tenant, if any.
pub(super) fn find(
    conn: &Connection,
    tenant: &Tenant,
    contact: &ContactRef,
) -> StoreResult<Option<Contact>> {
    let (column, key) = match contact {
        ContactRef::Id(id) => ("id", id.as_str().to_owned()),
        ContactRef::Phone(phone) => ("phone", phone.as_str().to_owned()),
        ContactRef::Email(email) => ("email_key", email.normalized()),
    };
    let sql = format!(
        "SELECT {COLUMNS} FROM contacts WHERE workspace_id = ?1 AND mode = ?2 AND {column} = ?3"
    );
    let found = conn
        .prepare_cached(&sql)?
        .query_row(
            params![tenant.workspace_id, tenant.mode.as_str(), key],
            from_row,
        )
        .optional()?;
    found.transpose()
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
    let candidates = [
        ("phone", contact.phone.clone().map(ContactRef::Phone)),
        ("email", contact.email.clone().map(ContactRef::Email)),
    ];
    for (field, candidate) in candidates {
        let Some(candidate) = candidate else { continue };
        if let Some(existing) = find(conn, tenant, &candidate)? {
            if existing.id != contact.id {
                return Ok(Some(StoreError::Duplicate {
                    field,
                    existing_contact_id: existing.id,
                }));
            }
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

fn insert(conn: &Connection, tenant: &Tenant, c: &Contact) -> StoreResult<()> {
    if let Some(duplicate) = conflict(conn, tenant, c)? {
        return Err(duplicate);
    }
    let keys = SearchKeys::of(c);
    conn.prepare_cached(
        "INSERT INTO contacts (workspace_id, mode, id, phone, email, email_key, first_name, \
         last_name, preferred_channel, metadata, status, created_at, updated_at, last_contacted, \
         full_name_key, last_name_key, name_words, email_fold) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
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
    ])
    .map_err(|e| on_unique_violation(conn, tenant, c, e))?;
    write_terms(
        conn,
        tenant,
        c,
        &TermChanges::of_keys(None, Some((&keys, c.status))),
    )
}

/// Writes `c` over `old`, the stored version read in this transaction.
fn update(conn: &Connection, tenant: &Tenant, old: &Contact, c: &Contact) -> StoreResult<()> {
    if let Some(duplicate) = conflict(conn, tenant, c)? {
        return Err(duplicate);
    }
    let keys = SearchKeys::of(c);
    conn.prepare_cached(
        "UPDATE contacts SET phone = ?4, email = ?5, email_key = ?6, first_name = ?7, \
         last_name = ?8, preferred_channel = ?9, metadata = ?10, status = ?11, \
         updated_at = ?12, last_contacted = ?13, full_name_key = ?14, last_name_key = ?15, \
         name_words = ?16, email_fold = ?17 \
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
    ])
    .map_err(|e| on_unique_violation(conn, tenant, c, e))?;
    let before = SearchKeys::of(old);
    let changes = TermChanges::of_keys(Some((&before, old.status)), Some((&keys, c.status)));
    write_terms(conn, tenant, c, &changes)
}

/// Records an outbound message's time on its contact.
pub(super) fn mark_contacted(
    conn: &Connection,
    tenant: &Tenant,
    id: &ContactId,
    at: Timestamp,
) -> StoreResult<()> {
    let contact = get(conn, tenant, &ContactRef::Id(id.clone()))?;
    update(conn, tenant, &contact, &contact.clone().mark_contacted(at))
}

fn check(precondition: Option<&Precondition>, current: &Contact) -> StoreResult<()> {
    match precondition {
        Some(p) if !p.holds_for(current) => Err(StoreError::PreconditionFailed {
            current_etag: current.etag(),
        }),
        _ => Ok(()),
    }
}

fn create(conn: &Connection, tenant: &Tenant, new: NewContact) -> StoreResult<Contact> {
    let contact = new.into_contact(ContactId::generate(), Timestamp::now());
    insert(conn, tenant, &contact)?;
    Ok(contact)
}

fn upsert(
    conn: &Connection,
    tenant: &Tenant,
    upsert: &UpsertContact,
) -> StoreResult<(Contact, UpsertOutcome)> {
    let by_phone = match upsert.phone() {
        Some(p) => find(conn, tenant, &ContactRef::Phone(p.clone()))?,
        None => None,
    };
    let by_email = match upsert.email() {
        Some(e) => find(conn, tenant, &ContactRef::Email(e.clone()))?,
        None => None,
    };
    match UpsertTarget::decide(by_phone, by_email) {
        UpsertTarget::Create => {
            let new = upsert.new_contact().map_err(StoreError::Invalid)?;
            Ok((create(conn, tenant, new)?, UpsertOutcome::Created))
        }
        UpsertTarget::Update(current) => {
            match upsert.patch.apply(&current).map_err(StoreError::Invalid)? {
                None => Ok((*current, UpsertOutcome::Unchanged)),
                Some(next) => {
                    update(conn, tenant, &current, &next)?;
                    Ok((next, UpsertOutcome::Updated))
                }
            }
        }
        UpsertTarget::Conflict {
            phone_contact_id,
            email_contact_id,
        } => Err(StoreError::IdentifierConflict {
            phone_contact_id,
            email_contact_id,
        }),
    }
}

/// Runs one batch item. Each item writes at most one statement after its checks, so a
/// failing item leaves nothing behind and the others go on.
fn batch_item(
    conn: &Connection,
    tenant: &Tenant,
    item: BatchItem,
) -> StoreResult<(Contact, UpsertOutcome)> {
    match item {
        BatchItem::Create(new) => create(conn, tenant, new).map(|c| (c, UpsertOutcome::Created)),
        BatchItem::Upsert(u) => upsert(conn, tenant, &u),
    }
}

fn to_sql(param: Param) -> rusqlite::types::Value {
    use rusqlite::types::Value as V;
    match param {
        Param::Text(s) => V::Text(s),
        Param::Int(n) => V::Integer(n),
        Param::Real(n) => V::Real(n),
    }
}

fn count_rows(conn: &Connection, sql: Sql) -> StoreResult<u64> {
    let n: i64 = conn.prepare_cached(&sql.text)?.query_row(
        rusqlite::params_from_iter(sql.params.into_iter().map(to_sql)),
        |r| r.get(0),
    )?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// What the planner needs to know of `q` from the database (see [`TextHints`]).
fn text_hints(
    conn: &Connection,
    tenant: &Tenant,
    filter: &ContactFilter,
) -> StoreResult<Option<TextHints>> {
    let Some(q) = &filter.q else {
        return Ok(None);
    };
    let (words, others) = contact_list::text_probes(Dialect::Sqlite, tenant, q);
    let mut exact_words = Vec::with_capacity(words.len());
    for sql in words {
        let (least, greatest): (Option<String>, Option<String>) =
            conn.prepare_cached(&sql.text)?.query_row(
                rusqlite::params_from_iter(sql.params.into_iter().map(to_sql)),
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
        exact_words.push(least.filter(|l| Some(l) == greatest.as_ref()));
    }
    Ok(Some(TextHints {
        exact_words,
        other_prefixes: count_rows(conn, others)? > 0,
    }))
}

fn search<'a>(
    conn: &Connection,
    tenant: &'a Tenant,
    filter: &'a ContactFilter,
) -> StoreResult<Search<'a>> {
    let hints = text_hints(conn, tenant, filter)?;
    Ok(Search::new(Dialect::Sqlite, tenant, filter, hints))
}

/// The capped size of each source of the search, for the planner.
fn estimates(conn: &Connection, search: &Search<'_>) -> StoreResult<Vec<u64>> {
    (0..search.source_count())
        .map(|i| count_rows(conn, search.estimate(i, contact_list::GATHER_MAX + 1)))
        .collect()
}

/// The count of the search's matches; `known` are source sizes the caller already took.
fn count_matches(conn: &Connection, search: &Search<'_>, known: &[u64]) -> StoreResult<u64> {
    let estimates = if search.source_count() > 1 && known.len() != search.source_count() {
        estimates(conn, search)?
    } else {
        known.to_vec()
    };
    count_rows(conn, search.count(search.count_plan(&estimates)))
}

pub(super) fn count(
    conn: &Connection,
    tenant: &Tenant,
    filter: &ContactFilter,
) -> StoreResult<u64> {
    count_matches(conn, &search(conn, tenant, filter)?, &[])
}

pub(super) fn list(
    conn: &Connection,
    tenant: &Tenant,
    query: &ContactQuery,
) -> StoreResult<ContactPage> {
    let search = search(conn, tenant, &query.filter)?;
    let estimates = if search.needs_estimates(query) {
        estimates(conn, &search)?
    } else {
        Vec::new()
    };
    let plan = search.page_plan(query, &estimates);
    let total = if query.include_total {
        Some(count_matches(conn, &search, &estimates)?)
    } else {
        None
    };
    let page = search.page(COLUMNS, query, plan);
    tracing::debug!(?plan, ?estimates, sql = %page.text, params = ?page.params, "contact list");
    let mut items = conn
        .prepare_cached(&page.text)?
        .query_map(
            rusqlite::params_from_iter(page.params.into_iter().map(to_sql)),
            from_row,
        )?
        .map(|r| r?)
        .collect::<StoreResult<Vec<_>>>()?;
    let has_more = items.len() > query.limit as usize;
    items.truncate(query.limit as usize);
    Ok(ContactPage {
        items,
        total,
        has_more,
    })
}

/// Writes the search columns and terms of every stored contact again (after a migration
/// that changes what is indexed).
pub(super) fn reindex_all(conn: &Connection) -> StoreResult<()> {
    conn.execute_batch("DELETE FROM contact_terms")?;
    let mut select = conn.prepare(&format!(
        "SELECT {COLUMNS}, workspace_id, mode FROM contacts"
    ))?;
    let mut rows = select.query([])?;
    while let Some(row) = rows.next()? {
        let contact = from_row(row)??;
        let mode: String = row.get(12)?;
        let tenant = Tenant {
            workspace_id: row.get(11)?,
            mode: crate::store::records::mode(&mode)?,
        };
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
            .run(move |conn| create(conn, &tenant, new))
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
                check(precondition.as_ref(), &current)?;
                match patch.apply(&current).map_err(StoreError::Invalid)? {
                    None => Ok(current),
                    Some(next) => {
                        update(conn, &tenant, &current, &next)?;
                        Ok(next)
                    }
                }
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
            .run(move |conn| {
                let current = get(conn, &tenant, &contact)?;
                check(precondition.as_ref(), &current)?;
                // Conversations and messages go by ON DELETE CASCADE, in this transaction.
                conn.prepare_cached(
                    "DELETE FROM contacts WHERE workspace_id = ?1 AND mode = ?2 AND id = ?3",
                )?
                .execute(params![
                    tenant.workspace_id,
                    tenant.mode.as_str(),
                    current.id.as_str()
                ])?;
                write_terms(
                    conn,
                    &tenant,
                    &current,
                    &TermChanges::between(Some(&current), None),
                )?;
                Ok(Contact {
                    status: ContactStatus::Deleted,
                    ..current
                })
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
            in_snapshot(conn, || list(conn, &tenant, &query))
        })
        .await
    }

    async fn count_contacts(&self, tenant: &Tenant, filter: &ContactFilter) -> StoreResult<u64> {
        let (tenant, filter) = (tenant.clone(), filter.clone());
        self.scan(&tenant.clone(), move |conn| {
            in_snapshot(conn, || count(conn, &tenant, &filter))
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
            .run(move |conn| upsert(conn, &tenant, &request))
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
