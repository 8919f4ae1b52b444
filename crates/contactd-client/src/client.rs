//! The client and the one path every request takes: headers, the idempotency key of a
//! `POST`, retries with backoff on `429`, `503` and failed connections, and the mapping of
//! error answers to [`Error`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use reqwest::header::{HeaderMap, ETAG, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::contacts::Contacts;
use crate::conversations::Conversations;
use crate::error::{envelope_of_status, into_error_with, ApiError, Error, Result};
use crate::models::Contact;
use crate::segments::Segments;

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_MAX_RETRIES: u32 = 3;
const DEFAULT_BASE_BACKOFF: Duration = Duration::from_millis(250);
const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(30);
const USER_AGENT: &str = concat!("contactd-client/", env!("CARGO_PKG_VERSION"));

/// Everything but the unreserved characters and `@` is escaped in a path segment, so that
/// a phone's `+` travels as `%2B` and an email stays readable.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'@');

/// A client of one contactd server, with one API key. Cheap to clone: clones share the
/// connection pool.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base_url: String,
    api_key: String,
    timeout: Option<Duration>,
    retry: RetryPolicy,
}

/// Retry settings: how many times, and how long to wait between tries.
#[derive(Debug, Clone, Copy)]
struct RetryPolicy {
    max_retries: u32,
    base_backoff: Duration,
    max_backoff: Duration,
}

impl Client {
    /// A client of the server at `base_url` (e.g. `http://127.0.0.1:8080`, without `/v2`)
    /// authenticating with `api_key` (`sk_live_…` or `sk_test_…`), with the defaults of
    /// [`ClientBuilder`].
    pub fn new(base_url: impl Into<String>, api_key: impl Into<String>) -> Client {
        ClientBuilder::new(base_url, api_key).build()
    }

    /// A builder to set the timeout, the retries or the HTTP client.
    pub fn builder(base_url: impl Into<String>, api_key: impl Into<String>) -> ClientBuilder {
        ClientBuilder::new(base_url, api_key)
    }

    /// The contacts of the key's workspace.
    pub fn contacts(&self) -> Contacts<'_> {
        Contacts::new(self)
    }

    /// The conversations and messages of the key's workspace.
    pub fn conversations(&self) -> Conversations<'_> {
        Conversations::new(self)
    }

    /// The saved segments of the key's workspace, and their contacts.
    pub fn segments(&self) -> Segments<'_> {
        Segments::new(self)
    }

    /// Webhook endpoints and their deliveries.
    pub fn webhooks(&self) -> crate::Webhooks<'_> {
        crate::Webhooks::new(self)
    }

    /// The change feed.
    pub fn events(&self) -> crate::Events<'_> {
        crate::Events::new(self)
    }

    /// The server's base URL, as given.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// Sends one API call, retrying it when that is safe, and returns the success answer
    /// or the error it stands for.
    pub(crate) async fn send(&self, call: Call) -> Result<Reply> {
        let idempotency_key = (call.method == Method::POST).then(|| {
            call.idempotency_key
                .clone()
                .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
        });
        let policy = self.inner.retry;
        let mut attempt = 0;
        loop {
            let outcome = self.send_once(&call, idempotency_key.as_deref()).await;
            let wait = match &outcome {
                Ok(reply) => retry_delay(reply, attempt, &policy),
                Err(e) if is_retryable_transport(e, &call.method) => Some(policy.backoff(attempt)),
                Err(_) => None,
            };
            match wait {
                Some(wait) if attempt < policy.max_retries => {
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                _ => return outcome.map_err(Error::Transport)?.into_result(),
            }
        }
    }

    async fn send_once(
        &self,
        call: &Call,
        idempotency_key: Option<&str>,
    ) -> std::result::Result<Reply, reqwest::Error> {
        let url = format!("{}{}", self.inner.base_url, call.path);
        let mut request = self
            .inner
            .http
            .request(call.method.clone(), url)
            .header("X-API-Key", &self.inner.api_key)
            .header(reqwest::header::ACCEPT, "application/json")
            .header(reqwest::header::USER_AGENT, USER_AGENT);
        if !call.query.is_empty() {
            request = request.query(&call.query);
        }
        if let Some(timeout) = self.inner.timeout {
            request = request.timeout(timeout);
        }
        if let Some(key) = idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        if let Some(etag) = &call.if_match {
            request = request.header(reqwest::header::IF_MATCH, etag);
        }
        if let Some(body) = &call.body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        let response = request.send().await?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await?.to_vec();
        Ok(Reply {
            status,
            headers,
            body,
        })
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The key's prefix (`sk_live_`, `sk_test_`) says which data it reaches; the rest
        // is a secret.
        let shown: String = self.inner.api_key.chars().take(8).collect();
        f.debug_struct("Client")
            .field("base_url", &self.inner.base_url)
            .field("api_key", &format_args!("{shown}…"))
            .field("timeout", &self.inner.timeout)
            .field("retry", &self.inner.retry)
            .finish()
    }
}

