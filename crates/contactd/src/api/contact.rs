//! `/v2/contact`: create, read, partial update and delete of contacts by ref; list and
//! search; upsert; batch.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::auth::Auth;
use super::extract::{JsonBody, PathPair, PathParam, QueryParams};
use super::idempotency;
use super::{doc_types, AppState};
use crate::domain::batch::{BatchItem, BatchRequest};
use crate::domain::contact::{
    Contact, ContactPatch, NewContact, Precondition, UpsertContact, UpsertOutcome,
};
use crate::domain::contact_query::{ContactFilter, ContactPage, ContactQuery, Start};
use crate::domain::refs::ContactRef;
use crate::domain::tenant::Tenant;
use crate::domain::FieldError;
use crate::error::ApiError;
use crate::store::StoreResult;
use contactd_wire::{self as wire, BatchOutcome};

/// A contact answer: the contact as JSON and its version in `ETag`.
pub fn contact_response(status: StatusCode, contact: Contact) -> Response {
    let etag = HeaderValue::from_str(&contact.etag()).ok();
    let mut response = (status, Json(wire::Contact::from(contact))).into_response();
    if let Some(etag) = etag {
        response.headers_mut().insert(header::ETAG, etag);
    }
    response
}

/// The `If-Match` header of a request, if it has one.
pub(super) fn precondition(headers: &HeaderMap) -> Result<Option<Precondition>, ApiError> {
    match headers.get(header::IF_MATCH) {
        None => Ok(None),
        Some(value) => value
            .to_str()
            .map(|v| Some(Precondition::parse(v)))
            .map_err(|_| FieldError::new("If-Match", "If-Match must be ASCII entity tags").into()),
    }
}

/// Create a contact
///
/// A contact needs a phone, an email, or both. `null` members of `metadata` are dropped.
#[utoipa::path(
    post,
    path = "/v2/contact",
    operation_id = "createContact",
    tag = "contacts",
    params(doc_types::IdempotencyKey),
    request_body = wire::NewContact,
    responses(
        (status = 201, description = "The contact, created", body = wire::Contact,
            headers(("ETag" = String, description = "The contact's version, for If-Match"))),
        (status = 400, response = doc_types::InvalidInput),
        (status = 409, response = doc_types::Conflict),
        doc_types::BodyErrors,
        doc_types::CommonErrors,
    ),
)]
pub async fn create(
    State(state): State<AppState>,
    Auth(tenant): Auth,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let new = NewContact::from_json(body)?;
    let answer = |c: &Contact| contact_response(StatusCode::CREATED, c.clone());
    idempotency::answer_as(answer);
    let contact = state.store.create_contact(&tenant, new).await?;
    Ok(answer(&contact))
}

/// Get a contact
///
/// By id, phone or email. A well-formed id that does not exist is `404`.
#[utoipa::path(
    get,
    path = "/v2/contact/{ref}",
    operation_id = "getContact",
    tag = "contacts",
    params(doc_types::ContactRefPath),
    responses(
        (status = 200, description = "The contact", body = wire::Contact,
            headers(("ETag" = String, description = "The contact's version, for If-Match"))),
        (status = 400, response = doc_types::InvalidInput),
        (status = 404, response = doc_types::NotFound),
        doc_types::CommonErrors,
    ),
)]
pub async fn get(
    State(state): State<AppState>,
    Auth(tenant): Auth,
    PathParam(raw): PathParam,
) -> Result<Response, ApiError> {
    let contact = ContactRef::parse(&raw)?;
    let contact = state.store.get_contact(&tenant, &contact).await?;
    Ok(contact_response(StatusCode::OK, contact))
}

