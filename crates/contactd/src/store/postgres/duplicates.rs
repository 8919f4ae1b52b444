//! Duplicate suggestions in PostgreSQL: keys and pairs written with every contact write
//! (see `domain::duplicates`), in the write's transaction, and their reads.
//!
//! Two contacts written at the same moment by two transactions do not see each other's
//! keys, so that pair is suggested once either is written again (docs/api.md).

use std::collections::BTreeSet;

use async_trait::async_trait;

use super::contacts::{by_id, find};
use super::{Db, PgStore};
use crate::domain::contact::Contact;
use crate::domain::duplicates::{KeyHolders, Pair, Profile, SharedKey, MAX_CANDIDATES_PER_KEY};
use crate::domain::ids::ContactId;
use crate::domain::refs::ContactRef;
use crate::domain::tenant::Tenant;
use crate::store::{DuplicateStore, Entity, StoreError, StoreResult};

/// Keeps a contact's keys and pairs in step with a write of it: `old` as it was (None for
/// an insert), `new` as written (None for a delete). A write that changes nothing a
/// suggestion looks at (metadata, status, …) costs nothing here.
pub(super) async fn write_duplicates(
    db: &Db<'_>,
    tenant: &Tenant,
    old: Option<&Contact>,
    new: Option<&Contact>,
) -> Result<(), tokio_postgres::Error> {
    let (before, after) = (old.map(Profile::of), new.map(Profile::of));
    let Some(id) = new.or(old).map(|c| c.id.as_str()) else {
        return Ok(());
    };
    if before == after {
        return Ok(());
    }
    let (ws, mode) = (&tenant.workspace_id, tenant.mode.as_str());
    if old.is_some() {
        db.execute(
            "WITH pairs AS (DELETE FROM duplicate_pairs WHERE workspace_id = $1 AND mode = $2 \
             AND (a = $3 OR b = $3)) \
             DELETE FROM duplicate_keys WHERE workspace_id = $1 AND mode = $2 AND contact_id = $3",
            &[ws, &mode, &id],
        )
        .await?;
    }
    let Some(profile) = after else {
        return Ok(());
    };
    let (kinds, keys): (Vec<&str>, Vec<String>) = profile.keys().into_iter().unzip();
    if kinds.is_empty() {
        return Ok(());
    }
    let rows = db
        .query(
            "SELECT x.kind, c.contact_id, c.name FROM unnest($3::text[], $4::text[]) AS x(kind, key) \
             CROSS JOIN LATERAL (SELECT contact_id, name FROM duplicate_keys k \
             WHERE k.workspace_id = $1 AND k.mode = $2 AND k.kind = x.kind AND k.key = x.key \
             AND k.contact_id <> $5 ORDER BY k.contact_id DESC LIMIT $6) AS c",
            &[
                ws,
                &mode,
                &kinds,
                &keys,
                &id,
                &(MAX_CANDIDATES_PER_KEY as i64),
            ],
        )
        .await?;
    let names: Vec<Option<&str>> = kinds
        .iter()
        .map(|kind| {
            (*kind == "name_block")
                .then_some(profile.name.as_deref())
                .flatten()
        })
        .collect();
    db.execute(
        "INSERT INTO duplicate_keys (workspace_id, mode, kind, key, name, contact_id) \
         SELECT $1, $2, x.kind, x.key, x.name, $6 \
         FROM unnest($3::text[], $4::text[], $5::text[]) AS x(kind, key, name) \
         ON CONFLICT DO NOTHING",
        &[ws, &mode, &kinds, &keys, &names, &id],
    )
    .await?;
    let mut shared = Vec::with_capacity(rows.len());
    for row in &rows {
        let other: String = row.try_get(1)?;
        if let Some(other) = ContactId::parse(&other) {
            shared.push(SharedKey {
                kind: row.try_get(0)?,
                other,
                other_name: row.try_get(2)?,
            });
        }
    }
    let Some(own) = new.map(|c| &c.id) else {
        return Ok(());
    };
    let pairs = Pair::from_shared(own, profile.name.as_deref(), &shared);
    insert_pairs(db, tenant, &pairs).await
}

/// The keys and pairs of contacts inserted together (a batch), in three statements
/// whatever their number: one lookup of the stored candidates of every key, one insert
/// of the keys, one of the pairs. Item by item, a batch of 100 cost 300 round trips.
pub(super) async fn insert_duplicates(
    db: &Db<'_>,
    tenant: &Tenant,
    contacts: &[&Contact],
) -> Result<(), tokio_postgres::Error> {
    let (ws, mode) = (&tenant.workspace_id, tenant.mode.as_str());
    let profiles: Vec<(&ContactId, Profile)> =
        contacts.iter().map(|c| (&c.id, Profile::of(c))).collect();
    let mut rows = KeyRows::default();
    for (id, profile) in &profiles {
        for (kind, key) in profile.keys() {
            let name = (kind == "name_block")
                .then_some(profile.name.as_deref())
                .flatten();
            rows.kind.push(kind);
            rows.key.push(key);
            rows.name.push(name);
            rows.contact_id.push(id.as_str());
        }
    }
    if rows.kind.is_empty() {
        return Ok(());
    }
    let distinct: BTreeSet<(&str, &str)> = rows
        .kind
        .iter()
        .zip(&rows.key)
        .map(|(kind, key)| (*kind, key.as_str()))
        .collect();
    let (kinds, keys): (Vec<&str>, Vec<&str>) = distinct.into_iter().unzip();
    let found = db
        .query(
            "SELECT x.kind, x.key, c.contact_id, c.name \
             FROM unnest($3::text[], $4::text[]) AS x(kind, key) \
             CROSS JOIN LATERAL (SELECT contact_id, name FROM duplicate_keys k \
             WHERE k.workspace_id = $1 AND k.mode = $2 AND k.kind = x.kind AND k.key = x.key \
             ORDER BY k.contact_id DESC LIMIT $5) AS c",
            &[ws, &mode, &kinds, &keys, &(MAX_CANDIDATES_PER_KEY as i64)],
        )
        .await?;
    let mut stored = KeyHolders::new();
    for row in &found {
        let other: String = row.try_get(2)?;
        if let Some(other) = ContactId::parse(&other) {
            stored
                .entry((row.try_get(0)?, row.try_get(1)?))
                .or_default()
                .push((other, row.try_get(3)?));
        }
    }
    db.execute(
        "INSERT INTO duplicate_keys (workspace_id, mode, kind, key, name, contact_id) \
         SELECT $1, $2, x.* FROM unnest($3::text[], $4::text[], $5::text[], $6::text[]) \
         AS x(kind, key, name, contact_id) ON CONFLICT DO NOTHING",
        &[
            ws,
            &mode,
            &rows.kind,
            &rows.key,
            &rows.name,
            &rows.contact_id,
        ],
    )
    .await?;
    let inserted: Vec<(&ContactId, &Profile)> = profiles.iter().map(|(id, p)| (*id, p)).collect();
    insert_pairs(db, tenant, &Pair::of_inserted(&inserted, &stored)).await
}

