//! Settings of the server, from flags and environment variables (one clap struct).

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::time::Duration;

use clap::Args;
use ipnet::IpNet;

use crate::store::{SqliteSynchronous, StoreOptions};

pub const DEFAULT_DATABASE_URL: &str = "sqlite://contactd.db";

/// Where the data lives; shared by `serve` and the `keys` commands.
#[derive(Args, Debug, Clone)]
pub struct DatabaseArgs {
    /// Database URL: sqlite://PATH (embedded, the default) or postgres://… .
    #[arg(long = "database", env = "CONTACTD_DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub url: String,

    /// PostgreSQL: connections per contactd process.
    #[arg(
        long,
        env = "CONTACTD_POOL_SIZE",
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1_000),
        default_value_t = 16
    )]
    pub pool_size: usize,

    /// PostgreSQL: how long to wait for a new connection, in milliseconds.
    #[arg(
        long,
        env = "CONTACTD_DB_CONNECT_TIMEOUT_MS",
        value_parser = clap::value_parser!(u64).range(1..=86_400_000),
        default_value_t = 2000
    )]
    pub db_connect_timeout_ms: u64,

    /// PostgreSQL: how long a request waits for a free pooled connection, in milliseconds.
    #[arg(
        long,
        env = "CONTACTD_DB_ACQUIRE_TIMEOUT_MS",
        value_parser = clap::value_parser!(u64).range(1..=86_400_000),
        default_value_t = 2000
    )]
    pub db_acquire_timeout_ms: u64,

    /// The longest a statement may run (PostgreSQL), or a list or count (SQLite), in ms.
    #[arg(
        long,
        env = "CONTACTD_DB_STATEMENT_TIMEOUT_MS",
        value_parser = clap::value_parser!(u64).range(1..=86_400_000),
        default_value_t = 10_000
    )]
    pub db_statement_timeout_ms: u64,

    /// SQLite: `full` syncs the WAL before a write is acknowledged (survives power loss);
    /// `normal` syncs only at checkpoints (survives a crash of contactd, not of the machine).
    #[arg(
        long,
        env = "CONTACTD_SQLITE_SYNCHRONOUS",
        value_enum,
        default_value_t = SqliteSynchronous::Full
    )]
    pub sqlite_synchronous: SqliteSynchronous,
}

impl DatabaseArgs {
    pub fn new(url: impl Into<String>) -> DatabaseArgs {
        let defaults = StoreOptions::default();
        DatabaseArgs {
            url: url.into(),
            pool_size: defaults.pool_size,
            db_connect_timeout_ms: defaults.connect_timeout.as_millis() as u64,
            db_acquire_timeout_ms: defaults.acquire_timeout.as_millis() as u64,
            db_statement_timeout_ms: defaults.statement_timeout.as_millis() as u64,
            sqlite_synchronous: defaults.sqlite_synchronous,
        }
    }

    pub fn options(&self) -> StoreOptions {
        StoreOptions {
            pool_size: self.pool_size.max(1),
            connect_timeout: Duration::from_millis(self.db_connect_timeout_ms),
            acquire_timeout: Duration::from_millis(self.db_acquire_timeout_ms),
            statement_timeout: Duration::from_millis(self.db_statement_timeout_ms),
            sqlite_synchronous: self.sqlite_synchronous,
            ..StoreOptions::default()
        }
    }
}

