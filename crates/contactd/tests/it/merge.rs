//! Merging contacts (contract §8): the target keeps its values and takes the source's
//! where it has none, the source's conversations and messages move over, the source's id
//! keeps answering the target; a dry run changes nothing; an undo puts both contacts
//! back exactly, with their conversations and messages; concurrent merges of
//! overlapping contacts lose nothing.

use futures::future::join_all;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use crate::utils::{assert_error, assert_invalid, contact_path, run_seeded_cases, TestServer};

/// A contact with its conversations and their messages, as the API shows them.
#[derive(Debug, PartialEq)]
struct Whole {
    contact: Value,
    conversations: Vec<(Value, Vec<Value>)>,
}

async fn whole(server: &TestServer, key: &str, id: &str) -> Whole {
    let contact = server.get_as(key, &contact_path(id)).await.expect(200);
    let list = server
        .get_as(key, &format!("/v2/contact/{id}/conversations?limit=100"))
        .await
        .expect(200);
    let mut conversations = Vec::new();
    for conversation in list["data"].as_array().unwrap() {
        let cid = conversation["id"].as_str().unwrap();
        let messages = server
            .get_as(key, &format!("/v2/conversation/{cid}/messages?limit=100"))
            .await
            .expect(200);
        conversations.push((
            conversation.clone(),
            messages["data"].as_array().unwrap().clone(),
        ));
    }
    Whole {
        contact,
        conversations,
    }
}

/// The contact without `updated_at`, which a merge and its undo move forward.
fn without_updated_at(mut contact: Value) -> Value {
    contact.as_object_mut().unwrap().remove("updated_at");
    contact
}

/// A conversation without what a message added to it since changes.
fn without_counters(mut conversation: Value) -> Value {
    for field in ["updated_at", "last_message_at", "message_count"] {
        conversation.as_object_mut().unwrap().remove(field);
    }
    conversation
}

async fn with_conversations(
    server: &TestServer,
    key: &str,
    body: Value,
    talks: &[usize],
) -> String {
    let contact = server.post_as(key, "/v2/contact", &body).await.expect(201);
    let id = contact["id"].as_str().unwrap().to_owned();
    for (n, messages) in talks.iter().enumerate() {
        let channel = ["sms", "whatsapp", "email", "instagram"][n % 4];
        let conversation = server
            .post_as(
                key,
                "/v2/conversation",
                &json!({"contact_id": id, "channel": channel}),
            )
            .await
            .expect(201);
        let cid = conversation["id"].as_str().unwrap();
        for m in 0..*messages {
            let direction = if m % 2 == 0 { "inbound" } else { "outbound" };
            server
                .post_as(
                    key,
                    &format!("/v2/conversation/{cid}/messages"),
                    &json!({"direction": direction, "text": format!("message {m}")}),
                )
                .await
                .expect(201);
        }
    }
    id
}

