//! The harness: the real application on `127.0.0.1:0` with a scratch database, a client
//! that speaks the contract's words, and assertions for the shapes the contract fixes.
//!
//! The database backend is chosen in one place, [`scratch_database`], so the same suite
//! can run against PostgreSQL once that backend exists (`CONTACTD_TEST_BACKEND`).

#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use contactd::config::Config;
use contactd::startup::Application;
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::{json, Value};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The workspace every [`TestServer`] creates its two keys for.
pub const WORKSPACE: &str = "acme";

/// A contact id that is well formed and never exists.
pub const MISSING_CONTACT_ID: &str = "cnt_doesnotexist0000";
/// A conversation id that is well formed and never exists.
pub const MISSING_CONVERSATION_ID: &str = "conv_doesnotexist0000";

/// Keeps a scratch database alive; dropping it removes the database.
pub enum DbGuard {
    Sqlite(tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

/// A fresh, empty database for one test: its URL and the guard that owns it.
///
/// `CONTACTD_TEST_BACKEND` selects the backend: `sqlite` (the default) or `postgres`, which
/// creates a database on the server named by `CONTACTD_TEST_POSTGRES_URL` (default
/// `postgres://postgres@127.0.0.1:5432/postgres`) and drops it afterwards.
pub fn scratch_database() -> (String, DbGuard) {
    match std::env::var("CONTACTD_TEST_BACKEND").as_deref() {
        Err(_) | Ok("") | Ok("sqlite") => {
            let dir = tempfile::Builder::new()
                .prefix("contactd-it-")
                .tempdir()
                .expect("creating a temporary directory");
            let path = dir.path().join("contactd.db");
            (format!("sqlite://{}", path.display()), DbGuard::Sqlite(dir))
        }
        Ok("postgres") => scratch_postgres(),
        Ok(other) => panic!("CONTACTD_TEST_BACKEND={other} is not supported (sqlite, postgres)"),
    }
}

fn postgres_admin_url() -> String {
    std::env::var("CONTACTD_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// Runs one admin statement on its own thread and runtime, so that it works from sync
/// code, from async tests and from `Drop` alike.
fn postgres_admin(admin_url: &str, sql: String) -> Result<(), String> {
    let admin_url = admin_url.to_owned();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        runtime.block_on(async move {
            let (client, connection) = tokio_postgres::connect(&admin_url, tokio_postgres::NoTls)
                .await
                .map_err(|e| format!("cannot connect to PostgreSQL at {admin_url}: {e}"))?;
            tokio::spawn(connection);
            client.batch_execute(&sql).await.map_err(|e| e.to_string())
        })
    })
    .join()
    .map_err(|_| "the admin thread panicked".to_owned())?
}

fn scratch_postgres() -> (String, DbGuard) {
    let admin_url = postgres_admin_url();
    let name = format!("contactd_it_{}", uuid_like());
    postgres_admin(&admin_url, format!("CREATE DATABASE {name}"))
        .unwrap_or_else(|e| panic!("creating the scratch database: {e}"));
    let url = match admin_url.rfind('/') {
        Some(slash) => format!("{}/{name}", &admin_url[..slash]),
        None => panic!("CONTACTD_TEST_POSTGRES_URL has no database path: {admin_url}"),
    };
    (url, DbGuard::Postgres { admin_url, name })
}

fn uuid_like() -> String {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    format!("{:016x}", hasher.finish())
}

impl Drop for DbGuard {
    fn drop(&mut self) {
        if let DbGuard::Postgres { admin_url, name } = self {
            let _ = postgres_admin(
                admin_url,
                format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            );
        }
    }
}

/// One HTTP response, read to the end.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    /// The body parsed as JSON, or `Value::Null` when it is not JSON.
    pub body: Value,
    pub text: String,
}

impl Resp {
    async fn read(response: reqwest::Response) -> Resp {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("reading the response body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            body,
            text,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the status and returns the JSON body.
    #[track_caller]
    pub fn expect(&self, status: u16) -> Value {
        assert_eq!(
            self.status, status,
            "unexpected status {} (wanted {status}); body: {}",
            self.status, self.text
        );
        self.body.clone()
    }
}

/// The running application and a client for it.
pub struct TestServer {
    pub addr: SocketAddr,
    database_url: String,
    /// A live key of workspace [`WORKSPACE`]; the default key of every request helper.
    pub key: String,
    /// A test key of workspace [`WORKSPACE`].
    pub test_key: String,
    client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
    guard: Option<DbGuard>,
}

impl TestServer {
    /// Starts the application on a scratch database with a live and a test key for `acme`.
    pub async fn start() -> TestServer {
        let (url, guard) = scratch_database();
        Self::launch(url, Some(guard), None).await
    }

    /// Starts the application on a scratch database with settings changed by `configure`.
    pub async fn start_with(configure: impl FnOnce(&mut Config)) -> TestServer {
        let (url, guard) = scratch_database();
        let mut config = Config::new("127.0.0.1:0", url);
        configure(&mut config);
        Self::launch_config(config, Some(guard), None).await
    }

    /// Starts the application on an existing database URL, with fresh `acme` keys.
    pub async fn start_on(database_url: &str) -> TestServer {
        Self::launch(database_url.to_string(), None, None).await
    }

    /// Stops the server gracefully, then starts it again on the same database; the keys stay.
    pub async fn restart(mut self) -> TestServer {
        let keys = (self.key.clone(), self.test_key.clone());
        let guard = self.guard.take();
        self.stop().await;
        Self::launch(self.database_url.clone(), guard, Some(keys)).await
    }

    /// Signals shutdown and waits until the server has finished and closed its database.
    pub async fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            match tokio::time::timeout(Duration::from_secs(30), task).await {
                Err(_) => panic!("graceful shutdown did not finish within 30 s"),
                Ok(Err(join)) => panic!("the server task failed: {join}"),
                Ok(Ok(Err(e))) => panic!("run_until_stopped returned an error: {e:#}"),
                Ok(Ok(Ok(()))) => {}
            }
        }
    }

