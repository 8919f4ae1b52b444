//! Contacts in PostgreSQL.

use async_trait::async_trait;
use serde_json::Value;
use tokio_postgres::error::SqlState;
use tokio_postgres::Row;

use deadpool_postgres::Transaction;
use tokio_postgres::types::{ToSql, Type};

use super::idempotency::{answer_committed, keep_answer};
use super::{read_snapshot, Db, PgStore};
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
use crate::store::answer;
use crate::store::contact_list::{self, Dialect, Param, Search, Sql, TextHints};
use crate::store::records::ContactRecord;
use crate::store::{ContactStore, Entity, StoreError, StoreResult};

const COLUMNS: &str = "id, phone, email, first_name, last_name, preferred_channel, metadata, \
                       status, created_at, updated_at, last_contacted";

fn from_row(row: &Row) -> StoreResult<Contact> {
    Contact::try_from(ContactRecord {
        id: row.try_get(0)?,
        phone: row.try_get(1)?,
        email: row.try_get(2)?,
        first_name: row.try_get(3)?,
        last_name: row.try_get(4)?,
        preferred_channel: row.try_get(5)?,
        metadata: row.try_get::<_, Value>(6)?,
        status: row.try_get(7)?,
        created_at: row.try_get(8)?,
        updated_at: row.try_get(9)?,
        last_contacted: row.try_get(10)?,
    })
}

