//! `/v2/conversation` and `/v2/contact/{ref}/conversations`: conversations and messages.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;

use super::auth::Auth;
use super::extract::{JsonBody, PathParam, QueryParams};
use super::AppState;
use crate::domain::conversation::{
    Conversation, ConversationFilter, ConversationPatch, Listing, Message, NewConversation,
    NewMessage, Page,
};
use crate::domain::ids::ConversationId;
use crate::domain::input::truncate;
use crate::domain::refs::ContactRef;
use crate::domain::time::Timestamp;
use crate::domain::FieldError;
use crate::error::ApiError;

#[derive(Serialize)]
pub struct ConversationOut {
    id: String,
    contact_id: String,
    channel: &'static str,
    status: &'static str,
    created_at: Timestamp,
    updated_at: Timestamp,
    last_message_at: Option<Timestamp>,
    message_count: i64,
}

impl From<Conversation> for ConversationOut {
    fn from(c: Conversation) -> Self {
        ConversationOut {
            id: c.id.into_string(),
            contact_id: c.contact_id.into_string(),
            channel: c.channel.as_str(),
            status: c.status.as_str(),
            created_at: c.created_at,
            updated_at: c.updated_at,
            last_message_at: c.last_message_at,
            message_count: c.message_count,
        }
    }
}

#[derive(Serialize)]
pub struct MessageOut {
    id: String,
    conversation_id: String,
    direction: &'static str,
    text: String,
    created_at: Timestamp,
}

impl From<Message> for MessageOut {
    fn from(m: Message) -> Self {
        MessageOut {
            id: m.id.into_string(),
            conversation_id: m.conversation_id.into_string(),
            direction: m.direction.as_str(),
            text: m.text,
            created_at: m.created_at,
        }
    }
}

/// `{"data": [...], "total": 42, "limit": 20, "offset": 0, "has_more": true}`
#[derive(Serialize)]
pub struct ListOut<T> {
    data: Vec<T>,
    total: u64,
    limit: u32,
    offset: u64,
    has_more: bool,
}

impl<T> ListOut<T> {
    fn from_listing<U: Into<T>>(listing: Listing<U>) -> ListOut<T> {
        let Listing { items, total, page } = listing;
        let has_more = page.offset.saturating_add(items.len() as u64) < total;
        ListOut {
            data: items.into_iter().map(Into::into).collect(),
            total,
            limit: page.limit,
            offset: page.offset,
            has_more,
        }
    }
}

fn conversation_id(raw: &str) -> Result<ConversationId, ApiError> {
    ConversationId::parse(raw).ok_or_else(|| {
        FieldError::new(
            "id",
            "Conversation id must be conv_ followed by lowercase letters and digits",
        )
        .received(truncate(raw, 200))
        .into()
    })
}

fn page(query: &QueryParams) -> Result<Page, ApiError> {
    Ok(Page::parse(query.get("limit"), query.get("offset"))?)
}

pub async fn create(
    State(state): State<AppState>,
    Auth(tenant): Auth,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<ConversationOut>), ApiError> {
    let new = NewConversation::from_json(body)?;
    let conversation = state.store.create_conversation(&tenant, new).await?;
    Ok((StatusCode::CREATED, Json(conversation.into())))
}

pub async fn get(
    State(state): State<AppState>,
    Auth(tenant): Auth,
    PathParam(raw): PathParam,
) -> Result<Json<ConversationOut>, ApiError> {
    let id = conversation_id(&raw)?;
    let conversation = state.store.get_conversation(&tenant, &id).await?;
    Ok(Json(conversation.into()))
}

pub async fn update(
    State(state): State<AppState>,
    Auth(tenant): Auth,
    PathParam(raw): PathParam,
    JsonBody(body): JsonBody,
) -> Result<Json<ConversationOut>, ApiError> {
    let id = conversation_id(&raw)?;
    let patch = ConversationPatch::from_json(body)?;
    let conversation = state.store.update_conversation(&tenant, &id, patch).await?;
    Ok(Json(conversation.into()))
}

pub async fn list_for_contact(
    State(state): State<AppState>,
    Auth(tenant): Auth,
    PathParam(raw): PathParam,
    query: QueryParams,
) -> Result<Json<ListOut<ConversationOut>>, ApiError> {
    let contact = ContactRef::parse(&raw)?;
    let query = query.only(&["status", "channel", "limit", "offset"])?;
    let filter = ConversationFilter::parse(query.get("status"), query.get("channel"))?;
    let listing = state
        .store
        .list_conversations(&tenant, &contact, filter, page(&query)?)
        .await?;
    Ok(Json(ListOut::from_listing(listing)))
}

pub async fn create_message(
    State(state): State<AppState>,
    Auth(tenant): Auth,
    PathParam(raw): PathParam,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<MessageOut>), ApiError> {
    let id = conversation_id(&raw)?;
    let new = NewMessage::from_json(body)?;
    let message = state.store.create_message(&tenant, &id, new).await?;
    Ok((StatusCode::CREATED, Json(message.into())))
}

pub async fn list_messages(
    State(state): State<AppState>,
    Auth(tenant): Auth,
    PathParam(raw): PathParam,
    query: QueryParams,
) -> Result<Json<ListOut<MessageOut>>, ApiError> {
    let id = conversation_id(&raw)?;
    let query = query.only(&["limit", "offset"])?;
    let listing = state
        .store
        .list_messages(&tenant, &id, page(&query)?)
        .await?;
    Ok(Json(ListOut::from_listing(listing)))
}
