//! Rows as every backend reads them, and their one conversion into domain values.
//!
//! Backends only differ in how they fetch a column ([`Columns`]); which column holds what,
//! what a stored value means, and the check that it is still well formed are written once
//! here.

use serde_json::{Map, Value};

use super::{StoreError, StoreResult};
use crate::domain::contact::{Channel, Contact};
use crate::domain::contact_merge::{MergeRecord, Snapshot};
use crate::domain::conversation::{Conversation, ConversationStatus, Direction, Message};
use crate::domain::email::Email;
use crate::domain::event::{Event, EventType};
use crate::domain::idempotency::{KeyRecord, StoredResponse};
use crate::domain::identity::Identity;
use crate::domain::ids::{ContactId, ConversationId, MergeId, MessageId};
use crate::domain::phone::Phone;
use crate::domain::refs::ContactRef;
use crate::domain::tenant::{Mode, Tenant};
use crate::domain::time::Timestamp;
use crate::domain::webhook::{Delivery, DeliveryState, Webhook, WebhookStatus};
use crate::store::KeyInfo;

fn corrupt(what: &str) -> StoreError {
    StoreError::Internal(anyhow::anyhow!("stored {what} is malformed"))
}

/// A fetched row, column by column (0 is the first), as each driver reads it.
pub trait Columns {
    fn opt_text(&self, i: usize) -> StoreResult<Option<String>>;
    /// An integer column of any width.
    fn opt_int(&self, i: usize) -> StoreResult<Option<i64>>;
    fn opt_bytes(&self, i: usize) -> StoreResult<Option<Vec<u8>>>;
    /// A JSON column (text in SQLite, `jsonb` in PostgreSQL).
    fn json(&self, i: usize) -> StoreResult<Value>;

    fn text(&self, i: usize) -> StoreResult<String> {
        self.opt_text(i)?.ok_or_else(|| corrupt("text column"))
    }

    fn int(&self, i: usize) -> StoreResult<i64> {
        self.opt_int(i)?.ok_or_else(|| corrupt("integer column"))
    }
}

/// The columns [`contact`] reads, in its order.
pub const CONTACT_COLUMNS: &str = "id, phone, email, first_name, last_name, \
    preferred_channel, metadata, status, created_at, updated_at, last_contacted, identities";
/// How many columns [`contact`] reads: a query may select more after them.
pub const CONTACT_COLUMN_COUNT: usize = 12;

/// What a ref finds its contact by: `("id", id)`, or the namespace and key of a row of
/// `contact_handles` (see `Contact::handles`).
pub fn ref_key(contact: &ContactRef) -> (&'static str, String) {
    contact.key()
}

/// A contact's identities as stored: a JSON array of `{"type", "value"}`.
pub fn identities_json(contact: &Contact) -> Value {
    Value::Array(
        contact
            .identities
            .iter()
            .map(|i| serde_json::json!({"type": i.kind().as_str(), "value": i.value()}))
            .collect(),
    )
}

pub fn contact(row: &(impl Columns + ?Sized)) -> StoreResult<Contact> {
    Contact::try_from(ContactRecord {
        id: row.text(0)?,
        phone: row.opt_text(1)?,
        email: row.opt_text(2)?,
        first_name: row.opt_text(3)?,
        last_name: row.opt_text(4)?,
        preferred_channel: row.opt_text(5)?,
        metadata: row.json(6)?,
        status: row.text(7)?,
        created_at: row.int(8)?,
        updated_at: row.int(9)?,
        last_contacted: row.opt_int(10)?,
        identities: row.json(11)?,
    })
}

/// The columns [`merge`] reads, in its order.
pub const MERGE_COLUMNS: &str = "id, target_id, source_id, moved_conversations, \
    moved_messages, created_at, undone_at";

pub fn merge(row: &(impl Columns + ?Sized)) -> StoreResult<MergeRecord> {
    let id = |i: usize| -> StoreResult<ContactId> {
        ContactId::parse(&row.text(i)?).ok_or_else(|| corrupt("merge contact id"))
    };
    let count = |i: usize| -> StoreResult<u64> {
        u64::try_from(row.int(i)?).map_err(|_| corrupt("merge count"))
    };
    Ok(MergeRecord {
        id: MergeId::parse(&row.text(0)?).ok_or_else(|| corrupt("merge id"))?,
        target_id: id(1)?,
        source_id: id(2)?,
        moved_conversations: count(3)?,
        moved_messages: count(4)?,
        created_at: Timestamp::from_micros(row.int(5)?),
        undone_at: row.opt_int(6)?.map(Timestamp::from_micros),
    })
}

