//! Find-or-create in one request: `POST /v2/contact/upsert` creates or updates by phone or
//! email, refuses to pick between two matches, and creates exactly one contact under races.

use futures::future::join_all;
use serde_json::{json, Value};

use crate::list::list;
use crate::utils::{
    assert_contact_shape, assert_error, assert_invalid, nested_object, phone, ts, Resp, TestServer,
};

const UPSERT: &str = "/v2/contact/upsert";
const N: usize = 32;

fn id_of(contact: &Value) -> String {
    contact["id"].as_str().unwrap().to_string()
}

/// Asserts a created (201) or updated (200) upsert answer; returns the contact.
#[track_caller]
fn upserted(resp: &Resp, result: &str) -> Value {
    let status = if result == "created" { 201 } else { 200 };
    let contact = resp.expect(status);
    assert_contact_shape(&contact);
    assert_eq!(
        resp.header("x-upsert-result"),
        Some(result),
        "X-Upsert-Result on a {} upsert",
        resp.status
    );
    contact
}

/// `after` equals `before` except for the `changed` fields and `updated_at`.
#[track_caller]
fn assert_only_changed(before: &Value, after: &Value, changed: &[&str]) {
    for (field, value) in before.as_object().unwrap() {
        if field == "updated_at" || changed.contains(&field.as_str()) {
            continue;
        }
        assert_eq!(&after[field], value, "{field} did not change: {after}");
    }
}

async fn john(server: &TestServer) -> Value {
    server
        .create_contact(json!({
            "phone": "+14155550100",
            "email": "john@example.com",
            "first_name": "John",
            "last_name": "Doe",
            "preferred_channel": "whatsapp",
            "metadata": {"plan": "premium", "source": "website", "prefs": {"a": 1, "b": 2}, "tags": ["x"]}
        }))
        .await
}

#[tokio::test]
async fn an_unknown_identifier_creates_the_contact() {
    let server = TestServer::start().await;
    let body = json!({
        "phone": "+14155550100", "email": "new@example.com", "first_name": "New",
        "preferred_channel": "sms", "metadata": {"plan": "basic", "gone": null}
    });
    let resp = server.post(UPSERT, &body).await;
    let contact = upserted(&resp, "created");
    assert_eq!(contact["phone"], "+14155550100");
    assert_eq!(contact["email"], "new@example.com");
    assert_eq!(contact["first_name"], "New");
    assert_eq!(contact["full_name"], "New");
    assert_eq!(contact["preferred_channel"], "sms");
    assert_eq!(contact["status"], "active");
    assert_eq!(contact["metadata"], json!({"plan": "basic"}));
    assert_eq!(contact["created_at"], contact["updated_at"]);
    assert_eq!(server.get_contact(&id_of(&contact)).await, contact);
    // Email only, and inactive.
    let resp = server
        .post(
            UPSERT,
            &json!({"email": "other@example.com", "status": "inactive"}),
        )
        .await;
    let other = upserted(&resp, "created");
    assert!(other["phone"].is_null());
    assert_eq!(other["status"], "inactive");
    assert_eq!(list(&server, "").await["total"], 2);
}

#[tokio::test]
async fn a_phone_match_updates_only_the_fields_sent_and_merges_metadata() {
    let server = TestServer::start().await;
    let before = john(&server).await;
    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    let resp = server
        .post(
            UPSERT,
            &json!({
                "phone": "+14155550100", "last_name": "Dee",
                "metadata": {"plan": "basic", "source": null, "prefs": {"b": 3}, "tags": ["y"]}
            }),
        )
        .await;
    let after = upserted(&resp, "updated");
    assert_eq!(after["id"], before["id"]);
    assert_eq!(after["last_name"], "Dee");
    assert_eq!(after["full_name"], "John Dee");
    assert_eq!(
        after["metadata"],
        json!({"plan": "basic", "prefs": {"a": 1, "b": 3}, "tags": ["y"]})
    );
    assert_only_changed(&before, &after, &["last_name", "full_name", "metadata"]);
    assert!(ts(&after["updated_at"]) > ts(&before["updated_at"]));
    assert_eq!(after["created_at"], before["created_at"]);
    assert_eq!(server.get_contact(&id_of(&before)).await, after);
    assert_eq!(list(&server, "").await["total"], 1);
}

