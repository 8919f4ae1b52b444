//! A business creates contacts: what a new contact looks like, and every way a create is refused.

use serde_json::{json, Value};

use crate::utils::{
    assert_contact_shape, assert_error, assert_invalid, nested_object, phone, ts, TestServer,
};

#[tokio::test]
async fn a_contact_with_only_a_phone_has_every_field_with_nulls() {
    let server = TestServer::start().await;
    let resp = server
        .post("/v2/contact", &json!({"phone": "+14155550100"}))
        .await;
    let contact = resp.expect(201);
    assert_contact_shape(&contact);
    assert_eq!(contact["phone"], "+14155550100");
    for field in [
        "email",
        "first_name",
        "last_name",
        "full_name",
        "preferred_channel",
        "last_contacted",
    ] {
        assert!(contact[field].is_null(), "{field} is null: {contact}");
    }
    assert_eq!(contact["metadata"], json!({}));
    assert_eq!(contact["status"], "active");
    assert_eq!(contact["created_at"], contact["updated_at"]);
    assert!(
        resp.header("content-type")
            .unwrap_or("")
            .starts_with("application/json"),
        "JSON out"
    );
}

#[tokio::test]
async fn a_contact_with_only_an_email_has_a_null_phone() {
    let server = TestServer::start().await;
    let contact = server
        .create_contact(json!({"email": "jane@example.com"}))
        .await;
    assert_eq!(contact["email"], "jane@example.com");
    assert!(contact["phone"].is_null());
    assert_eq!(contact["metadata"], json!({}));
    assert_eq!(contact["status"], "active");
    assert!(contact["last_contacted"].is_null());

    let explicit_null = server
        .create_contact(json!({"phone": null, "email": "joe@example.com"}))
        .await;
    assert!(explicit_null["phone"].is_null());
    assert_eq!(explicit_null["email"], "joe@example.com");
}

#[tokio::test]
async fn a_full_contact_is_stored_as_sent() {
    let server = TestServer::start().await;
    let metadata = json!({
        "customer_id": "cust_123",
        "mrr": 500,
        "ratio": 0.25,
        "vip": true,
        "tags": ["vip", "early_adopter"],
        "preferences": {"language": "en", "marketing_opt_in": true}
    });
    let contact = server
        .create_contact(json!({
            "phone": "+447911123456",
            "email": "john@example.com",
            "first_name": "John",
            "last_name": "Doe",
            "preferred_channel": "whatsapp",
            "metadata": metadata,
            "status": "active"
        }))
        .await;
    assert_eq!(contact["phone"], "+447911123456");
    assert_eq!(contact["email"], "john@example.com");
    assert_eq!(contact["first_name"], "John");
    assert_eq!(contact["last_name"], "Doe");
    assert_eq!(contact["full_name"], "John Doe");
    assert_eq!(contact["preferred_channel"], "whatsapp");
    assert_eq!(contact["metadata"], metadata);
    assert_eq!(contact["status"], "active");
    assert!(contact["last_contacted"].is_null());

    let id = contact["id"].as_str().unwrap();
    assert_eq!(
        server.get_contact(id).await,
        contact,
        "GET returns what POST returned"
    );
}

#[tokio::test]
async fn full_name_joins_first_and_last_name() {
    let server = TestServer::start().await;
    let cases = [
        (json!({"first_name": "John"}), json!("John")),
        (json!({"last_name": "Doe"}), json!("Doe")),
        (
            json!({"first_name": "John", "last_name": "Doe"}),
            json!("John Doe"),
        ),
        (json!({}), Value::Null),
        (json!({"first_name": null, "last_name": null}), Value::Null),
    ];
    for (n, (names, full_name)) in cases.into_iter().enumerate() {
        let mut body = names.clone();
        body["phone"] = json!(phone(n as u32));
        let contact = server.create_contact(body).await;
        assert_eq!(contact["full_name"], full_name, "for {names}");
        assert_eq!(
            contact["first_name"],
            names.get("first_name").cloned().unwrap_or(Value::Null)
        );
        assert_eq!(
            contact["last_name"],
            names.get("last_name").cloned().unwrap_or(Value::Null)
        );
    }
}

#[tokio::test]
async fn status_defaults_to_active_and_can_be_created_inactive() {
    let server = TestServer::start().await;
    let active = server.create_contact(json!({"phone": phone(1)})).await;
    assert_eq!(active["status"], "active");
    let explicit = server
        .create_contact(json!({"phone": phone(2), "status": "active"}))
        .await;
    assert_eq!(explicit["status"], "active");
    let inactive = server
        .create_contact(json!({"phone": phone(3), "status": "inactive"}))
        .await;
    assert_eq!(inactive["status"], "inactive");
    let id = inactive["id"].as_str().unwrap();
    assert_eq!(server.get_contact(id).await["status"], "inactive");
}

