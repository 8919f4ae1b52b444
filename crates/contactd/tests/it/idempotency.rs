//! Safe retries: a POST with an `Idempotency-Key` runs once; a retry replays its answer, a
//! different request with the same key is refused, and concurrent retries run it once.

use futures::future::join_all;
use serde_json::{json, Value};

use crate::list::list_as;
use crate::utils::{assert_error, phone, Resp, TestServer};

/// POST `body` to `path` with `Idempotency-Key: {key}` as the tenant of `api_key`.
async fn post_idem(
    server: &TestServer,
    api_key: &str,
    path: &str,
    key: &str,
    body: &Value,
) -> Resp {
    let bytes = serde_json::to_vec(body).unwrap();
    server
        .send(
            "POST",
            path,
            &[
                ("X-API-Key", api_key),
                ("Content-Type", "application/json"),
                ("Idempotency-Key", key),
            ],
            Some(&bytes),
        )
        .await
}

fn replayed(resp: &Resp) -> bool {
    resp.header("idempotent-replayed") == Some("true")
}

/// `again` replays `first`: same status and body, with `Idempotent-Replayed: true`.
#[track_caller]
fn assert_replay(first: &Resp, again: &Resp) {
    assert_eq!(
        again.status, first.status,
        "the same status: {}",
        again.text
    );
    assert_eq!(again.body, first.body, "the same body");
    assert!(
        replayed(again),
        "Idempotent-Replayed: true on a replay; got {:?}",
        again.header("idempotent-replayed")
    );
}

#[track_caller]
fn assert_first_run(resp: &Resp) {
    assert!(
        !replayed(resp),
        "a first run is not marked replayed: {:?}",
        resp.headers
    );
}

async fn total(server: &TestServer, api_key: &str) -> Value {
    list_as(server, api_key, "").await["total"].clone()
}

#[tokio::test]
async fn the_same_key_and_body_replays_the_first_answer_and_creates_once() {
    let server = TestServer::start().await;
    let body = json!({"phone": phone(1), "first_name": "Once", "metadata": {"b": 1, "a": {"z": 1, "y": 2}}});
    let first = post_idem(&server, &server.key, "/v2/contact", "create-1", &body).await;
    first.expect(201);
    assert_first_run(&first);
    for _ in 0..3 {
        let again = post_idem(&server, &server.key, "/v2/contact", "create-1", &body).await;
        // Without the key this would be a 409 duplicate: the operation did not run again.
        assert_replay(&first, &again);
    }
    assert_eq!(total(&server, &server.key).await, 1);
    let id = first.body["id"].as_str().unwrap();
    assert_eq!(server.get_contact(id).await, first.body);
    // A new key is a new request.
    let other = post_idem(&server, &server.key, "/v2/contact", "create-2", &body).await;
    assert_error(&other, 409, "duplicate_contact");
    assert_first_run(&other);
}

#[tokio::test]
async fn the_same_key_with_another_body_is_409_idempotency_conflict() {
    let server = TestServer::start().await;
    let first = post_idem(
        &server,
        &server.key,
        "/v2/contact",
        "k",
        &json!({"phone": phone(1)}),
    )
    .await;
    first.expect(201);
    for body in [
        json!({"phone": phone(2)}),
        json!({"phone": phone(1), "first_name": "X"}),
    ] {
        let resp = post_idem(&server, &server.key, "/v2/contact", "k", &body).await;
        assert_error(&resp, 409, "idempotency_conflict");
        assert!(!replayed(&resp));
    }
    assert_eq!(server.get("/v2/contact/%2B14155550002").await.status, 404);
    assert_eq!(server.get_contact(&phone(1)).await, first.body);
    // The original request still replays.
    let again = post_idem(
        &server,
        &server.key,
        "/v2/contact",
        "k",
        &json!({"phone": phone(1)}),
    )
    .await;
    assert_replay(&first, &again);
    assert_eq!(total(&server, &server.key).await, 1);
}

