//! Merges in PostgreSQL: the reads and statements of `domain::contact_merge`, each merge
//! or undo in one transaction. A merge locks both contacts in the order of their ids, so
//! concurrent merges of overlapping contacts wait for each other instead of deadlocking;
//! an undo locks its merge record, then the target.

use async_trait::async_trait;
use deadpool_postgres::Transaction;
use serde_json::Value;

use super::contacts::{by_id, find, insert, on_unique_violation, remove, update};
use super::{events, Db, PgStore};
use crate::domain::contact::{Contact, Precondition};
use crate::domain::contact_merge::{self, MergeRecord, MergeRequest, Snapshot, UndoRefused};
use crate::domain::event::NewEvent;
use crate::domain::ids::{ConversationId, MergeId};
use crate::domain::refs::ContactRef;
use crate::domain::tenant::Tenant;
use crate::domain::time::Timestamp;
use crate::domain::write::{self, Write};
use crate::store::records::{self, CONTACT_COLUMNS, MERGE_COLUMNS};
use crate::store::{Entity, MergeStore, StoreError, StoreResult};

/// How often a merge reads its two contacts again when one was merged away between
/// finding it and locking it. Each retry follows another merge's commit, so this bounds
/// how many merges of the same contacts may overtake one.
const LOCK_ATTEMPTS: usize = 32;

/// What locking the two contacts of a merge found.
enum Locked {
    /// The target and the source, locked.
    Both(Box<(Contact, Contact)>),
    /// One was merged away while this waited for its lock: its id (given again) now names
    /// the contact it went into. The caller rolls back, releasing what was locked, and
    /// tries again.
    Moved(ContactRef, ContactRef),
}

/// The target and the source, locked in id order.
async fn lock_pair(
    tx: &Transaction<'_>,
    tenant: &Tenant,
    target_ref: &ContactRef,
    source_ref: &ContactRef,
) -> StoreResult<Locked> {
    let db = Db::Tx(tx);
    let not_found = || StoreError::NotFound(Entity::Contact);
    let target = find(&db, tenant, target_ref, false)
        .await?
        .ok_or_else(not_found)?;
    let source = find(&db, tenant, source_ref, false)
        .await?
        .ok_or_else(not_found)?;
    if target.id == source.id {
        return Ok(Locked::Both(Box::new((target, source))));
    }
    let rows = db
        .query(
            &format!(
                "SELECT {CONTACT_COLUMNS} FROM contacts WHERE workspace_id = $1 \
                 AND mode = $2 AND id = ANY($3) ORDER BY id FOR UPDATE"
            ),
            &[
                &tenant.workspace_id,
                &tenant.mode.as_str(),
                &vec![target.id.as_str(), source.id.as_str()],
            ],
        )
        .await?;
    let locked = rows
        .iter()
        .map(records::contact)
        .collect::<StoreResult<Vec<_>>>()?;
    let pick = |id| locked.iter().find(|c| c.id == id).cloned();
    Ok(match (pick(target.id.clone()), pick(source.id.clone())) {
        (Some(target), Some(source)) => Locked::Both(Box::new((target, source))),
        _ => Locked::Moved(ContactRef::Id(target.id), ContactRef::Id(source.id)),
    })
}

/// The source's conversations (locked), with their message counts.
async fn conversations_of(
    db: &Db<'_>,
    tenant: &Tenant,
    contact: &Contact,
) -> StoreResult<Vec<(ConversationId, u64)>> {
    let rows = db
        .query(
            "SELECT id, message_count FROM conversations WHERE workspace_id = $1 \
             AND mode = $2 AND contact_id = $3 ORDER BY id FOR UPDATE",
            &[
                &tenant.workspace_id,
                &tenant.mode.as_str(),
                &contact.id.as_str(),
            ],
        )
        .await?;
    rows.iter()
        .map(|row| {
            let id: String = row.try_get(0)?;
            let count: i64 = row.try_get(1)?;
            let id = ConversationId::parse(&id)
                .ok_or_else(|| StoreError::Internal(anyhow::anyhow!("stored conversation id")))?;
            Ok((id, u64::try_from(count).unwrap_or(0)))
        })
        .collect()
}

