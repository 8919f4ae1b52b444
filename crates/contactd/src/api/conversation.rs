//! `/v2/conversation` and `/v2/contact/{ref}/conversations`: conversations and messages.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use super::auth::Auth;
use super::extract::{JsonBody, PathParam, QueryParams};
use super::idempotency;
use super::{doc_types, AppState};
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

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Conversation)]
pub struct ConversationOut {
    #[schema(
        pattern = "^conv_[0-9a-z]+$",
        example = "conv_038ggac0fy000b7n2k4t9qzdx1mr"
    )]
    id: String,
    /// The contact's id, whatever reference created the conversation.
    #[schema(
        pattern = "^cnt_[0-9a-z]+$",
        example = "cnt_038ggac0fy000a0wp1kh1adwpwetq"
    )]
    contact_id: String,
    #[schema(value_type = doc_types::Channel)]
    channel: &'static str,
    #[schema(value_type = doc_types::ConversationStatus)]
    status: &'static str,
    #[schema(value_type = String, format = DateTime, example = "2026-01-25T10:30:00.000000Z")]
    created_at: Timestamp,
    #[schema(value_type = String, format = DateTime, example = "2026-01-25T10:30:00.000000Z")]
    updated_at: Timestamp,
    /// The `created_at` of the newest message.
    #[schema(required = true, value_type = Option<String>, format = DateTime)]
    last_message_at: Option<Timestamp>,
    #[schema(minimum = 0, example = 0)]
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

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Message)]
pub struct MessageOut {
    #[schema(
        pattern = "^msg_[0-9a-z]+$",
        example = "msg_038ggac0fy000c3m5p8r1vwx7yzb"
    )]
    id: String,
    #[schema(
        pattern = "^conv_[0-9a-z]+$",
        example = "conv_038ggac0fy000b7n2k4t9qzdx1mr"
    )]
    conversation_id: String,
    #[schema(value_type = doc_types::Direction)]
    direction: &'static str,
    #[schema(example = "Hi John")]
    text: String,
    #[schema(value_type = String, format = DateTime, example = "2026-01-25T10:30:00.000000Z")]
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
#[derive(Serialize, utoipa::ToSchema)]
pub struct ListOut<T> {
    data: Vec<T>,
    #[schema(example = 42)]
    total: u64,
    #[schema(example = 20)]
    limit: u32,
    #[schema(example = 0)]
    offset: u64,
    has_more: bool,
}

impl<T> ListOut<T> {
    pub(super) fn from_listing<U: Into<T>>(listing: Listing<U>) -> ListOut<T> {
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

pub(super) fn page(query: &QueryParams) -> Result<Page, ApiError> {
    Ok(Page::parse(query.get("limit"), query.get("offset"))?)
}

/// Create a conversation
///
/// `contact_id` takes any contact reference and is stored as the contact's id; an unknown
/// contact is `404`.
#[utoipa::path(
    post,
    path = "/v2/conversation",
    operation_id = "createConversation",
    tag = "conversations",
    params(doc_types::IdempotencyKey),
    request_body = doc_types::ConversationCreate,
    responses(
        (status = 201, description = "The conversation, created", body = ConversationOut),
        (status = 400, response = doc_types::InvalidInput),
        (status = 404, response = doc_types::NotFound),
        (status = 409, response = doc_types::IdempotencyConflict),
        doc_types::BodyErrors,
        doc_types::CommonErrors,
    ),
)]
pub async fn create(
    State(state): State<AppState>,
    Auth(tenant): Auth,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let new = NewConversation::from_json(body)?;
    let answer = |c: &Conversation| created(ConversationOut::from(c.clone()));
    idempotency::answer_as(answer);
    let conversation = state.store.create_conversation(&tenant, new).await?;
    Ok(answer(&conversation))
}

fn created(body: impl Serialize) -> Response {
    (StatusCode::CREATED, Json(body)).into_response()
}

