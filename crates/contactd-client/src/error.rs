//! Errors: one variant per error of contactd's envelope
//! (`{"error", "message", "code", "details"}`), plus what can go wrong on the way.

use std::time::Duration;

use serde_json::{Map, Value};

/// The result of every client call.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The error envelope exactly as contactd sends it (`contactd_wire::ErrorBody`).
///
/// Batch results carry one per failed item ([`crate::BatchOutcome::Failed`]);
/// `Error::from(envelope)` turns it into the typed [`Error`].
pub use contactd_wire::ErrorBody as ApiError;

fn take_text(details: &mut Map<String, Value>, key: &str) -> Option<String> {
    match details.remove(key) {
        Some(Value::String(s)) => Some(s),
        _ => None,
    }
}

impl From<ApiError> for Error {
    /// The typed error this envelope stands for.
    fn from(envelope: ApiError) -> Error {
        into_error_with(envelope, None)
    }
}

/// The typed error an envelope stands for; `retry_after` is the `Retry-After` header
/// when there was one.
pub(crate) fn into_error_with(envelope: ApiError, retry_after: Option<Duration>) -> Error {
    {
        let ApiError {
            error,
            message,
            code,
            mut details,
        } = envelope;
        let retry_after = retry_after.or_else(|| {
            details
                .get("retry_after")
                .and_then(Value::as_u64)
                .map(Duration::from_secs)
        });
        match (error.as_str(), code) {
            ("not_found", _) | (_, 404) => Error::NotFound { message },
            ("duplicate_contact", _) => Error::Duplicate {
                field: take_text(&mut details, "field"),
                existing_contact_id: take_text(&mut details, "existing_contact_id")
                    .unwrap_or_default(),
                phone_contact_id: take_text(&mut details, "phone_contact_id"),
                email_contact_id: take_text(&mut details, "email_contact_id"),
                message,
            },
            ("invalid_input", _) | (_, 400) => Error::InvalidInput {
                field: take_text(&mut details, "field"),
                received: details.remove("received"),
                expected: details.remove("expected"),
                message,
            },
            ("unauthorized", _) | (_, 401) => Error::Unauthorized { message },
            ("rate_limited", _) | (_, 429) => Error::RateLimited {
                retry_after,
                message,
            },
            ("precondition_failed", _) | (_, 412) => Error::PreconditionFailed {
                current_etag: take_text(&mut details, "current_etag"),
                message,
            },
            ("idempotency_conflict", _) => Error::IdempotencyConflict { message },
            ("payload_too_large", _) | (_, 413) => Error::PayloadTooLarge {
                limit_bytes: details.get("limit_bytes").and_then(Value::as_u64),
                message,
            },
            ("unavailable", _) | (_, 503) => Error::Unavailable {
                retry_after,
                message,
            },
            _ => Error::Server {
                status: code,
                code: error,
                message,
            },
        }
    }
}

/// The envelope a response without one stands for: its status and the start of its body.
pub(crate) fn envelope_of_status(status: u16, body: &[u8]) -> ApiError {
    {
        let text = String::from_utf8_lossy(body);
        let text = text.trim();
        let message = if text.is_empty() {
            format!("HTTP status {status}")
        } else {
            text.chars().take(200).collect()
        };
        ApiError {
            error: "http_error".to_owned(),
            message,
            code: status,
            details: Map::new(),
        }
    }
}

