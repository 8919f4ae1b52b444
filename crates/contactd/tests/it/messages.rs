//! A business records messages in a conversation: counts and times follow, outbound
//! messages mark the contact as contacted, and messages list oldest first.

use serde_json::json;

use crate::utils::{assert_error, assert_invalid, assert_list, ids, ts, TestServer};

/// A contact and one open SMS conversation with it: (contact id, conversation id).
async fn john_with_conversation(server: &TestServer) -> (String, String) {
    let contact = server
        .create_contact(json!({"phone": "+14155550100", "first_name": "John"}))
        .await;
    let id = contact["id"].as_str().unwrap().to_string();
    let conversation = server.create_conversation(&id, "sms").await;
    (id, conversation["id"].as_str().unwrap().to_string())
}

#[tokio::test]
async fn an_outbound_message_updates_the_conversation_and_the_contact() {
    let server = TestServer::start().await;
    let (contact_id, conversation_id) = john_with_conversation(&server).await;
    let before = server.get_conversation(&conversation_id).await;

    let resp = server
        .post(
            &format!("/v2/conversation/{conversation_id}/messages"),
            &json!({"direction": "outbound", "text": "Hi John"}),
        )
        .await;
    let message = resp.expect(201);
    crate::utils::assert_message_shape(&message);
    assert_eq!(message["conversation_id"], conversation_id.as_str());
    assert_eq!(message["direction"], "outbound");
    assert_eq!(message["text"], "Hi John");

    let after = server.get_conversation(&conversation_id).await;
    assert_eq!(after["message_count"], 1);
    assert_eq!(ts(&after["last_message_at"]), ts(&message["created_at"]));
    assert!(
        ts(&after["updated_at"]) > ts(&before["updated_at"]),
        "updated_at moves"
    );
    assert_eq!(after["created_at"], before["created_at"]);
    assert_eq!(after["status"], before["status"]);

    let contact = server.get_contact(&contact_id).await;
    assert_eq!(
        ts(&contact["last_contacted"]),
        ts(&message["created_at"]),
        "last_contacted is the outbound message's time"
    );
}

#[tokio::test]
async fn an_inbound_message_does_not_mark_the_contact_contacted() {
    let server = TestServer::start().await;
    let (contact_id, conversation_id) = john_with_conversation(&server).await;
    let inbound = server
        .post_message(&conversation_id, "inbound", "Hello?")
        .await;
    assert_eq!(inbound["direction"], "inbound");
    let conversation = server.get_conversation(&conversation_id).await;
    assert_eq!(conversation["message_count"], 1);
    assert_eq!(
        ts(&conversation["last_message_at"]),
        ts(&inbound["created_at"])
    );
    assert!(server.get_contact(&contact_id).await["last_contacted"].is_null());

    let outbound = server
        .post_message(&conversation_id, "outbound", "Hi!")
        .await;
    let later_inbound = server
        .post_message(&conversation_id, "inbound", "Thanks")
        .await;
    let contact = server.get_contact(&contact_id).await;
    assert_eq!(
        ts(&contact["last_contacted"]),
        ts(&outbound["created_at"]),
        "an inbound reply leaves last_contacted at the outbound message"
    );
    let conversation = server.get_conversation(&conversation_id).await;
    assert_eq!(conversation["message_count"], 3);
    assert_eq!(
        ts(&conversation["last_message_at"]),
        ts(&later_inbound["created_at"])
    );
}

#[tokio::test]
async fn last_contacted_follows_the_newest_outbound_message_across_conversations() {
    let server = TestServer::start().await;
    let (contact_id, first) = john_with_conversation(&server).await;
    let second = server.create_conversation("+14155550100", "whatsapp").await;
    let second = second["id"].as_str().unwrap();
    let m1 = server.post_message(&first, "outbound", "one").await;
    assert_eq!(
        ts(&server.get_contact(&contact_id).await["last_contacted"]),
        ts(&m1["created_at"])
    );
    let m2 = server.post_message(second, "outbound", "two").await;
    assert!(ts(&m2["created_at"]) >= ts(&m1["created_at"]));
    assert_eq!(
        ts(&server.get_contact(&contact_id).await["last_contacted"]),
        ts(&m2["created_at"])
    );
    // Counts are per conversation.
    assert_eq!(server.get_conversation(&first).await["message_count"], 1);
    assert_eq!(server.get_conversation(second).await["message_count"], 1);
}

