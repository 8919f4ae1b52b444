//! The error envelope: `{"error", "message", "code", "details"}`.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// The error envelope: every failure answers with it, and a failed batch item holds one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = Error, example = json!({
    "error": "invalid_input",
    "message": "Phone number must be in E.164 format",
    "code": 400,
    "details": {"field": "phone", "received": "1234567890", "expected": "+1234567890"}
})))]
pub struct ErrorBody {
    /// The error's name, e.g. `invalid_input`, `duplicate_contact`.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::ErrorCode))]
    pub error: String,
    /// A sentence safe to show to people; never internals.
    pub message: String,
    /// The HTTP status, as a number.
    #[cfg_attr(feature = "openapi", schema(minimum = 400, maximum = 599))]
    pub code: u16,
    /// What there is to add about the error (`field`, `received`, `expected`,
    /// `existing_contact_id`, …); `{}` when nothing.
    #[serde(default, deserialize_with = "null_as_empty")]
    #[cfg_attr(feature = "openapi", schema(value_type = ErrorDetails, required = true))]
    pub details: Map<String, Value>,
}

fn null_as_empty<'de, D: Deserializer<'de>>(d: D) -> Result<Map<String, Value>, D::Error> {
    Ok(Option::<Map<String, Value>>::deserialize(d)?.unwrap_or_default())
}

/// The members `details` can have; which ones depends on `error`.
#[cfg(feature = "openapi")]
#[derive(utoipa::ToSchema)]
pub struct ErrorDetails {
    /// `invalid_input`: the field (dotted for nested, e.g. `metadata`, `ref`, a query
    /// parameter, `contacts[3]`); `duplicate_contact`: `phone` or `email` (`id` for a
    /// restore).
    #[schema(nullable = false)]
    pub field: Option<String>,
    /// `invalid_input`: the value received, shortened when long.
    #[schema(value_type = Option<Value>, nullable = false)]
    pub received: Option<Value>,
    /// `invalid_input`: what would have been accepted, a corrected value (the E.164 form
    /// of a phone) or a description.
    #[schema(value_type = Option<Value>, nullable = false)]
    pub expected: Option<Value>,
    /// `duplicate_contact`: the contact that holds the phone or email.
    #[schema(nullable = false, pattern = "^cnt_[0-9a-z]+$")]
    pub existing_contact_id: Option<String>,
    /// `duplicate_contact` of an upsert: the contact the phone belongs to.
    #[schema(nullable = false, pattern = "^cnt_[0-9a-z]+$")]
    pub phone_contact_id: Option<String>,
    /// `duplicate_contact` of an upsert: the contact the email belongs to.
    #[schema(nullable = false, pattern = "^cnt_[0-9a-z]+$")]
    pub email_contact_id: Option<String>,
    /// `precondition_failed`: the contact's current `ETag`.
    #[schema(nullable = false)]
    pub current_etag: Option<String>,
    /// `payload_too_large`: the body limit in bytes.
    #[schema(nullable = false)]
    pub limit_bytes: Option<u64>,
    /// `rate_limited`: seconds to wait, as in `Retry-After`.
    #[schema(nullable = false)]
    pub retry_after: Option<u64>,
}
