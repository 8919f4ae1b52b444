//! A business finds a contact by id, phone or email, and never sees another tenant's contacts.

use serde_json::{json, Value};

use crate::utils::{assert_error, assert_invalid, contact_path, TestServer, MISSING_CONTACT_ID};

async fn john(server: &TestServer) -> Value {
    server
        .create_contact(json!({
            "phone": "+14155550100",
            "email": "john@example.com",
            "first_name": "John",
            "last_name": "Doe"
        }))
        .await
}

#[tokio::test]
async fn a_contact_is_found_by_id() {
    let server = TestServer::start().await;
    let contact = john(&server).await;
    let id = contact["id"].as_str().unwrap();
    let resp = server.get(&format!("/v2/contact/{id}")).await;
    assert_eq!(resp.expect(200), contact);
}

#[tokio::test]
async fn a_contact_is_found_by_phone_sent_as_percent_2b_or_as_plus() {
    let server = TestServer::start().await;
    let contact = john(&server).await;
    let encoded = server.get("/v2/contact/%2B14155550100").await;
    assert_eq!(encoded.expect(200), contact);
    let lower_hex = server.get("/v2/contact/%2b14155550100").await;
    assert_eq!(lower_hex.expect(200), contact);
    let literal = server.get("/v2/contact/+14155550100").await;
    assert_eq!(literal.expect(200), contact);
}

#[tokio::test]
async fn a_contact_is_found_by_email_in_any_case() {
    let server = TestServer::start().await;
    let contact = john(&server).await;
    for email in ["john@example.com", "JOHN@EXAMPLE.COM", "John@Example.Com"] {
        let resp = server.get(&format!("/v2/contact/{email}")).await;
        assert_eq!(resp.expect(200), contact, "by {email}");
    }
    let encoded = server.get("/v2/contact/john%40example.com").await;
    assert_eq!(
        encoded.expect(200),
        contact,
        "an email sent with @ percent-encoded"
    );
    let mixed = server
        .create_contact(json!({"email": "Mixed.Case@Example.org"}))
        .await;
    let resp = server.get("/v2/contact/mixed.case@example.org").await;
    assert_eq!(resp.expect(200), mixed);
}

#[tokio::test]
async fn missing_contacts_are_404_by_every_kind_of_ref() {
    let server = TestServer::start().await;
    john(&server).await;
    for path in [
        format!("/v2/contact/{MISSING_CONTACT_ID}"),
        "/v2/contact/%2B14155550199".to_string(),
        "/v2/contact/+14155550199".to_string(),
        "/v2/contact/nobody@example.com".to_string(),
    ] {
        let resp = server.get(&path).await;
        assert_error(&resp, 404, "not_found");
    }
}

#[tokio::test]
async fn a_phone_like_ref_without_plus_is_400_with_the_e164_form() {
    let server = TestServer::start().await;
    john(&server).await;
    let resp = server.get("/v2/contact/1234567890").await;
    let details = assert_invalid(&resp, "ref");
    assert_eq!(details["received"], "1234567890", "{}", resp.text);
    assert_eq!(details["expected"], "+1234567890", "{}", resp.text);
    // Even when a contact has that number with a plus, the ref without it is refused.
    let resp = server.get("/v2/contact/14155550100").await;
    let details = assert_invalid(&resp, "ref");
    assert_eq!(details["expected"], "+14155550100", "{}", resp.text);
}

#[tokio::test]
async fn a_ref_that_is_no_id_phone_or_email_is_400() {
    let server = TestServer::start().await;
    for bad in ["hello", "john", "conv_0000000000000000", "%2Babc", "%20"] {
        let resp = server.get(&format!("/v2/contact/{bad}")).await;
        assert_invalid(&resp, "ref");
    }
}

/// The other tenant's answer equals the answer for a contact that never existed, once the
/// ref itself is blanked out of both.
#[track_caller]
fn assert_same_as_missing(
    other: &crate::utils::Resp,
    other_ref: &str,
    missing: &crate::utils::Resp,
    missing_ref: &str,
) {
    assert_error(other, 404, "not_found");
    assert_error(missing, 404, "not_found");
    let blank = |text: &str, r: &str| {
        text.replace(r, "<ref>")
            .replace(&r.replace('+', "%2B"), "<ref>")
    };
    let other_body: Value = serde_json::from_str(&blank(&other.text, other_ref)).unwrap();
    let missing_body: Value = serde_json::from_str(&blank(&missing.text, missing_ref)).unwrap();
    assert_eq!(
        other_body, missing_body,
        "another tenant's contact is answered exactly like a missing one"
    );
}

