//! Webhook endpoints and their deliveries: the rules, free of HTTP and SQL.
//!
//! Signatures follow the Standard Webhooks specification: HMAC-SHA256 keyed with the
//! base64-decoded part of the secret after `whsec_`, over `{id}.{timestamp}.{body}`,
//! sent as `v1,<base64>`; during a rotation's overlap both secrets sign, space-separated.
//! Which addresses an endpoint may reach ([`refused_address`]) is decided here too; the
//! delivery worker resolves names and asks.

use std::net::IpAddr;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use rand::Rng;
use serde_json::{Map, Value};
use sha2::Sha256;

use super::event::EventType;
use super::ids::new_id;
use super::input::{self, truncate};
use super::time::Timestamp;
use super::FieldError;

/// How long the secret a rotation replaced keeps signing beside the new one.
pub const ROTATION_OVERLAP: Duration = Duration::from_secs(24 * 3600);
/// An endpoint failing without a success for this long is disabled.
pub const DISABLE_AFTER: Duration = Duration::from_secs(3 * 24 * 3600);
/// Delays between attempts: the first is immediate, then these; after the last the
/// delivery has failed (27 h 35 min 5 s after the first attempt).
pub const RETRY_SCHEDULE: &[Duration] = &[
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(10 * 3600),
];
/// Longest kept part of an endpoint's answer, in bytes.
pub const MAX_RESPONSE_BODY: usize = 1024;
const MAX_URL: usize = 2048;
const MAX_DESCRIPTION: usize = 255;

/// Whether an endpoint receives deliveries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookStatus {
    Enabled,
    Disabled,
}

impl WebhookStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookStatus::Enabled => "enabled",
            WebhookStatus::Disabled => "disabled",
        }
    }

    pub fn parse(s: &str) -> Option<WebhookStatus> {
        match s {
            "enabled" => Some(WebhookStatus::Enabled),
            "disabled" => Some(WebhookStatus::Disabled),
            _ => None,
        }
    }
}

/// A webhook endpoint of a tenant.
#[derive(Debug, Clone, PartialEq)]
pub struct Webhook {
    pub id: String,
    pub url: String,
    /// None: every type.
    pub event_types: Option<Vec<EventType>>,
    pub description: Option<String>,
    pub status: WebhookStatus,
    pub disabled_reason: Option<String>,
    pub secret: String,
    /// The secret a rotation replaced, and until when it still signs.
    pub previous_secret: Option<(String, Timestamp)>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Webhook {
    /// The endpoint as the API shows it; `with_secret` for create and rotate only.
    pub fn into_wire(self, with_secret: bool) -> contactd_wire::Webhook {
        contactd_wire::Webhook {
            id: self.id,
            url: self.url,
            event_types: self
                .event_types
                .map(|types| types.iter().map(|t| t.as_str().to_owned()).collect()),
            description: self.description,
            status: self.status.as_str().to_owned(),
            disabled_reason: self.disabled_reason,
            secret: with_secret.then_some(self.secret),
            created_at: self.created_at.to_rfc3339(),
            updated_at: self.updated_at.to_rfc3339(),
        }
    }

    /// The same endpoint with a new secret; the old one signs on for [`ROTATION_OVERLAP`].
    pub fn rotated(&self, now: Timestamp) -> Webhook {
        let until = Timestamp::from_micros(now.as_micros() + ROTATION_OVERLAP.as_micros() as i64);
        Webhook {
            secret: new_secret(),
            previous_secret: Some((self.secret.clone(), until)),
            updated_at: Timestamp::now_after(self.updated_at),
            ..self.clone()
        }
    }

    /// The secrets that sign a delivery made at `now`.
    pub fn signing_secrets(&self, now: Timestamp) -> Vec<&str> {
        let previous = self
            .previous_secret
            .as_ref()
            .filter(|(_, until)| *until > now)
            .map(|(secret, _)| secret.as_str());
        std::iter::once(self.secret.as_str())
            .chain(previous)
            .collect()
    }

    /// Whether the endpoint wants events of this type.
    pub fn wants(&self, kind: EventType) -> bool {
        self.event_types
            .as_ref()
            .is_none_or(|types| types.contains(&kind))
    }
}

/// Most endpoints one workspace has in one mode: every endpoint has its own delivery
/// runner (up to `--webhook-concurrency` requests at once), and the list shows them all.
pub const MAX_ENDPOINTS: usize = 100;

/// Why a create is refused when the tenant has [`MAX_ENDPOINTS`] already.
pub fn too_many_endpoints() -> FieldError {
    FieldError::new(
        "webhooks",
        format!(
            "A workspace has at most {MAX_ENDPOINTS} webhook endpoints in each mode; delete \
             one before adding another"
        ),
    )
    .expected(format!("at most {MAX_ENDPOINTS} endpoints"))
}

/// A validated `POST /v2/webhook`.
#[derive(Debug, Clone, PartialEq)]
pub struct NewWebhook {
    pub url: url_parts::WebhookUrl,
    pub event_types: Option<Vec<EventType>>,
    pub description: Option<String>,
}

impl NewWebhook {
    pub fn from_json(body: Map<String, Value>) -> Result<NewWebhook, FieldError> {
        let sent: contactd_wire::NewWebhook = input::decode::<_, contactd_wire::Webhook>(body)?;
        Ok(NewWebhook {
            url: url_parts::WebhookUrl::parse(&sent.url)?,
            event_types: sent.event_types.map(event_types).transpose()?,
            description: sent.description.map(description).transpose()?,
        })
    }

