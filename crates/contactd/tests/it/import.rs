//! `contactd import` and `contactd export`: a CSV with bad rows lands its good rows once,
//! rejects each bad row with its reason, and re-running in upsert mode changes nothing;
//! the exit code says whether every row landed; an export imports back, restored byte for
//! byte with its ids, or with new ids.

use std::collections::HashSet;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use crate::utils::scratch_database;

/// `contactd ARGS`, asserting that it exits with `code`.
fn contactd_exits(code: i32, args: &[&str]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_contactd"))
        .args(args)
        .env("CONTACTD_LOG", "warn")
        .env_remove("CONTACTD_URL")
        .env_remove("CONTACTD_API_KEY")
        .output()
        .expect("running contactd");
    assert_eq!(
        output.status.code(),
        Some(code),
        "contactd {args:?}:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn contactd(args: &[&str]) -> Output {
    contactd_exits(0, args)
}

/// The exit code of an import that ran but rejected some rows.
const ROWS_REJECTED: i32 = 3;

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
        contactd_exits(
            ROWS_REJECTED,
            &[
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
            ],
        )
    };

    let first = String::from_utf8_lossy(&import("create").stdout).to_string();
    assert!(
        first.contains(&format!(
            "{} of {rows} rows imported, {bad} rejected ({} created, 0 updated, 0 unchanged)",
            good.len(),
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
            "{} of {rows} rows imported, {bad} rejected (0 created, 0 updated, {} unchanged)",
            good.len(),
            good.len()
        )),
        "{second}"
    );
    let after = export(database, dir.path(), "after.ndjson");
    assert_eq!(after, before, "re-running in upsert mode changes nothing");

    let third = String::from_utf8_lossy(&import("create").stdout).to_string();
    assert!(
        third.contains(&format!(
            "0 of {rows} rows imported, {rows} rejected (0 created, 0 updated, 0 unchanged)"
        )),
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
    let out = contactd_exits(
        ROWS_REJECTED,
        &[
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
        ],
    );
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(
        summary.contains("2 of 4 rows imported, 2 rejected (2 created, 0 updated, 0 unchanged)"),
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
        contactd_exits(
            ROWS_REJECTED,
            &args.iter().map(String::as_str).collect::<Vec<_>>(),
        )
    })
    .await
    .unwrap();
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(
        summary.contains(&format!(
            "{} of 1000 rows imported, 10 rejected ({} created, 0 updated, 0 unchanged)",
            good.len(),
            good.len()
        )),
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

/// `contactd import FILE --workspace WORKSPACE --database DATABASE EXTRA…`, exiting `code`.
fn import_into(code: i32, database: &str, workspace: &str, file: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "import",
        file.to_str().unwrap(),
        "--workspace",
        workspace,
        "--database",
        database,
    ];
    args.extend_from_slice(extra);
    contactd_exits(code, &args)
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn the_exit_code_and_summary_say_whether_every_row_landed() {
    let (database, _guard) = scratch_database();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("five.csv");
    let good = "+14155550101,Ada\n+14155550102,Bob\n+14155550103,Cy\n+14155550104,Di\n";
    std::fs::write(&file, format!("phone,first_name\n{good}12ab,Eve\n")).unwrap();
    let out = import_into(ROWS_REJECTED, &database, "acme", &file, &[]);
    assert!(
        stdout(&out)
            .contains("4 of 5 rows imported, 1 rejected (4 created, 0 updated, 0 unchanged)"),
        "{}",
        stdout(&out)
    );

    // Every row lands: 0; the same rows again change nothing, and say so.
    let four = dir.path().join("four.csv");
    std::fs::write(&four, format!("phone,first_name\n{good}")).unwrap();
    let out = import_into(0, &database, "acme", &four, &["--mode", "upsert"]);
    assert!(
        stdout(&out)
            .contains("4 of 4 rows imported, 0 rejected (0 created, 0 updated, 4 unchanged)"),
        "{}",
        stdout(&out)
    );
    std::fs::write(
        &four,
        format!("phone,first_name\n{}", good.replace("Bob", "Rob")),
    )
    .unwrap();
    let out = import_into(
        0,
        &database,
        "acme",
        &four,
        &["--mode", "upsert", "--output", "json"],
    );
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        summary,
        serde_json::json!({"rows": 4, "imported": 4, "created": 0, "updated": 1,
            "unchanged": 3, "rejected": 0, "rejected_file": null,
            "seconds": summary["seconds"].clone()}),
    );

    // An import that cannot run: 1.
    let out = import_into(1, &database, "acme", &dir.path().join("missing.csv"), &[]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot open"),
        "{out:?}"
    );
}

