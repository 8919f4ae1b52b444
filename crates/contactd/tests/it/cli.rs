//! An operator runs the real `contactd` binary: `serve`, `keys create|list|revoke`
//! (contract §1), and the client commands with `--output json|table`.

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::utils::TestServer;

/// A `contactd` command with none of the caller's contactd settings leaking in.
fn contactd() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_contactd"));
    command
        .env_remove("CONTACTD_LISTEN")
        .env_remove("CONTACTD_DATABASE_URL")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null());
    command
}

/// A scratch directory and the URL of a database file in it.
fn scratch_sqlite() -> (tempfile::TempDir, String) {
    let dir = tempfile::Builder::new()
        .prefix("contactd-cli-")
        .tempdir()
        .expect("a temporary directory");
    let url = format!("sqlite://{}", dir.path().join("x.db").display());
    (dir, url)
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding a free port");
    listener.local_addr().expect("a local address").port()
}

fn run(command: &mut Command) -> Output {
    let output = command.output().expect("running contactd");
    assert!(
        output.status.success(),
        "{command:?} failed with {}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// `contactd keys create --workspace W [--mode M]`: the key on the last stdout line.
fn create_key(database: &str, workspace: &str, mode: Option<&str>) -> String {
    let mut command = contactd();
    command.args([
        "keys",
        "create",
        "--database",
        database,
        "--workspace",
        workspace,
    ]);
    if let Some(mode) = mode {
        command.args(["--mode", mode]);
    }
    let output = run(&mut command);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout
        .lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .unwrap_or_else(|| panic!("keys create printed nothing on stdout"));
    let key = last.trim().to_string();
    assert!(
        !key.contains(char::is_whitespace),
        "the last line is the key alone: {last:?}"
    );
    key
}

fn list_keys(database: &str) -> String {
    let output = run(contactd().args(["keys", "list", "--database", database]));
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The key prefix that `keys list` shows for `key`: a token that starts the key, is longer
/// than the mode prefix and shorter than the key.
fn listed_prefix(listing: &str, key: &str) -> String {
    for token in listing.split(|c: char| c.is_whitespace() || c == '|' || c == ',') {
        let token = token
            .trim_end_matches('…')
            .trim_end_matches("...")
            .trim_matches(|c| c == '"' || c == '\'' || c == '`');
        if token.len() > "sk_live_".len() && token.len() < key.len() && key.starts_with(token) {
            return token.to_string();
        }
    }
    panic!("keys list shows a prefix of {key}:\n{listing}");
}

/// Every `sk_test_…`/`sk_live_…` token in `text`.
fn printed_keys(text: &str) -> Vec<String> {
    let mut keys = Vec::new();
    for marker in ["sk_test_", "sk_live_"] {
        let mut rest = text;
        while let Some(at) = rest.find(marker) {
            let token: String = rest[at..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            rest = &rest[at + marker.len()..];
            keys.push(token);
        }
    }
    keys
}

/// A running `contactd serve`, killed when dropped (also when a test fails).
struct Serve {
    child: Child,
    output: Arc<Mutex<String>>,
    port: u16,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn capture(stream: impl Read + Send + 'static, output: Arc<Mutex<String>>) {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            let mut output = output.lock().unwrap();
            output.push_str(&line);
            output.push('\n');
        }
    });
}

impl Serve {
    /// `contactd serve --listen 127.0.0.1:PORT [--database URL]` in `dir`, once it answers
    /// `/healthz`.
    async fn start(database: Option<&str>, dir: &Path) -> Serve {
        let port = free_port();
        let mut command = contactd();
        command.args(["serve", "--listen", &format!("127.0.0.1:{port}")]);
        if let Some(database) = database {
            command.args(["--database", database]);
        }
        command.current_dir(dir);
        Self::spawn(command, port).await
    }

    async fn spawn(mut command: Command, port: u16) -> Serve {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawning contactd serve");
        let output = Arc::new(Mutex::new(String::new()));
        capture(child.stdout.take().unwrap(), output.clone());
        capture(child.stderr.take().unwrap(), output.clone());
        let serve = Serve {
            child,
            output,
            port,
        };
        serve.wait_ready().await;
        serve
    }

    async fn wait_ready(&self) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(resp) = client.get(self.url("/healthz")).send().await {
                if resp.status().as_u16() == 200 {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "contactd serve did not answer /healthz within 60 s; output:\n{}",
                self.output()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    /// Waits a little for `needle` to show up in the output.
    async fn wait_for_output(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let output = self.output();
            if output.contains(needle) || Instant::now() > deadline {
                return output;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Sends `signal` (`TERM`, `INT`, `KILL`) and waits for the exit status.
    fn signal_and_wait(&mut self, signal: &str) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .args([format!("-{signal}"), self.child.id().to_string()])
            .status()
            .expect("running kill");
        assert!(status.success(), "kill -{signal}");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().expect("waiting for contactd") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "contactd did not stop within 30 s of SIG{signal}; output:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM, then asserts a clean exit.
    fn stop(&mut self) {
        let status = self.signal_and_wait("TERM");
        assert!(
            status.success(),
            "contactd exits with success on SIGTERM, got {status}; output:\n{}",
            self.output()
        );
    }
}

async fn http(method: &str, url: &str, key: &str, body: Option<Value>) -> (u16, Value) {
    let client = reqwest::Client::new();
    let mut request = client
        .request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), url)
        .header("X-API-Key", key);
    if let Some(body) = body {
        request = request
            .header("Content-Type", "application/json")
            .body(body.to_string());
    }
    let response = request.send().await.expect("an HTTP response");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// 404 for a missing contact means the key was accepted; 401 that it was not.
async fn key_status(serve: &Serve, key: &str) -> u16 {
    http(
        "GET",
        &serve.url("/v2/contact/cnt_doesnotexist0000"),
        key,
        None,
    )
    .await
    .0
}

#[tokio::test]
async fn keys_create_prints_the_key_alone_on_the_last_line() {
    let (_dir, database) = scratch_sqlite();
    let default_mode = create_key(&database, "acme", None);
    assert!(
        default_mode.starts_with("sk_test_"),
        "default mode is test: {default_mode}"
    );
    let test = create_key(&database, "acme", Some("test"));
    assert!(test.starts_with("sk_test_"), "{test}");
    let live = create_key(&database, "acme", Some("live"));
    assert!(live.starts_with("sk_live_"), "{live}");
    let other = create_key(&database, "globex", Some("live"));
    assert!(other.starts_with("sk_live_"), "{other}");
    let mut all = vec![&default_mode, &test, &live, &other];
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 4, "every key is new");
}

#[tokio::test]
async fn keys_list_shows_prefixes_and_workspaces_never_secrets() {
    let (_dir, database) = scratch_sqlite();
    let acme = create_key(&database, "acme", Some("live"));
    let globex = create_key(&database, "globex", None);
    let listing = list_keys(&database);
    for (key, workspace) in [(&acme, "acme"), (&globex, "globex")] {
        assert!(
            !listing.contains(key.as_str()),
            "keys list never shows a secret:\n{listing}"
        );
        let prefix = listed_prefix(&listing, key);
        let line = listing.lines().find(|line| line.contains(&prefix)).unwrap();
        assert!(
            line.contains(workspace),
            "the prefix's line names its workspace: {line}"
        );
    }
}

#[tokio::test]
async fn keys_list_lines_up_its_columns() {
    let (_dir, database) = scratch_sqlite();
    create_key(&database, "a", Some("live"));
    create_key(
        &database,
        "a-workspace-name-longer-than-twenty-characters",
        None,
    );
    let output = run(contactd().args(["keys", "list", "--database", &database]));
    let listing = String::from_utf8_lossy(&output.stdout);
    let mut lines = listing.lines();
    let header = lines.next().unwrap();
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 2, "{listing}");
    for (column, values) in [
        ("workspace", &["a", "a-workspace"][..]),
        ("mode", &["live", "test"][..]),
        ("created", &["20"][..]),
        ("status", &["active"][..]),
    ] {
        let at = header
            .find(column)
            .unwrap_or_else(|| panic!("{column}: {listing}"));
        for row in &rows {
            let cell = row.get(at..).unwrap_or("");
            assert!(
                values.iter().any(|v| cell.starts_with(v)) && row[..at].ends_with(' '),
                "column {column} starts at {at} in every line:\n{listing}"
            );
        }
    }
}

#[test]
fn help_groups_the_client_flags_and_shows_no_empty_environment_values() {
    for command in ["contact", "segment", "import", "export"] {
        let output = run(contactd()
            .args([command, "--help"])
            .env_remove("CONTACTD_URL")
            .env_remove("CONTACTD_API_KEY"));
        let help = String::from_utf8_lossy(&output.stdout);
        let heading = help
            .find("Client options:")
            .unwrap_or_else(|| panic!("{command}: a heading for the client flags:\n{help}"));
        // export's --output names its file: the export is the data.
        let flags: &[&str] = match command {
            "export" => &["--url", "--api-key"],
            _ => &["--url", "--api-key", "--output"],
        };
        for flag in flags {
            let at = help
                .find(&format!("{flag} <"))
                .unwrap_or_else(|| panic!("{command}: {flag}:\n{help}"));
            assert!(at > heading, "{command}: {flag} under the heading:\n{help}");
        }
        assert!(help.contains("[env: CONTACTD_URL]"), "{command}:\n{help}");
        assert!(
            !help.contains("=]"),
            "{command}: an empty env value:\n{help}"
        );
    }
    let output = run(contactd()
        .args(["contact", "--help"])
        .env("CONTACTD_URL", "http://contacts.internal:8080"));
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(
        help.contains("[env: CONTACTD_URL=http://contacts.internal:8080]"),
        "a set value is shown:\n{help}"
    );
    let output = run(contactd().arg("--help"));
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(help.contains("Exit codes"), "{help}");
}

#[test]
fn help_shows_each_commands_output_default() {
    for (command, default) in [
        (&["contact", "get"][..], "json"),
        (&["contact", "list"][..], "json"),
        (&["segment", "list"][..], "json"),
        (&["import"][..], "table"),
        (&["keys", "list"][..], "table"),
    ] {
        let output = run(contactd().args(command).arg("--help"));
        let help = String::from_utf8_lossy(&output.stdout);
        let after = help
            .split_once("--output <OUTPUT>")
            .unwrap_or_else(|| panic!("{command:?} takes --output:\n{help}"))
            .1;
        let next_flag = after.find("\n      --").unwrap_or(after.len());
        assert!(
            after[..next_flag].contains(&format!("[default: {default}]")),
            "{command:?}: --output defaults to {default}:\n{help}"
        );
    }
}

#[test]
fn completions_for_bash_zsh_and_fish() {
    for (shell, marker) in [
        ("bash", "_contactd()"),
        ("zsh", "#compdef contactd"),
        ("fish", "complete -c contactd"),
    ] {
        let output = run(contactd().args(["completions", shell]));
        let script = String::from_utf8_lossy(&output.stdout);
        assert!(script.contains(marker), "{shell}:\n{script}");
        assert!(script.contains("import"), "{shell} knows the commands");
    }
    let output = contactd().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(2),
        "an unknown shell is a usage error"
    );
}

#[tokio::test]
async fn created_keys_work_and_a_revoked_key_gets_401_on_the_next_request() {
    let (dir, database) = scratch_sqlite();
    let live = create_key(&database, "acme", Some("live"));
    let test = create_key(&database, "acme", Some("test"));
    let mut serve = Serve::start(Some(&database), dir.path()).await;

    let output = serve.output();
    for printed in printed_keys(&output) {
        assert!(
            printed.len() < live.len().min(test.len()),
            "a database with keys gets no new key printed, found {printed}:\n{output}"
        );
    }

    assert_eq!(key_status(&serve, &live).await, 404, "the live key works");
    assert_eq!(key_status(&serve, &test).await, 404, "the test key works");
    let (status, created) = http(
        "POST",
        &serve.url("/v2/contact"),
        &live,
        Some(json!({"phone": "+14155550100"})),
    )
    .await;
    assert_eq!(status, 201, "{created}");

    let prefix = listed_prefix(&list_keys(&database), &live);
    run(contactd().args(["keys", "revoke", &prefix, "--database", &database]));

    let (status, body) = http("GET", &serve.url("/v2/contact/%2B14155550100"), &live, None).await;
    assert_eq!(
        status, 401,
        "a revoked key is refused on the next request: {body}"
    );
    assert_eq!(body["error"], "unauthorized");
    assert_eq!(
        key_status(&serve, &test).await,
        404,
        "other keys still work"
    );
    serve.stop();
}

#[tokio::test]
async fn the_first_start_prints_a_test_key_and_a_curl_line_once() {
    let (dir, database) = scratch_sqlite();
    let mut serve = Serve::start(Some(&database), dir.path()).await;
    let output = serve.wait_for_output("curl").await;
    let keys = printed_keys(&output);
    let key = keys
        .iter()
        .max_by_key(|k| k.len())
        .unwrap_or_else(|| panic!("the first start prints a key:\n{output}"))
        .clone();
    assert!(
        key.starts_with("sk_test_"),
        "the first key is a test key: {key}"
    );
    assert!(
        key.len() >= "sk_test_".len() + 16,
        "a whole key is printed: {key}"
    );
    let curl = output
        .lines()
        .find(|line| line.contains("curl") && line.contains("X-API-Key"))
        .unwrap_or_else(|| panic!("a line with curl and X-API-Key:\n{output}"));
    assert!(
        curl.contains(&key),
        "the curl line is ready to paste (has the key): {curl}"
    );
    assert!(
        curl.contains(&serve.port.to_string()),
        "the curl line is ready to paste (has the address): {curl}"
    );
    assert_eq!(key_status(&serve, &key).await, 404, "the printed key works");
    let listing = list_keys(&database);
    let prefix = listed_prefix(&listing, &key);
    let line = listing.lines().find(|l| l.contains(&prefix)).unwrap();
    assert!(
        line.contains("default"),
        "the first key is for workspace default: {line}"
    );
    serve.stop();

    let mut again = Serve::start(Some(&database), dir.path()).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let output = again.output();
    for printed in printed_keys(&output) {
        assert!(
            printed.len() < key.len(),
            "the second start prints no new key, found {printed}:\n{output}"
        );
    }
    assert_eq!(
        key_status(&again, &key).await,
        404,
        "the first key still works"
    );
    let status = again.signal_and_wait("INT");
    assert!(
        status.success(),
        "SIGINT stops it cleanly too, got {status}"
    );
}

#[tokio::test]
async fn sigterm_finishes_cleanly_and_keeps_the_data() {
    let (dir, database) = scratch_sqlite();
    let key = create_key(&database, "acme", Some("live"));
    let mut serve = Serve::start(Some(&database), dir.path()).await;
    let mut ids = Vec::new();
    for n in 0..20 {
        let (status, contact) = http(
            "POST",
            &serve.url("/v2/contact"),
            &key,
            Some(json!({"phone": format!("+1415555{n:04}"), "metadata": {"n": n}})),
        )
        .await;
        assert_eq!(status, 201, "{contact}");
        ids.push(contact["id"].as_str().unwrap().to_string());
    }
    serve.stop();
    let serve = Serve::start(Some(&database), dir.path()).await;
    for (n, id) in ids.iter().enumerate() {
        let (status, contact) =
            http("GET", &serve.url(&format!("/v2/contact/{id}")), &key, None).await;
        assert_eq!(status, 200, "{contact}");
        assert_eq!(contact["metadata"]["n"], n);
    }
}

#[tokio::test]
async fn acknowledged_writes_survive_a_kill_9() {
    let (dir, database) = scratch_sqlite();
    let key = create_key(&database, "acme", Some("live"));
    let mut serve = Serve::start(Some(&database), dir.path()).await;
    let mut acknowledged = Vec::new();
    for n in 0..30 {
        let (status, contact) = http(
            "POST",
            &serve.url("/v2/contact"),
            &key,
            Some(json!({"phone": format!("+1415555{n:04}")})),
        )
        .await;
        assert_eq!(status, 201, "{contact}");
        let id = contact["id"].as_str().unwrap().to_string();
        let (status, updated) = http(
            "PUT",
            &serve.url(&format!("/v2/contact/{id}")),
            &key,
            Some(json!({"metadata": {"acked": n}})),
        )
        .await;
        assert_eq!(status, 200, "{updated}");
        acknowledged.push(updated);
    }
    serve.signal_and_wait("KILL");
    drop(serve);

    let serve = Serve::start(Some(&database), dir.path()).await;
    for contact in &acknowledged {
        let id = contact["id"].as_str().unwrap();
        let (status, seen) =
            http("GET", &serve.url(&format!("/v2/contact/{id}")), &key, None).await;
        assert_eq!(
            status, 200,
            "an acknowledged create survives kill -9: {seen}"
        );
        assert_eq!(&seen, contact, "an acknowledged update survives kill -9");
    }
}

#[tokio::test]
async fn serve_reads_its_settings_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("from-env.db");
    let port = free_port();
    let mut command = contactd();
    command
        .arg("serve")
        .env("CONTACTD_LISTEN", format!("127.0.0.1:{port}"))
        .env(
            "CONTACTD_DATABASE_URL",
            format!("sqlite://{}", path.display()),
        )
        .current_dir(dir.path());
    let mut serve = Serve::spawn(command, port).await;
    assert!(
        path.exists(),
        "the database named by CONTACTD_DATABASE_URL was created"
    );
    serve.stop();
}

#[tokio::test]
async fn serve_defaults_to_contactd_db_in_the_working_directory() {
    let dir = tempfile::tempdir().unwrap();
    let mut serve = Serve::start(None, dir.path()).await;
    assert!(
        dir.path().join("contactd.db").exists(),
        "contactd.db is created in the working directory"
    );
    serve.stop();

    let mut relative = Serve::start(Some("sqlite://relative.db"), dir.path()).await;
    assert!(
        dir.path().join("relative.db").exists(),
        "sqlite://relative.db is relative"
    );
    relative.stop();
}

#[tokio::test]
async fn logs_carry_no_phone_email_or_metadata_values() {
    let (dir, database) = scratch_sqlite();
    let key = create_key(&database, "acme", Some("live"));
    let mut serve = Serve::start(Some(&database), dir.path()).await;
    let (status, contact) = http(
        "POST",
        &serve.url("/v2/contact"),
        &key,
        Some(json!({
            "phone": "+14155559876",
            "email": "secret.person@example.com",
            "metadata": {"marker": "s3cr3t-metadata-value"}
        })),
    )
    .await;
    assert_eq!(status, 201, "{contact}");
    for path in [
        "/v2/contact/%2B14155559876",
        "/v2/contact/+14155559876",
        "/v2/contact/secret.person@example.com",
    ] {
        assert_eq!(http("GET", &serve.url(path), &key, None).await.0, 200);
    }
    let (status, _) = http(
        "POST",
        &serve.url("/v2/contact"),
        &key,
        Some(json!({"phone": "+14155559876", "metadata": {"marker": "s3cr3t-metadata-value"}})),
    )
    .await;
    assert_eq!(status, 409);
    let (status, _) = http(
        "POST",
        &serve.url("/v2/contact"),
        &key,
        Some(json!({"phone": "4155559876"})),
    )
    .await;
    assert_eq!(status, 400);
    serve.stop();
    let output = serve.output();
    for secret in [
        "4155559876",
        "secret.person",
        "s3cr3t-metadata-value",
        key.as_str(),
    ] {
        assert!(
            !output.contains(secret),
            "logs at the default level hold no contact data ({secret}):\n{output}"
        );
    }
}

/// `contactd ARGS` as a client of `serve` with `key` (`CONTACTD_URL`, `CONTACTD_API_KEY`);
/// the output whether it succeeded or not.
fn remote(serve: &Serve, key: &str, args: &[&str]) -> Output {
    contactd()
        .args(args)
        .env("CONTACTD_URL", serve.url(""))
        .env("CONTACTD_API_KEY", key)
        .env("CONTACTD_LOG", "warn")
        .output()
        .expect("running contactd")
}

/// Like [`remote`], asserting success; the standard output as JSON.
fn remote_json(serve: &Serve, key: &str, args: &[&str]) -> Value {
    let output = remote(serve, key, args);
    assert!(
        output.status.success(),
        "contactd {args:?} failed with {}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("contactd {args:?} printed no JSON ({e}): {output:?}"))
}

/// Six contacts of `key`'s workspace, `P0` to `P5`; the even ones have plan premium.
/// Returns the ids of the premium ones, oldest first, and of all.
async fn seed_premium(serve: &Serve, key: &str) -> (Vec<String>, Vec<String>) {
    let (mut premium, mut all) = (Vec::new(), Vec::new());
    for n in 0..6 {
        let plan = if n % 2 == 0 { "premium" } else { "basic" };
        let (status, contact) = http(
            "POST",
            &serve.url("/v2/contact"),
            key,
            Some(
                json!({"phone": format!("+1415555{n:04}"), "first_name": format!("P{n}"),
                        "metadata": {"plan": plan}}),
            ),
        )
        .await;
        assert_eq!(status, 201, "{contact}");
        let id = contact["id"].as_str().unwrap().to_string();
        if n % 2 == 0 {
            premium.push(id.clone());
        }
        all.push(id);
    }
    (premium, all)
}

fn json_ids(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("a JSON array: {value}"))
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect()
}

fn ndjson(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test]
async fn segment_commands_and_contact_list_segment_work_against_a_server() {
    let (dir, database) = scratch_sqlite();
    let key = create_key(&database, "acme", Some("live"));
    let mut serve = Serve::start(Some(&database), dir.path()).await;
    let (premium, _) = seed_premium(&serve, &key).await;

    let created = remote_json(
        &serve,
        &key,
        &[
            "segment",
            "create",
            "--name",
            "Premium",
            "--filter",
            "metadata.plan=premium",
        ],
    );
    let id = created["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("seg_"), "{created}");
    assert_eq!(created["name"], "Premium");
    assert_eq!(created["filter"], json!({"metadata.plan": "premium"}));
    assert_eq!(created["count"], 3);

    let listed = remote_json(&serve, &key, &["segment", "list"]);
    assert_eq!(
        json_ids(&listed),
        vec![id.as_str()],
        "a list prints an array"
    );
    let got = remote_json(&serve, &key, &["segment", "get", &id]);
    assert_eq!(got["count"], 3);
    let table = remote(&serve, &key, &["segment", "get", &id, "--output", "table"]);
    assert!(table.status.success());
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(
        table.contains(&id) && table.contains("Premium") && table.contains("metadata.plan=premium"),
        "{table}"
    );

    let contacts = remote_json(&serve, &key, &["contact", "list", "--segment", &id]);
    assert_eq!(json_ids(&contacts), premium);
    let first_two = remote_json(
        &serve,
        &key,
        &["contact", "list", "--segment", &id, "--limit", "2"],
    );
    assert_eq!(json_ids(&first_two), premium[..2]);
    let every_page = remote_json(
        &serve,
        &key,
        &["contact", "list", "--segment", &id, "--limit", "2", "--all"],
    );
    assert_eq!(json_ids(&every_page), premium);
    let newest_first = remote_json(
        &serve,
        &key,
        &[
            "contact",
            "list",
            "--segment",
            &id,
            "--sort",
            "-created_at",
            "--all",
        ],
    );
    let mut reversed = premium.clone();
    reversed.reverse();
    assert_eq!(json_ids(&newest_first), reversed);

    let refused = remote(
        &serve,
        &key,
        &["contact", "list", "--segment", &id, "--q", "p"],
    );
    assert!(
        !refused.status.success(),
        "--segment takes no other filters"
    );

    let updated = remote_json(
        &serve,
        &key,
        &[
            "segment",
            "update",
            &id,
            "--name",
            "Premium P0",
            "--filter",
            "metadata.plan=premium",
            "--filter",
            "q=p0",
        ],
    );
    assert_eq!(updated["name"], "Premium P0");
    assert_eq!(
        updated["filter"],
        json!({"metadata.plan": "premium", "q": "p0"})
    );
    assert_eq!(updated["count"], 1);
    let one = remote_json(&serve, &key, &["contact", "list", "--segment", &id]);
    assert_eq!(
        json_ids(&one),
        premium[..1],
        "a list of one is still an array"
    );

    let bad = remote(
        &serve,
        &key,
        &[
            "segment",
            "create",
            "--name",
            "Bad",
            "--filter",
            "status=gone",
        ],
    );
    assert!(!bad.status.success());
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(stderr.contains("filter.status"), "{stderr}");

    let deleted = remote_json(&serve, &key, &["segment", "delete", &id]);
    assert_eq!(deleted["id"], id.as_str());
    for args in [
        vec!["segment", "get", id.as_str()],
        vec!["contact", "list", "--segment", id.as_str()],
    ] {
        let gone = remote(&serve, &key, &args);
        assert!(!gone.status.success(), "{args:?} after the delete");
        let stderr = String::from_utf8_lossy(&gone.stderr);
        assert!(stderr.contains("not found"), "{args:?}: {stderr}");
    }
    let (status, contact) = http(
        "GET",
        &serve.url(&format!("/v2/contact/{}", premium[0])),
        &key,
        None,
    )
    .await;
    assert_eq!(status, 200, "a segment's contacts outlive it: {contact}");
    serve.stop();
}

#[tokio::test]
async fn export_segment_through_a_server_and_from_the_database() {
    let (dir, database) = scratch_sqlite();
    let key = create_key(&database, "acme", Some("live"));
    let mut serve = Serve::start(Some(&database), dir.path()).await;
    let (premium, all) = seed_premium(&serve, &key).await;
    let (status, segment) = http(
        "POST",
        &serve.url("/v2/segment"),
        &key,
        Some(json!({"name": "Premium", "filter": {"metadata.plan": "premium"}})),
    )
    .await;
    assert_eq!(status, 201, "{segment}");
    let id = segment["id"].as_str().unwrap().to_string();
    let url = serve.url("");
    let file = |name: &str| dir.path().join(name).to_str().unwrap().to_string();

    // Through the server: the segment's contacts, as the API shows them.
    let through_server = file("server.ndjson");
    run(contactd().args([
        "export",
        "--url",
        &url,
        "--api-key",
        &key,
        "--segment",
        &id,
        "--format",
        "ndjson",
        "--output",
        &through_server,
    ]));
    let exported = ndjson(Path::new(&through_server));
    let ids: Vec<String> = exported
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, premium);
    for contact in &exported {
        let (status, shown) = http(
            "GET",
            &serve.url(&format!("/v2/contact/{}", contact["id"].as_str().unwrap())),
            &key,
            None,
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(contact, &shown, "an exported contact is the API's contact");
    }

    // Through the server without a segment: every contact, as CSV.
    let csv = file("all.csv");
    run(contactd().args([
        "export",
        "--url",
        &url,
        "--api-key",
        &key,
        "--format",
        "csv",
        "--output",
        &csv,
    ]));
    let csv = std::fs::read_to_string(&csv).unwrap();
    let mut lines = csv.lines();
    assert!(lines.next().unwrap().starts_with("id,phone,email"), "{csv}");
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), all.len(), "{csv}");
    for (row, id) in rows.iter().zip(&all) {
        assert!(row.starts_with(id.as_str()), "{row}");
    }

    // A missing segment fails before anything is written.
    let missing = file("missing.ndjson");
    let output = contactd()
        .args([
            "export",
            "--url",
            &url,
            "--api-key",
            &key,
            "--segment",
            "seg_doesnotexist0000",
            "--output",
            &missing,
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("not found"),
        "{output:?}"
    );
    assert!(!Path::new(&missing).exists(), "no file for a failed export");
    serve.stop();

    // Straight from the database: the segment read from the store, the same contacts.
    let from_database = file("database.ndjson");
    run(contactd().args([
        "export",
        "--workspace",
        "acme",
        "--data-mode",
        "live",
        "--segment",
        &id,
        "--format",
        "ndjson",
        "--output",
        &from_database,
        "--database",
        &database,
    ]));
    assert_eq!(ndjson(Path::new(&from_database)), exported);

    // Another mode's data has no such segment; a malformed id is refused.
    for (mode, segment) in [("test", id.as_str()), ("live", "premium")] {
        let output = contactd()
            .args([
                "export",
                "--workspace",
                "acme",
                "--data-mode",
                mode,
                "--segment",
                segment,
                "--output",
                &file("refused.ndjson"),
                "--database",
                &database,
            ])
            .output()
            .unwrap();
        assert!(
            !output.status.success(),
            "export --data-mode {mode} --segment {segment}"
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("segment"), "{stderr}");
    }
}

/// Issue 14, item 7: a clean stop leaves the data in the `.db` file, not in the WAL, so
/// copying the stopped database's `.db` file alone keeps every write.
#[tokio::test]
async fn a_clean_stop_leaves_everything_in_the_database_file() {
    let (dir, database) = scratch_sqlite();
    let key = create_key(&database, "acme", Some("live"));
    let mut serve = Serve::start(Some(&database), dir.path()).await;
    for i in 0..200 {
        let body = json!({"phone": format!("+1415555{i:04}"), "metadata": {"i": i}});
        let (status, _) = http("POST", &serve.url("/v2/contact"), &key, Some(body)).await;
        assert_eq!(status, 201);
    }
    let status = serve.signal_and_wait("INT");
    assert!(status.success(), "{status}");

    let db = dir.path().join("x.db");
    let wal = dir.path().join("x.db-wal");
    let wal_len = std::fs::metadata(&wal).map_or(0, |m| m.len());
    assert_eq!(
        wal_len, 0,
        "the WAL still holds {wal_len} bytes after a clean stop"
    );
    let copy = tempfile::tempdir().unwrap();
    std::fs::copy(&db, copy.path().join("copy.db")).unwrap();
    let conn = rusqlite::Connection::open(copy.path().join("copy.db")).unwrap();
    let n: i64 = conn
        .query_row("SELECT COUNT(*) FROM contacts", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 200, "the .db file alone has every contact");
}

/// `contactd ARGS` as a client of `server` with acme's test key (`CONTACTD_URL`,
/// `CONTACTD_API_KEY`), off the runtime that serves it; the output whether it succeeded or
/// not.
async fn client_output(server: &TestServer, args: &[&str]) -> Output {
    let mut command = contactd();
    command
        .args(args)
        .env("CONTACTD_URL", server.url(""))
        .env("CONTACTD_API_KEY", &server.test_key)
        .env("CONTACTD_DATABASE_URL", server.database_url())
        .env("CONTACTD_LOG", "warn");
    tokio::task::spawn_blocking(move || command.output().expect("running contactd"))
        .await
        .unwrap()
}

/// Like [`client_output`], asserting success; the standard output.
async fn client(server: &TestServer, args: &[&str]) -> String {
    let output = client_output(server, args).await;
    assert!(
        output.status.success(),
        "contactd {args:?} failed with {}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// `contactd ARGS --output json`: its standard output, which must be one JSON value.
async fn client_json(server: &TestServer, args: &[&str]) -> Value {
    let args = [args, &["--output", "json"]].concat();
    let out = client(server, &args).await;
    serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("contactd {args:?}: not JSON ({e}):\n{out}"))
}

/// `contactd ARGS --output json`, which must print a JSON object.
async fn client_object(server: &TestServer, args: &[&str]) -> Value {
    let value = client_json(server, args).await;
    assert!(value.is_object(), "contactd {args:?}: an object: {value}");
    value
}

/// `contactd ARGS --output json`, which must print a JSON array.
async fn client_array(server: &TestServer, args: &[&str]) -> Vec<Value> {
    let value = client_json(server, args).await;
    value
        .as_array()
        .unwrap_or_else(|| panic!("contactd {args:?}: an array: {value}"))
        .clone()
}

/// `contactd ARGS --output table`, read back as rows of (column, cell), after checking
/// that the header is `header` and that every cell starts, counted in characters, where
/// its column's name does, after a space.
async fn client_table(
    server: &TestServer,
    args: &[&str],
    header: &[&str],
) -> Vec<Vec<(String, String)>> {
    let args = [args, &["--output", "table"]].concat();
    let out = client(server, &args).await;
    let mut lines = out.lines();
    let head = lines.next().unwrap_or_default();
    let starts: Vec<usize> = header
        .iter()
        .map(|name| {
            head.find(name)
                .unwrap_or_else(|| panic!("contactd {args:?}: column {name}:\n{out}"))
        })
        .collect();
    let words: Vec<&str> = head
        .split("  ")
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .collect();
    assert_eq!(words, header, "contactd {args:?}: the header:\n{out}");
    lines
        .map(|line| {
            let chars: Vec<char> = line.chars().collect();
            let cell = |i: usize| -> String {
                let end = starts
                    .get(i + 1)
                    .map_or(chars.len(), |&e| e.min(chars.len()));
                chars[starts[i].min(chars.len())..end]
                    .iter()
                    .collect::<String>()
                    .trim()
                    .to_owned()
            };
            header
                .iter()
                .enumerate()
                .map(|(i, name)| {
                    let aligned = chars.get(starts[i]).is_some_and(|c| *c != ' ')
                        && (i == 0 || chars.get(starts[i] - 1) == Some(&' '));
                    assert!(
                        aligned,
                        "contactd {args:?}: column {name} is not aligned:\n{out}"
                    );
                    ((*name).to_owned(), cell(i))
                })
                .collect()
        })
        .collect()
}

/// The cell of `column` in a row of [`client_table`].
fn cell<'a>(row: &'a [(String, String)], column: &str) -> &'a str {
    row.iter().find(|(name, _)| name == column).map_or_else(
        || panic!("no column {column}: {row:?}"),
        |(_, v)| v.as_str(),
    )
}

