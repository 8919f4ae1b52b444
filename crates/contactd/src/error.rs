//! The one error type of the HTTP API and the one place that writes the error envelope:
//! `{"error": "...", "message": "...", "code": 400, "details": {...}}`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use crate::domain::FieldError;
use crate::store::{Entity, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{}", .0.message)]
    InvalidInput(FieldError),
    /// A request that is not a field-level mistake: malformed JSON, a body that is not an object.
    #[error("{0}")]
    InvalidBody(String),
    #[error("{0}")]
    Unauthorized(&'static str),
    #[error("{0}")]
    NotFound(String),
    #[error("Method not allowed")]
    MethodNotAllowed,
    #[error("{message}")]
    Duplicate {
        message: String,
        field: &'static str,
        existing_contact_id: String,
    },
    #[error("The identifiers sent belong to two different contacts")]
    IdentifierConflict {
        phone_contact_id: String,
        email_contact_id: String,
    },
    #[error("{0}")]
    IdempotencyConflict(&'static str),
    #[error("{0}")]
    MergeConflict(String),
    #[error("The contact has changed since the version named in If-Match")]
    PreconditionFailed { current_etag: String },
    #[error("The request body was not sent in time")]
    RequestTimeout,
    #[error("Request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("Too many requests")]
    RateLimited { retry_after_secs: u64 },
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error: {0:#}")]
    Internal(anyhow::Error),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::InvalidInput(_) | ApiError::InvalidBody(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Duplicate { .. }
            | ApiError::IdentifierConflict { .. }
            | ApiError::IdempotencyConflict(_)
            | ApiError::MergeConflict(_) => StatusCode::CONFLICT,
            ApiError::PreconditionFailed { .. } => StatusCode::PRECONDITION_FAILED,
            ApiError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            ApiError::InvalidInput(_) | ApiError::InvalidBody(_) => "invalid_input",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::NotFound(_) => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::Duplicate { .. } | ApiError::IdentifierConflict { .. } => "duplicate_contact",
            ApiError::IdempotencyConflict(_) => "idempotency_conflict",
            ApiError::MergeConflict(_) => "merge_conflict",
            ApiError::PreconditionFailed { .. } => "precondition_failed",
            ApiError::RequestTimeout => "request_timeout",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal(_) => "internal_error",
        }
    }

    fn message(&self) -> String {
        match self {
            // The cause of an internal error goes to the log, never to the client.
            ApiError::Internal(_) => "An internal error occurred".to_owned(),
            other => other.to_string(),
        }
    }

    fn details(&self) -> Map<String, Value> {
        let mut details = Map::new();
        match self {
            ApiError::InvalidInput(e) => {
                details.insert("field".into(), Value::from(e.field.clone()));
                if let Some(received) = &e.received {
                    details.insert("received".into(), received.clone());
                }
                if let Some(expected) = &e.expected {
                    details.insert("expected".into(), expected.clone());
                }
            }
            ApiError::Duplicate {
                field,
                existing_contact_id,
                ..
            } => {
                details.insert("field".into(), Value::from(*field));
                details.insert(
                    "existing_contact_id".into(),
                    Value::from(existing_contact_id.clone()),
                );
            }
            ApiError::IdentifierConflict {
                phone_contact_id,
                email_contact_id,
            } => {
                details.insert(
                    "existing_contact_id".into(),
                    Value::from(phone_contact_id.clone()),
                );
                details.insert(
                    "phone_contact_id".into(),
                    Value::from(phone_contact_id.clone()),
                );
                details.insert(
                    "email_contact_id".into(),
                    Value::from(email_contact_id.clone()),
                );
            }
            ApiError::PreconditionFailed { current_etag } => {
                details.insert("current_etag".into(), Value::from(current_etag.clone()));
            }
            ApiError::PayloadTooLarge { limit } => {
                details.insert("limit_bytes".into(), Value::from(*limit));
            }
            ApiError::RateLimited { retry_after_secs } => {
                details.insert("retry_after".into(), Value::from(*retry_after_secs));
            }
            _ => {}
        }
        details
    }

    pub fn not_found_route() -> ApiError {
        ApiError::NotFound("No such route".to_owned())
    }
}

impl From<FieldError> for ApiError {
    fn from(e: FieldError) -> Self {
        ApiError::InvalidInput(e)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Internal(e) => ApiError::Internal(anyhow::anyhow!("{e:#}")),
            other => ApiError::from(&other),
        }
    }
}

/// For an error that stays with its result (a batch item's, kept for a replay).
impl From<&StoreError> for ApiError {
    fn from(e: &StoreError) -> Self {
        match e {
            StoreError::NotFound(Entity::Contact) => ApiError::NotFound("Contact not found".into()),
            StoreError::NotFound(Entity::Conversation) => {
                ApiError::NotFound("Conversation not found".into())
            }
            StoreError::NotFound(Entity::Segment) => ApiError::NotFound("Segment not found".into()),
            StoreError::NotFound(Entity::Webhook) => ApiError::NotFound("Webhook not found".into()),
            StoreError::NotFound(Entity::Merge) => ApiError::NotFound("Merge not found".into()),
            StoreError::NotFound(Entity::Identity) => {
                ApiError::NotFound("The contact has no such identity".into())
            }
            StoreError::MergeConflict(message) => ApiError::MergeConflict(message.clone()),
            StoreError::NotFound(Entity::Delivery) => {
                ApiError::NotFound("Delivery not found".into())
            }
            StoreError::Duplicate {
                field,
                existing_contact_id,
            } => ApiError::Duplicate {
                message: match *field {
                    "email" => "A contact with this email already exists".into(),
                    "id" => "A contact with this id already exists".into(),
                    "identities" => "A contact with this identity already exists".into(),
                    _ => "A contact with this phone number already exists".into(),
                },
                field,
                existing_contact_id: existing_contact_id.as_str().to_owned(),
            },
            StoreError::IdentifierConflict {
                phone_contact_id,
                email_contact_id,
            } => ApiError::IdentifierConflict {
                phone_contact_id: phone_contact_id.as_str().to_owned(),
                email_contact_id: email_contact_id.as_str().to_owned(),
            },
            StoreError::PreconditionFailed { current_etag } => ApiError::PreconditionFailed {
                current_etag: current_etag.clone(),
            },
            StoreError::Invalid(field_error) => ApiError::InvalidInput(field_error.clone()),
            StoreError::Unavailable(_) => {
                ApiError::Unavailable("The database is unavailable; retry shortly".into())
            }
            StoreError::Busy(_) => ApiError::RateLimited {
                retry_after_secs: 1,
            },
            StoreError::Internal(e) => ApiError::Internal(anyhow::anyhow!("{e:#}")),
        }
    }
}

impl ApiError {
    /// The envelope: `{"error", "message", "code", "details"}`.
    pub fn envelope(&self) -> contactd_wire::ErrorBody {
        contactd_wire::ErrorBody {
            error: self.kind().to_owned(),
            message: self.message(),
            code: self.status().as_u16(),
            details: self.details(),
        }
    }

    /// The envelope as JSON.
    pub fn body(&self) -> Value {
        serde_json::to_value(self.envelope()).unwrap_or(Value::Null)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(e) = &self {
            tracing::error!(error = format!("{e:#}"), "internal error");
        }
        let mut response = (self.status(), axum::Json(self.envelope())).into_response();
        if let ApiError::RateLimited { retry_after_secs } = self {
            if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        response
    }
}