/// A merge's snapshot as stored.
pub fn snapshot(value: &Value) -> StoreResult<Snapshot> {
    Snapshot::from_json(value).ok_or_else(|| corrupt("merge snapshot"))
}

/// The columns [`conversation`] reads, in its order.
pub const CONVERSATION_COLUMNS: &str =
    "id, contact_id, channel, status, created_at, updated_at, last_message_at, message_count";

pub fn conversation(row: &(impl Columns + ?Sized)) -> StoreResult<Conversation> {
    Conversation::try_from(ConversationRecord {
        id: row.text(0)?,
        contact_id: row.text(1)?,
        channel: row.text(2)?,
        status: row.text(3)?,
        created_at: row.int(4)?,
        updated_at: row.int(5)?,
        last_message_at: row.opt_int(6)?,
        message_count: row.int(7)?,
    })
}

/// The columns [`message`] reads, in its order.
pub const MESSAGE_COLUMNS: &str = "id, conversation_id, direction, text, created_at";

pub fn message(row: &(impl Columns + ?Sized)) -> StoreResult<Message> {
    Message::try_from(MessageRecord {
        id: row.text(0)?,
        conversation_id: row.text(1)?,
        direction: row.text(2)?,
        text: row.text(3)?,
        created_at: row.int(4)?,
    })
}

/// The columns [`segment`] reads, in its order.
pub const SEGMENT_COLUMNS: &str = "id, name, filter, created_at, updated_at";

pub fn segment(row: &(impl Columns + ?Sized)) -> StoreResult<crate::domain::segment::Segment> {
    crate::domain::segment::Segment::try_from(SegmentRecord {
        id: row.text(0)?,
        name: row.text(1)?,
        filter: row.text(2)?,
        created_at: row.int(3)?,
        updated_at: row.int(4)?,
    })
}

/// The columns [`event`] reads, in its order.
pub const EVENT_COLUMNS: &str = "sequence, id, type, created_at, data";

pub fn event(row: &(impl Columns + ?Sized)) -> StoreResult<Event> {
    Ok(Event {
        sequence: row.int(0)?,
        id: row.text(1)?,
        kind: EventType::parse(&row.text(2)?).ok_or_else(|| corrupt("event type"))?,
        created_at: Timestamp::from_micros(row.int(3)?),
        data: row.json(4)?,
    })
}

/// The columns [`webhook`] reads, in its order.
pub const WEBHOOK_COLUMNS: &str = "id, url, event_types, description, status, \
    disabled_reason, secret, previous_secret, previous_secret_until, created_at, updated_at";
/// How many columns [`webhook`] reads: a query may select more after them.
pub const WEBHOOK_COLUMN_COUNT: usize = 11;

pub fn webhook(row: &(impl Columns + ?Sized)) -> StoreResult<Webhook> {
    let event_types = match row.opt_text(2)? {
        None => None,
        Some(text) => {
            let names: Vec<String> =
                serde_json::from_str(&text).map_err(|_| corrupt("event types"))?;
            Some(
                EventType::parse_list("event_types", names.iter().map(String::as_str))
                    .map_err(|_| corrupt("event types"))?,
            )
        }
    };
    let previous_secret = match (row.opt_text(7)?, row.opt_int(8)?) {
        (Some(secret), Some(until)) => Some((secret, Timestamp::from_micros(until))),
        _ => None,
    };
    Ok(Webhook {
        id: row.text(0)?,
        url: row.text(1)?,
        event_types,
        description: row.opt_text(3)?,
        status: WebhookStatus::parse(&row.text(4)?).ok_or_else(|| corrupt("webhook status"))?,
        disabled_reason: row.opt_text(5)?,
        secret: row.text(6)?,
        previous_secret,
        created_at: Timestamp::from_micros(row.int(9)?),
        updated_at: Timestamp::from_micros(row.int(10)?),
    })
}

/// A webhook's event types as stored: a JSON array, or NULL for all.
pub fn event_types_text(webhook: &Webhook) -> Option<String> {
    webhook.event_types.as_ref().map(|types| {
        let names: Vec<&str> = types.iter().map(|t| t.as_str()).collect();
        serde_json::to_string(&names).unwrap_or_else(|_| "[]".to_owned())
    })
}