    async fn launch(
        database_url: String,
        guard: Option<DbGuard>,
        keys: Option<(String, String)>,
    ) -> TestServer {
        Self::launch_config(Config::new("127.0.0.1:0", database_url), guard, keys).await
    }

    async fn launch_config(
        config: Config,
        guard: Option<DbGuard>,
        keys: Option<(String, String)>,
    ) -> TestServer {
        install_log_sink();
        let database_url = config.database.url.clone();
        let app = Application::build(config)
            .await
            .unwrap_or_else(|e| panic!("building the application on {database_url}: {e:#}"));
        let (key, test_key) = match keys {
            Some(keys) => keys,
            None => (
                create_key(&app, WORKSPACE, "live").await,
                create_key(&app, WORKSPACE, "test").await,
            ),
        };
        let addr = app.local_addr();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(app.run_until_stopped(async move {
            let _ = rx.await;
        }));
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("building the HTTP client");
        TestServer {
            addr,
            database_url,
            key,
            test_key,
            client,
            shutdown: Some(tx),
            task: Some(task),
            guard,
        }
    }

    /// A new key for any workspace and mode (`live` or `test`) of this server's database.
    pub async fn new_key(&self, workspace: &str, mode: &str) -> String {
        // The running Application was moved into its task, so a second one on the same
        // database (never served) makes the key, as `contactd keys create` would.
        let app = Application::build(Config::new("127.0.0.1:0", self.database_url.clone()))
            .await
            .unwrap_or_else(|e| panic!("building a second application for a key: {e:#}"));
        let key = create_key(&app, workspace, mode).await;
        drop(app);
        key
    }

    pub fn database_url(&self) -> &str {
        &self.database_url
    }

