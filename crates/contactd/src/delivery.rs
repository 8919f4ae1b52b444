//! Webhook deliveries, run inside `contactd serve`: no other service to operate.
//!
//! The state lives in the database (see `store::WebhookStore`), so a killed server loses
//! nothing and replicas share the work. Each tick the worker turns new events into
//! deliveries (fan-out; on SQLite, with one server, first attempts are read straight from
//! the events and get their row with their result), then serves every endpoint with due
//! deliveries: it leases a batch,
//! POSTs them with at most [`Settings::per_endpoint`] in flight, and records the attempts
//! with the next lease (due again when the lease runs out, so at least once always), each
//! with what follows it
//! (`domain::webhook::after_attempt`). Requests follow no redirect, time out after 10 s,
//! and connect only to addresses the SSRF rules allow: names are resolved by
//! [`GuardedResolver`], which refuses a forbidden address, and the connection goes to
//! the address checked, so a name cannot change between the check and the connection.

use std::collections::{HashSet, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use tokio::sync::Notify;

use crate::domain::ids::new_id;
use crate::domain::time::Timestamp;
use crate::domain::webhook::{
    self, after_attempt, refused_address, url_parts::WebhookUrl, Attempt, AttemptResult,
    DeliveryState, MAX_RESPONSE_BODY,
};
use crate::domain::FieldError;
use crate::store::{ClaimedDelivery, EndpointKey, Store, StoreError, StoreResult};

/// How long the endpoint has to answer.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// How often the worker looks for work when nothing woke it.
const TICK: Duration = Duration::from_millis(250);
/// How long the worker waits after the database failed it.
const PAUSE_AFTER_ERROR: Duration = Duration::from_secs(5);
/// Due deliveries kept ahead of each endpoint's runner (PostgreSQL; SQLite reads the
/// events directly): the fan-out writes no more, so that deliveries cost the database
/// only as fast as they are made, also while they give way (a runner leases 64 at a time;
/// 256 keep it busy between fan-outs 20 ms apart up to 12,800 a second, past what one
/// PostgreSQL drains).
const AHEAD: u32 = 256;
/// Deliveries one endpoint's runner leases at once, at most.
const LEASE_BATCH: usize = 64;
/// How long deliveries give way to requests that keep the database busy, at most, before
/// each write of their own: under a write load that saturates the database they go on at
/// about a batch per endpoint a second, and catch up when the load eases (the queue
/// metrics say how far behind they are). With 100 ms and 2,000 fanned out ahead,
/// PostgreSQL's PUT merges lost 20–38% to deliveries made about as fast as the writes:
/// each write holds its tenant's event counter through its commit, so the deliveries'
/// WAL lengthened every write's turn.
const GIVE_WAY: Duration = Duration::from_millis(1000);
/// The shortest time between two fan-outs: a worker woken by every write would
/// otherwise fan out (a write) after each, a few events at a time.
const GATHER: Duration = Duration::from_millis(20);

/// How the worker delivers.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub allow_private: bool,
    /// Multiplies the retry delays (tests shorten them).
    pub retry_scale: f64,
    /// Requests in flight to one endpoint from this server at most.
    pub per_endpoint: usize,
}

/// Refuses a URL whose host is, or resolves to, an address deliveries may not reach.
pub async fn check_url(url: &WebhookUrl, allow_private: bool) -> Result<(), FieldError> {
    if allow_private {
        return Ok(());
    }
    let refused = |ip: IpAddr, why: &str| {
        FieldError::new(
            "url",
            format!("url resolves to {ip}, {why}, which webhooks may not reach"),
        )
        .received(url.as_str())
        .expected("a URL of a public host")
    };
    let addrs: Vec<SocketAddr> = match url.host().parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, url.port())],
        Err(_) => tokio::net::lookup_host((url.host(), url.port()))
            .await
            .map_err(|_| {
                FieldError::new("url", "url's host name does not resolve")
                    .received(url.as_str())
                    .expected("a URL of a public host")
            })?
            .collect(),
    };
    for addr in addrs {
        if let Some(why) = refused_address(addr.ip()) {
            return Err(refused(addr.ip(), why));
        }
    }
    Ok(())
}

