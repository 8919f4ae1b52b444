//! Many contacts in one request: `POST /v2/contact/batch` answers a result per item, in
//! order, and one bad item does not fail the others.

use serde_json::{json, Value};

use crate::list::list;
use crate::utils::{assert_contact_shape, assert_error, assert_invalid, phone, TestServer};

const BATCH: &str = "/v2/contact/batch";

fn id_of(contact: &Value) -> String {
    contact["id"].as_str().unwrap().to_string()
}

/// POST /v2/contact/batch, asserting 200; returns the results and checks the counts.
async fn batch(server: &TestServer, body: Value) -> Vec<Value> {
    let resp = server.post(BATCH, &body).await;
    let answer = resp.expect(200);
    let results = answer["results"]
        .as_array()
        .unwrap_or_else(|| panic!("results is an array: {answer}"))
        .clone();
    let sent = body["contacts"].as_array().unwrap().len();
    assert_eq!(results.len(), sent, "a result per item: {answer}");
    let mut counts = [0u64; 3];
    for (n, result) in results.iter().enumerate() {
        assert_eq!(result["index"], n, "results in order: {result}");
        match result["status"].as_str() {
            Some("created") => counts[0] += 1,
            Some("updated") => counts[1] += 1,
            Some("error") => counts[2] += 1,
            _ => panic!("status is created, updated or error: {result}"),
        }
        if result["status"] == "error" {
            assert!(result.get("contact").is_none_or(Value::is_null), "{result}");
        } else {
            assert_contact_shape(&result["contact"]);
            assert!(result.get("error").is_none_or(Value::is_null), "{result}");
        }
    }
    assert_eq!(answer["created"], counts[0], "created count: {answer}");
    assert_eq!(answer["updated"], counts[1], "updated count: {answer}");
    assert_eq!(answer["errors"], counts[2], "errors count: {answer}");
    results
}

/// An error result with the envelope's fields; returns `details` (`{}` when absent).
#[track_caller]
fn item_error(result: &Value, code: u16, error: &str) -> Value {
    assert_eq!(result["status"], "error", "{result}");
    let e = &result["error"];
    assert_eq!(e["error"], error, "{result}");
    assert_eq!(e["code"], code, "{result}");
    let message = e["message"]
        .as_str()
        .unwrap_or_else(|| panic!("a message: {result}"));
    assert!(!message.trim().is_empty(), "{result}");
    assert!(!message.to_lowercase().contains("sql"), "{result}");
    match e.get("details") {
        None | Some(Value::Null) => json!({}),
        Some(d @ Value::Object(_)) => d.clone(),
        Some(other) => panic!("details is an object: {other}"),
    }
}

#[tokio::test]
async fn good_and_bad_items_each_get_their_result_in_order() {
    let server = TestServer::start().await;
    let results = batch(
        &server,
        json!({"mode": "create", "contacts": [
            {"phone": phone(0), "first_name": "Ann", "metadata": {"plan": "a"}},
            {"phone": "bad"},
            {"email": "bob@example.com", "last_name": "Bob"},
            {"phone": phone(3), "foo": 1},
            {"email": "not-an-email"},
            {"phone": phone(5), "email": "eve@example.com", "status": "inactive"},
            {},
        ]}),
    )
    .await;
    let statuses: Vec<&str> = results
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        ["created", "error", "created", "error", "error", "created", "error"]
    );
    let d = item_error(&results[1], 400, "invalid_input");
    assert_eq!(d["field"], "phone", "{}", results[1]);
    assert_eq!(d["received"], "bad", "{}", results[1]);
    assert_eq!(
        item_error(&results[3], 400, "invalid_input")["field"],
        "foo"
    );
    assert_eq!(
        item_error(&results[4], 400, "invalid_input")["field"],
        "email"
    );
    item_error(&results[6], 400, "invalid_input");
    assert_eq!(results[0]["contact"]["first_name"], "Ann");
    assert_eq!(results[0]["contact"]["metadata"], json!({"plan": "a"}));
    assert_eq!(results[2]["contact"]["full_name"], "Bob");
    assert_eq!(results[5]["contact"]["status"], "inactive");
    // The good ones are stored as answered; the bad ones left nothing.
    for n in [0, 2, 5] {
        let contact = &results[n]["contact"];
        assert_eq!(&server.get_contact(&id_of(contact)).await, contact);
    }
    assert_eq!(server.get("/v2/contact/%2B14155550003").await.status, 404);
    assert_eq!(list(&server, "").await["total"], 3);
}

