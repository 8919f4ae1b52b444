//! Prometheus metrics at `GET /metrics`: requests by route, method and status, latency
//! histograms by route, and the database's queue and pool gauges.
//!
//! Routes are the patterns (`/v2/contact/{ref}`), never the paths, and methods outside the
//! standard ones are all `other`, so no phone number or email reaches a label and no client
//! can add series.
//!
//! The counts span every tenant, so `/metrics` is not for everyone: with `--metrics-token`
//! it wants that token, without one it answers loopback clients only.

use std::net::IpAddr;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};
use sha2::{Digest, Sha256};

use super::{client_ip, AppState};
use crate::config::MetricsToken;
use crate::domain::time::Timestamp;
use crate::error::ApiError;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

const REQUESTS: &str = "contactd_http_requests_total";
const DURATION: &str = "contactd_http_request_duration_seconds";
const IDEMPOTENCY_CLAIMS: &str = "contactd_idempotency_claims_total";
const DELIVERIES: &str = "contactd_webhook_deliveries_total";
const READS_STOPPED: &str = "contactd_db_reads_stopped_total";

/// The metrics of one server, in a Prometheus recorder of its own rather than the
/// process-wide one, so that servers sharing a process (the tests) count apart.
///
/// Series are kept by the recorder's sharded registry: recording a request takes no lock
/// that other requests wait on.
pub struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
}

impl Default for Metrics {
    fn default() -> Self {
        // Only an empty list of buckets is refused.
        let recorder = PrometheusBuilder::new().set_buckets(&BUCKETS).map_or_else(
            |_| PrometheusBuilder::new().build_recorder(),
            PrometheusBuilder::build_recorder,
        );
        let handle = recorder.handle();
        let metrics = Metrics { recorder, handle };
        metrics.with(|| {
            describe_counter!(
                IDEMPOTENCY_CLAIMS,
                "Idempotency keys claimed (first runs and takeovers)."
            );
            describe_counter!(
                REQUESTS,
                "HTTP requests by route pattern, method and status."
            );
            describe_histogram!(DURATION, "Time to answer, by route pattern.");
            describe_counter!(
                DELIVERIES,
                "Webhook delivery attempts by outcome: succeeded, retrying (failed, another \
                 attempt is scheduled) or failed (retries ran out)."
            );
            describe_counter!(
                READS_STOPPED,
                "Lists and counts stopped inside the database before they finished: their \
                 request ended first (deadline passed, client gone) or they ran past the \
                 query budget (--db-statement-timeout-ms)."
            );
            // Shown from the start, at 0: a counter that appears later reads as a reset.
            counter!(IDEMPOTENCY_CLAIMS).absolute(0);
            counter!(READS_STOPPED).absolute(0);
            for outcome in ["succeeded", "retrying", "failed"] {
                counter!(DELIVERIES, "outcome" => outcome).absolute(0);
            }
        });
        metrics
    }
}

impl Metrics {
    /// Runs `f` with this server's recorder behind the `metrics` macros.
    fn with<T>(&self, f: impl FnOnce() -> T) -> T {
        metrics::with_local_recorder(&self.recorder, f)
    }

    fn record(&self, route: String, method: &'static str, status: u16, seconds: f64) {
        self.with(|| {
            counter!(REQUESTS, "route" => route.clone(), "method" => method, "status" => status.to_string())
                .increment(1);
            histogram!(DURATION, "route" => route).record(seconds);
        });
    }

    /// Counts a claim of an idempotency key (each a database write, or a transaction on
    /// PostgreSQL).
    pub fn count_idempotency_claim(&self) {
        self.with(|| counter!(IDEMPOTENCY_CLAIMS).increment(1));
    }

    /// Counts a webhook delivery attempt by its outcome.
    pub fn count_delivery(&self, outcome: &'static str) {
        self.with(|| counter!(DELIVERIES, "outcome" => outcome).increment(1));
    }

    /// Moves the latency samples recorded since the last call into their histograms;
    /// without it they pile up until the next scrape.
    pub fn upkeep(&self) {
        self.handle.run_upkeep();
    }

    /// Renders the metrics, with the store's gauges and its count of stopped reads.
    fn render(&self, gauges: &[(&'static str, &'static str, f64)], reads_stopped: u64) -> String {
        self.with(|| {
            counter!(READS_STOPPED).absolute(reads_stopped);
            for &(name, help, value) in gauges {
                describe_gauge!(name, help);
                gauge!(name).set(value);
            }
        });
        self.handle.render()
    }
}