#[tokio::test]
async fn a_merge_folds_the_source_into_the_target_and_an_undo_puts_both_back() {
    let server = TestServer::start().await;
    let key = server.new_key("merging", "test").await;
    let target = with_conversations(
        &server,
        &key,
        json!({"phone": "+14155550101", "first_name": "Ada",
            "metadata": {"plan": "pro", "prefs": {"a": 1}}}),
        &[1],
    )
    .await;
    let source = with_conversations(
        &server,
        &key,
        json!({"phone": "+14155550102", "email": "ada@example.com", "first_name": "Adeline",
            "last_name": "Lovelace", "metadata": {"plan": "free", "prefs": {"b": 2}},
            "identities": [{"type": "instagram", "value": "ada"}]}),
        &[2, 0],
    )
    .await;
    let before = (
        whole(&server, &key, &target).await,
        whole(&server, &key, &source).await,
    );

    let path = format!("/v2/contact/{target}/merge");
    let dry = server
        .post_as(
            &key,
            &path,
            &json!({"source": "instagram:ada", "dry_run": true}),
        )
        .await
        .expect(200);
    assert_eq!(
        dry["merge"]["moved"],
        json!({"conversations": 2, "messages": 2})
    );
    assert_eq!(
        (
            whole(&server, &key, &target).await,
            whole(&server, &key, &source).await
        ),
        before,
        "a dry run changes nothing"
    );

    let body = json!({"source": source}).to_string();
    let stale = server
        .send(
            "POST",
            &path,
            &[("X-API-Key", key.as_str()), ("If-Match", "\"stale\"")],
            Some(body.as_bytes()),
        )
        .await;
    assert_error(&stale, 412, "precondition_failed");

    let merged = server
        .post_as(&key, &path, &json!({"source": source}))
        .await
        .expect(200);
    assert_eq!(
        without_updated_at(merged["contact"].clone()),
        without_updated_at(dry["contact"].clone())
    );
    let contact = &merged["contact"];
    assert_eq!(contact["id"], target.as_str());
    assert_eq!(contact["phone"], "+14155550101");
    assert_eq!(contact["email"], "ada@example.com");
    assert_eq!(contact["first_name"], "Ada");
    assert_eq!(contact["last_name"], "Lovelace");
    assert_eq!(
        contact["metadata"],
        json!({"plan": "pro", "prefs": {"a": 1, "b": 2}})
    );
    assert_eq!(
        contact["identities"],
        json!([{"type": "phone", "value": "+14155550102"}, {"type": "instagram", "value": "ada"}])
    );
    assert_eq!(merged["merge"]["source_id"], source.as_str());
    let merge_id = merged["merge"]["id"].as_str().unwrap().to_owned();

    // The source's id and identifiers all answer the target now.
    for r in [
        source.as_str(),
        "+14155550102",
        "instagram:ada",
        "ada@example.com",
    ] {
        let found = server.get_as(&key, &contact_path(r)).await.expect(200);
        assert_eq!(found["id"], target.as_str(), "{r}");
    }
    let conversations = server
        .get_as(&key, &format!("/v2/contact/{target}/conversations"))
        .await
        .expect(200);
    assert_eq!(conversations["total"], 3);
    let history = server
        .get_as(&key, &format!("/v2/contact/{source}/merges"))
        .await
        .expect(200);
    assert_eq!(history["data"][0]["id"], merge_id.as_str());
    let events = server
        .get_as(&key, "/v2/events?types=contact.merged")
        .await
        .expect(200);
    assert_eq!(events["data"][0]["data"]["merge"]["id"], merge_id.as_str());

    let undone = server
        .post_as(&key, &format!("/v2/merge/{merge_id}/undo"), &json!({}))
        .await
        .expect(200);
    assert!(undone["merge"]["undone_at"].is_string());
    let after = (
        whole(&server, &key, &target).await,
        whole(&server, &key, &source).await,
    );
    assert_eq!(
        without_updated_at(after.0.contact.clone()),
        without_updated_at(before.0.contact.clone())
    );
    assert_eq!(after.0.conversations, before.0.conversations);
    assert_eq!(after.1, before.1, "the source comes back as it was");
    let again = server
        .post_as(&key, &format!("/v2/merge/{merge_id}/undo"), &json!({}))
        .await;
    assert_error(&again, 409, "merge_conflict");
}

#[tokio::test]
async fn an_undo_is_refused_when_an_identifier_went_to_another_contact() {
    let server = TestServer::start().await;
    let target = server
        .create_contact(json!({"phone": "+14155550101"}))
        .await;
    let source = server
        .create_contact(json!({"phone": "+14155550102"}))
        .await;
    let target_id = target["id"].as_str().unwrap();
    let merged = server
        .post(
            &format!("/v2/contact/{target_id}/merge"),
            &json!({"source": source["id"]}),
        )
        .await
        .expect(200);
    server
        .delete(&format!(
            "/v2/contact/{target_id}/identities/phone:+14155550102"
        ))
        .await
        .expect(200);
    let other = server
        .create_contact(json!({"phone": "+14155550102"}))
        .await;
    let merge_id = merged["merge"]["id"].as_str().unwrap();
    let resp = server
        .post(&format!("/v2/merge/{merge_id}/undo"), &json!({}))
        .await;
    let details = assert_error(&resp, 409, "duplicate_contact");
    assert_eq!(details["existing_contact_id"], other["id"]);
    // Nothing changed: the source is still merged away.
    assert_eq!(
        server.get_contact(source["id"].as_str().unwrap()).await["id"],
        target_id
    );
    let resp = server
        .post(&format!("/v2/merge/{merge_id}x/undo"), &json!({}))
        .await;
    assert_error(&resp, 404, "not_found");
    let resp = server
        .post(
            &format!("/v2/merge/{merge_id}/undo"),
            &json!({"force": true}),
        )
        .await;
    assert_invalid(&resp, "force");
    let resp = server.post("/v2/merge/nope/undo", &json!({})).await;
    assert_error(&resp, 400, "invalid_input");
    let resp = server
        .post(
            &format!("/v2/contact/{target_id}/merge"),
            &json!({"source": target_id}),
        )
        .await;
    assert_error(&resp, 400, "invalid_input");
}

