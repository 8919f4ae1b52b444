//! The change feed and webhooks in PostgreSQL.
//!
//! A writing transaction numbers its events as its last statement before COMMIT, in one
//! statement that updates the tenant's counter row and inserts the events. The counter's
//! row lock is held from there to the commit, so the next writer of the tenant gets the
//! following numbers only once this transaction is visible: sequence order is commit
//! order, and a reader following `sequence` never passes an event that would commit later
//! with a lower number. The lock is taken last, after every contact and conversation lock,
//! so it adds no deadlock, and it is held for one round trip.
//!
//! Deliveries are shared by the replicas through `FOR UPDATE SKIP LOCKED`: fan-out takes
//! an endpoint's row, a claim takes due deliveries and leases them by moving their
//! `next_attempt_at` past the lease; a replica killed mid-delivery leaves them due again.

use async_trait::async_trait;
use serde_json::Value;

use super::{Db, PgStore};
use crate::domain::event::{self, EventType, NewEvent};
use crate::domain::ids::ContactId;
use crate::domain::tenant::Tenant;
use crate::domain::time::Timestamp;
use crate::domain::webhook::{
    too_many_endpoints, AttemptResult, Delivery, DeliveryState, Webhook, MAX_ENDPOINTS,
};
use crate::store::records::{
    self, DELIVERY_COLUMNS, EVENT_COLUMNS, WEBHOOK_COLUMNS, WEBHOOK_COLUMN_COUNT,
};
use crate::store::{
    ClaimedDelivery, EndpointKey, Entity, EventCursor, EventPage, EventStore, StoreError,
    StoreResult, WebhookChange, WebhookStore,
};

/// Numbers the events in the tenant's commit order and inserts them; call it last before
/// COMMIT (see the module's comment).
pub(super) async fn append(db: &Db<'_>, tenant: &Tenant, events: &[NewEvent]) -> StoreResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    let n = events.len() as i64;
    let ids: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
    let types: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    let created: Vec<i64> = events.iter().map(|e| e.created_at.as_micros()).collect();
    let contacts: Vec<Option<&str>> = events
        .iter()
        .map(|e| e.contact_id.as_ref().map(ContactId::as_str))
        .collect();
    let data: Vec<&Value> = events.iter().map(|e| &e.data).collect();
    db.execute(
        "WITH counter AS (INSERT INTO event_counters (workspace_id, mode, next_sequence) \
         VALUES ($1, $2, 1 + $3::int8) ON CONFLICT (workspace_id, mode) \
         DO UPDATE SET next_sequence = event_counters.next_sequence + $3::int8 \
         RETURNING next_sequence) \
         INSERT INTO events (workspace_id, mode, sequence, id, type, created_at, contact_id, data) \
         SELECT $1, $2, counter.next_sequence - $3::int8 + x.ord - 1, x.id, x.type, \
         x.created_at, x.contact_id, x.data FROM counter, \
         unnest($4::text[], $5::text[], $6::int8[], $7::text[], $8::jsonb[]) \
         WITH ORDINALITY AS x(id, type, created_at, contact_id, data, ord)",
        &[
            &tenant.workspace_id,
            &tenant.mode.as_str(),
            &n,
            &ids,
            &types,
            &created,
            &contacts,
            &data,
        ],
    )
    .await?;
    Ok(())
}

/// Strips the events of an erased contact to ids (see `domain::event::erased`).
pub(super) async fn erase_contacts(
    db: &Db<'_>,
    tenant: &Tenant,
    ids: &[String],
) -> StoreResult<()> {
    let rows = db
        .query(
            "SELECT sequence, data FROM events \
             WHERE workspace_id = $1 AND mode = $2 AND contact_id = ANY($3::text[])",
            &[&tenant.workspace_id, &tenant.mode.as_str(), &ids],
        )
        .await?;
    if rows.is_empty() {
        return Ok(());
    }
    let mut sequences = Vec::with_capacity(rows.len());
    let mut data = Vec::with_capacity(rows.len());
    for row in &rows {
        sequences.push(row.try_get::<_, i64>(0)?);
        data.push(event::erased(&row.try_get::<_, Value>(1)?));
    }
    db.execute(
        "UPDATE events SET data = x.data FROM unnest($3::int8[], $4::jsonb[]) AS x(sequence, data) \
         WHERE events.workspace_id = $1 AND events.mode = $2 AND events.sequence = x.sequence",
        &[&tenant.workspace_id, &tenant.mode.as_str(), &sequences, &data],
    )
    .await?;
    Ok(())
}