/// The methods that keep their own label; any other is `other`.
static STANDARD_METHODS: [Method; 9] = [
    Method::GET,
    Method::HEAD,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
    Method::OPTIONS,
    Method::CONNECT,
    Method::TRACE,
];

fn method_label(method: &Method) -> &'static str {
    STANDARD_METHODS
        .iter()
        .find(|m| *m == method)
        .map_or("other", Method::as_str)
}

/// Records every request, answered by a route or not.
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = method_label(req.method());
    let started = Instant::now();
    let response = next.run(req).await;
    state.metrics.record(
        route,
        method,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

/// Who may read `/metrics`.
pub enum MetricsAccess {
    /// Whoever presents the token, whose SHA-256 is kept: comparing digests of equal length
    /// in constant time tells nothing of the token's length or content.
    Token([u8; 32]),
    /// No token was configured: loopback clients only.
    LoopbackOnly,
}

impl MetricsAccess {
    pub fn new(token: Option<&MetricsToken>) -> MetricsAccess {
        match token {
            Some(token) => MetricsAccess::Token(Sha256::digest(token.secret()).into()),
            None => MetricsAccess::LoopbackOnly,
        }
    }

    /// Whether a request may read the metrics. `peer` is the connection's other end,
    /// `client` the address behind trusted proxies; without a token both must be loopback,
    /// so that a proxy on the same host does not open the metrics to everyone it serves.
    fn check(
        &self,
        authorization: Option<&HeaderValue>,
        peer: Option<IpAddr>,
        client: Option<IpAddr>,
    ) -> Result<(), ApiError> {
        match self {
            MetricsAccess::Token(expected) => {
                let presented = authorization
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.split_once(' '))
                    .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                    .map(|(_, token)| Sha256::digest(token.trim()));
                match presented {
                    Some(digest) if constant_time_eq(&digest, expected) => Ok(()),
                    _ => Err(ApiError::Unauthorized(
                        "Missing or wrong metrics token: send Authorization: Bearer TOKEN",
                    )),
                }
            }
            MetricsAccess::LoopbackOnly => {
                let loopback = |ip: Option<IpAddr>| ip.is_some_and(|ip| ip.is_loopback());
                if loopback(peer) && loopback(client) {
                    Ok(())
                } else {
                    Err(ApiError::NotFound(
                        "Metrics are served to loopback clients only; start contactd with \
                         --metrics-token to read them from elsewhere"
                            .into(),
                    ))
                }
            }
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Prometheus metrics
///
/// Requests by route and status, latency histograms, pool and write-queue gauges, in the
/// Prometheus text format. With `--metrics-token`, send `Authorization: Bearer TOKEN`;
/// without it, only clients on the loopback interface are answered.
#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "getMetrics",
    tag = "service",
    security(()),
    responses(
        (status = 200, description = "The metrics", content_type = "text/plain; version=0.0.4", body = String),
        (status = 401, description = "`unauthorized`: a metrics token is configured and the request does not carry it as `Authorization: Bearer TOKEN`", body = contactd_wire::ErrorBody),
        (status = 404, description = "`not_found`: no metrics token is configured and the client is not on the loopback interface", body = contactd_wire::ErrorBody),
    ),
)]
pub async fn metrics(State(state): State<AppState>, req: Request) -> Response {
    let peer = client_ip::peer(req.extensions());
    let client = state
        .trusted_proxies
        .client_of(req.extensions(), req.headers());
    let authorization = req.headers().get(header::AUTHORIZATION);
    if let Err(e) = state.metrics_access.check(authorization, peer, client) {
        tracing::info!(client = %client_ip::shown(client), reason = %e, "refused: metrics");
        let mut response = e.into_response();
        if let MetricsAccess::Token(_) = *state.metrics_access {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"metrics\""),
            );
        }
        return response;
    }
    let mut gauges = state.store.gauges();
    if let Ok((depth, oldest)) = state.store.delivery_backlog().await {
        let age = oldest.map_or(0.0, |t| {
            (Timestamp::now().as_micros() - t.as_micros()).max(0) as f64 / 1e6
        });
        gauges.push((
            "contactd_webhook_queue_depth",
            "Webhook deliveries not yet delivered (pending or retrying).",
            depth as f64,
        ));
        gauges.push((
            "contactd_webhook_oldest_undelivered_seconds",
            "Age of the oldest webhook delivery not yet delivered; 0 when there is none.",
            age,
        ));
    }
    let body = state.metrics.render(&gauges, state.store.reads_stopped());
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    fn bearer(token: &str) -> HeaderValue {
        HeaderValue::from_str(&format!("Bearer {token}")).unwrap()
    }

    #[test]
    fn without_a_token_only_loopback_clients_read_the_metrics() {
        let access = MetricsAccess::new(None);
        assert!(access.check(None, ip("127.0.0.1"), ip("127.0.0.1")).is_ok());
        assert!(access.check(None, ip("::1"), ip("::1")).is_ok());
        for (peer, client) in [
            (ip("10.0.0.5"), ip("10.0.0.5")),
            (ip("192.0.2.1"), ip("192.0.2.1")),
            // Through a trusted proxy on this host: the client behind it decides.
            (ip("127.0.0.1"), ip("203.0.113.7")),
            // A remote proxy's own loopback is not ours.
            (ip("10.0.0.5"), ip("127.0.0.1")),
            (None, None),
        ] {
            let refused = access.check(None, peer, client).unwrap_err();
            assert_eq!(refused.status(), 404, "{peer:?} {client:?}");
            assert!(refused.to_string().contains("--metrics-token"));
        }
    }

    #[test]
    fn with_a_token_everyone_needs_it() {
        let token: MetricsToken = "0123456789abcdef-metrics".parse().unwrap();
        let access = MetricsAccess::new(Some(&token));
        let loopback = ip("127.0.0.1");
        for authorization in [
            bearer("0123456789abcdef-metrics"),
            HeaderValue::from_static("bearer 0123456789abcdef-metrics"),
        ] {
            assert!(access
                .check(Some(&authorization), ip("192.0.2.1"), ip("192.0.2.1"))
                .is_ok());
        }
        for authorization in [
            None,
            Some(bearer("0123456789abcdef-metric")),
            Some(bearer("0123456789abcdef-metricsX")),
            Some(HeaderValue::from_static("Basic 0123456789abcdef-metrics")),
            Some(HeaderValue::from_static("0123456789abcdef-metrics")),
        ] {
            let refused = access
                .check(authorization.as_ref(), loopback, loopback)
                .unwrap_err();
            assert_eq!(refused.status(), 401, "{authorization:?}");
        }
    }

    #[test]
    fn each_server_counts_its_own_requests() {
        let (a, b) = (Metrics::default(), Metrics::default());
        a.record("/v2/contact/{ref}".into(), "GET", 200, 0.003);
        a.record("/v2/contact/{ref}".into(), "GET", 200, 3.0);
        a.count_idempotency_claim();
        let text = a.render(&[("contactd_db_readers_idle", "Idle readers.", 4.0)], 0);
        for line in [
            "contactd_http_requests_total{route=\"/v2/contact/{ref}\",method=\"GET\",status=\"200\"} 2",
            "# TYPE contactd_http_request_duration_seconds histogram",
            "contactd_http_request_duration_seconds_bucket{route=\"/v2/contact/{ref}\",le=\"0.0001\"} 0",
            "contactd_http_request_duration_seconds_bucket{route=\"/v2/contact/{ref}\",le=\"0.005\"} 1",
            "contactd_http_request_duration_seconds_bucket{route=\"/v2/contact/{ref}\",le=\"2.5\"} 1",
            "contactd_http_request_duration_seconds_bucket{route=\"/v2/contact/{ref}\",le=\"+Inf\"} 2",
            "contactd_http_request_duration_seconds_count{route=\"/v2/contact/{ref}\"} 2",
            "contactd_idempotency_claims_total 1",
            "# TYPE contactd_db_readers_idle gauge",
            "contactd_db_readers_idle 4",
        ] {
            assert!(text.contains(line), "missing {line} in\n{text}");
        }
        let other = b.render(&[], 0);
        assert!(!other.contains("contactd_http_requests_total{"), "{other}");
        assert!(
            other.contains("contactd_idempotency_claims_total 0"),
            "{other}"
        );
    }

    #[test]
    fn unknown_methods_share_one_label() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        assert_eq!(
            method_label(&Method::from_bytes(b"RANDOM123").unwrap()),
            "other"
        );
        assert_eq!(method_label(&Method::from_bytes(b"get").unwrap()), "other");
    }
}
