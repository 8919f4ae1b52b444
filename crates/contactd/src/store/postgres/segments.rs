//! Saved segments in PostgreSQL.

use async_trait::async_trait;

use super::idempotency::{answer_committed, keep_answer};
use super::{read_snapshot, Db, PgStore};
use crate::domain::conversation::{Listing, Page};
use crate::domain::ids::SegmentId;
use crate::domain::segment::{NewSegment, Segment, SegmentPatch};
use crate::domain::tenant::Tenant;
use crate::domain::time::Timestamp;
use crate::store::records::{self, SegmentRecord, SEGMENT_COLUMNS};
use crate::store::{Entity, SegmentStore, StoreError, StoreResult};

async fn get(db: &Db<'_>, tenant: &Tenant, id: &SegmentId, lock: bool) -> StoreResult<Segment> {
    let sql = format!(
        "SELECT {SEGMENT_COLUMNS} FROM segments WHERE workspace_id = $1 AND mode = $2 AND id = $3{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    let row = db
        .query_opt(
            &sql,
            &[&tenant.workspace_id, &tenant.mode.as_str(), &id.as_str()],
        )
        .await?
        .ok_or(StoreError::NotFound(Entity::Segment))?;
    records::segment(&row)
}

async fn save(db: &Db<'_>, tenant: &Tenant, s: &Segment) -> StoreResult<()> {
    db.execute(
        "INSERT INTO segments (workspace_id, mode, id, name, filter, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (workspace_id, mode, id) DO UPDATE SET name = EXCLUDED.name, \
         filter = EXCLUDED.filter, updated_at = EXCLUDED.updated_at",
        &[
            &tenant.workspace_id,
            &tenant.mode.as_str(),
            &s.id.as_str(),
            &s.name,
            &SegmentRecord::filter_text(&s.filter),
            &s.created_at.as_micros(),
            &s.updated_at.as_micros(),
        ],
    )
    .await?;
    Ok(())
}

#[async_trait]
impl SegmentStore for PgStore {
    async fn create_segment(&self, tenant: &Tenant, new: NewSegment) -> StoreResult<Segment> {
        let mut client = self.client().await?;
        let segment = new.into_segment(SegmentId::generate(), Timestamp::now());
        let tx = client.transaction().await?;
        save(&Db::Tx(&tx), tenant, &segment).await?;
        let kept = keep_answer(&Db::Tx(&tx), &segment).await?;
        tx.commit().await?;
        answer_committed(kept);
        Ok(segment)
    }

    async fn get_segment(&self, tenant: &Tenant, id: &SegmentId) -> StoreResult<Segment> {
        let client = self.client().await?;
        get(&Db::Client(&client), tenant, id, false).await
    }

    async fn list_segments(&self, tenant: &Tenant, page: Page) -> StoreResult<Listing<Segment>> {
        let mut client = self.client().await?;
        let tx = read_snapshot(&mut client).await?;
        let db = Db::Tx(&tx);
        let total: i64 = db
            .query_opt(
                "SELECT COUNT(*) FROM segments WHERE workspace_id = $1 AND mode = $2",
                &[&tenant.workspace_id, &tenant.mode.as_str()],
            )
            .await?
            .map_or(Ok(0), |r| r.try_get(0))?;
        let rows = db
            .query(
                &format!(
                    "SELECT {SEGMENT_COLUMNS} FROM segments WHERE workspace_id = $1 AND mode = $2 \
                     ORDER BY created_at, id LIMIT $3 OFFSET $4"
                ),
                &[
                    &tenant.workspace_id,
                    &tenant.mode.as_str(),
                    &i64::from(page.limit),
                    &i64::try_from(page.offset).unwrap_or(i64::MAX),
                ],
            )
            .await?;
        tx.commit().await?;
        Ok(Listing {
            items: rows
                .iter()
                .map(records::segment)
                .collect::<StoreResult<_>>()?,
            total: u64::try_from(total).unwrap_or(0),
            page,
        })
    }

    async fn update_segment(
        &self,
        tenant: &Tenant,
        id: &SegmentId,
        patch: SegmentPatch,
    ) -> StoreResult<Segment> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let current = get(&Db::Tx(&tx), tenant, id, true).await?;
        let Some(next) = patch.apply(&current) else {
            return Ok(current);
        };
        save(&Db::Tx(&tx), tenant, &next).await?;
        tx.commit().await?;
        Ok(next)
    }

    async fn delete_segment(&self, tenant: &Tenant, id: &SegmentId) -> StoreResult<Segment> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let current = get(&Db::Tx(&tx), tenant, id, true).await?;
        Db::Tx(&tx)
            .execute(
                "DELETE FROM segments WHERE workspace_id = $1 AND mode = $2 AND id = $3",
                &[&tenant.workspace_id, &tenant.mode.as_str(), &id.as_str()],
            )
            .await?;
        tx.commit().await?;
        Ok(current)
    }
}