#[tokio::test]
async fn the_mode_defaults_to_create() {
    let server = TestServer::start().await;
    let existing = server.create_contact(json!({"phone": phone(1)})).await;
    let results = batch(
        &server,
        json!({"contacts": [{"phone": phone(1), "first_name": "X"}, {"phone": phone(2)}]}),
    )
    .await;
    let d = item_error(&results[0], 409, "duplicate_contact");
    assert_eq!(d["existing_contact_id"], existing["id"], "{}", results[0]);
    assert_eq!(results[1]["status"], "created");
    assert_eq!(server.get_contact(&phone(1)).await, existing);
}

#[tokio::test]
async fn a_phone_twice_in_one_batch_is_a_duplicate_in_create_mode() {
    let server = TestServer::start().await;
    let results = batch(
        &server,
        json!({"mode": "create", "contacts": [
            {"phone": phone(1), "first_name": "First"},
            {"phone": phone(1), "first_name": "Second"},
            {"email": "a@example.com"},
            {"email": "A@EXAMPLE.COM", "phone": phone(4)},
        ]}),
    )
    .await;
    assert_eq!(results[0]["status"], "created");
    let d = item_error(&results[1], 409, "duplicate_contact");
    assert_eq!(
        d["existing_contact_id"], results[0]["contact"]["id"],
        "{}",
        results[1]
    );
    assert_eq!(results[2]["status"], "created");
    let d = item_error(&results[3], 409, "duplicate_contact");
    assert_eq!(
        d["existing_contact_id"], results[2]["contact"]["id"],
        "{}",
        results[3]
    );
    assert_eq!(server.get_contact(&phone(1)).await["first_name"], "First");
    assert_eq!(server.get("/v2/contact/%2B14155550004").await.status, 404);
    assert_eq!(list(&server, "").await["total"], 2);
}

#[tokio::test]
async fn a_phone_twice_in_one_batch_is_an_update_in_upsert_mode() {
    let server = TestServer::start().await;
    let existing = server
        .create_contact(
            json!({"email": "old@example.com", "first_name": "Old", "metadata": {"a": 1}}),
        )
        .await;
    let results = batch(
        &server,
        json!({"mode": "upsert", "contacts": [
            {"phone": phone(1), "first_name": "First", "metadata": {"x": 1}},
            {"phone": phone(1), "last_name": "Second", "metadata": {"y": 2}},
            {"email": "OLD@example.com", "metadata": {"b": 2}},
            {"phone": "bad"},
            {"phone": phone(9)},
        ]}),
    )
    .await;
    let statuses: Vec<&str> = results
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        ["created", "updated", "updated", "error", "created"]
    );
    let first = &results[0]["contact"];
    let second = &results[1]["contact"];
    assert_eq!(second["id"], first["id"]);
    assert_eq!(second["full_name"], "First Second");
    assert_eq!(second["metadata"], json!({"x": 1, "y": 2}));
    assert_eq!(results[2]["contact"]["id"], existing["id"]);
    assert_eq!(results[2]["contact"]["metadata"], json!({"a": 1, "b": 2}));
    assert_eq!(results[2]["contact"]["first_name"], "Old");
    assert_eq!(
        item_error(&results[3], 400, "invalid_input")["field"],
        "phone"
    );
    assert_eq!(&server.get_contact(&phone(1)).await, second);
    assert_eq!(list(&server, "").await["total"], 3);
}