/// Settings of a [`Client`]. Every setting has a default.
///
/// ```
/// use std::time::Duration;
/// use contactd_client::Client;
///
/// let client = Client::builder("http://127.0.0.1:8080", "sk_live_…")
///     .timeout(Duration::from_secs(10))
///     .max_retries(5)
///     .base_backoff(Duration::from_millis(100))
///     .build();
/// ```
#[derive(Debug)]
pub struct ClientBuilder {
    base_url: String,
    api_key: String,
    http: Option<reqwest::Client>,
    timeout: Option<Duration>,
    retry: RetryPolicy,
}

impl ClientBuilder {
    /// The defaults: a 30 s timeout per try, 3 retries, backoff from 250 ms up to 30 s.
    pub fn new(base_url: impl Into<String>, api_key: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            base_url: base_url.into(),
            api_key: api_key.into(),
            http: None,
            timeout: Some(DEFAULT_TIMEOUT),
            retry: RetryPolicy {
                max_retries: DEFAULT_MAX_RETRIES,
                base_backoff: DEFAULT_BASE_BACKOFF,
                max_backoff: DEFAULT_MAX_BACKOFF,
            },
        }
    }

    /// The longest one try may take, from sending to the end of the answer.
    pub fn timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.timeout = Some(timeout);
        self
    }

    /// No timeout of the client's own (a custom HTTP client's still applies).
    pub fn no_timeout(mut self) -> ClientBuilder {
        self.timeout = None;
        self
    }

    /// How many times a call is tried again after a `429`, a `503` or a failed connection
    /// (default 3; 0 turns retries off).
    pub fn max_retries(mut self, max_retries: u32) -> ClientBuilder {
        self.retry.max_retries = max_retries;
        self
    }

    /// The wait before the first retry when the server gave no `Retry-After`; it doubles
    /// on each retry, with jitter (each wait is between half and all of it).
    pub fn base_backoff(mut self, base_backoff: Duration) -> ClientBuilder {
        self.retry.base_backoff = base_backoff;
        self
    }

    /// The longest wait between two tries (default 30 s). A `Retry-After` longer than
    /// this is not waited for: the call fails with the error at once.
    pub fn max_backoff(mut self, max_backoff: Duration) -> ClientBuilder {
        self.retry.max_backoff = max_backoff;
        self
    }

    /// Sends through this HTTP client (proxies, TLS roots, connection pool settings).
    pub fn http_client(mut self, http: reqwest::Client) -> ClientBuilder {
        self.http = Some(http);
        self
    }

    /// The client.
    pub fn build(self) -> Client {
        Client {
            inner: Arc::new(Inner {
                http: self.http.unwrap_or_default(),
                base_url: self.base_url.trim_end_matches('/').to_owned(),
                api_key: self.api_key,
                timeout: self.timeout,
                retry: self.retry,
            }),
        }
    }
}

impl RetryPolicy {
    /// `base × 2^attempt`, at most `max_backoff`, then a random point of its upper half.
    fn backoff(&self, attempt: u32) -> Duration {
        let full = self
            .base_backoff
            .saturating_mul(2u32.saturating_pow(attempt))
            .min(self.max_backoff);
        let half = full / 2;
        half + full.saturating_sub(half).mul_f64(rand::random::<f64>())
    }
}

/// How long to wait before trying a `429` or `503` answer again; `None` for any other
/// answer, and for a `Retry-After` longer than the policy allows.
fn retry_delay(reply: &Reply, attempt: u32, policy: &RetryPolicy) -> Option<Duration> {
    if !matches!(
        reply.status,
        StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
    ) {
        return None;
    }
    match reply.retry_after() {
        Some(wait) if wait > policy.max_backoff => None,
        Some(wait) => Some(wait),
        None => Some(policy.backoff(attempt)),
    }
}

/// A request that never reached the server can always be sent again; one that timed out
/// may have run, which is harmless for everything but a delete (a `POST` carries its
/// idempotency key, a `PUT` of the same fields lands on the same state).
fn is_retryable_transport(e: &reqwest::Error, method: &Method) -> bool {
    e.is_connect() || (e.is_timeout() && *method != Method::DELETE)
}

/// The `/v2/...` path of one segment-escaped reference, e.g. `/v2/contact/%2B1415…`.
pub(crate) fn path(prefix: &str, reference: &str, suffix: &str) -> Result<String> {
    escaped_path(
        prefix,
        reference,
        suffix,
        "ref",
        "a contact id, an E.164 phone or an email",
    )
}

