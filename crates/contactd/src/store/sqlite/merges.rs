//! Merges in SQLite: the reads and statements of `domain::contact_merge`, each merge or
//! undo in one savepoint of the writer's transaction.

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};

use super::contacts::{self, by_id, get, insert, remove, update};
use super::{events, SqliteStore};
use crate::domain::contact::{Contact, Precondition};
use crate::domain::contact_merge::{self, MergeRecord, MergeRequest, Snapshot, UndoRefused};
use crate::domain::event::NewEvent;
use crate::domain::ids::{ConversationId, MergeId};
use crate::domain::refs::ContactRef;
use crate::domain::tenant::Tenant;
use crate::domain::time::Timestamp;
use crate::domain::write::Write;
use crate::store::records::{self, MERGE_COLUMNS};
use crate::store::{Entity, MergeStore, StoreError, StoreResult};

/// The conversations of a contact, with their message counts.
fn conversations_of(
    conn: &Connection,
    tenant: &Tenant,
    contact: &Contact,
) -> StoreResult<Vec<(ConversationId, u64)>> {
    let mut select = conn.prepare_cached(
        "SELECT id, message_count FROM conversations \
         WHERE workspace_id = ?1 AND mode = ?2 AND contact_id = ?3 ORDER BY id",
    )?;
    let rows = select.query_map(
        params![
            tenant.workspace_id,
            tenant.mode.as_str(),
            contact.id.as_str()
        ],
        |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?)),
    )?;
    let mut found = Vec::new();
    for row in rows {
        let (id, count) = row?;
        let id = ConversationId::parse(&id)
            .ok_or_else(|| StoreError::Internal(anyhow::anyhow!("stored conversation id")))?;
        found.push((id, u64::try_from(count).unwrap_or(0)));
    }
    Ok(found)
}

fn merge_in(
    conn: &Connection,
    tenant: &Tenant,
    target: &ContactRef,
    request: &MergeRequest,
    precondition: Option<&Precondition>,
) -> StoreResult<(Contact, MergeRecord)> {
    let target = get(conn, tenant, target)?;
    let source = get(conn, tenant, &request.source)?;
    let merged = contact_merge::merge(&target, &source, precondition)?;
    let conversations = conversations_of(conn, tenant, &source)?;
    let record = MergeRecord {
        id: MergeId::generate(),
        target_id: target.id.clone(),
        source_id: source.id.clone(),
        moved_conversations: conversations.len() as u64,
        moved_messages: conversations.iter().map(|(_, n)| n).sum(),
        created_at: merged.updated_at,
        undone_at: None,
    };
    if request.dry_run {
        return Ok((merged, record));
    }
    let (ws, mode) = (&tenant.workspace_id, tenant.mode.as_str());
    conn.prepare_cached(
        "UPDATE conversations SET contact_id = ?4 \
         WHERE workspace_id = ?1 AND mode = ?2 AND contact_id = ?3",
    )?
    .execute(params![ws, mode, source.id.as_str(), target.id.as_str()])?;
    // The source goes first, so that the target may take its identifiers.
    remove(conn, tenant, &source)?;
    update(conn, tenant, &target, &merged)?;
    let snapshot = Snapshot {
        target: target.clone(),
        source: source.clone(),
        conversations: conversations.into_iter().map(|(id, _)| id).collect(),
    };
    conn.prepare_cached(
        "INSERT INTO merges (workspace_id, mode, id, target_id, source_id, moved_conversations, \
         moved_messages, created_at, undone_at, snapshot) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, NULL, ?9)",
    )?
    .execute(params![
        ws,
        mode,
        record.id.as_str(),
        target.id.as_str(),
        source.id.as_str(),
        record.moved_conversations as i64,
        record.moved_messages as i64,
        record.created_at.as_micros(),
        snapshot.to_json().to_string(),
    ])?;
    conn.prepare_cached(
        "INSERT OR REPLACE INTO merged_ids (workspace_id, mode, source_id, target_id, merge_id) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        ws,
        mode,
        source.id.as_str(),
        target.id.as_str(),
        record.id.as_str()
    ])?;
    let event = NewEvent::contact_merged(&target, &merged, &record);
    events::append(conn, tenant, &[event])?;
    Ok((merged, record))
}

fn record(
    conn: &Connection,
    tenant: &Tenant,
    id: &MergeId,
) -> StoreResult<(MergeRecord, Snapshot)> {
    let found = conn
        .prepare_cached(&format!(
            "SELECT {MERGE_COLUMNS}, snapshot FROM merges \
             WHERE workspace_id = ?1 AND mode = ?2 AND id = ?3"
        ))?
        .query_row(
            params![tenant.workspace_id, tenant.mode.as_str(), id.as_str()],
            |row| {
                let snapshot: String = row.get(7)?;
                Ok((records::merge(row), snapshot))
            },
        )
        .optional()?;
    let (record, snapshot) = found.ok_or(StoreError::NotFound(Entity::Merge))?;
    let snapshot = serde_json::from_str(&snapshot)
        .map_err(|_| StoreError::Internal(anyhow::anyhow!("stored merge snapshot")))?;
    Ok((record?, records::snapshot(&snapshot)?))
}

