//! Identities (contract §8): a contact is known by channel identities beside its phone
//! and email; each is unique per tenant and type (phone and email identities with the
//! primary fields), finds its contact as a `TYPE:VALUE` ref, and takes part in upserts
//! and batches like a phone or an email.

use serde_json::{json, Value};

use crate::utils::{assert_error, assert_invalid, contact_path, TestServer};

fn identities(contact: &Value) -> Vec<(String, String)> {
    contact["identities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["type"].as_str().unwrap().to_owned(),
                i["value"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(t, v)| (t.to_string(), v.to_string()))
        .collect()
}

#[tokio::test]
async fn a_contact_is_found_by_each_of_its_identities() {
    let server = TestServer::start().await;
    let ada = server
        .create_contact(json!({
            "phone": "+14155550101",
            "first_name": "Ada",
            "identities": [
                {"type": "instagram", "value": "17841400000000001"},
                {"type": "whatsapp", "value": "+14155550199"},
                {"type": "email", "value": "Ada@Work.example"},
                {"type": "external", "value": "crm:42"},
                {"type": "instagram", "value": "17841400000000001"}
            ]
        }))
        .await;
    assert_eq!(
        identities(&ada),
        pairs(&[
            ("instagram", "17841400000000001"),
            ("whatsapp", "+14155550199"),
            ("email", "Ada@Work.example"),
            ("external", "crm:42"),
        ]),
        "kept in the order sent, a repeat once"
    );
    for r in [
        "instagram:17841400000000001",
        "whatsapp:+14155550199",
        "external:crm:42",
        "email:ada@work.example",
        // An email ref finds email identities, a phone ref phone identities.
        "ADA@work.example",
        "+14155550101",
        "phone:+14155550101",
    ] {
        let found = server.get_contact(r).await;
        assert_eq!(found["id"], ada["id"], "{r}");
    }
    for missing in [
        "instagram:17841400000000002",
        // whatsapp is its own namespace: the number is not a phone of anyone.
        "+14155550199",
        "telegram:17841400000000001",
    ] {
        let resp = server.get(&contact_path(missing)).await;
        assert_error(&resp, 404, "not_found");
    }
    let bad = server.get(&contact_path("whatsapp:0415")).await;
    assert_invalid(&bad, "ref");
}

#[tokio::test]
async fn identities_are_unique_per_type_and_phone_and_email_share_with_the_primary_fields() {
    let server = TestServer::start().await;
    let ada = server
        .create_contact(json!({
            "email": "ada@example.com",
            "identities": [{"type": "instagram", "value": "ada"},
                           {"type": "phone", "value": "+14155550101"}]
        }))
        .await;
    let id = ada["id"].as_str().unwrap();
    for body in [
        json!({"email": "bo@example.com", "identities": [{"type": "instagram", "value": "ada"}]}),
        // A phone identity is held like a primary phone, both ways.
        json!({"phone": "+14155550101"}),
        json!({"email": "bo@example.com", "identities": [{"type": "email", "value": "ADA@example.com"}]}),
    ] {
        let resp = server.post("/v2/contact", &body).await;
        let details = assert_error(&resp, 409, "duplicate_contact");
        assert_eq!(details["existing_contact_id"], id, "{body}");
    }
    // Another type is another namespace: the same value is not a clash.
    let bo = server
        .create_contact(json!({"identities": [
            {"type": "telegram", "value": "ada"},
            {"type": "whatsapp", "value": "+14155550101"}]}))
        .await;
    assert_eq!(
        bo["phone"],
        Value::Null,
        "an identity alone makes a contact"
    );
    assert_eq!(bo["email"], Value::Null);
    // PUT replaces the set, and a clash there changes nothing.
    let path = contact_path(bo["id"].as_str().unwrap());
    let resp = server
        .put(
            &path,
            &json!({"identities": [{"type": "instagram", "value": "ada"}]}),
        )
        .await;
    assert_error(&resp, 409, "duplicate_contact");
    assert_eq!(server.get_contact(bo["id"].as_str().unwrap()).await, bo);
    let resp = server.put(&path, &json!({"identities": []})).await;
    assert_invalid(&resp, "identities");
}

#[tokio::test]
async fn identities_are_added_and_removed_one_at_a_time() {
    let server = TestServer::start().await;
    let ada = server
        .create_contact(json!({"phone": "+14155550101"}))
        .await;
    let id = ada["id"].as_str().unwrap();
    let added = server
        .post(
            &format!("/v2/contact/{id}/identities"),
            &json!({"type": "instagram", "value": "ada.l"}),
        )
        .await
        .expect(200);
    assert_eq!(identities(&added), pairs(&[("instagram", "ada.l")]));
    assert_eq!(server.get_contact("instagram:ada.l").await["id"], id);

    let other = server
        .create_contact(json!({"email": "bo@example.com"}))
        .await;
    let resp = server
        .post(
            "/v2/contact/bo@example.com/identities",
            &json!({"type": "instagram", "value": "ada.l"}),
        )
        .await;
    let details = assert_error(&resp, 409, "duplicate_contact");
    assert_eq!(details["existing_contact_id"], id);
    let resp = server
        .post(
            "/v2/contact/bo@example.com/identities",
            &json!({"type": "fax", "value": "1"}),
        )
        .await;
    assert_invalid(&resp, "type");
    assert_eq!(server.get_contact("bo@example.com").await, other);

    let removed = server
        .delete(&format!("/v2/contact/{id}/identities/instagram:ada.l"))
        .await
        .expect(200);
    assert!(identities(&removed).is_empty());
    let resp = server.get(&contact_path("instagram:ada.l")).await;
    assert_error(&resp, 404, "not_found");
    // Removing it again, or one never added, is a missing resource and changes nothing.
    let before = server.get_contact(id).await;
    for gone in ["instagram:ada.l", "telegram:nobody"] {
        let resp = server
            .delete(&format!("/v2/contact/{id}/identities/{gone}"))
            .await;
        assert_error(&resp, 404, "not_found");
        assert!(
            resp.text.contains("no such identity"),
            "{gone}: {}",
            resp.text
        );
    }
    assert_eq!(server.get_contact(id).await, before);
    // The last identifier cannot go.
    let only = server
        .create_contact(json!({"identities": [{"type": "external", "value": "x1"}]}))
        .await;
    let resp = server
        .delete(&format!(
            "/v2/contact/{}/identities/external:x1",
            only["id"].as_str().unwrap()
        ))
        .await;
    assert_invalid(&resp, "identities");
}

#[tokio::test]
async fn an_identity_change_is_a_contact_updated_event() {
    let server = TestServer::start().await;
    let ada = server
        .create_contact(json!({"phone": "+14155550101"}))
        .await;
    server
        .post(
            "/v2/contact/%2B14155550101/identities",
            &json!({"type": "telegram", "value": "ada"}),
        )
        .await
        .expect(200);
    let events = server
        .get("/v2/events?types=contact.updated")
        .await
        .expect(200);
    let event = &events["data"][0];
    assert_eq!(event["data"]["object"]["id"], ada["id"]);
    assert_eq!(event["data"]["changed_fields"], json!(["identities"]));
    assert_eq!(event["data"]["previous"]["identities"], json!([]));
}

#[tokio::test]
async fn an_upsert_matches_on_any_identity_and_adds_the_ones_sent() {
    let server = TestServer::start().await;
    let ada = server
        .create_contact(json!({"email": "ada@example.com",
            "identities": [{"type": "instagram", "value": "ada"}]}))
        .await;
    let resp = server
        .post(
            "/v2/contact/upsert",
            &json!({"first_name": "Ada", "identities": [
                {"type": "instagram", "value": "ada"},
                {"type": "telegram", "value": "ada_t"}]}),
        )
        .await;
    let updated = resp.expect(200);
    assert_eq!(updated["id"], ada["id"]);
    assert_eq!(updated["first_name"], "Ada");
    assert_eq!(
        identities(&updated),
        pairs(&[("instagram", "ada"), ("telegram", "ada_t")])
    );
    let created = server
        .post(
            "/v2/contact/upsert",
            &json!({"identities": [{"type": "messenger", "value": "m-1"}]}),
        )
        .await
        .expect(201);
    assert_ne!(created["id"], ada["id"]);
    // Both match, two contacts: never pick one.
    let resp = server
        .post(
            "/v2/contact/upsert",
            &json!({"email": "ada@example.com",
                "identities": [{"type": "messenger", "value": "m-1"}]}),
        )
        .await;
    let details = assert_error(&resp, 409, "duplicate_contact");
    assert_eq!(details["phone_contact_id"], ada["id"]);
    assert_eq!(details["email_contact_id"], created["id"]);
}

#[tokio::test]
async fn a_batch_matches_and_checks_identities_item_by_item() {
    let server = TestServer::start().await;
    let ada = server
        .create_contact(json!({"identities": [{"type": "instagram", "value": "ada"}]}))
        .await;
    let resp = server
        .post(
            "/v2/contact/batch",
            &json!({"mode": "upsert", "contacts": [
                {"identities": [{"type": "instagram", "value": "ada"}], "first_name": "Ada"},
                {"identities": [{"type": "telegram", "value": "new"}]},
                {"identities": [{"type": "telegram", "value": "new"}], "last_name": "New"},
                {"identities": [{"type": "whatsapp", "value": "bad"}]}
            ]}),
        )
        .await
        .expect(200);
    assert_eq!(resp["created"], 1, "{resp}");
    assert_eq!(resp["updated"], 2, "{resp}");
    assert_eq!(resp["errors"], 1, "{resp}");
    assert_eq!(
        server.get_contact("instagram:ada").await["first_name"],
        "Ada"
    );
    assert_eq!(server.get_contact("telegram:new").await["last_name"], "New");
    assert_ne!(server.get_contact("telegram:new").await["id"], ada["id"]);
    let resp = server
        .post(
            "/v2/contact/batch",
            &json!({"contacts": [
                {"email": "x@example.com", "identities": [{"type": "instagram", "value": "ada"}]},
                {"identities": [{"type": "instagram", "value": "fresh"}]},
                {"identities": [{"type": "instagram", "value": "fresh"}]}
            ]}),
        )
        .await
        .expect(200);
    assert_eq!(resp["created"], 1, "{resp}");
    assert_eq!(resp["errors"], 2, "{resp}");
    let results = resp["results"].as_array().unwrap();
    assert_eq!(results[0]["error"]["error"], "duplicate_contact", "{resp}");
}
