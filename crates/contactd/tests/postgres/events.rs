//! The change feed and webhook deliveries with several replicas on one PostgreSQL, and a
//! server killed mid-delivery (contract §7).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::support::{create_key, Api, ScratchDb, Server};

const POOL: &[&str] = &["--pool-size", "12", "--db-acquire-timeout-ms", "5000"];

/// Every `(sequence, id)` of the database's events, in order.
async fn stored_events(db: &ScratchDb) -> Vec<(i64, String)> {
    let (client, connection) = tokio_postgres::connect(&db.url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
        .query("SELECT sequence, id FROM events ORDER BY sequence", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_feed_reader_sees_every_committed_event_once_in_order_while_32_writers_commit() {
    let db = ScratchDb::create().await;
    let key = create_key(&db.url(), "acme").await;
    let a = Server::start("A", &db.url(), POOL).await;
    let b = Server::start("B", &db.url(), POOL).await;
    let (api_a, api_b) = (a.api(&key), b.api(&key));
    let writing = Arc::new(AtomicBool::new(true));

    let reader = {
        let (api_a, api_b, writing) = (api_a.clone(), api_b.clone(), writing.clone());
        tokio::spawn(async move {
            let mut seen: Vec<(i64, String)> = Vec::new();
            let mut cursor = String::new();
            let mut round = 0u64;
            loop {
                let done = !writing.load(Ordering::SeqCst);
                // Alternate replicas: the cursor is the database's, not a server's.
                let api = if round % 2 == 0 { &api_a } else { &api_b };
                round += 1;
                let path = format!("/v2/events?limit=50&wait=1&after={cursor}");
                let page = api.get(&path).await;
                assert_eq!(page.status, StatusCode::OK, "{}", page.text);
                for e in page.body["data"].as_array().unwrap() {
                    seen.push((
                        e["sequence"].as_i64().unwrap(),
                        e["id"].as_str().unwrap().into(),
                    ));
                }
                cursor = page.body["next_cursor"].as_str().unwrap().to_owned();
                let empty = page.body["data"].as_array().unwrap().is_empty();
                if done && empty {
                    return seen;
                }
            }
        })
    };

    let writers = (0..32).map(|w| {
        let api = if w % 2 == 0 {
            api_a.clone()
        } else {
            api_b.clone()
        };
        async move {
            for i in 0..25 {
                let phone = format!("+1555{w:03}{i:04}");
                let created = api.post("/v2/contact", &json!({"phone": phone})).await;
                assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
                let id = created.body["id"].as_str().unwrap().to_owned();
                let updated = api
                    .put(&format!("/v2/contact/{id}"), &json!({"metadata": {"n": i}}))
                    .await;
                assert_eq!(updated.status, StatusCode::OK, "{}", updated.text);
            }
        }
    });
    join_all(writers).await;
    writing.store(false, Ordering::SeqCst);
    let seen = reader.await.unwrap();

    let stored = stored_events(&db).await;
    assert_eq!(stored.len(), 32 * 25 * 2);
    let sequences: Vec<i64> = stored.iter().map(|(s, _)| *s).collect();
    assert_eq!(
        sequences,
        (1..=stored.len() as i64).collect::<Vec<_>>(),
        "no gaps"
    );
    assert_eq!(seen.len(), stored.len(), "every event exactly once");
    assert_eq!(seen, stored, "in sequence order, as committed");
    drop((a, b));
}

/// A receiver process verifying with the Standard Webhooks library (see
/// `tests/support/receiver.py`).
struct Receiver {
    url: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
    _child: tokio::process::Child,
}

impl Receiver {
    async fn start(fail_every: u32) -> Receiver {
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
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .await
            .unwrap();
        let port: u16 = line.trim().parse().unwrap_or_else(|_| {
            panic!("the receiver printed no port ({line:?}); is standardwebhooks installed?")
        });
        Receiver {
            url: format!("http://127.0.0.1:{port}/hook"),
            log,
            _dir: dir,
            _child: child,
        }
    }

    async fn set_secret(&self, secret: &str) {
        let url = self.url.replace("/hook", "/_secret");
        let resp = reqwest::Client::new()
            .post(url)
            .body(secret.to_owned())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 204);
    }

    fn deliveries(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Successful deliveries per event id; every request must have verified.
    fn succeeded(&self) -> HashMap<String, usize> {
        let mut counts = HashMap::new();
        for d in self.deliveries() {
            assert_eq!(d["verified"], true, "a delivery failed verification: {d}");
            if d["answered"] == 200 {
                *counts
                    .entry(d["webhook_id"].as_str().unwrap().to_owned())
                    .or_insert(0) += 1;
            }
        }
        counts
    }
}

async fn subscribe(api: &Api, receiver: &Receiver) {
    let created = api.post("/v2/webhook", &json!({"url": receiver.url})).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    receiver
        .set_secret(created.body["secret"].as_str().unwrap())
        .await;
}

const FAST: &[&str] = &[
    "--webhook-allow-private",
    "--webhook-retry-scale",
    "0.0002",
    "--pool-size",
    "12",
];

/// Minutes of work: run alone, with the other crash tests (`.ci/run`: `--ignored`).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "a crash test of minutes; .ci/run runs it with the other ignored tests"]
async fn every_event_reaches_both_endpoints_after_a_kill_during_10000_deliveries() {
    let db = ScratchDb::create().await;
    let key = create_key(&db.url(), "acme").await;
    let healthy = Receiver::start(0).await;
    let flaky = Receiver::start(2).await;
    let mut server = Server::start("A", &db.url(), FAST).await;
    let api = server.api(&key);
    subscribe(&api, &healthy).await;
    subscribe(&api, &flaky).await;

    for batch in 0..10 {
        let contacts: Vec<Value> = (0..1000)
            .map(|i| json!({"phone": format!("+1556{batch:03}{i:04}")}))
            .collect();
        let reply = api
            .post("/v2/contact/batch", &json!({"contacts": contacts}))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    }
    let events: HashSet<String> = stored_events(&db)
        .await
        .into_iter()
        .map(|(_, id)| id)
        .collect();
    assert_eq!(events.len(), 10_000);

    // Kill (SIGKILL) once deliveries are well under way.
    let started = Instant::now();
    while healthy.succeeded().len() < 1500 {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "deliveries did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(server);
    let delivered_before_kill = (healthy.succeeded().len(), flaky.succeeded().len());
    server = Server::start("A again", &db.url(), FAST).await;

    let deadline = Instant::now() + Duration::from_secs(400);
    let mut report = Instant::now();
    loop {
        let (h, f) = (healthy.succeeded(), flaky.succeeded());
        if report.elapsed() > Duration::from_secs(10) {
            eprintln!(
                "{:?}: delivered {} and {}; requests {} and {}",
                started.elapsed(),
                h.len(),
                f.len(),
                healthy.deliveries().len(),
                flaky.deliveries().len()
            );
            report = Instant::now();
        }
        let missing = |seen: &HashMap<String, usize>| {
            events.iter().filter(|e| !seen.contains_key(*e)).count()
        };
        if missing(&h) == 0 && missing(&f) == 0 {
            let duplicates =
                |seen: &HashMap<String, usize>| seen.values().map(|n| n - 1).sum::<usize>();
            eprintln!(
                "delivered before the kill: {delivered_before_kill:?}; duplicates after restart: \
                 healthy endpoint {}, flaky endpoint {} (of 10,000 each); took {:?}",
                duplicates(&h),
                duplicates(&f),
                started.elapsed()
            );
            // Duplicates come only from leases cut by the kill: at most one batch per endpoint.
            assert!(duplicates(&h) <= 64 && duplicates(&f) <= 64);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "missing after restart: healthy {}, flaky {}",
            missing(&h),
            missing(&f)
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_share_the_deliveries_and_send_each_event_once() {
    let db = ScratchDb::create().await;
    let key = create_key(&db.url(), "acme").await;
    let receiver = Receiver::start(0).await;
    let a = Server::start("A", &db.url(), FAST).await;
    let b = Server::start("B", &db.url(), FAST).await;
    subscribe(&a.api(&key), &receiver).await;
    for (batch, api) in [a.api(&key), b.api(&key)].iter().enumerate() {
        let contacts: Vec<Value> = (0..500)
            .map(|i| json!({"phone": format!("+1557{batch:03}{i:04}")}))
            .collect();
        let reply = api
            .post("/v2/contact/batch", &json!({"contacts": contacts}))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    }
    let events: HashSet<String> = stored_events(&db)
        .await
        .into_iter()
        .map(|(_, id)| id)
        .collect();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let seen = receiver.succeeded();
        if events.iter().all(|e| seen.contains_key(e)) {
            let duplicates: usize = seen.values().map(|n| n - 1).sum();
            assert_eq!(
                duplicates, 0,
                "with no failure, each event is delivered once"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {} delivered",
            seen.len(),
            events.len()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    drop((a, b));
}
