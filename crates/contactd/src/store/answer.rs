//! The answer of a request with an `Idempotency-Key`, kept in the transaction of its write.
//!
//! Kept after the write instead, an answer is lost whenever the caller goes away (or the
//! process stops) between the write's commit and the keeping of its answer; a retry then
//! runs the write a second time. So the idempotency layer opens a scope for the request
//! ([`scope`]), the handler says how its write's result becomes its answer
//! ([`answer_with`]), and the backend, inside the write's transaction, renders the answer
//! and stores it with the key ([`current`], [`PendingAnswer::render`]). Writes outside
//! such a scope are untouched.

use std::any::Any;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::domain::idempotency::StoredResponse;
use crate::domain::tenant::Tenant;

type Render = Box<dyn Fn(&dyn Any) -> Option<StoredResponse> + Send + Sync>;

pub struct PendingAnswer {
    pub tenant: Tenant,
    pub key: String,
    render: Mutex<Option<Render>>,
    kept: AtomicBool,
}

tokio::task_local! {
    static PENDING: Arc<PendingAnswer>;
}

impl PendingAnswer {
    pub fn new(tenant: Tenant, key: String) -> Arc<PendingAnswer> {
        Arc::new(PendingAnswer {
            tenant,
            key,
            render: Mutex::new(None),
            kept: AtomicBool::new(false),
        })
    }

    /// The answer for a write's result, once: a second write of the request keeps nothing.
    /// `None` when the handler gave no way to render this result.
    pub fn render(&self, result: &dyn Any) -> Option<StoredResponse> {
        let mut slot = self.render.lock().unwrap_or_else(|e| e.into_inner());
        let answer = slot.as_ref().and_then(|render| render(result))?;
        *slot = None;
        Some(answer)
    }

    /// Called once the transaction that stored the answer committed.
    pub fn mark_kept(&self) {
        self.kept.store(true, Ordering::Release);
    }

    /// Whether the answer is already stored with the key.
    pub fn kept(&self) -> bool {
        self.kept.load(Ordering::Acquire)
    }
}

/// Runs a request's handler with its pending answer.
pub async fn scope<F: Future>(pending: Arc<PendingAnswer>, handler: F) -> F::Output {
    PENDING.scope(pending, handler).await
}

/// Tells the backend how the next write's result (a `T`) becomes this request's answer.
/// Does nothing outside a request with an `Idempotency-Key`.
pub fn answer_with<T: 'static>(
    render: impl Fn(&T) -> Option<StoredResponse> + Send + Sync + 'static,
) {
    let _ = PENDING.try_with(|pending| {
        let render: Render = Box::new(move |result| result.downcast_ref::<T>().and_then(&render));
        *pending.render.lock().unwrap_or_else(|e| e.into_inner()) = Some(render);
    });
}

/// The pending answer of the request this write serves, if it has one.
pub fn current() -> Option<Arc<PendingAnswer>> {
    PENDING.try_with(Arc::clone).ok()
}
