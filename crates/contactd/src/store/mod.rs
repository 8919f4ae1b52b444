//! Storage: one interface, one module per backend.
//!
//! The HTTP layer depends on these traits only. Each backend keeps the same rules:
//! tenant (workspace + mode) on every row and leading every key, uniqueness of phone and
//! email per tenant enforced by the database, every write atomic, a contact's delete
//! cascading to its conversations and messages in the same transaction.

pub mod answer;
mod contact_list;
mod known;
mod listing;
pub mod postgres;
mod records;
mod share;
pub mod sqlite;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::domain::api_key::KeyHash;
use crate::domain::batch::BatchItem;
use crate::domain::contact::{
    Contact, ContactPatch, NewContact, Precondition, UpsertContact, UpsertOutcome,
};
use crate::domain::contact_merge::{MergeRecord, MergeRequest, UndoRefused};
use crate::domain::contact_query::{ContactFilter, ContactPage, ContactQuery};
use crate::domain::conversation::{
    Conversation, ConversationFilter, ConversationPatch, Listing, Message, NewConversation,
    NewMessage, Page,
};
use crate::domain::duplicates::Pair;
use crate::domain::event::{Event, EventType};
use crate::domain::idempotency::{IdempotencyClaim, StoredResponse};
use crate::domain::ids::{ContactId, ConversationId, MergeId, SegmentId};
use crate::domain::refs::ContactRef;
use crate::domain::segment::{NewSegment, Segment, SegmentPatch};
use crate::domain::tenant::{Mode, Tenant};
use crate::domain::time::Timestamp;
use crate::domain::webhook::{AttemptResult, Delivery, Webhook};
use crate::domain::write::WriteError;
use crate::domain::FieldError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entity {
    Contact,
    Conversation,
    Segment,
    Webhook,
    Delivery,
    Merge,
    /// An identity the contact does not have.
    Identity,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0:?} not found")]
    NotFound(Entity),
    /// A unique identifier (`id`, `phone` or `email`) is already used by another contact.
    #[error("duplicate {field}")]
    Duplicate {
        field: &'static str,
        existing_contact_id: ContactId,
    },
    /// An upsert's phone names one contact and its email another.
    #[error("identifiers of two contacts")]
    IdentifierConflict {
        phone_contact_id: ContactId,
        email_contact_id: ContactId,
    },
    /// A merge cannot be undone (already undone, past its window, its target gone).
    #[error("merge conflict: {0}")]
    MergeConflict(String),
    /// `If-Match` named another version than the current one.
    #[error("precondition failed")]
    PreconditionFailed { current_etag: String },
    /// A domain rule failed on the stored state (e.g. merged metadata over its limit).
    #[error(transparent)]
    Invalid(FieldError),
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The workspace already runs its share of expensive reads (see `share`).
    #[error("busy: {0}")]
    Busy(String),
    #[error(transparent)]
    Internal(anyhow::Error),
}

pub type StoreResult<T> = Result<T, StoreError>;

impl From<WriteError> for StoreError {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::Invalid(e) => StoreError::Invalid(e),
            WriteError::NoSuchIdentity => StoreError::NotFound(Entity::Identity),
            WriteError::PreconditionFailed { current_etag } => {
                StoreError::PreconditionFailed { current_etag }
            }
            WriteError::IdentifierConflict {
                phone_contact_id,
                email_contact_id,
            } => StoreError::IdentifierConflict {
                phone_contact_id,
                email_contact_id,
            },
            WriteError::Duplicate {
                field,
                existing_contact_id,
            } => StoreError::Duplicate {
                field,
                existing_contact_id,
            },
        }
    }
}

impl From<UndoRefused> for StoreError {
    fn from(reason: UndoRefused) -> Self {
        StoreError::MergeConflict(
            match reason {
                UndoRefused::AlreadyUndone => "This merge was already undone",
                UndoRefused::Expired => "A merge can be undone within 30 days only",
                UndoRefused::TargetGone => {
                    "The contact merged into was deleted or merged into another since"
                }
            }
            .into(),
        )
    }
}

