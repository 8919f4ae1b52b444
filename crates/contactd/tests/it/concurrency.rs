//! Many clients at once: uniqueness holds, merges all land, counts add up.
//!
//! Every test puts at least 32 requests in flight together (`join_all`) on a
//! multi-threaded runtime.

use futures::future::join_all;
use serde_json::{json, Value};

use crate::utils::{assert_error, assert_list, phone, ts, TestServer};

const N: usize = 32;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_with_one_phone_give_one_201_and_409s_naming_it() {
    let server = TestServer::start().await;
    let bodies: Vec<Value> = (0..N)
        .map(|n| json!({"phone": "+14155550100", "first_name": format!("n{n}")}))
        .collect();
    let responses = join_all(bodies.iter().map(|body| server.post("/v2/contact", body))).await;
    let created: Vec<&Value> = responses
        .iter()
        .filter(|r| r.status == 201)
        .map(|r| &r.body)
        .collect();
    assert_eq!(
        created.len(),
        1,
        "exactly one 201: {:?}",
        statuses(&responses)
    );
    let winner = &created[0]["id"];
    for resp in responses.iter().filter(|r| r.status != 201) {
        let details = assert_error(resp, 409, "duplicate_contact");
        assert_eq!(&details["existing_contact_id"], winner, "{}", resp.text);
    }
    assert_eq!(&server.get_contact("+14155550100").await["id"], winner);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_with_one_email_in_any_case_give_one_201() {
    let server = TestServer::start().await;
    let bodies: Vec<Value> = (0..N)
        .map(|n| {
            let email = if n % 2 == 0 {
                "Race@Example.com"
            } else {
                "race@example.COM"
            };
            json!({"email": email, "phone": phone(n as u32)})
        })
        .collect();
    let responses = join_all(bodies.iter().map(|body| server.post("/v2/contact", body))).await;
    let created: Vec<&Value> = responses
        .iter()
        .filter(|r| r.status == 201)
        .map(|r| &r.body)
        .collect();
    assert_eq!(
        created.len(),
        1,
        "exactly one 201: {:?}",
        statuses(&responses)
    );
    for resp in responses.iter().filter(|r| r.status != 201) {
        let details = assert_error(resp, 409, "duplicate_contact");
        assert_eq!(details["existing_contact_id"], created[0]["id"]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_of_different_contacts_all_land() {
    let server = TestServer::start().await;
    let bodies: Vec<Value> = (0..N as u32).map(|n| json!({"phone": phone(n)})).collect();
    let responses = join_all(bodies.iter().map(|body| server.post("/v2/contact", body))).await;
    let mut ids = Vec::new();
    for resp in &responses {
        ids.push(resp.expect(201)["id"].as_str().unwrap().to_string());
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), N, "distinct ids");
    for n in 0..N as u32 {
        server.get_contact(&phone(n)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_metadata_merges_on_one_contact_all_land() {
    let server = TestServer::start().await;
    let contact = server
        .create_contact(json!({
            "phone": "+14155550100",
            "email": "merge@example.com",
            "metadata": {"base": true}
        }))
        .await;
    let id = contact["id"].as_str().unwrap().to_string();
    // Through every kind of ref, to race the ref resolution too.
    let refs = [
        format!("/v2/contact/{id}"),
        "/v2/contact/%2B14155550100".to_string(),
        "/v2/contact/merge@example.com".to_string(),
    ];
    let bodies: Vec<(String, Value)> = (0..N)
        .map(|n| {
            (
                refs[n % 3].clone(),
                json!({"metadata": {format!("key_{n}"): n}}),
            )
        })
        .collect();
    let responses = join_all(bodies.iter().map(|(path, body)| server.put(path, body))).await;
    for resp in &responses {
        resp.expect(200);
    }
    let metadata = server.get_contact(&id).await["metadata"].clone();
    let mut expected = json!({"base": true});
    for n in 0..N {
        expected[format!("key_{n}")] = json!(n);
    }
    assert_eq!(metadata, expected, "every concurrent merge landed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_messages_are_all_counted() {
    let server = TestServer::start().await;
    let contact = server
        .create_contact(json!({"phone": "+14155550100"}))
        .await;
    let contact_id = contact["id"].as_str().unwrap().to_string();
    let conversation = server.create_conversation(&contact_id, "sms").await;
    let conversation_id = conversation["id"].as_str().unwrap().to_string();
    let path = format!("/v2/conversation/{conversation_id}/messages");
    let bodies: Vec<Value> = (0..N)
        .map(|n| {
            let direction = if n % 2 == 0 { "outbound" } else { "inbound" };
            json!({"direction": direction, "text": format!("message {n}")})
        })
        .collect();
    let responses = join_all(bodies.iter().map(|body| server.post(&path, body))).await;
    let messages: Vec<Value> = responses.iter().map(|r| r.expect(201)).collect();

    let after = server.get_conversation(&conversation_id).await;
    assert_eq!(after["message_count"], N, "every message counted");
    let newest = messages.iter().map(|m| ts(&m["created_at"])).max().unwrap();
    assert_eq!(
        ts(&after["last_message_at"]),
        newest,
        "last_message_at is the newest message"
    );
    let newest_outbound = messages
        .iter()
        .filter(|m| m["direction"] == "outbound")
        .map(|m| ts(&m["created_at"]))
        .max()
        .unwrap();
    let contact = server.get_contact(&contact_id).await;
    assert_eq!(
        ts(&contact["last_contacted"]),
        newest_outbound,
        "last_contacted is the newest outbound message"
    );

    let list = server.get(&format!("{path}?limit=100")).await.expect(200);
    let data = assert_list(&list, N as u64, 100, 0, false);
    let mut listed: Vec<String> = crate::utils::ids(&data);
    let mut posted: Vec<String> = crate::utils::ids(&messages);
    for pair in data.windows(2) {
        assert!(
            ts(&pair[0]["created_at"]) <= ts(&pair[1]["created_at"]),
            "oldest first: {} then {}",
            pair[0],
            pair[1]
        );
    }
    listed.sort();
    posted.sort();
    assert_eq!(listed, posted, "the list holds exactly the posted messages");

    // (created_at, id) is the order, and paging through it neither skips nor repeats.
    let mut sorted = data.clone();
    sorted.sort_by_key(|m| (ts(&m["created_at"]), m["id"].as_str().unwrap().to_string()));
    assert_eq!(
        crate::utils::ids(&data),
        crate::utils::ids(&sorted),
        "ordered by (created_at, id)"
    );
    let mut paged = Vec::new();
    for offset in (0..N).step_by(5) {
        let page = server
            .get(&format!("{path}?limit=5&offset={offset}"))
            .await
            .expect(200);
        paged.extend(crate::utils::ids(page["data"].as_array().unwrap()));
    }
    assert_eq!(
        paged,
        crate::utils::ids(&data),
        "pages put together give the whole list"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrently_opened_conversations_list_newest_first_by_created_at_and_id() {
    let server = TestServer::start().await;
    let contact = server
        .create_contact(json!({"phone": "+14155550100"}))
        .await;
    let contact_id = contact["id"].as_str().unwrap().to_string();
    let channels = ["sms", "whatsapp", "email", "instagram"];
    let bodies: Vec<Value> = (0..N)
        .map(|n| json!({"contact_id": contact_id, "channel": channels[n % 4]}))
        .collect();
    let responses = join_all(
        bodies
            .iter()
            .map(|body| server.post("/v2/conversation", body)),
    )
    .await;
    let created: Vec<Value> = responses.iter().map(|r| r.expect(201)).collect();
    let list = server
        .get(&format!("/v2/contact/{contact_id}/conversations?limit=100"))
        .await
        .expect(200);
    let data = assert_list(&list, N as u64, 100, 0, false);
    let mut expected = created.clone();
    expected.sort_by_key(|c| (ts(&c["created_at"]), c["id"].as_str().unwrap().to_string()));
    expected.reverse();
    assert_eq!(
        crate::utils::ids(&data),
        crate::utils::ids(&expected),
        "newest first by (created_at, id)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_updates_to_one_new_phone_give_one_200_and_409s() {
    let server = TestServer::start().await;
    let mut ids = Vec::new();
    for n in 0..N as u32 {
        let contact = server.create_contact(json!({"phone": phone(n)})).await;
        ids.push(contact["id"].as_str().unwrap().to_string());
    }
    let paths: Vec<String> = ids.iter().map(|id| format!("/v2/contact/{id}")).collect();
    let body = json!({"phone": "+14155559999"});
    let responses = join_all(paths.iter().map(|path| server.put(path, &body))).await;
    let winners: Vec<&Value> = responses
        .iter()
        .filter(|r| r.status == 200)
        .map(|r| &r.body)
        .collect();
    assert_eq!(
        winners.len(),
        1,
        "exactly one 200: {:?}",
        statuses(&responses)
    );
    for resp in responses.iter().filter(|r| r.status != 200) {
        let details = assert_error(resp, 409, "duplicate_contact");
        assert_eq!(
            details["existing_contact_id"], winners[0]["id"],
            "{}",
            resp.text
        );
    }
    assert_eq!(
        server.get_contact("+14155559999").await["id"],
        winners[0]["id"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_read_never_sees_half_an_update() {
    let server = TestServer::start().await;
    let contact = server
        .create_contact(json!({"phone": "+14155550100", "first_name": "A", "last_name": "A", "metadata": {"v": "A"}}))
        .await;
    let path = format!("/v2/contact/{}", contact["id"].as_str().unwrap());
    for _round in 0..3 {
        let writes: Vec<Value> = (0..N)
            .map(|n| {
                let v = if n % 2 == 0 { "A" } else { "B" };
                json!({"first_name": v, "last_name": v, "metadata": {"v": v}})
            })
            .collect();
        let (written, read) = futures::join!(
            join_all(writes.iter().map(|body| server.put(&path, body))),
            join_all((0..N).map(|_| server.get(&path)))
        );
        for resp in written.iter().chain(read.iter()) {
            let seen = resp.expect(200);
            let v = seen["first_name"].clone();
            assert_eq!(seen["last_name"], v, "one update, whole: {seen}");
            assert_eq!(seen["metadata"]["v"], v, "one update, whole: {seen}");
            assert_eq!(
                seen["full_name"],
                json!(format!("{0} {0}", v.as_str().unwrap()))
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deleting_a_contact_while_messages_arrive_leaves_nothing_behind() {
    let server = TestServer::start().await;
    let contact = server
        .create_contact(json!({"phone": "+14155550100"}))
        .await;
    let contact_id = contact["id"].as_str().unwrap().to_string();
    let conversation = server.create_conversation(&contact_id, "sms").await;
    let conversation_id = conversation["id"].as_str().unwrap().to_string();
    let path = format!("/v2/conversation/{conversation_id}/messages");
    let body = json!({"direction": "outbound", "text": "racing"});
    let contact_path = format!("/v2/contact/{contact_id}");
    let (posted, deleted) = futures::join!(
        join_all((0..N).map(|_| server.post(&path, &body))),
        server.delete(&contact_path)
    );
    deleted.expect(200);
    for resp in &posted {
        if resp.status != 201 {
            assert_error(resp, 404, "not_found");
        }
    }
    assert_error(
        &server
            .get(&format!("/v2/conversation/{conversation_id}"))
            .await,
        404,
        "not_found",
    );
    assert_error(&server.get(&path).await, 404, "not_found");
    // Nothing of the contact is left in the database: no message that raced the delete
    // landed after it, under the deleted conversation or anywhere else.
    for table in ["contacts", "conversations", "messages", "contact_terms"] {
        let left = server.sql(&format!("SELECT COUNT(*) FROM {table}")).await;
        assert_eq!(left, 0, "{left} rows left in {table}");
    }
    // And the phone is free again.
    server
        .create_contact(json!({"phone": "+14155550100"}))
        .await;
}

fn statuses(responses: &[crate::utils::Resp]) -> Vec<u16> {
    responses.iter().map(|r| r.status).collect()
}
