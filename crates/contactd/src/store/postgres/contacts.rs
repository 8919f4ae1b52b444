//! Contacts in PostgreSQL: the reads and the statements of the plans of `domain::write`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use deadpool_postgres::Transaction;
use serde_json::Value;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;

use super::duplicates::{insert_duplicates, write_duplicates};
use super::idempotency::{answer_committed, keep_answer};
use super::{events, read_snapshot, Db, PgStore};
use crate::domain::batch::BatchItem;
use crate::domain::contact::{
    Channel, Contact, ContactPatch, Handle, NewContact, Precondition, UpsertContact, UpsertOutcome,
};
use crate::domain::contact_query::{full_name_key, ContactFilter, ContactPage, ContactQuery};
use crate::domain::email::Email;
use crate::domain::event::NewEvent;
use crate::domain::phone::Phone;
use crate::domain::refs::ContactRef;
use crate::domain::search::{SearchKeys, TermChanges};
use crate::domain::tenant::Tenant;
use crate::domain::time::Timestamp;
use crate::domain::write::{self, Write};
use crate::store::known::Known;
use crate::store::listing;
use crate::store::records::{self, CONTACT_COLUMNS, CONTACT_COLUMN_COUNT};
use crate::store::{ContactStore, Entity, StoreError, StoreResult};

/// The contact a ref names in this tenant; `lock` takes its row lock until the
/// transaction ends, so a read-patch-write cannot interleave with another.
pub(super) async fn find(
    db: &Db<'_>,
    tenant: &Tenant,
    contact: &ContactRef,
    lock: bool,
) -> StoreResult<Option<Contact>> {
    let (namespace, key) = records::ref_key(contact);
    let lock = if lock { " FOR UPDATE" } else { "" };
    let (ws, mode) = (&tenant.workspace_id, tenant.mode.as_str());
    let row = if namespace == "id" {
        return by_id_or_merged(db, tenant, key, !lock.is_empty()).await;
    } else {
        let sql = format!(
            "SELECT {CONTACT_COLUMNS} FROM contacts WHERE workspace_id = $1 AND mode = $2 \
             AND id = (SELECT contact_id FROM contact_handles WHERE workspace_id = $1 \
             AND mode = $2 AND namespace = $3 AND key = $4){lock}"
        );
        db.query_opt(&sql, &[ws, &mode, &namespace, &key]).await?
    };
    row.as_ref().map(records::contact).transpose()
}

pub(super) async fn get(
    db: &Db<'_>,
    tenant: &Tenant,
    contact: &ContactRef,
    lock: bool,
) -> StoreResult<Contact> {
    find(db, tenant, contact, lock)
        .await?
        .ok_or(StoreError::NotFound(Entity::Contact))
}

/// Turns a unique-index violation into `Duplicate` naming the contact that holds the
/// value. Runs outside the failed transaction, which PostgreSQL has aborted.
pub(super) async fn on_unique_violation(
    db: &Db<'_>,
    tenant: &Tenant,
    contact: &Contact,
    error: tokio_postgres::Error,
) -> StoreError {
    let index = error
        .as_db_error()
        .filter(|e| *e.code() == SqlState::UNIQUE_VIOLATION)
        .and_then(|e| e.constraint().map(str::to_owned));
    if !matches!(
        index.as_deref(),
        Some("contacts_phone" | "contacts_email" | "contact_handles_pkey")
    ) {
        return error.into();
    }
    for (field, held) in write::unique_refs(contact) {
        match find(db, tenant, &held, false).await {
            Ok(holder) => {
                if let Some(duplicate) = write::duplicate(contact, field, holder) {
                    return duplicate.into();
                }
            }
            Err(e) => return e,
        }
    }
    StoreError::Unavailable("a conflicting write changed meanwhile; retry".into())
}

/// Writes a contact's search terms (see `domain::search`) in the statement of its row:
/// `$1` tenant, `$2` mode, `$3` id, `$11` status; `created_at`, terms and numbers as given.
fn write_terms_sql(created_at: &str, terms: &str, nums: &str) -> String {
    format!(
        "INSERT INTO contact_terms (workspace_id, mode, term, created_at, contact_id, status, num) \
         SELECT $1, $2, x.term, {created_at}, $3, $11, x.num \
         FROM unnest({terms}::text[], {nums}::float8[]) AS x(term, num) \
         ON CONFLICT (workspace_id, mode, term, created_at, contact_id) \
         DO UPDATE SET status = EXCLUDED.status, num = EXCLUDED.num"
    )
}

/// How many merges a merged-away id is followed through to the contact it names now.
const MAX_MERGE_HOPS: usize = 32;