/// Everything a call can fail with.
///
/// The API's errors have one variant each, with the envelope's `details` as fields; match
/// on them the way the API documents them:
///
/// ```no_run
/// # async fn f(client: contactd_client::Client) -> contactd_client::Result<()> {
/// use contactd_client::{Error, NewContact};
/// match client.contacts().create(&NewContact::with_phone("+14155550123")).await {
///     Ok(contact) => println!("created {}", contact.id),
///     Err(Error::Duplicate { existing_contact_id, .. }) => println!("exists: {existing_contact_id}"),
///     Err(e) => return Err(e),
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `404 not_found`: no such contact, conversation or segment in this workspace.
    #[error("not found: {message}")]
    NotFound {
        /// The server's message.
        message: String,
    },

    /// `409 duplicate_contact`: the phone or email belongs to another contact.
    #[error("duplicate contact {existing_contact_id}: {message}")]
    Duplicate {
        /// The field that collided: `phone` or `email` (absent on an upsert conflict).
        field: Option<String>,
        /// The contact that holds the phone or email (the phone's, on an upsert conflict).
        existing_contact_id: String,
        /// On an upsert whose phone and email name two contacts: the phone's contact.
        phone_contact_id: Option<String>,
        /// On an upsert whose phone and email name two contacts: the email's contact.
        email_contact_id: Option<String>,
        /// The server's message.
        message: String,
    },

    /// `400 invalid_input`: validation failed.
    #[error("invalid input{}: {message}", field.as_deref().map(|f| format!(" ({f})")).unwrap_or_default())]
    InvalidInput {
        /// The field, dotted when nested (`metadata`, `ref`, a query parameter); absent for
        /// a body that is not JSON.
        field: Option<String>,
        /// The value received, when the server echoes it.
        received: Option<Value>,
        /// What would have been accepted, e.g. the E.164 form of a phone.
        expected: Option<Value>,
        /// The server's message.
        message: String,
    },

    /// `401 unauthorized`: the API key is missing, unknown or revoked.
    #[error("unauthorized: {message}")]
    Unauthorized {
        /// The server's message.
        message: String,
    },

    /// `429 rate_limited`, after the retries ran out.
    #[error("rate limited: {message}")]
    RateLimited {
        /// How long the server asked to wait (`Retry-After`).
        retry_after: Option<Duration>,
        /// The server's message.
        message: String,
    },

    /// `412 precondition_failed`: the contact changed since the ETag given to `If-Match`.
    #[error("precondition failed: {message}")]
    PreconditionFailed {
        /// The contact's current ETag.
        current_etag: Option<String>,
        /// The server's message.
        message: String,
    },

    /// `409 idempotency_conflict`: the `Idempotency-Key` was used for another request.
    #[error("idempotency conflict: {message}")]
    IdempotencyConflict {
        /// The server's message.
        message: String,
    },

    /// `413 payload_too_large`: the body is over the server's limit.
    #[error("payload too large: {message}")]
    PayloadTooLarge {
        /// The server's limit in bytes.
        limit_bytes: Option<u64>,
        /// The server's message.
        message: String,
    },

    /// `503 unavailable`, after the retries ran out: the database cannot be reached.
    #[error("unavailable: {message}")]
    Unavailable {
        /// How long the server asked to wait (`Retry-After`), if it said.
        retry_after: Option<Duration>,
        /// The server's message.
        message: String,
    },

    /// Any other error status, e.g. `500 internal_error`.
    #[error("server error {status} {code}: {message}")]
    Server {
        /// The HTTP status.
        status: u16,
        /// The envelope's `error`, or `http_error` when the body had no envelope.
        code: String,
        /// The server's message, or the start of the body.
        message: String,
    },

    /// The request could not be sent or its answer not read (connection, timeout, URL).
    #[error("transport: {0}")]
    Transport(#[from] reqwest::Error),

    /// The request body could not be written as JSON (e.g. a map with non-string keys).
    #[error("cannot encode the request: {0}")]
    Encode(serde_json::Error),

    /// A success answer whose body is not the JSON expected.
    #[error("cannot decode the answer (status {status}): {source}")]
    Decode {
        /// The HTTP status of the answer.
        status: u16,
        /// What did not parse.
        source: serde_json::Error,
    },
}