/// Get a conversation
#[utoipa::path(
    get,
    path = "/v2/conversation/{conversation_id}",
    operation_id = "getConversation",
    tag = "conversations",
    params(doc_types::ConversationIdPath),
    responses(
        (status = 200, description = "The conversation", body = ConversationOut),
        (status = 400, response = doc_types::InvalidInput),
        (status = 404, response = doc_types::NotFound),
        doc_types::CommonErrors,
    ),
)]
pub async fn get(
    State(state): State<AppState>,
    Auth(tenant): Auth,
    PathParam(raw): PathParam,
) -> Result<Json<ConversationOut>, ApiError> {
    let id = conversation_id(&raw)?;
    let conversation = state.store.get_conversation(&tenant, &id).await?;
    Ok(Json(conversation.into()))
}

/// Update a conversation
///
/// Only `status` can change.
#[utoipa::path(
    put,
    path = "/v2/conversation/{conversation_id}",
    operation_id = "updateConversation",
    tag = "conversations",
    params(doc_types::ConversationIdPath),
    request_body = doc_types::ConversationUpdate,
    responses(
        (status = 200, description = "The conversation", body = ConversationOut),
        (status = 400, response = doc_types::InvalidInput),
        (status = 404, response = doc_types::NotFound),
        doc_types::BodyErrors,
        doc_types::CommonErrors,
    ),
)]
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

/// List a contact's conversations
///
/// Newest first (by `created_at`, then id). Unknown or repeated parameters and values
/// outside the ones listed are `invalid_input`, never an empty list.
#[utoipa::path(
    get,
    path = "/v2/contact/{ref}/conversations",
    operation_id = "listContactConversations",
    tag = "conversations",
    params(doc_types::ContactRefPath, doc_types::ConversationFilterQuery, doc_types::PageQuery),
    responses(
        (status = 200, description = "A page of conversations", body = ListOut<ConversationOut>),
        (status = 400, response = doc_types::InvalidInput),
        (status = 404, response = doc_types::NotFound),
        doc_types::CommonErrors,
    ),
)]
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

/// Add a message to a conversation
///
/// In the same transaction the conversation's `message_count` grows by one and its
/// `last_message_at` and `updated_at` become the message's `created_at`; for an outbound
/// message the contact's `last_contacted` (and `updated_at`) too.
#[utoipa::path(
    post,
    path = "/v2/conversation/{conversation_id}/messages",
    operation_id = "createMessage",
    tag = "conversations",
    params(doc_types::ConversationIdPath, doc_types::IdempotencyKey),
    request_body = doc_types::MessageCreate,
    responses(
        (status = 201, description = "The message, created", body = MessageOut),
        (status = 400, response = doc_types::InvalidInput),
        (status = 404, response = doc_types::NotFound),
        (status = 409, response = doc_types::IdempotencyConflict),
        doc_types::BodyErrors,
        doc_types::CommonErrors,
    ),
)]
pub async fn create_message(
    State(state): State<AppState>,
    Auth(tenant): Auth,
    PathParam(raw): PathParam,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let id = conversation_id(&raw)?;
    let new = NewMessage::from_json(body)?;
    let answer = |m: &Message| created(MessageOut::from(m.clone()));
    idempotency::answer_as(answer);
    let message = state.store.create_message(&tenant, &id, new).await?;
    Ok(answer(&message))
}

/// List a conversation's messages
///
/// Oldest first.
#[utoipa::path(
    get,
    path = "/v2/conversation/{conversation_id}/messages",
    operation_id = "listMessages",
    tag = "conversations",
    params(doc_types::ConversationIdPath, doc_types::PageQuery),
    responses(
        (status = 200, description = "A page of messages", body = ListOut<MessageOut>),
        (status = 400, response = doc_types::InvalidInput),
        (status = 404, response = doc_types::NotFound),
        doc_types::CommonErrors,
    ),
)]
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