    /// Runs one SQL statement on the server's database directly, behind its back (SQLite
    /// or PostgreSQL; write it in the SQL both speak). A `SELECT` returns its first column
    /// of its first row as a number; anything else returns the rows it changed.
    pub async fn sql(&self, statement: &str) -> i64 {
        let select = statement
            .trim_start()
            .to_ascii_uppercase()
            .starts_with("SELECT");
        if let Some(path) = self.database_url.strip_prefix("sqlite://") {
            let conn = rusqlite::Connection::open(path).unwrap();
            conn.busy_timeout(std::time::Duration::from_secs(10))
                .unwrap();
            if select {
                conn.query_row(statement, [], |r| r.get(0)).unwrap()
            } else {
                conn.execute(statement, []).unwrap() as i64
            }
        } else {
            let (client, connection) =
                tokio_postgres::connect(&self.database_url, tokio_postgres::NoTls)
                    .await
                    .unwrap();
            let connection = tokio::spawn(connection);
            let n = if select {
                client.query_one(statement, &[]).await.unwrap().get(0)
            } else {
                client.execute(statement, &[]).await.unwrap() as i64
            };
            drop(client);
            let _ = connection.await;
            n
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Any request: method, path (with query), optional key, raw body and Content-Type.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Option<&[u8]>,
        content_type: Option<&str>,
    ) -> Resp {
        let mut headers = Vec::new();
        if let Some(key) = key {
            headers.push(("X-API-Key", key));
        }
        if let Some(content_type) = content_type {
            headers.push(("Content-Type", content_type));
        }
        self.send(method, path, &headers, body).await
    }

    /// Any request with exactly these headers (no key unless given).
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Resp {
        let method = Method::from_bytes(method.as_bytes()).expect("an HTTP method");
        let mut builder = self.client.request(method, self.url(path));
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        if let Some(body) = body {
            builder = builder.body(body.to_vec());
        }
        let response = builder
            .send()
            .await
            .unwrap_or_else(|e| panic!("sending {path}: {e:?}"));
        Resp::read(response).await
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.get_as(&self.key, path).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Resp {
        self.post_as(&self.key, path, body).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Resp {
        self.put_as(&self.key, path, body).await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        self.delete_as(&self.key, path).await
    }

    pub async fn get_as(&self, key: &str, path: &str) -> Resp {
        self.request("GET", path, Some(key), None, None).await
    }

    pub async fn post_as(&self, key: &str, path: &str, body: &Value) -> Resp {
        self.json_as("POST", key, path, body).await
    }

    pub async fn put_as(&self, key: &str, path: &str, body: &Value) -> Resp {
        self.json_as("PUT", key, path, body).await
    }

    pub async fn delete_as(&self, key: &str, path: &str) -> Resp {
        self.request("DELETE", path, Some(key), None, None).await
    }

    async fn json_as(&self, method: &str, key: &str, path: &str, body: &Value) -> Resp {
        let bytes = serde_json::to_vec(body).expect("serializing a request body");
        self.request(
            method,
            path,
            Some(key),
            Some(&bytes),
            Some("application/json"),
        )
        .await
    }

    /// POST /v2/contact, asserting 201 and the contact's shape.
    pub async fn create_contact(&self, body: Value) -> Value {
        let contact = self.post("/v2/contact", &body).await.expect(201);
        assert_contact_shape(&contact);
        contact
    }

    /// GET /v2/contact/{ref}, asserting 200.
    pub async fn get_contact(&self, contact_ref: &str) -> Value {
        let contact = self.get(&contact_path(contact_ref)).await.expect(200);
        assert_contact_shape(&contact);
        contact
    }

    /// PUT /v2/contact/{ref}, asserting 200.
    pub async fn update_contact(&self, contact_ref: &str, body: Value) -> Value {
        let contact = self
            .put(&contact_path(contact_ref), &body)
            .await
            .expect(200);
        assert_contact_shape(&contact);
        contact
    }

    /// POST /v2/conversation for a contact ref and channel, asserting 201.
    pub async fn create_conversation(&self, contact_ref: &str, channel: &str) -> Value {
        let body = json!({"contact_id": contact_ref, "channel": channel});
        let conversation = self.post("/v2/conversation", &body).await.expect(201);
        assert_conversation_shape(&conversation);
        conversation
    }

    /// GET /v2/conversation/{id}, asserting 200.
    pub async fn get_conversation(&self, id: &str) -> Value {
        let conversation = self
            .get(&format!("/v2/conversation/{id}"))
            .await
            .expect(200);
        assert_conversation_shape(&conversation);
        conversation
    }

    /// POST /v2/conversation/{id}/messages, asserting 201.
    pub async fn post_message(&self, conversation_id: &str, direction: &str, text: &str) -> Value {
        let body = json!({"direction": direction, "text": text});
        let message = self
            .post(
                &format!("/v2/conversation/{conversation_id}/messages"),
                &body,
            )
            .await
            .expect(201);
        assert_message_shape(&message);
        message
    }
}

async fn create_key(app: &Application, workspace: &str, mode: &str) -> String {
    let key = app
        .create_key(workspace, mode)
        .await
        .unwrap_or_else(|e| panic!("creating a {mode} key for {workspace}: {e:#}"));
    assert!(
        key.starts_with(&format!("sk_{mode}_")),
        "a {mode} key starts with sk_{mode}_: {key}"
    );
    key
}

/// `/v2/contact/{ref}` with a phone's `+` sent as `%2B`, as the seed advises.
pub fn contact_path(contact_ref: &str) -> String {
    format!("/v2/contact/{}", contact_ref.replace('+', "%2B"))
}

/// A distinct valid E.164 phone number for each `n`.
pub fn phone(n: u32) -> String {
    format!("+1415555{n:04}")
}

/// Asserts the contract's error envelope and returns `details` (`{}` when absent).
#[track_caller]
pub fn assert_error(resp: &Resp, status: u16, error: &str) -> Value {
    assert_eq!(
        resp.status, status,
        "status {} (wanted {status} {error}); body: {}",
        resp.status, resp.text
    );
    let body = resp
        .body
        .as_object()
        .unwrap_or_else(|| panic!("an error body is a JSON object, got: {:?}", resp.text));
    assert_eq!(
        body.get("error").and_then(Value::as_str),
        Some(error),
        "`error`; body: {}",
        resp.text
    );
    let message = body
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("`message` is a string; body: {}", resp.text));
    assert!(
        !message.trim().is_empty(),
        "`message` is not empty; body: {}",
        resp.text
    );
    let lowered = message.to_lowercase();
    for leak in ["sql", "panicked", "/src/", ".rs:", "stack backtrace"] {
        assert!(
            !lowered.contains(leak),
            "`message` leaks internals ({leak}): {message}"
        );
    }
    assert_eq!(
        body.get("code").and_then(Value::as_u64),
        Some(u64::from(status)),
        "`code` is the HTTP status as a number; body: {}",
        resp.text
    );
    let details = match body.get("details") {
        None => json!({}),
        Some(details @ Value::Object(_)) => details.clone(),
        Some(other) => panic!("`details` is an object when present, got {other}"),
    };
    assert_request_id(resp);
    assert_json_content_type(resp);
    details
}

/// Asserts a 400 `invalid_input` whose `details.field` is `field`; returns `details`.
#[track_caller]
pub fn assert_invalid(resp: &Resp, field: &str) -> Value {
    let details = assert_error(resp, 400, "invalid_input");
    assert_eq!(
        details.get("field").and_then(Value::as_str),
        Some(field),
        "`details.field`; body: {}",
        resp.text
    );
    details
}

#[track_caller]
pub fn assert_request_id(resp: &Resp) {
    let id = resp
        .header("x-request-id")
        .unwrap_or_else(|| panic!("X-Request-Id on a {} response", resp.status));
    assert!(!id.trim().is_empty(), "X-Request-Id is not empty");
}

#[track_caller]
pub fn assert_json_content_type(resp: &Resp) {
    let content_type = resp.header("content-type").unwrap_or("");
    assert!(
        content_type.starts_with("application/json"),
        "a {} response is application/json, got {content_type:?}",
        resp.status
    );
}

/// The fields of a contact, all always present (contract §4).
pub const CONTACT_FIELDS: [&str; 13] = [
    "id",
    "phone",
    "email",
    "first_name",
    "last_name",
    "full_name",
    "preferred_channel",
    "metadata",
    "status",
    "created_at",
    "updated_at",
    "last_contacted",
    "identities",
];

/// Exactly the contract's fields, with their types.
#[track_caller]
pub fn assert_contact_shape(contact: &Value) {
    let object = contact
        .as_object()
        .unwrap_or_else(|| panic!("a contact is an object: {contact}"));
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    let mut expected = CONTACT_FIELDS.to_vec();
    expected.sort_unstable();
    assert_eq!(
        keys, expected,
        "a contact has exactly the contract's fields: {contact}"
    );
    assert_id(&contact["id"], "cnt_");
    for field in ["phone", "email", "first_name", "last_name", "full_name"] {
        assert!(
            contact[field].is_null() || contact[field].is_string(),
            "{field} is a string or null: {contact}"
        );
    }
    let identities = contact["identities"]
        .as_array()
        .unwrap_or_else(|| panic!("identities is an array: {contact}"));
    assert!(
        contact["phone"].is_string() || contact["email"].is_string() || !identities.is_empty(),
        "a contact has a phone, an email or an identity: {contact}"
    );
    let channel = &contact["preferred_channel"];
    assert!(
        channel.is_null()
            || ["whatsapp", "instagram", "sms", "email"].contains(&channel.as_str().unwrap_or("")),
        "preferred_channel: {contact}"
    );
    assert!(
        contact["metadata"].is_object(),
        "metadata is an object: {contact}"
    );
    assert!(
        ["active", "inactive", "deleted"].contains(&contact["status"].as_str().unwrap_or("")),
        "status: {contact}"
    );
    ts(&contact["created_at"]);
    ts(&contact["updated_at"]);
    if !contact["last_contacted"].is_null() {
        ts(&contact["last_contacted"]);
    }
}

/// The conversation fields of contract §5 with their types.
#[track_caller]
pub fn assert_conversation_shape(conversation: &Value) {
    for field in [
        "id",
        "contact_id",
        "channel",
        "status",
        "created_at",
        "updated_at",
        "last_message_at",
        "message_count",
    ] {
        assert!(
            conversation.get(field).is_some(),
            "a conversation has `{field}`: {conversation}"
        );
    }
    assert_id(&conversation["id"], "conv_");
    assert_id(&conversation["contact_id"], "cnt_");
    assert!(
        ["whatsapp", "instagram", "sms", "email"]
            .contains(&conversation["channel"].as_str().unwrap_or("")),
        "channel: {conversation}"
    );
    assert!(
        ["open", "closed", "archived"].contains(&conversation["status"].as_str().unwrap_or("")),
        "status: {conversation}"
    );
    ts(&conversation["created_at"]);
    ts(&conversation["updated_at"]);
    if !conversation["last_message_at"].is_null() {
        ts(&conversation["last_message_at"]);
    }
    assert!(
        conversation["message_count"].is_u64(),
        "message_count is a non-negative integer: {conversation}"
    );
}

/// The message fields of contract §5 with their types.
#[track_caller]
pub fn assert_message_shape(message: &Value) {
    for field in ["id", "conversation_id", "direction", "text", "created_at"] {
        assert!(
            message.get(field).is_some(),
            "a message has `{field}`: {message}"
        );
    }
    assert_id(&message["id"], "msg_");
    assert_id(&message["conversation_id"], "conv_");
    assert!(
        ["inbound", "outbound"].contains(&message["direction"].as_str().unwrap_or("")),
        "direction: {message}"
    );
    assert!(message["text"].is_string(), "text: {message}");
    ts(&message["created_at"]);
}

/// A list response (`data`, `total`, `limit`, `offset`, `has_more`) with these exact values;
/// returns `data`.
#[track_caller]
pub fn assert_list(
    body: &Value,
    total: u64,
    limit: u64,
    offset: u64,
    has_more: bool,
) -> Vec<Value> {
    let data = body["data"]
        .as_array()
        .unwrap_or_else(|| panic!("a list has a `data` array: {body}"));
    assert_eq!(body["total"].as_u64(), Some(total), "total: {body}");
    assert_eq!(body["limit"].as_u64(), Some(limit), "limit: {body}");
    assert_eq!(body["offset"].as_u64(), Some(offset), "offset: {body}");
    assert_eq!(
        body["has_more"].as_bool(),
        Some(has_more),
        "has_more: {body}"
    );
    data.clone()
}

/// The `id` of each item.
pub fn ids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|item| item["id"].as_str().expect("an id").to_string())
        .collect()
}

/// `prefix` then at least 16 characters of `[0-9a-z]`.
#[track_caller]
pub fn assert_id(id: &Value, prefix: &str) {
    let id = id
        .as_str()
        .unwrap_or_else(|| panic!("an id is a string, got {id}"));
    let rest = id
        .strip_prefix(prefix)
        .unwrap_or_else(|| panic!("{id:?} starts with {prefix}"));
    assert!(
        rest.len() >= 16
            && rest
                .chars()
                .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase()),
        "{id:?} is {prefix} then at least 16 of [0-9a-z]"
    );
}