    pub fn into_webhook(self, now: Timestamp) -> Webhook {
        Webhook {
            id: new_id("wh_"),
            url: self.url.as_str().to_owned(),
            event_types: self.event_types,
            description: self.description,
            status: WebhookStatus::Enabled,
            disabled_reason: None,
            secret: new_secret(),
            previous_secret: None,
            created_at: now,
            updated_at: now,
        }
    }
}

/// A validated `PUT /v2/webhook/{id}`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WebhookPatch {
    pub url: Option<url_parts::WebhookUrl>,
    /// `Some(None)`: all types.
    pub event_types: Option<Option<Vec<EventType>>>,
    /// `Some(None)`: no description.
    pub description: Option<Option<String>>,
    pub status: Option<WebhookStatus>,
}

impl WebhookPatch {
    pub fn from_json(body: Map<String, Value>) -> Result<WebhookPatch, FieldError> {
        let sent: contactd_wire::WebhookUpdate = input::decode::<_, contactd_wire::Webhook>(body)?;
        let status = sent
            .status
            .map(|s| {
                WebhookStatus::parse(&s).ok_or_else(|| {
                    FieldError::new("status", "Status must be enabled or disabled")
                        .received(truncate(&s, 100))
                        .expected("enabled, disabled")
                })
            })
            .transpose()?;
        Ok(WebhookPatch {
            url: sent
                .url
                .map(|u| url_parts::WebhookUrl::parse(&u))
                .transpose()?,
            event_types: sent
                .event_types
                .into_option()
                .map(|types| types.map(event_types).transpose())
                .transpose()?,
            description: sent
                .description
                .into_option()
                .map(|text| text.map(description).transpose())
                .transpose()?,
            status,
        })
    }

    /// The endpoint after the change. Enabling clears the reason it was disabled;
    /// `updated_at` moves only when something changed.
    pub fn apply(&self, current: &Webhook) -> Webhook {
        let mut next = current.clone();
        if let Some(url) = &self.url {
            next.url = url.as_str().to_owned();
        }
        if let Some(types) = &self.event_types {
            next.event_types = types.clone();
        }
        if let Some(description) = &self.description {
            next.description = description.clone();
        }
        if let Some(status) = self.status {
            next.status = status;
            if status == WebhookStatus::Enabled {
                next.disabled_reason = None;
            }
        }
        if next != *current {
            next.updated_at = Timestamp::now_after(current.updated_at);
        }
        next
    }
}

fn event_types(names: Vec<String>) -> Result<Vec<EventType>, FieldError> {
    if names.is_empty() {
        return Err(FieldError::new(
            "event_types",
            "event_types must name at least one type; leave it out for all",
        )
        .expected(EventType::ALL.join(", ")));
    }
    EventType::parse_list("event_types", names.iter().map(String::as_str))
}

fn description(text: String) -> Result<String, FieldError> {
    if text.chars().count() > MAX_DESCRIPTION {
        return Err(FieldError::new(
            "description",
            format!("description must be at most {MAX_DESCRIPTION} characters"),
        )
        .received(truncate(&text, 100)));
    }
    Ok(text)
}

/// A new secret: `whsec_` and 32 random bytes in base64.
pub fn new_secret() -> String {
    let key: [u8; 32] = rand::rng().random();
    format!("whsec_{}", STANDARD.encode(key))
}

