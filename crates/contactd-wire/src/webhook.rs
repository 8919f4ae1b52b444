//! The change feed (`/v2/events`) and webhook endpoints (`/v2/webhook`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::contact::Patch;
use crate::de::not_null;

/// A change, as the feed serves it and webhooks deliver it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Event {
    /// `evt_` and lowercase letters and digits; the `webhook-id` of its deliveries.
    #[cfg_attr(
        feature = "openapi",
        schema(example = "evt_038ggac0fy000a0wp1kh1adwpwetq")
    )]
    pub id: String,
    /// `contact.created`, `contact.updated`, `contact.deleted`, `contact.merged`,
    /// `conversation.created`, `conversation.updated` or `message.created`.
    #[serde(rename = "type")]
    #[cfg_attr(feature = "openapi", schema(example = "contact.updated"))]
    pub kind: String,
    /// The event's place in its workspace and mode: grows by commit order.
    #[cfg_attr(feature = "openapi", schema(example = 1042))]
    pub sequence: i64,
    /// When the change was made.
    #[cfg_attr(feature = "openapi", schema(format = DateTime, example = "2026-01-25T10:30:00.000000Z"))]
    pub created_at: String,
    /// `object` (the contact, conversation or message after the change; ids only once its
    /// contact is erased), and for updates `changed_fields` and `previous`.
    #[cfg_attr(feature = "openapi", schema(value_type = Object, example = json!({
        "object": {"id": "cnt_038ggac0fy000a0wp1kh1adwpwetq", "last_name": "Roe"},
        "changed_fields": ["last_name", "metadata.plan"],
        "previous": {"last_name": "Doe", "metadata": {"plan": "basic"}}})))]
    pub data: Value,
}

/// A page of the feed, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventList {
    /// The events after the cursor, oldest first.
    pub data: Vec<Event>,
    /// The `after` of the next request; never null, also when no event came.
    pub next_cursor: String,
    /// Whether more events follow right away.
    pub has_more: bool,
}

/// A webhook endpoint. Its secret is shown when it is created and when it is rotated only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Webhook {
    /// `wh_` and lowercase letters and digits.
    #[cfg_attr(
        feature = "openapi",
        schema(example = "wh_038ggac0fy000a0wp1kh1adwpwetq")
    )]
    pub id: String,
    /// Where events are POSTed (`http` or `https`).
    #[cfg_attr(
        feature = "openapi",
        schema(example = "https://crm.example.com/hooks/contactd")
    )]
    pub url: String,
    /// The event types delivered; null for all.
    #[cfg_attr(feature = "openapi", schema(required = true, example = json!(["contact.created", "contact.deleted"])))]
    pub event_types: Option<Vec<String>>,
    /// What the endpoint is for.
    #[cfg_attr(feature = "openapi", schema(required = true, example = "CRM sync"))]
    pub description: Option<String>,
    /// `enabled` or `disabled`.
    #[cfg_attr(feature = "openapi", schema(example = "enabled"))]
    pub status: String,
    /// Why contactd disabled the endpoint (after 3 days of failures); null otherwise.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub disabled_reason: Option<String>,
    /// `whsec_` and the base64 key: only in the answers of create and rotate-secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    )]
    pub secret: Option<String>,
    /// When it was created.
    #[cfg_attr(feature = "openapi", schema(format = DateTime, example = "2026-01-25T10:30:00.000000Z"))]
    pub created_at: String,
    /// When it last changed.
    #[cfg_attr(feature = "openapi", schema(format = DateTime, example = "2026-01-25T10:30:00.000000Z"))]
    pub updated_at: String,
}

/// `POST /v2/webhook`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = WebhookCreate, example = json!({
    "url": "https://crm.example.com/hooks/contactd",
    "event_types": ["contact.created", "contact.deleted"], "description": "CRM sync"})))]
pub struct NewWebhook {
    /// `http` or `https`; must not resolve to a loopback, private, link-local or cloud
    /// metadata address.
    pub url: String,
    /// The event types to deliver; left out or null for all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_types: Option<Vec<String>>,
    /// What the endpoint is for (at most 255 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// `PUT /v2/webhook/{id}`: only the fields sent change.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"status": "disabled"})))]
pub struct WebhookUpdate {
    /// A new URL, checked as on create.
    #[serde(
        default,
        deserialize_with = "not_null",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub url: Option<String>,
    /// New event types; `null` for all types, including any added later (an empty list
    /// is not accepted).
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<String>>, example = json!(["contact.created", "contact.deleted"])))]
    pub event_types: Patch<Vec<String>>,
    /// A new description; `null` removes it.
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, max_length = 255))]
    pub description: Patch<String>,
    /// `enabled` or `disabled`; enabling clears `disabled_reason`.
    #[serde(
        default,
        deserialize_with = "not_null",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(nullable = false, example = "disabled"))]
    pub status: Option<String>,
}

/// The endpoints of a workspace and mode, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookList {
    /// Every endpoint.
    pub data: Vec<Webhook>,
}

/// One event on its way to one endpoint, with its last attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Delivery {
    /// `dlv_` and lowercase letters and digits.
    #[cfg_attr(
        feature = "openapi",
        schema(example = "dlv_038ggac0fy000a0wp1kh1adwpwetq")
    )]
    pub id: String,
    /// The event delivered.
    pub event_id: String,
    /// Its type.
    pub event_type: String,
    /// Its sequence.
    pub sequence: i64,
    /// `pending` (waiting for its next attempt), `succeeded` or `failed` (retries ran out).
    #[cfg_attr(feature = "openapi", schema(example = "succeeded"))]
    pub state: String,
    /// Attempts made so far.
    pub attempt: u32,
    /// When the last attempt was made; null before the first.
    #[cfg_attr(feature = "openapi", schema(required = true, format = DateTime))]
    pub attempted_at: Option<String>,
    /// The HTTP status the endpoint answered; null when it did not answer.
    #[cfg_attr(feature = "openapi", schema(required = true, example = 200))]
    pub response_status: Option<u16>,
    /// Why the last attempt failed, when it did.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub error: Option<String>,
    /// The first 1 KB of the endpoint's answer.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub response_body: Option<String>,
    /// How long the last attempt took, in milliseconds.
    #[cfg_attr(feature = "openapi", schema(required = true, example = 42))]
    pub latency_ms: Option<u64>,
    /// When the next attempt is due; null when none is.
    #[cfg_attr(feature = "openapi", schema(required = true, format = DateTime))]
    pub next_attempt_at: Option<String>,
    /// When the delivery was queued.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub created_at: String,
}

/// A page of an endpoint's deliveries, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryList {
    /// The deliveries, newest first.
    pub data: Vec<Delivery>,
    /// Whether older deliveries follow.
    pub has_more: bool,
    /// The `cursor` of the next page; null on the last page.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub next_cursor: Option<String>,
}