#[tokio::test]
async fn a_both_match_conflict_in_upsert_mode_fails_that_item_only() {
    let server = TestServer::start().await;
    let a = server.create_contact(json!({"phone": phone(1)})).await;
    let b = server
        .create_contact(json!({"email": "b@example.com"}))
        .await;
    let results = batch(
        &server,
        json!({"mode": "upsert", "contacts": [
            {"phone": phone(1), "email": "b@example.com", "first_name": "Both"},
            {"phone": phone(2)},
        ]}),
    )
    .await;
    let d = item_error(&results[0], 409, "duplicate_contact");
    assert_eq!(d["phone_contact_id"], a["id"], "{}", results[0]);
    assert_eq!(d["email_contact_id"], b["id"], "{}", results[0]);
    assert_eq!(results[1]["status"], "created");
    assert_eq!(server.get_contact(&id_of(&a)).await, a);
    assert_eq!(server.get_contact(&id_of(&b)).await, b);
}

#[tokio::test]
async fn items_that_are_not_objects_fail_alone() {
    let server = TestServer::start().await;
    let results = batch(
        &server,
        json!({"contacts": ["x", {"phone": phone(1)}, 5, null, [], {"phone": phone(2)}, true]}),
    )
    .await;
    for n in [0, 2, 3, 4, 6] {
        item_error(&results[n], 400, "invalid_input");
    }
    assert_eq!(results[1]["status"], "created");
    assert_eq!(results[5]["status"], "created");
    assert_eq!(list(&server, "").await["total"], 2);
}

#[tokio::test]
async fn a_thousand_items_are_accepted() {
    let server = TestServer::start().await;
    let contacts: Vec<Value> = (0..1000).map(|n| json!({"phone": phone(n)})).collect();
    let results = batch(&server, json!({"mode": "create", "contacts": contacts})).await;
    for (n, result) in results.iter().enumerate() {
        assert_eq!(result["status"], "created", "{result}");
        assert_eq!(result["contact"]["phone"], phone(n as u32));
    }
    assert_eq!(list(&server, "").await["total"], 1000);
    assert_eq!(
        server.get_contact(&phone(999)).await,
        results[999]["contact"]
    );
    // And the same thousand again in upsert mode: all updated.
    let contacts: Vec<Value> = (0..1000)
        .map(|n| json!({"phone": phone(n), "metadata": {"n": n}}))
        .collect();
    let results = batch(&server, json!({"mode": "upsert", "contacts": contacts})).await;
    assert!(results.iter().all(|r| r["status"] == "updated"));
    assert_eq!(list(&server, "").await["total"], 1000);
}

#[tokio::test]
async fn bad_batches_are_refused_whole_and_create_nothing() {
    let server = TestServer::start().await;
    let many: Vec<Value> = (0..1001).map(|n| json!({"phone": phone(n)})).collect();
    let resp = server
        .post(BATCH, &json!({"mode": "create", "contacts": many}))
        .await;
    assert_invalid(&resp, "contacts");
    for (field, body) in [
        ("contacts", json!({"mode": "create", "contacts": []})),
        ("contacts", json!({"mode": "upsert", "contacts": []})),
        ("contacts", json!({"mode": "create"})),
        ("contacts", json!({"contacts": {"phone": phone(1)}})),
        ("contacts", json!({"contacts": "x"})),
        (
            "mode",
            json!({"mode": "merge", "contacts": [{"phone": phone(1)}]}),
        ),
        (
            "mode",
            json!({"mode": "", "contacts": [{"phone": phone(1)}]}),
        ),
        (
            "mode",
            json!({"mode": 1, "contacts": [{"phone": phone(1)}]}),
        ),
    ] {
        assert_invalid(&server.post(BATCH, &body).await, field);
    }
    for raw in [
        &b"not json"[..],
        b"[]",
        b"",
        b"null",
        br#"[{"phone":"+14155550001"}]"#,
    ] {
        let resp = server
            .request(
                "POST",
                BATCH,
                Some(&server.key),
                Some(raw),
                Some("application/json"),
            )
            .await;
        assert_error(&resp, 400, "invalid_input");
    }
    assert_eq!(list(&server, "").await["total"], 0);
}

