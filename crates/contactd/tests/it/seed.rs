//! The seed page ("Manage Contacts"), run as written: every curl request in seed order,
//! the host swapped for the local server and `sk_live_your_key` for a real live key,
//! bodies byte for byte (a `-d` without a Content-Type goes out as
//! `application/x-www-form-urlencoded`, as curl sends it). Then the same flow with the
//! seed's placeholder ids replaced by a real one, so its merge results can be checked
//! literally, and the seed's response and error examples against real responses.

use serde_json::{json, Value};

use crate::utils::{
    assert_contact_shape, assert_error, assert_invalid, assert_list, Resp, TestServer,
};

/// One curl command of the seed.
struct Curl {
    method: &'static str,
    path: &'static str,
    /// The `-H "Content-Type: …"` of the command, if it has one.
    content_type: Option<&'static str>,
    /// The `-d '…'` of the command, exactly.
    body: Option<&'static str>,
}

const CREATE_BASIC: Curl = Curl {
    method: "POST",
    path: "/v2/contact",
    content_type: Some("application/json"),
    body: Some(
        r#"{
"phone": "+1234567890",
"first_name": "John",
"last_name": "Doe"
}"#,
    ),
};

const CREATE_WITH_METADATA: Curl = Curl {
    method: "POST",
    path: "/v2/contact",
    content_type: Some("application/json"),
    body: Some(
        r#"{
"phone": "+1234567890",
"email": "john@example.com",
"first_name": "John",
"last_name": "Doe",
"preferred_channel": "whatsapp",
"metadata": {
"customer_id": "cust_abc123",
"plan": "premium",
"signup_date": "2026-01-15",
"source": "website"
}
}"#,
    ),
};

/// The seed's "Response" example for [`CREATE_WITH_METADATA`].
const RESPONSE_EXAMPLE: &str = r#"{
"id": "cnt_1a2b3c4d5e6f",
"phone": "+1234567890",
"email": "john@example.com",
"first_name": "John",
"last_name": "Doe",
"full_name": "John Doe",
"preferred_channel": "whatsapp",
"metadata": {
"customer_id": "cust_abc123",
"plan": "premium",
"signup_date": "2026-01-15",
"source": "website"
},
"status": "active",
"created_at": "2026-01-25T10:30:00Z",
"updated_at": "2026-01-25T10:30:00Z",
"last_contacted": null
}"#;

const GET_BY_ID: Curl = Curl {
    method: "GET",
    path: "/v2/contact/cnt_1a2b3c4d5e6f",
    content_type: None,
    body: None,
};

const GET_BY_PHONE: Curl = Curl {
    method: "GET",
    path: "/v2/contact/%2B1234567890",
    content_type: None,
    body: None,
};

const GET_BY_EMAIL: Curl = Curl {
    method: "GET",
    path: "/v2/contact/john@example.com",
    content_type: None,
    body: None,
};

const UPDATE: Curl = Curl {
    method: "PUT",
    path: "/v2/contact/cnt_1a2b3c4d5e6f",
    content_type: Some("application/json"),
    body: Some(
        r#"{
"email": "john.doe@newcompany.com",
"metadata": {
"plan": "enterprise",
"company": "New Company Inc"
}
}"#,
    ),
};

