//! The API's JSON, typed. Every shape is defined once, in `contactd-wire`, which the server
//! and its OpenAPI document use too; this module re-exports them and adds what only a
//! client needs.

pub use contactd_wire::{
    BatchItemResult as BatchItem, BatchMode, BatchOutcome, BatchRequest, BatchResult, Channel,
    Contact, ContactStatus, ContactUpdate, Conversation, ConversationStatus, Direction, List,
    ListContacts, ListConversations, ListSegmentContacts, Message, Metadata, MetadataFilter,
    MetadataOp, NewContact, NewConversation, NewSegment, Page, Patch, Segment, SegmentFilter,
    SegmentUpdate, Sort, SortField,
};
pub use contactd_wire::{
    Delivery, DeliveryList, Event, EventList, NewWebhook, Webhook, WebhookList, WebhookUpdate,
};
pub use contactd_wire::{
    DuplicateCandidate, DuplicateCandidateList, DuplicatePair, DuplicatePairList, Identity, Merge,
    MergeList, MergeMoved, MergeRequest, MergeResult, UndoResult,
};

/// The answer of an upsert: the contact, and whether it was created (`201`) rather than
/// updated (`200`).
#[derive(Debug, Clone, PartialEq)]
pub struct Upserted {
    /// The contact as it is now.
    pub contact: Contact,
    /// `true` when no contact had the phone or email and this one was created.
    pub created: bool,
}
