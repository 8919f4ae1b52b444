//! `/v2/webhook`: endpoints that receive the events, signed; their deliveries.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::auth::Auth;
use super::extract::{JsonBody, NoBody, PathParam, QueryParams};
use super::{doc_types, AppState};
use crate::delivery;
use crate::domain::input::truncate;
use crate::domain::time::Timestamp;
use crate::domain::webhook::{NewWebhook, WebhookPatch};
use crate::domain::FieldError;
use crate::error::ApiError;
use contactd_wire as wire;

fn webhook_id(raw: &str) -> Result<String, ApiError> {
    let ok = raw.strip_prefix("wh_").is_some_and(|body| {
        (1..=64).contains(&body.len())
            && body
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
    });
    if ok {
        Ok(raw.to_owned())
    } else {
        Err(FieldError::new(
            "id",
            "Webhook id must be wh_ followed by lowercase letters and digits",
        )
        .received(truncate(raw, 200))
        .into())
    }
}

/// Create a webhook endpoint
///
/// The answer carries the signing `secret`, shown here and by rotate-secret only. The URL
/// must not resolve to a loopback, private, link-local or cloud metadata address (unless
/// the server runs with `--webhook-allow-private`). A workspace has at most 100 endpoints
/// in each mode; the 101st is `invalid_input` (field `webhooks`).
#[utoipa::path(
    post,
    path = "/v2/webhook",
    operation_id = "createWebhook",
    tag = "webhooks",
    params(doc_types::IdempotencyKey),
    request_body = wire::NewWebhook,
    responses(
        (status = 201, description = "The endpoint, with its secret", body = wire::Webhook),
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
    let new = NewWebhook::from_json(body)?;
    delivery::check_url(&new.url, state.allow_private).await?;
    let webhook = state
        .store
        .create_webhook(&tenant, new.into_webhook(Timestamp::now()))
        .await?;
    Ok((StatusCode::CREATED, Json(webhook.into_wire(true))).into_response())
}

/// List webhook endpoints
#[utoipa::path(
    get,
    path = "/v2/webhook",
    operation_id = "listWebhooks",
    tag = "webhooks",
    responses(
        (status = 200, description = "Every endpoint, oldest first", body = wire::WebhookList),
        doc_types::CommonErrors,
    ),
)]
pub async fn list(
    State(state): State<AppState>,
    Auth(tenant): Auth,
    query: QueryParams,
) -> Result<Json<wire::WebhookList>, ApiError> {
    query.only(&[])?;
    let webhooks = state.store.list_webhooks(&tenant).await?;
    Ok(Json(wire::WebhookList {
        data: webhooks.into_iter().map(|w| w.into_wire(false)).collect(),
    }))
}

/// Get a webhook endpoint
#[utoipa::path(
    get,
    path = "/v2/webhook/{webhook_id}",
    operation_id = "getWebhook",
    tag = "webhooks",
    params(doc_types::WebhookIdPath),
    responses(
        (status = 200, description = "The endpoint", body = wire::Webhook),
        (status = 400, response = doc_types::InvalidInput),
        (status = 404, response = doc_types::NotFound),
        doc_types::CommonErrors,
    ),
)]
pub async fn get(
    State(state): State<AppState>,
    Auth(tenant): Auth,
    PathParam(raw): PathParam,
) -> Result<Json<wire::Webhook>, ApiError> {
    let webhook = state.store.get_webhook(&tenant, &webhook_id(&raw)?).await?;
    Ok(Json(webhook.into_wire(false)))
}

/// Update a webhook endpoint
///
/// Only the fields sent change; `status` `enabled` turns on an endpoint that was disabled
/// (by hand or after 3 days of failures) and it catches up with the events since.
#[utoipa::path(
    put,
    path = "/v2/webhook/{webhook_id}",
    operation_id = "updateWebhook",
    tag = "webhooks",
    params(doc_types::WebhookIdPath),
    request_body = wire::WebhookUpdate,
    responses(
        (status = 200, description = "The endpoint", body = wire::Webhook),
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
) -> Result<Json<wire::Webhook>, ApiError> {
    let id = webhook_id(&raw)?;
    let patch = WebhookPatch::from_json(body)?;
    if let Some(url) = &patch.url {
        delivery::check_url(url, state.allow_private).await?;
    }
    let webhook = state
        .store
        .change_webhook(&tenant, &id, Box::new(move |current| patch.apply(current)))
        .await?;
    Ok(Json(webhook.into_wire(false)))
}

/// Delete a webhook endpoint
///
/// Its pending deliveries are dropped.
#[utoipa::path(
    delete,
    path = "/v2/webhook/{webhook_id}",
    operation_id = "deleteWebhook",
    tag = "webhooks",
    params(doc_types::WebhookIdPath),
    responses(
        (status = 200, description = "The endpoint as it was", body = wire::Webhook),
        (status = 400, response = doc_types::InvalidInput),
        (status = 404, response = doc_types::NotFound),
        doc_types::CommonErrors,
    ),
)]
pub async fn delete(
    State(state): State<AppState>,
    Auth(tenant): Auth,
    PathParam(raw): PathParam,
) -> Result<Json<wire::Webhook>, ApiError> {
    let webhook = state
        .store
        .delete_webhook(&tenant, &webhook_id(&raw)?)
        .await?;
    Ok(Json(webhook.into_wire(false)))
}

