//! A business opens conversations with a contact, changes their status, and lists a
//! contact's conversations with filters and paging.

use serde_json::{json, Value};

use crate::utils::{
    assert_error, assert_invalid, assert_list, ids, ts, TestServer, MISSING_CONTACT_ID,
    MISSING_CONVERSATION_ID,
};

async fn john(server: &TestServer) -> String {
    let contact = server
        .create_contact(json!({
            "phone": "+14155550100",
            "email": "john@example.com",
            "first_name": "John"
        }))
        .await;
    contact["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_conversation_is_opened_by_contact_id_phone_or_email() {
    let server = TestServer::start().await;
    let id = john(&server).await;
    for (contact_ref, channel) in [
        (id.as_str(), "whatsapp"),
        ("+14155550100", "sms"),
        ("JOHN@example.com", "email"),
        ("john@example.com", "instagram"),
    ] {
        let resp = server
            .post(
                "/v2/conversation",
                &json!({"contact_id": contact_ref, "channel": channel}),
            )
            .await;
        let conversation = resp.expect(201);
        crate::utils::assert_conversation_shape(&conversation);
        assert_eq!(
            conversation["contact_id"],
            id.as_str(),
            "stored as the id, for {contact_ref}"
        );
        assert_eq!(conversation["channel"], channel);
        assert_eq!(conversation["status"], "open");
        assert_eq!(conversation["message_count"], 0);
        assert!(conversation["last_message_at"].is_null());
        assert_eq!(conversation["created_at"], conversation["updated_at"]);
        assert!(conversation["created_at"].as_str().unwrap().ends_with('Z'));
        let conversation_id = conversation["id"].as_str().unwrap();
        assert_eq!(server.get_conversation(conversation_id).await, conversation);
    }
}

#[tokio::test]
async fn a_conversation_can_be_opened_with_a_status() {
    let server = TestServer::start().await;
    let id = john(&server).await;
    for status in ["open", "closed", "archived"] {
        let conversation = server
            .post(
                "/v2/conversation",
                &json!({"contact_id": id, "channel": "sms", "status": status}),
            )
            .await
            .expect(201);
        assert_eq!(conversation["status"], status);
    }
}

#[tokio::test]
async fn a_bad_conversation_is_refused() {
    let server = TestServer::start().await;
    let id = john(&server).await;
    let cases = [
        ("channel", json!({"contact_id": id, "channel": "fax"})),
        ("channel", json!({"contact_id": id, "channel": "SMS"})),
        ("channel", json!({"contact_id": id, "channel": 5})),
        ("channel", json!({"contact_id": id})),
        ("channel", json!({"contact_id": id, "channel": null})),
        (
            "status",
            json!({"contact_id": id, "channel": "sms", "status": "bogus"}),
        ),
        (
            "status",
            json!({"contact_id": id, "channel": "sms", "status": "deleted"}),
        ),
        ("contact_id", json!({"channel": "sms"})),
        ("contact_id", json!({"contact_id": 5, "channel": "sms"})),
    ];
    for (field, body) in cases {
        let resp = server.post("/v2/conversation", &body).await;
        assert_invalid(&resp, field);
    }
    let resp = server
        .post(
            "/v2/conversation",
            &json!({"contact_id": "hello", "channel": "sms"}),
        )
        .await;
    assert_error(&resp, 400, "invalid_input");
    for body in [&b"not json"[..], b"[]"] {
        let resp = server
            .request(
                "POST",
                "/v2/conversation",
                Some(&server.key),
                Some(body),
                Some("application/json"),
            )
            .await;
        assert_error(&resp, 400, "invalid_input");
    }
    let list = server
        .get(&format!("/v2/contact/{id}/conversations"))
        .await
        .expect(200);
    assert_list(&list, 0, 20, 0, false);
}

#[tokio::test]
async fn a_conversation_for_an_unknown_contact_is_404() {
    let server = TestServer::start().await;
    for contact_ref in [MISSING_CONTACT_ID, "+14155550199", "nobody@example.com"] {
        let resp = server
            .post(
                "/v2/conversation",
                &json!({"contact_id": contact_ref, "channel": "sms"}),
            )
            .await;
        assert_error(&resp, 404, "not_found");
    }
}

#[tokio::test]
async fn a_conversation_is_closed_archived_and_reopened() {
    let server = TestServer::start().await;
    let id = john(&server).await;
    let mut previous = server.create_conversation(&id, "whatsapp").await;
    let conversation_id = previous["id"].as_str().unwrap().to_string();
    let path = format!("/v2/conversation/{conversation_id}");
    for status in ["closed", "archived", "open"] {
        let updated = server
            .put(&path, &json!({"status": status}))
            .await
            .expect(200);
        crate::utils::assert_conversation_shape(&updated);
        assert_eq!(updated["status"], status);
        assert_eq!(updated["id"], previous["id"]);
        assert_eq!(updated["contact_id"], previous["contact_id"]);
        assert_eq!(updated["channel"], previous["channel"]);
        assert_eq!(updated["created_at"], previous["created_at"]);
        assert!(
            ts(&updated["updated_at"]) > ts(&previous["updated_at"]),
            "updated_at moves"
        );
        assert_eq!(server.get_conversation(&conversation_id).await, updated);
        previous = updated;
    }
    for bad in [json!("bogus"), json!("deleted"), json!(null), json!(1)] {
        let resp = server.put(&path, &json!({"status": bad})).await;
        assert_invalid(&resp, "status");
    }
    assert_eq!(
        server.get_conversation(&conversation_id).await,
        previous,
        "nothing changed"
    );
}

#[tokio::test]
async fn malformed_conversation_ids_are_400_and_missing_ones_404() {
    let server = TestServer::start().await;
    for bad in ["abc", "conv_", "cnt_0000000000000000"] {
        let path = format!("/v2/conversation/{bad}");
        assert_error(&server.get(&path).await, 400, "invalid_input");
        let resp = server.put(&path, &json!({"status": "closed"})).await;
        assert_error(&resp, 400, "invalid_input");
        assert_error(
            &server.get(&format!("{path}/messages")).await,
            400,
            "invalid_input",
        );
        let resp = server
            .post(
                &format!("{path}/messages"),
                &json!({"direction": "inbound", "text": "x"}),
            )
            .await;
        assert_error(&resp, 400, "invalid_input");
    }
    let path = format!("/v2/conversation/{MISSING_CONVERSATION_ID}");
    assert_error(&server.get(&path).await, 404, "not_found");
    let resp = server.put(&path, &json!({"status": "closed"})).await;
    assert_error(&resp, 404, "not_found");
    assert_error(
        &server.get(&format!("{path}/messages")).await,
        404,
        "not_found",
    );
    let resp = server
        .post(
            &format!("{path}/messages"),
            &json!({"direction": "inbound", "text": "x"}),
        )
        .await;
    assert_error(&resp, 404, "not_found");
}

#[tokio::test]
async fn another_tenants_conversation_is_404() {
    let server = TestServer::start().await;
    let id = john(&server).await;
    let conversation = server.create_conversation(&id, "sms").await;
    let path = format!("/v2/conversation/{}", conversation["id"].as_str().unwrap());
    let globex = server.new_key("globex", "live").await;
    for key in [server.test_key.as_str(), globex.as_str()] {
        assert_error(&server.get_as(key, &path).await, 404, "not_found");
        let resp = server
            .put_as(key, &path, &json!({"status": "closed"}))
            .await;
        assert_error(&resp, 404, "not_found");
        assert_error(
            &server.get_as(key, &format!("{path}/messages")).await,
            404,
            "not_found",
        );
        let resp = server
            .post_as(
                key,
                &format!("{path}/messages"),
                &json!({"direction": "inbound", "text": "x"}),
            )
            .await;
        assert_error(&resp, 404, "not_found");
    }
    assert_eq!(server.get(&path).await.expect(200), conversation);
}

/// Opens conversations for `contact` on these channels and statuses, in this order.
async fn open_all(server: &TestServer, contact: &str, specs: &[(&str, &str)]) -> Vec<Value> {
    let mut created = Vec::new();
    for (channel, status) in specs {
        let conversation = server
            .post(
                "/v2/conversation",
                &json!({"contact_id": contact, "channel": channel, "status": status}),
            )
            .await
            .expect(201);
        created.push(conversation);
    }
    created
}

#[tokio::test]
async fn a_contacts_conversations_are_listed_newest_first() {
    let server = TestServer::start().await;
    let id = john(&server).await;
    let other = server
        .create_contact(json!({"phone": "+14155550200"}))
        .await;
    let other_id = other["id"].as_str().unwrap();
    server.create_conversation(other_id, "sms").await;
    let created = open_all(
        &server,
        &id,
        &[
            ("sms", "open"),
            ("whatsapp", "closed"),
            ("email", "open"),
            ("sms", "archived"),
        ],
    )
    .await;
    let mut newest_first = ids(&created);
    newest_first.reverse();

    let list = server
        .get(&format!("/v2/contact/{id}/conversations"))
        .await
        .expect(200);
    let data = assert_list(&list, 4, 20, 0, false);
    assert_eq!(
        ids(&data),
        newest_first,
        "newest first, only this contact's"
    );
    let mut expected = created.clone();
    expected.reverse();
    assert_eq!(
        data, expected,
        "each item is the conversation as GET shows it"
    );

    for path in [
        "/v2/contact/%2B14155550100/conversations",
        "/v2/contact/+14155550100/conversations",
        "/v2/contact/JOHN@example.com/conversations",
    ] {
        let list = server.get(path).await.expect(200);
        assert_eq!(
            ids(&assert_list(&list, 4, 20, 0, false)),
            newest_first,
            "{path}"
        );
    }
}

#[tokio::test]
async fn conversations_are_filtered_by_status_and_channel() {
    let server = TestServer::start().await;
    let id = john(&server).await;
    let created = open_all(
        &server,
        &id,
        &[
            ("sms", "open"),
            ("whatsapp", "closed"),
            ("email", "open"),
            ("sms", "archived"),
            ("sms", "open"),
            ("instagram", "closed"),
        ],
    )
    .await;
    let pick = |indexes: &[usize]| -> Vec<String> {
        indexes
            .iter()
            .rev()
            .map(|&i| created[i]["id"].as_str().unwrap().to_string())
            .collect()
    };
    let cases: [(&str, Vec<String>); 9] = [
        ("status=open", pick(&[0, 2, 4])),
        ("status=closed", pick(&[1, 5])),
        ("status=archived", pick(&[3])),
        ("channel=sms", pick(&[0, 3, 4])),
        ("channel=whatsapp", pick(&[1])),
        ("channel=email", pick(&[2])),
        ("channel=instagram", pick(&[5])),
        ("status=open&channel=sms", pick(&[0, 4])),
        ("status=archived&channel=email", pick(&[])),
    ];
    for (query, expected) in cases {
        let list = server
            .get(&format!("/v2/contact/{id}/conversations?{query}"))
            .await
            .expect(200);
        let data = assert_list(&list, expected.len() as u64, 20, 0, false);
        assert_eq!(ids(&data), expected, "?{query}");
    }
    // A status change moves a conversation between filters.
    let first = created[0]["id"].as_str().unwrap();
    server
        .put(
            &format!("/v2/conversation/{first}"),
            &json!({"status": "closed"}),
        )
        .await
        .expect(200);
    let list = server
        .get(&format!("/v2/contact/{id}/conversations?status=open"))
        .await
        .expect(200);
    assert_eq!(ids(&assert_list(&list, 2, 20, 0, false)), pick(&[2, 4]));
}

#[tokio::test]
async fn conversations_are_paged_with_limit_and_offset() {
    let server = TestServer::start().await;
    let id = john(&server).await;
    let specs = [("sms", "open"); 5];
    let created = open_all(&server, &id, &specs).await;
    let mut newest_first = ids(&created);
    newest_first.reverse();
    let base = format!("/v2/contact/{id}/conversations");
    let cases: [(&str, u64, u64, bool, &[String]); 7] = [
        ("limit=2", 2, 0, true, &newest_first[0..2]),
        ("limit=2&offset=0", 2, 0, true, &newest_first[0..2]),
        ("limit=2&offset=2", 2, 2, true, &newest_first[2..4]),
        ("limit=2&offset=4", 2, 4, false, &newest_first[4..5]),
        ("limit=2&offset=10", 2, 10, false, &[]),
        ("offset=3", 20, 3, false, &newest_first[3..5]),
        ("limit=5", 5, 0, false, &newest_first[..]),
    ];
    for (query, limit, offset, has_more, expected) in cases {
        let list = server.get(&format!("{base}?{query}")).await.expect(200);
        let data = assert_list(&list, 5, limit, offset, has_more);
        assert_eq!(ids(&data), expected, "?{query}");
    }
    for query in [
        "limit=1",
        "limit=100",
        "limit=100&offset=0&status=open&channel=sms",
    ] {
        let list = server.get(&format!("{base}?{query}")).await;
        list.expect(200);
    }
    let list = server
        .get(&format!("{base}?limit=4&status=open"))
        .await
        .expect(200);
    assert_list(&list, 5, 4, 0, true);
}

#[tokio::test]
async fn bad_list_parameters_are_invalid_input_never_an_empty_list() {
    let server = TestServer::start().await;
    let id = john(&server).await;
    server.create_conversation(&id, "sms").await;
    let base = format!("/v2/contact/{id}/conversations");
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=abc", "limit"),
        ("limit=-1", "limit"),
        ("limit=1.5", "limit"),
        ("limit=", "limit"),
        ("limit=99999999999999999999999", "limit"),
        ("offset=-1", "offset"),
        ("offset=abc", "offset"),
        ("status=bogus", "status"),
        ("status=OPEN", "status"),
        ("channel=fax", "channel"),
        ("foo=1", "foo"),
    ] {
        let resp = server.get(&format!("{base}?{query}")).await;
        assert_invalid(&resp, field);
    }
}

#[tokio::test]
async fn listing_for_a_missing_contact_is_404_and_for_a_bad_ref_400() {
    let server = TestServer::start().await;
    for path in [
        format!("/v2/contact/{MISSING_CONTACT_ID}/conversations"),
        "/v2/contact/%2B14155550199/conversations".to_string(),
        "/v2/contact/nobody@example.com/conversations?status=open".to_string(),
    ] {
        assert_error(&server.get(&path).await, 404, "not_found");
    }
    let resp = server.get("/v2/contact/1234567890/conversations").await;
    let details = assert_invalid(&resp, "ref");
    assert_eq!(details["expected"], "+1234567890");
}
