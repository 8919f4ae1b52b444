//! The change feed and webhooks in SQLite.
//!
//! Events are appended by the writes themselves, on the writer thread, after the write's
//! one statement that can fail: numbering and inserting cannot fail on a constraint, so
//! a write still needs no savepoint. The single writer commits in the order it numbers.

use std::collections::{BTreeSet, HashMap};

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;

use super::SqliteStore;
use crate::domain::event::{self, EventType, NewEvent};
use crate::domain::ids::ContactId;
use crate::domain::tenant::{Mode, Tenant};
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

/// Numbers the events in the tenant's order and inserts them.
pub(super) fn append(conn: &Connection, tenant: &Tenant, events: &[NewEvent]) -> StoreResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    let n = events.len() as i64;
    let next: i64 = conn
        .prepare_cached(
            "INSERT INTO event_counters (workspace_id, mode, next_sequence) VALUES (?1, ?2, 1 + ?3) \
             ON CONFLICT (workspace_id, mode) DO UPDATE SET next_sequence = next_sequence + ?3 \
             RETURNING next_sequence",
        )?
        .query_row(params![tenant.workspace_id, tenant.mode.as_str(), n], |r| {
            r.get(0)
        })?;
    let mut insert = conn.prepare_cached(
        "INSERT INTO events (workspace_id, mode, sequence, id, type, created_at, contact_id, data) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for (i, e) in events.iter().enumerate() {
        insert.execute(params![
            tenant.workspace_id,
            tenant.mode.as_str(),
            next - n + i as i64,
            e.id,
            e.kind.as_str(),
            e.created_at.as_micros(),
            e.contact_id.as_ref().map(ContactId::as_str),
            e.data.to_string(),
        ])?;
    }
    Ok(())
}

/// Strips the events of erased contacts to ids (see `domain::event::erased`): a deleted
/// contact and the contacts merged into it.
pub(super) fn erase_contacts(
    conn: &Connection,
    tenant: &Tenant,
    ids: &[String],
) -> StoreResult<()> {
    let mut rows = Vec::new();
    let mut select = conn.prepare_cached(
        "SELECT sequence, data FROM events \
         WHERE workspace_id = ?1 AND mode = ?2 AND contact_id = ?3",
    )?;
    for id in ids {
        rows.extend(
            select
                .query_map(
                    params![tenant.workspace_id, tenant.mode.as_str(), id],
                    |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)),
                )?
                .collect::<Result<Vec<_>, _>>()?,
        );
    }
    let mut update = conn.prepare_cached(
        "UPDATE events SET data = ?4 WHERE workspace_id = ?1 AND mode = ?2 AND sequence = ?3",
    )?;
    for (sequence, data) in rows {
        let data: Value = serde_json::from_str(&data).unwrap_or(Value::Null);
        update.execute(params![
            tenant.workspace_id,
            tenant.mode.as_str(),
            sequence,
            event::erased(&data).to_string()
        ])?;
    }
    Ok(())
}

fn types_json(types: &[EventType]) -> Option<String> {
    (!types.is_empty()).then(|| {
        let names: Vec<&str> = types.iter().map(|t| t.as_str()).collect();
        serde_json::to_string(&names).unwrap_or_default()
    })
}

fn list_events(
    conn: &Connection,
    tenant: &Tenant,
    after: i64,
    types: &[EventType],
    limit: u32,
) -> StoreResult<EventPage> {
    // With a type filter, the read covers the events committed when it began (the
    // single writer commits them in sequence order), whatever their types.
    let horizon = if types.is_empty() {
        None
    } else {
        Some(
            conn.prepare_cached(
                "SELECT COALESCE(MAX(sequence), 0) FROM events \
                 WHERE workspace_id = ?1 AND mode = ?2",
            )?
            .query_row(params![tenant.workspace_id, tenant.mode.as_str()], |r| {
                r.get::<_, i64>(0)
            })?,
        )
    };
    let sql = format!(
        "SELECT {EVENT_COLUMNS} FROM events WHERE workspace_id = ?1 AND mode = ?2 \
         AND sequence > ?3 AND (?6 IS NULL OR sequence <= ?6) \
         AND (?4 IS NULL OR type IN (SELECT value FROM json_each(?4))) \
         ORDER BY sequence LIMIT ?5"
    );
    let events = conn
        .prepare_cached(&sql)?
        .query_map(
            params![
                tenant.workspace_id,
                tenant.mode.as_str(),
                after,
                types_json(types),
                i64::from(limit) + 1,
                horizon
            ],
            |row| Ok(records::event(row)),
        )?
        .map(|r| r?)
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(EventPage::new(events, limit, after, horizon))
}

