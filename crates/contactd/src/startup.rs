//! Builds the application once, for `contactd serve` and for the tests alike.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::api::{self, Access, AppState, EventSettings, Rate, RequestLimits};
use crate::config::Config;
use crate::delivery;
use crate::domain::api_key;
use crate::domain::tenant::Mode;
use crate::server::{self, ConnectionLimits};
use crate::store::{self, Store};

pub struct Application {
    listener: TcpListener,
    store: Arc<dyn Store>,
    config: Config,
}

impl Application {
    /// Opens (creating and migrating) the database and binds the listener.
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        let store = store::open(&config.database.url, &config.database.options()).await?;
        let listener = TcpListener::bind(&config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        Ok(Application {
            listener,
            store,
            config,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    pub fn store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }

    /// Creates the workspace if needed and a new key for it; returns the secret.
    pub async fn create_key(&self, workspace: &str, mode: &str) -> anyhow::Result<String> {
        let mode = Mode::parse(mode).context("mode must be live or test")?;
        issue_key(self.store.as_ref(), workspace, mode).await
    }

    /// Serves until `shutdown` resolves, lets requests in flight finish, then commits
    /// queued writes and closes the database.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let config = &self.config;
        let state = AppState::new(
            self.store.clone(),
            RequestLimits {
                body_limit: config.body_limit,
                body_timeout: Duration::from_secs(config.body_timeout_secs),
                request_timeout: Duration::from_secs(config.request_timeout_secs),
                per_key: (config.rate_limit_per_second > 0.0).then_some(Rate {
                    per_second: config.rate_limit_per_second,
                    burst: config.rate_limit_burst.max(1.0),
                }),
                auth_failures: Rate {
                    per_second: config.auth_failures_per_minute.max(0.0) / 60.0,
                    burst: config.auth_failures_per_minute.max(1.0),
                },
            },
            Access {
                trusted_proxies: config.trusted_proxies.clone(),
                metrics_token: config.metrics_token.clone(),
            },
            EventSettings {
                retention_days: config.event_retention_days,
                allow_private: config.webhook_allow_private,
            },
        );
        let limits = ConnectionLimits {
            max_connections: config.max_connections,
            header_read_timeout: Duration::from_secs(config.header_timeout_secs),
            shutdown_grace: Duration::from_secs(config.request_timeout_secs),
        };
        let pruner = tokio::spawn(api::prune_idempotency_keys(self.store.clone()));
        let upkeep = tokio::spawn(api::upkeep(state.clone()));
        let revocations = tokio::spawn(api::watch_revocations(state.clone()));
        let retention = Duration::from_secs_f64(config.event_retention_days.max(0.0) * 86_400.0);
        let events_pruner = tokio::spawn(delivery::prune_events(self.store.clone(), retention));
        let counter = state.clone();
        let deliveries = delivery::start(
            self.store.clone(),
            delivery::Settings {
                allow_private: config.webhook_allow_private,
                retry_scale: config.webhook_retry_scale.max(0.0),
                per_endpoint: config.webhook_concurrency.max(1),
            },
            state.events.clone(),
            Arc::new(move |outcome| counter.count_delivery(outcome)),
        )
        .context("cannot start the webhook delivery thread")?;
        server::serve(self.listener, api::router(state), limits, shutdown).await;
        pruner.abort();
        upkeep.abort();
        revocations.abort();
        events_pruner.abort();
        deliveries.stop().await;
        self.store.close().await;
        Ok(())
    }
}

/// Creates the workspace if needed and a new key for it; returns the secret, which is
/// stored nowhere (only its hash is).
pub async fn issue_key(store: &dyn Store, workspace: &str, mode: Mode) -> anyhow::Result<String> {
    let workspace = workspace.trim();
    anyhow::ensure!(
        !workspace.is_empty(),
        "the workspace name must not be empty"
    );
    let key = api_key::generate(mode);
    store
        .insert_key(workspace, mode, &key.prefix, key.hash)
        .await
        .context("cannot store the key")?;
    Ok(key.secret)
}
