//! Conversations with a contact and their messages, and list paging.

use serde_json::{Map, Value};

use super::contact::Channel;
use super::ids::{ContactId, ConversationId, MessageId};
use super::input;
use super::refs::ContactRef;
use super::time::Timestamp;
use super::FieldError;

pub use contactd_wire::{ConversationStatus, Direction};

#[derive(Debug, Clone, PartialEq)]
pub struct Conversation {
    pub id: ConversationId,
    pub contact_id: ContactId,
    pub channel: Channel,
    pub status: ConversationStatus,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub last_message_at: Option<Timestamp>,
    pub message_count: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub id: MessageId,
    pub conversation_id: ConversationId,
    pub direction: Direction,
    pub text: String,
    pub created_at: Timestamp,
}

impl Conversation {
    /// The message `new` as sent now, and the conversation after it: one more message,
    /// `last_message_at` and `updated_at` at the message's time.
    pub fn add_message(&self, new: NewMessage) -> (Message, Conversation) {
        let created_at = Timestamp::now_after(self.updated_at);
        let message = Message {
            id: MessageId::generate(),
            conversation_id: self.id.clone(),
            direction: new.direction,
            text: new.text,
            created_at,
        };
        let next = Conversation {
            updated_at: created_at,
            last_message_at: Some(created_at),
            message_count: self.message_count + 1,
            ..self.clone()
        };
        (message, next)
    }
}

/// A validated `POST /v2/conversation`.
#[derive(Debug, Clone, PartialEq)]
pub struct NewConversation {
    pub contact: ContactRef,
    pub channel: Channel,
    pub status: ConversationStatus,
}

impl From<Conversation> for contactd_wire::Conversation {
    /// The conversation as the API answers it.
    fn from(c: Conversation) -> contactd_wire::Conversation {
        contactd_wire::Conversation {
            id: c.id.into_string(),
            contact_id: c.contact_id.into_string(),
            channel: c.channel,
            status: c.status,
            created_at: c.created_at.to_rfc3339(),
            updated_at: c.updated_at.to_rfc3339(),
            last_message_at: c.last_message_at.map(Timestamp::to_rfc3339),
            message_count: u64::try_from(c.message_count).unwrap_or(0),
        }
    }
}

impl From<Message> for contactd_wire::Message {
    /// The message as the API answers it.
    fn from(m: Message) -> contactd_wire::Message {
        contactd_wire::Message {
            id: m.id.into_string(),
            conversation_id: m.conversation_id.into_string(),
            direction: m.direction,
            text: m.text,
            created_at: m.created_at.to_rfc3339(),
        }
    }
}

impl<T> Listing<T> {
    /// The page as the API answers it.
    pub fn into_wire<U: From<T>>(self) -> contactd_wire::OffsetList<U> {
        let Listing { items, total, page } = self;
        let has_more = page.offset.saturating_add(items.len() as u64) < total;
        contactd_wire::OffsetList {
            data: items.into_iter().map(U::from).collect(),
            total,
            limit: page.limit,
            offset: page.offset,
            has_more,
        }
    }
}

impl NewConversation {
    /// The conversation, created now, with the contact `contact_id` its ref named.
    pub fn into_conversation(self, contact_id: ContactId) -> Conversation {
        let now = Timestamp::now();
        Conversation {
            id: ConversationId::generate(),
            contact_id,
            channel: self.channel,
            status: self.status,
            created_at: now,
            updated_at: now,
            last_message_at: None,
            message_count: 0,
        }
    }
}

impl NewConversation {
    /// A create from its JSON body (`contactd_wire::NewConversation`).
    pub fn from_json(body: Map<String, Value>) -> Result<NewConversation, FieldError> {
        let sent: contactd_wire::NewConversation =
            input::decode::<_, contactd_wire::Conversation>(body)?;
        let contact = ContactRef::parse(&sent.contact_id).map_err(|e| FieldError {
            field: "contact_id".into(),
            ..e
        })?;
        Ok(NewConversation {
            contact,
            channel: sent.channel,
            status: sent.status.unwrap_or(ConversationStatus::Open),
        })
    }
}

/// A validated `PUT /v2/conversation/{id}`: only the status can change.
#[derive(Debug, Clone, PartialEq)]
pub struct ConversationPatch {
    pub status: Option<ConversationStatus>,
}

impl ConversationPatch {
    /// A change from its JSON body (`contactd_wire::ConversationUpdate`).
    pub fn from_json(body: Map<String, Value>) -> Result<ConversationPatch, FieldError> {
        let sent: contactd_wire::ConversationUpdate =
            input::decode::<_, contactd_wire::Conversation>(body)?;
        Ok(ConversationPatch {
            status: sent.status,
        })
    }

