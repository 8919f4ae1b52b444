//! Whatever goes wrong, a client gets the contract's error envelope, and every response
//! carries a request id.

use serde_json::json;

use crate::utils::{assert_error, assert_invalid, assert_request_id, TestServer};

#[tokio::test]
async fn an_unknown_route_is_404_in_the_envelope() {
    let server = TestServer::start().await;
    for (method, path) in [
        ("GET", "/v2/nope"),
        ("GET", "/nope"),
        ("GET", "/"),
        ("POST", "/v2/contacts"),
        ("GET", "/v1/contact/cnt_doesnotexist0000"),
        ("GET", "/v2/contact/cnt_doesnotexist0000/messages"),
    ] {
        let resp = server
            .request(method, path, Some(&server.key), None, None)
            .await;
        assert_error(&resp, 404, "not_found");
    }
}

#[tokio::test]
async fn a_wrong_method_is_405_in_the_envelope() {
    let server = TestServer::start().await;
    for (method, path) in [
        ("PATCH", "/v2/contact/x"),
        ("PATCH", "/v2/contact/cnt_doesnotexist0000"),
        ("POST", "/v2/contact/cnt_doesnotexist0000"),
        ("DELETE", "/v2/contact"),
        ("PUT", "/v2/contact"),
        ("DELETE", "/v2/conversation/conv_doesnotexist0000"),
        ("PUT", "/v2/conversation/conv_doesnotexist0000/messages"),
        ("POST", "/v2/contact/cnt_doesnotexist0000/conversations"),
    ] {
        let resp = server
            .request(
                method,
                path,
                Some(&server.key),
                Some(b"{}"),
                Some("application/json"),
            )
            .await;
        assert_error(&resp, 405, "method_not_allowed");
    }
}

/// A create body of exactly `size` bytes whose metadata is one long string.
fn body_of_size(size: usize) -> Vec<u8> {
    let prefix = br#"{"phone":"+14155550100","metadata":{"blob":""#;
    let suffix = br#""}}"#;
    let mut body = prefix.to_vec();
    body.resize(size - suffix.len(), b'x');
    body.extend_from_slice(suffix);
    assert_eq!(body.len(), size);
    body
}

#[tokio::test]
async fn a_body_over_1_mib_is_413_in_the_envelope() {
    let server = TestServer::start().await;
    for size in [1024 * 1024 + 1, 2 * 1024 * 1024] {
        let body = body_of_size(size);
        let resp = server
            .request(
                "POST",
                "/v2/contact",
                Some(&server.key),
                Some(&body),
                Some("application/json"),
            )
            .await;
        assert_error(&resp, 413, "payload_too_large");
    }
    // Exactly 1 MiB is within the limit: the body is read, and only the metadata is too big.
    let body = body_of_size(1024 * 1024);
    let resp = server
        .request(
            "POST",
            "/v2/contact",
            Some(&server.key),
            Some(&body),
            Some("application/json"),
        )
        .await;
    assert_invalid(&resp, "metadata");
    // The server is still fine after refusing a large body.
    server
        .create_contact(json!({"phone": "+14155550100"}))
        .await;
}

#[tokio::test]
async fn a_body_over_1_mib_is_413_on_update_too() {
    let server = TestServer::start().await;
    let contact = server
        .create_contact(json!({"phone": "+14155550100"}))
        .await;
    let path = format!("/v2/contact/{}", contact["id"].as_str().unwrap());
    let body = body_of_size(1024 * 1024 + 1);
    let resp = server
        .request(
            "PUT",
            &path,
            Some(&server.key),
            Some(&body),
            Some("application/json"),
        )
        .await;
    assert_error(&resp, 413, "payload_too_large");
    assert_eq!(
        server.get_contact(&path["/v2/contact/".len()..]).await,
        contact
    );
}

