//! Helpers for the PostgreSQL suite: a scratch database per test, real `contactd serve`
//! child processes, a TCP proxy that can cut the database connection, and HTTP helpers.
//!
//! Everything that holds an outside resource (database, child process, proxy task) is a
//! guard that releases it on drop, so nothing leaks when a test fails half-way.

use std::fs::File;
use std::io::Read;
use std::net::TcpListener as StdTcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The PostgreSQL server the tests use, as an admin (may create and drop databases).
pub const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// How long a child gets to answer `/healthz` after its start.
const STARTUP_LIMIT: Duration = Duration::from_secs(15);

/// Client-side bound of every HTTP request: a hang is a failure, never a stuck test.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

pub fn admin_url() -> String {
    std::env::var("CONTACTD_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned())
}

/// A `postgres://` URL taken apart just enough to swap its database or its host:port.
#[derive(Clone, Debug)]
pub struct PgUrl {
    /// `postgres://` plus the user info with its `@`, if any.
    prefix: String,
    /// `host:port` (or `host`).
    pub host_port: String,
    /// `?…` or empty.
    query: String,
}

impl PgUrl {
    pub fn parse(url: &str) -> PgUrl {
        let (scheme, rest) = url
            .split_once("://")
            .unwrap_or_else(|| panic!("CONTACTD_TEST_POSTGRES_URL is not a URL: {url}"));
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let query = path
            .find('?')
            .map(|i| path[i..].to_owned())
            .unwrap_or_default();
        let (userinfo, host_port) = match authority.rfind('@') {
            Some(i) => (&authority[..=i], &authority[i + 1..]),
            None => ("", authority),
        };
        PgUrl {
            prefix: format!("{scheme}://{userinfo}"),
            host_port: host_port.to_owned(),
            query,
        }
    }

    /// The same server and user, another database.
    pub fn with_database(&self, database: &str) -> String {
        format!(
            "{}{}/{}{}",
            self.prefix, self.host_port, database, self.query
        )
    }

    /// The same user and database name, reached through another address.
    pub fn via(&self, host_port: &str) -> PgUrl {
        PgUrl {
            host_port: host_port.to_owned(),
            ..self.clone()
        }
    }

    /// Where a TCP proxy must forward to (PostgreSQL's default port when none is given).
    pub fn socket_addr(&self) -> String {
        if self.host_port.starts_with('[') {
            if self.host_port.contains("]:") {
                self.host_port.clone()
            } else {
                format!("{}:5432", self.host_port)
            }
        } else if self.host_port.contains(':') {
            self.host_port.clone()
        } else {
            format!("{}:5432", self.host_port)
        }
    }
}

async fn admin_connect(admin: &str) -> tokio_postgres::Client {
    let connect = tokio_postgres::connect(admin, tokio_postgres::NoTls);
    let (client, connection) = match tokio::time::timeout(Duration::from_secs(10), connect).await {
        Ok(Ok(pair)) => pair,
        Ok(Err(e)) => panic!(
            "PostgreSQL is not reachable at {admin} ({e}). These tests need a PostgreSQL server: \
             start one (`.ci/run` provides it) or set CONTACTD_TEST_POSTGRES_URL to an admin URL"
        ),
        Err(_) => panic!(
            "PostgreSQL at {admin} did not answer within 10 s. These tests need a PostgreSQL \
             server: start one (`.ci/run` provides it) or set CONTACTD_TEST_POSTGRES_URL"
        ),
    };
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

/// A database of its own for one test, dropped (with its connections) when this drops.
pub struct ScratchDb {
    pub name: String,
    admin: String,
    pub url: PgUrl,
}

impl ScratchDb {
    pub async fn create() -> ScratchDb {
        let admin = admin_url();
        let name = format!("contactd_t_{}", random_hex(16));
        let client = admin_connect(&admin).await;
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name} failed: {e}"));
        ScratchDb {
            url: PgUrl::parse(&PgUrl::parse(&admin).with_database(&name)),
            name,
            admin,
        }
    }

    /// The direct URL of this database.
    pub fn url(&self) -> String {
        self.url.with_database(&self.name)
    }

    /// This database reached through `host_port` (a proxy).
    pub fn url_via(&self, host_port: &str) -> String {
        self.url.via(host_port).with_database(&self.name)
    }
}

impl Drop for ScratchDb {
    fn drop(&mut self) {
        let admin = self.admin.clone();
        let name = self.name.clone();
        // The test's runtime may be gone or busy: drop from a thread with a runtime of its own.
        let dropper = std::thread::spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => return Err(format!("no runtime: {e}")),
            };
            runtime.block_on(async move {
                let connect = tokio_postgres::connect(&admin, tokio_postgres::NoTls);
                let (client, connection) =
                    match tokio::time::timeout(Duration::from_secs(10), connect).await {
                        Ok(Ok(pair)) => pair,
                        Ok(Err(e)) => return Err(e.to_string()),
                        Err(_) => return Err("connect timed out".to_owned()),
                    };
                tokio::spawn(async move {
                    let _ = connection.await;
                });
                let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                match tokio::time::timeout(Duration::from_secs(20), client.batch_execute(&sql))
                    .await
                {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(e)) => Err(e.to_string()),
                    Err(_) => Err("DROP DATABASE timed out".to_owned()),
                }
            })
        });
        match dropper.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!(
                "warning: could not drop scratch database {}: {e}",
                self.name
            ),
            Err(_) => eprintln!("warning: dropping scratch database {} panicked", self.name),
        }
    }
}

