//! `/v2/segment`: saved contact filters with live counts, and their contacts.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::auth::Auth;
use super::contact::contact_list;
use super::conversation::page;
use super::extract::{JsonBody, PathParam, QueryParams};
use super::idempotency;
use super::{doc_types, AppState};
use crate::domain::contact_query::ContactQuery;
use crate::domain::conversation::Listing;
use crate::domain::ids::SegmentId;
use crate::domain::input::truncate;
use crate::domain::segment::{NewSegment, Segment, SegmentPatch};
use crate::domain::tenant::Tenant;
use crate::domain::FieldError;
use crate::error::ApiError;
use contactd_wire as wire;

/// The segment with its count, computed now.
async fn with_count(
    state: &AppState,
    tenant: &Tenant,
    segment: Segment,
) -> Result<wire::Segment, ApiError> {
    let filter = segment.contact_filter()?;
    let count = state.store.count_contacts(tenant, &filter).await?;
    Ok(segment.into_wire(count))
}

fn segment_id(raw: &str) -> Result<SegmentId, ApiError> {
    SegmentId::parse(raw).ok_or_else(|| {
        FieldError::new(
            "id",
            "Segment id must be seg_ followed by lowercase letters and digits",
        )
        .received(truncate(raw, 200))
        .into()
    })
}

/// Create a segment
///
/// `filter` holds the list's query parameters as strings (`{"metadata.plan": "premium",
/// "status": "active"}`); a bad one is `invalid_input` naming `filter.NAME`.
#[utoipa::path(
    post,
    path = "/v2/segment",
    operation_id = "createSegment",
    tag = "segments",
    params(doc_types::IdempotencyKey),
    request_body = wire::NewSegment,
    responses(
        (status = 201, description = "The segment, created, with its count", body = wire::Segment),
        (status = 400, response = doc_types::InvalidInput),
        doc_types::BodyErrors,
        doc_types::CommonErrors,
    ),
)]
pub async fn create(
    State(state): State<AppState>,
    Auth(tenant): Auth,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let new = NewSegment::from_json(body)?;
    // Counted before the write, so that the answer can be kept with the write.
    let count = state
        .store
        .count_contacts(&tenant, &new.contact_filter()?)
        .await?;
    let answer =
        move |s: &Segment| (StatusCode::CREATED, Json(s.clone().into_wire(count))).into_response();
    idempotency::answer_as(answer);
    let segment = state.store.create_segment(&tenant, new).await?;
    Ok(answer(&segment))
}

/// List segments
///
/// Oldest first, each with its count computed now.
#[utoipa::path(
    get,
    path = "/v2/segment",
    operation_id = "listSegments",
    tag = "segments",
    params(doc_types::PageQuery),
    responses(
        (status = 200, description = "A page of segments", body = wire::OffsetList<wire::Segment>),
        (status = 400, response = doc_types::InvalidInput),
        doc_types::CommonErrors,
    ),
)]
pub async fn list(
    State(state): State<AppState>,
    Auth(tenant): Auth,
    query: QueryParams,
) -> Result<Json<wire::OffsetList<wire::Segment>>, ApiError> {
    let query = query.only(&["limit", "offset"])?;
    let listing = state.store.list_segments(&tenant, page(&query)?).await?;
    let mut items = Vec::with_capacity(listing.items.len());
    for segment in listing.items {
        items.push(with_count(&state, &tenant, segment).await?);
    }
    Ok(Json(
        Listing {
            items,
            total: listing.total,
            page: listing.page,
        }
        .into_wire(),
    ))
}

/// Get a segment
#[utoipa::path(
    get,
    path = "/v2/segment/{segment_id}",
    operation_id = "getSegment",
    tag = "segments",
    params(doc_types::SegmentIdPath),
    responses(
        (status = 200, description = "The segment, with its count", body = wire::Segment),
        (status = 400, response = doc_types::InvalidInput),
        (status = 404, response = doc_types::NotFound),
        doc_types::CommonErrors,
    ),
)]
pub async fn get(
    State(state): State<AppState>,
    Auth(tenant): Auth,
    PathParam(raw): PathParam,
) -> Result<Json<wire::Segment>, ApiError> {
    let id = segment_id(&raw)?;
    let segment = state.store.get_segment(&tenant, &id).await?;
    Ok(Json(with_count(&state, &tenant, segment).await?))
}

/// Update a segment
///
/// Changes the name, the filter (replaced whole), or both.
#[utoipa::path(
    put,
    path = "/v2/segment/{segment_id}",
    operation_id = "updateSegment",
    tag = "segments",
    params(doc_types::SegmentIdPath),
    request_body = wire::SegmentUpdate,
    responses(
        (status = 200, description = "The segment, updated, with its count", body = wire::Segment),
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
) -> Result<Json<wire::Segment>, ApiError> {
    let id = segment_id(&raw)?;
    let patch = SegmentPatch::from_json(body)?;
    let segment = state.store.update_segment(&tenant, &id, patch).await?;
    Ok(Json(with_count(&state, &tenant, segment).await?))
}

/// Delete a segment
///
/// Deletes the saved filter, never its contacts.
#[utoipa::path(
    delete,
    path = "/v2/segment/{segment_id}",
    operation_id = "deleteSegment",
    tag = "segments",
    params(doc_types::SegmentIdPath),
    responses(
        (status = 200, description = "The segment as it was", body = wire::Segment),
        (status = 400, response = doc_types::InvalidInput),
        (status = 404, response = doc_types::NotFound),
        doc_types::CommonErrors,
    ),
)]
pub async fn delete(
    State(state): State<AppState>,
    Auth(tenant): Auth,
    PathParam(raw): PathParam,
) -> Result<Json<wire::Segment>, ApiError> {
    let id = segment_id(&raw)?;
    let segment = state.store.delete_segment(&tenant, &id).await?;
    Ok(Json(with_count(&state, &tenant, segment).await?))
}

/// List a segment's contacts
///
/// The contacts matching the segment's filter now, with the list's `sort`, `limit`,
/// `offset`, `cursor` and `include_total`.
#[utoipa::path(
    get,
    path = "/v2/segment/{segment_id}/contacts",
    operation_id = "listSegmentContacts",
    tag = "segments",
    params(doc_types::SegmentIdPath, doc_types::ContactPagingQuery),
    responses(
        (status = 200, description = "A page of the segment's contacts", body = wire::List<wire::Contact>),
        (status = 400, response = doc_types::InvalidInput),
        (status = 404, response = doc_types::NotFound),
        doc_types::CommonErrors,
    ),
)]
pub async fn contacts(
    State(state): State<AppState>,
    Auth(tenant): Auth,
    PathParam(raw): PathParam,
    query: QueryParams,
) -> Result<Json<wire::List<wire::Contact>>, ApiError> {
    let id = segment_id(&raw)?;
    let segment = state.store.get_segment(&tenant, &id).await?;
    let query = ContactQuery::parse_paging(segment.contact_filter()?, query.pairs())?;
    let page = state.store.list_contacts(&tenant, &query).await?;
    Ok(Json(contact_list(&query, page)))
}
