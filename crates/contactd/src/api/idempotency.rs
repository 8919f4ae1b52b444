//! `Idempotency-Key` on every POST: the first request with a key runs; a retry with the
//! same key and the same request gets the first answer again, without running twice.
//!
//! The key is claimed in the database before the handler runs, so concurrent requests
//! with one key (on any replica) queue behind the first and replay its answer. Answers
//! are kept 24 hours; 5xx and 429 answers are not kept, so that a retry runs again.

use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::auth::{authenticate, authenticated_tenant};
use super::contact::UPSERT_RESULT_HEADER;
use super::extract::read_body_of;
use super::AppState;
use crate::domain::idempotency::{IdempotencyClaim, StoredResponse, RETENTION_MICROS};
use crate::domain::tenant::Tenant;
use crate::domain::time::Timestamp;
use crate::domain::FieldError;
use crate::error::ApiError;
use crate::store::answer::{self, PendingAnswer};
use crate::store::Store;

pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";
const REPLAYED_HEADER: &str = "idempotent-replayed";
const MAX_KEY_LEN: usize = 255;
/// How long a request waits for the first request with its key to finish.
const WAIT_FOR_FIRST: Duration = Duration::from_secs(10);
/// How often a waiting request looks again: soon at first, then less often.
const FIRST_POLL: Duration = Duration::from_millis(10);
const LAST_POLL: Duration = Duration::from_millis(100);
const PRUNE_EVERY: Duration = Duration::from_secs(60 * 60);
/// Headers of an answer that are part of what a replay must repeat.
const KEPT_HEADERS: [&str; 3] = ["content-type", "etag", UPSERT_RESULT_HEADER];

pub async fn idempotency(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST || !req.headers().contains_key(IDEMPOTENCY_KEY_HEADER) {
        return next.run(req).await;
    }
    match run_once(&state, req, next).await {
        Ok(response) | Err(response) => response,
    }
}

async fn run_once(state: &AppState, req: Request, next: Next) -> Result<Response, Response> {
    let key = idempotency_key(req.headers()).map_err(IntoResponse::into_response)?;
    let tenant = match authenticated_tenant(req.extensions()) {
        Some(tenant) => tenant,
        None => {
            authenticate(state, req.headers())
                .await
                .map_err(IntoResponse::into_response)?
                .0
        }
    };
    let (parts, body) = req.into_parts();
    let body = read_body_of(&parts.headers, body, state.body_limit, state.body_timeout)
        .await
        .map_err(IntoResponse::into_response)?;
    let fingerprint = fingerprint(
        &parts.method,
        parts.uri.path_and_query().map_or("", |p| p.as_str()),
        &body,
    );

    claim(state, &tenant, &key, fingerprint).await?;
    let pending = PendingAnswer::new(tenant.clone(), key.clone());
    let request = Request::from_parts(parts, Body::from(body));
    let response = answer::scope(pending.clone(), next.run(request)).await;
    if pending.kept() {
        // Stored with the write, in its transaction.
        return Ok(response);
    }
    Ok(remember(state, &tenant, &key, response).await)
}

/// Says how the result of the handler's write (a `T`) becomes its answer, so that the
/// answer of a request with an `Idempotency-Key` is kept in the write's own transaction
/// (see `store::answer`). The handler answers with the same function.
pub fn answer_as<T: 'static>(render: impl Fn(&T) -> Response + Send + Sync + 'static) {
    answer::answer_with(move |result: &T| stored_now(render(result)));
}

/// The parts of an answer a replay repeats, when its body is already in memory (JSON
/// answers are); `None` for a streamed body.
fn stored_now(response: Response) -> Option<StoredResponse> {
    let (parts, body) = response.into_parts();
    let mut collect = std::pin::pin!(axum::body::to_bytes(body, usize::MAX));
    let mut context = Context::from_waker(Waker::noop());
    let Poll::Ready(Ok(body)) = collect.as_mut().poll(&mut context) else {
        return None;
    };
    Some(StoredResponse {
        status: parts.status.as_u16(),
        headers: kept_headers(&parts.headers),
        body: body.to_vec(),
    })
}

fn kept_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    KEPT_HEADERS
        .iter()
        .filter_map(|name| {
            let value = headers.get(*name)?.to_str().ok()?;
            Some(((*name).to_owned(), value.to_owned()))
        })
        .collect()
}

