//! A fixed pool of read-only connections, used from blocking threads.

use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender};
use rusqlite::Connection;

use crate::store::{StoreError, StoreResult};

#[derive(Clone)]
pub struct Readers(Arc<Pool>);

struct Pool {
    give_back: Sender<Connection>,
    take: Receiver<Connection>,
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
        Readers(Arc::new(Pool { give_back, take }))
    }

    /// Connections not in use right now.
    pub fn idle(&self) -> usize {
        self.0.take.len()
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

    pub async fn run<T: Send + 'static>(
        &self,
        op: impl FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let pool = self.0.clone();
        tokio::task::spawn_blocking(move || {
            let conn = pool
                .take
                .recv()
                .map_err(|_| StoreError::Unavailable("no database connection".into()))?;
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