#[tokio::test]
async fn an_email_match_updates_in_any_case() {
    let server = TestServer::start().await;
    let before = john(&server).await;
    let resp = server
        .post(
            UPSERT,
            &json!({"email": "john@example.com", "first_name": "Johnny", "status": "inactive"}),
        )
        .await;
    let after = upserted(&resp, "updated");
    assert_eq!(after["id"], before["id"]);
    assert_eq!(after["first_name"], "Johnny");
    assert_eq!(after["status"], "inactive");
    assert_only_changed(&before, &after, &["first_name", "full_name", "status"]);
    let resp = server
        .post(
            UPSERT,
            &json!({"email": "JOHN@Example.COM", "preferred_channel": "email"}),
        )
        .await;
    let again = upserted(&resp, "updated");
    assert_eq!(again["id"], before["id"]);
    assert_eq!(again["preferred_channel"], "email");
    assert_eq!(again["phone"], before["phone"]);
    assert_eq!(list(&server, "").await["total"], 1);
}

#[tokio::test]
async fn a_match_by_both_or_by_one_with_a_new_other_updates_that_contact() {
    let server = TestServer::start().await;
    let before = john(&server).await;
    let resp = server
        .post(
            UPSERT,
            &json!({"phone": "+14155550100", "email": "john@example.com", "first_name": "Jon"}),
        )
        .await;
    let after = upserted(&resp, "updated");
    assert_eq!(after["id"], before["id"]);
    assert_eq!(after["first_name"], "Jon");
    assert_only_changed(&before, &after, &["first_name", "full_name"]);

    // The phone matches; the email is new: the contact gets the new email.
    let resp = server
        .post(
            UPSERT,
            &json!({"phone": "+14155550100", "email": "jon@new.example.com"}),
        )
        .await;
    let moved = upserted(&resp, "updated");
    assert_eq!(moved["id"], before["id"]);
    assert_eq!(moved["email"], "jon@new.example.com");

    // An email-only contact gets a phone through an email match.
    let mary = server
        .create_contact(json!({"email": "mary@example.com"}))
        .await;
    let resp = server
        .post(
            UPSERT,
            &json!({"email": "mary@example.com", "phone": phone(7)}),
        )
        .await;
    let mary2 = upserted(&resp, "updated");
    assert_eq!(mary2["id"], mary["id"]);
    assert_eq!(mary2["phone"], phone(7));
    assert_eq!(server.get_contact(&phone(7)).await["id"], mary["id"]);
    assert_eq!(list(&server, "").await["total"], 2);
}

#[tokio::test]
async fn an_upsert_that_changes_nothing_is_unchanged_without_moving_updated_at() {
    let server = TestServer::start().await;
    let before = john(&server).await;
    for body in [
        json!({"phone": "+14155550100"}),
        json!({"phone": "+14155550100", "first_name": "John", "metadata": {"plan": "premium"}}),
        json!({"email": "john@example.com", "metadata": {}}),
    ] {
        let resp = server.post(UPSERT, &body).await;
        assert_eq!(resp.status, 200, "{body}");
        let after = upserted(&resp, "unchanged");
        assert_eq!(after, before, "{body}");
    }
    assert_eq!(server.get_contact(&id_of(&before)).await, before);
}

