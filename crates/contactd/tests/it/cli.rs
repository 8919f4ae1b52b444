//! An operator runs the real `contactd` binary: `serve` and `keys create|list|revoke`
//! (contract §1).

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

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
