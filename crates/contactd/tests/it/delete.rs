//! A business deletes a contact: it answers the contact as it was, then it is gone, with
//! its conversations and messages, and its phone and email are free again.

use serde_json::{json, Value};

use crate::utils::{assert_contact_shape, assert_error, contact_path, TestServer};

async fn john(server: &TestServer) -> Value {
    server
        .create_contact(json!({
            "phone": "+14155550100",
            "email": "john@example.com",
            "first_name": "John",
            "last_name": "Doe",
            "preferred_channel": "sms",
            "metadata": {"plan": "premium"}
        }))
        .await
}

#[tokio::test]
async fn delete_answers_the_contact_as_it_was_with_status_deleted() {
    let server = TestServer::start().await;
    john(&server).await;
    // Change it once so "as it was" means the latest state, not the created one.
    let id_resp = server.get("/v2/contact/john@example.com").await.expect(200);
    let id = id_resp["id"].as_str().unwrap().to_string();
    let before = server
        .update_contact(&id, json!({"status": "inactive", "metadata": {"x": 1}}))
        .await;
    let resp = server.delete(&contact_path(&id)).await;
    let deleted = resp.expect(200);
    assert_contact_shape(&deleted);
    assert_eq!(deleted["status"], "deleted");
    for (field, value) in before.as_object().unwrap() {
        if field != "status" {
            assert_eq!(&deleted[field], value, "{field} as it was: {deleted}");
        }
    }
}

#[tokio::test]
async fn a_deleted_contact_is_gone() {
    let server = TestServer::start().await;
    let contact = john(&server).await;
    let id = contact["id"].as_str().unwrap();
    server.delete(&contact_path(id)).await.expect(200);
    for path in [
        contact_path(id),
        "/v2/contact/%2B14155550100".to_string(),
        "/v2/contact/john@example.com".to_string(),
        format!("/v2/contact/{id}/conversations"),
    ] {
        assert_error(&server.get(&path).await, 404, "not_found");
    }
    assert_error(&server.delete(&contact_path(id)).await, 404, "not_found");
    assert_error(
        &server
            .put(&contact_path(id), &json!({"first_name": "Lazarus"}))
            .await,
        404,
        "not_found",
    );
    let resp = server
        .post(
            "/v2/conversation",
            &json!({"contact_id": id, "channel": "sms"}),
        )
        .await;
    assert_error(&resp, 404, "not_found");
}

#[tokio::test]
async fn deleting_a_contact_deletes_its_conversations_and_messages() {
    let server = TestServer::start().await;
    let contact = john(&server).await;
    let id = contact["id"].as_str().unwrap();
    let other = server
        .create_contact(json!({"phone": "+14155550200"}))
        .await;
    let other_id = other["id"].as_str().unwrap();

    let mut conversations = Vec::new();
    for channel in ["sms", "whatsapp", "email"] {
        let conversation = server.create_conversation(id, channel).await;
        let conversation_id = conversation["id"].as_str().unwrap().to_string();
        server
            .post_message(&conversation_id, "outbound", "Hi John")
            .await;
        server
            .post_message(&conversation_id, "inbound", "Hello")
            .await;
        conversations.push(conversation_id);
    }
    let kept = server.create_conversation(other_id, "sms").await;
    let kept_id = kept["id"].as_str().unwrap();
    server.post_message(kept_id, "outbound", "Hi other").await;

    server.delete(&contact_path(id)).await.expect(200);

    for conversation_id in &conversations {
        let path = format!("/v2/conversation/{conversation_id}");
        assert_error(&server.get(&path).await, 404, "not_found");
        assert_error(
            &server.get(&format!("{path}/messages")).await,
            404,
            "not_found",
        );
        let resp = server
            .post(
                &format!("{path}/messages"),
                &json!({"direction": "inbound", "text": "late"}),
            )
            .await;
        assert_error(&resp, 404, "not_found");
        let resp = server.put(&path, &json!({"status": "closed"})).await;
        assert_error(&resp, 404, "not_found");
    }
    // Another contact's conversation is untouched.
    let kept_now = server.get_conversation(kept_id).await;
    assert_eq!(kept_now["message_count"], 1);
    let messages = server
        .get(&format!("/v2/conversation/{kept_id}/messages"))
        .await
        .expect(200);
    assert_eq!(messages["total"], 1);
}

#[tokio::test]
async fn a_contact_is_deleted_by_phone_or_email_ref() {
    let server = TestServer::start().await;
    let contact = john(&server).await;
    let resp = server.delete("/v2/contact/%2B14155550100").await;
    let deleted = resp.expect(200);
    assert_eq!(deleted["id"], contact["id"]);
    assert_eq!(deleted["status"], "deleted");

    let by_email = server
        .create_contact(json!({"email": "Jane@Example.com"}))
        .await;
    let deleted = server
        .delete("/v2/contact/jane@example.com")
        .await
        .expect(200);
    assert_eq!(deleted["id"], by_email["id"]);
    assert_error(
        &server.get("/v2/contact/jane@example.com").await,
        404,
        "not_found",
    );

    let literal = server
        .create_contact(json!({"phone": "+14155550300"}))
        .await;
    let deleted = server.delete("/v2/contact/+14155550300").await.expect(200);
    assert_eq!(deleted["id"], literal["id"]);
}

#[tokio::test]
async fn a_deleted_contacts_phone_and_email_can_be_reused() {
    let server = TestServer::start().await;
    let first = john(&server).await;
    server
        .delete("/v2/contact/%2B14155550100")
        .await
        .expect(200);
    let second = server
        .create_contact(json!({"phone": "+14155550100", "email": "JOHN@example.com"}))
        .await;
    assert_ne!(second["id"], first["id"], "a new contact, a new id");
    assert!(
        second["first_name"].is_null(),
        "nothing of the old contact comes back"
    );
    assert_eq!(second["metadata"], json!({}));
    assert_eq!(server.get_contact("+14155550100").await["id"], second["id"]);
}

#[tokio::test]
async fn deleting_a_missing_contact_is_404_and_a_bad_ref_400() {
    let server = TestServer::start().await;
    for path in [
        "/v2/contact/cnt_doesnotexist0000",
        "/v2/contact/%2B14155550199",
        "/v2/contact/nobody@example.com",
    ] {
        assert_error(&server.delete(path).await, 404, "not_found");
    }
    let resp = server.delete("/v2/contact/hello").await;
    assert_error(&resp, 400, "invalid_input");
}