const CONTACT_COLUMNS: &[&str] = &["id", "phone", "email", "name", "channel", "status"];
const SEGMENT_COLUMNS: &[&str] = &["id", "name", "count", "filter"];
const KEY_COLUMNS: &[&str] = &[
    "prefix",
    "workspace",
    "mode",
    "created",
    "last used",
    "status",
];

/// Issue 12: every client command prints `--output json` in one shape (an object for one
/// thing, an array for a list whatever its length) and `--output table` as aligned
/// columns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_client_command_prints_json_and_aligned_tables() {
    let server = TestServer::start().await;

    // contact create, get, update
    let ada = client_object(
        &server,
        &[
            "contact",
            "create",
            "--phone",
            "+14155550100",
            "--first-name",
            "Ada",
        ],
    )
    .await;
    assert_eq!(ada["phone"], "+14155550100");
    let ada_id = ada["id"].as_str().unwrap().to_owned();
    let rows = client_table(
        &server,
        &[
            "contact",
            "create",
            "--email",
            "zoe@example.com",
            "--first-name",
            "Zoë",
            "--channel",
            "email",
        ],
        CONTACT_COLUMNS,
    )
    .await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    let zoe_id = cell(&rows[0], "id").to_owned();
    assert!(zoe_id.starts_with("cnt_"), "{rows:?}");
    assert_eq!(cell(&rows[0], "phone"), "-");
    assert_eq!(cell(&rows[0], "channel"), "email");
    assert_eq!(
        client_object(&server, &["contact", "get", &ada_id]).await["first_name"],
        "Ada"
    );
    let rows = client_table(
        &server,
        &["contact", "get", "zoe@example.com"],
        CONTACT_COLUMNS,
    )
    .await;
    assert_eq!(cell(&rows[0], "id"), zoe_id);
    let updated = client_object(
        &server,
        &[
            "contact",
            "update",
            "+14155550100",
            "--last-name",
            "Lovelace",
            "--metadata",
            r#"{"plan": "premium"}"#,
        ],
    )
    .await;
    assert_eq!(updated["full_name"], "Ada Lovelace");
    let rows = client_table(
        &server,
        &[
            "contact",
            "update",
            &zoe_id,
            "--last-name",
            "Straße",
            "--metadata",
            r#"{"plan": "premium"}"#,
        ],
        CONTACT_COLUMNS,
    )
    .await;
    assert_eq!(cell(&rows[0], "name"), "Zoë Straße");

    // contact list: an array of none, one or many; a table of as many rows
    assert_eq!(
        client_array(&server, &["contact", "list", "--q", "nobody"]).await,
        Vec::<Value>::new()
    );
    let one = client_array(&server, &["contact", "list", "--q", "ada"]).await;
    assert_eq!(one.len(), 1);
    assert_eq!(one[0]["id"], ada_id.as_str());
    assert_eq!(client_array(&server, &["contact", "list"]).await.len(), 2);
    let rows = client_table(&server, &["contact", "list"], CONTACT_COLUMNS).await;
    let names: Vec<&str> = rows.iter().map(|r| cell(r, "name")).collect();
    assert_eq!(names, ["Ada Lovelace", "Zoë Straße"]);
    assert!(
        client_table(
            &server,
            &["contact", "list", "--q", "nobody"],
            CONTACT_COLUMNS
        )
        .await
        .is_empty(),
        "an empty list is a header alone"
    );
    // The client flags may also come before the subcommand.
    let out = client(
        &server,
        &["contact", "--output", "table", "list", "--q", "ada"],
    )
    .await;
    assert!(
        out.starts_with("id ") && out.contains("Ada Lovelace"),
        "{out}"
    );

    // segment create, get, list, update, delete, and a segment's contacts
    let premium = client_object(
        &server,
        &[
            "segment",
            "create",
            "--name",
            "Premium",
            "--filter",
            "metadata.plan=premium",
        ],
    )
    .await;
    assert_eq!(premium["count"], 2);
    let premium_id = premium["id"].as_str().unwrap().to_owned();
    let rows = client_table(
        &server,
        &[
            "segment",
            "create",
            "--name",
            "Ada's people",
            "--filter",
            "q=ada",
        ],
        SEGMENT_COLUMNS,
    )
    .await;
    assert_eq!(cell(&rows[0], "name"), "Ada's people");
    assert_eq!(cell(&rows[0], "filter"), "q=ada");
    let ada_segment = cell(&rows[0], "id").to_owned();
    assert_eq!(
        client_object(&server, &["segment", "get", &premium_id]).await["name"],
        "Premium"
    );
    let rows = client_table(&server, &["segment", "get", &ada_segment], SEGMENT_COLUMNS).await;
    assert_eq!(cell(&rows[0], "count"), "1");
    assert_eq!(client_array(&server, &["segment", "list"]).await.len(), 2);
    let rows = client_table(&server, &["segment", "list"], SEGMENT_COLUMNS).await;
    assert_eq!(rows.len(), 2);
    let members = client_array(&server, &["contact", "list", "--segment", &ada_segment]).await;
    assert_eq!(members.len(), 1, "a segment of one is still an array");
    let rows = client_table(
        &server,
        &["contact", "list", "--segment", &premium_id, "--all"],
        CONTACT_COLUMNS,
    )
    .await;
    assert_eq!(rows.len(), 2);
    let renamed = client_object(
        &server,
        &["segment", "update", &premium_id, "--name", "Premium plan"],
    )
    .await;
    assert_eq!(renamed["name"], "Premium plan");
    let rows = client_table(
        &server,
        &["segment", "update", &ada_segment, "--filter", "q=zo"],
        SEGMENT_COLUMNS,
    )
    .await;
    assert_eq!(cell(&rows[0], "filter"), "q=zo");
    assert_eq!(
        client_object(&server, &["segment", "delete", &premium_id]).await["id"],
        premium_id.as_str()
    );
    let rows = client_table(
        &server,
        &["segment", "delete", &ada_segment],
        SEGMENT_COLUMNS,
    )
    .await;
    assert_eq!(cell(&rows[0], "id"), ada_segment);
    assert_eq!(
        client_array(&server, &["segment", "list"]).await,
        Vec::<Value>::new()
    );

    // import through the server: one JSON object of counts, or a sentence
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("contacts.ndjson");
    std::fs::write(
        &file,
        "{\"phone\": \"+14155550101\", \"first_name\": \"Grace\"}\n",
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let summary = client_object(&server, &["import", file, "--mode", "upsert"]).await;
    assert_eq!(
        (summary["rows"].as_u64(), summary["created"].as_u64()),
        (Some(1), Some(1)),
        "{summary}"
    );
    let sentence = client(
        &server,
        &["import", file, "--mode", "upsert", "--output", "table"],
    )
    .await;
    assert!(
        sentence.contains("1 of 1 rows imported, 0 rejected (0 created, 0 updated, 1 unchanged)"),
        "{sentence}"
    );
    let sentence = client(&server, &["import", file, "--mode", "upsert"]).await;
    assert!(
        sentence.contains("rows imported"),
        "a sentence by default: {sentence}"
    );

    // contact delete
    let deleted = client_object(&server, &["contact", "delete", &ada_id]).await;
    assert_eq!(deleted["status"], "deleted");
    let rows = client_table(&server, &["contact", "delete", &zoe_id], CONTACT_COLUMNS).await;
    assert_eq!(cell(&rows[0], "status"), "deleted");

    // keys list, on the server's database
    let keys = client_array(&server, &["keys", "list"]).await;
    assert_eq!(keys.len(), 2, "{keys:?}");
    for key in &keys {
        assert_eq!(key["workspace"], "acme", "{key}");
        assert_eq!(key["status"], "active", "{key}");
        let prefix = key["prefix"].as_str().unwrap();
        assert!(
            server.key.starts_with(prefix) || server.test_key.starts_with(prefix),
            "{key}"
        );
    }
    let rows = client_table(&server, &["keys", "list"], KEY_COLUMNS).await;
    assert_eq!(rows.len(), 2);
    let default = client(&server, &["keys", "list"]).await;
    assert!(
        default.starts_with("prefix "),
        "a table by default:\n{default}"
    );
}

/// Issue 12: a server that cannot be reached is said once, with its address, by every
/// command that talks to one.
#[test]
fn every_client_command_says_an_unreachable_server_once() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("contacts.ndjson");
    std::fs::write(&file, "{\"phone\": \"+14155550101\"}\n").unwrap();
    let file = file.to_str().unwrap();
    for args in [
        &["contact", "get", "+14155550100"][..],
        &["contact", "list", "--output", "table"][..],
        &["segment", "list"][..],
        &["import", file][..],
        &["export", "--format", "csv"][..],
    ] {
        // Nothing listens on port 1.
        let output = contactd()
            .args(args)
            .env("CONTACTD_URL", "http://127.0.0.1:1")
            .env("CONTACTD_API_KEY", "sk_test_whatever")
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1), "{args:?}: {output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            stderr
                .matches("cannot connect to the server at http://127.0.0.1:1")
                .count(),
            1,
            "{args:?}: said once:\n{stderr}"
        );
        assert!(
            !stderr.contains("error sending request"),
            "{args:?}: {stderr}"
        );
        assert!(
            stderr.to_lowercase().contains("refused"),
            "{args:?}: the cause: {stderr}"
        );
    }
}
