//! An operator restarts contactd: every acknowledged write is still there.

use serde_json::{json, Value};

use crate::utils::{assert_error, phone, TestServer};

#[tokio::test]
async fn every_acknowledged_write_survives_a_restart() {
    let server = TestServer::start().await;

    let kept = server
        .create_contact(json!({
            "phone": "+14155550100",
            "email": "john@example.com",
            "first_name": "John",
            "last_name": "Doe",
            "preferred_channel": "whatsapp",
            "metadata": {"plan": "premium", "source": "website", "tags": ["a"]}
        }))
        .await;
    let kept_id = kept["id"].as_str().unwrap().to_string();
    let updated = server
        .update_contact(
            &kept_id,
            json!({"last_name": null, "status": "inactive", "metadata": {"plan": "enterprise", "source": null}}),
        )
        .await;
    assert_eq!(
        updated["metadata"],
        json!({"plan": "enterprise", "tags": ["a"]})
    );

    let conversation = server.create_conversation(&kept_id, "sms").await;
    let conversation_id = conversation["id"].as_str().unwrap().to_string();
    server
        .post_message(&conversation_id, "outbound", "Hi John")
        .await;
    server
        .post_message(&conversation_id, "inbound", "Hello")
        .await;
    let closed = server
        .put(
            &format!("/v2/conversation/{conversation_id}"),
            &json!({"status": "closed"}),
        )
        .await
        .expect(200);
    let messages = server
        .get(&format!("/v2/conversation/{conversation_id}/messages"))
        .await
        .expect(200);

    let doomed = server
        .create_contact(json!({"phone": "+14155550200", "email": "gone@example.com"}))
        .await;
    let doomed_id = doomed["id"].as_str().unwrap().to_string();
    let doomed_conversation = server.create_conversation(&doomed_id, "email").await;
    let doomed_conversation_id = doomed_conversation["id"].as_str().unwrap().to_string();
    server
        .post_message(&doomed_conversation_id, "outbound", "bye")
        .await;
    server
        .delete(&format!("/v2/contact/{doomed_id}"))
        .await
        .expect(200);

    let test_mode = server
        .post_as(
            &server.test_key,
            "/v2/contact",
            &json!({"phone": "+14155550300"}),
        )
        .await
        .expect(201);

    let mut many = Vec::new();
    for n in 0..50 {
        many.push(
            server
                .create_contact(json!({"phone": phone(1000 + n)}))
                .await,
        );
    }

    // The state as clients last saw it.
    let kept_before = server.get_contact(&kept_id).await;
    let conversation_before = server.get_conversation(&conversation_id).await;
    assert_eq!(conversation_before["status"], closed["status"]);
    let list_before = server
        .get(&format!("/v2/contact/{kept_id}/conversations"))
        .await
        .expect(200);

    let server = server.restart().await;

    assert_eq!(server.get_contact(&kept_id).await, kept_before);
    assert!(!kept_before["last_contacted"].is_null());
    assert_eq!(
        server.get_conversation(&conversation_id).await,
        conversation_before
    );
    assert_eq!(conversation_before["message_count"], 2);
    assert_eq!(
        server
            .get(&format!("/v2/conversation/{conversation_id}/messages"))
            .await
            .expect(200),
        messages
    );
    assert_eq!(
        server
            .get(&format!("/v2/contact/{kept_id}/conversations"))
            .await
            .expect(200),
        list_before
    );

    for path in [
        format!("/v2/contact/{doomed_id}"),
        "/v2/contact/%2B14155550200".to_string(),
        "/v2/contact/gone@example.com".to_string(),
        format!("/v2/conversation/{doomed_conversation_id}"),
        format!("/v2/conversation/{doomed_conversation_id}/messages"),
    ] {
        assert_error(&server.get(&path).await, 404, "not_found");
    }

    let test_id = test_mode["id"].as_str().unwrap();
    let seen = server
        .get_as(&server.test_key, &format!("/v2/contact/{test_id}"))
        .await
        .expect(200);
    assert_eq!(
        seen, test_mode,
        "test-mode data and the test key survive too"
    );

    for contact in &many {
        let id = contact["id"].as_str().unwrap();
        assert_eq!(&server.get_contact(id).await, contact);
    }

    // The uniqueness rules hold across the restart, and the server takes new writes.
    let resp = server
        .post("/v2/contact", &json!({"email": "JOHN@example.com"}))
        .await;
    let details = assert_error(&resp, 409, "duplicate_contact");
    assert_eq!(details["existing_contact_id"], kept_id.as_str());
    server
        .create_contact(json!({"phone": "+14155550200"}))
        .await;
}

#[tokio::test]
async fn ids_keep_sorting_by_creation_across_a_restart() {
    let server = TestServer::start().await;
    let before: Value = server.create_contact(json!({"phone": phone(1)})).await;
    let server = server.restart().await;
    let after = server.create_contact(json!({"phone": phone(2)})).await;
    assert!(
        before["id"].as_str().unwrap() < after["id"].as_str().unwrap(),
        "ids sort by creation"
    );
}

#[tokio::test]
async fn a_server_can_be_restarted_twice() {
    let server = TestServer::start().await;
    let first = server.create_contact(json!({"phone": phone(1)})).await;
    let server = server.restart().await;
    let second = server.create_contact(json!({"phone": phone(2)})).await;
    let server = server.restart().await;
    assert_eq!(
        server.get_contact(first["id"].as_str().unwrap()).await,
        first
    );
    assert_eq!(
        server.get_contact(second["id"].as_str().unwrap()).await,
        second
    );
}

#[tokio::test]
async fn a_new_server_on_an_existing_database_sees_its_data() {
    let mut first = TestServer::start().await;
    let contact = first
        .create_contact(json!({"phone": phone(1), "metadata": {"kept": true}}))
        .await;
    first.stop().await;
    // New keys for the same workspace and mode see the same data.
    let second = TestServer::start_on(first.database_url()).await;
    assert_ne!(second.key, first.key);
    assert_eq!(
        second.get_contact(contact["id"].as_str().unwrap()).await,
        contact
    );
    let resp = second
        .get_as(&first.key, "/v2/contact/cnt_doesnotexist0000")
        .await;
    assert_error(&resp, 404, "not_found");
}
