//! `/v2/conversation` and `/v2/contact/{ref}/conversations`: conversations and messages.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::auth::Auth;
use super::extract::{JsonBody, PathParam, QueryParams};
use super::idempotency;
use super::{doc_types, AppState};
use crate::domain::conversation::{
    Conversation, ConversationFilter, ConversationPatch, Message, NewConversation, NewMessage, Page,
};
use crate::domain::ids::ConversationId;
use crate::domain::input::truncate;
use crate::domain::refs::ContactRef;
use crate::domain::FieldError;
use crate::error::ApiError;
use contactd_wire as wire;

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
    request_body = wire::NewConversation,
    responses(
        (status = 201, description = "The conversation, created", body = wire::Conversation),
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
    let answer = |c: &Conversation| created(wire::Conversation::from(c.clone()));
    idempotency::answer_as(answer);
    let conversation = state.store.create_conversation(&tenant, new).await?;
    Ok(answer(&conversation))
}

fn created(body: impl serde::Serialize) -> Response {
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
        (status = 200, description = "The conversation", body = wire::Conversation),
        (status = 400, response = doc_types::InvalidInput),
        (status = 404, response = doc_types::NotFound),
        doc_types::CommonErrors,
    ),
)]
pub async fn get(
    State(state): State<AppState>,
    Auth(tenant): Auth,
    PathParam(raw): PathParam,
) -> Result<Json<wire::Conversation>, ApiError> {
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
    request_body = wire::ConversationUpdate,
    responses(
        (status = 200, description = "The conversation", body = wire::Conversation),
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
) -> Result<Json<wire::Conversation>, ApiError> {
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
        (status = 200, description = "A page of conversations", body = wire::OffsetList<wire::Conversation>),
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
) -> Result<Json<wire::OffsetList<wire::Conversation>>, ApiError> {
    let contact = ContactRef::parse(&raw)?;
    let query = query.only(&["status", "channel", "limit", "offset"])?;
    let filter = ConversationFilter::parse(query.get("status"), query.get("channel"))?;
    let listing = state
        .store
        .list_conversations(&tenant, &contact, filter, page(&query)?)
        .await?;
    Ok(Json(listing.into_wire()))
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
    request_body = wire::NewMessage,
    responses(
        (status = 201, description = "The message, created", body = wire::Message),
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
    let answer = |m: &Message| created(wire::Message::from(m.clone()));
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
        (status = 200, description = "A page of messages", body = wire::OffsetList<wire::Message>),
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
) -> Result<Json<wire::OffsetList<wire::Message>>, ApiError> {
    let id = conversation_id(&raw)?;
    let query = query.only(&["limit", "offset"])?;
    let listing = state
        .store
        .list_messages(&tenant, &id, page(&query)?)
        .await?;
    Ok(Json(listing.into_wire()))
}
