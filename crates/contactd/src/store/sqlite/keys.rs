//! Workspaces and API keys in SQLite.

use async_trait::async_trait;
use rusqlite::{params, OptionalExtension};

use super::SqliteStore;
use crate::domain::api_key::KeyHash;
use crate::domain::ids::new_id;
use crate::domain::tenant::{Mode, Tenant};
use crate::domain::time::Timestamp;
use crate::store::records::{self, KEY_INFO_COLUMNS};
use crate::store::{KeyInfo, KeyRevocations, KeyStore, StoreResult};

#[async_trait]
impl KeyStore for SqliteStore {
    async fn insert_key(
        &self,
        workspace: &str,
        mode: Mode,
        prefix: &str,
        hash: KeyHash,
    ) -> StoreResult<()> {
        let (workspace, prefix) = (workspace.to_owned(), prefix.to_owned());
        self.writer
            .run_atomic(move |conn| {
                let now = Timestamp::now().as_micros();
                conn.prepare_cached(
                    "INSERT INTO workspaces (id, name, created_at) VALUES (?1, ?2, ?3) \
                     ON CONFLICT (name) DO NOTHING",
                )?
                .execute(params![new_id("ws_"), workspace, now])?;
                conn.prepare_cached(
                    "INSERT INTO api_keys (key_hash, prefix, workspace_id, mode, created_at) \
                     SELECT ?1, ?2, id, ?3, ?4 FROM workspaces WHERE name = ?5",
                )?
                .execute(params![
                    hash.0.as_slice(),
                    prefix,
                    mode.as_str(),
                    now,
                    workspace
                ])?;
                Ok(())
            })
            .await
    }

    async fn ensure_workspace(&self, workspace: &str) -> StoreResult<String> {
        let workspace = workspace.to_owned();
        self.writer
            .run(move |conn| {
                conn.prepare_cached(
                    "INSERT INTO workspaces (id, name, created_at) VALUES (?1, ?2, ?3) \
                     ON CONFLICT (name) DO NOTHING",
                )?
                .execute(params![
                    new_id("ws_"),
                    workspace,
                    Timestamp::now().as_micros()
                ])?;
                let id = conn
                    .prepare_cached("SELECT id FROM workspaces WHERE name = ?1")?
                    .query_row(params![workspace], |r| r.get(0))?;
                Ok(id)
            })
            .await
    }

    async fn tenant_for_key(&self, hash: KeyHash) -> StoreResult<Option<Tenant>> {
        self.key_readers
            .run_quick(move |conn| {
                let row = conn
                    .prepare_cached(
                        "SELECT workspace_id, mode FROM api_keys \
                         WHERE key_hash = ?1 AND revoked_at IS NULL",
                    )?
                    .query_row(params![hash.0.as_slice()], |row| {
                        Ok(records::tenant(row, 0))
                    })
                    .optional()?;
                row.transpose()
            })
            .await
    }

    async fn touch_key(&self, hash: KeyHash, at: Timestamp) -> StoreResult<()> {
        self.writer
            .run(move |conn| {
                conn.prepare_cached("UPDATE api_keys SET last_used_at = ?2 WHERE key_hash = ?1")?
                    .execute(params![hash.0.as_slice(), at.as_micros()])?;
                Ok(())
            })
            .await
    }

    async fn list_keys(&self) -> StoreResult<Vec<KeyInfo>> {
        self.readers
            .run(|conn| {
                let mut stmt = conn.prepare_cached(&format!(
                    "SELECT {KEY_INFO_COLUMNS} \
                     FROM api_keys k JOIN workspaces w ON w.id = k.workspace_id \
                     ORDER BY k.created_at, k.prefix"
                ))?;
                let rows = stmt.query_map([], |row| Ok(records::key_info(row)))?;
                rows.map(|row| row?).collect()
            })
            .await
    }

    async fn revoke_key(&self, prefix: &str) -> StoreResult<u64> {
        let prefix = prefix.to_owned();
        self.writer
            .run(move |conn| {
                let n = conn
                    .prepare_cached(
                        "UPDATE api_keys SET revoked_at = ?2 WHERE prefix = ?1 AND revoked_at IS NULL",
                    )?
                    .execute(params![prefix, Timestamp::now().as_micros()])?;
                Ok(n as u64)
            })
            .await
    }

    async fn count_keys(&self) -> StoreResult<u64> {
        self.readers
            .run(|conn| {
                let n: i64 = conn.query_row("SELECT COUNT(*) FROM api_keys", [], |r| r.get(0))?;
                Ok(u64::try_from(n).unwrap_or(0))
            })
            .await
    }

    async fn key_revocations(&self) -> StoreResult<KeyRevocations> {
        self.key_readers
            .run_quick(|conn| {
                let (count, latest) = conn
                    .prepare_cached(
                        "SELECT COUNT(*), COALESCE(MAX(revoked_at), 0) FROM api_keys \
                         WHERE revoked_at IS NOT NULL",
                    )?
                    .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?;
                Ok(KeyRevocations { count, latest })
            })
            .await
    }
}
