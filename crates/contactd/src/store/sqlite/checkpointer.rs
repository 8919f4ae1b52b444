//! Checkpoints of the WAL on a thread and connection of their own.
//!
//! SQLite's automatic checkpoint runs inside the commit that crosses its threshold, on the
//! writer thread, and copied pages and synced the database file while every queued write
//! waited (a sixth of the writer's time under random updates). Here a connection of its
//! own runs a `PASSIVE` checkpoint on a timer: it copies what the WAL holds into the
//! database file beside the writer and the readers, never waiting for or blocking them,
//! and the writer restarts the WAL from its beginning once all of it has been copied.
//!
//! That restart needs a moment when every frame is copied as the writer begins, which a
//! writer committing every millisecond never leaves to a timer: under a steady mixed load
//! the WAL grew to its backstop (64 MiB) and stayed there, and reads slowed as it grew
//! (a 10-minute soak: p50 from 1.2 to 8 ms). So the writer keeps its own automatic
//! checkpoint, at [`WRITER_BACKSTOP_PAGES`] (8 MiB): by then this thread has copied all but
//! the last [`EVERY`] of frames, so the writer's checkpoint is short, and the WAL restarts.

use std::path::Path;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{RecvTimeoutError, Sender};
use rusqlite::Connection;

/// How often the WAL is checkpointed.
const EVERY: Duration = Duration::from_millis(100);

/// WAL pages after which the writer checkpoints by itself (8 MiB of 4 KiB pages).
pub const WRITER_BACKSTOP_PAGES: i64 = 2_048;

pub struct Checkpointer {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Opens its connection to the database at `path` and starts the timer.
    pub fn start(path: &Path, synchronous: &str) -> anyhow::Result<Checkpointer> {
        let conn = Connection::open(path)?;
        // Its checkpoints sync the database file as the writer's would have.
        conn.pragma_update(None, "synchronous", synchronous)?;
        conn.pragma_update(None, "busy_timeout", 1000)?;
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        let (stop, stopped) = crossbeam_channel::bounded::<()>(0);
        let thread = std::thread::Builder::new()
            .name("contactd-checkpoint".into())
            .spawn(move || loop {
                match stopped.recv_timeout(EVERY) {
                    Err(RecvTimeoutError::Timeout) => checkpoint(&conn),
                    // Stopped, or the store is gone.
                    Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
                }
            })?;
        Ok(Checkpointer {
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Stops the timer and waits for a checkpoint in progress to end.
    pub fn stop(&mut self) {
        self.stop.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn checkpoint(conn: &Connection) {
    let result = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
        row.get::<_, i64>(0)
    });
    if let Err(e) = result {
        tracing::warn!(error = %e, "a WAL checkpoint failed; the next one retries");
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    /// Pages written by a connection whose own automatic checkpoint is off reach the
    /// database file without anyone but the checkpointer copying them there.
    #[test]
    fn the_timer_copies_the_wal_into_the_database_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let writer = Connection::open(&path).unwrap();
        writer.pragma_update(None, "journal_mode", "WAL").unwrap();
        writer.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
        writer
            .execute_batch("CREATE TABLE t (x TEXT); BEGIN;")
            .unwrap();
        for i in 0..2_000 {
            writer
                .execute("INSERT INTO t VALUES (?1)", [format!("{i:0>200}")])
                .unwrap();
        }
        writer.execute_batch("COMMIT").unwrap();
        let size = || std::fs::metadata(&path).unwrap().len();
        let before = size();
        let mut checkpointer = Checkpointer::start(&path, "FULL").unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while size() <= before + 100_000 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        checkpointer.stop();
        assert!(
            size() > before + 100_000,
            "the database file stayed at {} bytes",
            size()
        );
    }
}
