//! Structured logs. Requests are logged by route pattern, status and latency with their
//! request id; phone numbers, emails and metadata values never reach an info-level line.

use std::io::BufWriter;

use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::EnvFilter;

/// Lines a burst may queue for the log thread before requests wait for it.
const QUEUED_LINES: usize = 64 * 1024;

/// Logs to stderr; `CONTACTD_LOG` filters (default `info`), `CONTACTD_LOG_FORMAT=json`
/// switches to one JSON object per line.
///
/// Lines are written by a thread of their own through a buffer flushed whenever the
/// queue is empty: a request formats its line and queues it, instead of making a write
/// system call on stderr (one per request was a tenth of a GET). Nothing is dropped:
/// when the queue is full, requests wait for it. Keep the guard for as long as the
/// program logs; dropping it writes out what is queued.
#[must_use = "dropping the guard stops the log thread"]
pub fn init() -> WorkerGuard {
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let (writer, guard) = NonBlockingBuilder::default()
        .lossy(false)
        .buffered_lines_limit(QUEUED_LINES)
        .thread_name("contactd-log")
        .finish(BufWriter::new(std::io::stderr()));
    let filter = EnvFilter::try_from_env("CONTACTD_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(ansi);
    let json = std::env::var("CONTACTD_LOG_FORMAT").is_ok_and(|f| f == "json");
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    guard
}
