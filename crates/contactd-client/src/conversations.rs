//! `/v2/conversation`: conversations with contacts and their messages.

use reqwest::Method;
use serde::Serialize;

use crate::client::{path, Call, Client};
use crate::error::Result;
use crate::models::{
    Conversation, ConversationStatus, Direction, List, Message, NewConversation, Page,
};

const CONVERSATIONS: &str = "/v2/conversation";

/// The conversations of the key's workspace: `client.conversations()`.
#[derive(Debug, Clone, Copy)]
pub struct Conversations<'a> {
    client: &'a Client,
}

impl<'a> Conversations<'a> {
    pub(crate) fn new(client: &'a Client) -> Conversations<'a> {
        Conversations { client }
    }

    /// Starts a conversation with a contact (`POST /v2/conversation`).
    ///
    /// Fails with [`crate::Error::NotFound`] when the contact does not exist.
    pub async fn create(&self, conversation: &NewConversation) -> Result<Conversation> {
        self.create_inner(conversation, None).await
    }

    /// Like [`Conversations::create`], with your own `Idempotency-Key`.
    pub async fn create_with_key(
        &self,
        conversation: &NewConversation,
        idempotency_key: &str,
    ) -> Result<Conversation> {
        self.create_inner(conversation, Some(idempotency_key)).await
    }

    async fn create_inner(
        &self,
        conversation: &NewConversation,
        key: Option<&str>,
    ) -> Result<Conversation> {
        let call = Call::post(CONVERSATIONS)
            .json(conversation)?
            .idempotency_key(key);
        self.client.send(call).await?.json()
    }

    /// The conversation with this id (`GET /v2/conversation/{id}`).
    pub async fn get(&self, id: &str) -> Result<Conversation> {
        let call = Call::get(path(CONVERSATIONS, id, "")?);
        self.client.send(call).await?.json()
    }

    /// Opens, closes or archives the conversation (`PUT /v2/conversation/{id}`).
    pub async fn update_status(
        &self,
        id: &str,
        status: ConversationStatus,
    ) -> Result<Conversation> {
        #[derive(Serialize)]
        struct StatusChange {
            status: ConversationStatus,
        }
        let call =
            Call::new(Method::PUT, path(CONVERSATIONS, id, "")?).json(&StatusChange { status })?;
        self.client.send(call).await?.json()
    }

    /// A page of the conversation's messages, oldest first
    /// (`GET /v2/conversation/{id}/messages`).
    pub async fn messages(&self, id: &str, page: Page) -> Result<List<Message>> {
        let call = Call::get(path(CONVERSATIONS, id, "/messages")?).query(page.to_query());
        self.client.send(call).await?.json()
    }

    /// Adds a message to the conversation (`POST /v2/conversation/{id}/messages`). An
    /// outbound message also sets the contact's `last_contacted`.
    pub async fn send_message(
        &self,
        id: &str,
        direction: Direction,
        text: &str,
    ) -> Result<Message> {
        self.send_message_inner(id, direction, text, None).await
    }

    /// Like [`Conversations::send_message`], with your own `Idempotency-Key`, so that a
    /// message sent again after an uncertain failure is recorded once.
    pub async fn send_message_with_key(
        &self,
        id: &str,
        direction: Direction,
        text: &str,
        idempotency_key: &str,
    ) -> Result<Message> {
        self.send_message_inner(id, direction, text, Some(idempotency_key))
            .await
    }

    async fn send_message_inner(
        &self,
        id: &str,
        direction: Direction,
        text: &str,
        key: Option<&str>,
    ) -> Result<Message> {
        #[derive(Serialize)]
        struct NewMessage<'t> {
            direction: Direction,
            text: &'t str,
        }
        let call = Call::post(path(CONVERSATIONS, id, "/messages")?)
            .json(&NewMessage { direction, text })?
            .idempotency_key(key);
        self.client.send(call).await?.json()
    }
}