#[tokio::test]
async fn status_deleted_or_unknown_is_refused() {
    let server = TestServer::start().await;
    for status in [json!("deleted"), json!("bogus"), json!("ACTIVE"), json!(1)] {
        let resp = server
            .post("/v2/contact", &json!({"phone": phone(1), "status": status}))
            .await;
        assert_invalid(&resp, "status");
    }
    // Nothing was stored by the refused creates.
    assert_eq!(server.get("/v2/contact/%2B14155550001").await.status, 404);
}

#[tokio::test]
async fn a_contact_needs_a_phone_or_an_email() {
    let server = TestServer::start().await;
    for body in [
        json!({}),
        json!({"first_name": "John", "last_name": "Doe"}),
        json!({"phone": null, "email": null}),
        json!({"phone": null}),
    ] {
        let resp = server.post("/v2/contact", &body).await;
        assert_error(&resp, 400, "invalid_input");
    }
}

#[tokio::test]
async fn ids_are_well_formed_and_sort_by_creation() {
    let server = TestServer::start().await;
    let mut ids = Vec::new();
    for n in 0..20 {
        let contact = server.create_contact(json!({"phone": phone(n)})).await;
        ids.push(contact["id"].as_str().unwrap().to_string());
    }
    for pair in ids.windows(2) {
        assert!(
            pair[0] < pair[1],
            "ids sort by creation: {} then {}",
            pair[0],
            pair[1]
        );
    }
}

#[tokio::test]
async fn timestamps_are_rfc3339_utc_and_equal_on_create() {
    let server = TestServer::start().await;
    let first = server.create_contact(json!({"phone": phone(1)})).await;
    let second = server.create_contact(json!({"phone": phone(2)})).await;
    for contact in [&first, &second] {
        for field in ["created_at", "updated_at"] {
            assert!(
                contact[field].as_str().unwrap().ends_with('Z'),
                "{field}: {contact}"
            );
        }
        assert_eq!(contact["created_at"], contact["updated_at"]);
        assert!(contact["last_contacted"].is_null());
    }
    assert!(ts(&first["created_at"]) <= ts(&second["created_at"]));
}

#[tokio::test]
async fn a_duplicate_phone_is_409_naming_the_existing_contact() {
    let server = TestServer::start().await;
    let first = server
        .create_contact(json!({"phone": "+14155550100"}))
        .await;
    let resp = server
        .post(
            "/v2/contact",
            &json!({"phone": "+14155550100", "email": "new@example.com", "first_name": "Other"}),
        )
        .await;
    let details = assert_error(&resp, 409, "duplicate_contact");
    assert_eq!(details["existing_contact_id"], first["id"], "{}", resp.text);

    // The refused create stored nothing: the email is still free, the first contact unchanged.
    assert_eq!(server.get("/v2/contact/new@example.com").await.status, 404);
    assert_eq!(server.get_contact("+14155550100").await, first);
}

#[tokio::test]
async fn a_duplicate_email_differing_only_in_case_is_409() {
    let server = TestServer::start().await;
    let first = server
        .create_contact(json!({"email": "John.Doe@Example.com"}))
        .await;
    for email in [
        "john.doe@example.com",
        "JOHN.DOE@EXAMPLE.COM",
        "John.Doe@Example.com",
    ] {
        let resp = server
            .post("/v2/contact", &json!({"email": email, "phone": phone(7)}))
            .await;
        let details = assert_error(&resp, 409, "duplicate_contact");
        assert_eq!(details["existing_contact_id"], first["id"], "{}", resp.text);
    }
    assert_eq!(server.get("/v2/contact/%2B14155550007").await.status, 404);
}

#[tokio::test]
async fn a_phone_without_plus_is_refused_with_the_e164_form() {
    let server = TestServer::start().await;
    let resp = server
        .post(
            "/v2/contact",
            &json!({"phone": "1234567890", "first_name": "John"}),
        )
        .await;
    let details = assert_invalid(&resp, "phone");
    assert_eq!(details["received"], "1234567890", "{}", resp.text);
    assert_eq!(details["expected"], "+1234567890", "{}", resp.text);
}

#[tokio::test]
async fn phones_must_be_e164() {
    let server = TestServer::start().await;
    for bad in [
        "",
        "+",
        "+1",
        "+0123456789",
        "+1234567890123456",
        "+1 415 555 0100",
        "+1-415-555-0100",
        "+1415555010a",
        "abc",
        "07911123456",
        "01234567890",
        "++14155550100",
    ] {
        let resp = server.post("/v2/contact", &json!({"phone": bad})).await;
        let details = assert_invalid(&resp, "phone");
        assert_eq!(
            details["received"], bad,
            "received echoes the input: {}",
            resp.text
        );
    }
    // The edges of E.164: 2 and 15 digits.
    for (n, good) in ["+12", "+123456789012345", "+491234567890"]
        .into_iter()
        .enumerate()
    {
        let contact = server
            .create_contact(json!({"phone": good, "first_name": format!("n{n}")}))
            .await;
        assert_eq!(contact["phone"], good);
    }
}