/// Runs a contact write of a merge or an undo; a unique violation becomes the duplicate
/// it is, read outside the transaction PostgreSQL aborted.
async fn written(
    client: &deadpool_postgres::Object,
    tenant: &Tenant,
    contact: &Contact,
    result: Result<u64, tokio_postgres::Error>,
) -> StoreResult<()> {
    match result {
        Ok(_) => Ok(()),
        Err(e) => Err(on_unique_violation(&Db::Client(client), tenant, contact, e).await),
    }
}

/// Refuses a write of `contact` over an identifier held by a contact other than itself
/// and `besides`.
async fn check_held(
    db: &Db<'_>,
    tenant: &Tenant,
    contact: &Contact,
    besides: &Contact,
) -> StoreResult<()> {
    for (field, held) in write::unique_refs(contact) {
        let holder = find(db, tenant, &held, false)
            .await?
            .filter(|holder| holder.id != besides.id);
        if let Some(duplicate) = write::duplicate(contact, field, holder) {
            return Err(duplicate.into());
        }
    }
    Ok(())
}

async fn record(
    db: &Db<'_>,
    tenant: &Tenant,
    id: &MergeId,
) -> StoreResult<(MergeRecord, Snapshot)> {
    let row = db
        .query_opt(
            &format!(
                "SELECT {MERGE_COLUMNS}, snapshot FROM merges \
                 WHERE workspace_id = $1 AND mode = $2 AND id = $3 FOR UPDATE"
            ),
            &[&tenant.workspace_id, &tenant.mode.as_str(), &id.as_str()],
        )
        .await?
        .ok_or(StoreError::NotFound(Entity::Merge))?;
    let snapshot: Value = row.try_get(7)?;
    Ok((records::merge(&row)?, records::snapshot(&snapshot)?))
}

