//! Saved segments in SQLite.

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};

use super::{in_snapshot, SqliteStore};
use crate::domain::conversation::{Listing, Page};
use crate::domain::ids::SegmentId;
use crate::domain::segment::{NewSegment, Segment, SegmentPatch};
use crate::domain::tenant::Tenant;
use crate::domain::time::Timestamp;
use crate::store::records::{self, SegmentRecord, SEGMENT_COLUMNS};
use crate::store::{Entity, SegmentStore, StoreError, StoreResult};

fn get(conn: &Connection, tenant: &Tenant, id: &SegmentId) -> StoreResult<Segment> {
    conn.prepare_cached(&format!(
        "SELECT {SEGMENT_COLUMNS} FROM segments WHERE workspace_id = ?1 AND mode = ?2 AND id = ?3"
    ))?
    .query_row(
        params![tenant.workspace_id, tenant.mode.as_str(), id.as_str()],
        |row| Ok(records::segment(row)),
    )
    .optional()?
    .ok_or(StoreError::NotFound(Entity::Segment))?
}

fn save(conn: &Connection, tenant: &Tenant, s: &Segment) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO segments (workspace_id, mode, id, name, filter, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
         ON CONFLICT (workspace_id, mode, id) DO UPDATE SET name = excluded.name, \
         filter = excluded.filter, updated_at = excluded.updated_at",
    )?
    .execute(params![
        tenant.workspace_id,
        tenant.mode.as_str(),
        s.id.as_str(),
        s.name,
        SegmentRecord::filter_text(&s.filter),
        s.created_at.as_micros(),
        s.updated_at.as_micros(),
    ])?;
    Ok(())
}

fn list(conn: &Connection, tenant: &Tenant, page: Page) -> StoreResult<Listing<Segment>> {
    let total: i64 = conn
        .prepare_cached("SELECT COUNT(*) FROM segments WHERE workspace_id = ?1 AND mode = ?2")?
        .query_row(params![tenant.workspace_id, tenant.mode.as_str()], |r| {
            r.get(0)
        })?;
    let items = conn
        .prepare_cached(&format!(
            "SELECT {SEGMENT_COLUMNS} FROM segments WHERE workspace_id = ?1 AND mode = ?2 \
             ORDER BY created_at, id LIMIT ?3 OFFSET ?4"
        ))?
        .query_map(
            params![
                tenant.workspace_id,
                tenant.mode.as_str(),
                page.limit,
                i64::try_from(page.offset).unwrap_or(i64::MAX)
            ],
            |row| Ok(records::segment(row)),
        )?
        .map(|r| r?)
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(Listing {
        items,
        total: u64::try_from(total).unwrap_or(0),
        page,
    })
}

#[async_trait]
impl SegmentStore for SqliteStore {
    async fn create_segment(&self, tenant: &Tenant, new: NewSegment) -> StoreResult<Segment> {
        let tenant = tenant.clone();
        self.writer
            .run(move |conn| {
                let segment = new.into_segment(SegmentId::generate(), Timestamp::now());
                save(conn, &tenant, &segment)?;
                Ok(segment)
            })
            .await
    }

    async fn get_segment(&self, tenant: &Tenant, id: &SegmentId) -> StoreResult<Segment> {
        let (tenant, id) = (tenant.clone(), id.clone());
        self.readers
            .run_quick(move |conn| get(conn, &tenant, &id))
            .await
    }

    async fn list_segments(&self, tenant: &Tenant, page: Page) -> StoreResult<Listing<Segment>> {
        let tenant = tenant.clone();
        self.readers
            .run(move |conn| in_snapshot(conn, || list(conn, &tenant, page)))
            .await
    }

    async fn update_segment(
        &self,
        tenant: &Tenant,
        id: &SegmentId,
        patch: SegmentPatch,
    ) -> StoreResult<Segment> {
        let (tenant, id) = (tenant.clone(), id.clone());
        self.writer
            .run(move |conn| {
                let current = get(conn, &tenant, &id)?;
                match patch.apply(&current) {
                    None => Ok(current),
                    Some(next) => {
                        save(conn, &tenant, &next)?;
                        Ok(next)
                    }
                }
            })
            .await
    }

    async fn delete_segment(&self, tenant: &Tenant, id: &SegmentId) -> StoreResult<Segment> {
        let (tenant, id) = (tenant.clone(), id.clone());
        self.writer
            .run(move |conn| {
                let current = get(conn, &tenant, &id)?;
                conn.prepare_cached(
                    "DELETE FROM segments WHERE workspace_id = ?1 AND mode = ?2 AND id = ?3",
                )?
                .execute(params![
                    tenant.workspace_id,
                    tenant.mode.as_str(),
                    id.as_str()
                ])?;
                Ok(current)
            })
            .await
    }
}
