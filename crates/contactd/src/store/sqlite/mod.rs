//! The embedded SQLite backend: one writer thread with group commit (see `writer`), and a
//! small pool of read-only connections that read committed snapshots concurrently (WAL).

pub mod backup;
mod checkpointer;
mod contacts;
mod conversations;
mod duplicates;
mod events;
mod idempotency;
mod keys;
mod merges;
mod readers;
mod segments;
mod writer;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{Connection, OpenFlags, Row};
use serde_json::Value;

use self::checkpointer::Checkpointer;
use self::readers::Readers;
use self::writer::Writer;
use super::contact_list::{Dialect, Param, Sql};
use super::listing::Reads;
use super::records::Columns;
use super::share::WorkspaceShare;
use super::{SqliteSynchronous, Store, StoreError, StoreResult};
use crate::domain::tenant::Tenant;

const MIGRATIONS: &[&str] = &[
    include_str!("../../../migrations/sqlite/0001_init.sql"),
    include_str!("../../../migrations/sqlite/0002_search.sql"),
    include_str!("../../../migrations/sqlite/0003_idempotency_age.sql"),
    include_str!("../../../migrations/sqlite/0004_events.sql"),
    include_str!("../../../migrations/sqlite/0005_identities.sql"),
    include_str!("../../../migrations/sqlite/0006_merges.sql"),
    include_str!("../../../migrations/sqlite/0007_duplicates.sql"),
];
/// The migration after which every contact's search terms are written again.
const REINDEX_AFTER: usize = 2;
/// The migration after which every contact's duplicate keys and pairs are written.
const DUPLICATES_AFTER: usize = 7;

/// `sqlite://relative/path.db`, `sqlite:///absolute/path.db` or `sqlite:path.db`.
pub fn path_from_url(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty()).then(|| PathBuf::from(path))
}

pub struct SqliteStore {
    writer: Writer,
    /// Checkpoints the WAL beside the writer (stopped before the writer's last one).
    checkpointer: std::sync::Mutex<Checkpointer>,
    readers: Readers,
    /// Connections for API key lookups alone, so authentication never waits behind lists.
    key_readers: Readers,
    /// How many of the readers one workspace's lists and counts may hold at once.
    share: WorkspaceShare,
    /// Longest a list or count may run before SQLite stops it.
    query_budget: Duration,
    /// First webhook attempts handed to the delivery worker and not yet recorded.
    handed_out: events::HandedOut,
}

impl SqliteStore {
    pub async fn open(
        path: &Path,
        query_budget: Duration,
        synchronous: SqliteSynchronous,
        cache_mib: u32,
    ) -> anyhow::Result<SqliteStore> {
        let path = path.to_owned();
        tokio::task::spawn_blocking(move || {
            Self::open_blocking(&path, query_budget, synchronous, cache_mib)
        })
        .await?
    }

    fn open_blocking(
        path: &Path,
        query_budget: Duration,
        synchronous: SqliteSynchronous,
        cache_mib: u32,
    ) -> anyhow::Result<SqliteStore> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let mut conn = Connection::open(path)?;
        configure(&conn, synchronous, cache_mib)?;
        migrate(&mut conn)?;
        // A migration may edit the schema's text (0005), which only new connections read.
        drop(conn);
        let conn = Connection::open(path)?;
        configure(&conn, synchronous, cache_mib)?;
        let open_readers = |n: usize| {
            (0..n)
                .map(|_| open_reader(path))
                .collect::<anyhow::Result<Vec<_>>>()
                .map(Readers::new)
        };
        let readers = reader_count();
        let checkpointer = Checkpointer::start(path, synchronous_pragma(synchronous))?;
        Ok(SqliteStore {
            writer: Writer::start(conn)?,
            checkpointer: std::sync::Mutex::new(checkpointer),
            readers: open_readers(readers)?,
            key_readers: open_readers(KEY_READERS)?,
            share: WorkspaceShare::new(readers / 2, query_budget),
            query_budget,
            handed_out: events::HandedOut::default(),
        })
    }

    /// Runs a read that may scan (a list, a count) in the tenant's share of the readers,
    /// within the query budget (see [`Readers::run_bounded`]).
    async fn scan<T: Send + 'static>(
        &self,
        tenant: &Tenant,
        op: impl FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let _turn = self.share.turn(&tenant.workspace_id).await?;
        self.readers.run_bounded(self.query_budget, op).await
    }
}

/// Readers kept for key lookups: each takes microseconds, so two serve thousands a second.
const KEY_READERS: usize = 2;

fn reader_count() -> usize {
    std::thread::available_parallelism()
        .map_or(4, |n| n.get() * 2)
        .clamp(4, 16)
}

fn configure(
    conn: &Connection,
    synchronous: SqliteSynchronous,
    cache_mib: u32,
) -> rusqlite::Result<()> {
    // WAL lets readers run beside the writer. FULL syncs the WAL at every commit, so a
    // write acknowledged has reached the disk; the writer's group commit makes that one
    // sync per group, not per write. NORMAL (opt-in) syncs at checkpoints only.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", synchronous_pragma(synchronous))?;
    // Checkpoints run on their own thread (see `checkpointer`); the writer checkpoints
    // when the WAL grew past a backstop, by then mostly copied, so that the WAL restarts;
    // a WAL emptied by a checkpoint does not keep its size on disk beyond it.
    conn.pragma_update(
        None,
        "wal_autocheckpoint",
        checkpointer::WRITER_BACKSTOP_PAGES,
    )?;
    conn.pragma_update(
        None,
        "journal_size_limit",
        checkpointer::WRITER_BACKSTOP_PAGES * 4096,
    )?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "busy_timeout", 5000)?;
    // Negative: KiB.
    conn.pragma_update(None, "cache_size", -i64::from(cache_mib) * 1024)?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    Ok(())
}

