//! The README's examples run verbatim, in order (issue 14, item 6): the shell block of
//! "The API at a glance", and the command line's blocks (keys, import and export, the
//! client commands), are run by bash against a fresh server, with only keys, ids and the
//! address put in where the README shows a placeholder, and every command must succeed.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::json;

use crate::utils::TestServer;

/// Stops a script at its first failing command, also inside a pipe.
const STRICT: &str = "set -euo pipefail\n";

/// `text` with `placeholder`, which it must hold, replaced by `value`.
#[track_caller]
fn put_in(text: &str, placeholder: &str, value: &str) -> String {
    assert!(
        text.contains(placeholder),
        "the README's example lost its placeholder {placeholder}:\n{text}"
    );
    text.replace(placeholder, value)
}

async fn run(mut command: Command) -> Output {
    tokio::task::spawn_blocking(move || command.output().expect("running bash"))
        .await
        .unwrap()
}

/// Asserts that the script succeeded; its standard output.
#[track_caller]
fn succeeded(output: Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the README's examples failed ({}):\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status
    );
    stdout
}

/// The first ```sh block after the heading `heading` in README.md.
fn shell_block(heading: &str) -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md");
    let readme = std::fs::read_to_string(path).expect("README.md");
    let section = readme
        .split_once(heading)
        .unwrap_or_else(|| panic!("README has no {heading:?}"))
        .1;
    let block = section
        .split_once("```sh\n")
        .expect("a sh block after the heading")
        .1;
    block
        .split_once("```")
        .expect("the block's end")
        .0
        .to_owned()
}

#[tokio::test]
async fn the_api_at_a_glance_runs_verbatim() {
    let server = TestServer::start().await;
    let block = shell_block("## The API at a glance");
    assert!(block.contains("KEY=sk_test_…"), "the key line:\n{block}");
    let script = block
        .replace("KEY=sk_test_…", &format!("KEY={}", server.key))
        .replace("localhost:8080", &server.addr.to_string());
    let prelude = "curl() { command curl --silent --show-error --fail-with-body \"$@\"; echo; }\n";
    let mut command = Command::new("bash");
    command.arg("-c").arg(format!("{STRICT}{prelude}{script}"));
    let stdout = succeeded(run(command).await);
    // Every search, count and list found what the examples before it made.
    assert!(
        !stdout.contains("\"total\":0"),
        "an example found nothing:\n{stdout}"
    );
    assert!(
        stdout.contains("\"text\":\"Hi John\""),
        "the message was sent:\n{stdout}"
    );
    assert!(
        stdout.contains("\"status\":\"deleted\""),
        "the contact was deleted at the end:\n{stdout}"
    );
}

/// The files the import examples read are the reader's own; these stand in for them. The
/// CSV has the column names the example maps (`Mobile number`, `plan`).
const CONTACTS_CSV: &str = "Mobile number,first_name,last_name,plan\n\
                            07911 123457,Grace,Hopper,premium\n\
                            07400 123456,Alan,Turing,basic\n";
const CONTACTS_NDJSON: &str = "{\"phone\": \"+14155550101\", \"first_name\": \"Ada\", \
                               \"last_name\": \"Byron\", \"metadata\": {\"plan\": \"premium\"}}\n\
                               {\"email\": \"alan@example.com\", \"first_name\": \"Alan\"}\n";

#[tokio::test]
async fn the_command_line_examples_run_verbatim_in_order() {
    let server = TestServer::start().await;
    // What the README's placeholders stand for: a key to revoke, a segment of acme's live
    // data for the database export, the test key the client examples use.
    let to_revoke = server.new_key("acme", "live").await;
    let prefix = &to_revoke[.."sk_live_".len() + 8];
    let segment = server
        .post(
            "/v2/segment",
            &json!({"name": "Premium", "filter": {"metadata.plan": "premium"}}),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let keys = put_in(&shell_block("### API keys"), "sk_live_AbCd1234", prefix);
    let transfer = put_in(&shell_block("### Import and export"), "seg_…", &segment);
    let client = shell_block("### From the command line, against a running server");
    let client = put_in(&client, "sk_test_…", &server.test_key);
    let client = put_in(&client, "127.0.0.1:8080", &server.addr.to_string());

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("contacts.csv"), CONTACTS_CSV).unwrap();
    std::fs::write(dir.path().join("contacts.ndjson"), CONTACTS_NDJSON).unwrap();
    let binary = Path::new(env!("CARGO_BIN_EXE_contactd"));
    let path = format!(
        "{}:{}",
        binary.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut command = Command::new("bash");
    command
        .arg("-c")
        .arg(format!("{STRICT}{keys}{transfer}{client}"))
        .current_dir(dir.path())
        .env("PATH", path)
        // `--database` as `serve` has it, here the server's scratch database.
        .env("CONTACTD_DATABASE_URL", server.database_url())
        .env("CONTACTD_LOG", "warn")
        .env_remove("CONTACTD_URL")
        .env_remove("CONTACTD_API_KEY");
    let stdout = succeeded(run(command).await);

    let listed = server.get("/v2/contact?q=grace").await.expect(200);
    assert_eq!(
        listed["data"][0]["phone"], "+447911123457",
        "the CSV landed in acme's live data with the mapped column and country"
    );
    assert_eq!(listed["data"][0]["metadata"]["plan"], "premium", "{listed}");
    let premium = std::fs::read_to_string(dir.path().join("premium.ndjson")).unwrap();
    assert!(
        premium.contains("+447911123457") && !premium.contains("+447400123456"),
        "the segment's contacts were exported:\n{premium}"
    );
    let premium = std::fs::read_to_string(dir.path().join("premium.csv")).unwrap();
    assert!(
        premium.contains("Lovelace") && premium.contains("+14155550101"),
        "the client's segment export:\n{premium}"
    );
    assert!(
        stdout.contains("Ada Lovelace"),
        "the table lists the updated contact:\n{stdout}"
    );
    assert!(
        stdout.contains("\"unchanged\":2"),
        "the upsert through the server changed nothing:\n{stdout}"
    );
    let gone = server
        .get_as(&server.test_key, "/v2/contact/%2B447911123456")
        .await;
    assert_eq!(gone.status, 404, "the last example deleted the contact");
    let revoked = server.get_as(&to_revoke, "/v2/contact").await;
    assert_eq!(revoked.status, 401, "the revoked key is refused");
}