/// Like [`path`], for an object named by its id alone (a segment's `seg_…`).
pub(crate) fn id_path(prefix: &str, id: &str, suffix: &str) -> Result<String> {
    escaped_path(prefix, id, suffix, "id", "an id")
}

fn escaped_path(
    prefix: &str,
    reference: &str,
    suffix: &str,
    field: &str,
    expected: &str,
) -> Result<String> {
    // "." and ".." would be resolved away by the URL parser and reach another route.
    if matches!(reference, "" | "." | "..") {
        return Err(Error::InvalidInput {
            field: Some(field.to_owned()),
            received: Some(reference.into()),
            expected: Some(expected.into()),
            message: format!("The {field} is empty or a dot segment"),
        });
    }
    Ok(format!(
        "{prefix}/{}{suffix}",
        utf8_percent_encode(reference, SEGMENT)
    ))
}

/// One API call, as sent on each try.
pub(crate) struct Call {
    method: Method,
    path: String,
    query: Vec<(String, String)>,
    body: Option<Vec<u8>>,
    idempotency_key: Option<String>,
    if_match: Option<String>,
}

impl Call {
    pub(crate) fn new(method: Method, path: impl Into<String>) -> Call {
        Call {
            method,
            path: path.into(),
            query: Vec::new(),
            body: None,
            idempotency_key: None,
            if_match: None,
        }
    }

    pub(crate) fn get(path: impl Into<String>) -> Call {
        Call::new(Method::GET, path)
    }

    pub(crate) fn post(path: impl Into<String>) -> Call {
        Call::new(Method::POST, path)
    }

    pub(crate) fn query(mut self, query: Vec<(String, String)>) -> Call {
        self.query = query;
        self
    }

    pub(crate) fn json(mut self, body: &impl Serialize) -> Result<Call> {
        let bytes = serde_json::to_vec(body).map_err(Error::Encode)?;
        self.body = Some(bytes);
        Ok(self)
    }

    pub(crate) fn idempotency_key(mut self, key: Option<&str>) -> Call {
        self.idempotency_key = key.map(str::to_owned);
        self
    }

    pub(crate) fn if_match(mut self, etag: Option<&str>) -> Call {
        self.if_match = etag.map(str::to_owned);
        self
    }
}

/// An answer read to the end.
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    /// The answer when it is a success, else the error its envelope stands for.
    fn into_result(self) -> Result<Reply> {
        if self.status.is_success() {
            return Ok(self);
        }
        let retry_after = self.retry_after();
        let status = self.status.as_u16();
        let envelope = serde_json::from_slice::<ApiError>(&self.body)
            .unwrap_or_else(|_| envelope_of_status(status, &self.body));
        Err(into_error_with(envelope, retry_after))
    }

    /// `Retry-After` in seconds (the HTTP-date form is not used by contactd).
    fn retry_after(&self) -> Option<Duration> {
        self.headers
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs)
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub(crate) fn json<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|source| Error::Decode {
            status: self.status.as_u16(),
            source,
        })
    }

    /// The contact of the answer, with its `ETag`.
    pub(crate) fn contact(&self) -> Result<Contact> {
        let mut contact: Contact = self.json()?;
        contact.etag = self
            .headers
            .get(ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Ok(contact)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs_are_escaped_as_one_path_segment() {
        assert_eq!(
            path("/v2/contact", "+14155550123", "").unwrap(),
            "/v2/contact/%2B14155550123"
        );
        assert_eq!(
            path("/v2/contact", "John.Doe@example.com", "/conversations").unwrap(),
            "/v2/contact/John.Doe@example.com/conversations"
        );
        assert_eq!(
            path("/v2/contact", "a/b?c#d e", "").unwrap(),
            "/v2/contact/a%2Fb%3Fc%23d%20e"
        );
        for bad in ["", ".", ".."] {
            assert!(matches!(
                path("/v2/contact", bad, ""),
                Err(Error::InvalidInput { .. })
            ));
            assert!(matches!(
                id_path("/v2/segment", bad, "/contacts"),
                Err(Error::InvalidInput { field: Some(f), .. }) if f == "id"
            ));
        }
        assert_eq!(
            id_path("/v2/segment", "seg_abc", "/contacts").unwrap(),
            "/v2/segment/seg_abc/contacts"
        );
    }

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let policy = RetryPolicy {
            max_retries: 5,
            base_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(1000),
        };
        for _ in 0..100 {
            let first = policy.backoff(0);
            assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
            let third = policy.backoff(2);
            assert!(third >= Duration::from_millis(200) && third <= Duration::from_millis(400));
            assert!(policy.backoff(30) <= Duration::from_millis(1000));
        }
    }
}
