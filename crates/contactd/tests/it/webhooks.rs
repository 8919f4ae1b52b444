//! Webhook endpoints and signed deliveries (contract §7), verified by the Standard
//! Webhooks library on the receiving end (`tests/support/receiver.py`, Python
//! `standardwebhooks`; `CONTACTD_TEST_PYTHON` names the interpreter, default `python3`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use crate::utils::{assert_invalid, phone, TestServer};

/// A receiver process on loopback that verifies and records every delivery.
pub struct Receiver {
    pub url: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
    child: tokio::process::Child,
}

impl Receiver {
    /// Starts `support/receiver.py`; every `fail_every`-th delivery answers 500 (0: none).
    pub async fn start(fail_every: u32) -> Receiver {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("deliveries.ndjson");
        let python = std::env::var("CONTACTD_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/receiver.py");
        let mut child = tokio::process::Command::new(python)
            .arg(&script)
            .arg(&log)
            .arg(fail_every.to_string())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("starting the Python receiver (needs `pip install standardwebhooks`)");
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).await.unwrap();
        let port: u16 = line.trim().parse().unwrap_or_else(|_| {
            panic!("the receiver printed no port ({line:?}); is standardwebhooks installed?")
        });
        Receiver {
            url: format!("http://127.0.0.1:{port}/hook"),
            log,
            _dir: dir,
            child,
        }
    }

    pub async fn set_secret(&self, secret: &str) {
        let client = reqwest::Client::new();
        let url = self.url.replace("/hook", "/_secret");
        let resp = client
            .post(url)
            .body(secret.to_owned())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 204);
    }

    /// Every request recorded so far.
    pub fn deliveries(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Waits until every event id of `expected` was answered 200, or panics.
    pub async fn wait_for(&self, expected: &[String], within: Duration) -> Vec<Value> {
        let deadline = Instant::now() + within;
        loop {
            let seen = self.deliveries();
            let ok: std::collections::HashSet<&str> = seen
                .iter()
                .filter(|d| d["answered"] == 200)
                .filter_map(|d| d["webhook_id"].as_str())
                .collect();
            if expected.iter().all(|id| ok.contains(id.as_str())) {
                return seen;
            }
            assert!(
                Instant::now() < deadline,
                "{} of {} events delivered",
                expected
                    .iter()
                    .filter(|id| ok.contains(id.as_str()))
                    .count(),
                expected.len()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

async fn fast_server() -> TestServer {
    TestServer::start_with(|c| {
        c.webhook_allow_private = true;
        c.webhook_retry_scale = 0.0002;
    })
    .await
}

async fn event_ids(server: &TestServer) -> Vec<String> {
    let page = server.get("/v2/events?limit=1000").await.expect(200);
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn every_delivery_verifies_with_the_standard_webhooks_library() {
    let server = fast_server().await;
    let receiver = Receiver::start(0).await;
    let created = server
        .post(
            "/v2/webhook",
            &json!({"url": receiver.url, "description": "CRM sync"}),
        )
        .await
        .expect(201);
    assert!(created["id"].as_str().unwrap().starts_with("wh_"));
    assert_eq!(created["status"], "enabled");
    assert_eq!(created["event_types"], Value::Null);
    let secret = created["secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_"));
    receiver.set_secret(secret).await;
    let id = created["id"].as_str().unwrap();
    let read = server.get(&format!("/v2/webhook/{id}")).await.expect(200);
    assert!(
        read.get("secret").is_none(),
        "the secret is shown at creation only"
    );

    for n in 0..10 {
        let c = server.create_contact(json!({"phone": phone(n)})).await;
        server
            .update_contact(c["id"].as_str().unwrap(), json!({"first_name": "X"}))
            .await;
    }
    let expected = event_ids(&server).await;
    assert_eq!(expected.len(), 20);
    let seen = receiver.wait_for(&expected, Duration::from_secs(30)).await;
    assert!(seen.iter().all(|d| d["verified"] == true), "{seen:?}");

    // After a rotation both secrets sign for a day: a receiver with either verifies.
    let rotated = server
        .post(&format!("/v2/webhook/{id}/rotate-secret"), &json!({}))
        .await
        .expect(200);
    let new_secret = rotated["secret"].as_str().unwrap();
    assert_ne!(new_secret, secret);
    server.create_contact(json!({"phone": phone(50)})).await;
    let expected = event_ids(&server).await;
    let seen = receiver.wait_for(&expected, Duration::from_secs(30)).await;
    assert!(
        seen.iter().all(|d| d["verified"] == true),
        "old secret: {seen:?}"
    );
    receiver.set_secret(new_secret).await;
    server.create_contact(json!({"phone": phone(51)})).await;
    let expected = event_ids(&server).await;
    let seen = receiver.wait_for(&expected, Duration::from_secs(30)).await;
    assert!(
        seen.iter().all(|d| d["verified"] == true),
        "new secret: {seen:?}"
    );

    let log = server
        .get(&format!("/v2/webhook/{id}/deliveries?limit=5"))
        .await
        .expect(200);
    let first = &log["data"][0];
    assert_eq!(first["state"], "succeeded");
    assert_eq!(first["response_status"], 200);
    assert_eq!(first["response_body"], "ok");
    assert_eq!(log["has_more"], true);
    let older = server
        .get(&format!(
            "/v2/webhook/{id}/deliveries?limit=5&cursor={}",
            log["next_cursor"].as_str().unwrap()
        ))
        .await
        .expect(200);
    assert!(
        older["data"][0]["id"].as_str() < first["id"].as_str(),
        "newest first"
    );

    let metrics = server.get("/metrics").await;
    assert_eq!(metrics.status, 200);
    for series in [
        "contactd_webhook_deliveries_total{outcome=\"succeeded\"}",
        "contactd_webhook_queue_depth",
        "contactd_webhook_oldest_undelivered_seconds",
    ] {
        assert!(metrics.text.contains(series), "{series} in /metrics");
    }
}

#[tokio::test]
async fn failed_answers_are_retried_until_they_succeed_and_can_be_retried_by_hand() {
    let server = fast_server().await;
    let receiver = Receiver::start(2).await;
    let created = server
        .post(
            "/v2/webhook",
            &json!({"url": receiver.url, "event_types": ["contact.created"]}),
        )
        .await
        .expect(201);
    receiver
        .set_secret(created["secret"].as_str().unwrap())
        .await;
    let id = created["id"].as_str().unwrap();
    for n in 0..20 {
        let c = server.create_contact(json!({"phone": phone(n)})).await;
        server
            .update_contact(c["id"].as_str().unwrap(), json!({"first_name": "X"}))
            .await;
    }
    let page = server
        .get("/v2/events?types=contact.created&limit=1000")
        .await
        .expect(200);
    let expected: Vec<String> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    let seen = receiver.wait_for(&expected, Duration::from_secs(60)).await;
    assert!(
        seen.iter().any(|d| d["answered"] == 500),
        "some answers failed"
    );
    // Only the subscribed type was delivered.
    let delivered: std::collections::HashSet<&str> = seen
        .iter()
        .filter_map(|d| d["webhook_id"].as_str())
        .collect();
    assert_eq!(delivered.len(), 20);
    // A manual retry delivers a succeeded delivery once more.
    let log = server
        .get(&format!("/v2/webhook/{id}/deliveries?limit=1"))
        .await
        .expect(200);
    let delivery = log["data"][0]["id"].as_str().unwrap();
    let before = receiver.deliveries().len();
    let retried = server
        .post(
            &format!("/v2/webhook/{id}/deliveries/{delivery}/retry"),
            &json!({}),
        )
        .await
        .expect(200);
    assert_eq!(retried["state"], "pending");
    let deadline = Instant::now() + Duration::from_secs(20);
    while receiver.deliveries().len() == before {
        assert!(Instant::now() < deadline, "the retry was not delivered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let other = server
        .get_as(&server.test_key, &format!("/v2/webhook/{id}"))
        .await;
    assert_eq!(other.status, 404, "another tenant's webhook is not found");
}

#[tokio::test]
async fn refused_addresses_are_invalid_input_without_the_allow_flag() {
    let server = TestServer::start().await;
    for url in [
        "http://127.0.0.1:9/hook",
        "http://10.0.0.1/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://localhost:9/hook",
        "http://[::1]:9/hook",
        "http://[::ffff:10.0.0.1]/hook",
        "http://[64:ff9b::a9fe:a9fe]/latest/meta-data",
        "http://0x7f000001:9/hook",
        "http://0.0.0.0:9/hook",
        "ftp://example.com/hook",
    ] {
        let resp = server.post("/v2/webhook", &json!({"url": url})).await;
        assert_invalid(&resp, "url");
    }
    let resp = server
        .post(
            "/v2/webhook",
            &json!({"url": "https://example.com/h", "event_types": ["contact.nope"]}),
        )
        .await;
    assert_invalid(&resp, "event_types");
    assert_eq!(
        server.get("/v2/webhook").await.expect(200)["data"],
        json!([])
    );
}

/// A one-request-at-a-time HTTP server answering `status` with `location`; counts requests.
async fn tiny_server(
    status: u16,
    location: Option<String>,
) -> (
    String,
    tokio::task::JoinHandle<()>,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = hits.clone();
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut buf = vec![0u8; 65536];
            let _ = socket.read(&mut buf).await;
            let location = location
                .as_ref()
                .map_or(String::new(), |l| format!("location: {l}\r\n"));
            let answer = format!(
                "HTTP/1.1 {status} X\r\n{location}content-length: 0\r\nconnection: close\r\n\r\n"
            );
            let _ = socket.write_all(answer.as_bytes()).await;
        }
    });
    (url, task, hits)
}

#[tokio::test]
async fn redirects_are_not_followed_and_delivery_time_checks_refuse_private_addresses() {
    let server = fast_server().await;
    let (target, _t, target_hits) = tiny_server(200, None).await;
    let (redirect, _r, redirect_hits) = tiny_server(302, Some(target)).await;
    let created = server
        .post("/v2/webhook", &json!({"url": redirect}))
        .await
        .expect(201);
    let id = created["id"].as_str().unwrap().to_owned();
    server.create_contact(json!({"phone": phone(1)})).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while redirect_hits.load(std::sync::atomic::Ordering::SeqCst) < 2 {
        assert!(
            Instant::now() < deadline,
            "the redirecting endpoint was not retried"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        target_hits.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "a redirect was followed"
    );
    let log = server
        .get(&format!("/v2/webhook/{id}/deliveries"))
        .await
        .expect(200);
    assert_eq!(log["data"][0]["response_status"], 302);

    // The same database served without the allow flag: the stored loopback URL is
    // refused at delivery time.
    let mut hits_then = redirect_hits.load(std::sync::atomic::Ordering::SeqCst);
    let server = server.restart().await;
    server
        .put(&format!("/v2/webhook/{id}"), &json!({"status": "disabled"}))
        .await
        .expect(200);
    server
        .put(&format!("/v2/webhook/{id}"), &json!({"status": "enabled"}))
        .await
        .expect(200);
    hits_then = hits_then.max(redirect_hits.load(std::sync::atomic::Ordering::SeqCst));
    server.create_contact(json!({"phone": phone(2)})).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut refused: HashMap<String, Value> = HashMap::new();
    while refused.is_empty() {
        assert!(Instant::now() < deadline, "no refused attempt was recorded");
        let log = server
            .get(&format!("/v2/webhook/{id}/deliveries"))
            .await
            .expect(200);
        for d in log["data"].as_array().unwrap() {
            if d["error"].as_str().is_some_and(|e| e.contains("refused")) {
                refused.insert(d["id"].as_str().unwrap().to_owned(), d.clone());
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        redirect_hits.load(std::sync::atomic::Ordering::SeqCst),
        hits_then,
        "a refused address was reached"
    );
}

/// Updates and rotations of one endpoint at the same moment all hold: none is written
/// over by another that read the endpoint before it (a rotation answered but lost would
/// leave the receiver with a secret that signs nothing).
#[tokio::test]
async fn concurrent_changes_of_one_endpoint_all_hold() {
    let server = fast_server().await;
    let receiver = Receiver::start(0).await;
    let created = server
        .post("/v2/webhook", &json!({"url": receiver.url}))
        .await
        .expect(201);
    let id = created["id"].as_str().unwrap();
    let path = format!("/v2/webhook/{id}");
    let rotate = format!("/v2/webhook/{id}/rotate-secret");
    for round in 0..6u32 {
        let description = format!("round {round}");
        let types = if round % 2 == 0 {
            json!(["contact.created"])
        } else {
            json!(["contact.created", "contact.deleted"])
        };
        let (described, typed, empty) = (
            json!({"description": description}),
            json!({"event_types": types}),
            json!({}),
        );
        let (a, b, first, second) = tokio::join!(
            server.put(&path, &described),
            server.put(&path, &typed),
            server.post(&rotate, &empty),
            server.post(&rotate, &empty),
        );
        assert_eq!((a.status, b.status), (200, 200), "{} {}", a.text, b.text);
        let secrets: Vec<String> = [first, second]
            .into_iter()
            .map(|r| {
                let body = r.expect(200);
                body["secret"].as_str().unwrap().to_owned()
            })
            .collect();

        let read = server.get(&path).await.expect(200);
        assert_eq!(read["description"], description, "round {round}");
        assert_eq!(read["event_types"], types, "round {round}");
        // Both rotations hold: the later secret signs, and the earlier one beside it.
        for (n, secret) in secrets.iter().enumerate() {
            receiver.set_secret(secret).await;
            server
                .create_contact(json!({"phone": phone(1000 + round * 2 + n as u32)}))
                .await;
            let expected = event_ids(&server).await;
            let seen = receiver.wait_for(&expected, Duration::from_secs(30)).await;
            let last = expected.last().unwrap();
            let delivery = seen
                .iter()
                .rev()
                .find(|d| d["webhook_id"] == last.as_str())
                .unwrap();
            assert_eq!(
                delivery["verified"], true,
                "round {round}: rotation {n}'s secret signs nothing: {delivery}"
            );
        }
    }
}

/// `PUT` changes only what is sent: `null` event types go back to all types (later ones
/// included) and `null` removes the description; a `PUT` that changes nothing keeps
/// `updated_at`. Another workspace sees none of it.
#[tokio::test]
async fn an_update_changes_what_is_sent_and_null_means_all_types() {
    let server = fast_server().await;
    let receiver = Receiver::start(0).await;
    let created = server
        .post(
            "/v2/webhook",
            &json!({"url": receiver.url, "event_types": ["contact.created"],
                    "description": "CRM sync"}),
        )
        .await
        .expect(201);
    receiver
        .set_secret(created["secret"].as_str().unwrap())
        .await;
    let path = format!("/v2/webhook/{}", created["id"].as_str().unwrap());

    let same = server.put(&path, &json!({})).await.expect(200);
    assert_eq!(same["updated_at"], created["updated_at"]);
    let same = server
        .put(&path, &json!({"description": "CRM sync"}))
        .await
        .expect(200);
    assert_eq!(same["updated_at"], created["updated_at"]);

    for bad in [
        json!({"event_types": []}),
        json!({"event_types": ["contact.nope"]}),
        json!({"url": null}),
        json!({"status": null}),
        json!({"description": "x".repeat(256)}),
    ] {
        let field = bad.as_object().unwrap().keys().next().unwrap().clone();
        assert_invalid(&server.put(&path, &bad).await, &field);
    }
    assert_eq!(server.get(&path).await.expect(200), same);

    let all = server
        .put(&path, &json!({"event_types": null, "description": null}))
        .await
        .expect(200);
    assert_eq!(all["event_types"], Value::Null);
    assert_eq!(all["description"], Value::Null);
    assert!(all["updated_at"].as_str() > created["updated_at"].as_str());
    // Every type reaches it again: a delete as well as a create.
    let contact = server.create_contact(json!({"phone": phone(7)})).await;
    server
        .delete(&format!("/v2/contact/{}", contact["id"].as_str().unwrap()))
        .await
        .expect(200);
    let expected = event_ids(&server).await;
    assert_eq!(expected.len(), 2);
    let seen = receiver.wait_for(&expected, Duration::from_secs(30)).await;
    assert!(seen.iter().all(|d| d["verified"] == true), "{seen:?}");

    assert_invalid(&server.get("/v2/webhook?limit=1").await, "limit");
    // Actions take no fields: one sent is refused, not ignored; no body at all is fine.
    let rotate = format!("{path}/rotate-secret");
    let resp = server.post(&rotate, &json!({"secret": "whsec_mine"})).await;
    assert_invalid(&resp, "secret");
    assert_eq!(server.get(&path).await.expect(200), all);
    let resp = server
        .send("POST", &rotate, &[("X-API-Key", server.key.as_str())], None)
        .await;
    assert_eq!(resp.status, 200, "{}", resp.text);
    let other = server.new_key("globex", "live").await;
    for resp in [
        server.get_as(&other, &path).await,
        server.put_as(&other, &path, &json!({})).await,
        server.delete_as(&other, &path).await,
    ] {
        assert_eq!(resp.status, 404, "{}", resp.text);
    }
    server.get(&path).await.expect(200);
    assert_eq!(
        server.get_as(&other, "/v2/webhook").await.expect(200)["data"],
        json!([])
    );
}

/// A workspace has at most 100 endpoints in each mode, also when the creates come at
/// once; the list shows them all, and a deleted one makes room.
#[tokio::test]
async fn a_workspace_has_at_most_100_endpoints() {
    let server = fast_server().await;
    let creates = (0..105).map(|n| {
        let server = &server;
        async move {
            server
                .post(
                    "/v2/webhook",
                    &json!({"url": format!("http://127.0.0.1:9/hook/{n}")}),
                )
                .await
        }
    });
    let answers = futures::future::join_all(creates).await;
    let created: Vec<&str> = answers
        .iter()
        .filter(|r| r.status == 201)
        .map(|r| r.text.as_str())
        .collect();
    assert_eq!(created.len(), 100);
    for refused in answers.iter().filter(|r| r.status != 201) {
        assert_invalid(refused, "webhooks");
        assert!(refused.text.contains("at most 100"), "{}", refused.text);
    }
    let list = server.get("/v2/webhook").await.expect(200);
    let ids: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 100);
    // The test mode is another tenant.
    server
        .post_as(
            &server.test_key,
            "/v2/webhook",
            &json!({"url": "http://127.0.0.1:9/hook"}),
        )
        .await
        .expect(201);
    server
        .delete(&format!("/v2/webhook/{}", ids[0]))
        .await
        .expect(200);
    server
        .post(
            "/v2/webhook",
            &json!({"url": "http://127.0.0.1:9/hook/again"}),
        )
        .await
        .expect(201);
}
