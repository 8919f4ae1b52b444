//! The database restarted under load (`pg_ctlcluster … restart -m immediate`, a crash and
//! recovery): every write acknowledged before, during or after is there, and contactd
//! carries on without a restart of its own.
//!
//! Restarting the shared cluster would disturb the other tests of this binary, so this
//! one is `#[ignore]`d and `.ci/run` runs it alone:
//! `cargo test -p contactd --test postgres -- --ignored --test-threads=1`.

use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;

use crate::support::{create_key, ScratchDb, Server};

fn restart_cluster() {
    let version = std::fs::read_dir("/etc/postgresql")
        .expect("a Debian PostgreSQL cluster under /etc/postgresql")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .max()
        .expect("a PostgreSQL version");
    let status = Command::new("pg_ctlcluster")
        .args([
            "--skip-systemctl-redirect",
            &version,
            "main",
            "restart",
            "-m",
            "immediate",
        ])
        .status()
        .expect("running pg_ctlcluster");
    assert!(status.success(), "pg_ctlcluster restart failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "restarts the shared PostgreSQL cluster; .ci/run runs it alone"]
async fn writes_acknowledged_around_a_database_crash_are_all_there() {
    let db = ScratchDb::create().await;
    let key = create_key(&db.url(), "acme").await;
    let mut server = Server::start("a", &db.url(), &["--db-acquire-timeout-ms", "1000"]).await;
    let api = Arc::new(server.api(&key));
    let acked = Arc::new(Mutex::new(Vec::new()));
    let failed = Arc::new(Mutex::new(0_u64));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = (0..8_u64)
        .map(|w| {
            let (api, acked, failed, stop) = (api.clone(), acked.clone(), failed.clone(), stop.clone());
            tokio::spawn(async move {
                let mut n = 0_u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let phone = format!("+1{:03}{:07}", 300 + w, n);
                    n += 1;
                    match api.try_send(reqwest::Method::POST, "/v2/contact", Some(&json!({"phone": phone}))).await {
                        Ok(reply) if reply.status == 201 => {
                            acked.lock().unwrap().push(reply.body["id"].as_str().unwrap().to_owned());
                        }
                        Ok(reply) => {
                            assert!(
                                reply.status == 503 || reply.status == 409,
                                "during a restart only 503 (or a 409 for a write that landed before its answer was lost) is expected, got {}: {}",
                                reply.status,
                                reply.text
                            );
                            *failed.lock().unwrap() += 1;
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                        Err(_) => *failed.lock().unwrap() += 1,
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(800)).await;
    tokio::task::spawn_blocking(restart_cluster).await.unwrap();
    // Keep writing until the database answers again, then a little longer.
    let mut ready = false;
    for _ in 0..150 {
        if api.probe("/readyz").await.status == 200 {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "contactd recovers when the database is back");
    tokio::time::sleep(Duration::from_millis(800)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for writer in writers {
        writer.await.unwrap();
    }
    assert!(server.exit_status().is_none(), "contactd kept running");
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() > 50,
        "the load ran: {} creates acknowledged",
        acked.len()
    );
    for id in &acked {
        let reply = api.get(&format!("/v2/contact/{id}")).await;
        assert_eq!(
            reply.status, 200,
            "acknowledged {id} survives the database crash"
        );
    }
    eprintln!(
        "database restart: {} creates acknowledged and found, {} refused or cut during the restart",
        acked.len(),
        failed.lock().unwrap()
    );
}