/// Seed contacts with every field a contact has: unicode names, a comma and quotes in a
/// name, nested metadata with arrays, numbers, booleans and emoji.
const SEED: &str = r#"{"phone": "+14155550101", "email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace", "preferred_channel": "whatsapp", "status": "active", "metadata": {"plan": "premium", "address": {"city": "Zürich", "geo": {"lat": 47.37, "lng": 8.54}}, "tags": ["vip", "β"], "mrr": 500, "trial": false}}
{"email": "li.wei@example.com", "first_name": "李", "last_name": "伟", "preferred_channel": "email", "status": "inactive"}
{"phone": "+447911123456", "first_name": "Zoë", "last_name": "O'Brien, \"Jr.\"", "preferred_channel": "sms", "metadata": {"emoji": "🎉", "deep": {"a": {"b": {"c": [1, {"d": "e"}]}}}}}
{"phone": "+4915112345678", "preferred_channel": "instagram"}
"#;

fn export_file(database: &str, workspace: &str, format: &str, path: &Path) -> String {
    contactd(&[
        "export",
        "--workspace",
        workspace,
        "--format",
        format,
        "--output",
        path.to_str().unwrap(),
        "--database",
        database,
    ]);
    std::fs::read_to_string(path).unwrap()
}

/// An export with what a copy with new ids cannot keep blanked: the id and the timestamps.
fn without_ids(export: &str, format: &str) -> Vec<String> {
    const NEW_IN_A_COPY: [&str; 3] = ["id", "created_at", "updated_at"];
    match format {
        "ndjson" => export
            .lines()
            .map(|line| {
                let mut contact: Value = serde_json::from_str(line).unwrap();
                for field in NEW_IN_A_COPY {
                    contact[field] = Value::Null;
                }
                contact.to_string()
            })
            .collect(),
        _ => {
            let mut reader = csv::Reader::from_reader(export.as_bytes());
            let header = reader.headers().unwrap().clone();
            let mut rows = vec![header.iter().collect::<Vec<_>>().join("|")];
            for record in reader.records() {
                let record = record.unwrap();
                let cells: Vec<&str> = header
                    .iter()
                    .zip(record.iter())
                    .map(|(h, v)| if NEW_IN_A_COPY.contains(&h) { "" } else { v })
                    .collect();
                rows.push(cells.join("|"));
            }
            rows
        }
    }
}

#[test]
fn with_new_ids_an_export_imports_back_as_new_contacts_in_both_formats() {
    let (database, _guard) = scratch_database();
    let dir = tempfile::tempdir().unwrap();
    let seed = dir.path().join("seed.ndjson");
    std::fs::write(&seed, SEED).unwrap();
    import_into(0, &database, "origin", &seed, &[]);

    for format in ["ndjson", "csv"] {
        let original = dir.path().join(format!("origin.{format}"));
        let original = export_file(&database, "origin", format, &original);
        assert!(
            original.contains("Zürich") && original.contains("李"),
            "{original}"
        );

        // An upsert cannot keep ids: refused before anything lands, never dropped silently.
        let copy = format!("copy-{format}");
        let file = dir.path().join(format!("origin.{format}"));
        let refused = import_into(1, &database, &copy, &file, &["--mode", "upsert"]);
        let err = String::from_utf8_lossy(&refused.stderr);
        assert!(err.contains("--new-ids"), "{err}");
        let empty = export_file(&database, &copy, format, &dir.path().join("empty"));
        assert!(
            without_ids(&empty, format).len() <= 1,
            "nothing landed: {empty}"
        );

        let out = import_into(0, &database, &copy, &file, &["--new-ids"]);
        assert!(
            stdout(&out).contains("4 of 4 rows imported"),
            "{}",
            stdout(&out)
        );
        let again = export_file(
            &database,
            &copy,
            format,
            &dir.path().join(format!("copy.{format}")),
        );
        assert_eq!(
            without_ids(&again, format),
            without_ids(&original, format),
            "{format}: the copy's export is the original's but for ids and timestamps"
        );
        let ids = |export: &str| -> HashSet<String> {
            export
                .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
                .filter(|word| word.starts_with("cnt_"))
                .map(str::to_owned)
                .collect()
        };
        assert_eq!(ids(&again).len(), 4, "{again}");
        assert!(
            ids(&again).is_disjoint(&ids(&original)),
            "{format}: new ids"
        );
    }
}