fn synchronous_pragma(synchronous: SqliteSynchronous) -> &'static str {
    match synchronous {
        SqliteSynchronous::Full => "FULL",
        SqliteSynchronous::Normal => "NORMAL",
    }
}

fn open_reader(path: &Path) -> anyhow::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.pragma_update(None, "busy_timeout", 5000)?;
    conn.pragma_update(None, "cache_size", -16_000)?;
    Ok(conn)
}

/// Applies the embedded migrations newer than the database's `user_version`.
fn migrate(conn: &mut Connection) -> anyhow::Result<()> {
    let current: usize = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if current > MIGRATIONS.len() {
        anyhow::bail!(
            "the database schema (version {current}) is newer than this contactd (version {})",
            MIGRATIONS.len()
        );
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index + 1)?;
        tx.commit()?;
    }
    // Once every migration ran: the reindex reads contacts with today's columns.
    if current < REINDEX_AFTER {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        contacts::reindex_all(&tx)?;
        tx.commit()?;
    }
    if current < DUPLICATES_AFTER {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        contacts::find_all_duplicates(&tx)?;
        tx.commit()?;
    }
    Ok(())
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
                StoreError::Unavailable(e.to_string())
            }
            _ => StoreError::Internal(e.into()),
        }
    }
}

impl Columns for Row<'_> {
    fn opt_text(&self, i: usize) -> StoreResult<Option<String>> {
        Ok(self.get(i)?)
    }

    fn opt_int(&self, i: usize) -> StoreResult<Option<i64>> {
        Ok(self.get(i)?)
    }

    fn opt_bytes(&self, i: usize) -> StoreResult<Option<Vec<u8>>> {
        Ok(self.get(i)?)
    }

    fn json(&self, i: usize) -> StoreResult<Value> {
        let text: String = self.get(i)?;
        serde_json::from_str(&text)
            .map_err(|_| StoreError::Internal(anyhow::anyhow!("a stored JSON column is not JSON")))
    }
}

impl Reads for Connection {
    const DIALECT: Dialect = Dialect::Sqlite;

    async fn rows<T: Send>(
        &self,
        sql: Sql,
        read: fn(&dyn Columns) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        let params = sql.params.into_iter().map(|param| match param {
            Param::Text(s) => rusqlite::types::Value::Text(s),
            Param::Int(n) => rusqlite::types::Value::Integer(n),
            Param::Real(n) => rusqlite::types::Value::Real(n),
        });
        let mut statement = self.prepare_cached(&sql.text)?;
        let rows = statement.query_map(rusqlite::params_from_iter(params), |row| Ok(read(row)))?;
        rows.map(|row| row?).collect()
    }
}

/// Runs steps written once for both backends (`async`, for PostgreSQL) over SQLite's
/// synchronous reads: their futures never wait, so one poll finishes them.
fn in_place<T>(steps: impl Future<Output = StoreResult<T>>) -> StoreResult<T> {
    let mut steps = std::pin::pin!(steps);
    match steps.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(result) => result,
        Poll::Pending => Err(StoreError::Internal(anyhow::anyhow!(
            "a SQLite read waited"
        ))),
    }
}

/// Runs the reads of one list in one read transaction, so the page and the total agree.
fn in_snapshot<T>(conn: &Connection, read: impl FnOnce() -> StoreResult<T>) -> StoreResult<T> {
    conn.execute_batch("BEGIN")?;
    let result = read();
    conn.execute_batch("COMMIT")?;
    result
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        self.readers
            .run(|conn| {
                conn.query_row("SELECT 1", [], |_| Ok(()))?;
                Ok(())
            })
            .await
    }

    async fn close(&self) {
        self.checkpointer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .stop();
        self.writer.shutdown();
    }

    async fn analyze(&self) -> StoreResult<()> {
        // Without the per-value samples of sqlite_stat4: with them SQLite prepares a
        // statement again whenever a bound value changes (every lookup by phone, every
        // term write), which cost a third of the writer's time after an import. The
        // planner keeps sqlite_stat1; contactd picks the plans of lists itself.
        self.writer
            .run(|conn| {
                conn.execute_batch(
                    "ANALYZE; DROP TABLE IF EXISTS sqlite_stat4; ANALYZE sqlite_schema",
                )?;
                Ok(())
            })
            .await
    }

    fn busy(&self) -> bool {
        self.writer.queued() > 0
    }

    fn reads_stopped(&self) -> u64 {
        self.readers.stopped()
    }

    fn gauges(&self) -> Vec<(&'static str, &'static str, f64)> {
        vec![
            (
                "contactd_db_write_queue_depth",
                "Writes waiting for the SQLite writer thread.",
                self.writer.queued() as f64,
            ),
            (
                "contactd_db_readers_idle",
                "Idle SQLite read connections.",
                self.readers.idle() as f64,
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_paths() {
        assert_eq!(
            path_from_url("sqlite://contactd.db"),
            Some(PathBuf::from("contactd.db"))
        );
        assert_eq!(
            path_from_url("sqlite:///tmp/x.db"),
            Some(PathBuf::from("/tmp/x.db"))
        );
        assert_eq!(
            path_from_url("sqlite:x.db?mode=rwc"),
            Some(PathBuf::from("x.db"))
        );
        assert_eq!(path_from_url("sqlite://"), None);
        assert_eq!(path_from_url("postgres://localhost/db"), None);
    }
}
