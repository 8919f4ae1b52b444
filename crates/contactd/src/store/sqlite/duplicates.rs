//! Duplicate suggestions in SQLite: keys and pairs written with every contact write (see
//! `domain::duplicates`), and their reads.

use async_trait::async_trait;
use rusqlite::{params, Connection};

use super::contacts::{by_id, get};
use super::SqliteStore;
use crate::domain::contact::Contact;
use crate::domain::duplicates::{Pair, Profile, SharedKey, MAX_CANDIDATES_PER_KEY};
use crate::domain::ids::ContactId;
use crate::domain::refs::ContactRef;
use crate::domain::tenant::Tenant;
use crate::store::{DuplicateStore, StoreError, StoreResult};

/// Keeps a contact's keys and pairs in step with a write of it: `old` as it was (None for
/// an insert), `new` as written (None for a delete). A write that changes nothing a
/// suggestion looks at (metadata, status, …) costs nothing here.
pub(super) fn write_duplicates(
    conn: &Connection,
    tenant: &Tenant,
    old: Option<&Contact>,
    new: Option<&Contact>,
) -> StoreResult<()> {
    let (before, after) = (old.map(Profile::of), new.map(Profile::of));
    let Some(id) = new.or(old).map(|c| &c.id) else {
        return Ok(());
    };
    if before == after {
        return Ok(());
    }
    let (ws, mode) = (&tenant.workspace_id, tenant.mode.as_str());
    if old.is_some() {
        conn.prepare_cached(
            "DELETE FROM duplicate_keys WHERE workspace_id = ?1 AND mode = ?2 AND contact_id = ?3",
        )?
        .execute(params![ws, mode, id.as_str()])?;
        for column in ["a", "b"] {
            conn.prepare_cached(&format!(
                "DELETE FROM duplicate_pairs WHERE workspace_id = ?1 AND mode = ?2 AND {column} = ?3"
            ))?
            .execute(params![ws, mode, id.as_str()])?;
        }
    }
    let Some(profile) = after else {
        return Ok(());
    };
    let mut shared = Vec::new();
    for (kind, key) in profile.keys() {
        let mut select = conn.prepare_cached(
            "SELECT contact_id, name FROM duplicate_keys WHERE workspace_id = ?1 AND mode = ?2 \
             AND kind = ?3 AND key = ?4 ORDER BY contact_id DESC LIMIT ?5",
        )?;
        let found = select.query_map(
            params![ws, mode, kind, key, MAX_CANDIDATES_PER_KEY as i64],
            |row| Ok((row.get::<_, String>(0)?, row.get::<_, Option<String>>(1)?)),
        )?;
        for row in found {
            let (other, other_name) = row?;
            if let Some(other) = ContactId::parse(&other) {
                shared.push(SharedKey {
                    kind: kind.to_owned(),
                    other,
                    other_name,
                });
            }
        }
        let name = (kind == "name_block")
            .then_some(profile.name.as_deref())
            .flatten();
        conn.prepare_cached(
            "INSERT OR IGNORE INTO duplicate_keys (workspace_id, mode, kind, key, name, contact_id) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![ws, mode, kind, key, name, id.as_str()])?;
    }
    for pair in Pair::from_shared(id, profile.name.as_deref(), &shared) {
        conn.prepare_cached(
            "INSERT OR REPLACE INTO duplicate_pairs (workspace_id, mode, a, b, reasons, score) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![
            ws,
            mode,
            pair.a.as_str(),
            pair.b.as_str(),
            pair.reasons_text(),
            pair.score
        ])?;
    }
    Ok(())
}

/// Reads the columns `a, b, reasons, score`.
fn pair(row: &rusqlite::Row) -> rusqlite::Result<StoreResult<Pair>> {
    let id = |i: usize| -> rusqlite::Result<StoreResult<ContactId>> {
        let raw: String = row.get(i)?;
        Ok(ContactId::parse(&raw)
            .ok_or_else(|| StoreError::Internal(anyhow::anyhow!("stored pair id"))))
    };
    let (a, b) = (id(0)?, id(1)?);
    let reasons: String = row.get(2)?;
    let score: f64 = row.get(3)?;
    Ok(a.and_then(|a| {
        b.map(|b| Pair {
            a,
            b,
            reasons: Pair::parse_reasons(&reasons),
            score,
        })
    }))
}

fn duplicates_of(
    conn: &Connection,
    tenant: &Tenant,
    contact: &ContactRef,
) -> StoreResult<Vec<(Contact, Pair)>> {
    let contact = get(conn, tenant, contact)?;
    let mut select = conn.prepare_cached(
        "SELECT a, b, reasons, score FROM duplicate_pairs \
         WHERE workspace_id = ?1 AND mode = ?2 AND a = ?3 \
         UNION ALL SELECT a, b, reasons, score FROM duplicate_pairs \
         WHERE workspace_id = ?1 AND mode = ?2 AND b = ?3 \
         ORDER BY score DESC, a, b LIMIT 100",
    )?;
    let rows = select.query_map(
        params![
            tenant.workspace_id,
            tenant.mode.as_str(),
            contact.id.as_str()
        ],
        pair,
    )?;
    let mut found = Vec::new();
    for row in rows {
        let pair = row??;
        let other = if pair.a == contact.id {
            &pair.b
        } else {
            &pair.a
        };
        if let Some(other) = by_id(conn, tenant, other.as_str())? {
            found.push((other, pair));
        }
    }
    Ok(found)
}

fn list(
    conn: &Connection,
    tenant: &Tenant,
    after: Option<(ContactId, ContactId)>,
    limit: u32,
) -> StoreResult<Vec<Pair>> {
    let (a, b) = after
        .map(|(a, b)| (a.into_string(), b.into_string()))
        .unwrap_or_default();
    let mut select = conn.prepare_cached(
        "SELECT a, b, reasons, score FROM duplicate_pairs \
         WHERE workspace_id = ?1 AND mode = ?2 AND (a, b) > (?3, ?4) ORDER BY a, b LIMIT ?5",
    )?;
    let rows = select.query_map(
        params![
            tenant.workspace_id,
            tenant.mode.as_str(),
            a,
            b,
            i64::from(limit) + 1
        ],
        pair,
    )?;
    let mut pairs = Vec::new();
    for row in rows {
        pairs.push(row??);
    }
    Ok(pairs)
}

#[async_trait]
impl DuplicateStore for SqliteStore {
    async fn duplicates_of(
        &self,
        tenant: &Tenant,
        contact: &ContactRef,
    ) -> StoreResult<Vec<(Contact, Pair)>> {
        let (tenant, contact) = (tenant.clone(), contact.clone());
        self.readers
            .run_quick(move |conn| duplicates_of(conn, &tenant, &contact))
            .await
    }

    async fn list_duplicates(
        &self,
        tenant: &Tenant,
        after: Option<(ContactId, ContactId)>,
        limit: u32,
    ) -> StoreResult<Vec<Pair>> {
        let tenant = tenant.clone();
        self.readers
            .run_quick(move |conn| list(conn, &tenant, after, limit))
            .await
    }
}