#[tokio::test]
async fn deleting_a_contact_erases_the_merges_down_its_chain() {
    let server = TestServer::start().await;
    let mut ids = Vec::new();
    for phone in ["+14155550111", "+14155550112", "+14155550113"] {
        let made = server
            .create_contact(json!({"phone": phone, "first_name": "Ada"}))
            .await;
        ids.push(made["id"].as_str().unwrap().to_owned());
    }
    let other = server
        .create_contact(json!({"phone": "+14155550114"}))
        .await;
    let kept = server
        .create_contact(json!({"phone": "+14155550115"}))
        .await;
    // a into b, then b into c; and one merge that has nothing to do with them.
    for (target, source) in [(&ids[1], &ids[0]), (&ids[2], &ids[1])] {
        server
            .post(
                &format!("/v2/contact/{target}/merge"),
                &json!({"source": source}),
            )
            .await
            .expect(200);
    }
    server
        .post(
            &format!("/v2/contact/{}/merge", kept["id"].as_str().unwrap()),
            &json!({"source": other["id"]}),
        )
        .await
        .expect(200);
    assert_eq!(server.sql("SELECT COUNT(*) FROM merges").await, 3);
    server.delete(&contact_path(&ids[2])).await.expect(200);
    // The snapshots of a (in the merge into b) held a's data: gone with c.
    assert_eq!(server.sql("SELECT COUNT(*) FROM merges").await, 1);
    assert_eq!(server.sql("SELECT COUNT(*) FROM merged_ids").await, 1);
    for id in &ids {
        assert_error(&server.get(&contact_path(id)).await, 404, "not_found");
    }
    assert_eq!(
        server.get_contact(other["id"].as_str().unwrap()).await["id"],
        kept["id"]
    );
}

const NAMES: [&str; 5] = ["Ada", "Zoë", "José", "Li", "O'Brien"];

/// A random contact body: identifiers unique by `n`, other fields present or not.
fn random_body(rng: &mut StdRng, n: u32) -> Value {
    let mut body = serde_json::Map::new();
    let phone = format!("+1415{n:07}");
    let email = format!("user{n}@example.com");
    match rng.random_range(0..4) {
        0 => body.insert("phone".into(), json!(phone)),
        1 => body.insert("email".into(), json!(email)),
        2 => {
            body.insert("phone".into(), json!(phone));
            body.insert("email".into(), json!(email))
        }
        _ => None,
    };
    let mut identities = Vec::new();
    for kind in ["instagram", "telegram", "whatsapp", "external"] {
        if rng.random_bool(0.4) || (body.is_empty() && identities.is_empty()) {
            let value = if kind == "whatsapp" {
                format!("+1416{n:07}")
            } else {
                format!("{kind}-{n}")
            };
            identities.push(json!({"type": kind, "value": value}));
        }
    }
    body.insert("identities".into(), json!(identities));
    for field in ["first_name", "last_name"] {
        if rng.random_bool(0.6) {
            body.insert(field.into(), json!(NAMES[rng.random_range(0..NAMES.len())]));
        }
    }
    if rng.random_bool(0.5) {
        body.insert("preferred_channel".into(), json!("sms"));
    }
    let mut metadata = serde_json::Map::new();
    for key in ["plan", "tags", "nested"] {
        if rng.random_bool(0.5) {
            let value = match key {
                "plan" => json!(["pro", "free"][rng.random_range(0..2)]),
                "tags" => json!(["a", rng.random_range(0..9)]),
                _ => json!({"x": rng.random_range(0..3), "y": {"z": n}}),
            };
            metadata.insert(key.into(), value);
        }
    }
    body.insert("metadata".into(), Value::Object(metadata));
    Value::Object(body)
}

