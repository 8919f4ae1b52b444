//! Contacts in PostgreSQL: the reads and the statements of the plans of `domain::write`.

use async_trait::async_trait;
use deadpool_postgres::Transaction;
use serde_json::Value;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;

use super::idempotency::{answer_committed, keep_answer};
use super::{read_snapshot, Db, PgStore};
use crate::domain::batch::BatchItem;
use crate::domain::contact::{
    Channel, Contact, ContactPatch, NewContact, Precondition, UpsertContact, UpsertOutcome,
};
use crate::domain::contact_query::{full_name_key, ContactFilter, ContactPage, ContactQuery};
use crate::domain::email::Email;
use crate::domain::phone::Phone;
use crate::domain::refs::ContactRef;
use crate::domain::search::{SearchKeys, TermChanges};
use crate::domain::tenant::Tenant;
use crate::domain::time::Timestamp;
use crate::domain::write::{self, Write};
use crate::store::records::{self, CONTACT_COLUMNS, CONTACT_COLUMN_COUNT};
use crate::store::{answer, listing};
use crate::store::{ContactStore, Entity, StoreError, StoreResult};

/// The contact a ref names in this tenant; `lock` takes its row lock until the
/// transaction ends, so a read-patch-write cannot interleave with another.
pub(super) async fn find(
    db: &Db<'_>,
    tenant: &Tenant,
    contact: &ContactRef,
    lock: bool,
) -> StoreResult<Option<Contact>> {
    let (column, key) = records::ref_key(contact);
    let sql = format!(
        "SELECT {CONTACT_COLUMNS} FROM contacts \
         WHERE workspace_id = $1 AND mode = $2 AND {column} = $3{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    let row = db
        .query_opt(&sql, &[&tenant.workspace_id, &tenant.mode.as_str(), &key])
        .await?;
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
async fn on_unique_violation(
    db: &Db<'_>,
    tenant: &Tenant,
    contact: &Contact,
    error: tokio_postgres::Error,
) -> StoreError {
    let index = error
        .as_db_error()
        .filter(|e| *e.code() == SqlState::UNIQUE_VIOLATION)
        .and_then(|e| e.constraint().map(str::to_owned));
    let field = match index.as_deref() {
        Some("contacts_phone") => "phone",
        Some("contacts_email") => "email",
        _ => return error.into(),
    };
    let Some((field, holder)) = write::unique_refs(contact)
        .into_iter()
        .find(|(held, _)| *held == field)
    else {
        return error.into();
    };
    match find(db, tenant, &holder, false).await {
        Ok(holder) => write::duplicate(contact, field, holder).map_or_else(
            || StoreError::Unavailable("a conflicting write changed meanwhile; retry".into()),
            StoreError::from,
        ),
        Err(e) => e,
    }
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

async fn insert(db: &Db<'_>, tenant: &Tenant, c: &Contact) -> Result<u64, tokio_postgres::Error> {
    let keys = SearchKeys::of(c);
    let (terms, nums) = TermChanges::of_keys(None, Some((&keys, c.status))).write_columns();
    db.execute(
        &format!(
            "WITH contact AS (INSERT INTO contacts (workspace_id, mode, id, phone, email, \
             email_key, first_name, last_name, preferred_channel, metadata, status, created_at, \
             updated_at, last_contacted, full_name_key, last_name_key, name_words, email_fold) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
             $17, $18)) {}",
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
        ],
    )
    .await
}

/// Writes `c` over `old`, the stored version read (and locked) in this transaction, with
/// the changes of its search terms in the same statement.
async fn update(
    db: &Db<'_>,
    tenant: &Tenant,
    old: &Contact,
    c: &Contact,
) -> Result<u64, tokio_postgres::Error> {
    const UPDATE: &str = "UPDATE contacts SET phone = $4, email = $5, email_key = $6, \
         first_name = $7, last_name = $8, preferred_channel = $9, metadata = $10, status = $11, \
         updated_at = $12, last_contacted = $13, full_name_key = $14, last_name_key = $15, \
         name_words = $16, email_fold = $17 WHERE workspace_id = $1 AND mode = $2 AND id = $3";
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
             WHERE workspace_id = $1 AND mode = $2 AND term = ANY($18::text[]) \
             AND created_at = $19 AND contact_id = $3) {}",
            write_terms_sql("$19", "$20", "$21")
        )
    };
    let base: [&(dyn ToSql + Sync); 17] = [
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
    ];
    if changes.is_empty() {
        return db.execute(&sql, &base).await;
    }
    let mut params = base.to_vec();
    params.extend([
        &changes.remove as &(dyn ToSql + Sync),
        &created_at,
        &terms,
        &nums,
    ]);
    db.execute(&sql, &params).await
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