/// Resolves names for deliveries, refusing any that leads to a forbidden address.
struct GuardedResolver {
    allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            if !allow_private {
                if let Some((ip, why)) = addrs
                    .iter()
                    .find_map(|a| refused_address(a.ip()).map(|why| (a.ip(), why)))
                {
                    return Err(
                        format!("refused: {} resolves to {ip}, {why}", name.as_str()).into(),
                    );
                }
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// The HTTP client of deliveries.
pub fn client(allow_private: bool) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(TIMEOUT)
        .connect_timeout(TIMEOUT)
        .user_agent(concat!("contactd-webhooks/", env!("CARGO_PKG_VERSION")))
        .dns_resolver(Arc::new(GuardedResolver { allow_private }))
        .build()?)
}

struct Worker {
    store: Arc<dyn Store>,
    /// The server's runtime: the database work runs there (see [`Worker::on_main`]).
    main: tokio::runtime::Handle,
    client: reqwest::Client,
    settings: Settings,
    /// Names this process's leases.
    owner: String,
    /// Endpoints being served now, so each gets one runner.
    serving: Mutex<HashSet<EndpointKey>>,
    wake: Arc<Notify>,
    count: Arc<dyn Fn(&'static str) + Send + Sync>,
}

/// The delivery worker, on its own thread: stop it with [`Deliveries::stop`].
pub struct Deliveries {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Nice value of the delivery thread, against the API's 0: when requests keep the cores
/// busy they get about nine times its share of CPU time, and deliveries catch up as soon
/// as there is slack; with cores to spare they run at full speed.
const NICE: i32 = 10;

/// Starts the delivery worker on a thread of its own, at a lower CPU priority than the
/// API: its HTTP requests, signatures and JSON run there, and its database work on the
/// server's runtime (`main`), so that a connection it opens is driven by the server's
/// threads like any other.
pub fn start(
    store: Arc<dyn Store>,
    settings: Settings,
    wake: Arc<Notify>,
    count: Arc<dyn Fn(&'static str) + Send + Sync>,
) -> std::io::Result<Deliveries> {
    let main = tokio::runtime::Handle::current();
    let (stop, stopped) = tokio::sync::oneshot::channel();
    let thread = std::thread::Builder::new()
        .name("contactd-webhooks".into())
        .spawn(move || {
            // On Linux the nice value is the calling thread's own.
            if let Err(e) = rustix::process::nice(NICE) {
                tracing::warn!(error = %e, "the webhook thread keeps the API's CPU priority");
            }
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(e) => {
                    tracing::error!(error = %e, "webhook deliveries cannot start");
                    return;
                }
            };
            runtime.block_on(async move {
                tokio::select! {
                    () = run(store, main, settings, wake, count) => {}
                    _ = stopped => {}
                }
            });
            // Dropping the runtime ends the attempts in flight: their leases run out and
            // they are sent again.
        })?;
    Ok(Deliveries {
        stop: Some(stop),
        thread: Some(thread),
    })
}

impl Deliveries {
    /// Stops the worker and waits for its thread.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }
}

/// Runs the delivery worker until the task is dropped.
async fn run(
    store: Arc<dyn Store>,
    main: tokio::runtime::Handle,
    settings: Settings,
    wake: Arc<Notify>,
    count: Arc<dyn Fn(&'static str) + Send + Sync>,
) {
    let client = match client(settings.allow_private) {
        Ok(client) => client,
        Err(e) => {
            tracing::error!(error = %e, "webhook deliveries cannot start");
            return;
        }
    };
    let worker = Arc::new(Worker {
        store,
        main,
        client,
        settings,
        owner: new_id("wkr_"),
        serving: Mutex::default(),
        wake,
        count,
    });
    // Owned here, so that stopping the worker stops its runners and their attempts.
    let mut runners = tokio::task::JoinSet::new();
    loop {
        let notified = worker.wake.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        while runners.try_join_next().is_some() {}
        let gathered = tokio::time::sleep(GATHER);
        if !worker.tick(&mut runners).await {
            // The database is away: look again later, without a warning every tick.
            tokio::time::sleep(PAUSE_AFTER_ERROR).await;
            continue;
        }
        tokio::select! {
            () = &mut notified => {}
            () = tokio::time::sleep(TICK) => {}
        }
        gathered.await;
    }
}

impl Worker {
    /// Waits while requests keep the database busy, for [`GIVE_WAY`] at most.
    async fn give_way(&self) {
        let started = Instant::now();
        while self.store.busy() && started.elapsed() < GIVE_WAY {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Runs database work on the server's runtime.
    async fn on_main<T: Send + 'static>(
        &self,
        work: impl std::future::Future<Output = StoreResult<T>> + Send + 'static,
    ) -> StoreResult<T> {
        self.main
            .spawn(work)
            .await
            .unwrap_or_else(|e| Err(StoreError::Unavailable(format!("database work ended: {e}"))))
    }

    /// Fans out, then starts a runner for each endpoint with due deliveries; false when
    /// the database failed.
    async fn tick(self: &Arc<Self>, runners: &mut tokio::task::JoinSet<()>) -> bool {
        loop {
            self.give_way().await;
            let store = self.store.clone();
            match self
                .on_main(async move { store.fan_out(AHEAD).await })
                .await
            {
                Ok(n) if n >= u64::from(AHEAD) => continue,
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "webhook fan-out failed");
                    return false;
                }
            }
        }
        let store = self.store.clone();
        let due = match self
            .on_main(async move { store.due_endpoints().await })
            .await
        {
            Ok(due) => due,
            Err(e) => {
                tracing::warn!(error = %e, "looking for due webhook deliveries failed");
                return false;
            }
        };
        for endpoint in due {
            let fresh = self
                .serving
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(endpoint.clone());
            if fresh {
                let worker = self.clone();
                runners.spawn(async move {
                    worker.serve(&endpoint).await;
                    worker
                        .serving
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .remove(&endpoint);
                    worker.wake.notify_waiters();
                });
            }
        }
        true
    }

    /// Delivers the endpoint's due deliveries until none is due, at most
    /// [`Settings::per_endpoint`] requests at a time, each starting as soon as a slot is
    /// free (a slow answer holds up nothing else). It leases a batch ahead of the free
    /// slots and records finished attempts together with the next lease, so the database
    /// sees one write per batch rather than two per delivery: with the single writer of
    /// SQLite, deliveries would otherwise take a third of the writes' throughput.
    async fn serve(self: &Arc<Self>, endpoint: &EndpointKey) {
        let slots = self.settings.per_endpoint.max(1);
        let batch = LEASE_BATCH.max(2 * slots);
        // A leased delivery may wait for the attempts ahead of it: its lease covers them.
        let lease = TIMEOUT * (batch.div_ceil(slots) as u32 + 1);
        let mut queue: VecDeque<ClaimedDelivery> = VecDeque::new();
        let mut running = tokio::task::JoinSet::new();
        let mut done: Vec<(ClaimedDelivery, AttemptResult)> = Vec::new();
        // Whether the last lease took all it asked for, so more may be due.
        let mut more = true;
        loop {
            while running.len() < slots {
                let Some(claimed) = queue.pop_front() else {
                    break;
                };
                let worker = self.clone();
                running.spawn(async move {
                    let result = worker.deliver(&claimed).await;
                    (claimed, result)
                });
            }
            let idle = running.is_empty() && queue.is_empty();
            let hungry = more && queue.is_empty() && running.len() <= slots / 2;
            if hungry || (!done.is_empty() && (idle || done.len() >= batch)) {
                let limit = if hungry { batch - running.len() } else { 0 };
                self.give_way().await;
                let lease_until =
                    Timestamp::from_micros(Timestamp::now().as_micros() + lease.as_micros() as i64);
                let (store, endpoint, owner) =
                    (self.store.clone(), endpoint.clone(), self.owner.clone());
                let finished = std::mem::take(&mut done);
                let settled = self
                    .on_main(async move {
                        store
                            .settle_deliveries(
                                &endpoint,
                                &owner,
                                finished,
                                lease_until,
                                limit as u32,
                            )
                            .await
                    })
                    .await;
                match settled {
                    Ok(claimed) => {
                        more = limit > 0 && claimed.len() == limit;
                        queue.extend(claimed);
                    }
                    Err(e) => {
                        // The leases run out and the deliveries are attempted again: at
                        // least once.
                        tracing::warn!(error = %e, "recording webhook deliveries failed");
                        return;
                    }
                }
                continue;
            }
            if idle {
                return;
            }
            if let Some(Ok(finished)) = running.join_next().await {
                done.push(finished);
            }
            while let Some(finished) = running.try_join_next() {
                if let Ok(finished) = finished {
                    done.push(finished);
                }
            }
        }
    }

    async fn deliver(&self, claimed: &ClaimedDelivery) -> AttemptResult {
        let attempt = self.attempt(claimed).await;
        let result = after_attempt(
            attempt,
            claimed.attempts,
            claimed.failing_since,
            self.settings.retry_scale,
        );
        (self.count)(match result.state {
            DeliveryState::Succeeded => "succeeded",
            DeliveryState::Pending => "retrying",
            DeliveryState::Failed => "failed",
        });
        if let Some(reason) = &result.disable {
            tracing::warn!(webhook = %claimed.webhook.id, %reason, "webhook endpoint disabled");
        }
        result
    }

    /// One POST of the event, signed.
    async fn attempt(&self, claimed: &ClaimedDelivery) -> Attempt {
        let at = Timestamp::now();
        let started = Instant::now();
        let failed = |error: String| Attempt {
            at,
            status: None,
            error: Some(error),
            latency_ms: started.elapsed().as_millis() as u64,
            response_body: None,
        };
        let url = match WebhookUrl::parse(&claimed.webhook.url) {
            Ok(url) => url,
            Err(e) => return failed(e.message),
        };
        if !self.settings.allow_private {
            if let Some(why) = url.host().parse::<IpAddr>().ok().and_then(refused_address) {
                return failed(format!("refused: {} is {why}", url.host()));
            }
        }
        let body = match serde_json::to_vec(&claimed.event.to_json()) {
            Ok(body) => body,
            Err(e) => return failed(e.to_string()),
        };
        let timestamp = at.as_micros() / 1_000_000;
        let signature = webhook::signature(
            &claimed.webhook.signing_secrets(at),
            &claimed.event.id,
            timestamp,
            &body,
        );
        let sent = self
            .client
            .post(url.as_str())
            .header("content-type", "application/json")
            .header("webhook-id", &claimed.event.id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await;
        let mut response = match sent {
            Ok(response) => response,
            Err(e) => return failed(error_chain(&e)),
        };
        let status = response.status().as_u16();
        let mut kept = Vec::new();
        while kept.len() < MAX_RESPONSE_BODY {
            match response.chunk().await {
                Ok(Some(chunk)) => kept.extend_from_slice(&chunk),
                _ => break,
            }
        }
        kept.truncate(MAX_RESPONSE_BODY);
        Attempt {
            at,
            status: Some(status),
            error: None,
            latency_ms: started.elapsed().as_millis() as u64,
            response_body: (!kept.is_empty()).then(|| String::from_utf8_lossy(&kept).into_owned()),
        }
    }
}

/// An error and its causes in one line ("error sending request: … refused: …").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text.chars().take(500).collect()
}

/// Prunes events older than the retention, every minute, in slices.
pub async fn prune_events(store: Arc<dyn Store>, retention: Duration) {
    let mut every = tokio::time::interval(
        (retention / 2).clamp(Duration::from_millis(100), Duration::from_secs(60)),
    );
    loop {
        every.tick().await;
        let before =
            Timestamp::from_micros(Timestamp::now().as_micros() - retention.as_micros() as i64);
        loop {
            match store.prune_events(before).await {
                Ok(n) if n >= 1000 => continue,
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "pruning old events failed");
                    break;
                }
            }
        }
    }
}
