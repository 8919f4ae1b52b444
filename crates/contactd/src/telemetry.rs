//! Structured logs. Requests are logged by route pattern, status and latency with their
//! request id; phone numbers, emails and metadata values never reach an info-level line.

use std::io::{BufWriter, Stderr, Write};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{RecvTimeoutError, Sender};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

/// How long a line may wait in the buffer before it reaches stderr.
const FLUSH_EVERY: Duration = Duration::from_millis(20);
/// The buffer's size: a burst larger than this writes out as it fills.
const BUFFER_BYTES: usize = 256 * 1024;

/// Logs to stderr; `CONTACTD_LOG` filters (default `info`), `CONTACTD_LOG_FORMAT=json`
/// switches to one JSON object per line.
///
/// Lines go into one buffer, written out every 20 ms by a flusher thread (or at once
/// when it fills): a request appends its line under a lock, instead of a write system
/// call on stderr per request, which cost a fifth of a GET's throughput (handing each
/// line to a log thread through a channel cost as much, in wake-ups). Keep the guard for
/// as long as the program logs; dropping it writes out what is buffered.
#[must_use = "dropping the guard stops the flusher and writes out the buffer"]
pub fn init() -> LogGuard {
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let buffer = Shared(Arc::new(Mutex::new(BufWriter::with_capacity(
        BUFFER_BYTES,
        std::io::stderr(),
    ))));
    let guard = LogGuard::start(buffer.clone());
    let filter = EnvFilter::try_from_env("CONTACTD_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(buffer)
        .with_ansi(ansi);
    let json = std::env::var("CONTACTD_LOG_FORMAT").is_ok_and(|f| f == "json");
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    guard
}

/// The log buffer, shared by every request and the flusher.
#[derive(Clone)]
struct Shared(Arc<Mutex<BufWriter<Stderr>>>);

impl Shared {
    fn lock(&self) -> MutexGuard<'_, BufWriter<Stderr>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn flush(&self) {
        let _ = self.lock().flush();
    }
}

/// One line's hold on the buffer.
struct Line<'a>(MutexGuard<'a, BufWriter<Stderr>>);

impl Write for Line<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.write(bytes)
    }

    /// The flusher writes out; a line only appends.
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Shared {
    type Writer = Line<'a>;

    fn make_writer(&'a self) -> Line<'a> {
        Line(self.lock())
    }
}

/// Runs the flusher; dropping it stops the flusher and writes out the buffer.
pub struct LogGuard {
    buffer: Shared,
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl LogGuard {
    fn start(buffer: Shared) -> LogGuard {
        let (stop, stopped) = crossbeam_channel::bounded::<()>(0);
        let flushed = buffer.clone();
        let thread = std::thread::Builder::new()
            .name("contactd-log".into())
            .spawn(move || loop {
                match stopped.recv_timeout(FLUSH_EVERY) {
                    Err(RecvTimeoutError::Timeout) => flushed.flush(),
                    Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
                }
            })
            .ok();
        LogGuard {
            buffer,
            stop: Some(stop),
            thread,
        }
    }
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        self.stop.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        self.buffer.flush();
    }
}