/// Seeds the server's workspace with every field a contact has: SEED, then a change (so
/// `updated_at` is not `created_at`) and an outbound message (so `last_contacted` is set).
async fn seed_everything(server: &crate::utils::TestServer) {
    for line in SEED.lines() {
        server
            .create_contact(serde_json::from_str(line).unwrap())
            .await;
    }
    server
        .update_contact(
            "+14155550101",
            serde_json::json!({"metadata": {"mrr": 600}}),
        )
        .await;
    let conversation = server.create_conversation("+447911123456", "sms").await;
    let id = conversation["id"].as_str().unwrap();
    server.post_message(id, "outbound", "Hi Zoë").await;
}

/// `import` and `export` arguments naming the live data of a workspace in a database.
fn in_database(database: &str, workspace: &str) -> Vec<String> {
    [
        "--workspace",
        workspace,
        "--data-mode",
        "live",
        "--database",
        database,
    ]
    .map(str::to_owned)
    .to_vec()
}

/// `import` and `export` arguments naming the workspace of `key` through a server.
fn through_server(url: &str, key: &str) -> Vec<String> {
    ["--url", url, "--api-key", key].map(str::to_owned).to_vec()
}

fn export_from(place: &[String], format: &str, path: &Path) -> String {
    let mut args = vec![
        "export",
        "--format",
        format,
        "--output",
        path.to_str().unwrap(),
    ];
    args.extend(place.iter().map(String::as_str));
    contactd(&args);
    std::fs::read_to_string(path).unwrap()
}

fn import_to(code: i32, place: &[String], file: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["import", file.to_str().unwrap()];
    args.extend(place.iter().map(String::as_str));
    args.extend_from_slice(extra);
    contactd_exits(code, &args)
}