/// Update a contact
///
/// A partial update: only the fields sent change, a field sent as `null` is cleared, and
/// `metadata` is merged as a JSON Merge Patch. A body that changes nothing answers the
/// contact unchanged (`updated_at` does not move). Concurrent updates apply one after the
/// other on the current state.
#[utoipa::path(
    put,
    path = "/v2/contact/{ref}",
    operation_id = "updateContact",
    tag = "contacts",
    params(doc_types::ContactRefPath, doc_types::IfMatch),
    request_body = wire::ContactUpdate,
    responses(
        (status = 200, description = "The contact, updated", body = wire::Contact,
            headers(("ETag" = String, description = "The contact's new version"))),
        (status = 400, response = doc_types::InvalidInput),
        (status = 404, response = doc_types::NotFound),
        (status = 409, response = doc_types::DuplicateContact),
        (status = 412, response = doc_types::PreconditionFailed),
        doc_types::BodyErrors,
        doc_types::CommonErrors,
    ),
)]
pub async fn update(
    State(state): State<AppState>,
    Auth(tenant): Auth,
    PathParam(raw): PathParam,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    patch_contact(
        &state,
        &tenant,
        &raw,
        &headers,
        ContactPatch::from_json(body),
    )
    .await
}

/// Applies a patch to the contact `raw` names, under the request's `If-Match`.
async fn patch_contact(
    state: &AppState,
    tenant: &Tenant,
    raw: &str,
    headers: &HeaderMap,
    patch: Result<ContactPatch, FieldError>,
) -> Result<Response, ApiError> {
    let contact = ContactRef::parse(raw)?;
    let patch = patch?;
    let precondition = precondition(headers)?;
    let contact = state
        .store
        .update_contact(tenant, &contact, patch, precondition)
        .await?;
    Ok(contact_response(StatusCode::OK, contact))
}

/// Delete a contact
///
/// Erases the contact and, in the same transaction, its conversations and messages. Its
/// phone and email can be used again.
#[utoipa::path(
    delete,
    path = "/v2/contact/{ref}",
    operation_id = "deleteContact",
    tag = "contacts",
    params(doc_types::ContactRefPath, doc_types::IfMatch),
    responses(
        (status = 200, description = "The contact as it was, with `status` `deleted`", body = wire::Contact,
            headers(("ETag" = String, description = "The version that was deleted"))),
        (status = 400, response = doc_types::InvalidInput),
        (status = 404, response = doc_types::NotFound),
        (status = 412, response = doc_types::PreconditionFailed),
        doc_types::CommonErrors,
    ),
)]
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

/// Add an identity to a contact
///
/// Adds `{"type", "value"}` to the contact's identities (kept once if it has it already).
/// An identity another contact holds is `409 duplicate_contact`.
#[utoipa::path(
    post,
    path = "/v2/contact/{ref}/identities",
    operation_id = "addContactIdentity",
    tag = "contacts",
    params(doc_types::ContactRefPath, doc_types::IfMatch, doc_types::IdempotencyKey),
    request_body = wire::Identity,
    responses(
        (status = 200, description = "The contact, with the identity", body = wire::Contact,
            headers(("ETag" = String, description = "The contact's new version"))),
        (status = 400, response = doc_types::InvalidInput),
        (status = 404, response = doc_types::NotFound),
        (status = 409, response = doc_types::DuplicateContact),
        (status = 412, response = doc_types::PreconditionFailed),
        doc_types::BodyErrors,
        doc_types::CommonErrors,
    ),
)]
pub async fn add_identity(
    State(state): State<AppState>,
    Auth(tenant): Auth,
    PathParam(raw): PathParam,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let patch = ContactPatch::add_identity(body);
    patch_contact(&state, &tenant, &raw, &headers, patch).await
}

/// Remove an identity from a contact
///
/// Removes the identity `TYPE:VALUE` (an email in any case). A contact keeps a phone, an
/// email or an identity: removing the last one is `400`; removing one the contact does
/// not have is `404`, as for a missing contact.
#[utoipa::path(
    delete,
    path = "/v2/contact/{ref}/identities/{identity}",
    operation_id = "removeContactIdentity",
    tag = "contacts",
    params(
        doc_types::ContactRefPath,
        ("identity" = String, Path, description = "The identity, `TYPE:VALUE`",
            example = "instagram:17841400000000001"),
        doc_types::IfMatch,
    ),
    responses(
        (status = 200, description = "The contact, without the identity", body = wire::Contact,
            headers(("ETag" = String, description = "The contact's new version"))),
        (status = 400, response = doc_types::InvalidInput),
        (status = 404, response = doc_types::NotFound),
        (status = 412, response = doc_types::PreconditionFailed),
        doc_types::CommonErrors,
    ),
)]
pub async fn remove_identity(
    State(state): State<AppState>,
    Auth(tenant): Auth,
    PathPair(raw, identity): PathPair,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let patch = ContactPatch::remove_identity(&identity);
    patch_contact(&state, &tenant, &raw, &headers, patch).await
}

