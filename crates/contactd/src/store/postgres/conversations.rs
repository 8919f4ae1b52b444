//! Conversations and messages in PostgreSQL.

use async_trait::async_trait;
use tokio_postgres::error::SqlState;
use tokio_postgres::IsolationLevel;

use super::idempotency::{answer_committed, keep_answer};
use super::{contacts, events, Db, PgStore};
use crate::domain::contact::Channel;
use crate::domain::conversation::{
    Conversation, ConversationFilter, ConversationPatch, ConversationStatus, Direction, Listing,
    Message, NewConversation, NewMessage, Page,
};
use crate::domain::event::NewEvent;
use crate::domain::ids::ConversationId;
use crate::domain::refs::ContactRef;
use crate::domain::tenant::Tenant;
use crate::domain::time::Timestamp;
use crate::domain::write;
use crate::store::records::{self, CONVERSATION_COLUMNS, MESSAGE_COLUMNS};
use crate::store::{ConversationStore, Entity, StoreError, StoreResult};

async fn get(
    db: &Db<'_>,
    tenant: &Tenant,
    id: &ConversationId,
    lock: bool,
) -> StoreResult<Conversation> {
    let sql = format!(
        "SELECT {CONVERSATION_COLUMNS} FROM conversations \
         WHERE workspace_id = $1 AND mode = $2 AND id = $3{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    let row = db
        .query_opt(
            &sql,
            &[&tenant.workspace_id, &tenant.mode.as_str(), &id.as_str()],
        )
        .await?
        .ok_or(StoreError::NotFound(Entity::Conversation))?;
    records::conversation(&row)
}

async fn save(db: &Db<'_>, tenant: &Tenant, c: &Conversation) -> StoreResult<()> {
    let result = db
        .execute(
            "INSERT INTO conversations (workspace_id, mode, id, contact_id, channel, status, \
             created_at, updated_at, last_message_at, message_count) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (workspace_id, mode, id) DO UPDATE SET status = excluded.status, \
             updated_at = excluded.updated_at, last_message_at = excluded.last_message_at, \
             message_count = excluded.message_count",
            &[
                &tenant.workspace_id,
                &tenant.mode.as_str(),
                &c.id.as_str(),
                &c.contact_id.as_str(),
                &c.channel.as_str(),
                &c.status.as_str(),
                &c.created_at.as_micros(),
                &c.updated_at.as_micros(),
                &c.last_message_at.map(Timestamp::as_micros),
                &c.message_count,
            ],
        )
        .await;
    match result {
        // The contact was deleted between the lookup and the insert.
        Err(e) if e.code() == Some(&SqlState::FOREIGN_KEY_VIOLATION) => {
            Err(StoreError::NotFound(Entity::Contact))
        }
        other => other.map(|_| ()).map_err(Into::into),
    }
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[async_trait]
impl ConversationStore for PgStore {
    async fn create_conversation(
        &self,
        tenant: &Tenant,
        new: NewConversation,
    ) -> StoreResult<Conversation> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let db = Db::Tx(&tx);
        let contact = contacts::get(&db, tenant, &new.contact, false).await?;
        let conversation = new.into_conversation(contact.id);
        save(&db, tenant, &conversation).await?;
        let kept = keep_answer(&db, &conversation).await?;
        let created = NewEvent::conversation_created(&conversation);
        events::append(&db, tenant, &[created]).await?;
        tx.commit().await?;
        answer_committed(kept);
        Ok(conversation)
    }

    async fn get_conversation(
        &self,
        tenant: &Tenant,
        id: &ConversationId,
    ) -> StoreResult<Conversation> {
        let client = self.client().await?;
        get(&Db::Client(&client), tenant, id, false).await
    }

    async fn update_conversation(
        &self,
        tenant: &Tenant,
        id: &ConversationId,
        patch: ConversationPatch,
    ) -> StoreResult<Conversation> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let current = get(&Db::Tx(&tx), tenant, id, true).await?;
        let Some(next) = patch.apply(&current) else {
            return Ok(current);
        };
        save(&Db::Tx(&tx), tenant, &next).await?;
        let updated = NewEvent::conversation_updated(&current, &next);
        events::append(&Db::Tx(&tx), tenant, updated.as_slice()).await?;
        tx.commit().await?;
        Ok(next)
    }

    async fn list_conversations(
        &self,
        tenant: &Tenant,
        contact: &ContactRef,
        filter: ConversationFilter,
        page: Page,
    ) -> StoreResult<Listing<Conversation>> {
        let (_turn, mut client) = self.scan_client(tenant).await?;
        // One snapshot for the page and the total, so they agree.
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        let db = Db::Tx(&tx);
        let contact = contacts::get(&db, tenant, contact, false).await?;
        let where_clause = "workspace_id = $1 AND mode = $2 AND contact_id = $3 \
             AND ($4::TEXT IS NULL OR status = $4) AND ($5::TEXT IS NULL OR channel = $5)";
        let status = filter.status.map(ConversationStatus::as_str);
        let channel = filter.channel.map(Channel::as_str);
        let total: i64 = db
            .query_opt(
                &format!("SELECT COUNT(*) FROM conversations WHERE {where_clause}"),
                &[
                    &tenant.workspace_id,
                    &tenant.mode.as_str(),
                    &contact.id.as_str(),
                    &status,
                    &channel,
                ],
            )
            .await?
            .map_or(Ok(0), |r| r.try_get(0))?;
        let rows = db
            .query(
                &format!(
                    "SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE {where_clause} \
                     ORDER BY created_at DESC, id DESC LIMIT $6 OFFSET $7"
                ),
                &[
                    &tenant.workspace_id,
                    &tenant.mode.as_str(),
                    &contact.id.as_str(),
                    &status,
                    &channel,
                    &i64::from(page.limit),
                    &to_i64(page.offset),
                ],
            )
            .await?;
        tx.commit().await?;
        Ok(Listing {
            items: rows
                .iter()
                .map(records::conversation)
                .collect::<StoreResult<_>>()?,
            total: u64::try_from(total).unwrap_or(0),
            page,
        })
    }

    async fn create_message(
        &self,
        tenant: &Tenant,
        conversation: &ConversationId,
        new: NewMessage,
    ) -> StoreResult<Message> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let db = Db::Tx(&tx);
        let unlocked = get(&db, tenant, conversation, false).await?;
        // Lock order: contact, then conversation (as a contact's delete does).
        let contact = match new.direction {
            Direction::Outbound => {
                let id = ContactRef::Id(unlocked.contact_id.clone());
                Some(contacts::get(&db, tenant, &id, true).await?)
            }
            Direction::Inbound => None,
        };
        let current = get(&db, tenant, conversation, true).await?;
        let (message, next) = current.add_message(new);
        let created_at = message.created_at;
        db.execute(
            "INSERT INTO messages (workspace_id, mode, conversation_id, id, direction, text, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &tenant.workspace_id,
                &tenant.mode.as_str(),
                &message.conversation_id.as_str(),
                &message.id.as_str(),
                &message.direction.as_str(),
                &message.text,
                &created_at.as_micros(),
            ],
        )
        .await?;
        save(&db, tenant, &next).await?;
        let mut written = vec![NewEvent::message_created(&message, &next.contact_id)];
        if let Some(contact) = contact {
            let contacted = write::contacted(contact, created_at);
            contacts::run(&db, tenant, &contacted).await?;
            written.extend(NewEvent::of_write(&contacted));
        }
        let kept = keep_answer(&db, &message).await?;
        events::append(&db, tenant, &written).await?;
        tx.commit().await?;
        answer_committed(kept);
        Ok(message)
    }

    async fn list_messages(
        &self,
        tenant: &Tenant,
        conversation: &ConversationId,
        page: Page,
    ) -> StoreResult<Listing<Message>> {
        let (_turn, mut client) = self.scan_client(tenant).await?;
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        let db = Db::Tx(&tx);
        let conversation = get(&db, tenant, conversation, false).await?;
        let rows = db
            .query(
                &format!(
                    "SELECT {MESSAGE_COLUMNS} FROM messages \
                     WHERE workspace_id = $1 AND mode = $2 AND conversation_id = $3 \
                     ORDER BY id ASC LIMIT $4 OFFSET $5"
                ),
                &[
                    &tenant.workspace_id,
                    &tenant.mode.as_str(),
                    &conversation.id.as_str(),
                    &i64::from(page.limit),
                    &to_i64(page.offset),
                ],
            )
            .await?;
        tx.commit().await?;
        Ok(Listing {
            items: rows
                .iter()
                .map(records::message)
                .collect::<StoreResult<_>>()?,
            total: u64::try_from(conversation.message_count).unwrap_or(0),
            page,
        })
    }
}