fn check_cursor(conn: &Connection, tenant: &Tenant, after: i64) -> StoreResult<EventCursor> {
    let first: Option<i64> = conn
        .prepare_cached(
            "SELECT MIN(sequence) FROM events WHERE workspace_id = ?1 AND mode = ?2 \
             AND sequence > ?3",
        )?
        .query_row(
            params![tenant.workspace_id, tenant.mode.as_str(), after],
            |r| r.get(0),
        )?;
    let next: Option<i64> = conn
        .prepare_cached(
            "SELECT next_sequence FROM event_counters WHERE workspace_id = ?1 AND mode = ?2",
        )?
        .query_row(params![tenant.workspace_id, tenant.mode.as_str()], |r| {
            r.get(0)
        })
        .optional()?;
    Ok(EventCursor::of(
        after,
        first,
        next.map_or(0, |next| next - 1),
    ))
}

fn get_webhook(conn: &Connection, tenant: &Tenant, id: &str) -> StoreResult<Webhook> {
    conn.prepare_cached(&format!(
        "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE workspace_id = ?1 AND mode = ?2 AND id = ?3"
    ))?
    .query_row(
        params![tenant.workspace_id, tenant.mode.as_str(), id],
        |r| Ok(records::webhook(r)),
    )
    .optional()?
    .ok_or(StoreError::NotFound(Entity::Webhook))?
}

fn get_delivery(
    conn: &Connection,
    tenant: &Tenant,
    webhook_id: &str,
    id: &str,
) -> StoreResult<Delivery> {
    conn.prepare_cached(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries \
         WHERE workspace_id = ?1 AND mode = ?2 AND webhook_id = ?3 AND id = ?4"
    ))?
    .query_row(
        params![tenant.workspace_id, tenant.mode.as_str(), webhook_id, id],
        |r| Ok(records::delivery(r)),
    )
    .optional()?
    .ok_or(StoreError::NotFound(Entity::Delivery))?
}

fn save_webhook(conn: &Connection, tenant: &Tenant, w: &Webhook) -> StoreResult<usize> {
    let (previous, until) = match &w.previous_secret {
        Some((secret, until)) => (Some(secret.as_str()), Some(until.as_micros())),
        None => (None, None),
    };
    Ok(conn
        .prepare_cached(
            "UPDATE webhooks SET url = ?4, event_types = ?5, description = ?6, status = ?7, \
             disabled_reason = ?8, secret = ?9, previous_secret = ?10, \
             previous_secret_until = ?11, updated_at = ?12, \
             failing_since = CASE WHEN ?7 = 'enabled' AND status <> 'enabled' THEN NULL \
             ELSE failing_since END \
             WHERE workspace_id = ?1 AND mode = ?2 AND id = ?3",
        )?
        .execute(params![
            tenant.workspace_id,
            tenant.mode.as_str(),
            w.id,
            w.url,
            records::event_types_text(w),
            w.description,
            w.status.as_str(),
            w.disabled_reason,
            w.secret,
            previous,
            until,
            w.updated_at.as_micros(),
        ])?)
}

/// First webhook attempts handed to the delivery worker and not yet recorded, per endpoint.
///
/// SQLite has one server process, so these leases live in its memory: a first attempt
/// costs the single writer one row, written with its result, rather than a row queued,
/// a lease and a result (three row writes with their index entries, about half the
/// writer's cost of a create). The endpoint's cursor (`webhooks.fanned_out`) stays below
/// every sequence handed out and not recorded, so a crash or a failed write forgets
/// nothing: those events are read and sent again (at least once).
#[derive(Default)]
pub(super) struct HandedOut(std::sync::Mutex<HashMap<EndpointKey, Handed>>);

#[derive(Debug, Default, Clone)]
struct Handed {
    /// The last sequence read for the endpoint.
    through: i64,
    /// Sequences handed out and not yet recorded.
    open: BTreeSet<i64>,
}