/// An RFC 3339 UTC timestamp (`YYYY-MM-DDTHH:MM:SS[.fraction]Z`), comparable in time order
/// whatever the number of fraction digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ts {
    fields: [u32; 6],
    nanos: u32,
}

/// Parses a timestamp, panicking unless it is RFC 3339 in UTC with a `Z` suffix.
#[track_caller]
pub fn ts(value: &Value) -> Ts {
    let s = value
        .as_str()
        .unwrap_or_else(|| panic!("a timestamp is a string, got {value}"));
    parse_ts(s).unwrap_or_else(|| panic!("{s:?} is RFC 3339, UTC, with a Z suffix"))
}

fn parse_ts(s: &str) -> Option<Ts> {
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = s.get(range)?;
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    let fields = [
        num(0..4)?,
        num(5..7)?,
        num(8..10)?,
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
    ];
    let in_range = (1..=12).contains(&fields[1])
        && (1..=31).contains(&fields[2])
        && fields[3] < 24
        && fields[4] < 60
        && fields[5] < 61;
    if !in_range {
        return None;
    }
    let rest = &s[19..];
    let fraction = match rest.strip_suffix('Z')? {
        "" => "",
        f => f.strip_prefix('.')?,
    };
    if fraction.len() > 9 || !fraction.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    if rest.len() > 1 && fraction.is_empty() {
        return None;
    }
    let nanos = format!("{fraction:0<9}").parse().ok()?;
    Some(Ts { fields, nanos })
}

