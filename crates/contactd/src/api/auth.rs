//! API key authentication: the tenant of every request comes from its key, and only there.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::HeaderMap;

use super::AppState;
use crate::domain::api_key;
use crate::domain::tenant::Tenant;
use crate::error::ApiError;

pub const API_KEY_HEADER: &str = "x-api-key";

/// The tenant (workspace and mode) of an authenticated request.
pub struct Auth(pub Tenant);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        authenticate(state, &parts.headers).await.map(Auth)
    }
}

/// The tenant of the key in `X-API-Key`, or `unauthorized`.
pub async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Tenant, ApiError> {
    let presented = headers
        .get(API_KEY_HEADER)
        .ok_or(ApiError::Unauthorized(
            "Missing API key: send it in the X-API-Key header",
        ))?
        .to_str()
        .map_err(|_| ApiError::Unauthorized("Invalid API key"))?
        .trim();
    if api_key::claimed_mode(presented).is_none() {
        return Err(ApiError::Unauthorized("Invalid API key"));
    }
    let hash = api_key::hash(presented);
    let tenant = state
        .store
        .tenant_for_key(hash)
        .await?
        .ok_or(ApiError::Unauthorized("Invalid or revoked API key"))?;
    state.note_key_use(hash);
    Ok(tenant)
}
