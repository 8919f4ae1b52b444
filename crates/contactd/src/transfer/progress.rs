//! Progress of a long import: a bar with rate and ETA on a terminal, a plain line every
//! few seconds otherwise (logs, CI).

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

pub struct Progress {
    bar: Option<ProgressBar>,
    started: Instant,
    last_line: Instant,
    total_bytes: u64,
}

const PLAIN_EVERY: Duration = Duration::from_secs(2);

impl Progress {
    pub fn new(total_bytes: u64) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(total_bytes);
            let style =
                ProgressStyle::with_template("{bar:40.cyan/blue} {percent:>3}% {msg} eta {eta}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar
        });
        Progress {
            bar,
            started: Instant::now(),
            last_line: Instant::now(),
            total_bytes,
        }
    }

    /// Reports `bytes` of the file read and `rows` processed so far.
    pub fn update(&mut self, bytes: u64, rows: u64, rejected: u64) {
        let rate = rows as f64 / self.started.elapsed().as_secs_f64().max(0.001);
        match &self.bar {
            Some(bar) => {
                bar.set_position(bytes);
                bar.set_message(format!(
                    "{rows} rows, {rate:.0} rows/s, {rejected} rejected"
                ));
            }
            None if self.last_line.elapsed() >= PLAIN_EVERY => {
                self.last_line = Instant::now();
                let percent = bytes * 100 / self.total_bytes.max(1);
                eprintln!("import: {percent}% {rows} rows, {rate:.0} rows/s, {rejected} rejected");
            }
            None => {}
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }
}