/// An object nested `depth` levels deep: depth 1 is `{"k": 1}`, depth 2 `{"k": {"k": 1}}`.
pub fn nested_object(depth: usize) -> Value {
    let mut value = json!(1);
    for _ in 0..depth {
        value = json!({ "k": value });
    }
    value
}

#[cfg(test)]
mod tests {
    use super::parse_ts;

    #[test]
    fn timestamps_parse_and_order() {
        assert!(parse_ts("2026-01-25T10:30:00Z").is_some());
        assert!(parse_ts("2026-01-25T10:30:00.123456Z").is_some());
        assert!(parse_ts("2026-01-25T10:30:00+00:00").is_none());
        assert!(parse_ts("2026-01-25 10:30:00Z").is_none());
        assert!(parse_ts("2026-01-25T10:30:00.Z").is_none());
        assert!(parse_ts("2026-01-25T10:30:00Z") < parse_ts("2026-01-25T10:30:00.5Z"));
        assert!(parse_ts("2026-01-25T10:30:00.5Z") == parse_ts("2026-01-25T10:30:00.500000Z"));
    }
}

/// What the server logged while a [`LogCapture`] lived.
#[derive(Clone, Default)]
pub struct Logs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Logs {
    pub fn text(&self) -> String {
        let bytes = self.0.lock().unwrap_or_else(|e| e.into_inner());
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut bytes = self.0.lock().unwrap_or_else(|e| e.into_inner());
        bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Keeps the capture of [`capture_logs`] on; dropping it stops it.
pub struct LogCapture {
    pub logs: Logs,
}

impl Drop for LogCapture {
    fn drop(&mut self) {
        CAPTURE.with(|c| *c.borrow_mut() = None);
    }
}

thread_local! {
    /// Where this thread's log lines go while a [`LogCapture`] lives.
    static CAPTURE: std::cell::RefCell<Option<Logs>> = const { std::cell::RefCell::new(None) };
}

/// One process-wide subscriber, installed before any server logs, whose lines go to the
/// capture of the thread that emits them (or nowhere). A subscriber per test
/// (`set_default`) made tracing recompute which call sites are enabled whenever one came
/// or went, and a line was now and then lost to that race.
fn install_log_sink() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_ansi(false)
            .with_writer(|| {
                CAPTURE.with(|c| c.borrow().clone()).map_or_else(
                    || Box::new(std::io::sink()) as Box<dyn std::io::Write>,
                    |logs| Box::new(logs) as Box<dyn std::io::Write>,
                )
            })
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
    });
}