fn idempotency_key(headers: &HeaderMap) -> Result<String, ApiError> {
    let invalid = || {
        ApiError::InvalidInput(
            FieldError::new(
                "Idempotency-Key",
                format!("Idempotency-Key must be 1 to {MAX_KEY_LEN} visible ASCII characters"),
            )
            .expected("e.g. a UUID"),
        )
    };
    let key = headers
        .get(IDEMPOTENCY_KEY_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(invalid)?;
    let valid =
        !key.is_empty() && key.len() <= MAX_KEY_LEN && key.bytes().all(|b| b.is_ascii_graphic());
    valid.then(|| key.to_owned()).ok_or_else(invalid)
}

fn fingerprint(method: &Method, path_and_query: &str, body: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(method.as_str().as_bytes());
    hasher.update(b" ");
    hasher.update(path_and_query.as_bytes());
    hasher.update(b"\n");
    hasher.update(body);
    hasher.finalize().into()
}

/// Claims the key, or answers for it: a replay, a conflict, or a wait for the first
/// request with the key. The wait only reads: it claims again only once the first
/// request gave the key up (or died), so a waiting request adds no writes.
async fn claim(
    state: &AppState,
    tenant: &Tenant,
    key: &str,
    fingerprint: [u8; 32],
) -> Result<(), Response> {
    let started = Instant::now();
    let mut poll = FIRST_POLL;
    state.metrics.count_idempotency_claim();
    let mut claim = state
        .store
        .claim_idempotency_key(tenant, key, fingerprint)
        .await;
    loop {
        match claim.map_err(|e| ApiError::from(e).into_response())? {
            IdempotencyClaim::Claimed => return Ok(()),
            IdempotencyClaim::Replay(stored) => return Err(replay(stored)),
            IdempotencyClaim::Mismatch => {
                return Err(ApiError::IdempotencyConflict(
                    "This Idempotency-Key was already used for a different request",
                )
                .into_response())
            }
            IdempotencyClaim::InProgress if started.elapsed() < WAIT_FOR_FIRST => {
                tokio::time::sleep(poll).await;
                poll = (poll * 2).min(LAST_POLL);
                claim = match state
                    .store
                    .peek_idempotency_key(tenant, key, fingerprint)
                    .await
                {
                    Ok(IdempotencyClaim::Claimed) => {
                        state.metrics.count_idempotency_claim();
                        state
                            .store
                            .claim_idempotency_key(tenant, key, fingerprint)
                            .await
                    }
                    other => other,
                };
            }
            IdempotencyClaim::InProgress => {
                return Err(ApiError::IdempotencyConflict(
                    "A request with this Idempotency-Key is still in progress; retry later",
                )
                .into_response())
            }
        }
    }
}

fn replay(stored: StoredResponse) -> Response {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let mut response = (status, stored.body).into_response();
    let headers = response.headers_mut();
    for (name, value) in stored.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            headers.insert(name, value);
        }
    }
    headers.insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
    response
}

/// Keeps the answer for replays (or gives the key up for answers a retry should not see
/// again) and returns it.
async fn remember(state: &AppState, tenant: &Tenant, key: &str, response: Response) -> Response {
    let status = response.status();
    if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
        if let Err(e) = state.store.release_idempotency_key(tenant, key).await {
            tracing::warn!(error = %e, "could not release an idempotency key");
        }
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(body) = axum::body::to_bytes(body, usize::MAX).await else {
        let _ = state.store.release_idempotency_key(tenant, key).await;
        return ApiError::Internal(anyhow::anyhow!("unreadable response body")).into_response();
    };
    let stored = StoredResponse {
        status: status.as_u16(),
        headers: kept_headers(&parts.headers),
        body: body.to_vec(),
    };
    if let Err(e) = state
        .store
        .complete_idempotency_key(tenant, key, stored)
        .await
    {
        tracing::warn!(error = %e, "could not keep an idempotent answer");
        let _ = state.store.release_idempotency_key(tenant, key).await;
    }
    Response::from_parts(parts, Body::from(body))
}

/// Deletes the keys whose answers are past their retention, at start and then hourly, for
/// as long as the server runs.
pub async fn prune_idempotency_keys(store: Arc<dyn Store>) {
    loop {
        let before = Timestamp::from_micros(Timestamp::now().as_micros() - RETENTION_MICROS);
        match store.prune_idempotency_keys(before).await {
            Ok(0) => {}
            Ok(pruned) => tracing::info!(pruned, "pruned expired idempotency keys"),
            Err(e) => tracing::warn!(error = %e, "could not prune expired idempotency keys"),
        }
        tokio::time::sleep(PRUNE_EVERY).await;
    }
}
