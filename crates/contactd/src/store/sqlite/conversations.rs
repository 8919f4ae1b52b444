//! Conversations and messages in SQLite.

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};

use super::{contacts, events, in_snapshot, SqliteStore};
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
use crate::store::records::{self, CONVERSATION_COLUMNS, MESSAGE_COLUMNS};
use crate::store::{ConversationStore, Entity, StoreError, StoreResult};

fn get(conn: &Connection, tenant: &Tenant, id: &ConversationId) -> StoreResult<Conversation> {
    let sql = format!(
        "SELECT {CONVERSATION_COLUMNS} FROM conversations \
         WHERE workspace_id = ?1 AND mode = ?2 AND id = ?3"
    );
    conn.prepare_cached(&sql)?
        .query_row(
            params![tenant.workspace_id, tenant.mode.as_str(), id.as_str()],
            |row| Ok(records::conversation(row)),
        )
        .optional()?
        .ok_or(StoreError::NotFound(Entity::Conversation))?
}

fn save(conn: &Connection, tenant: &Tenant, c: &Conversation) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO conversations (workspace_id, mode, id, contact_id, channel, status, \
         created_at, updated_at, last_message_at, message_count) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) \
         ON CONFLICT (workspace_id, mode, id) DO UPDATE SET status = excluded.status, \
         updated_at = excluded.updated_at, last_message_at = excluded.last_message_at, \
         message_count = excluded.message_count",
    )?
    .execute(params![
        tenant.workspace_id,
        tenant.mode.as_str(),
        c.id.as_str(),
        c.contact_id.as_str(),
        c.channel.as_str(),
        c.status.as_str(),
        c.created_at.as_micros(),
        c.updated_at.as_micros(),
        c.last_message_at.map(Timestamp::as_micros),
        c.message_count,
    ])?;
    Ok(())
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn list_conversations(
    conn: &Connection,
    tenant: &Tenant,
    contact: &ContactRef,
    filter: ConversationFilter,
    page: Page,
) -> StoreResult<Listing<Conversation>> {
    let contact = contacts::get(conn, tenant, contact)?;
    let where_clause = "workspace_id = ?1 AND mode = ?2 AND contact_id = ?3 \
         AND (?4 IS NULL OR status = ?4) AND (?5 IS NULL OR channel = ?5)";
    let status = filter.status.map(ConversationStatus::as_str);
    let channel = filter.channel.map(Channel::as_str);
    let args = params![
        tenant.workspace_id,
        tenant.mode.as_str(),
        contact.id.as_str(),
        status,
        channel
    ];
    let total: i64 = conn
        .prepare_cached(&format!(
            "SELECT COUNT(*) FROM conversations WHERE {where_clause}"
        ))?
        .query_row(args, |r| r.get(0))?;
    let sql = format!(
        "SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE {where_clause} \
         ORDER BY created_at DESC, id DESC LIMIT ?6 OFFSET ?7"
    );
    let items = conn
        .prepare_cached(&sql)?
        .query_map(
            params![
                tenant.workspace_id,
                tenant.mode.as_str(),
                contact.id.as_str(),
                status,
                channel,
                page.limit,
                to_i64(page.offset)
            ],
            |row| Ok(records::conversation(row)),
        )?
        .map(|r| r?)
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(Listing {
        items,
        total: u64::try_from(total).unwrap_or(0),
        page,
    })
}

fn list_messages(
    conn: &Connection,
    tenant: &Tenant,
    conversation: &ConversationId,
    page: Page,
) -> StoreResult<Listing<Message>> {
    let conversation = get(conn, tenant, conversation)?;
    let items = conn
        .prepare_cached(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages \
             WHERE workspace_id = ?1 AND mode = ?2 AND conversation_id = ?3 \
             ORDER BY id ASC LIMIT ?4 OFFSET ?5"
        ))?
        .query_map(
            params![
                tenant.workspace_id,
                tenant.mode.as_str(),
                conversation.id.as_str(),
                page.limit,
                to_i64(page.offset)
            ],
            |row| Ok(records::message(row)),
        )?
        .map(|r| r?)
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(Listing {
        items,
        total: u64::try_from(conversation.message_count).unwrap_or(0),
        page,
    })
}