/// A page of contacts as the API answers it: `offset` is null on cursor pages, `total`
/// unless they ask for it, `next_cursor` on every page but the last.
pub(super) fn contact_list(query: &ContactQuery, page: ContactPage) -> wire::List<wire::Contact> {
    let next_cursor = page
        .items
        .last()
        .filter(|_| page.has_more)
        .map(|last| query.cursor_after(last));
    wire::List {
        total: page.total,
        limit: query.limit,
        offset: match query.start {
            Start::Offset(n) => Some(n),
            Start::After { .. } => None,
        },
        has_more: page.has_more,
        next_cursor,
        data: page.items.into_iter().map(wire::Contact::from).collect(),
    }
}

/// List contacts
///
/// The workspace's contacts, oldest first unless `sort` says otherwise, filtered, searched
/// and paged by offset or by cursor. Results and totals are exact the moment a write is
/// acknowledged. Offset pages carry `total`; cursor pages carry it with
/// `include_total=true`, and a first page can leave it out with `include_total=false`.
/// At most 20 filter parameters.
#[utoipa::path(
    get,
    path = "/v2/contact",
    operation_id = "listContacts",
    tag = "contacts",
    params(doc_types::ContactFilterQuery, doc_types::ContactPagingQuery, doc_types::MetadataFilters),
    responses(
        (status = 200, description = "A page of contacts", body = wire::List<wire::Contact>),
        (status = 400, response = doc_types::InvalidInput),
        doc_types::CommonErrors,
    ),
)]
pub async fn list(
    State(state): State<AppState>,
    Auth(tenant): Auth,
    query: QueryParams,
) -> Result<Json<wire::List<wire::Contact>>, ApiError> {
    let query = ContactQuery::parse(query.pairs())?;
    let page = state.store.list_contacts(&tenant, &query).await?;
    Ok(Json(contact_list(&query, page)))
}

/// Count contacts
///
/// How many contacts match the same filters as the list takes, exactly, counted from
/// indexes.
#[utoipa::path(
    get,
    path = "/v2/contact/count",
    operation_id = "countContacts",
    tag = "contacts",
    params(doc_types::ContactFilterQuery, doc_types::MetadataFilters),
    responses(
        (status = 200, description = "The number of matching contacts", body = wire::Count),
        (status = 400, response = doc_types::InvalidInput),
        doc_types::CommonErrors,
    ),
)]
pub async fn count(
    State(state): State<AppState>,
    Auth(tenant): Auth,
    query: QueryParams,
) -> Result<Json<wire::Count>, ApiError> {
    let filter = ContactFilter::from_pairs(query.pairs())?;
    let total = state.store.count_contacts(&tenant, &filter).await?;
    Ok(Json(wire::Count { total }))
}

pub const UPSERT_RESULT_HEADER: &str = "x-upsert-result";