fn undo_in(
    conn: &Connection,
    tenant: &Tenant,
    id: &MergeId,
) -> StoreResult<(Contact, Contact, MergeRecord)> {
    let (mut record, snapshot) = record(conn, tenant, id)?;
    let now = Timestamp::now();
    contact_merge::undoable(&record, now)?;
    let current = by_id(conn, tenant, record.target_id.as_str())?
        .ok_or(StoreError::from(UndoRefused::TargetGone))?;
    let target = contact_merge::target_restored(&snapshot, &current);
    let (ws, mode) = (&tenant.workspace_id, tenant.mode.as_str());
    conn.prepare_cached(
        "DELETE FROM merged_ids WHERE workspace_id = ?1 AND mode = ?2 AND source_id = ?3",
    )?
    .execute(params![ws, mode, record.source_id.as_str()])?;
    // The target gives the source's identifiers back before the source takes them.
    update(conn, tenant, &current, &target)?;
    insert(conn, tenant, &snapshot.source)?;
    for conversation in &snapshot.conversations {
        conn.prepare_cached(
            "UPDATE conversations SET contact_id = ?5 WHERE workspace_id = ?1 AND mode = ?2 \
             AND id = ?3 AND contact_id = ?4",
        )?
        .execute(params![
            ws,
            mode,
            conversation.as_str(),
            target.id.as_str(),
            snapshot.source.id.as_str()
        ])?;
    }
    conn.prepare_cached(
        "UPDATE merges SET undone_at = ?4 WHERE workspace_id = ?1 AND mode = ?2 AND id = ?3",
    )?
    .execute(params![ws, mode, id.as_str(), now.as_micros()])?;
    record.undone_at = Some(now);
    let written = [
        Write::Update {
            old: Box::new(current),
            new: target.clone(),
        },
        Write::Insert(snapshot.source.clone()),
    ];
    let events: Vec<NewEvent> = written.iter().filter_map(NewEvent::of_write).collect();
    events::append(conn, tenant, &events)?;
    Ok((target, snapshot.source, record))
}

fn merges_of(
    conn: &Connection,
    tenant: &Tenant,
    contact: &ContactRef,
) -> StoreResult<Vec<MergeRecord>> {
    let contact = contacts::get(conn, tenant, contact)?;
    let mut select = conn.prepare_cached(&format!(
        "SELECT {MERGE_COLUMNS} FROM merges WHERE workspace_id = ?1 AND mode = ?2 \
         AND (target_id = ?3 OR source_id = ?3) ORDER BY created_at DESC, id DESC LIMIT 100"
    ))?;
    let rows = select.query_map(
        params![
            tenant.workspace_id,
            tenant.mode.as_str(),
            contact.id.as_str()
        ],
        |row| Ok(records::merge(row)),
    )?;
    let mut merges = Vec::new();
    for row in rows {
        merges.push(row??);
    }
    Ok(merges)
}

#[async_trait]
impl MergeStore for SqliteStore {
    async fn merge_contacts(
        &self,
        tenant: &Tenant,
        target: &ContactRef,
        request: MergeRequest,
        precondition: Option<Precondition>,
    ) -> StoreResult<(Contact, MergeRecord)> {
        let (tenant, target) = (tenant.clone(), target.clone());
        if request.dry_run {
            return self
                .readers
                .run_quick(move |conn| {
                    merge_in(conn, &tenant, &target, &request, precondition.as_ref())
                })
                .await;
        }
        self.writer
            .run_atomic(move |conn| {
                merge_in(conn, &tenant, &target, &request, precondition.as_ref())
            })
            .await
    }

    async fn undo_merge(
        &self,
        tenant: &Tenant,
        id: &MergeId,
    ) -> StoreResult<(Contact, Contact, MergeRecord)> {
        let (tenant, id) = (tenant.clone(), id.clone());
        self.writer
            .run_atomic(move |conn| undo_in(conn, &tenant, &id))
            .await
    }

    async fn list_merges(
        &self,
        tenant: &Tenant,
        contact: &ContactRef,
    ) -> StoreResult<Vec<MergeRecord>> {
        let (tenant, contact) = (tenant.clone(), contact.clone());
        self.readers
            .run_quick(move |conn| merges_of(conn, &tenant, &contact))
            .await
    }
}