#[tokio::test]
async fn another_workspace_sees_404_exactly_like_a_missing_contact() {
    let server = TestServer::start().await;
    let contact = john(&server).await;
    let id = contact["id"].as_str().unwrap();
    let globex = server.new_key("globex", "live").await;

    let other = server.get_as(&globex, &format!("/v2/contact/{id}")).await;
    let missing = server
        .get_as(&globex, &format!("/v2/contact/{MISSING_CONTACT_ID}"))
        .await;
    assert_same_as_missing(&other, id, &missing, MISSING_CONTACT_ID);

    let other = server.get_as(&globex, "/v2/contact/%2B14155550100").await;
    let missing = server.get_as(&globex, "/v2/contact/%2B14155550199").await;
    assert_same_as_missing(&other, "+14155550100", &missing, "+14155550199");

    let other = server.get_as(&globex, "/v2/contact/john@example.com").await;
    let missing = server
        .get_as(&globex, "/v2/contact/nobody@example.com")
        .await;
    assert_same_as_missing(&other, "john@example.com", &missing, "nobody@example.com");
}

#[tokio::test]
async fn the_test_mode_of_the_same_workspace_sees_404_exactly_like_a_missing_contact() {
    let server = TestServer::start().await;
    let contact = john(&server).await;
    let id = contact["id"].as_str().unwrap();

    let other = server
        .get_as(&server.test_key, &format!("/v2/contact/{id}"))
        .await;
    let missing = server
        .get_as(
            &server.test_key,
            &format!("/v2/contact/{MISSING_CONTACT_ID}"),
        )
        .await;
    assert_same_as_missing(&other, id, &missing, MISSING_CONTACT_ID);

    let other = server
        .get_as(&server.test_key, "/v2/contact/%2B14155550100")
        .await;
    let missing = server
        .get_as(&server.test_key, "/v2/contact/%2B14155550199")
        .await;
    assert_same_as_missing(&other, "+14155550100", &missing, "+14155550199");

    // And the other way round: a test-mode contact is invisible to the live key.
    let test_contact = server
        .post_as(
            &server.test_key,
            "/v2/contact",
            &json!({"email": "tester@example.com"}),
        )
        .await
        .expect(201);
    let test_id = test_contact["id"].as_str().unwrap();
    let resp = server.get(&format!("/v2/contact/{test_id}")).await;
    assert_error(&resp, 404, "not_found");
    let resp = server.get("/v2/contact/tester@example.com").await;
    assert_error(&resp, 404, "not_found");
}

#[tokio::test]
async fn another_tenant_can_neither_change_nor_delete_nor_list_a_contact() {
    let server = TestServer::start().await;
    let contact = john(&server).await;
    let id = contact["id"].as_str().unwrap();
    let globex = server.new_key("globex", "live").await;
    for key in [globex.as_str(), server.test_key.as_str()] {
        let resp = server
            .put_as(key, &contact_path(id), &json!({"first_name": "Mallory"}))
            .await;
        assert_error(&resp, 404, "not_found");
        let resp = server.delete_as(key, &contact_path("+14155550100")).await;
        assert_error(&resp, 404, "not_found");
        let resp = server
            .get_as(key, &format!("/v2/contact/{id}/conversations"))
            .await;
        assert_error(&resp, 404, "not_found");
        let resp = server
            .post_as(
                key,
                "/v2/conversation",
                &json!({"contact_id": id, "channel": "sms"}),
            )
            .await;
        assert_error(&resp, 404, "not_found");
    }
    assert_eq!(
        server.get_contact(id).await,
        contact,
        "the contact is untouched"
    );
}

#[tokio::test]
async fn each_tenant_may_use_the_same_phone_and_email() {
    let server = TestServer::start().await;
    let body = json!({"phone": "+14155550100", "email": "john@example.com"});
    let live = server.create_contact(body.clone()).await;
    let test = server
        .post_as(&server.test_key, "/v2/contact", &body)
        .await
        .expect(201);
    let globex_key = server.new_key("globex", "live").await;
    let globex = server
        .post_as(&globex_key, "/v2/contact", &body)
        .await
        .expect(201);
    assert_ne!(live["id"], test["id"]);
    assert_ne!(live["id"], globex["id"]);
    assert_eq!(
        server
            .get_as(&globex_key, "/v2/contact/%2B14155550100")
            .await
            .expect(200)["id"],
        globex["id"]
    );
    assert_eq!(server.get_contact("+14155550100").await["id"], live["id"]);
}
