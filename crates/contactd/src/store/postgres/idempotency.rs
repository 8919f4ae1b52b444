//! Idempotency keys in PostgreSQL.

use std::any::Any;
use std::sync::Arc;

use async_trait::async_trait;

use super::{Db, PgStore};
use crate::domain::idempotency::{decide, IdempotencyClaim, StoredResponse};
use crate::domain::tenant::Tenant;
use crate::domain::time::Timestamp;
use crate::store::answer::{self, PendingAnswer};
use crate::store::records::{self, KEY_RECORD_COLUMNS};
use crate::store::{IdempotencyStore, StoreError, StoreResult};

fn select_record(lock: bool) -> String {
    format!(
        "SELECT {KEY_RECORD_COLUMNS} FROM idempotency_keys \
         WHERE workspace_id = $1 AND mode = $2 AND key = $3{}",
        if lock { " FOR UPDATE" } else { "" }
    )
}

/// Keeps the answer of the request this write serves in the write's transaction, when it
/// is a request with an `Idempotency-Key` (see `store::answer`). Once the transaction
/// committed, the caller marks the returned answer kept.
pub(super) async fn keep_answer<T: Any>(
    db: &Db<'_>,
    result: &T,
) -> StoreResult<Option<Arc<PendingAnswer>>> {
    let Some(pending) = answer::current() else {
        return Ok(None);
    };
    let Some(response) = pending.render(result) else {
        return Ok(None);
    };
    store_answer(db, &pending.tenant, &pending.key, &response).await?;
    Ok(Some(pending))
}

/// After the commit of a transaction that kept an answer.
pub(super) fn answer_committed(kept: Option<Arc<PendingAnswer>>) {
    if let Some(pending) = kept {
        pending.mark_kept();
    }
}

async fn store_answer(
    db: &Db<'_>,
    tenant: &Tenant,
    key: &str,
    response: &StoredResponse,
) -> StoreResult<()> {
    let headers = records::headers_text(&response.headers);
    db.execute(
        "UPDATE idempotency_keys SET status = $4, headers = $5, body = $6 \
         WHERE workspace_id = $1 AND mode = $2 AND key = $3",
        &[
            &tenant.workspace_id,
            &tenant.mode.as_str(),
            &key,
            &i32::from(response.status),
            &headers,
            &response.body,
        ],
    )
    .await?;
    Ok(())
}

#[async_trait]
impl IdempotencyStore for PgStore {
    async fn claim_idempotency_key(
        &self,
        tenant: &Tenant,
        key: &str,
        fingerprint: [u8; 32],
    ) -> StoreResult<IdempotencyClaim> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let db = Db::Tx(&tx);
        let now = Timestamp::now().as_micros();
        // A first claim inserts the row; a later one locks it, so concurrent claims queue.
        let inserted = db
            .query_opt(
                "INSERT INTO idempotency_keys (workspace_id, mode, key, fingerprint, created_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING 1",
                &[
                    &tenant.workspace_id,
                    &tenant.mode.as_str(),
                    &key,
                    &fingerprint.as_slice(),
                    &now,
                ],
            )
            .await?;
        if inserted.is_some() {
            tx.commit().await?;
            return Ok(IdempotencyClaim::Claimed);
        }
        let row = db
            .query_opt(
                &select_record(true),
                &[&tenant.workspace_id, &tenant.mode.as_str(), &key],
            )
            .await?
            .ok_or_else(|| StoreError::Unavailable("the idempotency key vanished; retry".into()))?;
        let record = records::key_record(&row)?;
        let claim = decide(Some(&record), &fingerprint, Timestamp::now());
        if claim == IdempotencyClaim::Claimed {
            db.execute(
                "UPDATE idempotency_keys SET fingerprint = $4, status = NULL, headers = NULL, \
                 body = NULL, created_at = $5 WHERE workspace_id = $1 AND mode = $2 AND key = $3",
                &[
                    &tenant.workspace_id,
                    &tenant.mode.as_str(),
                    &key,
                    &fingerprint.as_slice(),
                    &now,
                ],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(claim)
    }

    async fn complete_idempotency_key(
        &self,
        tenant: &Tenant,
        key: &str,
        response: StoredResponse,
    ) -> StoreResult<()> {
        let client = self.client().await?;
        store_answer(&Db::Client(&client), tenant, key, &response).await
    }

    async fn peek_idempotency_key(
        &self,
        tenant: &Tenant,
        key: &str,
        fingerprint: [u8; 32],
    ) -> StoreResult<IdempotencyClaim> {
        let client = self.client().await?;
        let row = Db::Client(&client)
            .query_opt(
                &select_record(false),
                &[&tenant.workspace_id, &tenant.mode.as_str(), &key],
            )
            .await?;
        let record = row.as_ref().map(records::key_record).transpose()?;
        Ok(decide(record.as_ref(), &fingerprint, Timestamp::now()))
    }

    async fn prune_idempotency_keys(&self, before: Timestamp) -> StoreResult<u64> {
        let client = self.client().await?;
        let mut pruned = 0;
        // In slices, so no statement holds many row locks for long.
        loop {
            let n = Db::Client(&client)
                .execute(
                    "DELETE FROM idempotency_keys WHERE ctid = ANY(ARRAY(SELECT ctid \
                     FROM idempotency_keys WHERE created_at < $1 LIMIT 1000))",
                    &[&before.as_micros()],
                )
                .await?;
            pruned += n;
            if n < 1000 {
                return Ok(pruned);
            }
        }
    }

    async fn release_idempotency_key(&self, tenant: &Tenant, key: &str) -> StoreResult<()> {
        let client = self.client().await?;
        Db::Client(&client)
            .execute(
                "DELETE FROM idempotency_keys WHERE workspace_id = $1 AND mode = $2 AND key = $3",
                &[&tenant.workspace_id, &tenant.mode.as_str(), &key],
            )
            .await?;
        Ok(())
    }
}
