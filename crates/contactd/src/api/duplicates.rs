//! Duplicate suggestions: `GET /v2/contact/{ref}/duplicates` and `GET /v2/duplicates`
//! (contract §8; kept on write, see `domain::duplicates`).

use axum::extract::State;
use axum::Json;

use super::auth::Auth;
use super::extract::{PathParam, QueryParams};
use super::{doc_types, AppState};
use crate::domain::duplicates::PairPage;
use crate::domain::refs::ContactRef;
use crate::error::ApiError;
use contactd_wire as wire;

/// List a contact's duplicates
///
/// The contacts that look like the same person, best first, with a score (0 to 1) and
/// the reasons: `email_normalized`, `identity_overlap`, `name_and_email_domain`,
/// `name_similar`.
#[utoipa::path(
    get,
    path = "/v2/contact/{ref}/duplicates",
    operation_id = "listContactDuplicates",
    tag = "contacts",
    params(doc_types::ContactRefPath),
    responses(
        (status = 200, description = "The suggestions", body = wire::DuplicateCandidateList),
        (status = 400, response = doc_types::InvalidInput),
        (status = 404, response = doc_types::NotFound),
        doc_types::CommonErrors,
    ),
)]
pub async fn of_contact(
    State(state): State<AppState>,
    Auth(tenant): Auth,
    PathParam(raw): PathParam,
) -> Result<Json<wire::DuplicateCandidateList>, ApiError> {
    let contact = ContactRef::parse(&raw)?;
    let found = state.store.duplicates_of(&tenant, &contact).await?;
    let data = found
        .into_iter()
        .map(|(contact, pair)| wire::DuplicateCandidate {
            contact: contact.into(),
            score: pair.score,
            reasons: pair.to_wire().reasons,
        })
        .collect();
    Ok(Json(wire::DuplicateCandidateList { data }))
}

/// List duplicate pairs
///
/// Every pair of contacts of the workspace that look like one person, in the order of
/// their ids, a page at a time: pass `next_cursor` as `cursor` for the next.
#[utoipa::path(
    get,
    path = "/v2/duplicates",
    operation_id = "listDuplicates",
    tag = "contacts",
    params(
        ("limit" = Option<u32>, Query, description = "1 to 100; 20 unless sent", minimum = 1, maximum = 100),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the page before"),
    ),
    responses(
        (status = 200, description = "A page of pairs", body = wire::DuplicatePairList),
        (status = 400, response = doc_types::InvalidInput),
        doc_types::CommonErrors,
    ),
)]
pub async fn list(
    State(state): State<AppState>,
    Auth(tenant): Auth,
    query: QueryParams,
) -> Result<Json<wire::DuplicatePairList>, ApiError> {
    let query = query.only(&["limit", "cursor"])?;
    let page = PairPage::parse(query.get("limit"), query.get("cursor"))?;
    let mut pairs = state
        .store
        .list_duplicates(&tenant, page.after, page.limit)
        .await?;
    let has_more = pairs.len() > page.limit as usize;
    pairs.truncate(page.limit as usize);
    let next_cursor = pairs
        .last()
        .filter(|_| has_more)
        .map(PairPage::cursor_after);
    Ok(Json(wire::DuplicatePairList {
        data: pairs.iter().map(|p| p.to_wire()).collect(),
        limit: page.limit,
        has_more,
        next_cursor,
    }))
}