pub fn random_hex(bytes: usize) -> String {
    use rand::RngCore;
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    hex::encode(buf)
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    let listener = StdTcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_contactd")
}

/// `contactd keys create --workspace W --mode live --database URL`; the key is the last line.
pub async fn create_key(database_url: &str, workspace: &str) -> String {
    let database_url = database_url.to_owned();
    let workspace = workspace.to_owned();
    tokio::task::spawn_blocking(move || {
        let log = tempfile::NamedTempFile::new().expect("temp file for stderr");
        let out = tempfile::NamedTempFile::new().expect("temp file for stdout");
        let mut child = Command::new(bin())
            .args([
                "keys",
                "create",
                "--workspace",
                &workspace,
                "--mode",
                "live",
            ])
            .args(["--database", &database_url])
            .env("CONTACTD_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(out.reopen().expect("reopen stdout file"))
            .stderr(log.reopen().expect("reopen stderr file"))
            .spawn()
            .expect("spawn contactd keys create");
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for keys create") {
                break status;
            }
            if started.elapsed() > Duration::from_secs(30) {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "contactd keys create did not finish within 30 s; stderr:\n{}",
                    read_file(&log.path().to_path_buf())
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let stdout = read_file(&out.path().to_path_buf());
        assert!(
            status.success(),
            "contactd keys create failed ({status}); stdout:\n{stdout}\nstderr:\n{}",
            read_file(&log.path().to_path_buf())
        );
        let key = stdout
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or_else(|| panic!("contactd keys create printed nothing"))
            .trim()
            .to_owned();
        assert!(
            key.starts_with("sk_live_"),
            "the last line of `keys create --mode live` is not a live key: {key:?}"
        );
        key
    })
    .await
    .expect("keys create task")
}

fn read_file(path: &PathBuf) -> String {
    let mut text = String::new();
    if let Ok(mut f) = File::open(path) {
        let _ = f.read_to_string(&mut text);
    }
    text
}

/// A running `contactd serve`, killed when this drops. Its stderr goes to a file that is
/// printed when the test fails.
pub struct Server {
    pub name: &'static str,
    child: Child,
    pub base: String,
    log: tempfile::NamedTempFile,
}

impl Server {
    /// Starts `contactd serve` on a free port and waits until `/healthz` answers.
    pub async fn start(name: &'static str, database_url: &str, extra: &[&str]) -> Server {
        let mut server = Server::spawn(name, database_url, extra);
        server.wait_healthy().await;
        server
    }

    /// Starts `contactd serve` without waiting for it.
    pub fn spawn(name: &'static str, database_url: &str, extra: &[&str]) -> Server {
        let port = free_port();
        let log = tempfile::NamedTempFile::new().expect("temp file for the server's stderr");
        let child = Command::new(bin())
            .arg("serve")
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--database", database_url])
            .args(extra)
            .env("CONTACTD_LOG", "warn")
            .env_remove("CONTACTD_DATABASE_URL")
            .env_remove("CONTACTD_LISTEN")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log.reopen().expect("reopen log file"))
            .spawn()
            .expect("spawn contactd serve");
        Server {
            name,
            child,
            base: format!("http://127.0.0.1:{port}"),
            log,
        }
    }

    /// Polls `/healthz` until 200; fails if the process exits or 15 s pass.
    pub async fn wait_healthy(&mut self) {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .expect("http client");
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                panic!(
                    "contactd {} exited during startup ({status}); stderr:\n{}",
                    self.name,
                    self.log_text()
                );
            }
            if let Ok(r) = client.get(format!("{}/healthz", self.base)).send().await {
                if r.status() == StatusCode::OK {
                    return;
                }
            }
            if started.elapsed() > STARTUP_LIMIT {
                panic!(
                    "contactd {} did not answer /healthz within {STARTUP_LIMIT:?}; stderr:\n{}",
                    self.name,
                    self.log_text()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `None` while the process runs.
    pub fn exit_status(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().expect("try_wait")
    }

    pub fn log_text(&self) -> String {
        read_file(&self.log.path().to_path_buf())
    }

    pub fn api(&self, key: &str) -> Api {
        Api::new(&self.base, key)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = self.log_text();
            if !log.trim().is_empty() {
                eprintln!("--- stderr of contactd {} ---\n{log}--- end ---", self.name);
            }
        }
    }
}

/// An authenticated client of one server.
#[derive(Clone)]
pub struct Api {
    base: String,
    key: String,
    client: reqwest::Client,
}

/// A response: status and JSON body (`Value::Null` when the body is not JSON).
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
    pub text: String,
}