#[tokio::test]
async fn the_same_key_on_another_path_is_409_idempotency_conflict() {
    let server = TestServer::start().await;
    let body = json!({"phone": phone(1), "first_name": "A"});
    let first = post_idem(&server, &server.key, "/v2/contact", "path-key", &body).await;
    first.expect(201);
    let resp = post_idem(
        &server,
        &server.key,
        "/v2/contact/upsert",
        "path-key",
        &json!({"phone": phone(1), "first_name": "B"}),
    )
    .await;
    assert_error(&resp, 409, "idempotency_conflict");
    let resp = post_idem(
        &server,
        &server.key,
        "/v2/contact/upsert",
        "path-key",
        &body,
    )
    .await;
    assert_error(&resp, 409, "idempotency_conflict");
    let batch = json!({"contacts": [body.clone()]});
    let resp = post_idem(
        &server,
        &server.key,
        "/v2/contact/batch",
        "path-key",
        &batch,
    )
    .await;
    assert_error(&resp, 409, "idempotency_conflict");
    assert_eq!(server.get_contact(&phone(1)).await, first.body);
    assert_eq!(total(&server, &server.key).await, 1);
}

#[tokio::test]
async fn tenants_use_the_same_key_independently() {
    let server = TestServer::start().await;
    let other_workspace = server.new_key("globex", "live").await;
    let keys = [server.key.clone(), server.test_key.clone(), other_workspace];
    let body = json!({"phone": phone(1)});
    let mut firsts = Vec::new();
    for api_key in &keys {
        let first = post_idem(&server, api_key, "/v2/contact", "shared", &body).await;
        first.expect(201);
        assert_first_run(&first);
        firsts.push(first);
    }
    let ids: std::collections::HashSet<&str> = firsts
        .iter()
        .map(|r| r.body["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 3, "three contacts");
    for (api_key, first) in keys.iter().zip(&firsts) {
        let again = post_idem(&server, api_key, "/v2/contact", "shared", &body).await;
        assert_replay(first, &again);
        assert_eq!(total(&server, api_key).await, 1);
    }
    // Another tenant's key with another body is no conflict either.
    let resp = post_idem(
        &server,
        &keys[1],
        "/v2/contact",
        "only-live",
        &json!({"phone": phone(5)}),
    )
    .await;
    resp.expect(201);
    let resp = post_idem(
        &server,
        &keys[0],
        "/v2/contact",
        "only-live",
        &json!({"phone": phone(6)}),
    )
    .await;
    resp.expect(201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_requests_with_one_key_run_once_and_answer_alike() {
    let server = TestServer::start().await;
    let body = json!({"phone": phone(1), "first_name": "Racer"});
    let responses =
        join_all((0..16).map(|_| post_idem(&server, &server.key, "/v2/contact", "race", &body)))
            .await;
    for resp in &responses {
        assert_eq!(resp.status, 201, "every answer is the 201: {}", resp.text);
        assert_eq!(resp.body, responses[0].body, "the same contact");
    }
    let ran = responses.iter().filter(|r| !replayed(r)).count();
    assert_eq!(ran, 1, "one request ran, the others replayed it");
    assert_eq!(total(&server, &server.key).await, 1);
    let id = responses[0].body["id"].as_str().unwrap();
    assert_eq!(server.get_contact(id).await, responses[0].body);
}

#[tokio::test]
async fn a_400_answer_is_replayed_too() {
    let server = TestServer::start().await;
    let body = json!({"phone": "bad"});
    let first = post_idem(&server, &server.key, "/v2/contact", "bad-1", &body).await;
    assert_error(&first, 400, "invalid_input");
    assert_first_run(&first);
    let again = post_idem(&server, &server.key, "/v2/contact", "bad-1", &body).await;
    assert_replay(&first, &again);
    assert_error(&again, 400, "invalid_input");
    assert_eq!(total(&server, &server.key).await, 0);
}

#[tokio::test]
async fn keys_must_be_1_to_255_visible_ascii_characters() {
    let server = TestServer::start().await;
    let long = "k".repeat(256);
    for (n, bad) in [long.as_str(), ""].into_iter().enumerate() {
        let resp = post_idem(
            &server,
            &server.key,
            "/v2/contact",
            bad,
            &json!({"phone": phone(n as u32)}),
        )
        .await;
        let details = assert_error(&resp, 400, "invalid_input");
        if let Some(field) = details.get("field").and_then(Value::as_str) {
            assert!(
                field.eq_ignore_ascii_case("idempotency-key"),
                "names the header: {}",
                resp.text
            );
        }
    }
    assert_eq!(total(&server, &server.key).await, 0, "nothing created");
    let ok = "k".repeat(255);
    let first = post_idem(
        &server,
        &server.key,
        "/v2/contact",
        &ok,
        &json!({"phone": phone(9)}),
    )
    .await;
    first.expect(201);
    let again = post_idem(
        &server,
        &server.key,
        "/v2/contact",
        &ok,
        &json!({"phone": phone(9)}),
    )
    .await;
    assert_replay(&first, &again);
    let visible = "Ab0-_.~!#$%&'*+^`|:;<>=?@[]{}/\\\"(),x";
    let first = post_idem(
        &server,
        &server.key,
        "/v2/contact",
        visible,
        &json!({"phone": phone(8)}),
    )
    .await;
    first.expect(201);
    let again = post_idem(
        &server,
        &server.key,
        "/v2/contact",
        visible,
        &json!({"phone": phone(8)}),
    )
    .await;
    assert_replay(&first, &again);
}

#[tokio::test]
async fn upsert_and_batch_replay_instead_of_running_again() {
    let server = TestServer::start().await;
    let body = json!({"phone": phone(1), "metadata": {"n": 1}});
    let first = post_idem(&server, &server.key, "/v2/contact/upsert", "u", &body).await;
    first.expect(201);
    let again = post_idem(&server, &server.key, "/v2/contact/upsert", "u", &body).await;
    assert_replay(&first, &again);
    assert_eq!(again.status, 201, "the replay is the create, not an update");

    let batch = json!({"mode": "create", "contacts": [{"phone": phone(2)}, {"phone": "bad"}]});
    let first = post_idem(&server, &server.key, "/v2/contact/batch", "b", &batch).await;
    let answer = first.expect(200);
    assert_eq!(answer["created"], 1, "{answer}");
    let again = post_idem(&server, &server.key, "/v2/contact/batch", "b", &batch).await;
    assert_replay(&first, &again);
    assert_eq!(again.body["created"], 1);
    assert_eq!(total(&server, &server.key).await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conversations_and_messages_are_created_once_per_key() {
    let server = TestServer::start().await;
    let contact = server.create_contact(json!({"phone": phone(1)})).await;
    let contact_id = contact["id"].as_str().unwrap();
    let body = json!({"contact_id": contact_id, "channel": "sms"});
    let first = post_idem(&server, &server.key, "/v2/conversation", "conv", &body).await;
    first.expect(201);
    let again = post_idem(&server, &server.key, "/v2/conversation", "conv", &body).await;
    assert_replay(&first, &again);
    let other = json!({"contact_id": contact_id, "channel": "email"});
    let resp = post_idem(&server, &server.key, "/v2/conversation", "conv", &other).await;
    assert_error(&resp, 409, "idempotency_conflict");
    let conversations = server
        .get(&format!("/v2/contact/{contact_id}/conversations"))
        .await
        .expect(200);
    assert_eq!(conversations["total"], 1, "{conversations}");

    let conversation_id = first.body["id"].as_str().unwrap();
    let path = format!("/v2/conversation/{conversation_id}/messages");
    let message = json!({"direction": "outbound", "text": "Hi once"});
    let first = post_idem(&server, &server.key, &path, "msg", &message).await;
    first.expect(201);
    let again = post_idem(&server, &server.key, &path, "msg", &message).await;
    assert_replay(&first, &again);
    // Sixteen at once with a new key: one more message.
    let racing = json!({"direction": "inbound", "text": "racing"});
    let responses =
        join_all((0..16).map(|_| post_idem(&server, &server.key, &path, "msg-race", &racing)))
            .await;
    for resp in &responses {
        assert_eq!(resp.status, 201, "{}", resp.text);
        assert_eq!(resp.body, responses[0].body);
    }
    assert_eq!(responses.iter().filter(|r| !replayed(r)).count(), 1);
    let conversation = server.get_conversation(conversation_id).await;
    assert_eq!(conversation["message_count"], 2, "{conversation}");
    let messages = server.get(&path).await.expect(200);
    assert_eq!(messages["total"], 2, "{messages}");
}

/// A space is not a visible character (RFC 5234 VCHAR is %x21-7E).
#[tokio::test]
async fn a_key_with_a_space_is_refused() {
    let server = TestServer::start().await;
    let resp = post_idem(
        &server,
        &server.key,
        "/v2/contact",
        "has space",
        &json!({"phone": phone(1)}),
    )
    .await;
    let details = assert_error(&resp, 400, "invalid_input");
    if let Some(field) = details.get("field").and_then(Value::as_str) {
        assert!(
            field.eq_ignore_ascii_case("idempotency-key"),
            "{}",
            resp.text
        );
    }
    assert_eq!(total(&server, &server.key).await, 0, "nothing created");
}

/// Sends `n` POSTs to `path`, each with its own key, from clients that give up after
/// 25 µs to 6.4 ms, doubling (so some go away before, some during and some after the write,
/// on a fast machine or a slow one; a loopback round trip alone takes longer than 25 µs),
/// then retries
/// each as if a minute later — when a claim that never got its answer counts as abandoned
/// and may run again. Every retry must answer 201.
async fn give_up_then_retry(server: &TestServer, path: &str, body: impl Fn(u32) -> Value) {
    let impatient = reqwest::Client::new();
    let mut gave_up = 0;
    let n = 60u32;
    for i in 0..n {
        let sent = impatient
            .post(server.url(path))
            .header("X-API-Key", &server.key)
            .header("Idempotency-Key", format!("gone-{path}-{i}"))
            .json(&body(i))
            .timeout(std::time::Duration::from_micros(25 << (i % 9)))
            .send()
            .await;
        gave_up += usize::from(sent.is_err());
    }
    assert!(
        gave_up > 0,
        "no client went away: the test would prove nothing"
    );
    // Let whatever still runs on the server finish (generously: a loaded machine), then
    // act as if a minute had passed.
    tokio::time::sleep(std::time::Duration::from_millis(2000)).await;
    server
        .sql("UPDATE idempotency_keys SET created_at = created_at - 61000000")
        .await;
    for i in 0..n {
        let key = format!("gone-{path}-{i}");
        let retry = post_idem(server, &server.key, path, &key, &body(i)).await;
        assert_eq!(retry.status, 201, "{path} retry {i}: {}", retry.text);
    }
}

/// Issue 11, item 15: the answer is kept in the transaction of the write, so a client that
/// went away after its write committed gets that answer on a retry, never a second run
/// (a 409 for a contact, a duplicate conversation, message or segment).
#[tokio::test]
async fn a_retry_after_the_client_went_away_replays_and_never_runs_twice() {
    let server = TestServer::start().await;
    give_up_then_retry(&server, "/v2/contact", |i| json!({"phone": phone(i)})).await;
    assert_eq!(server.sql("SELECT COUNT(*) FROM contacts").await, 60);

    let contact = server.get_contact(&phone(0)).await;
    let contact_id = contact["id"].as_str().unwrap().to_owned();
    give_up_then_retry(&server, "/v2/conversation", |i| {
        let channel = ["sms", "email", "whatsapp"][i as usize % 3];
        json!({"contact_id": contact_id, "channel": channel})
    })
    .await;
    assert_eq!(server.sql("SELECT COUNT(*) FROM conversations").await, 60);

    let conversation = server.create_conversation(&phone(1), "sms").await;
    let messages = format!(
        "/v2/conversation/{}/messages",
        conversation["id"].as_str().unwrap()
    );
    give_up_then_retry(
        &server,
        &messages,
        |i| json!({"direction": "inbound", "text": format!("message {i}")}),
    )
    .await;
    assert_eq!(server.sql("SELECT COUNT(*) FROM messages").await, 60);

    give_up_then_retry(
        &server,
        "/v2/segment",
        |i| json!({"name": format!("segment {i}"), "filter": {"status": "active"}}),
    )
    .await;
    assert_eq!(server.sql("SELECT COUNT(*) FROM segments").await, 60);
}

/// Issue 11, item 15: answers are kept 24 hours, then deleted (at start, then hourly).
#[tokio::test]
async fn answers_older_than_a_day_are_pruned() {
    let server = TestServer::start().await;
    let key = server.key.clone();
    for (idem, n) in [("old", 1), ("new", 2)] {
        let resp = post_idem(
            &server,
            &key,
            "/v2/contact",
            idem,
            &json!({"phone": phone(n)}),
        )
        .await;
        assert_eq!(resp.status, 201, "{}", resp.text);
    }
    let day_and_hour = (25 * 3600) as i64 * 1_000_000;
    server
        .sql(&format!(
            "UPDATE idempotency_keys SET created_at = created_at - {day_and_hour} WHERE key = 'old'"
        ))
        .await;
    let server = server.restart().await;
    let count = |k: &'static str| {
        let server = &server;
        async move {
            server
                .sql(&format!(
                    "SELECT COUNT(*) FROM idempotency_keys WHERE key = '{k}'"
                ))
                .await
        }
    };
    let started = std::time::Instant::now();
    while count("old").await > 0 {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "not pruned"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(count("new").await, 1, "a recent answer is kept");
}

/// `contactd_idempotency_claims_total` from `/metrics`.
async fn claims(server: &TestServer) -> u64 {
    let metrics = server.send("GET", "/metrics", &[], None).await;
    metrics
        .text
        .lines()
        .find_map(|l| l.strip_prefix("contactd_idempotency_claims_total "))
        .and_then(|n| n.trim().parse().ok())
        .expect("the claims counter in /metrics")
}

/// Issue 11, item 15: a request that finds its key in progress (here: held by a request on
/// another replica, written straight into the database) waits by reading, without claiming
/// the key again and again, and replays the answer once it is there.
#[tokio::test]
async fn a_request_waiting_on_its_key_reads_instead_of_claiming_again() {
    use sha2::{Digest, Sha256};
    let server = TestServer::start().await;
    let body = json!({"phone": phone(7)});
    let bytes = serde_json::to_vec(&body).unwrap();
    let mut hasher = Sha256::new();
    hasher.update(b"POST /v2/contact\n");
    hasher.update(&bytes);
    let hex: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let sqlite = server.database_url().starts_with("sqlite://");
    let (fingerprint, answer) = if sqlite {
        (
            format!("unhex('{hex}')"),
            "CAST('{\"id\":\"other\"}' AS BLOB)",
        )
    } else {
        (
            format!("decode('{hex}', 'hex')"),
            "convert_to('{\"id\":\"other\"}', 'UTF8')",
        )
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros();
    server
        .sql(&format!(
            "INSERT INTO idempotency_keys (workspace_id, mode, key, fingerprint, created_at) \
             SELECT id, 'live', 'held', {fingerprint}, {now} FROM workspaces WHERE name = 'acme'"
        ))
        .await;

    let before = claims(&server).await;
    let key = server.key.clone();
    let waiting = post_idem(&server, &key, "/v2/contact", "held", &body);
    let finish_first = async {
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        server
            .sql(&format!(
                "UPDATE idempotency_keys SET status = 201, headers = '[]', body = {answer} \
                 WHERE key = 'held'"
            ))
            .await;
    };
    let (resp, ()) = futures::join!(waiting, finish_first);
    assert_eq!(resp.status, 201, "{}", resp.text);
    assert!(replayed(&resp), "the first request's answer");
    assert_eq!(resp.body, json!({"id": "other"}));
    let made = claims(&server).await - before;
    assert_eq!(
        made, 1,
        "claims made while waiting 1.5 s (one a poll before)"
    );
    assert_eq!(server.sql("SELECT COUNT(*) FROM contacts").await, 0);
}