/// Key rows of several contacts, one array per column.
#[derive(Default)]
struct KeyRows<'a> {
    kind: Vec<&'static str>,
    key: Vec<String>,
    name: Vec<Option<&'a str>>,
    contact_id: Vec<&'a str>,
}

async fn insert_pairs(
    db: &Db<'_>,
    tenant: &Tenant,
    pairs: &[Pair],
) -> Result<(), tokio_postgres::Error> {
    if pairs.is_empty() {
        return Ok(());
    }
    let a: Vec<&str> = pairs.iter().map(|p| p.a.as_str()).collect();
    let b: Vec<&str> = pairs.iter().map(|p| p.b.as_str()).collect();
    let reasons: Vec<String> = pairs.iter().map(Pair::reasons_text).collect();
    let scores: Vec<f64> = pairs.iter().map(|p| p.score).collect();
    db.execute(
        "INSERT INTO duplicate_pairs (workspace_id, mode, a, b, reasons, score) \
         SELECT $1, $2, x.* FROM unnest($3::text[], $4::text[], $5::text[], $6::float8[]) AS x \
         ON CONFLICT (workspace_id, mode, a, b) \
         DO UPDATE SET reasons = EXCLUDED.reasons, score = EXCLUDED.score",
        &[
            &tenant.workspace_id,
            &tenant.mode.as_str(),
            &a,
            &b,
            &reasons,
            &scores,
        ],
    )
    .await?;
    Ok(())
}

/// Reads the columns `a, b, reasons, score`.
fn pair(row: &tokio_postgres::Row) -> StoreResult<Pair> {
    let id = |i: usize| -> StoreResult<ContactId> {
        let raw: String = row.try_get(i)?;
        ContactId::parse(&raw)
            .ok_or_else(|| StoreError::Internal(anyhow::anyhow!("stored pair id")))
    };
    let reasons: String = row.try_get(2)?;
    Ok(Pair {
        a: id(0)?,
        b: id(1)?,
        reasons: Pair::parse_reasons(&reasons),
        score: row.try_get(3)?,
    })
}

#[async_trait]
impl DuplicateStore for PgStore {
    async fn duplicates_of(
        &self,
        tenant: &Tenant,
        contact: &ContactRef,
    ) -> StoreResult<Vec<(Contact, Pair)>> {
        let client = self.client().await?;
        let db = Db::Client(&client);
        let contact = find(&db, tenant, contact, false)
            .await?
            .ok_or(StoreError::NotFound(Entity::Contact))?;
        let rows = db
            .query(
                "SELECT a, b, reasons, score FROM duplicate_pairs \
                 WHERE workspace_id = $1 AND mode = $2 AND a = $3 \
                 UNION ALL SELECT a, b, reasons, score FROM duplicate_pairs \
                 WHERE workspace_id = $1 AND mode = $2 AND b = $3 \
                 ORDER BY score DESC, a, b LIMIT 100",
                &[
                    &tenant.workspace_id,
                    &tenant.mode.as_str(),
                    &contact.id.as_str(),
                ],
            )
            .await?;
        let mut found = Vec::with_capacity(rows.len());
        let mut seen = BTreeSet::new();
        for row in &rows {
            let pair = pair(row)?;
            let other = if pair.a == contact.id {
                &pair.b
            } else {
                &pair.a
            };
            if !seen.insert(other.clone()) {
                continue;
            }
            if let Some(other) = by_id(&db, tenant, other.as_str(), false).await? {
                found.push((other, pair));
            }
        }
        Ok(found)
    }

    async fn list_duplicates(
        &self,
        tenant: &Tenant,
        after: Option<(ContactId, ContactId)>,
        limit: u32,
    ) -> StoreResult<Vec<Pair>> {
        let client = self.client().await?;
        let (a, b) = after
            .map(|(a, b)| (a.into_string(), b.into_string()))
            .unwrap_or_default();
        let rows = Db::Client(&client)
            .query(
                "SELECT a, b, reasons, score FROM duplicate_pairs \
                 WHERE workspace_id = $1 AND mode = $2 AND (a, b) > ($3, $4) \
                 ORDER BY a, b LIMIT $5",
                &[
                    &tenant.workspace_id,
                    &tenant.mode.as_str(),
                    &a,
                    &b,
                    &(i64::from(limit) + 1),
                ],
            )
            .await?;
        rows.iter().map(pair).collect()
    }
}
