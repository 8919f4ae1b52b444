//! Contacts in PostgreSQL.

use async_trait::async_trait;
use serde_json::Value;
use tokio_postgres::error::SqlState;
use tokio_postgres::Row;

use super::{Db, PgStore};
use crate::domain::contact::{Channel, Contact, ContactPatch, ContactStatus, NewContact};
use crate::domain::email::Email;
use crate::domain::ids::ContactId;
use crate::domain::phone::Phone;
use crate::domain::refs::ContactRef;
use crate::domain::tenant::Tenant;
use crate::domain::time::Timestamp;
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
         last_name, preferred_channel, metadata, status, created_at, updated_at, last_contacted) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
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
         updated_at = $12, last_contacted = $13 \
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
        ],
    )
    .await
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
    ) -> StoreResult<Contact> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let current = get(&Db::Tx(&tx), tenant, contact, true).await?;
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

    async fn delete_contact(&self, tenant: &Tenant, contact: &ContactRef) -> StoreResult<Contact> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let current = get(&Db::Tx(&tx), tenant, contact, true).await?;
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
}