/// Exports `origin`, then restores the export into `copy`, an empty workspace, and into
/// `partial`, which already holds the first contact: both export the original's bytes,
/// and `partial` rejects that one row.
fn restores_byte_for_byte(origin: &[String], copy: &[String], partial: &[String], format: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(format!("export.{format}"));
    let original = export_from(origin, format, &file);
    for kept in [
        "Zürich",
        "李",
        "🎉",
        "O'Brien",
        "Jr.",
        "inactive",
        "instagram",
    ] {
        assert!(
            original.contains(kept),
            "{format} export has {kept}: {original}"
        );
    }
    let lines: Vec<&str> = original.lines().collect();
    let header = usize::from(format == "csv");
    assert_eq!(lines.len(), header + 4, "{original}");
    let contacted = lines.iter().find(|l| l.contains("Zoë")).unwrap();
    let times = contacted
        .split(['"', ','])
        .filter(|cell| cell.len() == 27 && cell.starts_with("20") && cell.ends_with('Z'))
        .count();
    assert_eq!(
        times, 3,
        "created_at, updated_at, last_contacted: {contacted}"
    );

    let out = import_to(0, copy, &file, &[]);
    assert!(
        stdout(&out)
            .contains("4 of 4 rows imported, 0 rejected (4 created, 0 updated, 0 unchanged)"),
        "{}",
        stdout(&out)
    );
    let copied = export_from(copy, format, &dir.path().join(format!("copy.{format}")));
    assert_eq!(
        copied, original,
        "{format}: the restored workspace exports the same bytes"
    );

    let first = dir.path().join(format!("first.{format}"));
    std::fs::write(&first, format!("{}\n", lines[..header + 1].join("\n"))).unwrap();
    import_to(0, partial, &first, &[]);
    let rejected = dir.path().join("rejected.ndjson");
    let out = import_to(
        ROWS_REJECTED,
        partial,
        &file,
        &["--rejected", rejected.to_str().unwrap()],
    );
    assert!(
        stdout(&out)
            .contains("3 of 4 rows imported, 1 rejected (3 created, 0 updated, 0 unchanged)"),
        "{}",
        stdout(&out)
    );
    let reasons = std::fs::read_to_string(&rejected).unwrap();
    let reasons: Vec<Value> = reasons
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    let reason = &reasons[0];
    assert_eq!(reason["row"], 1, "{reason}");
    assert_eq!(reason["error"], "duplicate_contact", "{reason}");
    assert_eq!(reason["details"]["field"], "id", "{reason}");
    assert_eq!(
        reason["details"]["existing_contact_id"], reason["record"]["id"],
        "{reason}"
    );
    let partly = export_from(
        partial,
        format,
        &dir.path().join(format!("partial.{format}")),
    );
    assert_eq!(
        partly, original,
        "{format}: the held contact unchanged, the others restored"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_restores_byte_for_byte_straight_into_a_database() {
    let server = crate::utils::TestServer::start().await;
    seed_everything(&server).await;
    let database = server.database_url().to_owned();
    tokio::task::spawn_blocking(move || {
        for format in ["ndjson", "csv"] {
            restores_byte_for_byte(
                &in_database(&database, crate::utils::WORKSPACE),
                &in_database(&database, &format!("copy-{format}")),
                &in_database(&database, &format!("partial-{format}")),
                format,
            );
        }
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_restores_byte_for_byte_through_a_server() {
    let server = crate::utils::TestServer::start().await;
    seed_everything(&server).await;
    let url = server.url("");
    let mut places = Vec::new();
    for format in ["ndjson", "csv"] {
        let copy = server.new_key(&format!("copy-{format}"), "live").await;
        let partial = server.new_key(&format!("partial-{format}"), "live").await;
        places.push((
            format,
            through_server(&url, &copy),
            through_server(&url, &partial),
        ));
    }
    let origin = through_server(&url, &server.key);
    tokio::task::spawn_blocking(move || {
        for (format, copy, partial) in places {
            restores_byte_for_byte(&origin, &copy, &partial, format);
        }
    })
    .await
    .unwrap();
}

#[test]
fn identity_columns_import_as_identities_and_an_upsert_matches_on_them() {
    let (database, _guard) = scratch_database();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("contacts.csv");
    std::fs::write(
        &file,
        "phone,first_name,identity.instagram,identity.external\n\
         +14155550101,Ada,ada.l,crm-1\n\
         ,Bo,bo.b,crm-2\n\
         +14155550103,Cy,ada.l,\n\
         ,Di,,crm-bad value\n",
    )
    .unwrap();
    let rejected = dir.path().join("rejected.ndjson");
    let live = ["--rejected", rejected.to_str().unwrap()];
    let out = import_into(ROWS_REJECTED, &database, "acme", &file, &live);
    let summary = stdout(&out);
    assert!(summary.contains("2 of 4 rows imported"), "{summary}");
    let reasons = std::fs::read_to_string(&rejected).unwrap();
    assert!(reasons.contains("duplicate_contact"), "{reasons}");
    assert!(reasons.contains("identities[0].value"), "{reasons}");

    // An upsert finds the contact by an identity column alone.
    std::fs::write(&file, "last_name,identity.external\nB.,crm-2\n").unwrap();
    let mut upsert = live.to_vec();
    upsert.extend(["--mode", "upsert"]);
    import_into(0, &database, "acme", &file, &upsert);

    let ndjson = export_file(&database, "acme", "ndjson", &dir.path().join("out.ndjson"));
    let contacts: Vec<Value> = ndjson
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(contacts.len(), 2);
    let bo = contacts.iter().find(|c| c["first_name"] == "Bo").unwrap();
    assert_eq!(bo["phone"], Value::Null);
    assert_eq!(bo["last_name"], "B.");
    assert_eq!(
        bo["identities"],
        serde_json::json!([{"type": "instagram", "value": "bo.b"},
                           {"type": "external", "value": "crm-2"}])
    );

    // An export restores into another workspace with its identities.
    let csv = dir.path().join("out.csv");
    export_file(&database, "acme", "csv", &csv);
    import_into(0, &database, "copy", &csv, &[]);
    let copied = export_file(&database, "copy", "csv", &dir.path().join("copy.csv"));
    assert_eq!(copied, std::fs::read_to_string(&csv).unwrap());
}