/// A contact as `GET` answers it, with another id, phone and email.
fn exported(id: &str, phone: &str, email: &str) -> Value {
    json!({"id": id, "phone": phone, "email": email, "first_name": "Zoë",
        "last_name": "O'Brien", "full_name": "Zoë O'Brien", "preferred_channel": "sms",
        "metadata": {"deep": {"a": [1, {"b": "c"}]}}, "status": "inactive",
        "created_at": "2026-01-25T10:30:00.000001Z", "updated_at": "2026-01-26T10:30:00.000002Z",
        "last_contacted": "2026-01-26T09:00:00.000000Z", "identities": []})
}

#[tokio::test]
async fn restore_mode_writes_contacts_back_as_they_were() {
    let server = TestServer::start().await;
    let id = "cnt_038ggac0fy000a0wp1kh1adwpwetq";
    let original = exported(id, &phone(1), "zoe@example.com");
    let results = batch(
        &server,
        json!({"mode": "restore", "contacts": [original.clone()]}),
    )
    .await;
    assert_eq!(results[0]["status"], "created", "{results:?}");
    assert_eq!(results[0]["contact"], original);
    assert_eq!(server.get_contact(id).await, original);
    let by_phone = server.get_contact(&phone(1)).await;
    assert_eq!(by_phone["id"], id, "found by its phone too");
    let found = list(&server, "q=zoe").await;
    assert_eq!(found["data"][0]["id"], id, "and by search: {found}");
}

#[tokio::test]
async fn a_restore_never_overwrites_a_contact_nor_takes_its_phone_or_email() {
    let server = TestServer::start().await;
    let held = server
        .create_contact(json!({"phone": phone(1), "email": "held@example.com"}))
        .await;
    let held_id = id_of(&held);
    let fresh = "cnt_038ggac0fy000a0wp1kh1adwpwet1";
    let results = batch(
        &server,
        json!({"mode": "restore", "contacts": [
            exported(&held_id, &phone(2), "other@example.com"),
            exported(fresh, &phone(1), "new@example.com"),
            exported(fresh, &phone(3), "held@example.com"),
            exported(fresh, &phone(4), "fresh@example.com"),
            exported(fresh, &phone(5), "again@example.com"),
        ]}),
    )
    .await;
    for (index, field) in [(0, "id"), (1, "phone"), (2, "email"), (4, "id")] {
        let details = item_error(&results[index], 409, "duplicate_contact");
        assert_eq!(details["field"], field, "item {index}: {details}");
        let holder = if index == 4 { fresh } else { held_id.as_str() };
        assert_eq!(details["existing_contact_id"], holder, "item {index}");
    }
    assert_eq!(results[3]["status"], "created", "{:?}", results[3]);
    assert_eq!(
        server.get_contact(&held_id).await,
        held,
        "never overwritten"
    );
    assert_eq!(list(&server, "").await["total"], 2);
}

#[tokio::test]
async fn restore_items_need_contactd_ids_and_utc_times() {
    let server = TestServer::start().await;
    let with = |field: &str, value: Value| {
        let mut item = exported(
            "cnt_038ggac0fy000a0wp1kh1adwpwetq",
            &phone(1),
            "a@example.com",
        );
        match value {
            Value::Null => item.as_object_mut().map(|m| m.remove(field)),
            value => item.as_object_mut().map(|m| m.insert(field.into(), value)),
        };
        item
    };
    let cases = [
        ("id", with("id", json!("cnt_short"))),
        ("id", with("id", Value::Null)),
        (
            "created_at",
            with("created_at", json!("2026-01-25T11:30:00+01:00")),
        ),
        ("created_at", with("created_at", Value::Null)),
        (
            "updated_at",
            with("updated_at", json!("2020-01-01T00:00:00Z")),
        ),
        ("last_contacted", with("last_contacted", json!("yesterday"))),
        ("full_name", with("full_name", json!("Someone Else"))),
        ("phone", with("phone", json!("bad"))),
    ];
    let (fields, items): (Vec<_>, Vec<_>) = cases.into_iter().unzip();
    let results = batch(&server, json!({"mode": "restore", "contacts": items})).await;
    for (result, field) in results.iter().zip(fields) {
        let details = item_error(result, 400, "invalid_input");
        assert_eq!(details["field"], field, "{result}");
    }
    assert_eq!(list(&server, "").await["total"], 0);
}