    /// The conversation after this patch, or None when nothing changes.
    pub fn apply(&self, current: &Conversation) -> Option<Conversation> {
        let status = self.status.filter(|s| *s != current.status)?;
        Some(Conversation {
            status,
            updated_at: Timestamp::now_after(current.updated_at),
            ..current.clone()
        })
    }
}

/// A validated `POST /v2/conversation/{id}/messages`.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMessage {
    pub direction: Direction,
    pub text: String,
}

impl NewMessage {
    pub const MAX_TEXT_CHARS: usize = 65_536;

    pub fn from_json(body: Map<String, Value>) -> Result<NewMessage, FieldError> {
        let contactd_wire::NewMessage { direction, text } =
            input::decode::<_, contactd_wire::Message>(body)?;
        if text.trim().is_empty() {
            return Err(FieldError::new("text", "text must not be empty")
                .received(text)
                .expected("a non-empty string"));
        }
        if text.contains('\0') {
            // PostgreSQL cannot store it in text; refused on every backend alike.
            return Err(FieldError::new(
                "text",
                "text must not contain the NUL character (\\u0000)",
            )
            .expected("text without \\u0000"));
        }
        if text.chars().count() > Self::MAX_TEXT_CHARS {
            return Err(FieldError::new("text", "text is too long")
                .expected(format!("at most {} characters", Self::MAX_TEXT_CHARS)));
        }
        Ok(NewMessage { direction, text })
    }
}

/// Offset paging: `limit` 1–100 (default 20), `offset` ≥ 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub limit: u32,
    pub offset: u64,
}

impl Page {
    pub const DEFAULT_LIMIT: u32 = 20;
    pub const MAX_LIMIT: u32 = 100;

    pub fn parse(limit: Option<&str>, offset: Option<&str>) -> Result<Page, FieldError> {
        let limit = match limit {
            None => Self::DEFAULT_LIMIT,
            Some(raw) => raw
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=Self::MAX_LIMIT).contains(n))
                .ok_or_else(|| {
                    FieldError::new("limit", "limit must be an integer from 1 to 100")
                        .received(input::truncate(raw, 100))
                        .expected("an integer from 1 to 100")
                })?,
        };
        let offset = match offset {
            None => 0,
            Some(raw) => raw
                .parse::<u64>()
                .ok()
                .filter(|n| i64::try_from(*n).is_ok())
                .ok_or_else(|| {
                    FieldError::new("offset", "offset must be a non-negative integer")
                        .received(input::truncate(raw, 100))
                        .expected("an integer >= 0")
                })?,
        };
        Ok(Page { limit, offset })
    }
}

/// One page of a list and the total number of items matching the filters.
#[derive(Debug, Clone, PartialEq)]
pub struct Listing<T> {
    pub items: Vec<T>,
    pub total: u64,
    pub page: Page,
}

/// Filters of a contact's conversation list.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ConversationFilter {
    pub status: Option<ConversationStatus>,
    pub channel: Option<Channel>,
}

impl ConversationFilter {
    pub fn parse(status: Option<&str>, channel: Option<&str>) -> Result<Self, FieldError> {
        let status = status
            .map(|s| {
                input::one_of(
                    "status",
                    s,
                    ConversationStatus::parse,
                    ConversationStatus::ALL,
                )
            })
            .transpose()?;
        let channel = channel
            .map(|s| input::one_of("channel", s, Channel::parse, Channel::ALL))
            .transpose()?;
        Ok(ConversationFilter { status, channel })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_bounds() {
        assert_eq!(
            Page::parse(None, None),
            Ok(Page {
                limit: 20,
                offset: 0
            })
        );
        assert_eq!(
            Page::parse(Some("100"), Some("5")),
            Ok(Page {
                limit: 100,
                offset: 5
            })
        );
        for bad in ["0", "101", "abc", "-1", "", "1.5"] {
            assert!(Page::parse(Some(bad), None).is_err(), "{bad}");
        }
        for bad in ["-1", "x", "", "99999999999999999999"] {
            assert!(Page::parse(None, Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn filters_reject_unknown_values() {
        assert!(ConversationFilter::parse(Some("bogus"), None).is_err());
        assert!(ConversationFilter::parse(None, Some("fax")).is_err());
        assert_eq!(
            ConversationFilter::parse(Some("open"), Some("sms")),
            Ok(ConversationFilter {
                status: Some(ConversationStatus::Open),
                channel: Some(Channel::Sms)
            })
        );
    }
}