/// The contact of this id exactly, if it exists; `lock` as in [`find`].
pub(super) async fn by_id(
    db: &Db<'_>,
    tenant: &Tenant,
    id: &str,
    lock: bool,
) -> StoreResult<Option<Contact>> {
    let sql = format!(
        "SELECT {CONTACT_COLUMNS} FROM contacts \
         WHERE workspace_id = $1 AND mode = $2 AND id = $3{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    let row = db
        .query_opt(&sql, &[&tenant.workspace_id, &tenant.mode.as_str(), &id])
        .await?;
    row.as_ref().map(records::contact).transpose()
}

/// The contact of this id, or the one a contact of this id was merged into (following
/// merges of merges, at most [`MAX_MERGE_HOPS`]).
async fn by_id_or_merged(
    db: &Db<'_>,
    tenant: &Tenant,
    id: String,
    lock: bool,
) -> StoreResult<Option<Contact>> {
    let mut id = id;
    for _ in 0..MAX_MERGE_HOPS {
        if let Some(contact) = by_id(db, tenant, &id, lock).await? {
            return Ok(Some(contact));
        }
        let row = db
            .query_opt(
                "SELECT target_id FROM merged_ids \
                 WHERE workspace_id = $1 AND mode = $2 AND source_id = $3",
                &[&tenant.workspace_id, &tenant.mode.as_str(), &id],
            )
            .await?;
        match row {
            Some(row) => id = row.try_get(0).map_err(StoreError::from)?,
            None => return Ok(None),
        }
    }
    Ok(None)
}

/// Deletes a contact's row and its search terms; its conversations (unless moved first)
/// and handles go by ON DELETE CASCADE, in this transaction.
pub(super) async fn remove(db: &Db<'_>, tenant: &Tenant, c: &Contact) -> StoreResult<()> {
    let removed = TermChanges::between(Some(c), None).remove;
    db.execute(
        "WITH removed AS (DELETE FROM contact_terms WHERE workspace_id = $1 \
         AND mode = $2 AND term = ANY($4::text[]) AND created_at = $5 \
         AND contact_id = $3) \
         DELETE FROM contacts WHERE workspace_id = $1 AND mode = $2 AND id = $3",
        &[
            &tenant.workspace_id,
            &tenant.mode.as_str(),
            &c.id.as_str(),
            &removed,
            &c.created_at.as_micros(),
        ],
    )
    .await?;
    write_duplicates(db, tenant, Some(c), None).await?;
    Ok(())
}

/// Handles as two arrays, namespaces and keys, for `unnest`.
fn handle_columns<'a>(handles: impl Iterator<Item = &'a Handle>) -> (Vec<&'a str>, Vec<&'a str>) {
    handles.map(|(n, k)| (*n, k.as_str())).unzip()
}

/// Keeps `contact_handles` in step with a contact's identifiers: deletes the handles
/// `before` held that `after` does not, inserts those `after` holds that `before` did not.
/// An identifier another contact holds fails the insert on the primary key.
async fn write_handles(
    db: &Db<'_>,
    tenant: &Tenant,
    c: &Contact,
    before: &[Handle],
    after: &[Handle],
) -> Result<(), tokio_postgres::Error> {
    let (namespaces, keys) = handle_columns(before.iter().filter(|h| !after.contains(h)));
    if !namespaces.is_empty() {
        db.execute(
            "DELETE FROM contact_handles WHERE workspace_id = $1 AND mode = $2 \
             AND contact_id = $3 AND (namespace, key) IN \
             (SELECT * FROM unnest($4::text[], $5::text[]))",
            &[
                &tenant.workspace_id,
                &tenant.mode.as_str(),
                &c.id.as_str(),
                &namespaces,
                &keys,
            ],
        )
        .await?;
    }
    let (namespaces, keys) = handle_columns(after.iter().filter(|h| !before.contains(h)));
    if !namespaces.is_empty() {
        db.execute(
            "INSERT INTO contact_handles (workspace_id, mode, namespace, key, contact_id) \
             SELECT $1, $2, x.namespace, x.key, $3 \
             FROM unnest($4::text[], $5::text[]) AS x(namespace, key)",
            &[
                &tenant.workspace_id,
                &tenant.mode.as_str(),
                &c.id.as_str(),
                &namespaces,
                &keys,
            ],
        )
        .await?;
    }
    Ok(())
}

