//! The JSON of the contactd API, defined once.
//!
//! Every body the server reads or writes is one of these types: the server decodes
//! requests into them (then checks them into its domain types) and encodes answers from
//! them, its OpenAPI document is derived from them (feature `openapi`), and the Rust SDK
//! sends and reads them. A field is added here once; nothing else restates a shape.
//!
//! Field names are the API's own. Answers carry every field (unset ones `null`); request
//! types send only what is set.

#![deny(missing_docs)]

mod batch;
mod contact;
mod conversation;
pub mod de;
mod duplicates;
mod enums;
mod error;
mod list;
mod merge;
mod segment;
mod webhook;

pub use batch::{BatchItemResult, BatchOutcome, BatchRequest, BatchResult};
pub use contact::{Contact, ContactUpdate, Identity, Metadata, NewContact, Patch};
pub use conversation::{Conversation, ConversationUpdate, Message, NewConversation, NewMessage};
pub use duplicates::{
    DuplicateCandidate, DuplicateCandidateList, DuplicatePair, DuplicatePairList,
};
pub use enums::{
    BatchItemStatus, BatchMode, Channel, ContactStatus, ConversationStatus, Direction, MetadataOp,
    SortField, UnknownValue,
};
pub use error::ErrorBody;
pub use list::{
    Count, List, ListContacts, ListConversations, ListSegmentContacts, MetadataFilter, OffsetList,
    Page, Sort,
};
pub use merge::{Merge, MergeList, MergeMoved, MergeRequest, MergeResult, UndoResult};
pub use segment::{NewSegment, Segment, SegmentFilter, SegmentUpdate};
pub use webhook::{
    Delivery, DeliveryList, Event, EventList, NewWebhook, Webhook, WebhookList, WebhookUpdate,
};

#[cfg(feature = "openapi")]
pub use enums::{ErrorCode, SettableContactStatus};
#[cfg(feature = "openapi")]
pub use error::ErrorDetails;

/// The pattern of a contact id.
pub const CONTACT_ID_PATTERN: &str = "^cnt_[0-9a-z]+$";
/// The pattern of an E.164 phone number.
pub const PHONE_PATTERN: &str = r"^\+[1-9][0-9]{1,14}$";