/// The columns [`delivery`] reads, in its order.
pub const DELIVERY_COLUMNS: &str = "id, webhook_id, sequence, event_id, event_type, state, \
    attempts, next_attempt_at, last_attempt_at, last_status, last_error, last_latency_ms, \
    response_body, created_at";

pub fn delivery(row: &(impl Columns + ?Sized)) -> StoreResult<Delivery> {
    Ok(Delivery {
        id: row.text(0)?,
        webhook_id: row.text(1)?,
        sequence: row.int(2)?,
        event_id: row.text(3)?,
        event_type: row.text(4)?,
        state: DeliveryState::parse(&row.text(5)?).ok_or_else(|| corrupt("delivery state"))?,
        attempts: u32::try_from(row.int(6)?).unwrap_or(0),
        next_attempt_at: row.opt_int(7)?.map(Timestamp::from_micros),
        last_attempt_at: row.opt_int(8)?.map(Timestamp::from_micros),
        last_status: row.opt_int(9)?.and_then(|s| u16::try_from(s).ok()),
        last_error: row.opt_text(10)?,
        last_latency_ms: row.opt_int(11)?.and_then(|n| u64::try_from(n).ok()),
        response_body: row.opt_text(12)?,
        created_at: Timestamp::from_micros(row.int(13)?),
    })
}

/// The columns [`key_record`] reads, in its order.
pub const KEY_RECORD_COLUMNS: &str = "fingerprint, status, headers, body, created_at";

/// What the store holds for an idempotency key.
pub fn key_record(row: &(impl Columns + ?Sized)) -> StoreResult<KeyRecord> {
    let response = match row.opt_int(1)? {
        None => None,
        Some(status) => Some(StoredResponse {
            status: u16::try_from(status).unwrap_or(500),
            headers: serde_json::from_str(row.opt_text(2)?.as_deref().unwrap_or("[]"))
                .map_err(|_| corrupt("headers"))?,
            body: row.opt_bytes(3)?.unwrap_or_default(),
        }),
    };
    Ok(KeyRecord {
        fingerprint: row.opt_bytes(0)?.unwrap_or_default(),
        created_at: Timestamp::from_micros(row.int(4)?),
        response,
    })
}

/// A kept answer's headers as stored.
pub fn headers_text(headers: &[(String, String)]) -> String {
    serde_json::to_string(headers).unwrap_or_else(|_| "[]".to_owned())
}

/// The tenant in the columns `workspace_id, mode` from `first` on.
pub fn tenant(row: &(impl Columns + ?Sized), first: usize) -> StoreResult<Tenant> {
    Ok(Tenant {
        workspace_id: row.text(first)?,
        mode: mode(&row.text(first + 1)?)?,
    })
}

/// The columns [`key_info`] reads, in its order.
pub const KEY_INFO_COLUMNS: &str =
    "k.prefix, w.name, k.mode, k.created_at, k.last_used_at, k.revoked_at";

pub fn key_info(row: &(impl Columns + ?Sized)) -> StoreResult<KeyInfo> {
    Ok(KeyInfo {
        prefix: row.text(0)?,
        workspace: row.text(1)?,
        mode: mode(&row.text(2)?)?,
        created_at: Timestamp::from_micros(row.int(3)?),
        last_used_at: row.opt_int(4)?.map(Timestamp::from_micros),
        revoked_at: row.opt_int(5)?.map(Timestamp::from_micros),
    })
}

struct ContactRecord {
    id: String,
    phone: Option<String>,
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    preferred_channel: Option<String>,
    metadata: Value,
    status: String,
    created_at: i64,
    updated_at: i64,
    last_contacted: Option<i64>,
    identities: Value,
}

impl TryFrom<ContactRecord> for Contact {
    type Error = StoreError;