#[async_trait]
pub trait ContactStore: Send + Sync {
    async fn create_contact(&self, tenant: &Tenant, new: NewContact) -> StoreResult<Contact>;
    async fn get_contact(&self, tenant: &Tenant, contact: &ContactRef) -> StoreResult<Contact>;
    /// Applies the patch to the current state inside one transaction, so concurrent
    /// updates of one contact never lose each other's changes.
    /// With a precondition, the update happens only if the contact is still that version.
    async fn update_contact(
        &self,
        tenant: &Tenant,
        contact: &ContactRef,
        patch: ContactPatch,
        precondition: Option<Precondition>,
    ) -> StoreResult<Contact>;
    /// Erases the contact with its conversations and messages; returns it as it was.
    async fn delete_contact(
        &self,
        tenant: &Tenant,
        contact: &ContactRef,
        precondition: Option<Precondition>,
    ) -> StoreResult<Contact>;
    /// A page of the contacts matching the query, and their count when it asks for it.
    /// Stopped inside the database when it runs past its budget or its caller goes away.
    async fn list_contacts(
        &self,
        tenant: &Tenant,
        query: &ContactQuery,
    ) -> StoreResult<ContactPage>;
    /// How many contacts match the filter, exactly; bounded like a list.
    async fn count_contacts(&self, tenant: &Tenant, filter: &ContactFilter) -> StoreResult<u64>;
    /// Finds the contact by phone and email and updates it, or creates it, atomically.
    async fn upsert_contact(
        &self,
        tenant: &Tenant,
        upsert: UpsertContact,
    ) -> StoreResult<(Contact, UpsertOutcome)>;
    /// Runs each item as its own create or upsert, in order, in one transaction; a failing
    /// item leaves no trace and does not stop the others.
    async fn batch_contacts(
        &self,
        tenant: &Tenant,
        items: Vec<BatchItem>,
    ) -> StoreResult<Vec<StoreResult<(Contact, UpsertOutcome)>>>;
}

/// Merges of two contacts into one, their undo and their history (`domain::contact_merge`).
#[async_trait]
pub trait MergeStore: Send + Sync {
    /// Folds the source into the target in one transaction: the source's conversations
    /// move, the source goes (its id stays a ref to the target), the target takes the
    /// merged values, and the merge is recorded with a snapshot of both. A dry run
    /// answers the same and writes nothing.
    async fn merge_contacts(
        &self,
        tenant: &Tenant,
        target: &ContactRef,
        request: MergeRequest,
        precondition: Option<Precondition>,
    ) -> StoreResult<(Contact, MergeRecord)>;
    /// Puts both contacts back as they were before the merge; answers the target, the
    /// source and the record.
    async fn undo_merge(
        &self,
        tenant: &Tenant,
        id: &MergeId,
    ) -> StoreResult<(Contact, Contact, MergeRecord)>;
    /// The merges the contact took part in, as target or source, newest first.
    async fn list_merges(
        &self,
        tenant: &Tenant,
        contact: &ContactRef,
    ) -> StoreResult<Vec<MergeRecord>>;
}

/// Duplicate suggestions, kept on every contact write (`domain::duplicates`).
#[async_trait]
pub trait DuplicateStore: Send + Sync {
    /// The contacts suggested as duplicates of this one, with their pairs, best first
    /// (at most 100).
    async fn duplicates_of(
        &self,
        tenant: &Tenant,
        contact: &ContactRef,
    ) -> StoreResult<Vec<(Contact, Pair)>>;
    /// The tenant's pairs in the order of their ids, after the pair `after`; `limit + 1`
    /// at most, to tell whether more follow.
    async fn list_duplicates(
        &self,
        tenant: &Tenant,
        after: Option<(ContactId, ContactId)>,
        limit: u32,
    ) -> StoreResult<Vec<Pair>>;
}

/// Saved segments. Their counts and contacts come from [`ContactStore`].
#[async_trait]
pub trait SegmentStore: Send + Sync {
    async fn create_segment(&self, tenant: &Tenant, new: NewSegment) -> StoreResult<Segment>;
    async fn get_segment(&self, tenant: &Tenant, id: &SegmentId) -> StoreResult<Segment>;
    /// Oldest first, `limit` from `offset`, and the number of segments.
    async fn list_segments(&self, tenant: &Tenant, page: Page) -> StoreResult<Listing<Segment>>;
    async fn update_segment(
        &self,
        tenant: &Tenant,
        id: &SegmentId,
        patch: SegmentPatch,
    ) -> StoreResult<Segment>;
    /// Deletes the segment (never its contacts); returns it as it was.
    async fn delete_segment(&self, tenant: &Tenant, id: &SegmentId) -> StoreResult<Segment>;
}