#[async_trait]
impl MergeStore for PgStore {
    async fn merge_contacts(
        &self,
        tenant: &Tenant,
        target: &ContactRef,
        request: MergeRequest,
        precondition: Option<Precondition>,
    ) -> StoreResult<(Contact, MergeRecord)> {
        let mut client = self.client().await?;
        let (mut target_ref, mut source_ref) = (target.clone(), request.source.clone());
        let mut attempts = 0;
        let (tx, target, source) = loop {
            let tx = client.transaction().await?;
            match lock_pair(&tx, tenant, &target_ref, &source_ref).await? {
                Locked::Both(pair) => break (tx, pair.0, pair.1),
                Locked::Moved(..) if attempts + 1 == LOCK_ATTEMPTS => {
                    return Err(StoreError::Unavailable(
                        "the contacts kept being merged under concurrent writes; retry".into(),
                    ))
                }
                Locked::Moved(target, source) => {
                    tx.rollback().await?;
                    (target_ref, source_ref, attempts) = (target, source, attempts + 1);
                }
            }
        };
        let merged = contact_merge::merge(&target, &source, precondition.as_ref())?;
        let db = Db::Tx(&tx);
        let conversations = conversations_of(&db, tenant, &source).await?;
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
            tx.rollback().await?;
            return Ok((merged, record));
        }
        let (ws, mode) = (&tenant.workspace_id, tenant.mode.as_str());
        db.execute(
            "UPDATE conversations SET contact_id = $4 \
             WHERE workspace_id = $1 AND mode = $2 AND contact_id = $3",
            &[ws, &mode, &source.id.as_str(), &target.id.as_str()],
        )
        .await?;
        // The source goes first, so that the target may take its identifiers.
        remove(&db, tenant, &source).await?;
        let result = update(&db, tenant, &target, &merged).await;
        if result.is_err() {
            drop(tx);
            written(&client, tenant, &merged, result).await?;
            return Err(StoreError::Unavailable(
                "the merge was interrupted; retry".into(),
            ));
        }
        let snapshot = Snapshot {
            target: target.clone(),
            source: source.clone(),
            conversations: conversations.into_iter().map(|(id, _)| id).collect(),
        };
        db.execute(
            "WITH alias AS (INSERT INTO merged_ids (workspace_id, mode, source_id, target_id, \
             merge_id) VALUES ($1, $2, $5, $4, $3) ON CONFLICT (workspace_id, mode, source_id) \
             DO UPDATE SET target_id = EXCLUDED.target_id, merge_id = EXCLUDED.merge_id) \
             INSERT INTO merges (workspace_id, mode, id, target_id, source_id, \
             moved_conversations, moved_messages, created_at, undone_at, snapshot) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, $9)",
            &[
                ws,
                &mode,
                &record.id.as_str(),
                &target.id.as_str(),
                &source.id.as_str(),
                &(record.moved_conversations as i64),
                &(record.moved_messages as i64),
                &record.created_at.as_micros(),
                &snapshot.to_json(),
            ],
        )
        .await?;
        let event = NewEvent::contact_merged(&target, &merged, &record);
        events::append(&db, tenant, &[event]).await?;
        tx.commit().await?;
        Ok((merged, record))
    }

    async fn undo_merge(
        &self,
        tenant: &Tenant,
        id: &MergeId,
    ) -> StoreResult<(Contact, Contact, MergeRecord)> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let db = Db::Tx(&tx);
        let (mut record, snapshot) = record(&db, tenant, id).await?;
        let now = Timestamp::now();
        contact_merge::undoable(&record, now)?;
        let current = by_id(&db, tenant, record.target_id.as_str(), true)
            .await?
            .ok_or(StoreError::from(UndoRefused::TargetGone))?;
        let target = contact_merge::target_restored(&snapshot, &current);
        let source = snapshot.source.clone();
        check_held(&db, tenant, &target, &current).await?;
        check_held(&db, tenant, &source, &current).await?;
        let (ws, mode) = (&tenant.workspace_id, tenant.mode.as_str());
        db.execute(
            "DELETE FROM merged_ids WHERE workspace_id = $1 AND mode = $2 AND source_id = $3",
            &[ws, &mode, &source.id.as_str()],
        )
        .await?;
        // The target gives the source's identifiers back before the source takes them.
        let result = update(&db, tenant, &current, &target).await;
        let result = match result {
            Ok(_) => insert(&db, tenant, &source).await.map_err(|e| (e, &source)),
            Err(e) => Err((e, &target)),
        };
        if let Err((e, contact)) = result {
            drop(tx);
            written(&client, tenant, contact, Err(e)).await?;
            return Err(StoreError::Unavailable(
                "the undo was interrupted; retry".into(),
            ));
        }
        let conversations: Vec<&str> = snapshot
            .conversations
            .iter()
            .map(ConversationId::as_str)
            .collect();
        db.execute(
            "UPDATE conversations SET contact_id = $5 WHERE workspace_id = $1 AND mode = $2 \
             AND id = ANY($3) AND contact_id = $4",
            &[
                ws,
                &mode,
                &conversations,
                &target.id.as_str(),
                &source.id.as_str(),
            ],
        )
        .await?;
        db.execute(
            "UPDATE merges SET undone_at = $4 WHERE workspace_id = $1 AND mode = $2 AND id = $3",
            &[ws, &mode, &id.as_str(), &now.as_micros()],
        )
        .await?;
        record.undone_at = Some(now);
        let writes = [
            Write::Update {
                old: Box::new(current),
                new: target.clone(),
            },
            Write::Insert(source.clone()),
        ];
        let written: Vec<NewEvent> = writes.iter().filter_map(NewEvent::of_write).collect();
        events::append(&db, tenant, &written).await?;
        tx.commit().await?;
        Ok((target, source, record))
    }

    async fn list_merges(
        &self,
        tenant: &Tenant,
        contact: &ContactRef,
    ) -> StoreResult<Vec<MergeRecord>> {
        let client = self.client().await?;
        let db = Db::Client(&client);
        let contact = find(&db, tenant, contact, false)
            .await?
            .ok_or(StoreError::NotFound(Entity::Contact))?;
        let rows = db
            .query(
                &format!(
                    "SELECT {MERGE_COLUMNS} FROM merges WHERE workspace_id = $1 AND mode = $2 \
                     AND (target_id = $3 OR source_id = $3) \
                     ORDER BY created_at DESC, id DESC LIMIT 100"
                ),
                &[
                    &tenant.workspace_id,
                    &tenant.mode.as_str(),
                    &contact.id.as_str(),
                ],
            )
            .await?;
        rows.iter().map(records::merge).collect()
    }
}
