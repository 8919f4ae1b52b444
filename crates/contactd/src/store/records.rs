//! Rows as every backend reads them, and their one conversion into domain values.
//!
//! Backends only differ in how they fetch a column; what a stored value means, and the
//! check that it is still well formed, is written once here.

use serde_json::{Map, Value};

use super::StoreError;
use crate::domain::contact::{Channel, Contact};
use crate::domain::conversation::{Conversation, ConversationStatus, Direction, Message};
use crate::domain::email::Email;
use crate::domain::ids::{ContactId, ConversationId, MessageId};
use crate::domain::phone::Phone;
use crate::domain::time::Timestamp;

fn corrupt(what: &str) -> StoreError {
    StoreError::Internal(anyhow::anyhow!("stored {what} is malformed"))
}

pub struct ContactRecord {
    pub id: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub preferred_channel: Option<String>,
    pub metadata: Value,
    pub status: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_contacted: Option<i64>,
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
        })
    }
}

pub struct ConversationRecord {
    pub id: String,
    pub contact_id: String,
    pub channel: String,
    pub status: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_message_at: Option<i64>,
    pub message_count: i64,
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

pub struct MessageRecord {
    pub id: String,
    pub conversation_id: String,
    pub direction: String,
    pub text: String,
    pub created_at: i64,
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
pub fn mode(s: &str) -> Result<crate::domain::tenant::Mode, StoreError> {
    crate::domain::tenant::Mode::parse(s).ok_or_else(|| corrupt("key mode"))
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
