//! Domain types and rules of contactd, free of HTTP and storage.
//!
//! Values here are parsed, not validated after the fact: once code holds a `Phone`,
//! an `Email`, a `ContactRef` or an id, it is well formed. Every constructor that can
//! reject input returns a [`FieldError`] carrying what the API's `invalid_input`
//! envelope needs (`field`, `received`, `expected`).

pub mod api_key;
pub mod batch;
pub mod contact;
pub mod contact_merge;
pub mod contact_query;
pub mod conversation;
pub mod duplicates;
pub mod email;
pub mod event;
pub mod idempotency;
pub mod identity;
pub mod ids;
pub mod input;
pub mod merge;
pub mod phone;
pub mod refs;
pub mod restore;
pub mod search;
pub mod segment;
pub mod tenant;
pub mod time;
pub mod webhook;
pub mod write;

use serde_json::Value;

/// A validation failure of one input field, as the `invalid_input` envelope reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    /// Dotted path of the field (`phone`, `metadata`, `metadata.preferences`, `ref`, `limit`).
    pub field: String,
    /// A human-readable sentence, safe to show to API users.
    pub message: String,
    /// The value that was received, when it helps the caller.
    pub received: Option<Value>,
    /// What would have been accepted: a corrected value or a description.
    pub expected: Option<Value>,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
            received: None,
            expected: None,
        }
    }

    pub fn received(mut self, value: impl Into<Value>) -> Self {
        self.received = Some(value.into());
        self
    }

    pub fn expected(mut self, value: impl Into<Value>) -> Self {
        self.expected = Some(value.into());
        self
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for FieldError {}