fn type_names(types: &[EventType]) -> Option<Vec<&'static str>> {
    (!types.is_empty()).then(|| types.iter().map(|t| t.as_str()).collect())
}

async fn list_events(
    db: &Db<'_>,
    tenant: &Tenant,
    after: i64,
    types: &[EventType],
    limit: u32,
) -> StoreResult<EventPage> {
    // With a type filter, the read covers the events committed when it began, whatever
    // their types: a visible sequence has every lower one committed before it (the
    // tenant's counter is held through each commit), so the second statement, which
    // sees at least as much, finds them all.
    let horizon: Option<i64> = if types.is_empty() {
        None
    } else {
        match db
            .query_opt(
                "SELECT COALESCE(MAX(sequence), 0)::int8 FROM events \
                 WHERE workspace_id = $1 AND mode = $2",
                &[&tenant.workspace_id, &tenant.mode.as_str()],
            )
            .await?
        {
            Some(row) => Some(row.try_get(0)?),
            None => Some(0),
        }
    };
    let rows = db
        .query(
            &format!(
                "SELECT {EVENT_COLUMNS} FROM events WHERE workspace_id = $1 AND mode = $2 \
                 AND sequence > $3 AND ($6::int8 IS NULL OR sequence <= $6) \
                 AND ($4::text[] IS NULL OR type = ANY($4)) \
                 ORDER BY sequence LIMIT $5"
            ),
            &[
                &tenant.workspace_id,
                &tenant.mode.as_str(),
                &after,
                &type_names(types),
                &(i64::from(limit) + 1),
                &horizon,
            ],
        )
        .await?;
    let events = rows
        .iter()
        .map(records::event)
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(EventPage::new(events, limit, after, horizon))
}

async fn get_webhook(db: &Db<'_>, tenant: &Tenant, id: &str) -> StoreResult<Webhook> {
    let row = db
        .query_opt(
            &format!(
                "SELECT {WEBHOOK_COLUMNS} FROM webhooks \
                 WHERE workspace_id = $1 AND mode = $2 AND id = $3"
            ),
            &[&tenant.workspace_id, &tenant.mode.as_str(), &id],
        )
        .await?
        .ok_or(StoreError::NotFound(Entity::Webhook))?;
    records::webhook(&row)
}

async fn get_delivery(
    db: &Db<'_>,
    tenant: &Tenant,
    webhook_id: &str,
    id: &str,
) -> StoreResult<Delivery> {
    let row = db
        .query_opt(
            &format!(
                "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries \
                 WHERE workspace_id = $1 AND mode = $2 AND webhook_id = $3 AND id = $4"
            ),
            &[
                &tenant.workspace_id,
                &tenant.mode.as_str(),
                &webhook_id,
                &id,
            ],
        )
        .await?
        .ok_or(StoreError::NotFound(Entity::Delivery))?;
    records::delivery(&row)
}

#[async_trait]
impl EventStore for PgStore {
    async fn list_events(
        &self,
        tenant: &Tenant,
        after: i64,
        types: &[EventType],
        limit: u32,
    ) -> StoreResult<EventPage> {
        let client = self.client().await?;
        list_events(&Db::Client(&client), tenant, after, types, limit).await
    }

    async fn check_event_cursor(&self, tenant: &Tenant, after: i64) -> StoreResult<EventCursor> {
        let client = self.client().await?;
        let row = client
            .query_one(
                "SELECT (SELECT MIN(sequence) FROM events WHERE workspace_id = $1 AND mode = $2 \
                 AND sequence > $3), (SELECT next_sequence FROM event_counters \
                 WHERE workspace_id = $1 AND mode = $2)",
                &[&tenant.workspace_id, &tenant.mode.as_str(), &after],
            )
            .await?;
        let (first, next): (Option<i64>, Option<i64>) = (row.try_get(0)?, row.try_get(1)?);
        Ok(EventCursor::of(
            after,
            first,
            next.map_or(0, |next| next - 1),
        ))
    }

