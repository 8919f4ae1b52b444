//! Structured logs. Requests are logged by route pattern, status and latency with their
//! request id; phone numbers, emails and metadata values never reach an info-level line.

use tracing_subscriber::EnvFilter;

/// Logs to stderr; `CONTACTD_LOG` filters (default `info`), `CONTACTD_LOG_FORMAT=json`
/// switches to one JSON object per line.
pub fn init() {
    let filter = EnvFilter::try_from_env("CONTACTD_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let json = std::env::var("CONTACTD_LOG_FORMAT").is_ok_and(|f| f == "json");
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
