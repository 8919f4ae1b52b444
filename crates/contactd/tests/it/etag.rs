//! Optimistic concurrency: every contact answer names its version in `ETag`, and `If-Match`
//! on PUT and DELETE refuses, with 412, to change a contact that changed meanwhile.

use futures::future::join_all;
use serde_json::{json, Value};

use crate::utils::{assert_error, contact_path, phone, Resp, TestServer};

#[track_caller]
fn etag(resp: &Resp) -> String {
    let tag = resp
        .header("etag")
        .unwrap_or_else(|| panic!("an ETag on the {} answer: {}", resp.status, resp.text));
    assert!(!tag.trim().is_empty(), "a non-empty ETag");
    tag.to_string()
}

fn id_of(contact: &Value) -> String {
    contact["id"].as_str().unwrap().to_string()
}

/// PUT or DELETE a contact with `If-Match: {if_match}`.
async fn with_if_match(
    server: &TestServer,
    method: &str,
    contact_ref: &str,
    if_match: &str,
    body: Option<&Value>,
) -> Resp {
    let bytes = body.map(|b| serde_json::to_vec(b).unwrap());
    let mut headers = vec![("X-API-Key", server.key.as_str()), ("If-Match", if_match)];
    if bytes.is_some() {
        headers.push(("Content-Type", "application/json"));
    }
    server
        .send(
            method,
            &contact_path(contact_ref),
            &headers,
            bytes.as_deref(),
        )
        .await
}

#[tokio::test]
async fn every_contact_answer_carries_an_etag_that_moves_only_on_change() {
    let server = TestServer::start().await;
    let created = server
        .post(
            "/v2/contact",
            &json!({"phone": phone(1), "email": "a@example.com", "metadata": {"a": 1}}),
        )
        .await;
    created.expect(201);
    let e1 = etag(&created);
    let id = id_of(&created.body);
    for contact_ref in [id.as_str(), &phone(1), "A@example.com"] {
        let got = server.get(&contact_path(contact_ref)).await;
        got.expect(200);
        assert_eq!(etag(&got), e1, "GET {contact_ref} names the same version");
    }
    let path = contact_path(&id);
    let put = server.put(&path, &json!({"first_name": "Changed"})).await;
    put.expect(200);
    let e2 = etag(&put);
    assert_ne!(e2, e1, "an update makes a new version");
    assert_eq!(etag(&server.get(&path).await), e2);
    // No-op updates keep the version.
    for noop in [
        json!({}),
        json!({"first_name": "Changed"}),
        json!({"metadata": {"a": 1}}),
    ] {
        let same = server.put(&path, &noop).await;
        same.expect(200);
        assert_eq!(etag(&same), e2, "a no-op PUT {noop} keeps the ETag");
    }
    assert_eq!(etag(&server.get(&path).await), e2);
    // Upsert answers carry it too.
    let up = server
        .post(
            "/v2/contact/upsert",
            &json!({"phone": phone(1), "metadata": {"b": 2}}),
        )
        .await;
    up.expect(200);
    let e3 = etag(&up);
    assert_ne!(e3, e2);
    assert_eq!(etag(&server.get(&path).await), e3);
    let new = server
        .post("/v2/contact/upsert", &json!({"phone": phone(2)}))
        .await;
    new.expect(201);
    let e_new = etag(&new);
    assert_eq!(etag(&server.get(&contact_path(&phone(2))).await), e_new);
    assert_ne!(e_new, e3, "another contact, another ETag");
    // A message that marks the contact contacted changes it too.
    let conversation = server.create_conversation(&id, "sms").await;
    server
        .post_message(conversation["id"].as_str().unwrap(), "outbound", "hi")
        .await;
    let e4 = etag(&server.get(&path).await);
    assert_ne!(e4, e3, "last_contacted moved: a new version");
    // DELETE answers with the contact, and its ETag.
    let deleted = server.delete(&path).await;
    deleted.expect(200);
    etag(&deleted);
}

