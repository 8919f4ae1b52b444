//! Conversations and messages, and a contact's conversations.

use contactd_client::{
    Channel, ConversationStatus, Direction, Error, ListConversations, NewContact, NewConversation,
    Page,
};

use crate::utils::{phone, TestServer};

#[tokio::test]
async fn a_conversation_from_creation_to_messages() {
    let server = TestServer::start().await;
    let client = server.client();
    let contact = client
        .contacts()
        .create(&NewContact::with_phone(phone(1)).first_name("John"))
        .await
        .unwrap();

    let conversation = client
        .conversations()
        .create(&NewConversation::new(phone(1), Channel::Whatsapp))
        .await
        .unwrap();
    assert!(conversation.id.starts_with("conv_"));
    assert_eq!(
        conversation.contact_id, contact.id,
        "any ref is stored as the id"
    );
    assert_eq!(conversation.channel, Channel::Whatsapp);
    assert_eq!(conversation.status, ConversationStatus::Open);
    assert_eq!(
        (
            conversation.message_count,
            conversation.last_message_at.as_deref()
        ),
        (0, None)
    );

    let inbound = client
        .conversations()
        .send_message(&conversation.id, Direction::Inbound, "Hello?")
        .await
        .unwrap();
    let outbound = client
        .conversations()
        .send_message(&conversation.id, Direction::Outbound, "Hi John")
        .await
        .unwrap();
    assert!(outbound.id.starts_with("msg_"));
    assert_eq!(outbound.conversation_id, conversation.id);
    assert_eq!(
        (outbound.direction, outbound.text.as_str()),
        (Direction::Outbound, "Hi John")
    );

    let read = client.conversations().get(&conversation.id).await.unwrap();
    assert_eq!(read.message_count, 2);
    assert_eq!(
        read.last_message_at.as_deref(),
        Some(outbound.created_at.as_str())
    );
    let contacted = client.contacts().get(&contact.id).await.unwrap();
    assert_eq!(
        contacted.last_contacted.as_deref(),
        Some(outbound.created_at.as_str())
    );

    let page = client
        .conversations()
        .messages(&conversation.id, Page::first())
        .await
        .unwrap();
    let texts: Vec<&str> = page.data.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["Hello?", "Hi John"], "oldest first");
    assert_eq!((page.total, page.has_more), (Some(2), false));
    let page = client
        .conversations()
        .messages(&conversation.id, Page::new(1, 1))
        .await
        .unwrap();
    assert_eq!(page.data[0].id, outbound.id);
    assert_eq!((page.limit, page.offset), (1, Some(1)));
    assert_ne!(inbound.id, outbound.id);

    let closed = client
        .conversations()
        .update_status(&conversation.id, ConversationStatus::Closed)
        .await
        .unwrap();
    assert_eq!(closed.status, ConversationStatus::Closed);
}

#[tokio::test]
async fn a_contacts_conversations_with_filters() {
    let server = TestServer::start().await;
    let client = server.client();
    client
        .contacts()
        .create(&NewContact::with_email("c@example.com"))
        .await
        .unwrap();
    let sms = client
        .conversations()
        .create(&NewConversation::new("c@example.com", Channel::Sms))
        .await
        .unwrap();
    let archived = client
        .conversations()
        .create(
            &NewConversation::new("c@example.com", Channel::Email)
                .status(ConversationStatus::Archived),
        )
        .await
        .unwrap();

    let list = |query: ListConversations| {
        let client = client.clone();
        async move {
            client
                .contacts()
                .conversations("c@example.com", &query)
                .await
                .unwrap()
        }
    };
    let all = list(ListConversations::new()).await;
    let ids: Vec<&str> = all.data.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, [&archived.id, &sms.id], "newest first");
    assert_eq!(all.total, Some(2));
    let only = list(ListConversations::new().status(ConversationStatus::Archived)).await;
    assert_eq!(only.data[0].id, archived.id);
    assert_eq!(only.data.len(), 1);
    let only = list(ListConversations::new().channel(Channel::Sms)).await;
    assert_eq!(only.data[0].id, sms.id);
    let page = list(ListConversations::new().limit(1).offset(1)).await;
    assert_eq!(
        (page.data[0].id.as_str(), page.has_more),
        (sms.id.as_str(), false)
    );

    let err = client
        .contacts()
        .conversations("c@example.com", &ListConversations::new().limit(101))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidInput { field: Some(f), .. } if f == "limit"),
        "{err:?}"
    );
    let err = client
        .conversations()
        .get("not-a-conversation")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidInput { field: Some(f), .. } if f == "id"),
        "{err:?}"
    );

    // Deleting the contact takes its conversations with it.
    client.contacts().delete("c@example.com").await.unwrap();
    assert!(client
        .conversations()
        .get(&sms.id)
        .await
        .unwrap_err()
        .is_not_found());
}

#[tokio::test]
async fn posts_with_a_custom_key_are_recorded_once() {
    let server = TestServer::start().await;
    let client = server.client();
    client
        .contacts()
        .create(&NewContact::with_phone(phone(1)))
        .await
        .unwrap();
    let new = NewConversation::new(phone(1), Channel::Instagram);
    let first = client
        .conversations()
        .create_with_key(&new, "conv-1")
        .await
        .unwrap();
    let again = client
        .conversations()
        .create_with_key(&new, "conv-1")
        .await
        .unwrap();
    assert_eq!(first.id, again.id);

    let sent = client
        .conversations()
        .send_message_with_key(&first.id, Direction::Outbound, "once", "msg-1")
        .await
        .unwrap();
    let resent = client
        .conversations()
        .send_message_with_key(&first.id, Direction::Outbound, "once", "msg-1")
        .await
        .unwrap();
    assert_eq!(sent.id, resent.id);
    assert_eq!(
        client
            .conversations()
            .get(&first.id)
            .await
            .unwrap()
            .message_count,
        1
    );
}