/// Kept answers of requests sent with an `Idempotency-Key`.
#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// Claims the key for a request with this fingerprint, or says what happened to it.
    async fn claim_idempotency_key(
        &self,
        tenant: &Tenant,
        key: &str,
        fingerprint: [u8; 32],
    ) -> StoreResult<IdempotencyClaim>;
    /// Keeps the answer of the request that claimed the key.
    async fn complete_idempotency_key(
        &self,
        tenant: &Tenant,
        key: &str,
        response: StoredResponse,
    ) -> StoreResult<()>;
    /// Gives the key up, so that a retry runs the request again.
    async fn release_idempotency_key(&self, tenant: &Tenant, key: &str) -> StoreResult<()>;
    /// What a claim would say now, without claiming: read-only, for a request waiting on
    /// the first request with its key.
    async fn peek_idempotency_key(
        &self,
        tenant: &Tenant,
        key: &str,
        fingerprint: [u8; 32],
    ) -> StoreResult<IdempotencyClaim>;
    /// Deletes the keys (and their answers) created before `before`; returns how many.
    async fn prune_idempotency_keys(&self, before: Timestamp) -> StoreResult<u64>;
}

#[async_trait]
pub trait ConversationStore: Send + Sync {
    async fn create_conversation(
        &self,
        tenant: &Tenant,
        new: NewConversation,
    ) -> StoreResult<Conversation>;
    async fn get_conversation(
        &self,
        tenant: &Tenant,
        id: &ConversationId,
    ) -> StoreResult<Conversation>;
    async fn update_conversation(
        &self,
        tenant: &Tenant,
        id: &ConversationId,
        patch: ConversationPatch,
    ) -> StoreResult<Conversation>;
    /// A contact's conversations, newest first.
    async fn list_conversations(
        &self,
        tenant: &Tenant,
        contact: &ContactRef,
        filter: ConversationFilter,
        page: Page,
    ) -> StoreResult<Listing<Conversation>>;
    /// Adds a message and, in the same transaction, updates the conversation's counters
    /// and, for an outbound message, the contact's `last_contacted`.
    async fn create_message(
        &self,
        tenant: &Tenant,
        conversation: &ConversationId,
        new: NewMessage,
    ) -> StoreResult<Message>;
    /// A conversation's messages, oldest first.
    async fn list_messages(
        &self,
        tenant: &Tenant,
        conversation: &ConversationId,
        page: Page,
    ) -> StoreResult<Listing<Message>>;
}

/// A reader's position in the change feed, as [`EventStore::check_event_cursor`] finds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventCursor {
    /// The next event after it is kept (or none was written since).
    Valid,
    /// Events after it were pruned: a reader there missed some.
    Pruned,
    /// Past the last sequence handed out: no cursor of this feed.
    Ahead,
}

impl EventCursor {
    /// From the first kept event after `after` and the last sequence handed out.
    pub fn of(after: i64, first_after: Option<i64>, last: i64) -> EventCursor {
        if after > last {
            EventCursor::Ahead
        } else if first_after.map_or(last > after, |first| first > after + 1) {
            EventCursor::Pruned
        } else {
            EventCursor::Valid
        }
    }
}

/// A page of the change feed.
#[derive(Debug, Clone, PartialEq)]
pub struct EventPage {
    pub events: Vec<Event>,
    pub has_more: bool,
    /// The sequence the read covered: the next read starts after it. Past the last event
    /// returned when a type filter skipped later events, so a reader of rare types does
    /// not read the others again on every poll.
    pub through: i64,
}

impl EventPage {
    /// The page from the events read (at most `limit` + 1, to tell whether there are
    /// more) after `after`; `horizon` is the last sequence committed when the read began,
    /// when it was limited to it.
    pub fn new(mut events: Vec<Event>, limit: u32, after: i64, horizon: Option<i64>) -> EventPage {
        let has_more = events.len() > limit as usize;
        events.truncate(limit as usize);
        let last = events.last().map_or(after, |e| e.sequence);
        let through = match horizon {
            Some(horizon) if !has_more => horizon.max(last),
            _ => last,
        };
        EventPage {
            events,
            has_more,
            through,
        }
    }
}

/// The change feed: events are written by the writes themselves (in their transactions);
/// this reads and prunes them.
#[async_trait]
pub trait EventStore: Send + Sync {
    /// The events numbered after `after`, of `types` (all when empty), oldest first.
    async fn list_events(
        &self,
        tenant: &Tenant,
        after: i64,
        types: &[EventType],
        limit: u32,
    ) -> StoreResult<EventPage>;
    /// Where a reader at `after` stands: events after it were pruned (it missed some), or
    /// it is past the last sequence handed out (no cursor of this feed).
    async fn check_event_cursor(&self, tenant: &Tenant, after: i64) -> StoreResult<EventCursor>;
    /// Deletes the events created before `before`; returns how many.
    async fn prune_events(&self, before: Timestamp) -> StoreResult<u64>;
}