pub(super) async fn insert(
    db: &Db<'_>,
    tenant: &Tenant,
    c: &Contact,
) -> Result<u64, tokio_postgres::Error> {
    let keys = SearchKeys::of(c);
    let (terms, nums) = TermChanges::of_keys(None, Some((&keys, c.status))).write_columns();
    let inserted = db
        .execute(
            &format!(
                "WITH contact AS (INSERT INTO contacts (workspace_id, mode, id, phone, email, \
             email_key, first_name, last_name, preferred_channel, metadata, status, created_at, \
             updated_at, last_contacted, full_name_key, last_name_key, name_words, email_fold, \
             identities) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
             $17, $18, $21)) {}",
                write_terms_sql("$12", "$19", "$20")
            ),
            &[
                &tenant.workspace_id,
                &tenant.mode.as_str(),
                &c.id.as_str(),
                &c.phone.as_ref().map(Phone::as_str),
                &c.email.as_ref().map(Email::as_str),
                &c.email.as_ref().map(Email::normalized),
                &c.first_name,
                &c.last_name,
                &c.preferred_channel.map(Channel::as_str),
                &Value::Object(c.metadata.clone()),
                &c.status.as_str(),
                &c.created_at.as_micros(),
                &c.updated_at.as_micros(),
                &c.last_contacted.map(Timestamp::as_micros),
                &full_name_key(c),
                &c.last_name.as_ref().map(|n| n.to_lowercase()),
                &keys.name_words,
                &keys.email_fold,
                &terms,
                &nums,
                &records::identities_json(c),
            ],
        )
        .await?;
    write_handles(db, tenant, c, &[], &c.handles()).await?;
    write_duplicates(db, tenant, None, Some(c)).await?;
    Ok(inserted)
}

/// Writes `c` over `old`, the stored version read (and locked) in this transaction, with
/// the changes of its search terms in the same statement.
pub(super) async fn update(
    db: &Db<'_>,
    tenant: &Tenant,
    old: &Contact,
    c: &Contact,
) -> Result<u64, tokio_postgres::Error> {
    const UPDATE: &str = "UPDATE contacts SET phone = $4, email = $5, email_key = $6, \
         first_name = $7, last_name = $8, preferred_channel = $9, metadata = $10, status = $11, \
         updated_at = $12, last_contacted = $13, full_name_key = $14, last_name_key = $15, \
         name_words = $16, email_fold = $17, identities = $18 \
         WHERE workspace_id = $1 AND mode = $2 AND id = $3";
    let keys = SearchKeys::of(c);
    let before = SearchKeys::of(old);
    let changes = TermChanges::of_keys(Some((&before, old.status)), Some((&keys, c.status)));
    let (terms, nums) = changes.write_columns();
    let created_at = c.created_at.as_micros();
    let sql = if changes.is_empty() {
        UPDATE.to_owned()
    } else {
        format!(
            "WITH contact AS ({UPDATE}), removed AS (DELETE FROM contact_terms \
             WHERE workspace_id = $1 AND mode = $2 AND term = ANY($19::text[]) \
             AND created_at = $20 AND contact_id = $3) {}",
            write_terms_sql("$20", "$21", "$22")
        )
    };
    let identities = records::identities_json(c);
    let base: [&(dyn ToSql + Sync); 18] = [
        &tenant.workspace_id,
        &tenant.mode.as_str(),
        &c.id.as_str(),
        &c.phone.as_ref().map(Phone::as_str),
        &c.email.as_ref().map(Email::as_str),
        &c.email.as_ref().map(Email::normalized),
        &c.first_name,
        &c.last_name,
        &c.preferred_channel.map(Channel::as_str),
        &Value::Object(c.metadata.clone()),
        &c.status.as_str(),
        &c.updated_at.as_micros(),
        &c.last_contacted.map(Timestamp::as_micros),
        &full_name_key(c),
        &c.last_name.as_ref().map(|n| n.to_lowercase()),
        &keys.name_words,
        &keys.email_fold,
        &identities,
    ];
    let updated = if changes.is_empty() {
        db.execute(&sql, &base).await?
    } else {
        let mut params = base.to_vec();
        params.extend([
            &changes.remove as &(dyn ToSql + Sync),
            &created_at,
            &terms,
            &nums,
        ]);
        db.execute(&sql, &params).await?
    };
    write_handles(db, tenant, c, &old.handles(), &c.handles()).await?;
    write_duplicates(db, tenant, Some(old), Some(c)).await?;
    Ok(updated)
}

/// Runs a plan's statement.
pub(super) async fn run(
    db: &Db<'_>,
    tenant: &Tenant,
    write: &Write,
) -> Result<u64, tokio_postgres::Error> {
    match write {
        Write::Insert(contact) => insert(db, tenant, contact).await,
        Write::Update { old, new } => update(db, tenant, old, new).await,
        Write::Unchanged(_) => Ok(0),
    }
}