#[tokio::test]
async fn phone_and_email_matching_two_contacts_is_409_naming_both_and_changes_nothing() {
    let server = TestServer::start().await;
    let a = server
        .create_contact(json!({"phone": phone(1), "first_name": "A"}))
        .await;
    let b = server
        .create_contact(json!({"phone": phone(2), "email": "b@example.com", "first_name": "B"}))
        .await;
    for email in ["b@example.com", "B@EXAMPLE.com"] {
        let resp = server
            .post(
                UPSERT,
                &json!({"phone": phone(1), "email": email, "first_name": "Picked", "metadata": {"x": 1}}),
            )
            .await;
        let details = assert_error(&resp, 409, "duplicate_contact");
        assert_eq!(details["phone_contact_id"], a["id"], "{}", resp.text);
        assert_eq!(details["email_contact_id"], b["id"], "{}", resp.text);
        assert_eq!(details["existing_contact_id"], a["id"], "{}", resp.text);
        assert_eq!(resp.header("x-upsert-result"), None, "no result on a 409");
    }
    assert_eq!(server.get_contact(&id_of(&a)).await, a);
    assert_eq!(server.get_contact(&id_of(&b)).await, b);
    assert_eq!(list(&server, "").await["total"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_upserts_of_one_phone_create_exactly_one_contact() {
    let server = TestServer::start().await;
    let bodies: Vec<Value> = (0..N)
        .map(|n| json!({"phone": "+14155550100", "metadata": {format!("k{n}"): n}}))
        .collect();
    let responses = join_all(bodies.iter().map(|body| server.post(UPSERT, body))).await;
    let statuses: Vec<u16> = responses.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "one 201: {statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        N - 1,
        "31 200s: {statuses:?}"
    );
    let mut id = None;
    for resp in &responses {
        let contact = upserted(
            resp,
            if resp.status == 201 {
                "created"
            } else {
                "updated"
            },
        );
        let this = id_of(&contact);
        assert_eq!(id.get_or_insert_with(|| this.clone()), &this, "one contact");
    }
    let contact = server.get_contact("+14155550100").await;
    assert_eq!(Some(id_of(&contact)), id);
    let all = list(&server, "").await;
    assert_eq!(all["total"], 1, "{all}");
    // Each upsert was applied on the current state: every metadata key landed.
    let metadata = contact["metadata"].as_object().unwrap();
    assert_eq!(metadata.len(), N, "{contact}");
    for n in 0..N {
        assert_eq!(metadata[&format!("k{n}")], n, "{contact}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_upserts_of_one_email_in_any_case_create_exactly_one_contact() {
    let server = TestServer::start().await;
    let bodies: Vec<Value> = (0..N)
        .map(|n| {
            let email = if n % 2 == 0 {
                "Race@Example.com"
            } else {
                "race@example.COM"
            };
            json!({"email": email, "first_name": format!("n{n}")})
        })
        .collect();
    let responses = join_all(bodies.iter().map(|body| server.post(UPSERT, body))).await;
    let statuses: Vec<u16> = responses.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        N - 1,
        "{statuses:?}"
    );
    let first = id_of(&responses[0].body);
    for resp in &responses {
        assert_eq!(id_of(&resp.body), first, "one contact");
    }
    assert_eq!(list(&server, "").await["total"], 1);
    assert_eq!(
        server.get_contact("race@example.com").await["id"],
        first.as_str()
    );
}

#[tokio::test]
async fn invalid_upserts_are_refused_as_creates_are_and_change_nothing() {
    let server = TestServer::start().await;
    let cases = [
        ("phone", json!({"phone": "bad"})),
        ("phone", json!({"phone": "14155550100"})),
        ("phone", json!({"phone": 14155550100_u64})),
        ("email", json!({"email": "john@"})),
        ("email", json!({"phone": phone(1), "email": true})),
        ("first_name", json!({"phone": phone(1), "first_name": 5})),
        ("first_name", json!({"phone": phone(1), "first_name": "  "})),
        (
            "preferred_channel",
            json!({"phone": phone(1), "preferred_channel": "fax"}),
        ),
        ("status", json!({"phone": phone(1), "status": "deleted"})),
        ("metadata", json!({"phone": phone(1), "metadata": "x"})),
        (
            "metadata",
            json!({"phone": phone(1), "metadata": nested_object(11)}),
        ),
        ("foo", json!({"phone": phone(1), "foo": "bar"})),
        (
            "id",
            json!({"phone": phone(1), "id": "cnt_0000000000000000"}),
        ),
        ("full_name", json!({"phone": phone(1), "full_name": "J D"})),
        (
            "created_at",
            json!({"phone": phone(1), "created_at": "2026-01-25T10:30:00Z"}),
        ),
    ];
    for (field, body) in &cases {
        let resp = server.post(UPSERT, body).await;
        assert_invalid(&resp, field);
    }
    let details = assert_invalid(
        &server.post(UPSERT, &json!({"phone": "1234567890"})).await,
        "phone",
    );
    assert_eq!(details["expected"], "+1234567890");
    for body in [
        json!({}),
        json!({"first_name": "John"}),
        json!({"phone": null, "email": null}),
    ] {
        assert_error(&server.post(UPSERT, &body).await, 400, "invalid_input");
    }
    for raw in [&b"not json"[..], b"[]", b"", b"null"] {
        let resp = server
            .request(
                "POST",
                UPSERT,
                Some(&server.key),
                Some(raw),
                Some("application/json"),
            )
            .await;
        assert_error(&resp, 400, "invalid_input");
    }
    assert_eq!(list(&server, "").await["total"], 0, "nothing was created");

    // Against an existing contact, an invalid body changes nothing either.
    let before = john(&server).await;
    for (field, body) in [
        (
            "status",
            json!({"phone": "+14155550100", "status": "deleted"}),
        ),
        (
            "metadata",
            json!({"phone": "+14155550100", "metadata": {"deep": nested_object(10)}}),
        ),
        (
            "last_name",
            json!({"email": "john@example.com", "last_name": ["Doe"]}),
        ),
        (
            "updated_at",
            json!({"email": "john@example.com", "updated_at": "2026-01-25T10:30:00Z"}),
        ),
    ] {
        assert_invalid(&server.post(UPSERT, &body).await, field);
    }
    assert_eq!(server.get_contact(&id_of(&before)).await, before);
}