#[tokio::test]
async fn emails_must_be_valid_addresses() {
    let server = TestServer::start().await;
    for bad in [
        "",
        "john",
        "john@",
        "@example.com",
        "john@@example.com",
        "john doe@example.com",
        "john@exa mple.com",
    ] {
        let resp = server
            .post("/v2/contact", &json!({"email": bad, "phone": phone(1)}))
            .await;
        assert_invalid(&resp, "email");
    }
    assert_eq!(server.get("/v2/contact/%2B14155550001").await.status, 404);
}

#[tokio::test]
async fn wrong_json_types_are_refused_naming_the_field() {
    let server = TestServer::start().await;
    let cases = [
        ("phone", json!({"phone": 123})),
        ("phone", json!({"phone": ["+14155550100"]})),
        ("email", json!({"phone": phone(1), "email": true})),
        ("metadata", json!({"phone": phone(1), "metadata": "x"})),
        ("metadata", json!({"phone": phone(1), "metadata": [1]})),
        ("metadata", json!({"phone": phone(1), "metadata": 5})),
        ("first_name", json!({"phone": phone(1), "first_name": 5})),
        (
            "last_name",
            json!({"phone": phone(1), "last_name": {"a": 1}}),
        ),
        (
            "preferred_channel",
            json!({"phone": phone(1), "preferred_channel": 1}),
        ),
        ("status", json!({"phone": phone(1), "status": true})),
    ];
    for (field, body) in cases {
        let resp = server.post("/v2/contact", &body).await;
        assert_invalid(&resp, field);
    }
    assert_eq!(server.get("/v2/contact/%2B14155550001").await.status, 404);
}

#[tokio::test]
async fn unknown_and_read_only_fields_are_refused_naming_the_field() {
    let server = TestServer::start().await;
    let cases = [
        ("foo", json!("bar")),
        ("id", json!("cnt_0000000000000000")),
        ("full_name", json!("John Doe")),
        ("created_at", json!("2026-01-25T10:30:00Z")),
        ("updated_at", json!("2026-01-25T10:30:00Z")),
        ("last_contacted", json!("2026-01-25T10:30:00Z")),
        ("last_contacted", Value::Null),
    ];
    for (field, value) in cases {
        let mut body = json!({"phone": phone(1), "first_name": "John"});
        body[field] = value;
        let resp = server.post("/v2/contact", &body).await;
        assert_invalid(&resp, field);
    }
    assert_eq!(server.get("/v2/contact/%2B14155550001").await.status, 404);
}

#[tokio::test]
async fn preferred_channel_is_one_of_four_or_null() {
    let server = TestServer::start().await;
    for (n, channel) in ["whatsapp", "instagram", "sms", "email"]
        .into_iter()
        .enumerate()
    {
        let contact = server
            .create_contact(json!({"phone": phone(n as u32), "preferred_channel": channel}))
            .await;
        assert_eq!(contact["preferred_channel"], channel);
    }
    let none = server
        .create_contact(json!({"phone": phone(10), "preferred_channel": null}))
        .await;
    assert!(none["preferred_channel"].is_null());
    for bad in ["telegram", "WhatsApp", "", "fax"] {
        let resp = server
            .post(
                "/v2/contact",
                &json!({"phone": phone(20), "preferred_channel": bad}),
            )
            .await;
        assert_invalid(&resp, "preferred_channel");
    }
}

#[tokio::test]
async fn metadata_depth_is_limited_to_ten() {
    let server = TestServer::start().await;
    let ok = server
        .create_contact(json!({"phone": phone(1), "metadata": nested_object(10)}))
        .await;
    assert_eq!(ok["metadata"], nested_object(10));
    for depth in [11, 12, 50] {
        let resp = server
            .post(
                "/v2/contact",
                &json!({"phone": phone(2), "metadata": nested_object(depth)}),
            )
            .await;
        assert_invalid(&resp, "metadata");
    }
    // Very deeply nested JSON is an input error, not a crash (built as text: a Value that
    // deep would overflow the test's own stack).
    let depth = 5000;
    let body = format!(
        "{{\"phone\": \"{}\", \"metadata\": {}1{}}}",
        phone(3),
        "{\"k\": ".repeat(depth),
        "}".repeat(depth)
    );
    let resp = server
        .request(
            "POST",
            "/v2/contact",
            Some(&server.key),
            Some(body.as_bytes()),
            Some("application/json"),
        )
        .await;
    assert_error(&resp, 400, "invalid_input");
    assert_eq!(server.get("/v2/contact/%2B14155550003").await.status, 404);
    assert_eq!(server.get("/v2/contact/%2B14155550002").await.status, 404);
}

