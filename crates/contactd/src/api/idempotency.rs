//! `Idempotency-Key` on every POST: the first request with a key runs; a retry with the
//! same key and the same request gets the first answer again, without running twice.
//!
//! The key is claimed in the database before the handler runs, so concurrent requests
//! with one key (on any replica) queue behind the first and replay its answer. Answers
//! are kept 24 hours; 5xx and 429 answers are not kept, so that a retry runs again.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::auth::{authenticate, authenticated_tenant};
use super::contact::UPSERT_RESULT_HEADER;
use super::AppState;
use crate::domain::idempotency::{IdempotencyClaim, StoredResponse};
use crate::domain::tenant::Tenant;
use crate::domain::FieldError;
use crate::error::ApiError;

pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";
const REPLAYED_HEADER: &str = "idempotent-replayed";
const MAX_KEY_LEN: usize = 255;
/// How long a request waits for the first request with its key to finish.
const WAIT_FOR_FIRST: Duration = Duration::from_secs(10);
const POLL_EVERY: Duration = Duration::from_millis(20);
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
    let body = axum::body::to_bytes(body, state.body_limit)
        .await
        .map_err(|_| {
            ApiError::PayloadTooLarge {
                limit: state.body_limit,
            }
            .into_response()
        })?;
    let fingerprint = fingerprint(
        &parts.method,
        parts.uri.path_and_query().map_or("", |p| p.as_str()),
        &body,
    );

    claim(state, &tenant, &key, fingerprint).await?;
    let response = next.run(Request::from_parts(parts, Body::from(body))).await;
    Ok(remember(state, &tenant, &key, response).await)
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
/// request with the key.
async fn claim(
    state: &AppState,
    tenant: &Tenant,
    key: &str,
    fingerprint: [u8; 32],
) -> Result<(), Response> {
    let started = Instant::now();
    loop {
        let claim = state
            .store
            .claim_idempotency_key(tenant, key, fingerprint)
            .await
            .map_err(|e| ApiError::from(e).into_response())?;
        match claim {
            IdempotencyClaim::Claimed => return Ok(()),
            IdempotencyClaim::Replay(stored) => return Err(replay(stored)),
            IdempotencyClaim::Mismatch => {
                return Err(ApiError::IdempotencyConflict(
                    "This Idempotency-Key was already used for a different request",
                )
                .into_response())
            }
            IdempotencyClaim::InProgress if started.elapsed() < WAIT_FOR_FIRST => {
                tokio::time::sleep(POLL_EVERY).await;
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
    let headers = KEPT_HEADERS
        .iter()
        .filter_map(|name| {
            let value = parts.headers.get(*name)?.to_str().ok()?;
            Some(((*name).to_owned(), value.to_owned()))
        })
        .collect();
    let stored = StoredResponse {
        status: status.as_u16(),
        headers,
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