/// A connection running a read that may scan. If the request is dropped before the read
/// ends (its deadline passed or its client went away), the statement is cancelled on the
/// server and the connection closed rather than handed to another request, so no query
/// outlives its request and no other request's statement can be cancelled by mistake.
struct Bounded {
    client: Option<deadpool_postgres::Object>,
    token: tokio_postgres::CancelToken,
    done: bool,
}

impl Bounded {
    fn new(client: deadpool_postgres::Object) -> Bounded {
        Bounded {
            token: client.cancel_token(),
            client: Some(client),
            done: false,
        }
    }

    fn client(&mut self) -> StoreResult<&mut deadpool_postgres::Object> {
        self.client
            .as_mut()
            .ok_or_else(|| StoreError::Unavailable("no database connection".into()))
    }

    fn finish(mut self) {
        self.done = true;
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
        if answer::current().is_none() {
            // One statement: atomic without a transaction of its own.
            let db = Db::Client(&client);
            return match run(&db, tenant, &plan).await {
                Ok(_) => Ok(plan.into_contact()),
                Err(e) => Err(on_unique_violation(&db, tenant, plan.contact(), e).await),
            };
        }
        let tx = client.transaction().await?;
        if let Err(e) = run(&Db::Tx(&tx), tenant, &plan).await {
            drop(tx);
            let db = Db::Client(&client);
            return Err(on_unique_violation(&db, tenant, plan.contact(), e).await);
        }
        let contact = plan.into_contact();
        let kept = keep_answer(&Db::Tx(&tx), &contact).await?;
        tx.commit().await?;
        answer_committed(kept);
        Ok(contact)
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
        let removed = TermChanges::between(Some(current), None).remove;
        Db::Tx(&tx)
            .execute(
                "WITH removed AS (DELETE FROM contact_terms WHERE workspace_id = $1 \
                 AND mode = $2 AND term = ANY($4::text[]) AND created_at = $5 \
                 AND contact_id = $3) \
                 DELETE FROM contacts WHERE workspace_id = $1 AND mode = $2 AND id = $3",
                &[
                    &tenant.workspace_id,
                    &tenant.mode.as_str(),
                    &current.id.as_str(),
                    &removed,
                    &current.created_at.as_micros(),
                ],
            )
            .await?;
        tx.commit().await?;
        Ok(erase.answer())
    }

    async fn list_contacts(
        &self,
        tenant: &Tenant,
        query: &ContactQuery,
    ) -> StoreResult<ContactPage> {
        let (_turn, client) = self.scan_client(tenant).await?;
        let mut bounded = Bounded::new(client);
        let page = in_snapshot(bounded.client()?, async |db| {
            listing::list(db, tenant, query).await
        })
        .await;
        bounded.finish();
        page
    }

    async fn count_contacts(&self, tenant: &Tenant, filter: &ContactFilter) -> StoreResult<u64> {
        let (_turn, client) = self.scan_client(tenant).await?;
        let mut bounded = Bounded::new(client);
        let n = in_snapshot(bounded.client()?, async |db| {
            listing::count(db, tenant, filter).await
        })
        .await;
        bounded.finish();
        n
    }

    async fn upsert_contact(
        &self,
        tenant: &Tenant,
        request: UpsertContact,
    ) -> StoreResult<(Contact, UpsertOutcome)> {
        let mut client = self.client().await?;
        let mut tx = client.transaction().await?;
        let result = item_in(&mut tx, tenant, &BatchItem::Upsert(request)).await?;
        let kept = keep_answer(&Db::Tx(&tx), &result).await?;
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
        let mut tx = client.transaction().await?;
        let mut results = Vec::with_capacity(items.len());
        for item in items {
            let mut savepoint = tx.transaction().await?;
            match item_in(&mut savepoint, tenant, &item).await {
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
        tx.commit().await?;
        answer_committed(kept);
        Ok(results)
    }
}