#[derive(Args, Debug, Clone)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "CONTACTD_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,

    #[command(flatten)]
    pub database: DatabaseArgs,

    /// Largest accepted request body, in bytes.
    #[arg(
        long,
        env = "CONTACTD_BODY_LIMIT",
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1_073_741_824),
        default_value_t = 1024 * 1024
    )]
    pub body_limit: usize,

    /// Most connections open at once; more are closed at once.
    #[arg(
        long,
        env = "CONTACTD_MAX_CONNECTIONS",
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1_000_000),
        default_value_t = 4096
    )]
    pub max_connections: usize,

    /// Seconds a client has to send a request's headers.
    #[arg(
        long,
        env = "CONTACTD_HEADER_TIMEOUT_SECS",
        value_parser = clap::value_parser!(u64).range(1..=86_400),
        default_value_t = 10
    )]
    pub header_timeout_secs: u64,

    /// Seconds a client has to send a request's body.
    #[arg(
        long,
        env = "CONTACTD_BODY_TIMEOUT_SECS",
        value_parser = clap::value_parser!(u64).range(1..=86_400),
        default_value_t = 30
    )]
    pub body_timeout_secs: u64,

    /// Seconds a request may take once read; then it answers 503 unavailable.
    #[arg(
        long,
        env = "CONTACTD_REQUEST_TIMEOUT_SECS",
        value_parser = clap::value_parser!(u64).range(1..=86_400),
        default_value_t = 30
    )]
    pub request_timeout_secs: u64,

    /// Requests per second per API key (token bucket refill); 0 turns the limit off.
    #[arg(
        long,
        env = "CONTACTD_RATE_LIMIT_PER_SECOND",
        value_parser = rate_or_off,
        default_value_t = 10_000.0
    )]
    pub rate_limit_per_second: f64,

    /// Requests a key may send at once (token bucket size).
    #[arg(
        long,
        env = "CONTACTD_RATE_LIMIT_BURST",
        value_parser = positive,
        default_value_t = 20_000.0
    )]
    pub rate_limit_burst: f64,

    /// Wrong API keys per minute from one client address before it gets 429.
    #[arg(
        long,
        env = "CONTACTD_AUTH_FAILURES_PER_MINUTE",
        value_parser = positive,
        default_value_t = 600.0
    )]
    pub auth_failures_per_minute: f64,

    /// Reverse proxies (CIDRs or addresses, comma separated) whose X-Forwarded-For or
    /// Forwarded header names the client; ignored from any other peer.
    #[arg(
        long,
        env = "CONTACTD_TRUSTED_PROXIES",
        value_name = "CIDR,…",
        value_delimiter = ',',
        value_parser = parse_trusted_proxy
    )]
    pub trusted_proxies: Vec<IpNet>,

    /// Token `/metrics` requires (`Authorization: Bearer TOKEN`); without one, `/metrics`
    /// answers loopback clients only.
    #[arg(
        long,
        env = "CONTACTD_METRICS_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub metrics_token: Option<MetricsToken>,

    /// Days events stay in the feed (`/v2/events`); older ones are pruned, and a cursor
    /// older than that is refused.
    #[arg(
        long,
        env = "CONTACTD_EVENT_RETENTION_DAYS",
        value_parser = retention_days,
        default_value_t = 30.0
    )]
    pub event_retention_days: f64,

    /// Let webhook URLs reach loopback, private and link-local addresses (for tests and
    /// closed networks only).
    #[arg(long, env = "CONTACTD_WEBHOOK_ALLOW_PRIVATE")]
    pub webhook_allow_private: bool,

    /// Webhook requests in flight to one endpoint from this server at most.
    #[arg(
        long,
        env = "CONTACTD_WEBHOOK_CONCURRENCY",
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1_000),
        default_value_t = 8
    )]
    pub webhook_concurrency: usize,

    /// Multiplies the webhook retry delays and leases (tests shorten them).
    #[arg(
        long,
        env = "CONTACTD_WEBHOOK_RETRY_SCALE",
        value_parser = positive,
        default_value_t = 1.0,
        hide = true
    )]
    pub webhook_retry_scale: f64,
}

impl Config {
    pub fn new(listen: impl Into<String>, database_url: impl Into<String>) -> Config {
        Config {
            listen: listen.into(),
            database: DatabaseArgs::new(database_url),
            body_limit: 1024 * 1024,
            max_connections: 4096,
            header_timeout_secs: 10,
            body_timeout_secs: 30,
            request_timeout_secs: 30,
            rate_limit_per_second: 10_000.0,
            rate_limit_burst: 20_000.0,
            auth_failures_per_minute: 600.0,
            trusted_proxies: Vec::new(),
            metrics_token: None,
            event_retention_days: 30.0,
            webhook_allow_private: false,
            webhook_concurrency: 8,
            webhook_retry_scale: 1.0,
        }
    }
}