/// The `webhook-signature` header of a delivery: one `v1,<base64>` per secret.
pub fn signature(secrets: &[&str], id: &str, timestamp: i64, body: &[u8]) -> String {
    secrets
        .iter()
        .filter_map(|secret| {
            let key = STANDARD
                .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
                .ok()?;
            let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
            mac.update(format!("{id}.{timestamp}.").as_bytes());
            mac.update(body);
            Some(format!(
                "v1,{}",
                STANDARD.encode(mac.finalize().into_bytes())
            ))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The delay before the attempt after `attempts` failed ones (`scale` shortens it for
/// tests), with ±10 % jitter so that retries of many deliveries spread out; None when
/// the schedule ran out and the delivery has failed.
pub fn retry_delay(attempts: u32, scale: f64) -> Option<Duration> {
    let base = RETRY_SCHEDULE.get((attempts as usize).checked_sub(1)?)?;
    let jitter = rand::rng().random_range(0.9..1.1);
    Some(base.mul_f64((scale * jitter).max(0.0)))
}

/// Why an address may not be reached by a delivery ("a loopback address"), or None when
/// it may: loopback, private (RFC 1918, unique local), link-local (cloud metadata at
/// 169.254.169.254 included), shared (CGNAT), unspecified, multicast, broadcast,
/// documentation and other reserved ranges; an IPv6 address that carries an IPv4 one
/// (mapped, compatible, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`) as that IPv4 address.
pub fn refused_address(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            if v4.is_loopback() {
                Some("a loopback address")
            } else if v4.is_private() {
                Some("a private address")
            } else if v4.is_link_local() {
                Some("a link-local or cloud metadata address")
            } else if a == 100 && (64..128).contains(&b) {
                Some("a shared (carrier-grade NAT) address")
            } else if v4.is_unspecified() || a == 0 {
                Some("an unspecified address")
            } else if v4.is_multicast() || v4.is_broadcast() || a >= 240 {
                Some("a multicast or reserved address")
            } else if v4.is_documentation() || (a == 198 && (b == 18 || b == 19)) {
                Some("a reserved address")
            } else {
                None
            }
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = embedded_ipv4(v6) {
                return refused_address(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            if v6.is_loopback() {
                Some("a loopback address")
            } else if v6.is_unspecified() {
                Some("an unspecified address")
            } else if first & 0xfe00 == 0xfc00 {
                Some("a private (unique local) address")
            } else if first & 0xffc0 == 0xfe80 {
                Some("a link-local address")
            } else if v6.is_multicast() {
                Some("a multicast address")
            } else if first == 0x2001 && v6.segments()[1] == 0x0db8 {
                Some("a reserved address")
            } else {
                None
            }
        }
    }
}

/// The IPv4 address an IPv6 one stands for: mapped (`::ffff:a.b.c.d`), compatible
/// (`::a.b.c.d`, but not `::` or `::1`), NAT64 (`64:ff9b::a.b.c.d`) or 6to4
/// (`2002:AABB:CCDD::`).
fn embedded_ipv4(v6: std::net::Ipv6Addr) -> Option<std::net::Ipv4Addr> {
    let s = v6.segments();
    let low = || std::net::Ipv4Addr::from((u32::from(s[6]) << 16) | u32::from(s[7]));
    if let Some(v4) = v6.to_ipv4_mapped() {
        Some(v4)
    } else if (s[..6] == [0; 6] && !v6.is_loopback() && !v6.is_unspecified())
        || s[..6] == [0x64, 0xff9b, 0, 0, 0, 0]
    {
        Some(low())
    } else if s[0] == 0x2002 {
        Some(std::net::Ipv4Addr::from(
            (u32::from(s[1]) << 16) | u32::from(s[2]),
        ))
    } else {
        None
    }
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    /// Waiting for its next attempt (or being attempted).
    Pending,
    Succeeded,
    /// Its retries ran out.
    Failed,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Succeeded => "succeeded",
            DeliveryState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<DeliveryState> {
        match s {
            "pending" => Some(DeliveryState::Pending),
            "succeeded" => Some(DeliveryState::Succeeded),
            "failed" => Some(DeliveryState::Failed),
            _ => None,
        }
    }
}

/// One event on its way to one endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// `dlv_` and the body of the event's id: one delivery per event and endpoint.
    pub id: String,
    pub webhook_id: String,
    pub sequence: i64,
    pub event_id: String,
    pub event_type: String,
    pub state: DeliveryState,
    pub attempts: u32,
    pub next_attempt_at: Option<Timestamp>,
    pub last_attempt_at: Option<Timestamp>,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    pub last_latency_ms: Option<u64>,
    pub response_body: Option<String>,
    pub created_at: Timestamp,
}

impl Delivery {
    /// The id of the delivery of an event (`evt_…` becomes `dlv_…`).
    pub fn id_for(event_id: &str) -> String {
        format!("dlv_{}", event_id.strip_prefix("evt_").unwrap_or(event_id))
    }

    pub fn into_wire(self) -> contactd_wire::Delivery {
        let pending = self.state == DeliveryState::Pending;
        contactd_wire::Delivery {
            id: self.id,
            event_id: self.event_id,
            event_type: self.event_type,
            sequence: self.sequence,
            state: self.state.as_str().to_owned(),
            attempt: self.attempts,
            attempted_at: self.last_attempt_at.map(Timestamp::to_rfc3339),
            response_status: self.last_status,
            error: self.last_error,
            response_body: self.response_body,
            latency_ms: self.last_latency_ms,
            next_attempt_at: self
                .next_attempt_at
                .filter(|_| pending)
                .map(Timestamp::to_rfc3339),
            created_at: self.created_at.to_rfc3339(),
        }
    }
}

/// What one attempt of a delivery gave.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    pub at: Timestamp,
    pub status: Option<u16>,
    pub error: Option<String>,
    pub latency_ms: u64,
    /// At most [`MAX_RESPONSE_BODY`] bytes of the answer.
    pub response_body: Option<String>,
}

impl Attempt {
    /// A 2xx answer.
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// What a finished attempt does to its delivery and its endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptResult {
    pub attempt: Attempt,
    pub state: DeliveryState,
    pub next_attempt_at: Option<Timestamp>,
    /// Set when the endpoint has failed for [`DISABLE_AFTER`]: it is disabled with this reason.
    pub disable: Option<String>,
}

/// Decides what follows an attempt: success, a retry at the next step of the schedule,
/// or failure; and whether the endpoint, failing since `failing_since`, is disabled.
pub fn after_attempt(
    attempt: Attempt,
    attempts: u32,
    failing_since: Option<Timestamp>,
    retry_scale: f64,
) -> AttemptResult {
    if attempt.succeeded() {
        return AttemptResult {
            attempt,
            state: DeliveryState::Succeeded,
            next_attempt_at: None,
            disable: None,
        };
    }
    let since = failing_since.unwrap_or(attempt.at);
    let failing_for = attempt.at.as_micros().saturating_sub(since.as_micros());
    let limit = (DISABLE_AFTER.as_micros() as f64 * retry_scale) as i64;
    let disable = (failing_for >= limit).then(|| {
        format!(
            "disabled on {}: every delivery failed since {} (last: {})",
            attempt.at.to_rfc3339(),
            since.to_rfc3339(),
            attempt.status.map_or_else(
                || attempt.error.clone().unwrap_or_default(),
                |s| format!("HTTP {s}")
            )
        )
    });
    let next = retry_delay(attempts, retry_scale)
        .map(|delay| Timestamp::from_micros(attempt.at.as_micros() + delay.as_micros() as i64));
    AttemptResult {
        state: if next.is_some() {
            DeliveryState::Pending
        } else {
            DeliveryState::Failed
        },
        next_attempt_at: next,
        disable,
        attempt,
    }
}

/// Webhook URLs: parsed once, so a stored URL is always `http(s)://host[:port]/…`.
pub mod url_parts {
    use super::{truncate, FieldError, MAX_URL};

    #[derive(Debug, Clone, PartialEq)]
    pub struct WebhookUrl {
        url: String,
        host: String,
        port: u16,
    }

    impl WebhookUrl {
        pub fn parse(raw: &str) -> Result<WebhookUrl, FieldError> {
            let bad = |why: &str| {
                FieldError::new("url", format!("url {why}"))
                    .received(truncate(raw, 200))
                    .expected("https://example.com/hooks/contactd")
            };
            if raw.len() > MAX_URL {
                return Err(bad("is too long"));
            }
            let parsed = reqwest::Url::parse(raw).map_err(|_| bad("is not a valid URL"))?;
            let default_port = match parsed.scheme() {
                "https" => 443,
                "http" => 80,
                _ => return Err(bad("must start with http:// or https://")),
            };
            if !parsed.username().is_empty() || parsed.password().is_some() {
                return Err(bad("must not carry a user name or password"));
            }
            let host = parsed
                .host_str()
                .filter(|h| !h.is_empty())
                .ok_or_else(|| bad("must name a host"))?;
            let host = host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned();
            Ok(WebhookUrl {
                url: parsed.to_string(),
                host,
                port: parsed.port().unwrap_or(default_port),
            })
        }

        pub fn as_str(&self) -> &str {
            &self.url
        }

        /// The host name or address literal (IPv6 without brackets).
        pub fn host(&self) -> &str {
            &self.host
        }

        pub fn port(&self) -> u16 {
            self.port
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_addresses_are_named() {
        for refused in [
            "127.0.0.1",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:a00:1::",
            "224.0.0.1",
        ] {
            let ip: IpAddr = refused.parse().unwrap();
            assert!(refused_address(ip).is_some(), "{refused}");
        }
        assert_eq!(
            refused_address("0.0.0.0".parse().unwrap()),
            Some("an unspecified address")
        );
        for allowed in [
            "93.184.216.34",
            "8.8.8.8",
            "2606:4700::1111",
            "64:ff9b::808:808",
            "2002:808:808::",
        ] {
            let ip: IpAddr = allowed.parse().unwrap();
            assert_eq!(refused_address(ip), None, "{allowed}");
        }
    }

    #[test]
    fn the_signature_is_the_standard_webhooks_example() {
        // The specification's test vector.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            signature(&[secret], "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn urls_must_be_http_or_https_with_a_host() {
        assert!(url_parts::WebhookUrl::parse("https://example.com/x").is_ok());
        for bad in [
            "ftp://example.com",
            "example.com",
            "https://u:p@example.com/",
        ] {
            let e = url_parts::WebhookUrl::parse(bad).unwrap_err();
            assert_eq!(e.field, "url", "{bad}");
        }
    }

    fn attempt(status: Option<u16>, at: Timestamp) -> Attempt {
        Attempt {
            at,
            status,
            error: status.is_none().then(|| "connection refused".to_owned()),
            latency_ms: 3,
            response_body: None,
        }
    }

    #[test]
    fn an_endpoint_failing_for_three_days_is_disabled_with_the_reason() {
        let now = Timestamp::now();
        let ok = after_attempt(attempt(Some(204), now), 1, None, 1.0);
        assert_eq!((ok.state, ok.disable), (DeliveryState::Succeeded, None));
        let retry = after_attempt(attempt(Some(500), now), 1, None, 1.0);
        assert_eq!(retry.state, DeliveryState::Pending);
        assert!(retry.next_attempt_at.is_some_and(|t| t > now));
        assert_eq!(retry.disable, None);
        let four_days_ago = Timestamp::from_micros(now.as_micros() - 4 * 24 * 3600 * 1_000_000);
        let disabled = after_attempt(attempt(None, now), 3, Some(four_days_ago), 1.0);
        let reason = disabled.disable.unwrap_or_default();
        assert!(reason.contains("connection refused"), "{reason}");
        let last = RETRY_SCHEDULE.len() as u32 + 1;
        let failed = after_attempt(attempt(Some(302), now), last, None, 1.0);
        assert_eq!(
            (failed.state, failed.next_attempt_at),
            (DeliveryState::Failed, None)
        );
    }

    #[test]
    fn during_a_rotation_both_secrets_sign() {
        let now = Timestamp::now();
        let new = NewWebhook {
            url: url_parts::WebhookUrl::parse("https://example.com/h").unwrap(),
            event_types: None,
            description: None,
        }
        .into_webhook(now);
        assert_eq!(new.signing_secrets(now).len(), 1);
        let rotated = new.rotated(now);
        assert_eq!(rotated.signing_secrets(now), [&rotated.secret, &new.secret]);
        let later = Timestamp::from_micros(now.as_micros() + 25 * 3600 * 1_000_000);
        assert_eq!(rotated.signing_secrets(later), [&rotated.secret]);
        let signed = signature(&rotated.signing_secrets(now), "evt_1", 1, b"{}");
        assert_eq!(signed.split(' ').count(), 2);
    }

    #[test]
    fn retries_follow_the_schedule_then_stop() {
        assert!(retry_delay(1, 1.0).is_some_and(|d| d >= Duration::from_millis(4500)));
        assert!(retry_delay(RETRY_SCHEDULE.len() as u32, 1.0).is_some());
        assert_eq!(retry_delay(RETRY_SCHEDULE.len() as u32 + 1, 1.0), None);
        let total: Duration = RETRY_SCHEDULE.iter().sum();
        assert!(total >= Duration::from_secs(24 * 3600));
    }
}