impl Error {
    /// The envelope's `error` name (`not_found`, `duplicate_contact`, …), or `transport`,
    /// `encode` and `decode` for the errors that have none.
    pub fn code(&self) -> &str {
        match self {
            Error::NotFound { .. } => "not_found",
            Error::Duplicate { .. } => "duplicate_contact",
            Error::InvalidInput { .. } => "invalid_input",
            Error::Unauthorized { .. } => "unauthorized",
            Error::RateLimited { .. } => "rate_limited",
            Error::PreconditionFailed { .. } => "precondition_failed",
            Error::IdempotencyConflict { .. } => "idempotency_conflict",
            Error::PayloadTooLarge { .. } => "payload_too_large",
            Error::Unavailable { .. } => "unavailable",
            Error::Server { code, .. } => code,
            Error::Transport(_) => "transport",
            Error::Encode(_) => "encode",
            Error::Decode { .. } => "decode",
        }
    }

    /// The HTTP status of the answer, when there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::NotFound { .. } => Some(404),
            Error::Duplicate { .. } | Error::IdempotencyConflict { .. } => Some(409),
            Error::InvalidInput { .. } => Some(400),
            Error::Unauthorized { .. } => Some(401),
            Error::RateLimited { .. } => Some(429),
            Error::PreconditionFailed { .. } => Some(412),
            Error::PayloadTooLarge { .. } => Some(413),
            Error::Unavailable { .. } => Some(503),
            Error::Server { status, .. } | Error::Decode { status, .. } => Some(*status),
            Error::Transport(e) => e.status().map(|s| s.as_u16()),
            Error::Encode(_) => None,
        }
    }

    /// Whether this is [`Error::NotFound`], the usual signal to create instead.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::NotFound { .. })
    }

    /// How long the server asked to wait before trying again, if it said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::RateLimited { retry_after, .. } | Error::Unavailable { retry_after, .. } => {
                *retry_after
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn error(envelope: Value) -> Error {
        Error::from(serde_json::from_value::<ApiError>(envelope).unwrap())
    }

    #[test]
    fn an_upsert_conflict_keeps_both_ids() {
        let e = error(
            json!({"error": "duplicate_contact", "message": "two", "code": 409,
            "details": {"existing_contact_id": "cnt_a", "phone_contact_id": "cnt_a",
                        "email_contact_id": "cnt_b"}}),
        );
        match e {
            Error::Duplicate {
                existing_contact_id,
                phone_contact_id,
                email_contact_id,
                field,
                ..
            } => {
                assert_eq!(existing_contact_id, "cnt_a");
                assert_eq!(phone_contact_id.as_deref(), Some("cnt_a"));
                assert_eq!(email_contact_id.as_deref(), Some("cnt_b"));
                assert_eq!(field, None);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn details_may_be_absent_or_null() {
        for details in [json!({}), Value::Null] {
            let mut envelope = json!({"error": "invalid_input", "message": "bad", "code": 400});
            envelope["details"] = details;
            let e = error(envelope);
            assert!(
                matches!(e, Error::InvalidInput { field: None, .. }),
                "{e:?}"
            );
        }
        let e = error(json!({"error": "not_found", "message": "gone", "code": 404}));
        assert_eq!((e.code(), e.status()), ("not_found", Some(404)));
    }

    #[test]
    fn unknown_errors_keep_their_name_and_status() {
        let e = error(json!({"error": "method_not_allowed", "message": "no", "code": 405}));
        assert_eq!((e.code(), e.status()), ("method_not_allowed", Some(405)));
        let e = Error::from(envelope_of_status(502, b"<html>bad gateway</html>"));
        assert_eq!((e.code(), e.status()), ("http_error", Some(502)));
        let e = into_error_with(envelope_of_status(503, b""), Some(Duration::from_secs(2)));
        assert_eq!(e.retry_after(), Some(Duration::from_secs(2)));
        assert_eq!(e.code(), "unavailable");
    }

    #[test]
    fn rate_limits_read_retry_after_from_the_details_too() {
        let e = error(
            json!({"error": "rate_limited", "message": "slow down", "code": 429,
            "details": {"retry_after": 3}}),
        );
        assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
    }
}
