//! Idempotency keys in SQLite.

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};

use super::SqliteStore;
use crate::domain::idempotency::{decide, IdempotencyClaim, KeyRecord, StoredResponse};
use crate::domain::tenant::Tenant;
use crate::domain::time::Timestamp;
use crate::store::records::{self, KEY_RECORD_COLUMNS};
use crate::store::{IdempotencyStore, StoreResult};

/// The stored record of a key, if any.
fn read_record(conn: &Connection, tenant: &Tenant, key: &str) -> StoreResult<Option<KeyRecord>> {
    conn.prepare_cached(&format!(
        "SELECT {KEY_RECORD_COLUMNS} FROM idempotency_keys \
         WHERE workspace_id = ?1 AND mode = ?2 AND key = ?3"
    ))?
    .query_row(
        params![tenant.workspace_id, tenant.mode.as_str(), key],
        |row| Ok(records::key_record(row)),
    )
    .optional()?
    .transpose()
}

/// Keeps the answer of the request holding the key (in the caller's transaction).
pub(super) fn store_answer(
    conn: &Connection,
    tenant: &Tenant,
    key: &str,
    response: &StoredResponse,
) -> StoreResult<()> {
    conn.prepare_cached(
        "UPDATE idempotency_keys SET status = ?4, headers = ?5, body = ?6 \
         WHERE workspace_id = ?1 AND mode = ?2 AND key = ?3",
    )?
    .execute(params![
        tenant.workspace_id,
        tenant.mode.as_str(),
        key,
        response.status,
        records::headers_text(&response.headers),
        response.body
    ])?;
    Ok(())
}

#[async_trait]
impl IdempotencyStore for SqliteStore {
    async fn claim_idempotency_key(
        &self,
        tenant: &Tenant,
        key: &str,
        fingerprint: [u8; 32],
    ) -> StoreResult<IdempotencyClaim> {
        let (tenant, key) = (tenant.clone(), key.to_owned());
        self.writer
            .run(move |conn| {
                let record = read_record(conn, &tenant, &key)?;
                let claim = decide(record.as_ref(), &fingerprint, Timestamp::now());
                if claim == IdempotencyClaim::Claimed {
                    conn.prepare_cached(
                        "INSERT INTO idempotency_keys (workspace_id, mode, key, fingerprint, created_at) \
                         VALUES (?1, ?2, ?3, ?4, ?5) \
                         ON CONFLICT (workspace_id, mode, key) DO UPDATE SET \
                         fingerprint = excluded.fingerprint, status = NULL, headers = NULL, \
                         body = NULL, created_at = excluded.created_at",
                    )?
                    .execute(params![
                        tenant.workspace_id,
                        tenant.mode.as_str(),
                        key,
                        fingerprint.as_slice(),
                        Timestamp::now().as_micros()
                    ])?;
                }
                Ok(claim)
            })
            .await
    }

    async fn complete_idempotency_key(
        &self,
        tenant: &Tenant,
        key: &str,
        response: StoredResponse,
    ) -> StoreResult<()> {
        let (tenant, key) = (tenant.clone(), key.to_owned());
        self.writer
            .run(move |conn| store_answer(conn, &tenant, &key, &response))
            .await
    }

    async fn peek_idempotency_key(
        &self,
        tenant: &Tenant,
        key: &str,
        fingerprint: [u8; 32],
    ) -> StoreResult<IdempotencyClaim> {
        let (tenant, key) = (tenant.clone(), key.to_owned());
        self.readers
            .run_quick(move |conn| {
                let record = read_record(conn, &tenant, &key)?;
                Ok(decide(record.as_ref(), &fingerprint, Timestamp::now()))
            })
            .await
    }

    async fn prune_idempotency_keys(&self, before: Timestamp) -> StoreResult<u64> {
        let mut pruned = 0;
        // In slices, so the writer is never held long.
        loop {
            let n = self
                .writer
                .run(move |conn| {
                    Ok(conn
                        .prepare_cached(
                            "DELETE FROM idempotency_keys WHERE (workspace_id, mode, key) IN \
                             (SELECT workspace_id, mode, key FROM idempotency_keys \
                             WHERE created_at < ?1 LIMIT 1000)",
                        )?
                        .execute(params![before.as_micros()])?)
                })
                .await?;
            pruned += n as u64;
            if n < 1000 {
                return Ok(pruned);
            }
        }
    }

    async fn release_idempotency_key(&self, tenant: &Tenant, key: &str) -> StoreResult<()> {
        let (tenant, key) = (tenant.clone(), key.to_owned());
        self.writer
            .run(move |conn| {
                conn.prepare_cached(
                    "DELETE FROM idempotency_keys WHERE workspace_id = ?1 AND mode = ?2 AND key = ?3",
                )?
                .execute(params![tenant.workspace_id, tenant.mode.as_str(), key])?;
                Ok(())
            })
            .await
    }
}
