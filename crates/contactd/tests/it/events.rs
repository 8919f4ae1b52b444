//! The change feed (contract §7): every change in commit order, resumable, erasable.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::utils::{assert_invalid, phone, TestServer};

/// Every event after `cursor`, following `next_cursor`.
async fn read_all(server: &TestServer, query: &str) -> (Vec<Value>, String) {
    let mut events = Vec::new();
    let mut path = format!("/v2/events?limit=7{query}");
    loop {
        let page = server.get(&path).await.expect(200);
        events.extend(page["data"].as_array().unwrap().iter().cloned());
        let cursor = page["next_cursor"].as_str().unwrap().to_owned();
        if !page["has_more"].as_bool().unwrap() {
            return (events, cursor);
        }
        path = format!("/v2/events?limit=7{query}&after={cursor}");
    }
}

fn types(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn every_change_is_an_event_in_sequence_order() {
    let server = TestServer::start().await;
    let contact = server
        .create_contact(json!({"phone": phone(1), "last_name": "Doe",
            "metadata": {"plan": "basic"}}))
        .await;
    let id = contact["id"].as_str().unwrap();
    server
        .update_contact(id, json!({"last_name": "Roe", "metadata": {"plan": "pro"}}))
        .await;
    // An update that changes nothing is no event.
    server.update_contact(id, json!({"last_name": "Roe"})).await;
    server
        .post("/v2/contact/upsert", &json!({"phone": phone(2)}))
        .await;
    server
        .post(
            "/v2/contact/batch",
            &json!({"contacts": [{"phone": phone(3)}, {"phone": phone(4)}]}),
        )
        .await
        .expect(200);
    let conversation = server.create_conversation(id, "sms").await;
    let conversation_id = conversation["id"].as_str().unwrap();
    server
        .put(
            &format!("/v2/conversation/{conversation_id}"),
            &json!({"status": "closed"}),
        )
        .await
        .expect(200);
    server.post_message(conversation_id, "inbound", "hi").await;

    let (events, _) = read_all(&server, "").await;
    assert_eq!(
        types(&events),
        [
            "contact.created",
            "contact.updated",
            "contact.created",
            "contact.created",
            "contact.created",
            "conversation.created",
            "conversation.updated",
            "message.created"
        ]
    );
    let sequences: Vec<i64> = events
        .iter()
        .map(|e| e["sequence"].as_i64().unwrap())
        .collect();
    assert_eq!(sequences, (1..=8).collect::<Vec<_>>());
    let updated = &events[1];
    assert!(updated["id"].as_str().unwrap().starts_with("evt_"));
    assert_eq!(
        updated["data"]["changed_fields"],
        json!(["last_name", "metadata.plan"])
    );
    assert_eq!(
        updated["data"]["previous"],
        json!({"last_name": "Doe", "metadata": {"plan": "basic"}})
    );
    assert_eq!(updated["data"]["object"]["last_name"], "Roe");
    assert_eq!(events[7]["data"]["object"]["text"], "hi");
}

#[tokio::test]
async fn the_types_filter_and_the_tenant_bound_the_feed() {
    let server = TestServer::start().await;
    let a = server.create_contact(json!({"phone": phone(1)})).await;
    server.create_contact(json!({"phone": phone(2)})).await;
    server
        .delete(&format!("/v2/contact/{}", a["id"].as_str().unwrap()))
        .await
        .expect(200);
    let (deleted, _) = read_all(&server, "&types=contact.deleted").await;
    assert_eq!(types(&deleted), ["contact.deleted"]);
    assert_eq!(deleted[0]["sequence"], 3);
    let bad = server.get("/v2/events?types=contact.nope").await;
    assert_invalid(&bad, "types");
    // The test mode of the same workspace is another tenant.
    let other = server
        .get_as(&server.test_key, "/v2/events")
        .await
        .expect(200);
    assert_eq!(other["data"], json!([]));
}

#[tokio::test]
async fn after_a_delete_no_event_carries_the_contacts_personal_data() {
    let server = TestServer::start().await;
    let contact = server
        .create_contact(json!({"phone": phone(7), "email": "ada@example.com",
            "first_name": "Ada", "metadata": {"secret": "Lamp-Post-42"}}))
        .await;
    let id = contact["id"].as_str().unwrap();
    server
        .update_contact(id, json!({"last_name": "Lovelace"}))
        .await;
    let conversation = server.create_conversation(id, "sms").await;
    server
        .post_message(
            conversation["id"].as_str().unwrap(),
            "outbound",
            "private words",
        )
        .await;
    let (before, _) = read_all(&server, "").await;
    assert!(serde_json::to_string(&before)
        .unwrap()
        .contains("ada@example.com"));
    server
        .delete(&format!("/v2/contact/{id}"))
        .await
        .expect(200);
    let (after, _) = read_all(&server, "").await;
    assert_eq!(after.len(), before.len() + 1);
    let text = serde_json::to_string(&after).unwrap();
    for personal in [
        phone(7).as_str(),
        "ada@example.com",
        "Ada",
        "Lovelace",
        "Lamp-Post-42",
        "private words",
    ] {
        assert!(
            !text.contains(personal),
            "{personal} is still served: {text}"
        );
    }
    assert!(text.contains(id), "the events keep their ids");
    assert_eq!(after.last().unwrap()["type"], "contact.deleted");
}

/// A reader of some types moves past the events of other types: its cursor comes back
/// past them (an empty page included), so it does not read them again, and following it
/// still yields every event of its types once, in order.
#[tokio::test]
async fn a_type_filtered_reader_moves_past_other_events() {
    let server = TestServer::start().await;
    let mut ids = Vec::new();
    for n in 0..12 {
        let c = server.create_contact(json!({"phone": phone(n)})).await;
        ids.push(c["id"].as_str().unwrap().to_owned());
    }
    let empty = server
        .get("/v2/events?types=contact.deleted")
        .await
        .expect(200);
    assert_eq!(empty["data"], json!([]));
    let cursor = empty["next_cursor"].as_str().unwrap().to_owned();
    // Nothing is left after that cursor: the creates are behind it.
    let rest = server
        .get(&format!("/v2/events?after={cursor}"))
        .await
        .expect(200);
    assert_eq!(rest["data"], json!([]));

    for id in ids.iter().step_by(3) {
        server
            .delete(&format!("/v2/contact/{id}"))
            .await
            .expect(200);
        server
            .create_contact(json!({"email": format!("{id}@example.com")}))
            .await;
    }
    let mut seen = Vec::new();
    let mut path = format!("/v2/events?types=contact.deleted&limit=1&after={cursor}");
    loop {
        let page = server.get(&path).await.expect(200);
        seen.extend(page["data"].as_array().unwrap().iter().cloned());
        let next = page["next_cursor"].as_str().unwrap();
        if !page["has_more"].as_bool().unwrap() {
            break;
        }
        path = format!("/v2/events?types=contact.deleted&limit=1&after={next}");
    }
    let deleted: Vec<&str> = seen
        .iter()
        .map(|e| e["data"]["object"]["id"].as_str().unwrap())
        .collect();
    let expected: Vec<&str> = ids.iter().step_by(3).map(String::as_str).collect();
    assert_eq!(deleted, expected);
    let sequences: Vec<i64> = seen
        .iter()
        .map(|e| e["sequence"].as_i64().unwrap())
        .collect();
    assert!(sequences.windows(2).all(|w| w[0] < w[1]), "{sequences:?}");
}

/// A contact merged into another lives on in it: when the survivor is deleted, the
/// events of the contacts merged into it (and of those merged into them) are erased too.
#[tokio::test]
async fn deleting_a_merged_contact_erases_the_events_of_the_contacts_it_absorbed() {
    let server = TestServer::start().await;
    let target = server.create_contact(json!({"phone": phone(1)})).await;
    let target_id = target["id"].as_str().unwrap();
    let source = server
        .create_contact(json!({"email": "grace@example.com", "first_name": "Grace",
            "metadata": {"note": "Navy-Yard-7"}}))
        .await;
    let source_id = source["id"].as_str().unwrap();
    let conversation = server.create_conversation(source_id, "email").await;
    server
        .post_message(conversation["id"].as_str().unwrap(), "inbound", "hush hush")
        .await;
    let older = server
        .create_contact(json!({"phone": phone(2), "last_name": "Hopper"}))
        .await;
    // `older` into the source, then the source into the target.
    for (into, from) in [
        (source_id, older["id"].as_str().unwrap()),
        (target_id, source_id),
    ] {
        server
            .post(
                &format!("/v2/contact/{into}/merge"),
                &json!({"source": from}),
            )
            .await
            .expect(200);
    }
    // Another contact's events stay whole.
    server
        .create_contact(json!({"email": "bystander@example.com"}))
        .await;
    server
        .delete(&format!("/v2/contact/{target_id}"))
        .await
        .expect(200);
    let (after, _) = read_all(&server, "").await;
    let text = serde_json::to_string(&after).unwrap();
    for personal in [
        phone(1).as_str(),
        phone(2).as_str(),
        "grace@example.com",
        "Grace",
        "Hopper",
        "Navy-Yard-7",
        "hush hush",
    ] {
        assert!(
            !text.contains(personal),
            "{personal} is still served: {text}"
        );
    }
    assert!(text.contains("bystander@example.com"));
    assert!(text.contains(source_id), "the events keep their ids");
}

#[tokio::test]
async fn a_waiting_reader_is_woken_by_a_write() {
    let server = TestServer::start().await;
    let empty = server.get("/v2/events").await.expect(200);
    let cursor = empty["next_cursor"].as_str().unwrap().to_owned();
    let started = Instant::now();
    let path = format!("/v2/events?wait=20&after={cursor}");
    let waiting = server.get(&path);
    let writer = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        server.create_contact(json!({"phone": phone(1)})).await
    };
    let (page, _) = tokio::join!(waiting, writer);
    let page = page.expect(200);
    assert_eq!(types(page["data"].as_array().unwrap()), ["contact.created"]);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    // Nothing new: the wait runs out and answers empty, with the same cursor.
    let next = page["next_cursor"].as_str().unwrap();
    let started = Instant::now();
    let idle = server
        .get(&format!("/v2/events?wait=1&after={next}"))
        .await
        .expect(200);
    assert_eq!(idle["data"], json!([]));
    assert_eq!(idle["next_cursor"], next);
    assert!(started.elapsed() >= Duration::from_millis(900));
}

