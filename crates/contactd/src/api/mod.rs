//! The HTTP API: the router, one module per resource, and the extractors they share.

mod auth;
mod client_ip;
mod contact;
mod conversation;
mod doc_types;
mod duplicates;
mod events;
mod extract;
mod health;
mod idempotency;
mod merge;
mod metrics;
mod openapi;
mod ratelimit;
mod segment;
mod webhook;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::MatchedPath;
use axum::http::{header, HeaderValue, Request};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{
    MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

pub use self::auth::{watch_revocations, REVOCATION_CHECK};
use self::client_ip::TrustedProxies;
pub use self::idempotency::prune_idempotency_keys;
use self::metrics::MetricsAccess;
pub use self::ratelimit::Rate;
use self::ratelimit::RateLimiter;
use crate::config::MetricsToken;
use crate::domain::api_key::KeyHash;
use crate::domain::time::Timestamp;
use crate::error::ApiError;
use crate::store::Store;

/// How often a key's `last_used_at` is written at most: once a minute is enough for
/// operators and keeps reads from turning into writes.
const KEY_TOUCH_INTERVAL: Duration = Duration::from_secs(60);

/// How often [`upkeep`] runs.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(10);

/// Per-request limits of the API.
#[derive(Debug, Clone, Copy)]
pub struct RequestLimits {
    /// Largest body, in bytes.
    pub body_limit: usize,
    /// How long a client may take to send the body.
    pub body_timeout: Duration,
    /// How long a request may run once its body is read.
    pub request_timeout: Duration,
    /// Requests per key: rate and burst; None for no limit.
    pub per_key: Option<Rate>,
    /// Failed authentications per client address: rate and burst.
    pub auth_failures: Rate,
}

/// The change feed and webhook settings the API needs.
#[derive(Debug, Clone, Copy)]
pub struct EventSettings {
    /// Events older than this many days are pruned.
    pub retention_days: f64,
    /// Webhook URLs may resolve to private, loopback and link-local addresses (tests).
    pub allow_private: bool,
}

/// Whose word about the client is taken, and who may read `/metrics`.
#[derive(Debug, Clone, Default)]
pub struct Access {
    /// Reverse proxies whose `X-Forwarded-For` / `Forwarded` name the client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// The token `/metrics` wants; without one it answers loopback clients only.
    pub metrics_token: Option<MetricsToken>,
}

/// What every handler and middleware shares, behind one `Arc`: axum clones the state for
/// each extractor and layer of every request, and one reference count is cheaper to clone
/// than ten.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

pub struct Shared {
    pub store: Arc<dyn Store>,
    pub body_limit: usize,
    pub body_timeout: Duration,
    request_timeout: Duration,
    key_touches: Arc<Mutex<HashMap<KeyHash, Instant>>>,
    known_keys: Arc<auth::KnownKeys>,
    key_cache: Arc<auth::KeyCache>,
    metrics: Arc<metrics::Metrics>,
    limiter: Arc<RateLimiter>,
    trusted_proxies: Arc<TrustedProxies>,
    metrics_access: Arc<MetricsAccess>,
    /// Woken when a write through this server may have added events: waiting feed
    /// readers and the delivery worker look again.
    pub events: Arc<tokio::sync::Notify>,
    event_retention_days: f64,
    allow_private: bool,
}

impl AppState {
    pub fn new(
        store: Arc<dyn Store>,
        limits: RequestLimits,
        access: Access,
        events: EventSettings,
    ) -> AppState {
        AppState(Arc::new(Shared {
            store,
            body_limit: limits.body_limit,
            body_timeout: limits.body_timeout,
            request_timeout: limits.request_timeout,
            key_touches: Arc::default(),
            known_keys: Arc::default(),
            key_cache: Arc::default(),
            metrics: Arc::default(),
            limiter: Arc::new(RateLimiter::new(limits.per_key, limits.auth_failures)),
            trusted_proxies: Arc::new(TrustedProxies::new(access.trusted_proxies)),
            metrics_access: Arc::new(MetricsAccess::new(access.metrics_token.as_ref())),
            events: Arc::default(),
            event_retention_days: events.retention_days,
            allow_private: events.allow_private,
        }))
    }
}

impl Shared {
    /// Counts a finished delivery attempt by its outcome (`succeeded`, `retrying`,
    /// `failed`).
    pub fn count_delivery(&self, outcome: &'static str) {
        self.metrics.count_delivery(outcome);
    }

    /// Records that a key was used, in the background and at most once a minute.
    fn note_key_use(&self, hash: KeyHash) {
        let now = Instant::now();
        {
            let mut touches = self.key_touches.lock().unwrap_or_else(|e| e.into_inner());
            match touches.get(&hash) {
                Some(last) if now.duration_since(*last) < KEY_TOUCH_INTERVAL => return,
                _ => touches.insert(hash, now),
            };
        }
        let store = self.store.clone();
        tokio::spawn(async move {
            if let Err(e) = store.touch_key(hash, Timestamp::now()).await {
                tracing::warn!(error = %e, "could not record key use");
            }
        });
    }
}

/// Bounds the memory the metrics and the rate limits keep (samples between scrapes, buckets
/// of keys and addresses no longer limited), for as long as the server runs.
pub async fn upkeep(state: AppState) {
    let mut every = tokio::time::interval(UPKEEP_INTERVAL);
    loop {
        every.tick().await;
        state.metrics.upkeep();
        state.limiter.forget_full_buckets();
    }
}

pub fn router(state: AppState) -> Router {
    let public = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::metrics))
        .route(openapi::SPEC_PATH, get(openapi::spec))
        .merge(openapi::docs_page())
        .merge(crate::console::router(state.store.clone()));
    let authenticated = Router::new()
        .route("/v2/contact", get(contact::list).post(contact::create))
        .route("/v2/contact/count", get(contact::count))
        .route("/v2/contact/upsert", post(contact::upsert))
        .route("/v2/contact/batch", post(contact::batch))
        .route(
            "/v2/contact/{ref}",
            get(contact::get)
                .put(contact::update)
                .delete(contact::delete),
        )
        .route(
            "/v2/contact/{ref}/conversations",
            get(conversation::list_for_contact),
        )
        .route("/v2/contact/{ref}/identities", post(contact::add_identity))
        .route("/v2/contact/{ref}/merge", post(merge::merge))
        .route("/v2/contact/{ref}/merges", get(merge::list))
        .route("/v2/merge/{id}/undo", post(merge::undo))
        .route("/v2/contact/{ref}/duplicates", get(duplicates::of_contact))
        .route("/v2/duplicates", get(duplicates::list))
        .route(
            "/v2/contact/{ref}/identities/{identity}",
            axum::routing::delete(contact::remove_identity),
        )
        .route("/v2/segment", get(segment::list).post(segment::create))
        .route(
            "/v2/segment/{id}",
            get(segment::get)
                .put(segment::update)
                .delete(segment::delete),
        )
        .route("/v2/segment/{id}/contacts", get(segment::contacts))
        .route("/v2/events", get(events::list))
        .route("/v2/webhook", get(webhook::list).post(webhook::create))
        .route(
            "/v2/webhook/{id}",
            get(webhook::get)
                .put(webhook::update)
                .delete(webhook::delete),
        )
        .route(
            "/v2/webhook/{id}/rotate-secret",
            post(webhook::rotate_secret),
        )
        .route("/v2/webhook/{id}/deliveries", get(webhook::deliveries))
        .route(
            "/v2/webhook/{id}/deliveries/{delivery_id}/retry",
            post(webhook::retry),
        )
        .route("/v2/conversation", post(conversation::create))
        .route(
            "/v2/conversation/{id}",
            get(conversation::get).put(conversation::update),
        )
        .route(
            "/v2/conversation/{id}/messages",
            get(conversation::list_messages).post(conversation::create_message),
        )
        // The last layer runs first: authenticate, then the idempotency key.
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            idempotency::idempotency,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            wake_on_write,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate_request,
        ));
    let routes = public
        .merge(authenticated)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            request_deadline,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .with_state(state);

    routes.layer(
        ServiceBuilder::new()
            .map_request(drop_unusable_request_id)
            .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(request_span)
                    .on_request(())
                    .on_response(
                        |res: &axum::http::Response<_>,
                         latency: Duration,
                         _span: &tracing::Span| {
                            tracing::info!(
                                status = res.status().as_u16(),
                                latency_us = latency.as_micros() as u64,
                                "request"
                            );
                        },
                    )
                    .on_failure(()),
            )
            .layer(PropagateRequestIdLayer::x_request_id())
            .layer(SetResponseHeaderLayer::overriding(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ))
            .layer(SetResponseHeaderLayer::if_not_present(
                header::CACHE_CONTROL,
                HeaderValue::from_static("no-store"),
            ))
            .layer(CatchPanicLayer::custom(on_panic)),
    )
}