    async fn prune_events(&self, before: Timestamp) -> StoreResult<u64> {
        let client = self.client().await?;
        Ok(client
            .execute(
                "DELETE FROM events WHERE (workspace_id, mode, sequence) IN \
                 (SELECT workspace_id, mode, sequence FROM events WHERE created_at < $1 \
                 LIMIT 1000)",
                &[&before.as_micros()],
            )
            .await?)
    }
}

#[async_trait]
impl WebhookStore for PgStore {
    /// Creates of one tenant take turns (a transaction lock on the tenant), so that its
    /// count of endpoints cannot pass [`MAX_ENDPOINTS`] by two creates at once.
    async fn create_webhook(&self, tenant: &Tenant, w: Webhook) -> StoreResult<Webhook> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        Db::Tx(&tx)
            .execute(
                "SELECT pg_advisory_xact_lock(hashtextextended('webhooks/' || $1 || '/' || $2, 0))",
                &[&tenant.workspace_id, &tenant.mode.as_str()],
            )
            .await?;
        let inserted = Db::Tx(&tx)
            .execute(
                "INSERT INTO webhooks (workspace_id, mode, id, url, event_types, description, \
                 status, disabled_reason, secret, fanned_out, created_at, updated_at) \
                 SELECT $1, $2, $3, $4, $5, $6, $7, NULL, $8, \
                 COALESCE((SELECT next_sequence - 1 FROM event_counters \
                 WHERE workspace_id = $1 AND mode = $2), 0), $9, $9 \
                 WHERE (SELECT COUNT(*) FROM webhooks WHERE workspace_id = $1 AND mode = $2) < $10",
                &[
                    &tenant.workspace_id,
                    &tenant.mode.as_str(),
                    &w.id,
                    &w.url,
                    &records::event_types_text(&w),
                    &w.description,
                    &w.status.as_str(),
                    &w.secret,
                    &w.created_at.as_micros(),
                    &(MAX_ENDPOINTS as i64),
                ],
            )
            .await?;
        if inserted == 0 {
            return Err(StoreError::Invalid(too_many_endpoints()));
        }
        tx.commit().await?;
        Ok(w)
    }

    async fn get_webhook(&self, tenant: &Tenant, id: &str) -> StoreResult<Webhook> {
        let client = self.client().await?;
        get_webhook(&Db::Client(&client), tenant, id).await
    }

    async fn list_webhooks(&self, tenant: &Tenant) -> StoreResult<Vec<Webhook>> {
        let client = self.client().await?;
        let rows = Db::Client(&client)
            .query(
                &format!(
                    "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE workspace_id = $1 AND mode = $2 \
                     ORDER BY created_at, id LIMIT 1000"
                ),
                &[&tenant.workspace_id, &tenant.mode.as_str()],
            )
            .await?;
        rows.iter().map(records::webhook).collect()
    }

    /// The endpoint's row is locked from the read to the commit.
    async fn change_webhook(
        &self,
        tenant: &Tenant,
        id: &str,
        change: WebhookChange,
    ) -> StoreResult<Webhook> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let current = records::webhook(
            &Db::Tx(&tx)
                .query_opt(
                    &format!(
                        "SELECT {WEBHOOK_COLUMNS} FROM webhooks \
                         WHERE workspace_id = $1 AND mode = $2 AND id = $3 FOR UPDATE"
                    ),
                    &[&tenant.workspace_id, &tenant.mode.as_str(), &id],
                )
                .await?
                .ok_or(StoreError::NotFound(Entity::Webhook))?,
        )?;
        let w = change(&current);
        let (previous, until) = match &w.previous_secret {
            Some((secret, until)) => (Some(secret.as_str()), Some(until.as_micros())),
            None => (None, None),
        };
        let updated = Db::Tx(&tx)
            .execute(
                "UPDATE webhooks SET url = $4, event_types = $5, description = $6, status = $7, \
                 disabled_reason = $8, secret = $9, previous_secret = $10, \
                 previous_secret_until = $11, updated_at = $12, \
                 failing_since = CASE WHEN $7 = 'enabled' AND status <> 'enabled' THEN NULL \
                 ELSE failing_since END \
                 WHERE workspace_id = $1 AND mode = $2 AND id = $3",
                &[
                    &tenant.workspace_id,
                    &tenant.mode.as_str(),
                    &w.id,
                    &w.url,
                    &records::event_types_text(&w),
                    &w.description,
                    &w.status.as_str(),
                    &w.disabled_reason,
                    &w.secret,
                    &previous,
                    &until,
                    &w.updated_at.as_micros(),
                ],
            )
            .await?;
        if updated == 0 {
            return Err(StoreError::NotFound(Entity::Webhook));
        }
        tx.commit().await?;
        Ok(w)
    }

    async fn delete_webhook(&self, tenant: &Tenant, id: &str) -> StoreResult<Webhook> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let db = Db::Tx(&tx);
        let webhook = get_webhook(&db, tenant, id).await?;
        // Its deliveries go by ON DELETE CASCADE.
        db.execute(
            "DELETE FROM webhooks WHERE workspace_id = $1 AND mode = $2 AND id = $3",
            &[&tenant.workspace_id, &tenant.mode.as_str(), &id],
        )
        .await?;
        tx.commit().await?;
        Ok(webhook)
    }

    async fn list_deliveries(
        &self,
        tenant: &Tenant,
        webhook_id: &str,
        before: Option<&str>,
        limit: u32,
    ) -> StoreResult<(Vec<Delivery>, bool)> {
        let client = self.client().await?;
        let db = Db::Client(&client);
        get_webhook(&db, tenant, webhook_id).await?;
        let rows = db
            .query(
                &format!(
                    "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries \
                     WHERE workspace_id = $1 AND mode = $2 AND webhook_id = $3 \
                     AND ($4::text IS NULL OR id < $4) ORDER BY id DESC LIMIT $5"
                ),
                &[
                    &tenant.workspace_id,
                    &tenant.mode.as_str(),
                    &webhook_id,
                    &before,
                    &(i64::from(limit) + 1),
                ],
            )
            .await?;
        let mut deliveries = rows
            .iter()
            .map(records::delivery)
            .collect::<StoreResult<Vec<_>>>()?;
        let more = deliveries.len() > limit as usize;
        deliveries.truncate(limit as usize);
        Ok((deliveries, more))
    }

    async fn retry_delivery(
        &self,
        tenant: &Tenant,
        webhook_id: &str,
        delivery_id: &str,
    ) -> StoreResult<Delivery> {
        let client = self.client().await?;
        let db = Db::Client(&client);
        let updated = db
            .execute(
                "UPDATE webhook_deliveries SET state = 'pending', next_attempt_at = $5, \
                 lease_owner = NULL \
                 WHERE workspace_id = $1 AND mode = $2 AND webhook_id = $3 AND id = $4",
                &[
                    &tenant.workspace_id,
                    &tenant.mode.as_str(),
                    &webhook_id,
                    &delivery_id,
                    &Timestamp::now().as_micros(),
                ],
            )
            .await?;
        if updated == 0 {
            return Err(StoreError::NotFound(Entity::Delivery));
        }
        get_delivery(&db, tenant, webhook_id, delivery_id).await
    }

    async fn fan_out(&self, ahead: u32) -> StoreResult<u64> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        deliveries_commit_async(&tx).await?;
        let db = Db::Tx(&tx);
        let rows = db
            .query(
                &format!(
                    "SELECT {WEBHOOK_COLUMNS}, workspace_id, mode, fanned_out FROM webhooks \
                     WHERE status = 'enabled' FOR UPDATE SKIP LOCKED"
                ),
                &[],
            )
            .await?;
        let mut queued = 0;
        let now = Timestamp::now().as_micros();
        for row in &rows {
            let webhook = records::webhook(row)?;
            let tenant = records::tenant(row, WEBHOOK_COLUMN_COUNT)?;
            let mark: i64 = row.try_get(WEBHOOK_COLUMN_COUNT + 2)?;
            let due: i64 = db
                .query_opt(
                    "SELECT COUNT(*) FROM (SELECT 1 FROM webhook_deliveries \
                     WHERE workspace_id = $1 AND mode = $2 AND webhook_id = $3 \
                     AND state = 'pending' AND next_attempt_at <= $4 LIMIT $5) d",
                    &[
                        &tenant.workspace_id,
                        &tenant.mode.as_str(),
                        &webhook.id,
                        &now,
                        &i64::from(ahead),
                    ],
                )
                .await?
                .map_or(Ok(0), |row| row.try_get(0))?;
            let Some(room) = u32::try_from(due)
                .ok()
                .and_then(|due| ahead.checked_sub(due))
                .filter(|room| *room > 0)
            else {
                continue;
            };
            // The events' numbers, ids and types only: their data (whole contacts) is read
            // when a delivery is leased.
            let events = db
                .query(
                    "SELECT sequence, id, type FROM events WHERE workspace_id = $1 AND mode = $2 \
                     AND sequence > $3 ORDER BY sequence LIMIT $4",
                    &[
                        &tenant.workspace_id,
                        &tenant.mode.as_str(),
                        &mark,
                        &i64::from(room),
                    ],
                )
                .await?;
            let mut last = None;
            let (mut ids, mut sequences, mut event_ids, mut types) =
                (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for row in &events {
                let (sequence, id, kind): (i64, String, String) =
                    (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
                last = Some(sequence);
                if EventType::parse(&kind).is_some_and(|kind| webhook.wants(kind)) {
                    ids.push(Delivery::id_for(&id));
                    sequences.push(sequence);
                    event_ids.push(id);
                    types.push(kind);
                }
            }
            let Some(last) = last else {
                continue;
            };
            queued += db
                .execute(
                    "INSERT INTO webhook_deliveries (workspace_id, mode, webhook_id, id, sequence, \
                     event_id, event_type, state, attempts, next_attempt_at, created_at) \
                     SELECT $1, $2, $3, x.id, x.sequence, x.event_id, x.type, 'pending', 0, $8, $8 \
                     FROM unnest($4::text[], $5::int8[], $6::text[], $7::text[]) \
                     AS x(id, sequence, event_id, type) ON CONFLICT DO NOTHING",
                    &[
                        &tenant.workspace_id,
                        &tenant.mode.as_str(),
                        &webhook.id,
                        &ids,
                        &sequences,
                        &event_ids,
                        &types,
                        &now,
                    ],
                )
                .await?;
            db.execute(
                "UPDATE webhooks SET fanned_out = $4 \
                 WHERE workspace_id = $1 AND mode = $2 AND id = $3",
                &[
                    &tenant.workspace_id,
                    &tenant.mode.as_str(),
                    &webhook.id,
                    &last,
                ],
            )
            .await?;
        }
        tx.commit().await?;
        self.after_fan_out(queued).await;
        Ok(queued)
    }

    async fn due_endpoints(&self) -> StoreResult<Vec<EndpointKey>> {
        let client = self.client().await?;
        let rows = Db::Client(&client)
            .query(
                "SELECT w.workspace_id, w.mode, w.id FROM webhooks w WHERE w.status = 'enabled' \
                 AND EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.workspace_id = \
                 w.workspace_id AND d.mode = w.mode AND d.webhook_id = w.id \
                 AND d.state = 'pending' AND d.next_attempt_at <= $1)",
                &[&Timestamp::now().as_micros()],
            )
            .await?;
        rows.iter()
            .map(|row| {
                Ok(EndpointKey {
                    tenant: records::tenant(row, 0)?,
                    webhook_id: row.try_get(2)?,
                })
            })
            .collect()
    }

    async fn settle_deliveries(
        &self,
        endpoint: &EndpointKey,
        owner: &str,
        finished: Vec<(ClaimedDelivery, AttemptResult)>,
        lease_until: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<ClaimedDelivery>> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        deliveries_commit_async(&tx).await?;
        let db = Db::Tx(&tx);
        // Sent together (pipelined), run in order: one round trip for the batch.
        futures_util::future::try_join_all(
            finished
                .iter()
                .map(|(claimed, result)| finish(&db, claimed, owner, result)),
        )
        .await?;
        let claimed = if limit == 0 {
            Vec::new()
        } else {
            claim(&db, endpoint, owner, lease_until, limit).await?
        };
        tx.commit().await?;
        Ok(claimed)
    }

    async fn delivery_backlog(&self) -> StoreResult<(u64, Option<Timestamp>)> {
        let client = self.client().await?;
        let row = client
            .query_one(
                "SELECT COUNT(*), MIN(created_at) FROM (SELECT created_at \
                 FROM webhook_deliveries WHERE state = 'pending' UNION ALL \
                 SELECT e.created_at FROM webhooks w JOIN events e \
                 ON e.workspace_id = w.workspace_id AND e.mode = w.mode \
                 AND e.sequence > w.fanned_out WHERE w.status = 'enabled') backlog",
                &[],
            )
            .await?;
        let (n, oldest): (i64, Option<i64>) = (row.try_get(0)?, row.try_get(1)?);
        Ok((
            u64::try_from(n).unwrap_or(0),
            oldest.map(Timestamp::from_micros),
        ))
    }
}