impl HandedOut {
    fn with<T>(&self, f: impl FnOnce(&mut HashMap<EndpointKey, Handed>) -> T) -> T {
        f(&mut self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// The endpoint if it is enabled, with the start of its run of failures and its cursor.
fn enabled_webhook(
    conn: &Connection,
    endpoint: &EndpointKey,
) -> StoreResult<Option<(Webhook, Option<Timestamp>, i64)>> {
    let tenant = &endpoint.tenant;
    conn.prepare_cached(&format!(
        "SELECT {WEBHOOK_COLUMNS}, failing_since, fanned_out FROM webhooks \
         WHERE workspace_id = ?1 AND mode = ?2 AND id = ?3 AND status = 'enabled'"
    ))?
    .query_row(
        params![
            tenant.workspace_id,
            tenant.mode.as_str(),
            endpoint.webhook_id
        ],
        |r| {
            let since: Option<i64> = r.get(WEBHOOK_COLUMN_COUNT)?;
            let mark: i64 = r.get(WEBHOOK_COLUMN_COUNT + 1)?;
            Ok(records::webhook(r).map(|w| (w, since.map(Timestamp::from_micros), mark)))
        },
    )
    .optional()?
    .transpose()
}

/// Pages of events read for first attempts at most per call: an endpoint that wants few
/// of the types passes over the others this many pages at a time.
const FIRST_ATTEMPT_PAGES: usize = 8;

/// Up to `limit` first attempts: the events after `after` (or the endpoint's cursor)
/// that the endpoint wants, and the last sequence read, None when there was none.
fn first_attempts(
    conn: &Connection,
    endpoint: &EndpointKey,
    after: Option<i64>,
    limit: u32,
) -> StoreResult<(Vec<ClaimedDelivery>, Option<i64>)> {
    let Some((webhook, failing_since, mark)) = enabled_webhook(conn, endpoint)? else {
        return Ok((Vec::new(), None));
    };
    let tenant = &endpoint.tenant;
    let mut from = after.unwrap_or(mark).max(mark);
    let mut read = None;
    let mut claimed = Vec::new();
    for _ in 0..FIRST_ATTEMPT_PAGES {
        let room = limit.saturating_sub(claimed.len() as u32);
        if room == 0 {
            break;
        }
        let page = list_events(conn, tenant, from, &[], room)?;
        let Some(last) = page.events.last().map(|e| e.sequence) else {
            break;
        };
        // After a restart the events just after the cursor may have their rows already.
        let recorded = conn
            .prepare_cached(
                "SELECT sequence FROM webhook_deliveries WHERE workspace_id = ?1 AND mode = ?2 \
                 AND webhook_id = ?3 AND sequence > ?4 AND sequence <= ?5",
            )?
            .query_map(
                params![
                    tenant.workspace_id,
                    tenant.mode.as_str(),
                    endpoint.webhook_id,
                    from,
                    last
                ],
                |r| r.get::<_, i64>(0),
            )?
            .collect::<Result<BTreeSet<_>, _>>()?;
        (from, read) = (last, Some(last));
        claimed.extend(
            page.events
                .into_iter()
                .filter(|e| webhook.wants(e.kind) && !recorded.contains(&e.sequence))
                .map(|event| ClaimedDelivery {
                    tenant: tenant.clone(),
                    webhook: webhook.clone(),
                    failing_since,
                    delivery_id: Delivery::id_for(&event.id),
                    attempts: 1,
                    event,
                    recorded: false,
                }),
        );
        if !page.has_more {
            break;
        }
    }
    Ok((claimed, read))
}

/// Leases up to `limit` due deliveries with a row (retries, and manual retries).
fn claim(
    conn: &Connection,
    endpoint: &EndpointKey,
    owner: &str,
    lease_until: Timestamp,
    limit: u32,
) -> StoreResult<Vec<ClaimedDelivery>> {
    let tenant = &endpoint.tenant;
    let now = Timestamp::now().as_micros();
    let Some((webhook, failing_since, _)) = enabled_webhook(conn, endpoint)? else {
        return Ok(Vec::new());
    };
    let sql = "UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt_at = ?5, \
         lease_owner = ?6 WHERE workspace_id = ?1 AND mode = ?2 AND webhook_id = ?3 \
         AND id IN (SELECT id FROM webhook_deliveries WHERE workspace_id = ?1 AND mode = ?2 \
         AND webhook_id = ?3 AND state = 'pending' AND next_attempt_at <= ?4 \
         ORDER BY next_attempt_at, sequence LIMIT ?7) \
         RETURNING id, attempts, sequence";
    let leased = conn
        .prepare_cached(sql)?
        .query_map(
            params![
                tenant.workspace_id,
                tenant.mode.as_str(),
                endpoint.webhook_id,
                now,
                lease_until.as_micros(),
                owner,
                limit
            ],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            },
        )?
        .collect::<Result<Vec<_>, _>>()?;
    let mut claimed = Vec::with_capacity(leased.len());
    for (delivery_id, attempts, sequence) in leased {
        let event = conn
            .prepare_cached(&format!(
                "SELECT {EVENT_COLUMNS} FROM events \
                 WHERE workspace_id = ?1 AND mode = ?2 AND sequence = ?3"
            ))?
            .query_row(
                params![tenant.workspace_id, tenant.mode.as_str(), sequence],
                |r| Ok(records::event(r)),
            )
            .optional()?
            .transpose()?;
        match event {
            Some(event) => claimed.push(ClaimedDelivery {
                tenant: tenant.clone(),
                webhook: webhook.clone(),
                failing_since,
                delivery_id,
                attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                event,
                recorded: true,
            }),
            // The event was pruned before it could be delivered.
            None => {
                conn.prepare_cached(
                    "UPDATE webhook_deliveries SET state = 'failed', \
                     last_error = 'the event was pruned before delivery' \
                     WHERE workspace_id = ?1 AND mode = ?2 AND webhook_id = ?3 AND id = ?4",
                )?
                .execute(params![
                    tenant.workspace_id,
                    tenant.mode.as_str(),
                    endpoint.webhook_id,
                    delivery_id
                ])?;
            }
        }
    }
    Ok(claimed)
}

/// Records an attempt if the lease is still `owner`'s; the endpoint's run of failures is
/// written only when it changes (a success after failures, a first failure, a disabling).
fn finish(
    conn: &Connection,
    claimed: &ClaimedDelivery,
    owner: &str,
    result: &AttemptResult,
) -> StoreResult<()> {
    let tenant = &claimed.tenant;
    let attempt = &result.attempt;
    let updated = if claimed.recorded {
        conn.prepare_cached(
            "UPDATE webhook_deliveries SET state = ?6, next_attempt_at = ?7, lease_owner = NULL, \
             last_attempt_at = ?8, last_status = ?9, last_error = ?10, last_latency_ms = ?11, \
             response_body = ?12 WHERE workspace_id = ?1 AND mode = ?2 AND webhook_id = ?3 \
             AND id = ?4 AND lease_owner = ?5 AND attempts = ?13",
        )?
        .execute(params![
            tenant.workspace_id,
            tenant.mode.as_str(),
            claimed.webhook.id,
            claimed.delivery_id,
            owner,
            result.state.as_str(),
            result.next_attempt_at.map(Timestamp::as_micros),
            attempt.at.as_micros(),
            attempt.status,
            attempt.error,
            i64::try_from(attempt.latency_ms).unwrap_or(i64::MAX),
            attempt.response_body,
            claimed.attempts,
        ])?
    } else {
        // A first attempt: its row, written once with its result.
        conn.prepare_cached(
            "INSERT OR IGNORE INTO webhook_deliveries (workspace_id, mode, webhook_id, id, \
             sequence, event_id, event_type, state, attempts, next_attempt_at, \
             last_attempt_at, last_status, last_error, last_latency_ms, response_body, \
             created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, \
             ?15, ?11)",
        )?
        .execute(params![
            tenant.workspace_id,
            tenant.mode.as_str(),
            claimed.webhook.id,
            claimed.delivery_id,
            claimed.event.sequence,
            claimed.event.id,
            claimed.event.kind.as_str(),
            result.state.as_str(),
            claimed.attempts,
            result.next_attempt_at.map(Timestamp::as_micros),
            attempt.at.as_micros(),
            attempt.status,
            attempt.error,
            i64::try_from(attempt.latency_ms).unwrap_or(i64::MAX),
            attempt.response_body,
        ])?
    };
    if updated == 0 {
        return Ok(());
    }
    let succeeded = result.state == DeliveryState::Succeeded;
    conn.prepare_cached(
        "UPDATE webhooks SET failing_since = CASE WHEN ?4 THEN NULL \
         ELSE COALESCE(failing_since, ?5) END, \
         status = CASE WHEN ?6 IS NULL THEN status ELSE 'disabled' END, \
         disabled_reason = COALESCE(?6, disabled_reason) \
         WHERE workspace_id = ?1 AND mode = ?2 AND id = ?3 \
         AND ((?4 AND failing_since IS NOT NULL) OR (NOT ?4 AND failing_since IS NULL) \
         OR ?6 IS NOT NULL)",
    )?
    .execute(params![
        tenant.workspace_id,
        tenant.mode.as_str(),
        claimed.webhook.id,
        succeeded,
        attempt.at.as_micros(),
        result.disable,
    ])?;
    Ok(())
}

#[async_trait]
impl EventStore for SqliteStore {
    async fn list_events(
        &self,
        tenant: &Tenant,
        after: i64,
        types: &[EventType],
        limit: u32,
    ) -> StoreResult<EventPage> {
        let (tenant, types) = (tenant.clone(), types.to_vec());
        self.readers
            .run_quick(move |conn| list_events(conn, &tenant, after, &types, limit))
            .await
    }

    async fn check_event_cursor(&self, tenant: &Tenant, after: i64) -> StoreResult<EventCursor> {
        let tenant = tenant.clone();
        self.readers
            .run_quick(move |conn| check_cursor(conn, &tenant, after))
            .await
    }

    async fn prune_events(&self, before: Timestamp) -> StoreResult<u64> {
        self.writer
            .run(move |conn| {
                Ok(conn
                    .prepare_cached(
                        "DELETE FROM events WHERE (workspace_id, mode, sequence) IN \
                         (SELECT workspace_id, mode, sequence FROM events \
                         WHERE created_at < ?1 LIMIT 1000)",
                    )?
                    .execute(params![before.as_micros()])? as u64)
            })
            .await
    }
}

#[async_trait]
impl WebhookStore for SqliteStore {
    async fn create_webhook(&self, tenant: &Tenant, w: Webhook) -> StoreResult<Webhook> {
        let tenant = tenant.clone();
        self.writer
            .run(move |conn| {
                let inserted = conn
                    .prepare_cached(
                        "INSERT INTO webhooks (workspace_id, mode, id, url, event_types, \
                         description, status, disabled_reason, secret, fanned_out, created_at, \
                         updated_at) \
                         SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL, ?8, \
                         COALESCE((SELECT next_sequence - 1 FROM event_counters \
                         WHERE workspace_id = ?1 AND mode = ?2), 0), ?9, ?9 \
                         WHERE (SELECT COUNT(*) FROM webhooks \
                         WHERE workspace_id = ?1 AND mode = ?2) < ?10",
                    )?
                    .execute(params![
                        tenant.workspace_id,
                        tenant.mode.as_str(),
                        w.id,
                        w.url,
                        records::event_types_text(&w),
                        w.description,
                        w.status.as_str(),
                        w.secret,
                        w.created_at.as_micros(),
                        MAX_ENDPOINTS as i64,
                    ])?;
                match inserted {
                    0 => Err(StoreError::Invalid(too_many_endpoints())),
                    _ => Ok(w),
                }
            })
            .await
    }

    async fn get_webhook(&self, tenant: &Tenant, id: &str) -> StoreResult<Webhook> {
        let (tenant, id) = (tenant.clone(), id.to_owned());
        self.readers
            .run_quick(move |conn| get_webhook(conn, &tenant, &id))
            .await
    }

    async fn list_webhooks(&self, tenant: &Tenant) -> StoreResult<Vec<Webhook>> {
        let tenant = tenant.clone();
        self.readers
            .run_quick(move |conn| {
                conn.prepare_cached(&format!(
                    "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE workspace_id = ?1 AND mode = ?2 \
                     ORDER BY created_at, id LIMIT 1000"
                ))?
                .query_map(params![tenant.workspace_id, tenant.mode.as_str()], |r| {
                    Ok(records::webhook(r))
                })?
                .map(|r| r?)
                .collect()
            })
            .await
    }

    /// On the writer, which runs one job at a time: no other change comes between the
    /// read and the write.
    async fn change_webhook(
        &self,
        tenant: &Tenant,
        id: &str,
        change: WebhookChange,
    ) -> StoreResult<Webhook> {
        let (tenant, id) = (tenant.clone(), id.to_owned());
        self.writer
            .run(move |conn| {
                let next = change(&get_webhook(conn, &tenant, &id)?);
                match save_webhook(conn, &tenant, &next)? {
                    0 => Err(StoreError::NotFound(Entity::Webhook)),
                    _ => Ok(next),
                }
            })
            .await
    }

    async fn delete_webhook(&self, tenant: &Tenant, id: &str) -> StoreResult<Webhook> {
        let (tenant, id) = (tenant.clone(), id.to_owned());
        self.writer
            .run(move |conn| {
                let webhook = get_webhook(conn, &tenant, &id)?;
                // Its deliveries go by ON DELETE CASCADE.
                conn.prepare_cached(
                    "DELETE FROM webhooks WHERE workspace_id = ?1 AND mode = ?2 AND id = ?3",
                )?
                .execute(params![
                    tenant.workspace_id,
                    tenant.mode.as_str(),
                    id
                ])?;
                Ok(webhook)
            })
            .await
    }

    async fn list_deliveries(
        &self,
        tenant: &Tenant,
        webhook_id: &str,
        before: Option<&str>,
        limit: u32,
    ) -> StoreResult<(Vec<Delivery>, bool)> {
        let (tenant, webhook_id) = (tenant.clone(), webhook_id.to_owned());
        let before = before.map(str::to_owned);
        self.readers
            .run_quick(move |conn| {
                get_webhook(conn, &tenant, &webhook_id)?;
                let mut rows = conn
                    .prepare_cached(&format!(
                        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries \
                         WHERE workspace_id = ?1 AND mode = ?2 AND webhook_id = ?3 \
                         AND (?4 IS NULL OR id < ?4) ORDER BY id DESC LIMIT ?5"
                    ))?
                    .query_map(
                        params![
                            tenant.workspace_id,
                            tenant.mode.as_str(),
                            webhook_id,
                            before,
                            i64::from(limit) + 1
                        ],
                        |r| Ok(records::delivery(r)),
                    )?
                    .map(|r| r?)
                    .collect::<StoreResult<Vec<_>>>()?;
                let more = rows.len() > limit as usize;
                rows.truncate(limit as usize);
                Ok((rows, more))
            })
            .await
    }

    async fn retry_delivery(
        &self,
        tenant: &Tenant,
        webhook_id: &str,
        delivery_id: &str,
    ) -> StoreResult<Delivery> {
        let (tenant, webhook_id) = (tenant.clone(), webhook_id.to_owned());
        let delivery_id = delivery_id.to_owned();
        self.writer
            .run(move |conn| {
                get_delivery(conn, &tenant, &webhook_id, &delivery_id)?;
                conn.prepare_cached(
                    "UPDATE webhook_deliveries SET state = 'pending', next_attempt_at = ?5, \
                     lease_owner = NULL \
                     WHERE workspace_id = ?1 AND mode = ?2 AND webhook_id = ?3 AND id = ?4",
                )?
                .execute(params![
                    tenant.workspace_id,
                    tenant.mode.as_str(),
                    webhook_id,
                    delivery_id,
                    Timestamp::now().as_micros()
                ])?;
                get_delivery(conn, &tenant, &webhook_id, &delivery_id)
            })
            .await
    }

    /// Nothing to do: first attempts are read from the events (see [`HandedOut`]).
    async fn fan_out(&self, _ahead: u32) -> StoreResult<u64> {
        Ok(0)
    }

    async fn due_endpoints(&self) -> StoreResult<Vec<EndpointKey>> {
        let endpoints = self
            .readers
            .run_quick(move |conn| {
                conn.prepare_cached(
                    "SELECT w.workspace_id, w.mode, w.id, w.fanned_out, \
                     EXISTS (SELECT 1 FROM webhook_deliveries d \
                     WHERE d.workspace_id = w.workspace_id AND d.mode = w.mode \
                     AND d.webhook_id = w.id AND d.state = 'pending' \
                     AND d.next_attempt_at <= ?1), \
                     COALESCE((SELECT c.next_sequence - 1 FROM event_counters c \
                     WHERE c.workspace_id = w.workspace_id AND c.mode = w.mode), 0) \
                     FROM webhooks w WHERE w.status = 'enabled'",
                )?
                .query_map(params![Timestamp::now().as_micros()], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, bool>(4)?,
                        r.get::<_, i64>(5)?,
                    ))
                })?
                .map(|r| {
                    let (workspace_id, mode, webhook_id, mark, retries, last) = r?;
                    let mode = Mode::parse(&mode).ok_or_else(|| {
                        StoreError::Internal(anyhow::anyhow!("stored mode is malformed"))
                    })?;
                    let endpoint = EndpointKey {
                        tenant: Tenant { workspace_id, mode },
                        webhook_id,
                    };
                    Ok((endpoint, mark, retries, last))
                })
                .collect::<StoreResult<Vec<_>>>()
            })
            .await?;
        Ok(self.handed_out.with(|handed| {
            endpoints
                .into_iter()
                .filter(|(endpoint, mark, retries, last)| {
                    let read = handed.get(endpoint).map_or(*mark, |h| h.through.max(*mark));
                    *retries || *last > read
                })
                .map(|(endpoint, ..)| endpoint)
                .collect()
        }))
    }

    /// Records the attempts and leases due retries in one writer job, moving the
    /// endpoint's cursor up to the first attempt still out; then reads first attempts
    /// from the events on a reader, which costs the writer nothing.
    async fn settle_deliveries(
        &self,
        endpoint: &EndpointKey,
        owner: &str,
        finished: Vec<(ClaimedDelivery, AttemptResult)>,
        lease_until: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<ClaimedDelivery>> {
        let settled = self.handed_out.with(|handed| {
            handed.get(endpoint).cloned().map(|mut h| {
                for (claimed, _) in finished.iter().filter(|(c, _)| !c.recorded) {
                    h.open.remove(&claimed.event.sequence);
                }
                let cursor = h.open.first().map_or(h.through, |first| first - 1);
                (h, cursor)
            })
        });
        let cursor = settled.as_ref().map(|(_, cursor)| *cursor);
        let (key, owner) = (endpoint.clone(), owner.to_owned());
        let written = self
            .writer
            .run_atomic(move |conn| {
                for (claimed, result) in &finished {
                    finish(conn, claimed, &owner, result)?;
                }
                if let Some(cursor) = cursor {
                    let tenant = &key.tenant;
                    conn.prepare_cached(
                        "UPDATE webhooks SET fanned_out = ?4 WHERE workspace_id = ?1 \
                         AND mode = ?2 AND id = ?3 AND fanned_out < ?4",
                    )?
                    .execute(params![
                        tenant.workspace_id,
                        tenant.mode.as_str(),
                        key.webhook_id,
                        cursor
                    ])?;
                }
                if limit == 0 {
                    return Ok(Vec::new());
                }
                claim(conn, &key, &owner, lease_until, limit)
            })
            .await;
        let mut claimed = match written {
            Ok(claimed) => claimed,
            Err(e) => {
                // What was handed out is read again from the cursor.
                self.handed_out.with(|handed| handed.remove(endpoint));
                return Err(e);
            }
        };
        self.handed_out.with(|handed| match settled {
            Some((h, _)) => handed.insert(endpoint.clone(), h),
            None => handed.remove(endpoint),
        });
        let room = limit.saturating_sub(claimed.len() as u32);
        if room > 0 {
            let after = self
                .handed_out
                .with(|handed| handed.get(endpoint).map(|h| h.through));
            let key = endpoint.clone();
            let (fresh, read) = self
                .readers
                .run_quick(move |conn| first_attempts(conn, &key, after, room))
                .await?;
            if let Some(read) = read {
                self.handed_out.with(|handed| {
                    let h = handed.entry(endpoint.clone()).or_default();
                    h.through = read;
                    h.open.extend(fresh.iter().map(|c| c.event.sequence));
                });
            }
            claimed.extend(fresh);
        }
        Ok(claimed)
    }

    async fn delivery_backlog(&self) -> StoreResult<(u64, Option<Timestamp>)> {
        self.readers
            .run_quick(move |conn| {
                let (n, oldest): (i64, Option<i64>) = conn
                    .prepare_cached(
                        "SELECT COUNT(*), MIN(created_at) FROM (SELECT created_at \
                         FROM webhook_deliveries WHERE state = 'pending' UNION ALL \
                         SELECT e.created_at FROM webhooks w JOIN events e \
                         ON e.workspace_id = w.workspace_id AND e.mode = w.mode \
                         AND e.sequence > w.fanned_out WHERE w.status = 'enabled')",
                    )?
                    .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?;
                Ok((
                    u64::try_from(n).unwrap_or(0),
                    oldest.map(Timestamp::from_micros),
                ))
            })
            .await
    }
}