#[tokio::test]
async fn requests_without_a_valid_key_are_401_in_the_envelope() {
    let server = TestServer::start().await;
    let contact = server
        .create_contact(json!({"phone": "+14155550100"}))
        .await;
    let id = contact["id"].as_str().unwrap();
    let well_formed_unknown = format!("sk_live_{}", "0".repeat(32));
    let live_key_of_nobody = format!("{}x", server.key);
    let bad_keys: [Option<&str>; 8] = [
        None,
        Some(""),
        Some("hello"),
        Some("sk_live_"),
        Some(&well_formed_unknown),
        Some(&live_key_of_nobody),
        Some("sk_test_0000000000000000000000000000"),
        Some("Bearer sk_live_0000000000000000000000000000"),
    ];
    let requests: [(&str, String, Option<&[u8]>); 9] = [
        ("GET", format!("/v2/contact/{id}"), None),
        (
            "POST",
            "/v2/contact".to_string(),
            Some(br#"{"phone":"+14155550101"}"#),
        ),
        (
            "PUT",
            format!("/v2/contact/{id}"),
            Some(br#"{"first_name":"X"}"#),
        ),
        ("DELETE", format!("/v2/contact/{id}"), None),
        ("GET", format!("/v2/contact/{id}/conversations"), None),
        (
            "POST",
            "/v2/conversation".to_string(),
            Some(br#"{"contact_id":"cnt_doesnotexist0000","channel":"sms"}"#),
        ),
        (
            "GET",
            "/v2/conversation/conv_doesnotexist0000".to_string(),
            None,
        ),
        (
            "PUT",
            "/v2/conversation/conv_doesnotexist0000".to_string(),
            Some(br#"{"status":"closed"}"#),
        ),
        (
            "GET",
            "/v2/conversation/conv_doesnotexist0000/messages".to_string(),
            None,
        ),
    ];
    for key in bad_keys {
        for (method, path, body) in &requests {
            let resp = server
                .request(method, path, key, *body, body.map(|_| "application/json"))
                .await;
            assert_error(&resp, 401, "unauthorized");
        }
    }
    // The key was needed, and nothing was changed or created without it.
    assert_eq!(server.get_contact(id).await, contact);
    assert_error(
        &server.get("/v2/contact/%2B14155550101").await,
        404,
        "not_found",
    );
}

#[tokio::test]
async fn health_checks_need_no_key() {
    let server = TestServer::start().await;
    for path in ["/healthz", "/readyz"] {
        let resp = server.request("GET", path, None, None, None).await;
        assert_eq!(resp.status, 200, "{path}: {}", resp.text);
        assert_request_id(&resp);
    }
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let server = TestServer::start().await;
    let big = body_of_size(1024 * 1024 + 1);
    let key = server.key.clone();
    let contact = server
        .create_contact(json!({"phone": "+14155550100"}))
        .await;
    let id = contact["id"].as_str().unwrap().to_string();
    // (method, path, key, body, status)
    type Case<'a> = (&'a str, String, Option<&'a str>, Option<Vec<u8>>, u16);
    let requests: Vec<Case> = vec![
        (
            "POST",
            "/v2/contact".into(),
            Some(&key),
            Some(br#"{"phone":"+14155550101"}"#.to_vec()),
            201,
        ),
        ("GET", format!("/v2/contact/{id}"), Some(&key), None, 200),
        ("GET", "/v2/contact/hello".into(), Some(&key), None, 400),
        (
            "POST",
            "/v2/contact".into(),
            Some(&key),
            Some(b"not json".to_vec()),
            400,
        ),
        (
            "GET",
            "/v2/contact/cnt_doesnotexist0000".into(),
            Some(&key),
            None,
            404,
        ),
        ("GET", "/v2/nope".into(), Some(&key), None, 404),
        ("PATCH", format!("/v2/contact/{id}"), Some(&key), None, 405),
        ("POST", "/v2/contact".into(), Some(&key), Some(big), 413),
        (
            "POST",
            "/v2/contact".into(),
            Some(&key),
            Some(br#"{"phone":"+14155550100"}"#.to_vec()),
            409,
        ),
        ("GET", format!("/v2/contact/{id}"), None, None, 401),
        ("GET", "/healthz".into(), None, None, 200),
        ("GET", "/readyz".into(), None, None, 200),
        ("DELETE", format!("/v2/contact/{id}"), Some(&key), None, 200),
    ];
    for (n, (method, path, key, body, status)) in requests.into_iter().enumerate() {
        let mut headers = Vec::new();
        if let Some(key) = key {
            headers.push(("X-API-Key", key));
        }
        if body.is_some() {
            headers.push(("Content-Type", "application/json"));
        }
        let generated = server.send(method, &path, &headers, body.as_deref()).await;
        assert_eq!(
            generated.status, status,
            "{method} {path}: {}",
            generated.text
        );
        assert_request_id(&generated);

        if method == "DELETE" || status == 201 || status == 409 {
            continue; // not repeatable
        }
        let sent = format!("client-request-{n}");
        headers.push(("X-Request-Id", sent.as_str()));
        let echoed = server.send(method, &path, &headers, body.as_deref()).await;
        assert_eq!(echoed.status, status, "{method} {path}: {}", echoed.text);
        assert_eq!(
            echoed.header("x-request-id"),
            Some(sent.as_str()),
            "{method} {path} echoes the client's X-Request-Id"
        );
    }
}

#[tokio::test]
async fn request_ids_differ_between_requests() {
    let server = TestServer::start().await;
    let a = server.request("GET", "/healthz", None, None, None).await;
    let b = server.request("GET", "/healthz", None, None, None).await;
    assert_ne!(a.header("x-request-id"), b.header("x-request-id"));
}

#[tokio::test]
async fn unusable_request_ids_are_replaced() {
    let server = TestServer::start().await;
    let long = "a".repeat(129);
    let fits = "A".repeat(128);
    for (sent, echoed) in [
        ("req-1.2_x:y", true),
        (fits.as_str(), true),
        (long.as_str(), false),
        ("has space", false),
        ("semi;colon", false),
        ("\u{e9}t\u{e9}", false),
    ] {
        let resp = server
            .send("GET", "/healthz", &[("X-Request-Id", sent)], None)
            .await;
        assert_request_id(&resp);
        let got = resp.header("x-request-id").unwrap();
        if echoed {
            assert_eq!(got, sent);
        } else {
            assert_ne!(got, sent);
            assert!(got.len() <= 128, "{got}");
        }
    }
}

/// Sends `body` as it is (serde_json cannot write a repeated key).
async fn send_raw(server: &TestServer, method: &str, path: &str, body: &str) -> crate::utils::Resp {
    server
        .request(
            method,
            path,
            Some(&server.key),
            Some(body.as_bytes()),
            Some("application/json"),
        )
        .await
}

#[tokio::test]
async fn a_key_repeated_in_a_json_object_is_invalid_input_naming_it() {
    let server = TestServer::start().await;
    let contact = server
        .create_contact(json!({"phone": "+14155550100", "metadata": {"plan": "basic"}}))
        .await;
    let id = contact["id"].as_str().unwrap().to_owned();
    let conversation = server.create_conversation(&id, "sms").await;
    let conversation_id = conversation["id"].as_str().unwrap().to_owned();
    let contact_path = format!("/v2/contact/{id}");
    let messages = format!("/v2/conversation/{conversation_id}/messages");
    for (method, path, body, field) in [
        (
            "POST",
            "/v2/contact",
            r#"{"phone": "+14155550101", "phone": "+14155550102"}"#,
            "phone",
        ),
        (
            "POST",
            "/v2/contact",
            // An escaped spelling is the same key.
            r#"{"phone": "+14155550101", "ph\u006fne": "+14155550102"}"#,
            "phone",
        ),
        (
            "POST",
            "/v2/contact",
            r#"{"phone": "+14155550101", "metadata": {"plan": "a", "plan": "b"}}"#,
            "metadata.plan",
        ),
        (
            "POST",
            "/v2/contact",
            r#"{"phone": "+14155550101", "metadata": {"a": [1, {"b": {"c": 1, "c": 2}}]}}"#,
            "metadata.a[1].b.c",
        ),
        (
            "PUT",
            contact_path.as_str(),
            r#"{"metadata": {"plan": null, "plan": "gold"}}"#,
            "metadata.plan",
        ),
        (
            "PUT",
            contact_path.as_str(),
            r#"{"first_name": "A", "last_name": "B", "first_name": "C"}"#,
            "first_name",
        ),
        (
            "POST",
            "/v2/contact/upsert",
            r#"{"phone": "+14155550100", "email": "a@example.com", "email": "b@example.com"}"#,
            "email",
        ),
        (
            "POST",
            "/v2/contact/batch",
            r#"{"mode": "create", "contacts": [{"phone": "+14155550103"},
               {"phone": "+14155550104", "phone": "+14155550105"}]}"#,
            "contacts[1].phone",
        ),
        (
            "POST",
            "/v2/segment",
            r#"{"name": "x", "filter": {"status": "active", "status": "inactive"}}"#,
            "filter.status",
        ),
        (
            "POST",
            "/v2/conversation",
            r#"{"contact_id": "+14155550100", "channel": "sms", "channel": "email"}"#,
            "channel",
        ),
        (
            "POST",
            messages.as_str(),
            r#"{"direction": "outbound", "text": "a", "text": "b"}"#,
            "text",
        ),
    ] {
        let resp = send_raw(&server, method, path, body).await;
        assert_invalid(&resp, field);
    }
    assert_eq!(
        server.get_contact(&id).await,
        contact,
        "nothing was changed"
    );
    let list = server.get("/v2/contact").await.expect(200);
    assert_eq!(list["total"], 1, "nothing was created: {list}");
    // The same key in two different objects is not a repeat.
    let resp = send_raw(
        &server,
        "POST",
        "/v2/contact",
        r#"{"phone": "+14155550106", "metadata": {"a": {"x": 1}, "b": {"x": 2}, "x": 3}}"#,
    )
    .await;
    assert_eq!(
        resp.expect(201)["metadata"],
        json!({"a": {"x": 1}, "b": {"x": 2}, "x": 3})
    );
}