#[tokio::test]
async fn a_bad_message_is_refused_and_changes_nothing() {
    let server = TestServer::start().await;
    let (contact_id, conversation_id) = john_with_conversation(&server).await;
    let before = server.get_conversation(&conversation_id).await;
    let path = format!("/v2/conversation/{conversation_id}/messages");
    let cases = [
        ("direction", json!({"direction": "sideways", "text": "x"})),
        ("direction", json!({"direction": "OUTBOUND", "text": "x"})),
        ("direction", json!({"text": "x"})),
        ("direction", json!({"direction": null, "text": "x"})),
        ("text", json!({"direction": "outbound", "text": ""})),
        ("text", json!({"direction": "outbound"})),
        ("text", json!({"direction": "outbound", "text": null})),
        ("text", json!({"direction": "outbound", "text": 5})),
    ];
    for (field, body) in cases {
        let resp = server.post(&path, &body).await;
        assert_invalid(&resp, field);
    }
    for body in [&b"not json"[..], b"[]"] {
        let resp = server
            .request(
                "POST",
                &path,
                Some(&server.key),
                Some(body),
                Some("application/json"),
            )
            .await;
        assert_error(&resp, 400, "invalid_input");
    }
    assert_eq!(
        server.get_conversation(&conversation_id).await,
        before,
        "nothing changed"
    );
    assert!(server.get_contact(&contact_id).await["last_contacted"].is_null());
    let list = server.get(&path).await.expect(200);
    assert_list(&list, 0, 20, 0, false);
}

#[tokio::test]
async fn messages_are_listed_oldest_first_with_paging() {
    let server = TestServer::start().await;
    let (_, conversation_id) = john_with_conversation(&server).await;
    let mut created = Vec::new();
    for n in 0..5 {
        let direction = if n % 2 == 0 { "inbound" } else { "outbound" };
        created.push(
            server
                .post_message(&conversation_id, direction, &format!("message {n}"))
                .await,
        );
    }
    let oldest_first = ids(&created);
    for pair in oldest_first.windows(2) {
        assert!(pair[0] < pair[1], "message ids sort by creation");
    }
    let path = format!("/v2/conversation/{conversation_id}/messages");
    let list = server.get(&path).await.expect(200);
    let data = assert_list(&list, 5, 20, 0, false);
    assert_eq!(data, created, "oldest first, each as it was created");

    let cases: [(&str, u64, u64, bool, &[String]); 4] = [
        ("limit=2", 2, 0, true, &oldest_first[0..2]),
        ("limit=2&offset=2", 2, 2, true, &oldest_first[2..4]),
        ("limit=2&offset=4", 2, 4, false, &oldest_first[4..5]),
        ("offset=5", 20, 5, false, &[]),
    ];
    for (query, limit, offset, has_more, expected) in cases {
        let list = server.get(&format!("{path}?{query}")).await.expect(200);
        let data = assert_list(&list, 5, limit, offset, has_more);
        assert_eq!(ids(&data), expected, "?{query}");
    }
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=abc", "limit"),
        ("offset=-1", "offset"),
        ("foo=bar", "foo"),
    ] {
        assert_invalid(&server.get(&format!("{path}?{query}")).await, field);
    }
}

#[tokio::test]
async fn message_text_is_stored_exactly() {
    let server = TestServer::start().await;
    let (_, conversation_id) = john_with_conversation(&server).await;
    let text = "Olá 👋 \"quoted\" <b>tags</b>\nnew line\ttab \\ backslash";
    let message = server
        .post_message(&conversation_id, "outbound", text)
        .await;
    assert_eq!(message["text"], text);
    let list = server
        .get(&format!("/v2/conversation/{conversation_id}/messages"))
        .await
        .expect(200);
    assert_eq!(list["data"][0]["text"], text);
}