fn add_message(
    conn: &Connection,
    tenant: &Tenant,
    conversation: &ConversationId,
    new: NewMessage,
) -> StoreResult<Message> {
    let current = get(conn, tenant, conversation)?;
    let (message, next) = current.add_message(new);
    let created_at = message.created_at;
    conn.prepare_cached(
        "INSERT INTO messages (workspace_id, mode, conversation_id, id, direction, text, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        tenant.workspace_id,
        tenant.mode.as_str(),
        message.conversation_id.as_str(),
        message.id.as_str(),
        message.direction.as_str(),
        message.text,
        created_at.as_micros(),
    ])?;
    save(conn, tenant, &next)?;
    events::append(
        conn,
        tenant,
        &[NewEvent::message_created(&message, &next.contact_id)],
    )?;
    if message.direction == Direction::Outbound {
        contacts::mark_contacted(conn, tenant, &next.contact_id, created_at)?;
    }
    Ok(message)
}

#[async_trait]
impl ConversationStore for SqliteStore {
    async fn create_conversation(
        &self,
        tenant: &Tenant,
        new: NewConversation,
    ) -> StoreResult<Conversation> {
        let tenant = tenant.clone();
        self.writer
            .run(move |conn| {
                let contact = contacts::get(conn, &tenant, &new.contact)?;
                let conversation = new.into_conversation(contact.id);
                save(conn, &tenant, &conversation)?;
                let created = NewEvent::conversation_created(&conversation);
                events::append(conn, &tenant, &[created])?;
                Ok(conversation)
            })
            .await
    }

    async fn get_conversation(
        &self,
        tenant: &Tenant,
        id: &ConversationId,
    ) -> StoreResult<Conversation> {
        let (tenant, id) = (tenant.clone(), id.clone());
        self.readers
            .run_quick(move |conn| get(conn, &tenant, &id))
            .await
    }

    async fn update_conversation(
        &self,
        tenant: &Tenant,
        id: &ConversationId,
        patch: ConversationPatch,
    ) -> StoreResult<Conversation> {
        let (tenant, id) = (tenant.clone(), id.clone());
        self.writer
            .run(move |conn| {
                let current = get(conn, &tenant, &id)?;
                match patch.apply(&current) {
                    None => Ok(current),
                    Some(next) => {
                        save(conn, &tenant, &next)?;
                        let updated = NewEvent::conversation_updated(&current, &next);
                        events::append(conn, &tenant, updated.as_slice())?;
                        Ok(next)
                    }
                }
            })
            .await
    }

    async fn list_conversations(
        &self,
        tenant: &Tenant,
        contact: &ContactRef,
        filter: ConversationFilter,
        page: Page,
    ) -> StoreResult<Listing<Conversation>> {
        let (tenant, contact) = (tenant.clone(), contact.clone());
        self.scan(&tenant.clone(), move |conn| {
            in_snapshot(conn, || {
                list_conversations(conn, &tenant, &contact, filter, page)
            })
        })
        .await
    }

    async fn create_message(
        &self,
        tenant: &Tenant,
        conversation: &ConversationId,
        new: NewMessage,
    ) -> StoreResult<Message> {
        let (tenant, conversation) = (tenant.clone(), conversation.clone());
        self.writer
            .run_atomic(move |conn| add_message(conn, &tenant, &conversation, new))
            .await
    }

    async fn list_messages(
        &self,
        tenant: &Tenant,
        conversation: &ConversationId,
        page: Page,
    ) -> StoreResult<Listing<Message>> {
        let (tenant, conversation) = (tenant.clone(), conversation.clone());
        self.scan(&tenant.clone(), move |conn| {
            in_snapshot(conn, || list_messages(conn, &tenant, &conversation, page))
        })
        .await
    }
}
