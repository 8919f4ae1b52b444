//! Keys: each belongs to one workspace and one mode, and sees exactly that tenant's data.

use serde_json::json;

use crate::utils::{assert_error, TestServer};

#[tokio::test]
async fn keys_of_the_same_workspace_and_mode_share_their_data() {
    let server = TestServer::start().await;
    let contact = server
        .create_contact(json!({"phone": "+14155550100", "email": "john@example.com"}))
        .await;
    let id = contact["id"].as_str().unwrap();
    let second_live = server.new_key("acme", "live").await;
    assert_ne!(second_live, server.key, "every key is new");
    let seen = server
        .get_as(&second_live, &format!("/v2/contact/{id}"))
        .await
        .expect(200);
    assert_eq!(seen, contact);
    // And a write through one key is seen through the other.
    server
        .put_as(
            &second_live,
            "/v2/contact/john@example.com",
            &json!({"first_name": "Via2"}),
        )
        .await
        .expect(200);
    assert_eq!(server.get_contact(id).await["first_name"], "Via2");
}

#[tokio::test]
async fn live_and_test_data_are_separate() {
    let server = TestServer::start().await;
    let live = server
        .create_contact(json!({"phone": "+14155550100"}))
        .await;
    let resp = server
        .get_as(&server.test_key, "/v2/contact/%2B14155550100")
        .await;
    assert_error(&resp, 404, "not_found");
    let test = server
        .post_as(
            &server.test_key,
            "/v2/contact",
            &json!({"phone": "+14155550100", "first_name": "Test"}),
        )
        .await
        .expect(201);
    assert_ne!(test["id"], live["id"]);
    let seen_live = server.get_contact("+14155550100").await;
    assert_eq!(
        seen_live, live,
        "the test-mode create did not touch live data"
    );
    let seen_test = server
        .get_as(&server.test_key, "/v2/contact/%2B14155550100")
        .await
        .expect(200);
    assert_eq!(seen_test, test);
    // Deleting in test mode leaves live alone.
    server
        .delete_as(&server.test_key, "/v2/contact/%2B14155550100")
        .await
        .expect(200);
    assert_eq!(server.get_contact("+14155550100").await, live);
}

#[tokio::test]
async fn workspaces_are_separate() {
    let server = TestServer::start().await;
    let acme = server
        .create_contact(json!({"email": "shared@example.com"}))
        .await;
    let globex = server.new_key("globex", "live").await;
    assert!(globex.starts_with("sk_live_"));
    let globex_test = server.new_key("globex", "test").await;
    assert!(globex_test.starts_with("sk_test_"));
    for key in [&globex, &globex_test] {
        let resp = server.get_as(key, "/v2/contact/shared@example.com").await;
        assert_error(&resp, 404, "not_found");
    }
    let theirs = server
        .post_as(
            &globex,
            "/v2/contact",
            &json!({"email": "SHARED@example.com"}),
        )
        .await
        .expect(201);
    assert_ne!(theirs["id"], acme["id"]);
    let conversation = server
        .post_as(
            &globex,
            "/v2/conversation",
            &json!({"contact_id": "shared@example.com", "channel": "email"}),
        )
        .await
        .expect(201);
    assert_eq!(
        conversation["contact_id"], theirs["id"],
        "refs resolve inside the workspace"
    );
    let list = server
        .get("/v2/contact/shared@example.com/conversations")
        .await
        .expect(200);
    assert_eq!(list["total"], 0, "acme does not see globex's conversation");
}

#[tokio::test]
async fn keys_are_prefixed_by_mode() {
    let server = TestServer::start().await;
    assert!(server.key.starts_with("sk_live_"));
    assert!(server.test_key.starts_with("sk_test_"));
    assert!(
        server.key.len() >= "sk_live_".len() + 16,
        "a key carries enough secret"
    );
    let works = server
        .get_as(&server.test_key, "/v2/contact/cnt_doesnotexist0000")
        .await;
    assert_error(&works, 404, "not_found");
}