/// Lets the delivery worker's transaction commit without waiting for its WAL flush: the
/// API's writes each wait for theirs, and holding the event counter's lock until then,
/// they would also wait behind the deliveries' flushes. A crash may forget the last
/// fraction of a second of deliveries' bookkeeping, never half of it (a transaction is
/// still atomic): those deliveries are sent again, at least once as ever.
async fn deliveries_commit_async(tx: &tokio_postgres::Transaction<'_>) -> StoreResult<()> {
    tx.batch_execute("SET LOCAL synchronous_commit TO OFF")
        .await?;
    Ok(())
}

/// A row read from column `1` on: the columns of a record after others.
struct Shifted<'a>(&'a tokio_postgres::Row, usize);

impl records::Columns for Shifted<'_> {
    fn opt_text(&self, i: usize) -> StoreResult<Option<String>> {
        self.0.opt_text(i + self.1)
    }

    fn opt_int(&self, i: usize) -> StoreResult<Option<i64>> {
        self.0.opt_int(i + self.1)
    }

    fn opt_bytes(&self, i: usize) -> StoreResult<Option<Vec<u8>>> {
        self.0.opt_bytes(i + self.1)
    }

    fn json(&self, i: usize) -> StoreResult<Value> {
        self.0.json(i + self.1)
    }
}