#[tokio::test]
async fn metadata_size_is_limited_to_16_kib() {
    let server = TestServer::start().await;
    let small = json!({"blob": "x".repeat(15 * 1024)});
    let ok = server
        .create_contact(json!({"phone": phone(1), "metadata": small}))
        .await;
    assert_eq!(ok["metadata"], small);
    let big = json!({"blob": "x".repeat(17 * 1024)});
    let resp = server
        .post("/v2/contact", &json!({"phone": phone(2), "metadata": big}))
        .await;
    assert_invalid(&resp, "metadata");
    let many_keys: serde_json::Map<String, Value> =
        (0..2000).map(|i| (format!("key_{i}"), json!(i))).collect();
    let resp = server
        .post(
            "/v2/contact",
            &json!({"phone": phone(3), "metadata": many_keys}),
        )
        .await;
    assert_invalid(&resp, "metadata");
    assert_eq!(server.get("/v2/contact/%2B14155550002").await.status, 404);
}

#[tokio::test]
async fn a_body_that_is_not_a_json_object_is_invalid_input() {
    let server = TestServer::start().await;
    let bodies: [&[u8]; 8] = [
        b"not json",
        b"{\"phone\": \"+14155550100\"",
        b"{\"phone\": \"+14155550100\"} trailing",
        b"[{\"phone\": \"+14155550100\"}]",
        b"\"+14155550100\"",
        b"null",
        b"",
        b"\xff\xfe{}",
    ];
    for body in bodies {
        let resp = server
            .request(
                "POST",
                "/v2/contact",
                Some(&server.key),
                Some(body),
                Some("application/json"),
            )
            .await;
        assert_error(&resp, 400, "invalid_input");
    }
}

#[tokio::test]
async fn the_body_is_read_as_json_whatever_the_content_type() {
    let server = TestServer::start().await;
    let cases = [
        (Some("application/x-www-form-urlencoded"), "+14155550101"),
        (None, "+14155550102"),
        (Some("text/plain"), "+14155550103"),
        (Some("application/json; charset=utf-8"), "+14155550104"),
    ];
    for (content_type, phone) in cases {
        let body = format!("{{\"phone\": \"{phone}\", \"first_name\": \"Form\"}}");
        let resp = server
            .request(
                "POST",
                "/v2/contact",
                Some(&server.key),
                Some(body.as_bytes()),
                content_type,
            )
            .await;
        let contact = resp.expect(201);
        assert_eq!(contact["phone"], phone, "Content-Type {content_type:?}");
        assert_eq!(contact["first_name"], "Form");
    }
    // Invalid JSON under a form Content-Type is still a JSON error.
    let resp = server
        .request(
            "POST",
            "/v2/contact",
            Some(&server.key),
            Some(b"phone=%2B14155550105"),
            Some("application/x-www-form-urlencoded"),
        )
        .await;
    assert_error(&resp, 400, "invalid_input");
}

#[tokio::test]
async fn names_of_only_invisible_characters_are_blank() {
    let server = TestServer::start().await;
    for field in ["first_name", "last_name"] {
        for blank in [
            "\u{200B}",
            "\u{200B}\u{200C}\u{200D}",
            " \u{2060} ",
            "\u{FEFF}",
            "\t\u{200B}\u{00A0}",
        ] {
            let resp = server
                .post("/v2/contact", &json!({"phone": phone(1), field: blank}))
                .await;
            assert_invalid(&resp, field);
        }
    }
    assert_eq!(server.get("/v2/contact").await.expect(200)["total"], 0);
    // Invisible characters at either end are trimmed like spaces; inside they stay.
    let contact = server
        .create_contact(
            json!({"phone": phone(1), "first_name": "\u{200B} Ada\u{FEFF}",
                               "last_name": "Love\u{200D}lace\u{2060} "}),
        )
        .await;
    assert_eq!(contact["first_name"], "Ada");
    assert_eq!(contact["last_name"], "Love\u{200D}lace");
    assert_eq!(contact["full_name"], "Ada Love\u{200D}lace");
    let path = format!("/v2/contact/{}", contact["id"].as_str().unwrap());
    let resp = server
        .put(&path, &json!({"last_name": "\u{200B}\u{FEFF}"}))
        .await;
    assert_invalid(&resp, "last_name");
    assert_eq!(
        server.get(&path).await.expect(200),
        contact,
        "nothing changed"
    );
}