const MERGE_PLAN: Curl = Curl {
    method: "PUT",
    path: "/v2/contact/cnt_123",
    content_type: None,
    body: Some(r#"{"metadata": {"plan": "enterprise"}}"#),
};

const REMOVE_SOURCE: Curl = Curl {
    method: "PUT",
    path: "/v2/contact/cnt_123",
    content_type: None,
    body: Some(r#"{"metadata": {"source": null}}"#),
};

const DELETE: Curl = Curl {
    method: "DELETE",
    path: "/v2/contact/cnt_1a2b3c4d5e6f",
    content_type: None,
    body: None,
};

const LIST_CONVERSATIONS: Curl = Curl {
    method: "GET",
    path: "/v2/contact/cnt_123/conversations?status=open",
    content_type: None,
    body: None,
};

/// Sends a seed command as curl would, with the seed's ids replaced by `id` when given.
async fn curl(server: &TestServer, command: &Curl, id: Option<&str>) -> Resp {
    let path = match id {
        Some(id) => command
            .path
            .replace("cnt_1a2b3c4d5e6f", id)
            .replace("cnt_123", id),
        None => command.path.to_string(),
    };
    let mut headers = vec![("X-API-Key", server.key.as_str()), ("Accept", "*/*")];
    match (command.content_type, command.body) {
        (Some(content_type), _) => headers.push(("Content-Type", content_type)),
        (None, Some(_)) => headers.push(("Content-Type", "application/x-www-form-urlencoded")),
        (None, None) => {}
    }
    server
        .send(
            command.method,
            &path,
            &headers,
            command.body.map(str::as_bytes),
        )
        .await
}

/// The JSON type of a value, for comparing shapes.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[tokio::test]
async fn every_curl_of_the_seed_in_seed_order() {
    let server = TestServer::start().await;

    // Basic Contact: created.
    let resp = curl(&server, &CREATE_BASIC, None).await;
    let john = resp.expect(201);
    assert_contact_shape(&john);
    assert_eq!(john["phone"], "+1234567890");
    assert_eq!(john["first_name"], "John");
    assert_eq!(john["last_name"], "Doe");
    assert_eq!(john["full_name"], "John Doe");
    assert!(john["email"].is_null());
    assert!(john["preferred_channel"].is_null());
    assert_eq!(john["metadata"], json!({}));
    assert_eq!(john["status"], "active");
    assert!(john["last_contacted"].is_null());
    assert_eq!(john["created_at"], john["updated_at"]);

    // Contact with Metadata: the same phone again, so the seed's own duplicate error.
    let resp = curl(&server, &CREATE_WITH_METADATA, None).await;
    let details = assert_error(&resp, 409, "duplicate_contact");
    assert_eq!(details["existing_contact_id"], john["id"], "{}", resp.text);
    assert!(
        resp.body["message"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("phone"),
        "the message says the phone is taken, as the seed's does: {}",
        resp.text
    );

    // By ID: the seed's example id is no contact here.
    let resp = curl(&server, &GET_BY_ID, None).await;
    assert_error(&resp, 404, "not_found");

    // By Phone Number.
    let resp = curl(&server, &GET_BY_PHONE, None).await;
    assert_eq!(resp.expect(200), john);

    // By Email: the refused create stored no email.
    let resp = curl(&server, &GET_BY_EMAIL, None).await;
    assert_error(&resp, 404, "not_found");

    // Updating Contacts, Updating Metadata (twice), Deleting: placeholder ids, so 404.
    for command in [&UPDATE, &MERGE_PLAN, &REMOVE_SOURCE, &DELETE] {
        let resp = curl(&server, command, None).await;
        assert_error(&resp, 404, "not_found");
    }

    // Get Contact Conversations for the placeholder id.
    let resp = curl(&server, &LIST_CONVERSATIONS, None).await;
    assert_error(&resp, 404, "not_found");

    // Nothing in the run changed John.
    let resp = curl(&server, &GET_BY_PHONE, None).await;
    assert_eq!(resp.expect(200), john);
}

#[tokio::test]
async fn the_seed_flow_with_a_real_id_gives_the_seeds_results() {
    let server = TestServer::start().await;

    let john = curl(&server, &CREATE_BASIC, None).await.expect(201);
    let real_id = john["id"].as_str().unwrap().to_string();
    let id = Some(real_id.as_str());

    let resp = curl(&server, &CREATE_WITH_METADATA, id).await;
    let details = assert_error(&resp, 409, "duplicate_contact");
    assert_eq!(details["existing_contact_id"], john["id"]);

    assert_eq!(curl(&server, &GET_BY_ID, id).await.expect(200), john);
    assert_eq!(curl(&server, &GET_BY_PHONE, id).await.expect(200), john);
    assert_error(&curl(&server, &GET_BY_EMAIL, id).await, 404, "not_found");

    // Updating Contacts: only the fields sent change; metadata merges into {}.
    let updated = curl(&server, &UPDATE, id).await.expect(200);
    assert_contact_shape(&updated);
    assert_eq!(updated["email"], "john.doe@newcompany.com");
    assert_eq!(
        updated["metadata"],
        json!({"plan": "enterprise", "company": "New Company Inc"})
    );
    for field in [
        "id",
        "phone",
        "first_name",
        "last_name",
        "full_name",
        "status",
        "created_at",
    ] {
        assert_eq!(updated[field], john[field], "{field} unchanged");
    }
    let by_new_email = server.get("/v2/contact/john.doe@newcompany.com").await;
    assert_eq!(by_new_email.expect(200), updated);

    // Updating Metadata: "Original metadata: { "plan": "premium", "source": "website" }".
    server
        .update_contact(&real_id, json!({"metadata": null}))
        .await;
    let original = server
        .update_contact(
            &real_id,
            json!({"metadata": {"plan": "premium", "source": "website"}}),
        )
        .await;
    assert_eq!(
        original["metadata"],
        json!({"plan": "premium", "source": "website"})
    );

    let merged = curl(&server, &MERGE_PLAN, id).await.expect(200);
    assert_eq!(
        merged["metadata"],
        json!({ "plan": "enterprise", "source": "website" }),
        "the seed's \"Result metadata\""
    );
    let removed = curl(&server, &REMOVE_SOURCE, id).await.expect(200);
    assert_eq!(
        removed["metadata"],
        json!({ "plan": "enterprise" }),
        "source removed"
    );
    assert_eq!(
        removed["email"], "john.doe@newcompany.com",
        "other fields kept"
    );

    // Conversations exist so the listing has something to filter.
    let open = server.create_conversation(&real_id, "whatsapp").await;
    let closed = server
        .post(
            "/v2/conversation",
            &json!({"contact_id": &real_id, "channel": "sms", "status": "closed"}),
        )
        .await
        .expect(201);
    let listed = curl(&server, &LIST_CONVERSATIONS, id).await.expect(200);
    let data = assert_list(&listed, 1, 20, 0, false);
    assert_eq!(data, vec![open.clone()], "only the open conversation");

    // Deleting Contacts: the contact as it was, status deleted; its conversations go too.
    let before = server.get_contact(&real_id).await;
    let deleted = curl(&server, &DELETE, id).await.expect(200);
    assert_eq!(deleted["status"], "deleted");
    for (field, value) in before.as_object().unwrap() {
        if field != "status" {
            assert_eq!(&deleted[field], value, "{field} as it was");
        }
    }
    for conversation in [&open, &closed] {
        let path = format!("/v2/conversation/{}", conversation["id"].as_str().unwrap());
        assert_error(&server.get(&path).await, 404, "not_found");
    }
    assert_error(&curl(&server, &GET_BY_ID, id).await, 404, "not_found");
    assert_error(
        &curl(&server, &LIST_CONVERSATIONS, id).await,
        404,
        "not_found",
    );
    assert_error(&curl(&server, &DELETE, id).await, 404, "not_found");

    // The phone is free again: the seed's second create now succeeds.
    let with_metadata = curl(&server, &CREATE_WITH_METADATA, None).await.expect(201);
    assert_ne!(with_metadata["id"], john["id"]);
}

#[tokio::test]
async fn a_created_contact_has_the_shape_and_values_of_the_seeds_response() {
    let server = TestServer::start().await;
    let example: Value = serde_json::from_str(RESPONSE_EXAMPLE).unwrap();
    let resp = curl(&server, &CREATE_WITH_METADATA, None).await;
    let created = resp.expect(201);

    let example_keys: Vec<&String> = example.as_object().unwrap().keys().collect();
    let created_keys: Vec<&String> = created.as_object().unwrap().keys().collect();
    // Contract §8 adds `identities` to the seed's contact.
    let created_keys: Vec<&String> = created_keys
        .into_iter()
        .filter(|k| *k != "identities")
        .collect();
    assert_eq!(created["identities"], json!([]));
    let mut sorted_example = example_keys.clone();
    let mut sorted_created = created_keys.clone();
    sorted_example.sort();
    sorted_created.sort();
    assert_eq!(
        sorted_created, sorted_example,
        "the same keys as the seed's response"
    );
    for (key, value) in example.as_object().unwrap() {
        assert_eq!(
            kind(&created[key]),
            kind(value),
            "{key} has the seed's type: {created}"
        );
        match key.as_str() {
            "id" | "created_at" | "updated_at" => {}
            _ => assert_eq!(&created[key], value, "{key} as in the seed's response"),
        }
    }
    assert_eq!(created["created_at"], created["updated_at"]);
    assert_eq!(
        curl(&server, &GET_BY_EMAIL, None).await.expect(200),
        created
    );
    assert_eq!(
        curl(&server, &GET_BY_PHONE, None).await.expect(200),
        created
    );

    // The seed's two metadata updates on this contact.
    let id = created["id"].as_str().unwrap().to_string();
    let merged = curl(&server, &MERGE_PLAN, Some(&id)).await.expect(200);
    assert_eq!(
        merged["metadata"],
        json!({
            "customer_id": "cust_abc123",
            "plan": "enterprise",
            "signup_date": "2026-01-15",
            "source": "website"
        })
    );
    let removed = curl(&server, &REMOVE_SOURCE, Some(&id)).await.expect(200);
    assert_eq!(
        removed["metadata"],
        json!({"customer_id": "cust_abc123", "plan": "enterprise", "signup_date": "2026-01-15"})
    );
}

#[tokio::test]
async fn the_seeds_error_examples_match_real_errors() {
    let server = TestServer::start().await;
    let john = curl(&server, &CREATE_BASIC, None).await.expect(201);

    // "Duplicate Contact".
    let resp = curl(&server, &CREATE_WITH_METADATA, None).await;
    let details = assert_error(&resp, 409, "duplicate_contact");
    assert_eq!(details["existing_contact_id"], john["id"]);

    // "Invalid Phone Format".
    let resp = server
        .post("/v2/contact", &json!({"phone": "1234567890"}))
        .await;
    let details = assert_invalid(&resp, "phone");
    assert_eq!(details["received"], "1234567890");
    assert_eq!(details["expected"], "+1234567890");
    assert!(
        resp.body["message"].as_str().unwrap().contains("E.164"),
        "the message names E.164 as the seed's does: {}",
        resp.text
    );
}

#[tokio::test]
async fn the_seeds_phone_format_table() {
    let server = TestServer::start().await;
    for correct in ["+1234567890", "+447911123456", "+491234567890"] {
        let contact = server.create_contact(json!({"phone": correct})).await;
        assert_eq!(contact["phone"], correct);
    }
    for incorrect in ["1234567890", "07911123456", "01234567890"] {
        let resp = server
            .post("/v2/contact", &json!({"phone": incorrect}))
            .await;
        let details = assert_invalid(&resp, "phone");
        assert_eq!(details["received"], incorrect);
    }
}

#[tokio::test]
async fn the_seeds_common_metadata_fields_round_trip() {
    let server = TestServer::start().await;
    let metadata = json!({
        "customer_id": "cust_123",
        "company": "Acme Inc",
        "plan": "enterprise",
        "mrr": 500,
        "signup_date": "2026-01-15",
        "source": "referral",
        "referrer": "partner_abc",
        "tags": ["vip", "early_adopter"],
        "preferences": {
            "language": "en",
            "timezone": "America/New_York",
            "marketing_opt_in": true
        }
    });
    let contact = server
        .create_contact(json!({"phone": "+1234567890", "metadata": metadata}))
        .await;
    assert_eq!(contact["metadata"], metadata);
    // The CRM sync: an update by phone with a partial metadata object.
    let synced = server
        .update_contact(
            "+1234567890",
            json!({
                "first_name": "John",
                "last_name": "Doe",
                "email": "john@example.com",
                "metadata": {
                    "crm_id": "crm_1",
                    "company": "Acme Corp",
                    "deal_stage": "won",
                    "last_synced": "2026-01-25T10:30:00.000Z"
                }
            }),
        )
        .await;
    let mut expected = metadata.clone();
    expected["crm_id"] = json!("crm_1");
    expected["company"] = json!("Acme Corp");
    expected["deal_stage"] = json!("won");
    expected["last_synced"] = json!("2026-01-25T10:30:00.000Z");
    assert_eq!(synced["metadata"], expected);
    assert_eq!(synced["full_name"], "John Doe");
}

#[tokio::test]
async fn the_seeds_lookup_strategies_work_over_http() {
    let server = TestServer::start().await;
    // Upsert: find by phone, 404, create; then find again.
    let resp = server.get("/v2/contact/%2B1234567890").await;
    assert_eq!(
        resp.body["code"], 404,
        "the SDK checks error.code === 404: {}",
        resp.text
    );
    let created = server
        .create_contact(json!({"phone": "+1234567890", "first_name": "John"}))
        .await;
    assert_eq!(server.get_contact("+1234567890").await, created);

    // Search before create: phone misses, email misses, create with both.
    assert_error(
        &server.get("/v2/contact/%2B447911123456").await,
        404,
        "not_found",
    );
    assert_error(
        &server.get("/v2/contact/jane@example.com").await,
        404,
        "not_found",
    );
    let jane = server
        .create_contact(json!({
            "phone": "+447911123456",
            "email": "jane@example.com",
            "first_name": "Jane"
        }))
        .await;
    assert_eq!(server.get_contact("jane@example.com").await, jane);
    assert_eq!(server.get_contact("+447911123456").await, jane);
}
