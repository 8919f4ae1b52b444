//! Idempotency keys in SQLite.

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};

use super::SqliteStore;
use crate::domain::idempotency::{decide, IdempotencyClaim, KeyRecord, StoredResponse};
use crate::domain::tenant::Tenant;
use crate::domain::time::Timestamp;
use crate::store::{IdempotencyStore, StoreError, StoreResult};

fn headers_to_text(headers: &[(String, String)]) -> String {
    serde_json::to_string(headers).unwrap_or_else(|_| "[]".to_owned())
}

fn headers_from_text(text: &str) -> StoreResult<Vec<(String, String)>> {
    serde_json::from_str(text)
        .map_err(|_| StoreError::Internal(anyhow::anyhow!("stored headers are malformed")))
}

/// The stored record of a key, if any.
fn read_record(conn: &Connection, tenant: &Tenant, key: &str) -> StoreResult<Option<KeyRecord>> {
    let args = params![tenant.workspace_id, tenant.mode.as_str(), key];
    let row = conn
        .prepare_cached(
            "SELECT fingerprint, status, headers, body, created_at FROM idempotency_keys \
             WHERE workspace_id = ?1 AND mode = ?2 AND key = ?3",
        )?
        .query_row(args, |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, Option<u16>>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<Vec<u8>>>(3)?,
                r.get::<_, i64>(4)?,
            ))
        })
        .optional()?;
    let record = match row {
        None => None,
        Some((stored, status, headers, body, created_at)) => Some(KeyRecord {
            fingerprint: stored,
            created_at: Timestamp::from_micros(created_at),
            response: match status {
                Some(status) => Some(StoredResponse {
                    status,
                    headers: headers_from_text(headers.as_deref().unwrap_or("[]"))?,
                    body: body.unwrap_or_default(),
                }),
                None => None,
            },
        }),
    };
    Ok(record)
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
        headers_to_text(&response.headers),
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
