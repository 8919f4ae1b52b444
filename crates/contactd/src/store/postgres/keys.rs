//! Workspaces and API keys in PostgreSQL.

use async_trait::async_trait;

use super::{Db, PgStore};
use crate::domain::api_key::KeyHash;
use crate::domain::ids::new_id;
use crate::domain::tenant::{Mode, Tenant};
use crate::domain::time::Timestamp;
use crate::store::records::{self, KEY_INFO_COLUMNS};
use crate::store::{KeyInfo, KeyRevocations, KeyStore, StoreError, StoreResult};

#[async_trait]
impl KeyStore for PgStore {
    async fn insert_key(
        &self,
        workspace: &str,
        mode: Mode,
        prefix: &str,
        hash: KeyHash,
    ) -> StoreResult<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let db = Db::Tx(&tx);
        let now = Timestamp::now().as_micros();
        db.execute(
            "INSERT INTO workspaces (id, name, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO NOTHING",
            &[&new_id("ws_"), &workspace, &now],
        )
        .await?;
        db.execute(
            "INSERT INTO api_keys (key_hash, prefix, workspace_id, mode, created_at) \
             SELECT $1, $2, id, $3, $4 FROM workspaces WHERE name = $5",
            &[
                &hash.0.as_slice(),
                &prefix,
                &mode.as_str(),
                &now,
                &workspace,
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn ensure_workspace(&self, workspace: &str) -> StoreResult<String> {
        let client = self.client().await?;
        let db = Db::Client(&client);
        db.execute(
            "INSERT INTO workspaces (id, name, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO NOTHING",
            &[&new_id("ws_"), &workspace, &Timestamp::now().as_micros()],
        )
        .await?;
        let row = db
            .query_opt("SELECT id FROM workspaces WHERE name = $1", &[&workspace])
            .await?
            .ok_or_else(|| StoreError::Unavailable("the workspace vanished; retry".into()))?;
        Ok(row.try_get(0)?)
    }

    async fn tenant_for_key(&self, hash: KeyHash) -> StoreResult<Option<Tenant>> {
        let client = self.key_client().await?;
        let row = Db::Client(&client)
            .query_opt(
                "SELECT workspace_id, mode FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL",
                &[&hash.0.as_slice()],
            )
            .await?;
        row.map(|row| records::tenant(&row, 0)).transpose()
    }

    async fn touch_key(&self, hash: KeyHash, at: Timestamp) -> StoreResult<()> {
        let client = self.client().await?;
        Db::Client(&client)
            .execute(
                "UPDATE api_keys SET last_used_at = $2 WHERE key_hash = $1",
                &[&hash.0.as_slice(), &at.as_micros()],
            )
            .await?;
        Ok(())
    }

    async fn list_keys(&self) -> StoreResult<Vec<KeyInfo>> {
        let client = self.client().await?;
        let rows = Db::Client(&client)
            .query(
                &format!(
                    "SELECT {KEY_INFO_COLUMNS} \
                     FROM api_keys k JOIN workspaces w ON w.id = k.workspace_id \
                     ORDER BY k.created_at, k.prefix"
                ),
                &[],
            )
            .await?;
        rows.iter().map(records::key_info).collect()
    }

    async fn revoke_key(&self, prefix: &str) -> StoreResult<u64> {
        let client = self.client().await?;
        let revoked = Db::Client(&client)
            .execute(
                "UPDATE api_keys SET revoked_at = $2 WHERE prefix = $1 AND revoked_at IS NULL",
                &[&prefix, &Timestamp::now().as_micros()],
            )
            .await?;
        Ok(revoked)
    }

    async fn count_keys(&self) -> StoreResult<u64> {
        let client = self.client().await?;
        let n: i64 = Db::Client(&client)
            .query_opt("SELECT COUNT(*) FROM api_keys", &[])
            .await?
            .map_or(Ok(0), |r| r.try_get(0))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn key_revocations(&self) -> StoreResult<KeyRevocations> {
        let client = self.key_client().await?;
        let row = Db::Client(&client)
            .query_opt(
                "SELECT COUNT(*), COALESCE(MAX(revoked_at), 0) FROM api_keys \
                 WHERE revoked_at IS NOT NULL",
                &[],
            )
            .await?;
        match row {
            Some(row) => Ok(KeyRevocations {
                count: row.try_get(0)?,
                latest: row.try_get(1)?,
            }),
            None => Ok(KeyRevocations::default()),
        }
    }
}
