//! A business updates a contact: only what it sends changes, metadata merges (RFC 7396),
//! and a refused update changes nothing.

use serde_json::{json, Value};

use crate::utils::{
    assert_error, assert_invalid, contact_path, nested_object, phone, ts, TestServer,
    MISSING_CONTACT_ID,
};

async fn john(server: &TestServer) -> Value {
    server
        .create_contact(json!({
            "phone": "+14155550100",
            "email": "john@example.com",
            "first_name": "John",
            "last_name": "Doe",
            "preferred_channel": "whatsapp",
            "metadata": {"plan": "premium", "source": "website"}
        }))
        .await
}

fn id_of(contact: &Value) -> String {
    contact["id"].as_str().unwrap().to_string()
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

#[tokio::test]
async fn only_the_fields_sent_change() {
    let server = TestServer::start().await;
    let before = john(&server).await;
    let id = id_of(&before);
    let after = server
        .update_contact(&id, json!({"first_name": "Jane"}))
        .await;
    assert_eq!(after["first_name"], "Jane");
    assert_eq!(after["full_name"], "Jane Doe");
    assert_only_changed(&before, &after, &["first_name", "full_name"]);
    assert!(
        ts(&after["updated_at"]) > ts(&before["updated_at"]),
        "updated_at moves"
    );
    assert_eq!(after["created_at"], before["created_at"]);
    assert_eq!(server.get_contact(&id).await, after, "the update is stored");
}

#[tokio::test]
async fn every_writable_field_can_be_changed() {
    let server = TestServer::start().await;
    let before = john(&server).await;
    let id = id_of(&before);
    let after = server
        .update_contact(
            &id,
            json!({
                "phone": "+447911123456",
                "email": "j.doe@newcompany.com",
                "first_name": "Johnny",
                "last_name": "Dee",
                "preferred_channel": "sms",
                "status": "inactive"
            }),
        )
        .await;
    assert_eq!(after["phone"], "+447911123456");
    assert_eq!(after["email"], "j.doe@newcompany.com");
    assert_eq!(after["full_name"], "Johnny Dee");
    assert_eq!(after["preferred_channel"], "sms");
    assert_eq!(after["status"], "inactive");
    assert_eq!(after["metadata"], before["metadata"]);
    assert_eq!(after["id"], before["id"]);
    // The old phone and email no longer find it; the new ones do.
    assert_error(
        &server.get("/v2/contact/%2B14155550100").await,
        404,
        "not_found",
    );
    assert_error(
        &server.get("/v2/contact/john@example.com").await,
        404,
        "not_found",
    );
    assert_eq!(server.get_contact("+447911123456").await, after);
    assert_eq!(server.get_contact("J.DOE@newcompany.com").await, after);
}

#[tokio::test]
async fn null_clears_a_field() {
    let server = TestServer::start().await;
    let before = john(&server).await;
    let id = id_of(&before);
    let after = server.update_contact(&id, json!({"last_name": null})).await;
    assert!(after["last_name"].is_null());
    assert_eq!(after["full_name"], "John");
    let after = server
        .update_contact(&id, json!({"first_name": null, "preferred_channel": null}))
        .await;
    assert!(after["first_name"].is_null());
    assert!(after["full_name"].is_null(), "no names, no full_name");
    assert!(after["preferred_channel"].is_null());
    let after = server.update_contact(&id, json!({"email": null})).await;
    assert!(after["email"].is_null());
    assert_eq!(after["phone"], "+14155550100");
    assert_error(
        &server.get("/v2/contact/john@example.com").await,
        404,
        "not_found",
    );
    assert_eq!(server.get_contact(&id).await, after);
}

#[tokio::test]
async fn phone_and_email_cannot_both_be_cleared() {
    let server = TestServer::start().await;
    let both = john(&server).await;
    let both_id = id_of(&both);
    let resp = server
        .put(
            &contact_path(&both_id),
            &json!({"phone": null, "email": null}),
        )
        .await;
    assert_error(&resp, 400, "invalid_input");
    assert_eq!(server.get_contact(&both_id).await, both, "nothing changed");

    let phone_only = server.create_contact(json!({"phone": phone(1)})).await;
    let phone_only_id = id_of(&phone_only);
    let resp = server
        .put(
            &contact_path(&phone_only_id),
            &json!({"phone": null, "first_name": "X"}),
        )
        .await;
    assert_error(&resp, 400, "invalid_input");
    assert_eq!(
        server.get_contact(&phone_only_id).await,
        phone_only,
        "nothing changed"
    );

    let email_only = server
        .create_contact(json!({"email": "only@example.com"}))
        .await;
    let email_only_id = id_of(&email_only);
    let resp = server
        .put(&contact_path(&email_only_id), &json!({"email": null}))
        .await;
    assert_error(&resp, 400, "invalid_input");
    assert_eq!(
        server.get_contact(&email_only_id).await,
        email_only,
        "nothing changed"
    );

    // Swapping one for the other in one request is fine.
    let swapped = server
        .update_contact(
            &phone_only_id,
            json!({"phone": null, "email": "swap@example.com"}),
        )
        .await;
    assert!(swapped["phone"].is_null());
    assert_eq!(swapped["email"], "swap@example.com");
}

#[tokio::test]
async fn metadata_is_merged_as_rfc7396() {
    let server = TestServer::start().await;
    let before = server
        .create_contact(json!({
            "phone": phone(1),
            "metadata": {
                "plan": "premium",
                "source": "website",
                "tags": ["a", "b"],
                "preferences": {"language": "en", "timezone": "UTC", "deep": {"x": 1, "y": 2}},
                "scalar_to_object": 1,
                "object_to_scalar": {"a": 1}
            }
        }))
        .await;
    let id = id_of(&before);
    let after = server
        .update_contact(
            &id,
            json!({"metadata": {
                "plan": "enterprise",
                "source": null,
                "tags": ["c"],
                "preferences": {"timezone": null, "theme": "dark", "deep": {"y": null, "z": 3}},
                "scalar_to_object": {"b": 2},
                "object_to_scalar": "flat",
                "added": {"n": null, "m": 1},
                "absent_removed": null
            }}),
        )
        .await;
    let expected = json!({
        "plan": "enterprise",
        "tags": ["c"],
        "preferences": {"language": "en", "theme": "dark", "deep": {"x": 1, "z": 3}},
        "scalar_to_object": {"b": 2},
        "object_to_scalar": "flat",
        "added": {"m": 1}
    });
    assert_eq!(after["metadata"], expected);
    assert_only_changed(&before, &after, &["metadata"]);
    assert!(ts(&after["updated_at"]) > ts(&before["updated_at"]));
    assert_eq!(server.get_contact(&id).await["metadata"], expected);
}

#[tokio::test]
async fn the_seeds_metadata_merges() {
    let server = TestServer::start().await;
    let contact = john(&server).await;
    let id = id_of(&contact);
    let after = server
        .update_contact(&id, json!({"metadata": {"plan": "enterprise"}}))
        .await;
    assert_eq!(
        after["metadata"],
        json!({"plan": "enterprise", "source": "website"})
    );
    let after = server
        .update_contact(&id, json!({"metadata": {"source": null}}))
        .await;
    assert_eq!(after["metadata"], json!({"plan": "enterprise"}));
}

#[tokio::test]
async fn metadata_null_empties_it() {
    let server = TestServer::start().await;
    let contact = john(&server).await;
    let id = id_of(&contact);
    let after = server.update_contact(&id, json!({"metadata": null})).await;
    assert_eq!(after["metadata"], json!({}));
    assert_eq!(server.get_contact(&id).await["metadata"], json!({}));
    let after = server
        .update_contact(&id, json!({"metadata": {"fresh": true}}))
        .await;
    assert_eq!(after["metadata"], json!({"fresh": true}));
}

#[tokio::test]
async fn a_merge_over_the_size_limit_is_refused_and_changes_nothing() {
    let server = TestServer::start().await;
    let before = server
        .create_contact(json!({"phone": phone(1), "metadata": {"a": "x".repeat(10 * 1024)}}))
        .await;
    let id = id_of(&before);
    // The patch alone is under the limit; the merged result is not.
    let resp = server
        .put(
            &contact_path(&id),
            &json!({"first_name": "Big", "metadata": {"b": "y".repeat(10 * 1024)}}),
        )
        .await;
    assert_invalid(&resp, "metadata");
    assert_eq!(server.get_contact(&id).await, before, "nothing changed");
    // Replacing the big key instead keeps it under the limit.
    let after = server
        .update_contact(
            &id,
            json!({"metadata": {"a": null, "b": "y".repeat(10 * 1024)}}),
        )
        .await;
    assert_eq!(after["metadata"], json!({"b": "y".repeat(10 * 1024)}));
}

/// `{"k": {"k": … {"z": 1}}}` with `wrappers` levels of `k` around `{"z": 1}`.
fn deep_patch(wrappers: usize) -> Value {
    let mut patch = json!({"z": 1});
    for _ in 0..wrappers {
        patch = json!({ "k": patch });
    }
    patch
}

#[tokio::test]
async fn a_merge_deeper_than_ten_is_refused_and_changes_nothing() {
    let server = TestServer::start().await;
    let before = server
        .create_contact(json!({"phone": phone(1), "metadata": nested_object(9)}))
        .await;
    let id = id_of(&before);
    let resp = server
        .put(&contact_path(&id), &json!({"metadata": deep_patch(10)}))
        .await;
    assert_invalid(&resp, "metadata");
    assert_eq!(server.get_contact(&id).await, before, "nothing changed");
    // Ten levels deep after the merge is still fine.
    let after = server
        .update_contact(&id, json!({"metadata": deep_patch(9)}))
        .await;
    assert_eq!(after["metadata"], deep_patch(9));
}

#[tokio::test]
async fn an_empty_update_changes_nothing() {
    let server = TestServer::start().await;
    let before = john(&server).await;
    let id = id_of(&before);
    let resp = server.put(&contact_path(&id), &json!({})).await;
    assert_eq!(
        resp.expect(200),
        before,
        "`{{}}` answers the contact unchanged"
    );
    assert_eq!(
        server.get_contact(&id).await,
        before,
        "updated_at did not move"
    );
}

#[tokio::test]
async fn a_phone_or_email_of_another_contact_is_409_naming_it() {
    let server = TestServer::start().await;
    let first = john(&server).await;
    let second = server
        .create_contact(json!({"phone": phone(2), "email": "second@example.com"}))
        .await;
    let second_id = id_of(&second);
    for body in [
        json!({"phone": "+14155550100"}),
        json!({"email": "JOHN@example.com"}),
        json!({"first_name": "X", "email": "john@example.com"}),
    ] {
        let resp = server.put(&contact_path(&second_id), &body).await;
        let details = assert_error(&resp, 409, "duplicate_contact");
        assert_eq!(details["existing_contact_id"], first["id"], "{}", resp.text);
    }
    assert_eq!(
        server.get_contact(&second_id).await,
        second,
        "nothing changed"
    );
    // A contact keeping its own phone is not a duplicate of itself.
    let same = server
        .update_contact(
            &second_id,
            json!({"phone": phone(2), "email": "SECOND@example.com"}),
        )
        .await;
    assert_eq!(same["phone"], phone(2));
}

#[tokio::test]
async fn a_contact_is_updated_by_phone_or_email_ref() {
    let server = TestServer::start().await;
    let contact = john(&server).await;
    let by_phone = server
        .put(
            "/v2/contact/%2B14155550100",
            &json!({"first_name": "ByPhone"}),
        )
        .await
        .expect(200);
    assert_eq!(by_phone["id"], contact["id"]);
    assert_eq!(by_phone["first_name"], "ByPhone");
    let by_literal_plus = server
        .put("/v2/contact/+14155550100", &json!({"first_name": "ByPlus"}))
        .await
        .expect(200);
    assert_eq!(by_literal_plus["first_name"], "ByPlus");
    let by_email = server
        .put(
            "/v2/contact/JOHN@example.com",
            &json!({"last_name": "ByEmail"}),
        )
        .await
        .expect(200);
    assert_eq!(by_email["id"], contact["id"]);
    assert_eq!(by_email["full_name"], "ByPlus ByEmail");
}

#[tokio::test]
async fn status_can_be_set_inactive_and_back_but_not_deleted() {
    let server = TestServer::start().await;
    let contact = john(&server).await;
    let id = id_of(&contact);
    let inactive = server
        .update_contact(&id, json!({"status": "inactive"}))
        .await;
    assert_eq!(inactive["status"], "inactive");
    assert_eq!(server.get_contact(&id).await["status"], "inactive");
    let active = server
        .update_contact(&id, json!({"status": "active"}))
        .await;
    assert_eq!(active["status"], "active");
    for bad in [json!("deleted"), json!("gone"), json!(null)] {
        let resp = server
            .put(&contact_path(&id), &json!({"status": bad}))
            .await;
        assert_invalid(&resp, "status");
    }
    assert_eq!(server.get_contact(&id).await, active);
}

#[tokio::test]
async fn unknown_read_only_and_invalid_fields_are_refused_and_change_nothing() {
    let server = TestServer::start().await;
    let before = john(&server).await;
    let id = id_of(&before);
    let cases = [
        ("foo", json!({"first_name": "X", "foo": 1})),
        ("id", json!({"id": "cnt_0000000000000000"})),
        ("full_name", json!({"full_name": "Jane Roe"})),
        ("created_at", json!({"created_at": "2020-01-01T00:00:00Z"})),
        ("updated_at", json!({"updated_at": "2020-01-01T00:00:00Z"})),
        (
            "last_contacted",
            json!({"last_contacted": "2020-01-01T00:00:00Z"}),
        ),
        ("phone", json!({"first_name": "X", "phone": "1234567890"})),
        ("email", json!({"email": "not-an-email"})),
        ("preferred_channel", json!({"preferred_channel": "fax"})),
        ("metadata", json!({"metadata": "x"})),
        ("metadata", json!({"metadata": [1, 2]})),
        ("first_name", json!({"first_name": 5})),
    ];
    for (field, body) in cases {
        let resp = server.put(&contact_path(&id), &body).await;
        assert_invalid(&resp, field);
    }
    let resp = server
        .put(&contact_path(&id), &json!({"phone": "1234567890"}))
        .await;
    let details = assert_invalid(&resp, "phone");
    assert_eq!(details["expected"], "+1234567890");
    for body in [&b"not json"[..], b"[]", b"null", b"\"x\""] {
        let resp = server
            .request(
                "PUT",
                &contact_path(&id),
                Some(&server.key),
                Some(body),
                Some("application/json"),
            )
            .await;
        assert_error(&resp, 400, "invalid_input");
    }
    assert_eq!(server.get_contact(&id).await, before, "nothing changed");
}

#[tokio::test]
async fn updating_a_missing_contact_is_404() {
    let server = TestServer::start().await;
    for path in [
        format!("/v2/contact/{MISSING_CONTACT_ID}"),
        "/v2/contact/%2B14155550199".to_string(),
        "/v2/contact/nobody@example.com".to_string(),
    ] {
        let resp = server.put(&path, &json!({"first_name": "Ghost"})).await;
        assert_error(&resp, 404, "not_found");
    }
    let resp = server
        .put("/v2/contact/1234567890", &json!({"first_name": "X"}))
        .await;
    assert_invalid(&resp, "ref");
}

#[tokio::test]
async fn updated_at_moves_on_every_change() {
    let server = TestServer::start().await;
    let mut previous = john(&server).await;
    let id = id_of(&previous);
    for body in [
        json!({"first_name": "A"}),
        json!({"metadata": {"k": 1}}),
        json!({"status": "inactive"}),
        json!({"email": null}),
    ] {
        let next = server.update_contact(&id, body.clone()).await;
        assert!(
            ts(&next["updated_at"]) > ts(&previous["updated_at"]),
            "updated_at moves for {body}"
        );
        assert_eq!(next["created_at"], previous["created_at"]);
        previous = next;
    }
}

/// `{"gone-0000": null, …}`: `n` removals, about 15 bytes each.
fn removals(n: usize) -> Value {
    let members: serde_json::Map<String, Value> = (0..n)
        .map(|i| (format!("gone-{i:04}"), Value::Null))
        .collect();
    Value::Object(members)
}

#[tokio::test]
async fn metadata_limits_apply_to_the_merged_result_not_the_patch() {
    let server = TestServer::start().await;
    let patch = removals(1500);
    assert!(
        patch.to_string().len() > 16 * 1024,
        "the patch alone is over the limit"
    );
    let before = server
        .create_contact(json!({"phone": phone(1), "metadata": {"keep": 1, "gone-0007": 2}}))
        .await;
    let id = id_of(&before);
    let after = server
        .update_contact(&id, json!({"metadata": patch.clone()}))
        .await;
    assert_eq!(after["metadata"], json!({"keep": 1}));
    // An upsert merges the same way.
    let resp = server
        .post(
            "/v2/contact/upsert",
            &json!({"phone": phone(1), "metadata": {"keep": null, "gone-0001": null, "x": 1}}),
        )
        .await;
    assert_eq!(resp.expect(200)["metadata"], json!({"x": 1}));
    let mut big_upsert = patch.clone();
    big_upsert["x"] = Value::Null;
    big_upsert["y"] = json!(2);
    let resp = server
        .post(
            "/v2/contact/upsert",
            &json!({"phone": phone(1), "metadata": big_upsert}),
        )
        .await;
    assert_eq!(resp.expect(200)["metadata"], json!({"y": 2}));
    // A create stores what is left once nulls are dropped.
    let created = server
        .create_contact(json!({"phone": phone(2), "metadata": patch}))
        .await;
    assert_eq!(created["metadata"], json!({}));
    // A patch whose merged result is over a limit still changes nothing.
    let current = server.get_contact(&id).await;
    let mut over = removals(10);
    over["big"] = json!("z".repeat(16 * 1024));
    let resp = server
        .put(&contact_path(&id), &json!({"metadata": over}))
        .await;
    assert_invalid(&resp, "metadata");
    assert_eq!(server.get_contact(&id).await, current, "nothing changed");
}
