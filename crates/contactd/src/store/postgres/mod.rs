//! The PostgreSQL backend, for many stateless contactd replicas in front of one database.
//!
//! Atomicity comes from the database, so it holds across replicas: unique indexes decide
//! duplicates, `SELECT … FOR UPDATE` serializes read-patch-write updates of one row, and a
//! contact's delete cascades in one transaction. Locks are always taken contact first,
//! then conversation, so concurrent writes cannot deadlock. A lost connection is a 503
//! for the requests that needed it; the pool reconnects by itself when the database is back.

mod contacts;
mod conversations;
mod duplicates;
mod events;
mod idempotency;
mod keys;
mod merges;
mod segments;
mod statistics;

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{
    ClientWrapper, Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime, Transaction,
};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{NoTls, Row};

use super::contact_list::{Dialect, Param, Sql};
use super::listing::Reads;
use super::records::Columns;
use super::share::{Turn, WorkspaceShare};
use super::{Store, StoreError, StoreOptions, StoreResult};
use crate::domain::tenant::Tenant;

const MIGRATIONS: &[&str] = &[
    include_str!("../../../migrations/postgres/0001_init.sql"),
    include_str!("../../../migrations/postgres/0002_search.sql"),
    include_str!("../../../migrations/postgres/0003_idempotency_age.sql"),
    include_str!("../../../migrations/postgres/0004_events.sql"),
    include_str!("../../../migrations/postgres/0005_identities.sql"),
    include_str!("../../../migrations/postgres/0006_merges.sql"),
    include_str!("../../../migrations/postgres/0007_duplicates.sql"),
    include_str!("../../../migrations/postgres/0008_duplicate_keys_hash.sql"),
];
/// The migration after which every contact's search terms are written again.
const REINDEX_AFTER: usize = 2;
/// The migration after which every contact's duplicate keys and pairs are written.
const DUPLICATES_AFTER: usize = 7;

/// Connections kept for key lookups: each takes well under a millisecond.
const KEY_CONNECTIONS: usize = 2;

/// Held while migrating, so replicas starting together migrate once.
const MIGRATION_LOCK: i64 = 0x636f_6e74_6163_7464; // "contactd"

/// `ANALYZE` of the tables; a failure is logged, as the statistics only guide plans.
async fn analyze(pool: Pool, tables: &'static str) {
    let analyzed = match pool.get().await {
        Ok(client) => client
            .batch_execute(&format!("ANALYZE {tables}"))
            .await
            .map_err(StoreError::from),
        Err(e) => Err(StoreError::Unavailable(format!(
            "no database connection: {e}"
        ))),
    };
    if let Err(e) = analyzed {
        tracing::warn!(error = %e, tables, "refreshing statistics failed");
    }
}

pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

pub struct PgStore {
    pool: Pool,
    /// Connections for API key lookups alone, so authentication never waits behind lists.
    key_pool: Pool,
    /// How many of the pool's connections one workspace's lists and counts may hold.
    share: WorkspaceShare,
    /// The most prepared statements seen on one connection (a gauge: it must stay flat).
    largest_statement_cache: AtomicUsize,
    /// Lists and counts cancelled because their request ended first or that ran into
    /// `statement_timeout` (see `contacts::Bounded`).
    reads_stopped: Arc<AtomicU64>,
    /// `statement_timeout`: the query budget.
    statement_timeout: Duration,
    /// When to refresh the statistics of contacts inserted by batches, and of webhook
    /// deliveries queued by the fan-out.
    contact_statistics: statistics::Refresh,
    delivery_statistics: statistics::Refresh,
}

impl PgStore {
    /// Refreshes the planner's statistics of the contacts and the tables written with
    /// them as creates fill the tables (see [`statistics`]). Without, a batch's lookup of
    /// its contacts' phones and emails in `contact_handles` was planned as a scan of the
    /// tenant's every handle for each contact (a batch of 100 took seconds at 4,000
    /// contacts). In the background: the request that makes it due does not wait for it.
    pub(super) async fn after_batch_inserts(&self, inserted: u64) {
        if self.contact_statistics.due(inserted) {
            tokio::spawn(analyze(
                self.pool.clone(),
                "contacts, contact_terms, contact_handles, duplicate_keys, duplicate_pairs",
            ));
        }
    }

    /// Refreshes the statistics of the deliveries as the fan-out fills the table: a claim
    /// planned on none scanned every delivery of its endpoint.
    pub(super) async fn after_fan_out(&self, queued: u64) {
        if self.delivery_statistics.due(queued) {
            analyze(self.pool.clone(), "webhook_deliveries").await;
        }
    }

