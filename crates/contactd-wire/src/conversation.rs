//! Conversations with a contact, and their messages.

use serde::{Deserialize, Serialize};

use crate::de::not_null;
use crate::enums::{Channel, ConversationStatus, Direction};

/// A conversation with a contact on one channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Conversation {
    /// `conv_` and lowercase letters and digits.
    #[cfg_attr(
        feature = "openapi",
        schema(
            pattern = "^conv_[0-9a-z]+$",
            example = "conv_038ggac0fy000b7n2k4t9qzdx1mr"
        )
    )]
    pub id: String,
    /// The contact's id, whatever reference created the conversation.
    #[cfg_attr(
        feature = "openapi",
        schema(
            pattern = "^cnt_[0-9a-z]+$",
            example = "cnt_038ggac0fy000a0wp1kh1adwpwetq"
        )
    )]
    pub contact_id: String,
    /// The channel.
    pub channel: Channel,
    /// `open`, `closed` or `archived`.
    pub status: ConversationStatus,
    /// When the conversation was created.
    #[cfg_attr(feature = "openapi", schema(format = DateTime, example = "2026-01-25T10:30:00.000000Z"))]
    pub created_at: String,
    /// When it last changed (a status change or a new message).
    #[cfg_attr(feature = "openapi", schema(format = DateTime, example = "2026-01-25T10:30:00.000000Z"))]
    pub updated_at: String,
    /// The `created_at` of the newest message.
    #[cfg_attr(feature = "openapi", schema(required = true, format = DateTime))]
    pub last_message_at: Option<String>,
    /// How many messages it holds.
    #[cfg_attr(feature = "openapi", schema(example = 0))]
    pub message_count: u64,
}

/// A conversation to create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = ConversationCreate, example = json!({"contact_id": "+1234567890", "channel": "sms"})))]
pub struct NewConversation {
    /// Any contact reference (id, phone or email); stored as the contact's id.
    #[cfg_attr(feature = "openapi", schema(schema_with = contact_ref))]
    pub contact_id: String,
    /// The channel.
    pub channel: Channel,
    /// `open` (the default), `closed` or `archived`; cannot be null.
    #[serde(
        default,
        deserialize_with = "not_null",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub status: Option<ConversationStatus>,
}

impl NewConversation {
    /// An open conversation with the contact `contact_ref` (id, phone or email) on `channel`.
    pub fn new(contact_ref: impl Into<String>, channel: Channel) -> NewConversation {
        NewConversation {
            contact_id: contact_ref.into(),
            channel,
            status: None,
        }
    }

    /// Sets the status.
    pub fn status(mut self, status: ConversationStatus) -> NewConversation {
        self.status = Some(status);
        self
    }
}

/// A message of a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Message {
    /// `msg_` and lowercase letters and digits.
    #[cfg_attr(
        feature = "openapi",
        schema(
            pattern = "^msg_[0-9a-z]+$",
            example = "msg_038ggac0fy000c3m5p8r1vwx7yzb"
        )
    )]
    pub id: String,
    /// The conversation's id.
    #[cfg_attr(
        feature = "openapi",
        schema(
            pattern = "^conv_[0-9a-z]+$",
            example = "conv_038ggac0fy000b7n2k4t9qzdx1mr"
        )
    )]
    pub conversation_id: String,
    /// `inbound` or `outbound`.
    pub direction: Direction,
    /// The text.
    #[cfg_attr(feature = "openapi", schema(example = "Hi John"))]
    pub text: String,
    /// When the message was created.
    #[cfg_attr(feature = "openapi", schema(format = DateTime, example = "2026-01-25T10:30:00.000000Z"))]
    pub created_at: String,
}

/// `PUT /v2/conversation/{conversation_id}`: only the status can change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"status": "closed"})))]
pub struct ConversationUpdate {
    /// The new status; cannot be null.
    #[serde(
        default,
        deserialize_with = "not_null",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub status: Option<ConversationStatus>,
}

/// `POST /v2/conversation/{conversation_id}/messages`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = MessageCreate, example = json!({"direction": "outbound", "text": "Hi John"})))]
pub struct NewMessage {
    /// `inbound` (from the contact) or `outbound` (to the contact).
    pub direction: Direction,
    /// Not blank, at most 65,536 characters.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 65536))]
    pub text: String,
}

/// A `$ref` to `ContactRef`, the schema of a contact id, phone or email, which the
/// server's document declares with the `{ref}` of its paths.
#[cfg(feature = "openapi")]
fn contact_ref() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    utoipa::openapi::Ref::from_schema_name("ContactRef").into()
}