/// A delivery the worker holds a lease on: its endpoint and its event.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedDelivery {
    pub tenant: Tenant,
    pub webhook: Webhook,
    pub failing_since: Option<Timestamp>,
    pub delivery_id: String,
    /// Attempts counting this one.
    pub attempts: u32,
    pub event: Event,
    /// Whether the delivery has a row yet: a first attempt on SQLite gets its row only
    /// with its result (see `store::sqlite::events`).
    pub recorded: bool,
}

/// An enabled endpoint the worker serves.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EndpointKey {
    pub tenant: Tenant,
    pub webhook_id: String,
}

/// A change of a webhook endpoint: the endpoint as it will be from the one stored.
pub type WebhookChange = Box<dyn FnOnce(&Webhook) -> Webhook + Send>;

/// Webhook endpoints, and their deliveries as the worker moves them along.
#[async_trait]
pub trait WebhookStore: Send + Sync {
    /// Stores a new endpoint; it receives the events committed from now on.
    async fn create_webhook(&self, tenant: &Tenant, webhook: Webhook) -> StoreResult<Webhook>;
    async fn get_webhook(&self, tenant: &Tenant, id: &str) -> StoreResult<Webhook>;
    /// Oldest first.
    async fn list_webhooks(&self, tenant: &Tenant) -> StoreResult<Vec<Webhook>>;
    /// Changes an endpoint, keeping its deliveries: `change` (a rule of `domain::webhook`)
    /// gets the endpoint as stored and its result is written before any other change can
    /// come between (a rotation and an update at once both hold).
    async fn change_webhook(
        &self,
        tenant: &Tenant,
        id: &str,
        change: WebhookChange,
    ) -> StoreResult<Webhook>;
    /// Deletes the endpoint and its deliveries; returns it as it was.
    async fn delete_webhook(&self, tenant: &Tenant, id: &str) -> StoreResult<Webhook>;
    /// The endpoint's deliveries, newest first, older than the delivery `before`.
    async fn list_deliveries(
        &self,
        tenant: &Tenant,
        webhook_id: &str,
        before: Option<&str>,
        limit: u32,
    ) -> StoreResult<(Vec<Delivery>, bool)>;
    /// Makes a delivery due now again, whatever its state.
    async fn retry_delivery(
        &self,
        tenant: &Tenant,
        webhook_id: &str,
        delivery_id: &str,
    ) -> StoreResult<Delivery>;
    /// Turns events committed since the last call into deliveries of the enabled
    /// endpoints wanting them, keeping at most `ahead` due deliveries per endpoint: the
    /// events are the durable queue, and deliveries are written only as fast as they are
    /// made. Returns how many deliveries were queued. SQLite has nothing to do here: its
    /// one server reads first attempts straight from the events (see `settle_deliveries`).
    async fn fan_out(&self, ahead: u32) -> StoreResult<u64>;
    /// The enabled endpoints with a delivery due.
    async fn due_endpoints(&self) -> StoreResult<Vec<EndpointKey>>;
    /// Records the attempts made (each only while its lease is still this owner's), then
    /// leases up to `limit` due deliveries of the endpoint, oldest event first, until
    /// `lease_until` (then they are due again unless finished). One transaction, so that
    /// a runner costs the database one write per batch of deliveries, not two each.
    /// On SQLite the first attempt of an event has no row until its result is recorded:
    /// the process keeps its lease in memory, and the endpoint's cursor stays below it.
    async fn settle_deliveries(
        &self,
        endpoint: &EndpointKey,
        owner: &str,
        finished: Vec<(ClaimedDelivery, AttemptResult)>,
        lease_until: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<ClaimedDelivery>>;
    /// Deliveries not yet made (pending ones, and events not yet turned into deliveries
    /// of an enabled endpoint), and the creation time of the oldest.
    async fn delivery_backlog(&self) -> StoreResult<(u64, Option<Timestamp>)>;
}

/// What `keys list` shows of a key: never its secret.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyInfo {
    pub prefix: String,
    pub workspace: String,
    pub mode: Mode,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

#[async_trait]
pub trait KeyStore: Send + Sync {
    /// Stores a key's hash for the named workspace, creating the workspace if needed.
    async fn insert_key(
        &self,
        workspace: &str,
        mode: Mode,
        prefix: &str,
        hash: KeyHash,
    ) -> StoreResult<()>;
    /// The id of the named workspace, created if it does not exist yet.
    async fn ensure_workspace(&self, workspace: &str) -> StoreResult<String>;
    /// The tenant of an active (not revoked) key.
    async fn tenant_for_key(&self, hash: KeyHash) -> StoreResult<Option<Tenant>>;
    async fn touch_key(&self, hash: KeyHash, at: Timestamp) -> StoreResult<()>;
    async fn list_keys(&self) -> StoreResult<Vec<KeyInfo>>;
    /// Revokes the keys with this prefix; returns how many were revoked.
    async fn revoke_key(&self, prefix: &str) -> StoreResult<u64>;
    /// Counts keys, revoked ones included.
    async fn count_keys(&self) -> StoreResult<u64>;
    /// What changes whenever a key is revoked: how many are, and the latest revocation
    /// time. Servers ask for it several times a second to drop their cached keys.
    async fn key_revocations(&self) -> StoreResult<KeyRevocations>;
}

/// The revocations of all keys in two numbers (see [`KeyStore::key_revocations`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KeyRevocations {
    pub count: i64,
    pub latest: i64,
}