/// Runs one batch item, or an upsert, inside `tx`: its lookups (locking what they find),
/// its plan, and the plan's statement in a savepoint. When a concurrent transaction takes
/// one of the identifiers first, the statement fails on the unique index and only its
/// savepoint rolls back: an item that looks contacts up looks again and decides anew (it
/// finds that contact); a create answers the duplicate.
async fn item_in(
    tx: &mut Transaction<'_>,
    tenant: &Tenant,
    item: &BatchItem,
    events: &mut Vec<NewEvent>,
) -> StoreResult<(Contact, UpsertOutcome)> {
    const ATTEMPTS: usize = 3;
    let lookups = write::lookups(item);
    for _ in 0..ATTEMPTS {
        let mut found = Vec::with_capacity(lookups.len());
        for lookup in &lookups {
            found.push(find(&Db::Tx(tx), tenant, lookup, true).await?);
        }
        let plan = write::plan(item, found)?;
        if let Write::Unchanged(_) = plan {
            return Ok(plan.into_answer());
        }
        let savepoint = tx.transaction().await?;
        match run(&Db::Tx(&savepoint), tenant, &plan).await {
            Ok(_) => {
                savepoint.commit().await?;
                events.extend(NewEvent::of_write(&plan));
                return Ok(plan.into_answer());
            }
            Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) && !lookups.is_empty() => {
                savepoint.rollback().await?
            }
            Err(e) => {
                savepoint.rollback().await?;
                return Err(on_unique_violation(&Db::Tx(tx), tenant, plan.contact(), e).await);
            }
        }
    }
    Err(StoreError::Unavailable(
        "the contact kept changing under concurrent writes; retry".into(),
    ))
}

