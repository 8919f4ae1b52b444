//! `/v2/events`: the change feed, oldest first, followed by `next_cursor`.
//!
//! An empty answer may wait (`wait`, up to 30 s) for the next event: a write through
//! this server wakes the waiting readers at once, and a short poll sees the writes of
//! other replicas.

use std::time::{Duration, Instant};

use axum::extract::State;
use axum::Json;

use super::auth::Auth;
use super::extract::QueryParams;
use super::{doc_types, AppState};
use crate::domain::event::{encode_cursor, Event, FeedQuery};
use crate::domain::FieldError;
use crate::error::ApiError;
use crate::store::EventCursor;
use contactd_wire as wire;

/// How often a waiting reader looks for events committed by other replicas.
const POLL: Duration = Duration::from_millis(200);

fn to_wire(event: Event) -> wire::Event {
    wire::Event {
        id: event.id,
        kind: event.kind.as_str().to_owned(),
        sequence: event.sequence,
        created_at: event.created_at.to_rfc3339(),
        data: event.data,
    }
}

/// List events
///
/// Every change of the workspace and mode in commit order. Follow `next_cursor` (as
/// `after`) to see every event exactly once, in `sequence` order, with no gaps. `after`
/// left out starts at the oldest kept event; a cursor older than the retention
/// (`--event-retention-days`) is `invalid_input` naming `after`.
#[utoipa::path(
    get,
    path = "/v2/events",
    operation_id = "listEvents",
    tag = "events",
    params(doc_types::EventQuery),
    responses(
        (status = 200, description = "A page of events, oldest first", body = wire::EventList),
        (status = 400, response = doc_types::InvalidInput),
        doc_types::CommonErrors,
    ),
)]
pub async fn list(
    State(state): State<AppState>,
    Auth(tenant): Auth,
    query: QueryParams,
) -> Result<Json<wire::EventList>, ApiError> {
    let query = query.only(&["after", "types", "limit", "wait"])?;
    let query = FeedQuery::parse(
        query.get("after"),
        query.get("types"),
        query.get("limit"),
        query.get("wait"),
    )?;
    if query.after > 0 {
        let refused = match state.store.check_event_cursor(&tenant, query.after).await? {
            EventCursor::Valid => None,
            EventCursor::Pruned => Some(format!(
                "This cursor is older than the event retention ({} days): the events after \
                 it were pruned. Read the feed again from its start (leave out after)",
                state.event_retention_days
            )),
            EventCursor::Ahead => Some(
                "This cursor is past the last event of this feed, so it was not returned by \
                 it (a cursor of another workspace or mode?). Read the feed from its start \
                 (leave out after)"
                    .to_owned(),
            ),
        };
        if let Some(message) = refused {
            return Err(FieldError::new("after", message)
                .received(encode_cursor(query.after))
                .into());
        }
    }
    // Answer before the request's own deadline.
    let wait = query
        .wait
        .min(state.request_timeout.saturating_sub(Duration::from_secs(1)));
    let deadline = Instant::now() + wait;
    let mut after = query.after;
    loop {
        let notified = state.events.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let page = state
            .store
            .list_events(&tenant, after, &query.types, query.limit)
            .await?;
        let now = Instant::now();
        if !page.events.is_empty() || now >= deadline {
            return Ok(Json(wire::EventList {
                data: page.events.into_iter().map(to_wire).collect(),
                next_cursor: encode_cursor(page.through),
                has_more: page.has_more,
            }));
        }
        // Events of other types are behind the reader now.
        after = page.through;
        let pause = POLL.min(deadline - now);
        tokio::select! {
            () = &mut notified => {}
            () = tokio::time::sleep(pause) => {}
        }
    }
}
