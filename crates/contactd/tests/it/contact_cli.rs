//! `contactd contact get|create|update|delete|list` against a running server, through the SDK,
//! and `import`/`export` through a server named by the environment.

use std::process::{Command, Output};

use serde_json::{json, Value};

use crate::utils::TestServer;

/// `contactd ARGS` with `CONTACTD_URL` and `CONTACTD_API_KEY` as given.
async fn contactd_with(url: &str, key: &str, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_contactd"));
    command
        .args(args)
        .env_remove("CONTACTD_DATABASE_URL")
        .env("CONTACTD_URL", url)
        .env("CONTACTD_API_KEY", key);
    tokio::task::spawn_blocking(move || command.output().expect("running contactd"))
        .await
        .unwrap()
}

async fn contactd(server: &TestServer, args: &[&str]) -> (bool, String, String) {
    let out = contactd_with(&server.url(""), &server.key, args).await;
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `contactd ARGS`, asserting success; the standard output as JSON.
async fn contactd_json(server: &TestServer, args: &[&str]) -> Value {
    let (ok, out, err) = contactd(server, args).await;
    assert!(ok, "contactd {args:?}: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("contactd {args:?}: {e}: {out}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contact_list_prints_an_array_whatever_the_count() {
    let server = TestServer::start().await;
    for n in 0..3 {
        let listed = contactd_json(&server, &["contact", "list"]).await;
        let listed = listed
            .as_array()
            .unwrap_or_else(|| panic!("an array: {listed}"));
        assert_eq!(listed.len(), n, "{listed:?}");
        server
            .post(
                "/v2/contact",
                &json!({"phone": format!("+1415555010{n}"), "first_name": format!("Ada{n}")}),
            )
            .await
            .expect(201);
    }
    let one = contactd_json(&server, &["contact", "list", "--q", "ada1"]).await;
    assert_eq!(one.as_array().map(Vec::len), Some(1), "{one}");
    assert_eq!(one[0]["phone"], "+14155550101");
    let got = contactd_json(&server, &["contact", "get", "+14155550101"]).await;
    assert_eq!(
        got["phone"], "+14155550101",
        "get prints the contact itself"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_errors_show_the_api_details_and_say_things_once() {
    let server = TestServer::start().await;
    let (ok, _, err) = contactd(&server, &["contact", "create", "--phone", "1234567890"]).await;
    assert!(!ok);
    assert!(err.contains("E.164"), "{err}");
    assert!(err.contains(r#"received: "1234567890""#), "{err}");
    assert!(err.contains(r#"expected: "+1234567890""#), "{err}");
    assert!(err.contains("--default-country"), "a hint: {err}");

    // Nothing listens on port 1.
    let out = contactd_with(
        "http://127.0.0.1:1",
        &server.key,
        &["contact", "get", "+14155550100"],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.matches("error sending request").count() <= 1,
        "said once: {err}"
    );
    assert!(
        err.contains("cannot connect to the server at http://127.0.0.1:1"),
        "{err}"
    );
    assert!(err.to_lowercase().contains("refused"), "the cause: {err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_and_export_find_the_server_in_the_environment() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("contacts.ndjson");
    std::fs::write(
        &file,
        "{\"phone\": \"+14155550101\", \"first_name\": \"Env\"}\n{\"email\": \"env@example.com\"}\n",
    )
    .unwrap();
    let file = file.to_str().unwrap();
    // No --url, no --api-key, no --workspace: CONTACTD_URL and CONTACTD_API_KEY say where.
    let summary = contactd_json(&server, &["import", file, "--output", "json"]).await;
    assert_eq!(summary["rows"], 2, "{summary}");
    assert_eq!(summary["created"], 2, "{summary}");
    assert_eq!(summary["rejected"], 0, "{summary}");
    let listed = server.get("/v2/contact").await.expect(200);
    assert_eq!(listed["total"], 2, "{listed}");

    let (ok, out, err) = contactd(&server, &["export", "--format", "ndjson"]).await;
    assert!(ok, "{err}");
    let exported: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(exported, listed["data"].as_array().unwrap().clone());

    // --workspace means a database; with a server URL in the environment that is ambiguous.
    let (ok, _, err) = contactd(&server, &["export", "--workspace", "acme"]).await;
    assert!(!ok);
    assert!(err.contains("CONTACTD_URL"), "{err}");
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webhook_commands_create_list_and_show_deliveries() {
    let server = TestServer::start_with(|c| c.webhook_allow_private = true).await;
    let created = contactd_json(
        &server,
        &[
            "webhook",
            "create",
            "http://127.0.0.1:9/hook",
            "--event-types",
            "contact.created,contact.deleted",
            "--description",
            "CRM sync",
        ],
    )
    .await;
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(created["secret"].as_str().unwrap().starts_with("whsec_"));
    assert_eq!(
        created["event_types"],
        json!(["contact.created", "contact.deleted"])
    );
    let listed = contactd_json(&server, &["webhook", "list"]).await;
    assert_eq!(listed[0]["id"], id.as_str());
    assert!(listed[0].get("secret").is_none());
    server
        .create_contact(json!({"phone": "+14155550101"}))
        .await;
    // Nobody listens on port 9: the delivery fails and is listed with its error.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let deliveries = contactd_json(&server, &["webhook", "deliveries", &id]).await;
        if deliveries[0]["attempted_at"].is_string() {
            assert_eq!(deliveries[0]["event_type"], "contact.created");
            assert!(deliveries[0]["error"].is_string(), "{deliveries}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no attempt: {deliveries}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let (ok, out, _) = contactd(&server, &["webhook", "list", "--output", "table"]).await;
    assert!(ok && out.contains(&id) && out.contains("contact.created,contact.deleted"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identities_merges_and_duplicates_from_the_command_line() {
    let server = TestServer::start().await;
    let a = server
        .create_contact(json!({"email": "jo.hn@gmail.com"}))
        .await;
    let b = server
        .create_contact(json!({"email": "john+x@gmail.com"}))
        .await;
    let a_id = a["id"].as_str().unwrap();
    let b_id = b["id"].as_str().unwrap();
    let added = contactd_json(
        &server,
        &["contact", "identity", a_id, "--add", "instagram:jo.hn"],
    )
    .await;
    assert_eq!(
        added["identities"],
        json!([{"type": "instagram", "value": "jo.hn"}])
    );
    let duplicates = contactd_json(&server, &["contact", "duplicates", "instagram:jo.hn"]).await;
    assert_eq!(duplicates[0]["contact"]["id"], b_id);
    let dry = contactd_json(&server, &["contact", "merge", a_id, b_id, "--dry-run"]).await;
    assert_eq!(dry["contact"]["id"], a_id);
    assert_eq!(
        server.get_contact(b_id).await["id"],
        b_id,
        "a dry run changes nothing"
    );
    let merged = contactd_json(&server, &["contact", "merge", a_id, b_id]).await;
    let merge_id = merged["merge"]["id"].as_str().unwrap();
    let history = contactd_json(&server, &["contact", "merges", b_id]).await;
    assert_eq!(history[0]["id"], merge_id);
    let undone = contactd_json(&server, &["contact", "unmerge", merge_id]).await;
    assert_eq!(undone["source"]["id"], b_id);
    let removed = contactd_json(
        &server,
        &["contact", "identity", a_id, "--remove", "instagram:jo.hn"],
    )
    .await;
    assert_eq!(removed["identities"], json!([]));
}