/// Leases up to `limit` due deliveries of one endpoint, oldest event first. The events
/// are read by a lateral lookup each (its `LIMIT 1` keeps PostgreSQL from flattening it
/// into a join): a plain join hashed all the tenant's events, 128 ms for a claim of 60
/// with 60,000 events.
async fn claim(
    db: &Db<'_>,
    endpoint: &EndpointKey,
    owner: &str,
    lease_until: Timestamp,
    limit: u32,
) -> StoreResult<Vec<ClaimedDelivery>> {
    let tenant = &endpoint.tenant;
    let Some(row) = db
        .query_opt(
            &format!(
                "SELECT {WEBHOOK_COLUMNS}, failing_since FROM webhooks \
                 WHERE workspace_id = $1 AND mode = $2 AND id = $3 AND status = 'enabled'"
            ),
            &[
                &tenant.workspace_id,
                &tenant.mode.as_str(),
                &endpoint.webhook_id,
            ],
        )
        .await?
    else {
        return Ok(Vec::new());
    };
    let webhook = records::webhook(&row)?;
    let failing_since: Option<i64> = row.try_get(WEBHOOK_COLUMN_COUNT)?;
    let rows = db
        .query(
            &format!(
                "WITH due AS (SELECT id FROM webhook_deliveries WHERE workspace_id = $1 \
                 AND mode = $2 AND webhook_id = $3 AND state = 'pending' \
                 AND next_attempt_at <= $4 ORDER BY next_attempt_at, sequence LIMIT $7 \
                 FOR UPDATE SKIP LOCKED), \
                 leased AS (UPDATE webhook_deliveries d SET attempts = d.attempts + 1, \
                 next_attempt_at = $5, lease_owner = $6 FROM due \
                 WHERE d.workspace_id = $1 AND d.mode = $2 AND d.webhook_id = $3 \
                 AND d.id = due.id RETURNING d.id, d.attempts, d.sequence) \
                 SELECT leased.id, leased.attempts, {} FROM leased LEFT JOIN LATERAL \
                 (SELECT {EVENT_COLUMNS} FROM events WHERE workspace_id = $1 AND mode = $2 \
                 AND sequence = leased.sequence LIMIT 1) e ON true ORDER BY leased.sequence",
                EVENT_COLUMNS
                    .split(", ")
                    .map(|c| format!("e.{c}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            &[
                &tenant.workspace_id,
                &tenant.mode.as_str(),
                &endpoint.webhook_id,
                &Timestamp::now().as_micros(),
                &lease_until.as_micros(),
                &owner,
                &i64::from(limit),
            ],
        )
        .await?;
    let mut claimed = Vec::with_capacity(rows.len());
    let mut pruned = Vec::new();
    for row in &rows {
        let delivery_id: String = row.try_get(0)?;
        // The event was pruned (past the retention) before it could be delivered.
        if row.try_get::<_, Option<i64>>(2)?.is_none() {
            pruned.push(delivery_id);
            continue;
        }
        claimed.push(ClaimedDelivery {
            tenant: tenant.clone(),
            webhook: webhook.clone(),
            failing_since: failing_since.map(Timestamp::from_micros),
            delivery_id,
            attempts: u32::try_from(row.try_get::<_, i32>(1)?).unwrap_or(0),
            event: records::event(&Shifted(row, 2))?,
            recorded: true,
        });
    }
    if !pruned.is_empty() {
        db.execute(
            "UPDATE webhook_deliveries SET state = 'failed', lease_owner = NULL, \
             last_error = 'the event was pruned before delivery' \
             WHERE workspace_id = $1 AND mode = $2 AND webhook_id = $3 AND id = ANY($4)",
            &[
                &tenant.workspace_id,
                &tenant.mode.as_str(),
                &endpoint.webhook_id,
                &pruned,
            ],
        )
        .await?;
    }
    Ok(claimed)
}

/// Records an attempt, if the lease is still `owner`'s.
async fn finish(
    db: &Db<'_>,
    claimed: &ClaimedDelivery,
    owner: &str,
    result: &AttemptResult,
) -> StoreResult<()> {
    let tenant = &claimed.tenant;
    let attempt = &result.attempt;
    let attempts = i32::try_from(claimed.attempts).unwrap_or(i32::MAX);
    // One statement: the delivery, and the endpoint's run of failures only when it
    // changes (a success after failures, a first failure, a disabling).
    db.execute(
        "WITH delivery AS (UPDATE webhook_deliveries SET state = $6, \
             next_attempt_at = $7, lease_owner = NULL, last_attempt_at = $8, \
             last_status = $9, last_error = $10, last_latency_ms = $11, response_body = $12 \
             WHERE workspace_id = $1 AND mode = $2 AND webhook_id = $3 AND id = $4 \
             AND lease_owner = $5 AND attempts = $13 RETURNING 1) \
             UPDATE webhooks SET failing_since = CASE WHEN $14 THEN NULL \
             ELSE COALESCE(failing_since, $8) END, \
             status = CASE WHEN $15::text IS NULL THEN status ELSE 'disabled' END, \
             disabled_reason = COALESCE($15, disabled_reason) \
             WHERE workspace_id = $1 AND mode = $2 AND id = $3 \
             AND EXISTS (SELECT 1 FROM delivery) \
             AND (($14 AND failing_since IS NOT NULL) OR (NOT $14 AND failing_since IS NULL) \
             OR $15::text IS NOT NULL)",
        &[
            &tenant.workspace_id,
            &tenant.mode.as_str(),
            &claimed.webhook.id,
            &claimed.delivery_id,
            &owner,
            &result.state.as_str(),
            &result.next_attempt_at.map(Timestamp::as_micros),
            &attempt.at.as_micros(),
            &attempt.status.map(i32::from),
            &attempt.error,
            &i64::try_from(attempt.latency_ms).unwrap_or(i64::MAX),
            &attempt.response_body,
            &attempts,
            &(result.state == DeliveryState::Succeeded),
            &result.disable,
        ],
    )
    .await?;
    Ok(())
}
