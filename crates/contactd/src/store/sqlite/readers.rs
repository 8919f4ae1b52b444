//! A fixed pool of read-only connections, used from blocking threads.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use rusqlite::Connection;

use crate::store::{StoreError, StoreResult};

#[derive(Clone)]
pub struct Readers(Arc<Pool>);

struct Pool {
    give_back: Sender<Connection>,
    take: Receiver<Connection>,
    /// Reads stopped by their budget or because their caller went away.
    stopped: AtomicU64,
}

/// Returns the connection to the pool however the read ends, a panic included.
struct Lease<'a> {
    pool: &'a Pool,
    conn: Option<Connection>,
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            let _ = self.pool.give_back.send(conn);
        }
    }
}

impl Readers {
    pub fn new(connections: Vec<Connection>) -> Readers {
        let (give_back, take) = crossbeam_channel::unbounded();
        for conn in connections {
            let _ = give_back.send(conn);
        }
        Readers(Arc::new(Pool {
            give_back,
            take,
            stopped: AtomicU64::new(0),
        }))
    }

    /// Connections not in use right now.
    pub fn idle(&self) -> usize {
        self.0.take.len()
    }

    /// Reads stopped so far by [`Readers::run_bounded`].
    pub fn stopped(&self) -> u64 {
        self.0.stopped.load(Ordering::Relaxed)
    }

    /// Runs a lookup by key on the calling thread when a connection is free: a point read
    /// takes microseconds, less than handing it to a blocking thread and back. Reads that
    /// can scan (lists) use [`Readers::run`].
    pub async fn run_quick<T: Send + 'static>(
        &self,
        op: impl FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        match self.0.take.try_recv() {
            Ok(conn) => {
                let lease = Lease {
                    pool: &self.0,
                    conn: Some(conn),
                };
                match &lease.conn {
                    Some(conn) => op(conn),
                    None => Err(StoreError::Unavailable("no database connection".into())),
                }
            }
            Err(_) => self.run(op).await,
        }
    }

    /// Runs a read that may scan (a list, a count) within a time budget: SQLite stops it
    /// (`SQLITE_INTERRUPT`, through a progress handler) when the budget is spent or when
    /// the caller stops waiting — its request timed out or its client went away — so no
    /// query outlives its request and the connection is free again at once.
    pub async fn run_bounded<T: Send + 'static>(
        &self,
        budget: Duration,
        op: impl FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let abandoned = Arc::new(AtomicBool::new(false));
        let _on_drop = SetOnDrop(abandoned.clone());
        let deadline = Instant::now() + budget;
        let pool = self.0.clone();
        self.run(move |conn| {
            let stopped = Arc::new(AtomicBool::new(false));
            let stop = stopped.clone();
            conn.progress_handler(
                PROGRESS_STEPS,
                Some(move || {
                    let over = abandoned.load(Ordering::Relaxed) || Instant::now() >= deadline;
                    if over {
                        stop.store(true, Ordering::Relaxed);
                    }
                    over
                }),
            );
            let result = op(conn);
            conn.progress_handler(0, None::<fn() -> bool>);
            if stopped.load(Ordering::Relaxed) {
                pool.stopped.fetch_add(1, Ordering::Relaxed);
            }
            if !conn.is_autocommit() {
                // Interrupted between BEGIN and COMMIT: leave the connection clean.
                let _ = conn.execute_batch("ROLLBACK");
            }
            result.map_err(|e| match e {
                StoreError::Internal(inner) if is_interrupt(&inner) => StoreError::Unavailable(
                    "the query ran past its time budget and was stopped".into(),
                ),
                other => other,
            })
        })
        .await
    }

    pub async fn run<T: Send + 'static>(
        &self,
        op: impl FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let pool = self.0.clone();
        tokio::task::spawn_blocking(move || {
            let conn = pool.take.recv_timeout(WAIT_FOR_CONNECTION).map_err(|_| {
                StoreError::Unavailable("no database connection became free in time".into())
            })?;
            let lease = Lease {
                pool: &pool,
                conn: Some(conn),
            };
            match &lease.conn {
                Some(conn) => op(conn),
                None => Err(StoreError::Unavailable("no database connection".into())),
            }
        })
        .await
        .map_err(|e| StoreError::Internal(anyhow::anyhow!("read task failed: {e}")))?
    }
}

/// Longest a read waits for a free connection. Workspaces' lists hold only their share
/// of the readers (see `store::share`), so a wait this long means the database is stuck.
const WAIT_FOR_CONNECTION: Duration = Duration::from_secs(5);

/// Virtual machine steps between two checks of a read's budget (a few microseconds).
const PROGRESS_STEPS: i32 = 2_000;

/// Tells a running read that its caller is gone.
struct SetOnDrop(Arc<AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

fn is_interrupt(e: &anyhow::Error) -> bool {
    e.downcast_ref::<rusqlite::Error>()
        .and_then(rusqlite::Error::sqlite_error_code)
        == Some(rusqlite::ErrorCode::OperationInterrupted)
}
