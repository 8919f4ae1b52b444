//! Liveness and readiness, unauthenticated.

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use super::{doc_types, AppState};
use crate::error::ApiError;

/// The process is up.
#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "checkHealth",
    summary = "Liveness: the process is up",
    tag = "service",
    security(()),
    responses((status = 200, description = "`{\"status\": \"ok\"}`", body = doc_types::HealthStatus)),
)]
pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// The database answers.
#[utoipa::path(
    get,
    path = "/readyz",
    operation_id = "checkReadiness",
    summary = "Readiness: the database answers",
    tag = "service",
    security(()),
    responses(
        (status = 200, description = "`{\"status\": \"ready\"}`", body = doc_types::HealthStatus,
            example = json!({"status": "ready"})),
        (status = 503, response = doc_types::Unavailable),
    ),
)]
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    state.store.ping().await?;
    Ok(Json(json!({"status": "ready"})))
}