async fn merge_and_undo_case(server: &TestServer, key: &str, seed: u64) -> Result<(), String> {
    let mut rng = StdRng::seed_from_u64(seed);
    let base = (seed % 100_000) as u32 * 2;
    let talks = |rng: &mut StdRng| -> Vec<usize> {
        (0..rng.random_range(0..3))
            .map(|_| rng.random_range(0..4))
            .collect()
    };
    let (target_talks, source_talks) = (talks(&mut rng), talks(&mut rng));
    let target = with_conversations(server, key, random_body(&mut rng, base), &target_talks).await;
    let source =
        with_conversations(server, key, random_body(&mut rng, base + 1), &source_talks).await;
    let before = (
        whole(server, key, &target).await,
        whole(server, key, &source).await,
    );

    let path = format!("/v2/contact/{target}/merge");
    let dry = server
        .post_as(key, &path, &json!({"source": source, "dry_run": true}))
        .await;
    if dry.status != 200 {
        return Err(format!("dry run: {} {}", dry.status, dry.body));
    }
    let now = (
        whole(server, key, &target).await,
        whole(server, key, &source).await,
    );
    if now != before {
        return Err("a dry run changed something".into());
    }
    let merged = server.post_as(key, &path, &json!({"source": source})).await;
    if merged.status != 200 {
        return Err(format!("merge: {} {}", merged.status, merged.body));
    }
    let merged = merged.body;
    let added = rng.random_bool(0.5);
    if added {
        for (conversation, _) in &before.1.conversations {
            let cid = conversation["id"].as_str().unwrap();
            server
                .post_as(
                    key,
                    &format!("/v2/conversation/{cid}/messages"),
                    &json!({"direction": "outbound", "text": "after the merge"}),
                )
                .await
                .expect(201);
        }
    }
    let merge_id = merged["merge"]["id"].as_str().unwrap();
    let undone = server
        .post_as(key, &format!("/v2/merge/{merge_id}/undo"), &json!({}))
        .await;
    if undone.status != 200 {
        return Err(format!("undo: {} {}", undone.status, undone.body));
    }
    let after = (
        whole(server, key, &target).await,
        whole(server, key, &source).await,
    );
    if without_updated_at(after.0.contact.clone()) != without_updated_at(before.0.contact.clone())
        || after.0.conversations != before.0.conversations
    {
        return Err(format!(
            "the target came back as {:?}, was {:?}",
            after.0, before.0
        ));
    }
    if without_updated_at(after.1.contact.clone()) != without_updated_at(before.1.contact.clone()) {
        return Err(format!(
            "the source came back as {}, was {}",
            after.1.contact, before.1.contact
        ));
    }
    if after.1.conversations.len() != before.1.conversations.len() {
        return Err("the source's conversations did not all come back".into());
    }
    for ((now, now_messages), (was, was_messages)) in
        after.1.conversations.iter().zip(&before.1.conversations)
    {
        let same = if added {
            without_counters(now.clone()) == without_counters(was.clone())
                && now_messages.len() == was_messages.len() + 1
                && now_messages[..was_messages.len()] == was_messages[..]
        } else {
            now == was && now_messages == was_messages
        };
        if !same {
            return Err(format!(
                "conversation {now} with {now_messages:?}, was {was} with {was_messages:?}"
            ));
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merge_then_undo_restores_random_pairs_exactly() {
    let server = TestServer::start().await;
    run_seeded_cases(&server, 24, "merge-property", |server, key, seed| {
        Box::pin(merge_and_undo_case(server, key, seed))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_merges_of_overlapping_contacts_lose_no_conversation() {
    let server = TestServer::start().await;
    let key = server.new_key("concurrent-merges", "test").await;
    const CONTACTS: usize = 8;
    let mut ids = Vec::new();
    for n in 0..CONTACTS {
        let body = json!({"phone": format!("+1415555{n:04}")});
        ids.push(with_conversations(&server, &key, body, &[1, 2]).await);
    }
    let conversations = server.sql("SELECT COUNT(*) FROM conversations").await;
    let messages = server.sql("SELECT COUNT(*) FROM messages").await;
    assert_eq!(conversations, 16);
    // 16 merges, every contact in four of them, as target and as source.
    let merges = (0..16).map(|i| {
        let target = &ids[i % CONTACTS];
        let source = &ids[(i + 1 + i / CONTACTS) % CONTACTS];
        let (server, key) = (&server, &key);
        async move {
            server
                .post_as(
                    key,
                    &format!("/v2/contact/{target}/merge"),
                    &json!({"source": source}),
                )
                .await
        }
    });
    let answers = join_all(merges).await;
    for answer in &answers {
        assert!(
            [200, 400, 404].contains(&answer.status),
            "a merge answers 200, or 400/404 once its contacts became one: {} {}",
            answer.status,
            answer.body
        );
    }
    assert!(answers.iter().any(|a| a.status == 200));
    assert_eq!(
        server.sql("SELECT COUNT(*) FROM conversations").await,
        conversations
    );
    assert_eq!(server.sql("SELECT COUNT(*) FROM messages").await, messages);
    // Every conversation belongs to a contact that exists, and each original id still
    // names a contact.
    let orphans = server
        .sql(
            "SELECT COUNT(*) FROM conversations v WHERE NOT EXISTS (SELECT 1 FROM contacts c \
             WHERE c.workspace_id = v.workspace_id AND c.mode = v.mode AND c.id = v.contact_id)",
        )
        .await;
    assert_eq!(orphans, 0);
    let mut total = 0;
    for id in &ids {
        let contact = server.get_as(&key, &contact_path(id)).await.expect(200);
        let list = server
            .get_as(
                &key,
                &format!(
                    "/v2/contact/{}/conversations?limit=1",
                    contact["id"].as_str().unwrap()
                ),
            )
            .await
            .expect(200);
        total += list["total"].as_i64().unwrap();
    }
    assert!(
        total >= conversations,
        "every contact's conversations are listed"
    );
}