/// Upsert a contact
///
/// Looks the contact up by `phone` and by `email` in one transaction: when neither matches
/// it is created (`201`); when one contact matches, the body is applied to it as an update
/// would (`200`); when the phone and the email belong to two contacts, `409`. Concurrent
/// upserts of one identifier create exactly one contact.
#[utoipa::path(
    post,
    path = "/v2/contact/upsert",
    operation_id = "upsertContact",
    tag = "contacts",
    params(doc_types::IdempotencyKey),
    request_body = wire::NewContact,
    responses(
        (status = 200, description = "The contact, updated (or already as sent)", body = wire::Contact, headers(
            ("ETag" = String, description = "The contact's version, for If-Match"),
            ("X-Upsert-Result" = doc_types::UpsertResult, description = "`updated`, or `unchanged` when the contact already had every value sent"),
        )),
        (status = 201, description = "The contact, created", body = wire::Contact, headers(
            ("ETag" = String, description = "The contact's version, for If-Match"),
            ("X-Upsert-Result" = doc_types::UpsertResult, description = "`created`"),
        )),
        (status = 400, response = doc_types::InvalidInput),
        (status = 409, response = doc_types::Conflict),
        doc_types::BodyErrors,
        doc_types::CommonErrors,
    ),
)]
pub async fn upsert(
    State(state): State<AppState>,
    Auth(tenant): Auth,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let upsert = UpsertContact::from_json(body)?;
    idempotency::answer_as(upsert_answer);
    let done = state.store.upsert_contact(&tenant, upsert).await?;
    Ok(upsert_answer(&done))
}

fn upsert_answer((contact, outcome): &(Contact, UpsertOutcome)) -> Response {
    let status = match outcome {
        UpsertOutcome::Created => StatusCode::CREATED,
        UpsertOutcome::Updated | UpsertOutcome::Unchanged => StatusCode::OK,
    };
    let mut response = contact_response(status, contact.clone());
    response.headers_mut().insert(
        UPSERT_RESULT_HEADER,
        HeaderValue::from_static(outcome.as_str()),
    );
    response
}

/// Create, upsert or restore contacts in a batch
///
/// Each item is processed as its own create, upsert or restore, in order, in one
/// transaction with a savepoint per item, so one bad item does not fail the others.
#[utoipa::path(
    post,
    path = "/v2/contact/batch",
    operation_id = "batchContacts",
    tag = "contacts",
    params(doc_types::IdempotencyKey),
    request_body = wire::BatchRequest,
    responses(
        (status = 200, description = "A result per item, in order", body = wire::BatchResult),
        (status = 400, response = doc_types::InvalidInput),
        (status = 409, response = doc_types::IdempotencyConflict),
        doc_types::BodyErrors,
        doc_types::CommonErrors,
    ),
)]
pub async fn batch(
    State(state): State<AppState>,
    Auth(tenant): Auth,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let request = BatchRequest::from_json(body)?;
    let valid: Vec<BatchItem> = request
        .items
        .iter()
        .filter_map(|item| item.as_ref().ok().cloned())
        .collect();
    let items = Arc::new(request.items);
    let answer = {
        let items = items.clone();
        move |ran: &Vec<StoreResult<(Contact, UpsertOutcome)>>| batch_answer(&items, ran)
    };
    idempotency::answer_as(answer.clone());
    let ran = state.store.batch_contacts(&tenant, valid).await?;
    Ok(answer(&ran))
}

/// A result per item, in order: the invalid items' errors, the others' outcomes.
fn batch_answer(
    items: &[Result<BatchItem, FieldError>],
    ran: &[StoreResult<(Contact, UpsertOutcome)>],
) -> Response {
    let mut ran = ran.iter();
    let outcomes = items.iter().map(|item| {
        let done = match item {
            Err(invalid) => Err(ApiError::InvalidInput(invalid.clone())),
            Ok(_) => match ran.next() {
                Some(Ok(done)) => Ok(done),
                Some(Err(e)) => Err(ApiError::from(e)),
                None => Err(ApiError::Unavailable("batch item lost".into())),
            },
        };
        match done {
            Ok((contact, outcome)) => {
                let contact = wire::Contact::from(contact.clone());
                match outcome {
                    UpsertOutcome::Created => BatchOutcome::Created(contact),
                    UpsertOutcome::Updated => BatchOutcome::Updated(contact),
                    UpsertOutcome::Unchanged => BatchOutcome::Unchanged(contact),
                }
            }
            Err(e) => BatchOutcome::Failed(e.envelope()),
        }
    });
    Json(wire::BatchResult::new(outcomes)).into_response()
}