    pub async fn open(url: &str, options: &StoreOptions) -> anyhow::Result<PgStore> {
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| anyhow::anyhow!("invalid PostgreSQL URL: {e}"))?;
        config.application_name("contactd");
        config.connect_timeout(options.connect_timeout);
        config.options(format!(
            "-c statement_timeout={}",
            options.statement_timeout.as_millis()
        ));
        let pool = |manager: Manager, size: usize| {
            Pool::builder(manager)
                .max_size(size)
                .wait_timeout(Some(options.acquire_timeout))
                .create_timeout(Some(options.connect_timeout))
                .recycle_timeout(Some(options.connect_timeout))
                .runtime(Runtime::Tokio1)
                .build()
        };
        let manager = |config: tokio_postgres::Config| {
            Manager::from_config(
                config,
                NoTls,
                ManagerConfig {
                    recycling_method: RecyclingMethod::Fast,
                },
            )
        };
        let store = PgStore {
            pool: pool(manager(config.clone()), options.pool_size)?,
            key_pool: pool(manager(config), KEY_CONNECTIONS)?,
            share: WorkspaceShare::new(options.pool_size / 4, options.statement_timeout),
            largest_statement_cache: AtomicUsize::new(0),
            reads_stopped: Arc::new(AtomicU64::new(0)),
            statement_timeout: options.statement_timeout,
            contact_statistics: statistics::Refresh::new(),
            delivery_statistics: statistics::Refresh::new(),
        };
        store.migrate().await?;
        Ok(store)
    }

    /// A connection for a read that may scan (a list, a count), in the tenant's share of
    /// the pool.
    async fn scan_client(&self, tenant: &Tenant) -> StoreResult<(Turn, Object)> {
        let turn = self.share.turn(&tenant.workspace_id).await?;
        Ok((turn, self.client().await?))
    }

    async fn key_client(&self) -> StoreResult<Object> {
        self.key_pool
            .get()
            .await
            .map_err(|e| StoreError::Unavailable(format!("no database connection: {e}")))
    }

    async fn client(&self) -> StoreResult<Object> {
        let client = self
            .pool
            .get()
            .await
            .map_err(|e| StoreError::Unavailable(format!("no database connection: {e}")))?;
        self.largest_statement_cache
            .fetch_max(client.statement_cache.size(), Ordering::Relaxed);
        Ok(client)
    }

    async fn migrate(&self) -> anyhow::Result<()> {
        let mut client = self.client().await?;
        client
            .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
            .await?;
        let applied = apply_migrations(&mut client).await;
        let unlocked = client
            .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
            .await;
        applied?;
        unlocked?;
        Ok(())
    }
}

async fn apply_migrations(client: &mut Object) -> anyhow::Result<()> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS contactd_migrations \
             (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)",
        )
        .await?;
    let current: i32 = client
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM contactd_migrations",
            &[],
        )
        .await?
        .get(0);
    let current = usize::try_from(current).unwrap_or(0);
    if current > MIGRATIONS.len() {
        anyhow::bail!(
            "the database schema (version {current}) is newer than this contactd (version {})",
            MIGRATIONS.len()
        );
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let version = i32::try_from(index + 1)?;
        let tx = client.transaction().await?;
        tx.batch_execute(sql).await?;
        // Reads contacts with today's columns, so only once the last migration ran.
        if index + 1 == MIGRATIONS.len() && current < REINDEX_AFTER {
            contacts::reindex_all(&tx).await?;
        }
        if index + 1 == MIGRATIONS.len() && current < DUPLICATES_AFTER {
            contacts::find_all_duplicates(&tx).await?;
        }
        tx.execute(
            "INSERT INTO contactd_migrations (version, applied_at) VALUES ($1, $2)",
            &[&version, &crate::domain::time::Timestamp::now().as_micros()],
        )
        .await?;
        tx.commit().await?;
    }
    Ok(())
}

/// A read-only repeatable-read transaction: the reads of one answer (a page and its
/// total, a plan and its page) see one snapshot.
pub(super) async fn read_snapshot(client: &mut Object) -> StoreResult<Transaction<'_>> {
    Ok(client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?)
}

/// A connection or a transaction; queries go through the connection's statement cache.
pub(super) enum Db<'a> {
    Client(&'a ClientWrapper),
    Tx(&'a Transaction<'a>),
}

type Params<'p> = [&'p (dyn ToSql + Sync)];

impl Db<'_> {
    async fn query(
        &self,
        sql: &str,
        params: &Params<'_>,
    ) -> Result<Vec<Row>, tokio_postgres::Error> {
        match self {
            Db::Client(c) => c.query(&c.prepare_cached(sql).await?, params).await,
            Db::Tx(t) => t.query(&t.prepare_cached(sql).await?, params).await,
        }
    }

    async fn query_opt(
        &self,
        sql: &str,
        params: &Params<'_>,
    ) -> Result<Option<Row>, tokio_postgres::Error> {
        match self {
            Db::Client(c) => c.query_opt(&c.prepare_cached(sql).await?, params).await,
            Db::Tx(t) => t.query_opt(&t.prepare_cached(sql).await?, params).await,
        }
    }

    /// Runs SQL built for one request (a list's shape depends on its filters) as an unnamed
    /// statement, in one round trip: caching every shape would grow each connection's
    /// cache, here and in PostgreSQL, without bound. Parameters carry their types.
    async fn query_once(
        &self,
        sql: &str,
        params: &[(&(dyn ToSql + Sync), Type)],
    ) -> Result<Vec<Row>, tokio_postgres::Error> {
        match self {
            Db::Client(c) => c.query_typed(sql, params).await,
            Db::Tx(t) => t.query_typed(sql, params).await,
        }
    }

    async fn execute(&self, sql: &str, params: &Params<'_>) -> Result<u64, tokio_postgres::Error> {
        match self {
            Db::Client(c) => c.execute(&c.prepare_cached(sql).await?, params).await,
            Db::Tx(t) => t.execute(&t.prepare_cached(sql).await?, params).await,
        }
    }
}