impl Api {
    pub fn new(base: &str, key: &str) -> Api {
        Api {
            base: base.to_owned(),
            key: key.to_owned(),
            client: reqwest::Client::builder()
                .timeout(REQUEST_TIMEOUT)
                .pool_max_idle_per_host(64)
                .build()
                .expect("http client"),
        }
    }

    /// Sends a request; a transport error (including the 10 s timeout) is `Err`.
    pub async fn try_send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Reply, reqwest::Error> {
        let mut request = self
            .client
            .request(method, format!("{}{}", self.base, path))
            .header("X-API-Key", &self.key);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await?;
        let status = response.status();
        let text = response.text().await?;
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Ok(Reply { status, body, text })
    }

    pub async fn send(&self, method: Method, path: &str, body: Option<&Value>) -> Reply {
        let what = format!("{method} {}{path}", self.base);
        self.try_send(method, path, body)
            .await
            .unwrap_or_else(|e| panic!("{what} failed without a response: {e}"))
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.send(Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Reply {
        self.send(Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.send(Method::DELETE, path, None).await
    }

    /// Unauthenticated GET (`/healthz`, `/readyz`).
    pub async fn probe(&self, path: &str) -> Reply {
        let what = format!("GET {}{path}", self.base);
        let response = self
            .client
            .get(format!("{}{}", self.base, path))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{what} failed without a response: {e}"));
        let status = response.status();
        let text = response.text().await.expect("probe body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply { status, body, text }
    }
}

/// Percent-encodes a contact ref for a path segment (`+` → `%2B`, `@` → `%40`).
pub fn enc(reference: &str) -> String {
    let mut out = String::new();
    for b in reference.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Asserts the contract's error envelope with this kind and code.
#[track_caller]
pub fn assert_error(reply: &Reply, status: u16, kind: &str, what: &str) {
    assert_eq!(
        reply.status.as_u16(),
        status,
        "{what}: expected {status} {kind}, got {} {}",
        reply.status,
        reply.text
    );
    assert_eq!(reply.body["error"], kind, "{what}: envelope {}", reply.text);
    assert_eq!(
        reply.body["code"], status,
        "{what}: envelope {}",
        reply.text
    );
    assert!(
        reply.body["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{what}: envelope without a message: {}",
        reply.text
    );
}

/// A TCP proxy in front of PostgreSQL with a switch: when down, every forwarded connection
/// is cut and new ones are closed as soon as they are accepted.
pub struct Proxy {
    pub port: u16,
    up: Arc<watch::Sender<bool>>,
    accept: JoinHandle<()>,
}

impl Proxy {
    pub async fn start(target: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy");
        let port = listener.local_addr().expect("proxy addr").port();
        let (up, _) = watch::channel(true);
        let up = Arc::new(up);
        let switch = Arc::clone(&up);
        let accept = tokio::spawn(async move {
            loop {
                let Ok((inbound, _)) = listener.accept().await else {
                    continue;
                };
                if !*switch.borrow() {
                    drop(inbound);
                    continue;
                }
                let mut down = switch.subscribe();
                let target = target.clone();
                tokio::spawn(async move {
                    let mut inbound = inbound;
                    let Ok(mut outbound) = TcpStream::connect(&target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = down.wait_for(|up| !*up) => {}
                    }
                    // Both sockets close here.
                });
            }
        });
        Proxy { port, up, accept }
    }

    pub fn host_port(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn set_up(&self, up: bool) {
        self.up.send_replace(up);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.set_up(false);
        self.accept.abort();
    }
}