    fn try_from(r: ContactRecord) -> Result<Contact, StoreError> {
        let metadata: Map<String, Value> = match r.metadata {
            Value::Object(map) => map,
            _ => return Err(corrupt("metadata")),
        };
        Ok(Contact {
            id: ContactId::parse(&r.id).ok_or_else(|| corrupt("contact id"))?,
            phone: r
                .phone
                .map(|p| Phone::parse("phone", &p).map_err(|_| corrupt("phone")))
                .transpose()?,
            email: r
                .email
                .map(|e| Email::parse("email", &e).map_err(|_| corrupt("email")))
                .transpose()?,
            first_name: r.first_name,
            last_name: r.last_name,
            preferred_channel: r
                .preferred_channel
                .map(|c| Channel::parse(&c).ok_or_else(|| corrupt("channel")))
                .transpose()?,
            metadata,
            status: crate::domain::contact::settable_status(&r.status)
                .ok_or_else(|| corrupt("status"))?,
            created_at: Timestamp::from_micros(r.created_at),
            updated_at: Timestamp::from_micros(r.updated_at),
            last_contacted: r.last_contacted.map(Timestamp::from_micros),
            identities: stored_identities(r.identities)?,
        })
    }
}

fn stored_identities(value: Value) -> StoreResult<Vec<Identity>> {
    let sent: Vec<contactd_wire::Identity> =
        serde_json::from_value(value).map_err(|_| corrupt("identities"))?;
    sent.iter()
        .map(|i| Identity::parse("identities", &i.kind, &i.value))
        .collect::<Result<_, _>>()
        .map_err(|_| corrupt("identities"))
}

struct ConversationRecord {
    id: String,
    contact_id: String,
    channel: String,
    status: String,
    created_at: i64,
    updated_at: i64,
    last_message_at: Option<i64>,
    message_count: i64,
}

impl TryFrom<ConversationRecord> for Conversation {
    type Error = StoreError;

    fn try_from(r: ConversationRecord) -> Result<Conversation, StoreError> {
        Ok(Conversation {
            id: ConversationId::parse(&r.id).ok_or_else(|| corrupt("conversation id"))?,
            contact_id: ContactId::parse(&r.contact_id).ok_or_else(|| corrupt("contact id"))?,
            channel: Channel::parse(&r.channel).ok_or_else(|| corrupt("channel"))?,
            status: ConversationStatus::parse(&r.status).ok_or_else(|| corrupt("status"))?,
            created_at: Timestamp::from_micros(r.created_at),
            updated_at: Timestamp::from_micros(r.updated_at),
            last_message_at: r.last_message_at.map(Timestamp::from_micros),
            message_count: r.message_count,
        })
    }
}

struct MessageRecord {
    id: String,
    conversation_id: String,
    direction: String,
    text: String,
    created_at: i64,
}

impl TryFrom<MessageRecord> for Message {
    type Error = StoreError;

    fn try_from(r: MessageRecord) -> Result<Message, StoreError> {
        Ok(Message {
            id: MessageId::parse(&r.id).ok_or_else(|| corrupt("message id"))?,
            conversation_id: ConversationId::parse(&r.conversation_id)
                .ok_or_else(|| corrupt("conversation id"))?,
            direction: Direction::parse(&r.direction).ok_or_else(|| corrupt("direction"))?,
            text: r.text,
            created_at: Timestamp::from_micros(r.created_at),
        })
    }
}

/// The mode column of a key, read back.
fn mode(s: &str) -> Result<Mode, StoreError> {
    Mode::parse(s).ok_or_else(|| corrupt("key mode"))
}

pub struct SegmentRecord {
    pub id: String,
    pub name: String,
    /// The filter as a JSON object of strings, in the order it was sent.
    pub filter: String,
    pub created_at: i64,
    pub updated_at: i64,
}

impl SegmentRecord {
    /// A segment's filter as stored.
    pub fn filter_text(filter: &crate::domain::segment::FilterParams) -> String {
        let object: Map<String, Value> = filter
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        Value::Object(object).to_string()
    }
}

impl TryFrom<SegmentRecord> for crate::domain::segment::Segment {
    type Error = StoreError;

    fn try_from(r: SegmentRecord) -> Result<Self, StoreError> {
        let filter = match serde_json::from_str::<Value>(&r.filter) {
            Ok(Value::Object(map)) => map
                .into_iter()
                .map(|(k, v)| match v {
                    Value::String(s) => Ok((k, s)),
                    _ => Err(corrupt("segment filter")),
                })
                .collect::<Result<Vec<_>, _>>()?,
            _ => return Err(corrupt("segment filter")),
        };
        Ok(crate::domain::segment::Segment {
            id: crate::domain::ids::SegmentId::parse(&r.id).ok_or_else(|| corrupt("segment id"))?,
            name: r.name,
            filter,
            created_at: Timestamp::from_micros(r.created_at),
            updated_at: Timestamp::from_micros(r.updated_at),
        })
    }
}
