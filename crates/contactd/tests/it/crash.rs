//! Crash safety: concurrent writes, `kill -9` in the middle of them, a restart. Every
//! write that was answered 2xx is there, a deleted contact's conversations and messages
//! are gone with it, counters agree with the rows, and SQLite's integrity check passes.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

use crate::utils::scratch_database;
use crate::webhooks::Receiver;

struct Server {
    child: Child,
    base: String,
}

impl Server {
    async fn start(database: &str) -> Server {
        Server::start_with(database, &[]).await
    }

    async fn start_with(database: &str, extra: &[&str]) -> Server {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_contactd"))
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--database",
                database,
            ])
            .args(extra)
            .env("CONTACTD_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting contactd");
        let base = format!("http://127.0.0.1:{port}");
        // Owned by the guard from here on, so a failed start still kills and reaps it.
        let server = Server { child, base };
        for _ in 0..150 {
            if reqwest::get(format!("{}/readyz", server.base))
                .await
                .is_ok_and(|r| r.status() == 200)
            {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("contactd did not become ready");
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

fn key(database: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_contactd"))
        .args([
            "keys",
            "create",
            "--workspace",
            "acme",
            "--mode",
            "live",
            "--database",
            database,
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap()
        .to_owned()
}

/// What the server acknowledged before it died.
#[derive(Default)]
struct Acknowledged {
    contacts: Vec<String>,
    deleted: Vec<(String, String)>,
    /// Deletes sent whose answer never came: they may or may not have happened.
    deleting: Vec<(String, String)>,
    messages: Vec<(String, String)>,
    sent: usize,
}

async fn call(
    client: &reqwest::Client,
    method: &str,
    url: String,
    key: &str,
    body: Value,
) -> Option<Value> {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let resp = client
        .request(method, url)
        .header("X-API-Key", key)
        .json(&body)
        .send()
        .await
        .ok()?;
    if !resp.status().is_success() {
        return None;
    }
    resp.json().await.ok()
}

/// One writer: contact, conversation, messages, and every third contact deleted.
async fn write(base: String, key: String, worker: usize, acked: Arc<Mutex<Acknowledged>>) {
    let client = reqwest::Client::new();
    for n in 0.. {
        let phone = format!("+1{:03}{:07}", 200 + worker, n);
        acked.lock().unwrap().sent += 1;
        let Some(contact) = call(
            &client,
            "POST",
            format!("{base}/v2/contact"),
            &key,
            json!({"phone": phone}),
        )
        .await
        else {
            return;
        };
        let id = contact["id"].as_str().unwrap().to_owned();
        acked.lock().unwrap().contacts.push(id.clone());
        acked.lock().unwrap().sent += 1;
        let body = json!({"contact_id": id, "channel": "sms"});
        let Some(conversation) = call(
            &client,
            "POST",
            format!("{base}/v2/conversation"),
            &key,
            body,
        )
        .await
        else {
            return;
        };
        let conversation = conversation["id"].as_str().unwrap().to_owned();
        for text in ["one", "two", "three"] {
            acked.lock().unwrap().sent += 1;
            let body = json!({"direction": "outbound", "text": text});
            let url = format!("{base}/v2/conversation/{conversation}/messages");
            let Some(message) = call(&client, "POST", url, &key, body).await else {
                return;
            };
            let message = message["id"].as_str().unwrap().to_owned();
            acked
                .lock()
                .unwrap()
                .messages
                .push((conversation.clone(), message));
        }
        if n % 3 == 0 {
            acked.lock().unwrap().sent += 1;
            acked
                .lock()
                .unwrap()
                .deleting
                .push((id.clone(), conversation.clone()));
            let url = format!("{base}/v2/contact/{id}");
            if call(&client, "DELETE", url, &key, json!({}))
                .await
                .is_none()
            {
                return;
            }
            acked.lock().unwrap().deleting.retain(|(d, _)| *d != id);
            acked.lock().unwrap().deleted.push((id, conversation));
        }
    }
}

async fn get(client: &reqwest::Client, base: &str, key: &str, path: &str) -> (u16, Value) {
    let resp = client
        .get(format!("{base}{path}"))
        .header("X-API-Key", key)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writes_acknowledged_before_a_kill_9_are_all_there_and_whole() {
    let (database, _guard) = scratch_database();
    let key = key(&database);
    let mut server = Server::start(&database).await;
    let acked = Arc::new(Mutex::new(Acknowledged::default()));
    let writers: Vec<_> = (0..8)
        .map(|w| tokio::spawn(write(server.base.clone(), key.clone(), w, acked.clone())))
        .collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.kill();
    for writer in writers {
        let _ = writer.await;
    }

    let server = Server::start(&database).await;
    let client = reqwest::Client::new();
    let acked = std::mem::take(&mut *acked.lock().unwrap());
    assert!(
        acked.contacts.len() > 20,
        "the load ran: {} contacts",
        acked.contacts.len()
    );
    let deleted: Vec<&String> = acked.deleted.iter().map(|(id, _)| id).collect();
    let maybe_deleted: Vec<&String> = acked.deleting.iter().map(|(id, _)| id).collect();
    for id in &acked.contacts {
        let (status, _) = get(&client, &server.base, &key, &format!("/v2/contact/{id}")).await;
        if maybe_deleted.contains(&id) {
            // Its delete was in flight when the server died: either outcome is right.
            assert!(status == 200 || status == 404, "contact {id}: {status}");
            continue;
        }
        let expected = if deleted.contains(&id) { 404 } else { 200 };
        assert_eq!(status, expected, "contact {id}");
    }
    for (id, conversation) in &acked.deleting {
        let (contact, _) = get(&client, &server.base, &key, &format!("/v2/contact/{id}")).await;
        let path = format!("/v2/conversation/{conversation}");
        let (conversation, _) = get(&client, &server.base, &key, &path).await;
        assert_eq!(
            contact, conversation,
            "a delete cut short is all or nothing"
        );
    }
    for (_, conversation) in &acked.deleted {
        let (status, _) = get(
            &client,
            &server.base,
            &key,
            &format!("/v2/conversation/{conversation}"),
        )
        .await;
        assert_eq!(
            status, 404,
            "a deleted contact's conversation is gone with it"
        );
    }
    let deleted_conversations: Vec<&String> = acked
        .deleted
        .iter()
        .chain(&acked.deleting)
        .map(|(_, c)| c)
        .collect();
    for (conversation, message) in &acked.messages {
        if deleted_conversations.contains(&conversation) {
            continue;
        }
        let path = format!("/v2/conversation/{conversation}/messages?limit=100");
        let (status, list) = get(&client, &server.base, &key, &path).await;
        assert_eq!(status, 200);
        let ids: Vec<&str> = list["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap())
            .collect();
        assert!(
            ids.contains(&message.as_str()),
            "acknowledged message {message} survives"
        );
        let (_, conv) = get(
            &client,
            &server.base,
            &key,
            &format!("/v2/conversation/{conversation}"),
        )
        .await;
        assert_eq!(
            conv["message_count"].as_u64(),
            Some(ids.len() as u64),
            "counter and rows agree"
        );
    }
    eprintln!(
        "crash test: {} requests sent, {} contacts, {} messages, {} deletes acknowledged; all found after kill -9",
        acked.sent,
        acked.contacts.len(),
        acked.messages.len(),
        acked.deleted.len()
    );
    drop(server);
    if let Some(path) = database.strip_prefix("sqlite://") {
        let conn = rusqlite::Connection::open(path).unwrap();
        let verdict: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(verdict, "ok");
        let orphans: i64 = conn
            .query_row("SELECT COUNT(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(orphans, 0, "no message or conversation outlived its parent");
    }
}

/// Every `(event id)` the feed serves, oldest first.
async fn all_event_ids(client: &reqwest::Client, base: &str, key: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut after = String::new();
    loop {
        let page: Value = client
            .get(format!("{base}/v2/events?limit=1000&after={after}"))
            .header("X-API-Key", key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let data = page["data"].as_array().unwrap();
        ids.extend(data.iter().map(|e| e["id"].as_str().unwrap().to_owned()));
        if data.is_empty() {
            return ids;
        }
        after = page["next_cursor"].as_str().unwrap().to_owned();
    }
}

/// Issue 16's kill test on the suite's backend (SQLite by default, where first attempts
/// are leased in the server's memory): SIGKILL while 10,000 events go to two endpoints,
/// one failing every other answer; after a restart every event reaches both.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_event_reaches_both_endpoints_after_a_kill_during_10000_deliveries() {
    const FAST: &[&str] = &["--webhook-allow-private", "--webhook-retry-scale", "0.0002"];
    let (database, _guard) = scratch_database();
    let key = key(&database);
    let healthy = Receiver::start(0).await;
    let flaky = Receiver::start(2).await;
    let mut server = Server::start_with(&database, FAST).await;
    let client = reqwest::Client::new();
    for receiver in [&healthy, &flaky] {
        let created = call(
            &client,
            "POST",
            format!("{}/v2/webhook", server.base),
            &key,
            json!({"url": receiver.url}),
        )
        .await
        .unwrap();
        receiver
            .set_secret(created["secret"].as_str().unwrap())
            .await;
    }
    for batch in 0..10 {
        let contacts: Vec<Value> = (0..1000)
            .map(|i| json!({"phone": format!("+1556{batch:03}{i:04}")}))
            .collect();
        call(
            &client,
            "POST",
            format!("{}/v2/contact/batch", server.base),
            &key,
            json!({"contacts": contacts}),
        )
        .await
        .expect("the batch is answered");
    }
    let events = all_event_ids(&client, &server.base, &key).await;
    assert_eq!(events.len(), 10_000);

    let succeeded = |receiver: &Receiver| {
        let mut counts: std::collections::HashMap<String, usize> = Default::default();
        for d in receiver.deliveries() {
            assert_eq!(d["verified"], true, "a delivery failed verification: {d}");
            if d["answered"] == 200 {
                *counts
                    .entry(d["webhook_id"].as_str().unwrap().to_owned())
                    .or_default() += 1;
            }
        }
        counts
    };
    let started = std::time::Instant::now();
    while succeeded(&healthy).len() < 1500 {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "deliveries did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.kill();
    let before_kill = (succeeded(&healthy).len(), succeeded(&flaky).len());
    let server = Server::start_with(&database, FAST).await;

    let deadline = std::time::Instant::now() + Duration::from_secs(300);
    loop {
        let (h, f) = (succeeded(&healthy), succeeded(&flaky));
        let missing = |seen: &std::collections::HashMap<String, usize>| {
            events.iter().filter(|e| !seen.contains_key(*e)).count()
        };
        if missing(&h) == 0 && missing(&f) == 0 {
            let duplicates = |seen: &std::collections::HashMap<String, usize>| {
                seen.values().map(|n| n - 1).sum::<usize>()
            };
            eprintln!(
                "delivered before the kill: {before_kill:?}; duplicates after restart: healthy \
                 endpoint {}, flaky endpoint {} (of 10,000 each); took {:?}",
                duplicates(&h),
                duplicates(&f),
                started.elapsed()
            );
            // Duplicates come only from what was out when the server died: the attempts
            // of one lease in flight, and those finished but not yet recorded.
            assert!(duplicates(&h) <= 128 && duplicates(&f) <= 128);
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "missing after restart: healthy {}, flaky {}",
            missing(&h),
            missing(&f)
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    drop(server);
}