#[tokio::test]
async fn put_with_the_current_etag_succeeds_and_with_a_stale_one_is_412() {
    let server = TestServer::start().await;
    let created = server
        .post(
            "/v2/contact",
            &json!({"phone": phone(1), "first_name": "A", "metadata": {"a": 1}}),
        )
        .await;
    let e1 = etag(&created);
    let id = id_of(&created.body);
    let ok = with_if_match(&server, "PUT", &id, &e1, Some(&json!({"first_name": "B"}))).await;
    let current = ok.expect(200);
    assert_eq!(current["first_name"], "B");
    let e2 = etag(&ok);
    assert_ne!(e2, e1);
    // The stale version: refused, whatever the body, and nothing changes.
    for body in [
        json!({"first_name": "C"}),
        json!({"metadata": {"b": 2}}),
        json!({"first_name": "B"}),
        json!({}),
    ] {
        let resp = with_if_match(&server, "PUT", &id, &e1, Some(&body)).await;
        let details = assert_error(&resp, 412, "precondition_failed");
        assert_eq!(details["current_etag"], e2.as_str(), "{}", resp.text);
        assert_eq!(server.get_contact(&id).await, current);
    }
    // By phone too.
    let resp = with_if_match(
        &server,
        "PUT",
        &phone(1),
        &e1,
        Some(&json!({"first_name": "C"})),
    )
    .await;
    assert_error(&resp, 412, "precondition_failed");
    // A list of ETags passes when the current one is among them.
    let list = format!("{e1}, {e2}");
    let ok = with_if_match(&server, "PUT", &id, &list, Some(&json!({"last_name": "Z"}))).await;
    ok.expect(200);
    let e3 = etag(&ok);
    // After a no-op PUT the ETag is still current.
    let noop = with_if_match(&server, "PUT", &id, &e3, Some(&json!({}))).await;
    noop.expect(200);
    assert_eq!(etag(&noop), e3);
    let ok = with_if_match(&server, "PUT", &id, &e3, Some(&json!({"first_name": "D"}))).await;
    assert_eq!(ok.expect(200)["full_name"], "D Z");
    // `*` matches any version.
    let star = with_if_match(&server, "PUT", &id, "*", Some(&json!({"first_name": "E"}))).await;
    assert_eq!(star.expect(200)["first_name"], "E");
    // An ETag that never was.
    let resp = with_if_match(
        &server,
        "PUT",
        &id,
        "\"nope\"",
        Some(&json!({"first_name": "F"})),
    )
    .await;
    assert_error(&resp, 412, "precondition_failed");
    assert_eq!(server.get_contact(&id).await["first_name"], "E");
}

#[tokio::test]
async fn delete_with_a_stale_etag_is_412_and_the_contact_stays() {
    let server = TestServer::start().await;
    let created = server
        .post("/v2/contact", &json!({"phone": phone(1)}))
        .await;
    let e1 = etag(&created);
    let id = id_of(&created.body);
    let conversation = server.create_conversation(&id, "sms").await;
    let updated = server
        .put(&contact_path(&id), &json!({"first_name": "New"}))
        .await;
    let e2 = etag(&updated);
    assert_ne!(e1, e2);
    let resp = with_if_match(&server, "DELETE", &id, &e1, None).await;
    let details = assert_error(&resp, 412, "precondition_failed");
    assert_eq!(details["current_etag"], e2.as_str(), "{}", resp.text);
    assert_eq!(server.get_contact(&id).await, updated.body);
    server
        .get_conversation(conversation["id"].as_str().unwrap())
        .await;
    let ok = with_if_match(&server, "DELETE", &id, &e2, None).await;
    assert_eq!(ok.expect(200)["status"], "deleted");
    assert_error(&server.get(&contact_path(&id)).await, 404, "not_found");
    // `*` deletes whatever the version.
    let other = server
        .post("/v2/contact", &json!({"phone": phone(2)}))
        .await;
    other.expect(201);
    let resp = with_if_match(&server, "DELETE", &phone(2), "*", None).await;
    resp.expect(200);
    assert_error(
        &server.get(&contact_path(&phone(2))).await,
        404,
        "not_found",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_puts_with_one_if_match_give_one_200_and_412s() {
    let server = TestServer::start().await;
    let created = server
        .post("/v2/contact", &json!({"phone": phone(1)}))
        .await;
    let id = id_of(&created.body);
    let mut current = etag(&created);
    for round in 0..8 {
        let width = if round % 2 == 0 { 2 } else { 8 };
        let bodies: Vec<Value> = (0..width)
            .map(|n| json!({"first_name": format!("r{round}n{n}"), "metadata": {format!("r{round}"): n}}))
            .collect();
        let responses = join_all(
            bodies
                .iter()
                .map(|body| with_if_match(&server, "PUT", &id, &current, Some(body))),
        )
        .await;
        let statuses: Vec<u16> = responses.iter().map(|r| r.status).collect();
        let winners: Vec<&Resp> = responses.iter().filter(|r| r.status == 200).collect();
        assert_eq!(winners.len(), 1, "round {round}: one 200: {statuses:?}");
        let winner = winners[0];
        let new = etag(winner);
        for resp in responses.iter().filter(|r| r.status != 200) {
            let details = assert_error(resp, 412, "precondition_failed");
            assert_eq!(details["current_etag"], new.as_str(), "{}", resp.text);
        }
        let stored = server.get(&contact_path(&id)).await;
        assert_eq!(
            stored.expect(200),
            winner.body,
            "round {round}: only the winner landed"
        );
        assert_eq!(etag(&stored), new);
        current = new;
    }
}