#[async_trait]
pub trait Store:
    ContactStore
    + ConversationStore
    + SegmentStore
    + KeyStore
    + IdempotencyStore
    + EventStore
    + WebhookStore
    + MergeStore
    + DuplicateStore
{
    /// Succeeds when the database answers.
    async fn ping(&self) -> StoreResult<()>;
    /// Finishes queued writes and closes the database.
    async fn close(&self);
    /// Refreshes the planner's statistics, after a bulk load (an import).
    async fn analyze(&self) -> StoreResult<()>;
    /// Queue and pool gauges for `/metrics`: name, help, value.
    fn gauges(&self) -> Vec<(&'static str, &'static str, f64)>;
    /// Lists and counts stopped inside the database before they finished, since the start:
    /// their request ended first (deadline passed, client gone) or they ran past the
    /// query budget.
    fn reads_stopped(&self) -> u64;
    /// Whether requests keep the database busy right now (writes queued for SQLite's
    /// writer; every PostgreSQL connection taken): background work gives way.
    fn busy(&self) -> bool;
}

/// Connection settings of a client-server backend (unused by SQLite).
#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub pool_size: usize,
    pub connect_timeout: Duration,
    pub acquire_timeout: Duration,
    pub statement_timeout: Duration,
    pub sqlite_synchronous: SqliteSynchronous,
    /// The SQLite writer's page cache, in MiB.
    pub sqlite_cache_mib: u32,
}

/// When SQLite makes a commit durable (its `synchronous` setting, in WAL mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SqliteSynchronous {
    /// The WAL is synced before a write is acknowledged: it survives a power loss. Group
    /// commit shares one sync among the writes committed together.
    Full,
    /// The WAL is synced at checkpoints only: an acknowledged write survives a crash of
    /// contactd but not of the machine.
    Normal,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            pool_size: 16,
            connect_timeout: Duration::from_secs(2),
            acquire_timeout: Duration::from_secs(2),
            statement_timeout: Duration::from_secs(10),
            sqlite_synchronous: SqliteSynchronous::Full,
            sqlite_cache_mib: 32,
        }
    }
}

/// Opens the backend named by the URL's scheme, creating and migrating the database.
pub async fn open(url: &str, options: &StoreOptions) -> anyhow::Result<Arc<dyn Store>> {
    if let Some(path) = sqlite::path_from_url(url) {
        return Ok(Arc::new(
            sqlite::SqliteStore::open(
                &path,
                options.statement_timeout,
                options.sqlite_synchronous,
                options.sqlite_cache_mib,
            )
            .await?,
        ));
    }
    if postgres::is_postgres_url(url) {
        return Ok(Arc::new(postgres::PgStore::open(url, options).await?));
    }
    anyhow::bail!("unsupported database URL; expected sqlite://PATH or postgres://USER@HOST/DB")
}

#[cfg(test)]
mod tests {
    use super::EventCursor;

    #[test]
    fn an_event_cursor_is_valid_pruned_or_ahead() {
        // after, first kept event after it, last sequence handed out
        for (after, first, last, expected) in [
            (3, Some(4), 9, EventCursor::Valid),
            (9, None, 9, EventCursor::Valid),
            (3, Some(6), 9, EventCursor::Pruned),
            (3, None, 9, EventCursor::Pruned),
            (10, None, 9, EventCursor::Ahead),
            (1, None, 0, EventCursor::Ahead),
        ] {
            assert_eq!(
                EventCursor::of(after, first, last),
                expected,
                "{after} {first:?} {last}"
            );
        }
    }
}
