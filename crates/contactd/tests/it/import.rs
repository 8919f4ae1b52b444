//! `contactd import` and `contactd export`: a CSV with bad rows lands its good rows once,
//! rejects each bad row with its reason, and re-running in upsert mode changes nothing.

use std::collections::HashSet;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use crate::utils::scratch_database;

fn contactd(args: &[&str]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_contactd"))
        .args(args)
        .env("CONTACTD_LOG", "warn")
        .output()
        .expect("running contactd");
    assert!(
        output.status.success(),
        "contactd {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Writes `rows` contacts; every 100th (from the 8th) has a bad phone. Returns the phones
/// of the good rows.
fn write_csv(path: &Path, rows: usize) -> HashSet<String> {
    let mut csv = String::from("Mobile,email,first_name,plan,metadata.source,unused\n");
    let mut good = HashSet::new();
    for i in 0..rows {
        let phone = if i % 100 == 7 {
            format!("bad-{i}")
        } else {
            let phone = format!("+1415{i:07}");
            good.insert(phone.clone());
            phone
        };
        csv.push_str(&format!(
            "{phone},user{i}@example.com,First {i},plan{},csv,x\n",
            i % 3
        ));
    }
    std::fs::write(path, csv).expect("writing the CSV");
    good
}

fn export(database: &str, dir: &Path, name: &str) -> Vec<Value> {
    let out = dir.join(name);
    contactd(&[
        "export",
        "--workspace",
        "acme",
        "--data-mode",
        "live",
        "--format",
        "ndjson",
        "--output",
        out.to_str().unwrap(),
        "--database",
        database,
    ]);
    std::fs::read_to_string(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn import_and_check(database: &str, rows: usize) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("contacts.csv");
    let good = write_csv(&file, rows);
    let bad = rows - good.len();
    let rejected = dir.path().join("rejected.ndjson");
    let import = |mode: &str| {
        contactd(&[
            "import",
            file.to_str().unwrap(),
            "--workspace",
            "acme",
            "--data-mode",
            "live",
            "--mode",
            mode,
            "--map",
            "phone=Mobile",
            "--metadata-column",
            "plan",
            "--rejected",
            rejected.to_str().unwrap(),
            "--database",
            database,
        ])
    };

    let first = String::from_utf8_lossy(&import("create").stdout).to_string();
    assert!(
        first.contains(&format!(
            "{} created, 0 updated, {bad} rejected",
            good.len()
        )),
        "{first}"
    );
    let reasons = std::fs::read_to_string(&rejected).unwrap();
    let reasons: Vec<Value> = reasons
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(reasons.len(), bad);
    for reason in &reasons {
        assert_eq!(reason["error"], "invalid_input", "{reason}");
        assert_eq!(reason["details"]["field"], "phone", "{reason}");
        let row = reason["row"].as_u64().unwrap();
        assert_eq!((row - 1) % 100, 7, "{reason}");
        assert_eq!(reason["record"]["Mobile"], format!("bad-{}", row - 1));
    }

    let before = export(database, dir.path(), "before.ndjson");
    assert_eq!(before.len(), good.len());
    let phones: HashSet<String> = before
        .iter()
        .map(|c| c["phone"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(phones, good, "every good row lands exactly once");
    let sample = before
        .iter()
        .find(|c| c["phone"] == "+14150000001")
        .unwrap();
    assert_eq!(sample["first_name"], "First 1");
    assert_eq!(sample["metadata"]["plan"], "plan1");
    assert_eq!(sample["metadata"]["source"], "csv");
    assert!(sample["metadata"].get("unused").is_none());

    let second = String::from_utf8_lossy(&import("upsert").stdout).to_string();
    assert!(
        second.contains(&format!(
            "0 created, {} updated, {bad} rejected",
            good.len()
        )),
        "{second}"
    );
    let after = export(database, dir.path(), "after.ndjson");
    assert_eq!(after, before, "re-running in upsert mode changes nothing");

    let third = String::from_utf8_lossy(&import("create").stdout).to_string();
    assert!(
        third.contains(&format!("0 created, 0 updated, {rows} rejected")),
        "{third}"
    );
    let reasons = std::fs::read_to_string(&rejected).unwrap();
    assert!(reasons.contains("duplicate_contact"));
}

#[test]
fn a_100k_row_csv_with_1_percent_bad_rows() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("import.db").display());
    import_and_check(&database, 100_000);
}

#[test]
fn import_and_export_on_the_suite_backend() {
    let (database, _guard) = scratch_database();
    import_and_check(&database, 2_000);
}

#[test]
fn ndjson_imports_with_a_default_country_and_typed_metadata() {
    let (database, _guard) = scratch_database();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("contacts.ndjson");
    std::fs::write(
        &file,
        "{\"phone\": \"07911 123456\", \"metadata\": {\"mrr\": 500, \"tags\": [\"vip\"]}}\n\
         \n\
         not json\n\
         [1, 2]\n\
         {\"email\": \"ada@example.com\", \"default_country\": \"US\", \"phone\": \"(415) 555-0123\"}\n",
    )
    .unwrap();
    let rejected = dir.path().join("rejected.ndjson");
    let out = contactd(&[
        "import",
        file.to_str().unwrap(),
        "--workspace",
        "acme",
        "--data-mode",
        "live",
        "--default-country",
        "GB",
        "--rejected",
        rejected.to_str().unwrap(),
        "--database",
        &database,
    ]);
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(
        summary.contains("2 created, 0 updated, 2 rejected"),
        "{summary}"
    );
    let contacts = export(&database, dir.path(), "out.ndjson");
    let phones: HashSet<&str> = contacts
        .iter()
        .map(|c| c["phone"].as_str().unwrap())
        .collect();
    assert_eq!(phones, HashSet::from(["+447911123456", "+14155550123"]));
    let gb = contacts
        .iter()
        .find(|c| c["phone"] == "+447911123456")
        .unwrap();
    assert_eq!(gb["metadata"]["mrr"], 500);
    assert_eq!(gb["metadata"]["tags"][0], "vip");
    let reasons = std::fs::read_to_string(&rejected).unwrap();
    assert_eq!(reasons.lines().count(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_through_a_running_server_uses_its_batch_endpoint() {
    let server = crate::utils::TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("contacts.csv");
    let good = write_csv(&file, 1_000);
    let rejected = dir.path().join("rejected.ndjson");
    let (url, key) = (server.url(""), server.key.clone());
    let args = [
        "import".to_owned(),
        file.to_str().unwrap().to_owned(),
        "--url".to_owned(),
        url,
        "--api-key".to_owned(),
        key,
        "--map".to_owned(),
        "phone=Mobile".to_owned(),
        "--mode".to_owned(),
        "upsert".to_owned(),
        "--rejected".to_owned(),
        rejected.to_str().unwrap().to_owned(),
    ];
    let out = tokio::task::spawn_blocking(move || {
        contactd(&args.iter().map(String::as_str).collect::<Vec<_>>())
    })
    .await
    .unwrap();
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(
        summary.contains(&format!("{} created, 0 updated, 10 rejected", good.len())),
        "{summary}"
    );
    let reasons = std::fs::read_to_string(&rejected).unwrap();
    assert_eq!(reasons.lines().count(), 10);
    assert!(reasons.contains("\"field\":\"phone\""), "{reasons}");
    let list = server.get("/v2/contact?limit=1").await.expect(200);
    assert_eq!(list["total"], good.len());
    assert_eq!(
        server.get_contact("+14150000001").await["first_name"],
        "First 1"
    );
}