/// Runs a batch in a few statements inside `tx`: one read of every contact its items
/// name (locked; each kind of ref through its own index, as one `OR` over three columns
/// made PostgreSQL scan the tenant for every batch), the plans of `domain::write::plan_in_order`, one multi-row `INSERT` of
/// the new contacts and one of their search terms, then the updates. `None` when another
/// transaction wrote one of the batch's identifiers meanwhile (an insert or an update
/// refused by a unique index): `tx` is then unusable, and the caller runs
/// the batch again item by item ([`item_in`]), which decides such races row by row.
async fn batch_in_one_pass(
    tx: &Transaction<'_>,
    tenant: &Tenant,
    items: &[BatchItem],
) -> StoreResult<Option<BatchAnswer>> {
    let db = Db::Tx(tx);
    let (mut ids, mut namespaces, mut keys) = (Vec::new(), Vec::new(), Vec::new());
    for contact in write::batch_refs(items) {
        match records::ref_key(&contact) {
            ("id", key) => ids.push(key),
            (namespace, key) => {
                namespaces.push(namespace);
                keys.push(key);
            }
        }
    }
    let read = db
        .query(
            &format!(
                "SELECT {CONTACT_COLUMNS} FROM contacts WHERE workspace_id = $1 AND mode = $2 \
                 AND id IN (\
                 SELECT id FROM contacts WHERE workspace_id = $1 AND mode = $2 AND id = ANY($3) \
                 UNION ALL SELECT h.contact_id FROM contact_handles h \
                 JOIN unnest($4::text[], $5::text[]) AS x(namespace, key) \
                 ON h.namespace = x.namespace AND h.key = x.key \
                 WHERE h.workspace_id = $1 AND h.mode = $2) \
                 ORDER BY id FOR UPDATE"
            ),
            &[
                &tenant.workspace_id,
                &tenant.mode.as_str(),
                &ids,
                &namespaces,
                &keys,
            ],
        )
        .await;
    let rows = match read {
        Ok(rows) => rows,
        Err(e) if lost_race(&e) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let stored = rows
        .iter()
        .map(records::contact)
        .collect::<StoreResult<Vec<_>>>()?;
    let plans = write::plan_in_order(items, &mut Known::of(stored));
    let inserts: Vec<&Contact> = plans
        .iter()
        .filter_map(|plan| match plan {
            Ok(Write::Insert(contact)) => Some(contact),
            _ => None,
        })
        .collect();
    if !inserts.is_empty() {
        match insert_all(&db, tenant, &inserts).await {
            Ok(inserted) if inserted == inserts.len() as u64 => {}
            Ok(_) => return Ok(None),
            Err(e) if lost_race(&e) => return Ok(None),
            Err(e) => return Err(e.into()),
        }
    }
    for plan in &plans {
        if let Ok(Write::Update { old, new }) = plan {
            match update(&db, tenant, old, new).await {
                Ok(_) => {}
                Err(e) if lost_race(&e) => return Ok(None),
                Err(e) => return Err(e.into()),
            }
        }
    }
    let events = plans
        .iter()
        .filter_map(|plan| plan.as_ref().ok().and_then(NewEvent::of_write))
        .collect();
    let results = plans
        .into_iter()
        .map(|plan| plan.map(Write::into_answer).map_err(StoreError::from))
        .collect();
    Ok(Some((results, events)))
}

/// A batch's results, item by item, and the events of its writes.
type BatchAnswer = (Vec<StoreResult<(Contact, UpsertOutcome)>>, Vec<NewEvent>);

/// Another transaction took an identifier first, or the two waited on each other's row
/// locks: running the batch again item by item settles it.
fn lost_race(e: &tokio_postgres::Error) -> bool {
    matches!(
        e.code(),
        Some(&SqlState::UNIQUE_VIOLATION | &SqlState::T_R_DEADLOCK_DETECTED)
    )
}

/// Inserts new contacts and their search terms in two plain statements (arrays unnested
/// into rows; no `ON CONFLICT`, whose speculative insertion costs per row): the plans
/// checked every identifier against the locked rows, so a unique violation here means
/// another transaction took one meanwhile, and the caller falls back. New contacts have
/// no terms yet. Returns how many contacts were inserted.
async fn insert_all(
    db: &Db<'_>,
    tenant: &Tenant,
    contacts: &[&Contact],
) -> Result<u64, tokio_postgres::Error> {
    let n = contacts.len();
    let mut c = InsertColumns::with_capacity(n);
    let mut t = TermColumns::default();
    let mut h = HandleColumns::default();
    for contact in contacts {
        let keys = SearchKeys::of(contact);
        let changes = TermChanges::of_keys(None, Some((&keys, contact.status)));
        for (term, num) in changes.write {
            t.term.push(term);
            t.created_at.push(contact.created_at.as_micros());
            t.contact_id.push(contact.id.as_str());
            t.status.push(contact.status.as_str());
            t.num.push(num);
        }
        c.id.push(contact.id.as_str());
        c.phone.push(contact.phone.as_ref().map(Phone::as_str));
        c.email.push(contact.email.as_ref().map(Email::as_str));
        c.email_key
            .push(contact.email.as_ref().map(Email::normalized));
        c.first_name.push(contact.first_name.as_deref());
        c.last_name.push(contact.last_name.as_deref());
        c.preferred_channel
            .push(contact.preferred_channel.map(Channel::as_str));
        c.metadata.push(Value::Object(contact.metadata.clone()));
        c.status.push(contact.status.as_str());
        c.created_at.push(contact.created_at.as_micros());
        c.updated_at.push(contact.updated_at.as_micros());
        c.last_contacted
            .push(contact.last_contacted.map(Timestamp::as_micros));
        c.full_name_key.push(full_name_key(contact));
        c.last_name_key
            .push(contact.last_name.as_ref().map(|n| n.to_lowercase()));
        c.name_words.push(keys.name_words);
        c.email_fold.push(keys.email_fold);
        c.identities.push(records::identities_json(contact));
        for (namespace, key) in contact.handles() {
            h.namespace.push(namespace);
            h.key.push(key);
            h.contact_id.push(contact.id.as_str());
        }
    }
    let inserted = db
        .execute(
            "INSERT INTO contacts (workspace_id, mode, id, phone, email, email_key, first_name, \
             last_name, preferred_channel, metadata, status, created_at, updated_at, \
             last_contacted, full_name_key, last_name_key, name_words, email_fold, identities) \
             SELECT $1, $2, x.* FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], \
             $7::text[], $8::text[], $9::text[], $10::jsonb[], $11::text[], $12::int8[], \
             $13::int8[], $14::int8[], $15::text[], $16::text[], $17::text[], $18::text[], \
             $19::jsonb[]) AS x",
            &[
                &tenant.workspace_id,
                &tenant.mode.as_str(),
                &c.id,
                &c.phone,
                &c.email,
                &c.email_key,
                &c.first_name,
                &c.last_name,
                &c.preferred_channel,
                &c.metadata,
                &c.status,
                &c.created_at,
                &c.updated_at,
                &c.last_contacted,
                &c.full_name_key,
                &c.last_name_key,
                &c.name_words,
                &c.email_fold,
                &c.identities,
            ],
        )
        .await?;
    db.execute(
        "INSERT INTO contact_handles (workspace_id, mode, namespace, key, contact_id) \
         SELECT $1, $2, x.* FROM unnest($3::text[], $4::text[], $5::text[]) AS x",
        &[
            &tenant.workspace_id,
            &tenant.mode.as_str(),
            &h.namespace,
            &h.key,
            &h.contact_id,
        ],
    )
    .await?;
    insert_duplicates(db, tenant, contacts).await?;
    if t.term.is_empty() {
        return Ok(inserted);
    }
    db.execute(
        "INSERT INTO contact_terms (workspace_id, mode, term, created_at, contact_id, status, num) \
         SELECT $1, $2, x.* FROM unnest($3::text[], $4::int8[], $5::text[], $6::text[], \
         $7::float8[]) AS x",
        &[
            &tenant.workspace_id,
            &tenant.mode.as_str(),
            &t.term,
            &t.created_at,
            &t.contact_id,
            &t.status,
            &t.num,
        ],
    )
    .await?;
    Ok(inserted)
}

/// The columns of a multi-row contact insert, one array each.
struct InsertColumns<'a> {
    id: Vec<&'a str>,
    phone: Vec<Option<&'a str>>,
    email: Vec<Option<&'a str>>,
    email_key: Vec<Option<String>>,
    first_name: Vec<Option<&'a str>>,
    last_name: Vec<Option<&'a str>>,
    preferred_channel: Vec<Option<&'static str>>,
    metadata: Vec<Value>,
    status: Vec<&'static str>,
    created_at: Vec<i64>,
    updated_at: Vec<i64>,
    last_contacted: Vec<Option<i64>>,
    full_name_key: Vec<String>,
    last_name_key: Vec<Option<String>>,
    name_words: Vec<String>,
    email_fold: Vec<Option<String>>,
    identities: Vec<Value>,
}