/// The contact a ref names in this tenant; `lock` takes its row lock until the
/// transaction ends, so a read-patch-write cannot interleave with another.
pub(super) async fn find(
    db: &Db<'_>,
    tenant: &Tenant,
    contact: &ContactRef,
    lock: bool,
) -> StoreResult<Option<Contact>> {
    let (column, key) = match contact {
        ContactRef::Id(id) => ("id", id.as_str().to_owned()),
        ContactRef::Phone(phone) => ("phone", phone.as_str().to_owned()),
        ContactRef::Email(email) => ("email_key", email.normalized()),
    };
    let sql = format!(
        "SELECT {COLUMNS} FROM contacts WHERE workspace_id = $1 AND mode = $2 AND {column} = $3{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    let row = db
        .query_opt(&sql, &[&tenant.workspace_id, &tenant.mode.as_str(), &key])
        .await?;
    row.as_ref().map(from_row).transpose()
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
    let (field, holder) = match index.as_deref() {
        Some("contacts_phone") => ("phone", contact.phone.clone().map(ContactRef::Phone)),
        Some("contacts_email") => ("email", contact.email.clone().map(ContactRef::Email)),
        _ => return error.into(),
    };
    let Some(holder) = holder else {
        return error.into();
    };
    match find(db, tenant, &holder, false).await {
        Ok(Some(existing)) if existing.id != contact.id => StoreError::Duplicate {
            field,
            existing_contact_id: existing.id,
        },
        Ok(_) => StoreError::Unavailable("a conflicting write changed meanwhile; retry".into()),
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
pub(super) async fn update(
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

fn is_unique_violation(e: &tokio_postgres::Error) -> bool {
    e.code() == Some(&SqlState::UNIQUE_VIOLATION)
}

fn check(precondition: Option<&Precondition>, current: &Contact) -> StoreResult<()> {
    match precondition {
        Some(p) if !p.holds_for(current) => Err(StoreError::PreconditionFailed {
            current_etag: current.etag(),
        }),
        _ => Ok(()),
    }
}

/// Creates inside `tx`, in a savepoint so that a duplicate leaves `tx` usable.
async fn create_in(
    tx: &mut Transaction<'_>,
    tenant: &Tenant,
    new: NewContact,
) -> StoreResult<Contact> {
    let contact = new.into_contact(ContactId::generate(), Timestamp::now());
    let savepoint = tx.transaction().await?;
    match insert(&Db::Tx(&savepoint), tenant, &contact).await {
        Ok(_) => {
            savepoint.commit().await?;
            Ok(contact)
        }
        Err(e) => {
            savepoint.rollback().await?;
            Err(on_unique_violation(&Db::Tx(tx), tenant, &contact, e).await)
        }
    }
}

/// Finds by phone and email and creates or updates, inside `tx`. When a concurrent
/// transaction inserts one of the identifiers first, the write fails on the unique index,
/// only its savepoint rolls back, and the lookup runs again and finds that contact.
async fn upsert_in(
    tx: &mut Transaction<'_>,
    tenant: &Tenant,
    upsert: &UpsertContact,
) -> StoreResult<(Contact, UpsertOutcome)> {
    const ATTEMPTS: usize = 3;
    for _ in 0..ATTEMPTS {
        let db = Db::Tx(tx);
        let by_phone = match upsert.phone() {
            Some(p) => find(&db, tenant, &ContactRef::Phone(p.clone()), true).await?,
            None => None,
        };
        let by_email = match upsert.email() {
            Some(e) => find(&db, tenant, &ContactRef::Email(e.clone()), true).await?,
            None => None,
        };
        let (next, outcome, current) = match UpsertTarget::decide(by_phone, by_email) {
            UpsertTarget::Conflict {
                phone_contact_id,
                email_contact_id,
            } => {
                return Err(StoreError::IdentifierConflict {
                    phone_contact_id,
                    email_contact_id,
                })
            }
            UpsertTarget::Create => {
                let new = upsert.new_contact().map_err(StoreError::Invalid)?;
                (
                    new.into_contact(ContactId::generate(), Timestamp::now()),
                    UpsertOutcome::Created,
                    None,
                )
            }
            UpsertTarget::Update(current) => {
                match upsert.patch.apply(&current).map_err(StoreError::Invalid)? {
                    None => return Ok((*current, UpsertOutcome::Unchanged)),
                    Some(next) => (next, UpsertOutcome::Updated, Some(*current)),
                }
            }
        };
        let savepoint = tx.transaction().await?;
        let written = match (&outcome, &current) {
            (UpsertOutcome::Updated, Some(current)) => {
                update(&Db::Tx(&savepoint), tenant, current, &next).await
            }
            _ => insert(&Db::Tx(&savepoint), tenant, &next).await,
        };
        match written {
            Ok(_) => {
                savepoint.commit().await?;
                return Ok((next, outcome));
            }
            Err(e) if is_unique_violation(&e) => savepoint.rollback().await?,
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::Unavailable(
        "the contact kept changing under concurrent writes; retry".into(),
    ))
}

fn to_sql(param: Param) -> (Box<dyn ToSql + Sync + Send>, Type) {
    match param {
        Param::Text(s) => (Box::new(s), Type::TEXT),
        Param::Int(n) => (Box::new(n), Type::INT8),
        Param::Real(n) => (Box::new(n), Type::FLOAT8),
    }
}

/// Runs SQL built by the list planner (never cached: see [`Db::query_once`]).
async fn run_query(db: &Db<'_>, sql: Sql) -> StoreResult<Vec<Row>> {
    let boxed: Vec<_> = sql.params.into_iter().map(to_sql).collect();
    let params: Vec<(&(dyn ToSql + Sync), Type)> = boxed
        .iter()
        .map(|(p, t)| (p.as_ref() as &(dyn ToSql + Sync), t.clone()))
        .collect();
    Ok(db.query_once(&sql.text, &params).await?)
}

async fn count_rows(db: &Db<'_>, sql: Sql) -> StoreResult<u64> {
    let rows = run_query(db, sql).await?;
    let n: i64 = rows.first().map_or(Ok(0), |r| r.try_get(0))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// What the planner needs to know of `q` from the database (see [`TextHints`]).
async fn text_hints(
    db: &Db<'_>,
    tenant: &Tenant,
    filter: &ContactFilter,
) -> StoreResult<Option<TextHints>> {
    let Some(q) = &filter.q else {
        return Ok(None);
    };
    let (words, others) = contact_list::text_probes(Dialect::Postgres, tenant, q);
    let mut exact_words = Vec::with_capacity(words.len());
    for sql in words {
        let rows = run_query(db, sql).await?;
        let (least, greatest): (Option<String>, Option<String>) = match rows.first() {
            Some(r) => (r.try_get(0)?, r.try_get(1)?),
            None => (None, None),
        };
        exact_words.push(least.filter(|l| Some(l) == greatest.as_ref()));
    }
    let others = run_query(db, others).await?;
    let other_prefixes = others.first().map_or(Ok(0), |r| r.try_get::<_, i32>(0))? > 0;
    Ok(Some(TextHints {
        exact_words,
        other_prefixes,
    }))
}

async fn search<'a>(
    db: &Db<'_>,
    tenant: &'a Tenant,
    filter: &'a ContactFilter,
) -> StoreResult<Search<'a>> {
    let hints = text_hints(db, tenant, filter).await?;
    Ok(Search::new(Dialect::Postgres, tenant, filter, hints))
}

/// The capped size of each source of the search, for the planner.
async fn estimates(db: &Db<'_>, search: &Search<'_>) -> StoreResult<Vec<u64>> {
    let mut out = Vec::new();
    for i in 0..search.source_count() {
        out.push(count_rows(db, search.estimate(i, contact_list::GATHER_MAX + 1)).await?);
    }
    Ok(out)
}

/// The count of the search's matches; `known` are source sizes the caller already took.
async fn count_matches(db: &Db<'_>, search: &Search<'_>, known: &[u64]) -> StoreResult<u64> {
    let estimates = if search.source_count() > 1 && known.len() != search.source_count() {
        estimates(db, search).await?
    } else {
        known.to_vec()
    };
    count_rows(db, search.count(search.count_plan(&estimates))).await
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

async fn list_in(
    client: &mut deadpool_postgres::Object,
    tenant: &Tenant,
    query: &ContactQuery,
) -> StoreResult<ContactPage> {
    // One snapshot for the plan, the total and the page, so they agree.
    let tx = read_snapshot(client).await?;
    let db = Db::Tx(&tx);
    let search = search(&db, tenant, &query.filter).await?;
    let estimates = if search.needs_estimates(query) {
        estimates(&db, &search).await?
    } else {
        Vec::new()
    };
    let plan = search.page_plan(query, &estimates);
    let total = if query.include_total {
        Some(count_matches(&db, &search, &estimates).await?)
    } else {
        None
    };
    let page = search.page(COLUMNS, query, plan);
    tracing::debug!(?plan, ?estimates, sql = %page.text, params = ?page.params, "contact list");
    let rows = run_query(&db, page).await?;
    tx.commit().await?;
    let mut items = rows.iter().map(from_row).collect::<StoreResult<Vec<_>>>()?;
    let has_more = items.len() > query.limit as usize;
    items.truncate(query.limit as usize);
    Ok(ContactPage {
        items,
        total,
        has_more,
    })
}

async fn count_in(
    client: &mut deadpool_postgres::Object,
    tenant: &Tenant,
    filter: &ContactFilter,
) -> StoreResult<u64> {
    let tx = read_snapshot(client).await?;
    let db = Db::Tx(&tx);
    let n = count_matches(&db, &search(&db, tenant, filter).await?, &[]).await?;
    tx.commit().await?;
    Ok(n)
}

/// Writes the search columns and terms of every stored contact again (after a migration
/// that changes what is indexed).
pub(super) async fn reindex_all(tx: &Transaction<'_>) -> StoreResult<()> {
    let db = Db::Tx(tx);
    db.execute("DELETE FROM contact_terms", &[]).await?;
    let rows = db
        .query(
            &format!("SELECT {COLUMNS}, workspace_id, mode FROM contacts"),
            &[],
        )
        .await?;
    for row in rows {
        let contact = from_row(&row)?;
        let mode: String = row.try_get(12)?;
        let tenant = Tenant {
            workspace_id: row.try_get(11)?,
            mode: crate::store::records::mode(&mode)?,
        };
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
        let contact = new.into_contact(ContactId::generate(), Timestamp::now());
        if answer::current().is_none() {
            // One statement: atomic without a transaction of its own.
            let db = Db::Client(&client);
            return match insert(&db, tenant, &contact).await {
                Ok(_) => Ok(contact),
                Err(e) => Err(on_unique_violation(&db, tenant, &contact, e).await),
            };
        }
        let tx = client.transaction().await?;
        if let Err(e) = insert(&Db::Tx(&tx), tenant, &contact).await {
            drop(tx);
            return Err(on_unique_violation(&Db::Client(&client), tenant, &contact, e).await);
        }
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
        check(precondition.as_ref(), &current)?;
        let Some(next) = patch.apply(&current).map_err(StoreError::Invalid)? else {
            return Ok(current);
        };
        if let Err(e) = update(&Db::Tx(&tx), tenant, &current, &next).await {
            drop(tx);
            return Err(on_unique_violation(&Db::Client(&client), tenant, &next, e).await);
        }
        tx.commit().await?;
        Ok(next)
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
        check(precondition.as_ref(), &current)?;
        // Conversations and messages go by ON DELETE CASCADE, in this transaction; the
        // search terms in the same statement.
        let removed = TermChanges::between(Some(&current), None).remove;
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
        Ok(Contact {
            status: ContactStatus::Deleted,
            ..current
        })
    }

    async fn list_contacts(
        &self,
        tenant: &Tenant,
        query: &ContactQuery,
    ) -> StoreResult<ContactPage> {
        let (_turn, client) = self.scan_client(tenant).await?;
        let mut bounded = Bounded::new(client);
        let page = list_in(bounded.client()?, tenant, query).await;
        bounded.finish();
        page
    }

    async fn count_contacts(&self, tenant: &Tenant, filter: &ContactFilter) -> StoreResult<u64> {
        let (_turn, client) = self.scan_client(tenant).await?;
        let mut bounded = Bounded::new(client);
        let n = count_in(bounded.client()?, tenant, filter).await;
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
        let result = upsert_in(&mut tx, tenant, &request).await?;
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
            let result = match item {
                BatchItem::Create(new) => create_in(&mut savepoint, tenant, new)
                    .await
                    .map(|c| (c, UpsertOutcome::Created)),
                BatchItem::Upsert(u) => upsert_in(&mut savepoint, tenant, &u).await,
            };
            match result {
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
