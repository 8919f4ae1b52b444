//! `/v2/contact`: create, read, partial update and delete of contacts by ref; list and
//! search; upsert; batch.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::auth::Auth;
use super::extract::{JsonBody, PathParam, QueryParams};
use super::AppState;
use crate::domain::batch::{BatchItem, BatchRequest};
use crate::domain::contact::{
    Contact, ContactPatch, NewContact, Precondition, UpsertContact, UpsertOutcome,
};
use crate::domain::contact_query::{ContactQuery, Start};
use crate::domain::refs::ContactRef;
use crate::domain::time::Timestamp;
use crate::domain::FieldError;
use crate::error::ApiError;
use crate::store::StoreError;

/// A contact as the API shows it: every field present, unset ones null.
#[derive(Serialize)]
pub struct ContactOut {
    id: String,
    phone: Option<String>,
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    full_name: Option<String>,
    preferred_channel: Option<&'static str>,
    metadata: Map<String, Value>,
    status: &'static str,
    created_at: Timestamp,
    updated_at: Timestamp,
    last_contacted: Option<Timestamp>,
}

impl From<Contact> for ContactOut {
    fn from(c: Contact) -> Self {
        ContactOut {
            full_name: c.full_name(),
            id: c.id.into_string(),
            phone: c.phone.map(|p| p.into_string()),
            email: c.email.map(|e| e.into_string()),
            first_name: c.first_name,
            last_name: c.last_name,
            preferred_channel: c.preferred_channel.map(|ch| ch.as_str()),
            metadata: c.metadata,
            status: c.status.as_str(),
            created_at: c.created_at,
            updated_at: c.updated_at,
            last_contacted: c.last_contacted,
        }
    }
}

/// A contact answer: the contact as JSON and its version in `ETag`.
pub fn contact_response(status: StatusCode, contact: Contact) -> Response {
    let etag = HeaderValue::from_str(&contact.etag()).ok();
    let mut response = (status, Json(ContactOut::from(contact))).into_response();
    if let Some(etag) = etag {
        response.headers_mut().insert(header::ETAG, etag);
    }
    response
}

/// The `If-Match` header of a request, if it has one.
fn precondition(headers: &HeaderMap) -> Result<Option<Precondition>, ApiError> {
    match headers.get(header::IF_MATCH) {
        None => Ok(None),
        Some(value) => value
            .to_str()
            .map(|v| Some(Precondition::parse(v)))
            .map_err(|_| FieldError::new("If-Match", "If-Match must be ASCII entity tags").into()),
    }
}

pub async fn create(
    State(state): State<AppState>,
    Auth(tenant): Auth,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let new = NewContact::from_json(body)?;
    let contact = state.store.create_contact(&tenant, new).await?;
    Ok(contact_response(StatusCode::CREATED, contact))
}

pub async fn get(
    State(state): State<AppState>,
    Auth(tenant): Auth,
    PathParam(raw): PathParam,
) -> Result<Response, ApiError> {
    let contact = ContactRef::parse(&raw)?;
    let contact = state.store.get_contact(&tenant, &contact).await?;
    Ok(contact_response(StatusCode::OK, contact))
}

pub async fn update(
    State(state): State<AppState>,
    Auth(tenant): Auth,
    PathParam(raw): PathParam,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let contact = ContactRef::parse(&raw)?;
    let patch = ContactPatch::from_json(body)?;
    let precondition = precondition(&headers)?;
    let contact = state
        .store
        .update_contact(&tenant, &contact, patch, precondition)
        .await?;
    Ok(contact_response(StatusCode::OK, contact))
}

pub async fn delete(
    State(state): State<AppState>,
    Auth(tenant): Auth,
    PathParam(raw): PathParam,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let contact = ContactRef::parse(&raw)?;
    let precondition = precondition(&headers)?;
    let contact = state
        .store
        .delete_contact(&tenant, &contact, precondition)
        .await?;
    Ok(contact_response(StatusCode::OK, contact))
}

/// `{"data", "total", "limit", "offset", "has_more", "next_cursor"}`; `total` and `offset`
/// are null on cursor pages.
#[derive(Serialize)]
pub struct ContactListOut {
    data: Vec<ContactOut>,
    total: Option<u64>,
    limit: u32,
    offset: Option<u64>,
    has_more: bool,
    next_cursor: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    Auth(tenant): Auth,
    query: QueryParams,
) -> Result<Json<ContactListOut>, ApiError> {
    let query = ContactQuery::parse(query.pairs())?;
    let page = state.store.list_contacts(&tenant, &query).await?;
    let next_cursor = page
        .items
        .last()
        .filter(|_| page.has_more)
        .map(|last| query.cursor_after(last));
    Ok(Json(ContactListOut {
        total: page.total,
        limit: query.limit,
        offset: match query.start {
            Start::Offset(n) => Some(n),
            Start::After { .. } => None,
        },
        has_more: page.has_more,
        next_cursor,
        data: page.items.into_iter().map(ContactOut::from).collect(),
    }))
}

pub const UPSERT_RESULT_HEADER: &str = "x-upsert-result";

pub async fn upsert(
    State(state): State<AppState>,
    Auth(tenant): Auth,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let upsert = UpsertContact::from_json(body)?;
    let (contact, outcome) = state.store.upsert_contact(&tenant, upsert).await?;
    let status = match outcome {
        UpsertOutcome::Created => StatusCode::CREATED,
        UpsertOutcome::Updated => StatusCode::OK,
    };
    let mut response = contact_response(status, contact);
    response.headers_mut().insert(
        UPSERT_RESULT_HEADER,
        HeaderValue::from_static(outcome.as_str()),
    );
    Ok(response)
}

pub async fn batch(
    State(state): State<AppState>,
    Auth(tenant): Auth,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    let request = BatchRequest::from_json(body)?;
    let valid: Vec<BatchItem> = request
        .items
        .iter()
        .filter_map(|item| item.as_ref().ok().cloned())
        .collect();
    let mut ran = state
        .store
        .batch_contacts(&tenant, valid)
        .await?
        .into_iter();
    let (mut created, mut updated, mut errors) = (0, 0, 0);
    let mut results = Vec::with_capacity(request.items.len());
    for (index, item) in request.items.into_iter().enumerate() {
        let outcome = match item {
            Err(invalid) => Err(ApiError::InvalidInput(invalid)),
            Ok(_) => ran
                .next()
                .unwrap_or_else(|| Err(StoreError::Unavailable("batch item lost".into())))
                .map_err(ApiError::from),
        };
        results.push(match outcome {
            Ok((contact, outcome)) => {
                match outcome {
                    UpsertOutcome::Created => created += 1,
                    UpsertOutcome::Updated => updated += 1,
                }
                json!({"index": index, "status": outcome.as_str(), "contact": ContactOut::from(contact)})
            }
            Err(e) => {
                errors += 1;
                json!({"index": index, "status": "error", "error": e.body()})
            }
        });
    }
    Ok(Json(json!({
        "results": results,
        "created": created,
        "updated": updated,
        "errors": errors,
    })))
}
