//! The Rust client of contactd, a self-hosted contacts service for customer messaging.
//!
//! [`Client`] speaks contactd's HTTP JSON API (`/v2`): contacts by id, phone or email,
//! partial updates, list, search and count, upsert, batch, saved segments, conversations
//! and messages. Every answer is a typed model, every error envelope a typed [`Error`]
//! variant.
//!
//! Requests that fail with `429 rate_limited` or `503 unavailable`, or that cannot connect,
//! are retried with exponential backoff and jitter, honouring `Retry-After`. Every `POST`
//! carries an `Idempotency-Key`, generated once per call and sent again on each retry, so
//! a retried create never creates twice.
//!
//! ```no_run
//! use contactd_client::{Client, ContactUpdate, Error, NewContact};
//! use serde_json::json;
//!
//! # async fn run() -> Result<(), Error> {
//! let client = Client::new("http://127.0.0.1:8080", "sk_live_…");
//!
//! // Find a contact by phone, or create it.
//! let contact = match client.contacts().get("+14155550123").await {
//!     Ok(contact) => contact,
//!     Err(Error::NotFound { .. }) => {
//!         let new = NewContact::with_phone("+14155550123").first_name("John");
//!         client.contacts().create(&new).await?
//!     }
//!     Err(e) => return Err(e),
//! };
//!
//! // Only the fields set change; metadata is merged.
//! let update = ContactUpdate::new()
//!     .email("john@example.com")
//!     .metadata(json!({"plan": "enterprise"}));
//! let contact = client.contacts().update(&contact.id, &update).await?;
//! assert_eq!(contact.metadata["plan"], "enterprise");
//! # Ok(())
//! # }
//! ```
//!
//! Phone numbers written the way people write them can be normalized first with
//! [`format_phone_e164`]: `format_phone_e164("07911 123456", "GB")` is `+447911123456`.

#![deny(missing_docs)]

mod client;
mod contacts;
mod conversations;
mod error;
mod models;
mod phone;
mod segments;
mod webhooks;

pub use client::{Client, ClientBuilder};
pub use contacts::{ContactPager, Contacts};
pub use conversations::Conversations;
pub use error::{ApiError, Error, Result};
pub use models::{
    BatchItem, BatchMode, BatchOutcome, BatchResult, Channel, Contact, ContactStatus,
    ContactUpdate, Conversation, ConversationStatus, Direction, List, ListContacts,
    ListConversations, ListSegmentContacts, Message, Metadata, MetadataFilter, MetadataOp,
    NewContact, NewConversation, NewSegment, Page, Patch, Segment, SegmentFilter, SegmentUpdate,
    Sort, SortField, Upserted,
};
pub use models::{
    Delivery, DeliveryList, Event, EventList, NewWebhook, Webhook, WebhookList, WebhookUpdate,
};
pub use models::{
    DuplicateCandidate, DuplicatePair, DuplicatePairList, Identity, Merge, MergeMoved, MergeResult,
    UndoResult,
};
pub use phone::{format_phone_e164, PhoneError};
pub use segments::Segments;
pub use webhooks::{Events, Webhooks};
