//! Contacts in PostgreSQL.

use async_trait::async_trait;
use serde_json::Value;
use tokio_postgres::error::SqlState;
use tokio_postgres::Row;

use deadpool_postgres::Transaction;
use tokio_postgres::types::ToSql;
use tokio_postgres::IsolationLevel;

use super::{Db, PgStore};
use crate::domain::batch::BatchItem;
use crate::domain::contact::{
    Channel, Contact, ContactPatch, ContactStatus, NewContact, Precondition, UpsertContact,
    UpsertOutcome, UpsertTarget,
};
use crate::domain::contact_query::{full_name_key, ContactPage, ContactQuery};
use crate::domain::email::Email;
use crate::domain::ids::ContactId;
use crate::domain::phone::Phone;
use crate::domain::refs::ContactRef;
use crate::domain::tenant::Tenant;
use crate::domain::time::Timestamp;
use crate::store::contact_list::{self, Dialect, Param, Sql};
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

async fn insert(db: &Db<'_>, tenant: &Tenant, c: &Contact) -> Result<u64, tokio_postgres::Error> {
    db.execute(
        "INSERT INTO contacts (workspace_id, mode, id, phone, email, email_key, first_name, \
         last_name, preferred_channel, metadata, status, created_at, updated_at, last_contacted, \
         full_name_key, last_name_key) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
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
        ],
    )
    .await
}

pub(super) async fn update(
    db: &Db<'_>,
    tenant: &Tenant,
    c: &Contact,
) -> Result<u64, tokio_postgres::Error> {
    db.execute(
        "UPDATE contacts SET phone = $4, email = $5, email_key = $6, first_name = $7, \
         last_name = $8, preferred_channel = $9, metadata = $10, status = $11, \
         updated_at = $12, last_contacted = $13, full_name_key = $14, last_name_key = $15 \
         WHERE workspace_id = $1 AND mode = $2 AND id = $3",
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
            &c.updated_at.as_micros(),
            &c.last_contacted.map(Timestamp::as_micros),
            &full_name_key(c),
            &c.last_name.as_ref().map(|n| n.to_lowercase()),
        ],
    )
    .await
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
        let (next, outcome) = match UpsertTarget::decide(by_phone, by_email) {
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
                )
            }
            UpsertTarget::Update(current) => {
                match upsert.patch.apply(&current).map_err(StoreError::Invalid)? {
                    None => return Ok((*current, UpsertOutcome::Updated)),
                    Some(next) => (next, UpsertOutcome::Updated),
                }
            }
        };
        let savepoint = tx.transaction().await?;
        let written = match outcome {
            UpsertOutcome::Created => insert(&Db::Tx(&savepoint), tenant, &next).await,
            UpsertOutcome::Updated => update(&Db::Tx(&savepoint), tenant, &next).await,
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

fn to_sql(param: Param) -> Box<dyn ToSql + Sync + Send> {
    match param {
        Param::Text(s) => Box::new(s),
        Param::Int(n) => Box::new(n),
        Param::Real(n) => Box::new(n),
        Param::Json(v) => Box::new(v),
        Param::TextArray(items) => Box::new(items),
    }
}

async fn run_query(db: &Db<'_>, sql: Sql) -> StoreResult<Vec<Row>> {
    let boxed: Vec<Box<dyn ToSql + Sync + Send>> = sql.params.into_iter().map(to_sql).collect();
    let params: Vec<&(dyn ToSql + Sync)> = boxed
        .iter()
        .map(|p| p.as_ref() as &(dyn ToSql + Sync))
        .collect();
    Ok(db.query(&sql.text, &params).await?)
}

#[async_trait]
impl ContactStore for PgStore {
    async fn create_contact(&self, tenant: &Tenant, new: NewContact) -> StoreResult<Contact> {
        let client = self.client().await?;
        let db = Db::Client(&client);
        let contact = new.into_contact(ContactId::generate(), Timestamp::now());
        match insert(&db, tenant, &contact).await {
            Ok(_) => Ok(contact),
            Err(e) => Err(on_unique_violation(&db, tenant, &contact, e).await),
        }
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
        if let Err(e) = update(&Db::Tx(&tx), tenant, &next).await {
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
        // Conversations and messages go by ON DELETE CASCADE, in this transaction.
        Db::Tx(&tx)
            .execute(
                "DELETE FROM contacts WHERE workspace_id = $1 AND mode = $2 AND id = $3",
                &[
                    &tenant.workspace_id,
                    &tenant.mode.as_str(),
                    &current.id.as_str(),
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
        let mut client = self.client().await?;
        // One snapshot for the page and the total, so they agree.
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        let db = Db::Tx(&tx);
        let (page, count) = contact_list::list_contacts(Dialect::Postgres, COLUMNS, tenant, query);
        let total = match count {
            Some(count) => {
                let rows = run_query(&db, count).await?;
                let n: i64 = rows.first().map_or(Ok(0), |r| r.try_get(0))?;
                Some(u64::try_from(n).unwrap_or(0))
            }
            None => None,
        };
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

    async fn upsert_contact(
        &self,
        tenant: &Tenant,
        request: UpsertContact,
    ) -> StoreResult<(Contact, UpsertOutcome)> {
        let mut client = self.client().await?;
        let mut tx = client.transaction().await?;
        let result = upsert_in(&mut tx, tenant, &request).await?;
        tx.commit().await?;
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
        tx.commit().await?;
        Ok(results)
    }
}
