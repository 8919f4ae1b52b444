//! Every endpoint takes the tenant from the key and nowhere else: another tenant's ids,
//! phones and emails are answered like missing ones, its data never shows in lists, and
//! writes through another tenant never touch it.

use serde_json::{json, Value};

use crate::utils::{assert_error, TestServer};

/// The owner's contact, conversation and messages, as the owner sees them.
async fn snapshot(server: &TestServer, owner: &str, id: &str, conv: &str) -> (Value, Value, Value) {
    (
        server
            .get_as(owner, &format!("/v2/contact/{id}"))
            .await
            .body,
        server
            .get_as(owner, &format!("/v2/conversation/{conv}"))
            .await
            .body,
        server
            .get_as(owner, &format!("/v2/conversation/{conv}/messages"))
            .await
            .body,
    )
}

#[tokio::test]
async fn another_tenants_ids_phones_and_emails_are_never_reachable() {
    let server = TestServer::start().await;
    let owner = server.key.clone();
    let contact = server
        .create_contact(json!({"phone": "+14155550100", "email": "ada@example.com",
            "metadata": {"plan": "secret"}}))
        .await;
    let id = contact["id"].as_str().unwrap().to_owned();
    let conversation = server.create_conversation(&id, "sms").await;
    let conv = conversation["id"].as_str().unwrap().to_owned();
    server.post_message(&conv, "outbound", "hello").await;
    let before = snapshot(&server, &owner, &id, &conv).await;

    let other_workspace = server.new_key("globex", "live").await;
    let other_mode = server.test_key.clone();
    for key in [&other_workspace, &other_mode] {
        for r in [
            id.as_str(),
            "%2B14155550100",
            "ada@example.com",
            "ADA@example.com",
        ] {
            let path = format!("/v2/contact/{r}");
            assert_error(&server.get_as(key, &path).await, 404, "not_found");
            assert_error(
                &server.put_as(key, &path, &json!({"first_name": "X"})).await,
                404,
                "not_found",
            );
            assert_error(&server.delete_as(key, &path).await, 404, "not_found");
            assert_error(
                &server.get_as(key, &format!("{path}/conversations")).await,
                404,
                "not_found",
            );
            let body = json!({"contact_id": r.replace("%2B", "+"), "channel": "sms"});
            assert_error(
                &server.post_as(key, "/v2/conversation", &body).await,
                404,
                "not_found",
            );
        }
        let conv_path = format!("/v2/conversation/{conv}");
        assert_error(&server.get_as(key, &conv_path).await, 404, "not_found");
        assert_error(
            &server
                .put_as(key, &conv_path, &json!({"status": "closed"}))
                .await,
            404,
            "not_found",
        );
        assert_error(
            &server.get_as(key, &format!("{conv_path}/messages")).await,
            404,
            "not_found",
        );
        let message = json!({"direction": "inbound", "text": "x"});
        assert_error(
            &server
                .post_as(key, &format!("{conv_path}/messages"), &message)
                .await,
            404,
            "not_found",
        );

        for query in [
            "",
            "?q=ada",
            "?q=1415",
            "?metadata.plan=secret",
            "?metadata.plan%5Bexists%5D=true",
        ] {
            let list = server
                .get_as(key, &format!("/v2/contact{query}"))
                .await
                .expect(200);
            let ids: Vec<&Value> = list["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| &c["id"])
                .collect();
            assert!(
                !ids.contains(&&Value::from(id.clone())),
                "{query} leaked the contact"
            );
        }
        // Writes with the same identifiers make the other tenant's own contact.
        let upserted = server
            .post_as(
                key,
                "/v2/contact/upsert",
                &json!({"phone": "+14155550100", "first_name": "Mallory"}),
            )
            .await;
        let mine = match upserted.status {
            201 => upserted.body,
            200 => upserted.body, // this tenant's own contact from the loop's earlier round
            other => panic!("upsert answered {other}: {}", upserted.text),
        };
        assert_ne!(mine["id"], Value::from(id.clone()));
        let batch =
            json!({"mode": "upsert", "contacts": [{"email": "ada@example.com", "last_name": "M"}]});
        let result = server
            .post_as(key, "/v2/contact/batch", &batch)
            .await
            .expect(200);
        assert_ne!(
            result["results"][0]["contact"]["id"],
            Value::from(id.clone())
        );
    }
    assert_eq!(
        snapshot(&server, &owner, &id, &conv).await,
        before,
        "nothing of the owner's data changed"
    );
}
