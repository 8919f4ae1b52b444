//! `contactd backup` while the server writes, and `contactd restore`: every write
//! acknowledged before the backup started is in the copy, which passes its integrity check.

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde_json::json;

use crate::utils::{phone, TestServer};

fn contactd(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_contactd"))
        .args(args)
        .output()
        .expect("running contactd")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_taken_while_serving_restores_every_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    let live = format!("sqlite://{}", dir.path().join("live.db").display());
    let server = Arc::new(TestServer::start_with(|c| c.database.url = live.clone()).await);

    let mut before = Vec::new();
    for n in 0..50 {
        before.push(server.create_contact(json!({"phone": phone(n)})).await["id"].clone());
    }
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (server, stop) = (server.clone(), stop.clone());
        tokio::spawn(async move {
            let mut n = 1000;
            while !stop.load(Ordering::Relaxed) {
                assert_eq!(
                    server
                        .post("/v2/contact", &json!({"phone": phone(n)}))
                        .await
                        .status,
                    201
                );
                n += 1;
            }
            n - 1000
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let backup_file = dir.path().join("backup.db");
    let backup_path = backup_file.to_str().unwrap().to_owned();
    let live_url = live.clone();
    let out = tokio::task::spawn_blocking(move || {
        contactd(&["backup", &backup_path, "--database", &live_url])
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stop.store(true, Ordering::Relaxed);
    let during = writer.await.unwrap();
    assert!(during > 0, "writes went on while the backup ran");

    let again = contactd(&["backup", backup_file.to_str().unwrap(), "--database", &live]);
    assert!(
        !again.status.success(),
        "an existing backup file is never overwritten"
    );

    let restored = format!("sqlite://{}", dir.path().join("restored.db").display());
    let out = contactd(&[
        "restore",
        backup_file.to_str().unwrap(),
        "--database",
        &restored,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = contactd(&[
        "restore",
        backup_file.to_str().unwrap(),
        "--database",
        &restored,
    ]);
    assert!(
        !out.status.success(),
        "restore does not replace a database without --force"
    );
    let out = contactd(&[
        "restore",
        backup_file.to_str().unwrap(),
        "--force",
        "--database",
        &restored,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let copy = TestServer::start_on(&restored).await;
    for id in &before {
        let path = format!("/v2/contact/{}", id.as_str().unwrap());
        assert_eq!(
            copy.get_as(&copy.key, &path).await.status,
            200,
            "{id} is in the backup"
        );
    }
    let conn = rusqlite::Connection::open(dir.path().join("restored.db")).unwrap();
    let verdict: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(verdict, "ok");
}

#[test]
fn backup_of_postgres_points_to_pg_dump() {
    let out = contactd(&[
        "backup",
        "/tmp/never.db",
        "--database",
        "postgres://localhost/x",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("pg_dump"));
}