fn number(s: &str) -> Result<f64, String> {
    s.trim()
        .parse::<f64>()
        .ok()
        .filter(|n| n.is_finite())
        .ok_or_else(|| format!("{s:?} is not a number"))
}

/// A rate: a number of at least 0, where 0 turns the limit off.
fn rate_or_off(s: &str) -> Result<f64, String> {
    let n = number(s)?;
    if n < 0.0 {
        return Err(format!(
            "{s} is negative: give a rate, or 0 to turn the limit off"
        ));
    }
    Ok(n)
}

/// A number above 0 (and at most a billion).
fn positive(s: &str) -> Result<f64, String> {
    let n = number(s)?;
    if n <= 0.0 || n > 1e9 {
        return Err(format!("{s} is out of range: give a number above 0"));
    }
    Ok(n)
}

/// Days to keep events: above 0 (fractions allowed), at most 100 years.
fn retention_days(s: &str) -> Result<f64, String> {
    let n = number(s)?;
    if n <= 0.0 || n > 36_500.0 {
        return Err(format!(
            "{s} is out of range: give a number of days above 0 and at most 36500"
        ));
    }
    Ok(n)
}

/// A trusted proxy: a network (`10.0.0.0/8`, `fd00::/8`) or one address (`10.0.0.7`).
fn parse_trusted_proxy(s: &str) -> Result<IpNet, String> {
    let s = s.trim();
    s.parse::<IpNet>()
        .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| {
            format!(
                "{s:?} is neither a CIDR (such as 10.0.0.0/8) nor an address (such as 10.0.0.7)"
            )
        })
}

/// The secret of `/metrics`; its `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct MetricsToken(String);

impl MetricsToken {
    pub fn secret(&self) -> &str {
        &self.0
    }
}

impl FromStr for MetricsToken {
    type Err = String;

    fn from_str(s: &str) -> Result<MetricsToken, String> {
        // It travels in a header: visible ASCII, and not so short that it can be guessed.
        if s.len() < 16 || !s.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("the metrics token must be at least 16 visible ASCII characters".into());
        }
        Ok(MetricsToken(s.to_owned()))
    }
}

impl fmt::Debug for MetricsToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MetricsToken(…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_of_the_command_line_are_checked() {
        assert_eq!(retention_days("30"), Ok(30.0));
        assert_eq!(retention_days("0.5"), Ok(0.5));
        for bad in ["0", "-1", "nan", "inf", "36501", "x"] {
            assert!(retention_days(bad).is_err(), "{bad}");
        }
        assert_eq!(rate_or_off("0"), Ok(0.0));
        for bad in ["-5", "NaN", "-inf"] {
            assert!(rate_or_off(bad).is_err(), "{bad}");
        }
        assert_eq!(positive("0.0002"), Ok(0.0002));
        for bad in ["0", "-1", "inf", "1e10"] {
            assert!(positive(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn trusted_proxies_are_networks_or_addresses() {
        assert_eq!(
            parse_trusted_proxy(" 10.0.0.0/8"),
            Ok("10.0.0.0/8".parse().unwrap())
        );
        assert_eq!(
            parse_trusted_proxy("10.0.0.7"),
            Ok("10.0.0.7/32".parse().unwrap())
        );
        assert_eq!(
            parse_trusted_proxy("fd00::/8"),
            Ok("fd00::/8".parse().unwrap())
        );
        for bad in ["", "10.0.0.0/33", "10.0.0", "example.com", "10.0.0.0/8/8"] {
            let e = parse_trusted_proxy(bad).unwrap_err();
            assert!(e.contains("CIDR"), "{bad}: {e}");
        }
    }

    #[test]
    fn a_metrics_token_is_long_visible_ascii_and_never_printed() {
        assert!("short".parse::<MetricsToken>().is_err());
        assert!("with a space in it, long enough"
            .parse::<MetricsToken>()
            .is_err());
        let token: MetricsToken = "0123456789abcdef".parse().unwrap();
        assert_eq!(token.secret(), "0123456789abcdef");
        assert!(!format!("{token:?}").contains("0123"));
    }
}
