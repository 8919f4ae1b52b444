//! The single writer of a SQLite database, with group commit.
//!
//! SQLite allows one writer at a time. Instead of letting request tasks contend for the
//! write lock (and pay one commit each), every write is sent to one thread that owns the
//! write connection. It takes all writes queued at that moment, runs each inside its own
//! savepoint of one `BEGIN IMMEDIATE` transaction, commits once, and only then answers
//! each caller. A failing write rolls back to its savepoint and does not affect the others.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Mutex;
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender};
use rusqlite::Connection;
use tokio::sync::oneshot;

use super::idempotency;
use crate::store::{answer, StoreError, StoreResult};

/// Most writes committed together; bounds the latency one commit adds to its first write.
const MAX_BATCH: usize = 512;

type Reply = Box<dyn FnOnce(Result<(), String>) + Send>;
type Work = Box<dyn FnOnce(&Connection) -> (bool, Reply) + Send>;

/// A write and whether it needs its own savepoint.
struct Job {
    work: Work,
    /// Several statements that must land together. A write of one statement (after
    /// reads) is atomic by itself, and a savepoint per write made large group
    /// transactions slow (releasing one grows with the transaction).
    atomic: bool,
}

enum Msg {
    Job(Job),
    Shutdown,
}

pub struct Writer {
    sender: Sender<Msg>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Writer {
    pub fn start(conn: Connection) -> std::io::Result<Writer> {
        let (sender, receiver) = crossbeam_channel::unbounded();
        let thread = std::thread::Builder::new()
            .name("contactd-writer".into())
            .spawn(move || write_loop(&conn, &receiver))?;
        Ok(Writer {
            sender,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Runs `op` in the next group transaction; resolves once that transaction committed.
    /// `op` must write at most one statement, after its reads, and fail before writing:
    /// then a failure leaves nothing behind without a savepoint. Use
    /// [`Writer::run_atomic`] for more.
    pub async fn run<T: Send + 'static>(
        &self,
        op: impl FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        self.submit(op, false).await
    }

    /// Like [`Writer::run`] for an `op` of several writes: it runs in a savepoint, so a
    /// failure undoes all of them.
    pub async fn run_atomic<T: Send + 'static>(
        &self,
        op: impl FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        self.submit(op, true).await
    }

    async fn submit<T: Send + 'static>(
        &self,
        op: impl FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
        atomic: bool,
    ) -> StoreResult<T> {
        let (tx, rx) = oneshot::channel();
        // The answer of an idempotent request is written with its write (see
        // `store::answer`): two writes, so the job needs its savepoint.
        let pending = answer::current();
        let atomic = atomic || pending.is_some();
        let work: Work = Box::new(move |conn| {
            // A caller that stopped waiting (its request timed out or its client went
            // away) gets no write: it was never told the write happened.
            if tx.is_closed() {
                let skip: Reply = Box::new(|_| {});
                return (true, skip);
            }
            let mut kept = None;
            let result = op(conn).and_then(|value| {
                if let Some(pending) = pending {
                    if let Some(response) = pending.render(&value) {
                        idempotency::store_answer(conn, &pending.tenant, &pending.key, &response)?;
                        kept = Some(pending);
                    }
                }
                Ok(value)
            });
            let ok = result.is_ok();
            let reply: Reply = Box::new(move |commit| {
                let outcome = match commit {
                    Ok(()) => {
                        if let Some(pending) = kept {
                            pending.mark_kept();
                        }
                        result
                    }
                    Err(e) => Err(StoreError::Unavailable(format!("commit failed: {e}"))),
                };
                let _ = tx.send(outcome);
            });
            (ok, reply)
        });
        self.sender
            .send(Msg::Job(Job { work, atomic }))
            .map_err(|_| StoreError::Unavailable("the database is closed".into()))?;
        rx.await.map_err(|_| {
            StoreError::Unavailable("the write could not be run; it was not committed".into())
        })?
    }

    /// How many writes wait for the writer thread.
    pub fn queued(&self) -> usize {
        self.sender.len()
    }

    /// Commits what is queued, then stops the writer thread.
    pub fn shutdown(&self) {
        let _ = self.sender.send(Msg::Shutdown);
        let handle = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(handle) = handle {
            let _ = handle.join();
        }
    }
}

fn write_loop(conn: &Connection, receiver: &Receiver<Msg>) {
    loop {
        let first = match receiver.recv() {
            Ok(Msg::Job(job)) => job,
            Ok(Msg::Shutdown) => return checkpoint_for_stop(conn),
            // Every sender is gone: the store was dropped without a stop.
            Err(_) => return,
        };
        let mut batch = vec![first];
        let mut stop = false;
        while batch.len() < MAX_BATCH {
            match receiver.try_recv() {
                Ok(Msg::Job(job)) => batch.push(job),
                Ok(Msg::Shutdown) => {
                    stop = true;
                    break;
                }
                Err(_) => break,
            }
        }
        commit_batch(conn, batch);
        if stop {
            checkpoint_for_stop(conn);
            return;
        }
    }
}

/// Moves everything from the WAL into the database file and empties the WAL, so that a
/// stopped database is whole in its `.db` file (copying that file alone is a backup).
fn checkpoint_for_stop(conn: &Connection) {
    let result = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
        r.get::<_, i64>(0)
    });
    match result {
        Ok(0) => {}
        Ok(_) => tracing::warn!("the WAL could not be checkpointed at stop: a reader was busy"),
        Err(e) => tracing::warn!(error = %e, "the WAL could not be checkpointed at stop"),
    }
}

fn commit_batch(conn: &Connection, batch: Vec<Job>) {
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        tracing::error!(error = %e, "cannot begin a write transaction");
        // Dropping the jobs unrun tells each caller its write did not happen.
        return;
    }
    let mut replies = Vec::with_capacity(batch.len());
    for job in batch {
        if job.atomic {
            if let Err(e) = conn.execute_batch("SAVEPOINT job") {
                tracing::error!(error = %e, "cannot open a savepoint");
                continue;
            }
        }
        let outcome = catch_unwind(AssertUnwindSafe(|| (job.work)(conn)));
        let keep = matches!(outcome, Ok((true, _)));
        if job.atomic {
            let end = if keep {
                "RELEASE job"
            } else {
                "ROLLBACK TO job; RELEASE job"
            };
            if let Err(e) = conn.execute_batch(end) {
                tracing::error!(error = %e, "cannot close a savepoint");
            }
        }
        match outcome {
            Ok((_, reply)) => replies.push(reply),
            Err(_) if job.atomic => tracing::error!("a write panicked; it was rolled back"),
            Err(_) => {
                // What it wrote cannot be told apart: nothing of this group is committed,
                // and every caller is told so (dropped replies answer "not committed").
                tracing::error!("a write panicked; its whole group is rolled back");
                let _ = conn.execute_batch("ROLLBACK");
                return;
            }
        }
    }
    let commit = conn.execute_batch("COMMIT").map_err(|e| e.to_string());
    if commit.is_err() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    for reply in replies {
        reply(commit.clone());
    }
}