impl Reads for Db<'_> {
    const DIALECT: Dialect = Dialect::Postgres;

    async fn rows<T: Send>(
        &self,
        sql: Sql,
        read: fn(&dyn Columns) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        let params: Vec<(Box<dyn ToSql + Sync + Send>, Type)> = sql
            .params
            .into_iter()
            .map(|param| match param {
                Param::Text(s) => (Box::new(s) as Box<dyn ToSql + Sync + Send>, Type::TEXT),
                Param::Int(n) => (Box::new(n) as Box<dyn ToSql + Sync + Send>, Type::INT8),
                Param::Real(n) => (Box::new(n) as Box<dyn ToSql + Sync + Send>, Type::FLOAT8),
            })
            .collect();
        let typed: Vec<(&(dyn ToSql + Sync), Type)> = params
            .iter()
            .map(|(p, t)| (p.as_ref() as &(dyn ToSql + Sync), t.clone()))
            .collect();
        let rows = self.query_once(&sql.text, &typed).await?;
        rows.iter().map(|row| read(row)).collect()
    }
}

impl Columns for Row {
    fn opt_text(&self, i: usize) -> StoreResult<Option<String>> {
        Ok(self.try_get(i)?)
    }

    fn opt_int(&self, i: usize) -> StoreResult<Option<i64>> {
        let narrow = self.columns().get(i).map(|c| c.type_().clone());
        Ok(match narrow {
            Some(Type::INT4) => self.try_get::<_, Option<i32>>(i)?.map(i64::from),
            Some(Type::INT2) => self.try_get::<_, Option<i16>>(i)?.map(i64::from),
            _ => self.try_get(i)?,
        })
    }

    fn opt_bytes(&self, i: usize) -> StoreResult<Option<Vec<u8>>> {
        Ok(self.try_get(i)?)
    }

    fn json(&self, i: usize) -> StoreResult<serde_json::Value> {
        Ok(self.try_get(i)?)
    }
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        let transient = match e.code() {
            // No SQLSTATE: the connection broke, timed out or closed.
            None => {
                e.is_closed()
                    || std::error::Error::source(&e).is_some_and(|s| s.is::<std::io::Error>())
                    || e.to_string().contains("timed out")
            }
            Some(code) => {
                let code = code.code();
                code.starts_with("08") // connection exception
                    || code.starts_with("57") // operator intervention: shutdown, cancel, timeout
                    || code.starts_with("53") // insufficient resources
                    || code == SqlState::T_R_DEADLOCK_DETECTED.code()
                    || code == SqlState::T_R_SERIALIZATION_FAILURE.code()
            }
        };
        if transient {
            StoreError::Unavailable(e.to_string())
        } else {
            StoreError::Internal(e.into())
        }
    }
}

#[async_trait]
impl Store for PgStore {
    async fn ping(&self) -> StoreResult<()> {
        let client = self.client().await?;
        client.simple_query("SELECT 1").await?;
        Ok(())
    }

    async fn close(&self) {
        self.pool.close();
        self.key_pool.close();
    }

    async fn analyze(&self) -> StoreResult<()> {
        let client = self.client().await?;
        // VACUUM as well: it sets the visibility map, without which a count of one term
        // is a sequential scan instead of an index-only scan until autovacuum comes by.
        client
            .batch_execute("VACUUM (ANALYZE) contacts, contact_terms, conversations, messages")
            .await?;
        Ok(())
    }

    fn busy(&self) -> bool {
        let status = self.pool.status();
        status.waiting > 0 || (status.available == 0 && status.size >= status.max_size)
    }

    fn reads_stopped(&self) -> u64 {
        self.reads_stopped.load(Ordering::Relaxed)
    }

    fn gauges(&self) -> Vec<(&'static str, &'static str, f64)> {
        let status = self.pool.status();
        vec![
            (
                "contactd_db_pool_size",
                "Open PostgreSQL connections.",
                status.size as f64,
            ),
            (
                "contactd_db_pool_max_size",
                "Most PostgreSQL connections.",
                status.max_size as f64,
            ),
            (
                "contactd_db_pool_available",
                "Idle PostgreSQL connections.",
                status.available as f64,
            ),
            (
                "contactd_db_pool_waiting",
                "Requests waiting for a connection.",
                status.waiting as f64,
            ),
            (
                "contactd_db_statement_cache_max",
                "Most prepared statements seen on one PostgreSQL connection.",
                self.largest_statement_cache.load(Ordering::Relaxed) as f64,
            ),
        ]
    }
}