/// Captures the server's info logs of this test. A `#[tokio::test]` runs on one thread and
/// the server's tasks with it, so the lines of this thread are this test's and no other's.
pub fn capture_logs() -> LogCapture {
    install_log_sink();
    let logs = Logs::default();
    CAPTURE.with(|c| *c.borrow_mut() = Some(logs.clone()));
    LogCapture { logs }
}

/// Runs `check` for `cases` random seeds, each in a fresh workspace named `{prefix}-{n}`
/// with its own key (shrinking would rerun a seed against the contacts of its first run,
/// so cases are reported unshrunk, by seed); panics with the first failure.
pub async fn run_seeded_cases(
    server: &TestServer,
    cases: u32,
    prefix: &str,
    check: impl for<'a> Fn(
        &'a TestServer,
        &'a str,
        u64,
    ) -> futures::future::BoxFuture<'a, Result<(), String>>,
) {
    use proptest::prelude::any;
    use proptest::test_runner::{Config as Cases, TestCaseError, TestRunner};
    let runtime = tokio::runtime::Handle::current();
    let mut runner = TestRunner::new(Cases {
        cases,
        failure_persistence: None,
        max_shrink_iters: 0,
        ..Cases::default()
    });
    let case = std::sync::atomic::AtomicUsize::new(0);
    let result = runner.run(&any::<u64>(), |seed| {
        let n = case.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let workspace = format!("{prefix}-{n}");
        tokio::task::block_in_place(|| {
            runtime.block_on(async {
                let key = server.new_key(&workspace, "test").await;
                check(server, &key, seed).await
            })
        })
        .map_err(|e| TestCaseError::fail(format!("seed {seed}: {e}")))
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