#[tokio::test]
async fn bad_and_pruned_cursors_are_invalid_input() {
    for (query, field) in [
        ("after=nonsense", "after"),
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("wait=31", "wait"),
        ("nope=1", "nope"),
    ] {
        let server = TestServer::start().await;
        assert_invalid(&server.get(&format!("/v2/events?{query}")).await, field);
    }
    // A retention of about a second: events older than that are pruned.
    let server = TestServer::start_with(|c| c.event_retention_days = 1.0 / 86_400.0).await;
    server.create_contact(json!({"phone": phone(1)})).await;
    let first = server.get("/v2/events").await.expect(200);
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    server.create_contact(json!({"phone": phone(2)})).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    server.create_contact(json!({"phone": phone(3)})).await;
    let stale = server.get(&format!("/v2/events?after={cursor}")).await;
    assert_invalid(&stale, "after");
    assert!(stale.text.contains("retention"), "{}", stale.text);
    // Starting again from the oldest kept event works.
    let fresh = server.get("/v2/events").await.expect(200);
    assert_eq!(fresh["data"][0]["sequence"], 3);
    let last = fresh["next_cursor"].as_str().unwrap().to_owned();
    server
        .get(&format!("/v2/events?after={last}"))
        .await
        .expect(200);

    // A cursor past the last event was not returned by this feed (another tenant's, made
    // up): following it would skip every event up to it.
    let mut other = server.create_contact(json!({"phone": phone(4)})).await;
    for _ in 0..3 {
        other = server
            .create_contact(
                json!({"email": format!("{}@x.example", other["id"].as_str().unwrap())}),
            )
            .await;
    }
    let (_, ahead) = read_all(&server, "").await;
    let test_mode = server
        .get_as(&server.test_key, &format!("/v2/events?after={ahead}"))
        .await;
    assert_invalid(&test_mode, "after");
    assert!(
        test_mode.text.contains("past the last event"),
        "{}",
        test_mode.text
    );
}
