//! `contactd contact get|create|update|delete|list` against a running server, through the SDK.

use std::process::Command;

use serde_json::Value;

use crate::utils::TestServer;

async fn contactd(server: &TestServer, args: &[&str]) -> (bool, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_contactd"));
    command
        .args(args)
        .env("CONTACTD_URL", server.url(""))
        .env("CONTACTD_API_KEY", &server.key);
    let out = tokio::task::spawn_blocking(move || command.output().expect("running contactd"))
        .await
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_contact_commands_work_against_a_server() {
    let server = TestServer::start().await;
    let (ok, out, err) = contactd(
        &server,
        &[
            "contact",
            "create",
            "--phone",
            "07911 123456",
            "--default-country",
            "GB",
            "--first-name",
            "Ada",
            "--metadata",
            r#"{"plan": "premium"}"#,
        ],
    )
    .await;
    assert!(ok, "{err}");
    let created: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(created["phone"], "+447911123456");
    assert_eq!(created["metadata"]["plan"], "premium");

    let (ok, out, _) = contactd(&server, &["contact", "get", "+447911123456"]).await;
    assert!(ok);
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap()["id"],
        created["id"]
    );

    let (ok, out, err) = contactd(
        &server,
        &[
            "contact",
            "update",
            "+447911123456",
            "--last-name",
            "Lovelace",
            "--clear",
            "metadata",
        ],
    )
    .await;
    assert!(ok, "{err}");
    let updated: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(updated["full_name"], "Ada Lovelace");
    assert_eq!(updated["metadata"], serde_json::json!({}));

    let (ok, out, _) = contactd(
        &server,
        &["contact", "list", "--q", "ada", "--output", "table"],
    )
    .await;
    assert!(ok);
    assert!(
        out.contains("Ada Lovelace") && out.contains("+447911123456"),
        "{out}"
    );

    let (ok, _, err) = contactd(&server, &["contact", "create", "--phone", "1234567890"]).await;
    assert!(!ok);
    assert!(err.contains("E.164"), "{err}");

    let (ok, out, _) = contactd(&server, &["contact", "delete", "+447911123456"]).await;
    assert!(ok);
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap()["status"],
        "deleted"
    );
    let (ok, _, err) = contactd(&server, &["contact", "get", "+447911123456"]).await;
    assert!(!ok);
    assert!(err.contains("not found"), "{err}");
}