/// Rotate a webhook endpoint's secret
///
/// Answers the new `secret`; the old one keeps signing beside it for 24 hours (both
/// signatures are sent, space-separated), so receivers can switch without losing events.
#[utoipa::path(
    post,
    path = "/v2/webhook/{webhook_id}/rotate-secret",
    operation_id = "rotateWebhookSecret",
    tag = "webhooks",
    params(doc_types::WebhookIdPath, doc_types::IdempotencyKey),
    responses(
        (status = 200, description = "The endpoint, with its new secret", body = wire::Webhook),
        (status = 400, response = doc_types::InvalidInput),
        (status = 404, response = doc_types::NotFound),
        doc_types::CommonErrors,
    ),
)]
pub async fn rotate_secret(
    State(state): State<AppState>,
    Auth(tenant): Auth,
    PathParam(raw): PathParam,
    _: NoBody,
) -> Result<Json<wire::Webhook>, ApiError> {
    let webhook = state
        .store
        .change_webhook(
            &tenant,
            &webhook_id(&raw)?,
            Box::new(|current| current.rotated(Timestamp::now())),
        )
        .await?;
    Ok(Json(webhook.into_wire(true)))
}

/// List a webhook endpoint's deliveries
///
/// Newest first: the event, the attempts made, the last answer or error, its latency and
/// the next retry. Page with `cursor` (the `next_cursor` of the previous page).
#[utoipa::path(
    get,
    path = "/v2/webhook/{webhook_id}/deliveries",
    operation_id = "listWebhookDeliveries",
    tag = "webhooks",
    params(doc_types::WebhookIdPath, doc_types::DeliveryQuery),
    responses(
        (status = 200, description = "A page of deliveries, newest first", body = wire::DeliveryList),
        (status = 400, response = doc_types::InvalidInput),
        (status = 404, response = doc_types::NotFound),
        doc_types::CommonErrors,
    ),
)]
pub async fn deliveries(
    State(state): State<AppState>,
    Auth(tenant): Auth,
    PathParam(raw): PathParam,
    query: QueryParams,
) -> Result<Json<wire::DeliveryList>, ApiError> {
    let id = webhook_id(&raw)?;
    let query = query.only(&["limit", "cursor"])?;
    let limit = match query.get("limit") {
        None => 20,
        Some(raw) => raw
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=100).contains(n))
            .ok_or_else(|| {
                FieldError::new("limit", "limit must be an integer from 1 to 100")
                    .received(truncate(raw, 100))
                    .expected("an integer from 1 to 100")
            })?,
    };
    let cursor = query.get("cursor").filter(|c| !c.is_empty());
    if let Some(c) = cursor {
        if !c.starts_with("dlv_") || c.len() > 80 {
            return Err(
                FieldError::new("cursor", "cursor must be a next_cursor of this list")
                    .received(truncate(c, 100))
                    .into(),
            );
        }
    }
    let (deliveries, has_more) = state
        .store
        .list_deliveries(&tenant, &id, cursor, limit)
        .await?;
    let next_cursor = has_more
        .then(|| deliveries.last().map(|d| d.id.clone()))
        .flatten();
    Ok(Json(wire::DeliveryList {
        data: deliveries.into_iter().map(|d| d.into_wire()).collect(),
        has_more,
        next_cursor,
    }))
}

/// Retry a delivery
///
/// Makes the delivery due now, whatever its state (a failed one gets a new schedule).
#[utoipa::path(
    post,
    path = "/v2/webhook/{webhook_id}/deliveries/{delivery_id}/retry",
    operation_id = "retryWebhookDelivery",
    tag = "webhooks",
    params(doc_types::WebhookIdPath, doc_types::DeliveryIdPath, doc_types::IdempotencyKey),
    responses(
        (status = 200, description = "The delivery, due now", body = wire::Delivery),
        (status = 400, response = doc_types::InvalidInput),
        (status = 404, response = doc_types::NotFound),
        doc_types::CommonErrors,
    ),
)]
pub async fn retry(
    State(state): State<AppState>,
    Auth(tenant): Auth,
    Path((webhook, delivery)): Path<(String, String)>,
    _: NoBody,
) -> Result<Json<wire::Delivery>, ApiError> {
    let id = webhook_id(&webhook)?;
    if !delivery.starts_with("dlv_") || delivery.len() > 80 {
        return Err(FieldError::new(
            "delivery_id",
            "Delivery id must be dlv_ followed by lowercase letters and digits",
        )
        .received(truncate(&delivery, 200))
        .into());
    }
    let retried = state.store.retry_delivery(&tenant, &id, &delivery).await?;
    state.events.notify_waiters();
    Ok(Json(retried.into_wire()))
}