/// The handles of a multi-row insert, one array per column.
#[derive(Default)]
struct HandleColumns<'a> {
    namespace: Vec<&'static str>,
    key: Vec<String>,
    contact_id: Vec<&'a str>,
}

impl InsertColumns<'_> {
    fn with_capacity(n: usize) -> Self {
        InsertColumns {
            id: Vec::with_capacity(n),
            phone: Vec::with_capacity(n),
            email: Vec::with_capacity(n),
            email_key: Vec::with_capacity(n),
            first_name: Vec::with_capacity(n),
            last_name: Vec::with_capacity(n),
            preferred_channel: Vec::with_capacity(n),
            metadata: Vec::with_capacity(n),
            status: Vec::with_capacity(n),
            created_at: Vec::with_capacity(n),
            updated_at: Vec::with_capacity(n),
            last_contacted: Vec::with_capacity(n),
            full_name_key: Vec::with_capacity(n),
            last_name_key: Vec::with_capacity(n),
            name_words: Vec::with_capacity(n),
            email_fold: Vec::with_capacity(n),
            identities: Vec::with_capacity(n),
        }
    }
}

/// The search-term rows of a multi-row insert, one array per column.
#[derive(Default)]
struct TermColumns<'a> {
    term: Vec<String>,
    created_at: Vec<i64>,
    contact_id: Vec<&'a str>,
    status: Vec<&'static str>,
    num: Vec<Option<f64>>,
}

/// A connection running a read that may scan. If the request is dropped before the read
/// ends (its deadline passed or its client went away), the statement is cancelled on the
/// server and the connection closed rather than handed to another request, so no query
/// outlives its request and no other request's statement can be cancelled by mistake.
/// Both that and a read failing at `statement_timeout` count as stopped.
struct Bounded {
    client: Option<deadpool_postgres::Object>,
    token: tokio_postgres::CancelToken,
    done: bool,
    started: Instant,
    budget: Duration,
    stopped: Arc<AtomicU64>,
}

impl Bounded {
    fn new(client: deadpool_postgres::Object, store: &PgStore) -> Bounded {
        Bounded {
            token: client.cancel_token(),
            client: Some(client),
            done: false,
            started: Instant::now(),
            budget: store.statement_timeout,
            stopped: store.reads_stopped.clone(),
        }
    }

    fn client(&mut self) -> StoreResult<&mut deadpool_postgres::Object> {
        self.client
            .as_mut()
            .ok_or_else(|| StoreError::Unavailable("no database connection".into()))
    }

    /// The read ended: a failure once the budget is spent was PostgreSQL stopping it.
    fn finish<T>(mut self, result: StoreResult<T>) -> StoreResult<T> {
        self.done = true;
        if matches!(result, Err(StoreError::Unavailable(_)))
            && self.started.elapsed() >= self.budget
        {
            self.stopped.fetch_add(1, Ordering::Relaxed);
        }
        result
    }
}

impl Drop for Bounded {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let Some(client) = self.client.take() else {
            return;
        };
        self.stopped.fetch_add(1, Ordering::Relaxed);
        let connection = deadpool_postgres::Object::take(client);
        let token = self.token.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = token.cancel_query(tokio_postgres::NoTls).await;
                drop(connection);
            });
        }
    }
}