/// Longest `X-Request-Id` a client may choose; it is echoed and logged with every line.
const MAX_REQUEST_ID: usize = 128;

/// Removes a client's `X-Request-Id` that is too long or not made of `[A-Za-z0-9._:-]`,
/// so that a new one is made: an id is echoed in the answer and written to every log line
/// of the request, and must not let a client without a key fill the logs.
fn drop_unusable_request_id<B>(mut req: Request<B>) -> Request<B> {
    let usable = req.headers().get("x-request-id").is_none_or(|id| {
        let bytes = id.as_bytes();
        (1..=MAX_REQUEST_ID).contains(&bytes.len())
            && bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || b".:_-".contains(b))
    });
    if !usable {
        tracing::debug!("the client's X-Request-Id is unusable; a new one is made");
        req.headers_mut().remove("x-request-id");
    }
    req
}

/// The log span of a request names its route pattern, never the path itself: a path can
/// hold a phone number or an email.
fn request_span<B>(req: &Request<B>) -> tracing::Span {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str);
    let request_id = req
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or("");
    tracing::info_span!("http", method = %req.method(), route, request_id)
}

fn on_panic(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    ApiError::Internal(anyhow::anyhow!("a request handler panicked")).into_response()
}

/// Answers 503 when a request runs past its deadline, so that no client waits forever on
/// a stuck database.
async fn request_deadline(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    match tokio::time::timeout(state.request_timeout, next.run(req)).await {
        Ok(response) => response,
        Err(_) => {
            ApiError::Unavailable("The request took too long; retry later".into()).into_response()
        }
    }
}

/// Wakes the feed's waiting readers and the delivery worker after a write succeeded.
async fn wake_on_write(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let writes = !matches!(
        *req.method(),
        axum::http::Method::GET | axum::http::Method::HEAD
    );
    let response = next.run(req).await;
    if writes && response.status().is_success() {
        state.events.notify_waiters();
    }
    response
}

async fn not_found() -> ApiError {
    ApiError::not_found_route()
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
