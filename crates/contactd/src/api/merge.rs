//! Merging contacts: `POST /v2/contact/{ref}/merge`, `POST /v2/merge/{id}/undo` and
//! `GET /v2/contact/{ref}/merges` (contract §8; the rules are in `domain::contact_merge`).

use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;

use super::auth::Auth;
use super::contact::precondition;
use super::extract::{JsonBody, NoBody, PathParam};
use super::{doc_types, AppState};
use crate::domain::contact_merge::MergeRequest;
use crate::domain::ids::MergeId;
use crate::domain::input::truncate;
use crate::domain::refs::ContactRef;
use crate::domain::FieldError;
use crate::error::ApiError;
use contactd_wire as wire;

/// Merge a contact into another
///
/// Folds `source` into the contact of the path, which keeps its id and every field it
/// has; its empty fields take the source's, the source's phone and email become
/// identities where it has its own, identities are united, metadata merges with the
/// target winning, conversations and messages move over, `last_contacted` is the later
/// and `created_at` the earlier. The source is gone, but its id stays a ref to the
/// target. `dry_run` answers the same and changes nothing. `If-Match` applies to the
/// target.
#[utoipa::path(
    post,
    path = "/v2/contact/{ref}/merge",
    operation_id = "mergeContacts",
    tag = "contacts",
    params(doc_types::ContactRefPath, doc_types::IfMatch, doc_types::IdempotencyKey),
    request_body = wire::MergeRequest,
    responses(
        (status = 200, description = "The surviving contact and the merge", body = wire::MergeResult),
        (status = 400, response = doc_types::InvalidInput),
        (status = 404, response = doc_types::NotFound),
        (status = 409, response = doc_types::DuplicateContact),
        (status = 412, response = doc_types::PreconditionFailed),
        doc_types::BodyErrors,
        doc_types::CommonErrors,
    ),
)]
pub async fn merge(
    State(state): State<AppState>,
    Auth(tenant): Auth,
    PathParam(raw): PathParam,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Json<wire::MergeResult>, ApiError> {
    let target = ContactRef::parse(&raw)?;
    let request = MergeRequest::from_json(body)?;
    let precondition = precondition(&headers)?;
    let (contact, merge) = state
        .store
        .merge_contacts(&tenant, &target, request, precondition)
        .await?;
    Ok(Json(wire::MergeResult {
        contact: contact.into(),
        merge: merge.into(),
    }))
}

/// Undo a merge
///
/// Within 30 days of the merge: the source comes back as it was (same id, fields,
/// identities, its conversations with all their messages, also those added since) and
/// the target's fields as before the merge. `409` when an identifier of the two has since
/// gone to another contact, or the merge was undone already.
#[utoipa::path(
    post,
    path = "/v2/merge/{merge_id}/undo",
    operation_id = "undoMerge",
    tag = "contacts",
    params(doc_types::MergeIdPath, doc_types::IdempotencyKey),
    responses(
        (status = 200, description = "Both contacts as they are again", body = wire::UndoResult),
        (status = 400, response = doc_types::InvalidInput),
        (status = 404, response = doc_types::NotFound),
        (status = 409, response = doc_types::MergeConflict),
        doc_types::CommonErrors,
    ),
)]
pub async fn undo(
    State(state): State<AppState>,
    Auth(tenant): Auth,
    PathParam(raw): PathParam,
    _: NoBody,
) -> Result<Json<wire::UndoResult>, ApiError> {
    let id = MergeId::parse(&raw).ok_or_else(|| {
        ApiError::from(
            FieldError::new(
                "id",
                "Merge id must be mrg_ followed by lowercase letters and digits",
            )
            .received(truncate(&raw, 200)),
        )
    })?;
    let (target, source, merge) = state.store.undo_merge(&tenant, &id).await?;
    Ok(Json(wire::UndoResult {
        target: target.into(),
        source: source.into(),
        merge: merge.into(),
    }))
}

/// List a contact's merges
///
/// The merges the contact took part in, as the one kept or the one folded in, newest
/// first (at most 100).
#[utoipa::path(
    get,
    path = "/v2/contact/{ref}/merges",
    operation_id = "listContactMerges",
    tag = "contacts",
    params(doc_types::ContactRefPath),
    responses(
        (status = 200, description = "The merges", body = wire::MergeList),
        (status = 400, response = doc_types::InvalidInput),
        (status = 404, response = doc_types::NotFound),
        doc_types::CommonErrors,
    ),
)]
pub async fn list(
    State(state): State<AppState>,
    Auth(tenant): Auth,
    PathParam(raw): PathParam,
) -> Result<Json<wire::MergeList>, ApiError> {
    let contact = ContactRef::parse(&raw)?;
    let merges = state.store.list_merges(&tenant, &contact).await?;
    Ok(Json(wire::MergeList {
        data: merges.into_iter().map(Into::into).collect(),
    }))
}