/// A list's or a count's steps in one snapshot, so its plan, its total and its page agree.
async fn in_snapshot<T>(
    client: &mut deadpool_postgres::Object,
    steps: impl AsyncFnOnce(&Db<'_>) -> StoreResult<T>,
) -> StoreResult<T> {
    let tx = read_snapshot(client).await?;
    let result = steps(&Db::Tx(&tx)).await?;
    tx.commit().await?;
    Ok(result)
}

/// Writes every stored contact's duplicate keys and pairs (after the migration that adds
/// them), as if each were inserted now, oldest first.
pub(super) async fn find_all_duplicates(tx: &Transaction<'_>) -> StoreResult<()> {
    let db = Db::Tx(tx);
    let rows = db
        .query(
            &format!(
                "SELECT {CONTACT_COLUMNS}, workspace_id, mode FROM contacts ORDER BY created_at, id"
            ),
            &[],
        )
        .await?;
    for row in rows {
        let contact = records::contact(&row)?;
        let tenant = records::tenant(&row, CONTACT_COLUMN_COUNT)?;
        write_duplicates(&db, &tenant, None, Some(&contact)).await?;
    }
    Ok(())
}

/// Writes the search columns and terms of every stored contact again (after a migration
/// that changes what is indexed).
pub(super) async fn reindex_all(tx: &Transaction<'_>) -> StoreResult<()> {
    let db = Db::Tx(tx);
    db.execute("DELETE FROM contact_terms", &[]).await?;
    let rows = db
        .query(
            &format!("SELECT {CONTACT_COLUMNS}, workspace_id, mode FROM contacts"),
            &[],
        )
        .await?;
    for row in rows {
        let contact = records::contact(&row)?;
        let tenant = records::tenant(&row, CONTACT_COLUMN_COUNT)?;
        let keys = SearchKeys::of(&contact);
        let (terms, nums) = TermChanges::between(None, Some(&contact)).write_columns();
        db.execute(
            "UPDATE contacts SET name_words = $3, email_fold = $4 \
             WHERE workspace_id = $1 AND mode = $2 AND id = $5",
            &[
                &tenant.workspace_id,
                &tenant.mode.as_str(),
                &keys.name_words,
                &keys.email_fold,
                &contact.id.as_str(),
            ],
        )
        .await?;
        db.execute(
            "INSERT INTO contact_terms (workspace_id, mode, term, created_at, contact_id, status, num) \
             SELECT $1, $2, x.term, $3, $4, $5, x.num \
             FROM unnest($6::text[], $7::float8[]) AS x(term, num)",
            &[
                &tenant.workspace_id,
                &tenant.mode.as_str(),
                &contact.created_at.as_micros(),
                &contact.id.as_str(),
                &contact.status.as_str(),
                &terms,
                &nums,
            ],
        )
        .await?;
    }
    Ok(())
}

#[async_trait]
impl ContactStore for PgStore {
    async fn create_contact(&self, tenant: &Tenant, new: NewContact) -> StoreResult<Contact> {
        let mut client = self.client().await?;
        let plan = write::create(new);
        let tx = client.transaction().await?;
        if let Err(e) = run(&Db::Tx(&tx), tenant, &plan).await {
            drop(tx);
            let db = Db::Client(&client);
            return Err(on_unique_violation(&db, tenant, plan.contact(), e).await);
        }
        let kept = keep_answer(&Db::Tx(&tx), plan.contact()).await?;
        events::append(&Db::Tx(&tx), tenant, NewEvent::of_write(&plan).as_slice()).await?;
        tx.commit().await?;
        answer_committed(kept);
        drop(client);
        self.after_batch_inserts(1).await;
        Ok(plan.into_contact())
    }

    async fn get_contact(&self, tenant: &Tenant, contact: &ContactRef) -> StoreResult<Contact> {
        let client = self.client().await?;
        get(&Db::Client(&client), tenant, contact, false).await
    }

    async fn update_contact(
        &self,
        tenant: &Tenant,
        contact: &ContactRef,
        patch: ContactPatch,
        precondition: Option<Precondition>,
    ) -> StoreResult<Contact> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let current = get(&Db::Tx(&tx), tenant, contact, true).await?;
        let plan = write::update(current, precondition.as_ref(), &patch)?;
        if let Err(e) = run(&Db::Tx(&tx), tenant, &plan).await {
            drop(tx);
            let db = Db::Client(&client);
            return Err(on_unique_violation(&db, tenant, plan.contact(), e).await);
        }
        events::append(&Db::Tx(&tx), tenant, NewEvent::of_write(&plan).as_slice()).await?;
        tx.commit().await?;
        Ok(plan.into_contact())
    }

    async fn delete_contact(
        &self,
        tenant: &Tenant,
        contact: &ContactRef,
        precondition: Option<Precondition>,
    ) -> StoreResult<Contact> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let current = get(&Db::Tx(&tx), tenant, contact, true).await?;
        let erase = write::delete(current, precondition.as_ref())?;
        let current = erase.contact();
        // Conversations and messages go by ON DELETE CASCADE, in this transaction; the
        // search terms in the same statement.
        remove(&Db::Tx(&tx), tenant, current).await?;
        // Merges into it keep snapshots of the contacts it absorbed, and of those they
        // had absorbed before: all of them go too. Their data lives on in it, so their
        // events are erased with its own.
        let absorbed: Vec<String> = Db::Tx(&tx)
            .query(
                "WITH RECURSIVE absorbed(id) AS (SELECT $3::text COLLATE \"C\" UNION SELECT m.source_id \
                 FROM merged_ids m JOIN absorbed a ON m.workspace_id = $1 \
                 AND m.mode = $2 AND m.target_id = a.id), \
                 aliases AS (DELETE FROM merged_ids WHERE workspace_id = $1 AND mode = $2 \
                 AND target_id IN (SELECT id FROM absorbed)), \
                 snapshots AS (DELETE FROM merges WHERE workspace_id = $1 AND mode = $2 \
                 AND (target_id IN (SELECT id FROM absorbed) \
                 OR source_id IN (SELECT id FROM absorbed))) \
                 SELECT id FROM absorbed",
                &[
                    &tenant.workspace_id,
                    &tenant.mode.as_str(),
                    &current.id.as_str(),
                ],
            )
            .await?
            .iter()
            .map(|row| row.try_get::<_, String>(0))
            .collect::<Result<_, _>>()?;
        events::erase_contacts(&Db::Tx(&tx), tenant, &absorbed).await?;
        events::append(&Db::Tx(&tx), tenant, &[NewEvent::contact_deleted(current)]).await?;
        tx.commit().await?;
        Ok(erase.answer())
    }

    async fn list_contacts(
        &self,
        tenant: &Tenant,
        query: &ContactQuery,
    ) -> StoreResult<ContactPage> {
        let (_turn, client) = self.scan_client(tenant).await?;
        let mut bounded = Bounded::new(client, self);
        let page = in_snapshot(bounded.client()?, async |db| {
            listing::list(db, tenant, query).await
        })
        .await;
        bounded.finish(page)
    }

    async fn count_contacts(&self, tenant: &Tenant, filter: &ContactFilter) -> StoreResult<u64> {
        let (_turn, client) = self.scan_client(tenant).await?;
        let mut bounded = Bounded::new(client, self);
        let n = in_snapshot(bounded.client()?, async |db| {
            listing::count(db, tenant, filter).await
        })
        .await;
        bounded.finish(n)
    }

    async fn upsert_contact(
        &self,
        tenant: &Tenant,
        request: UpsertContact,
    ) -> StoreResult<(Contact, UpsertOutcome)> {
        let mut client = self.client().await?;
        let mut tx = client.transaction().await?;
        let mut written = Vec::new();
        let result = item_in(&mut tx, tenant, &BatchItem::Upsert(request), &mut written).await?;
        let kept = keep_answer(&Db::Tx(&tx), &result).await?;
        events::append(&Db::Tx(&tx), tenant, &written).await?;
        tx.commit().await?;
        answer_committed(kept);
        Ok(result)
    }

    async fn batch_contacts(
        &self,
        tenant: &Tenant,
        items: Vec<BatchItem>,
    ) -> StoreResult<Vec<StoreResult<(Contact, UpsertOutcome)>>> {
        let mut client = self.client().await?;
        {
            let tx = client.transaction().await?;
            if let Some((results, written)) = batch_in_one_pass(&tx, tenant, &items).await? {
                let kept = keep_answer(&Db::Tx(&tx), &results).await?;
                events::append(&Db::Tx(&tx), tenant, &written).await?;
                tx.commit().await?;
                answer_committed(kept);
                let created = results
                    .iter()
                    .filter(|r| matches!(r, Ok((_, UpsertOutcome::Created))))
                    .count();
                drop(client);
                self.after_batch_inserts(created as u64).await;
                return Ok(results);
            }
            tx.rollback().await?;
        }
        let mut tx = client.transaction().await?;
        let mut results = Vec::with_capacity(items.len());
        let mut written = Vec::new();
        for item in items {
            let mut savepoint = tx.transaction().await?;
            match item_in(&mut savepoint, tenant, &item, &mut written).await {
                Ok(done) => {
                    savepoint.commit().await?;
                    results.push(Ok(done));
                }
                // The connection or the transaction is gone: the whole batch fails.
                Err(e @ (StoreError::Unavailable(_) | StoreError::Internal(_))) => return Err(e),
                Err(e) => {
                    savepoint.rollback().await?;
                    results.push(Err(e));
                }
            }
        }
        let kept = keep_answer(&Db::Tx(&tx), &results).await?;
        events::append(&Db::Tx(&tx), tenant, &written).await?;
        tx.commit().await?;
        answer_committed(kept);
        Ok(results)
    }
}
