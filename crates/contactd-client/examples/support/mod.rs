//! Where an example's client comes from: the server named by `CONTACTD_URL` and
//! `CONTACTD_API_KEY` when both are set, or else a contactd started inside the example's
//! own process on a scratch SQLite database, with a fresh key.

// Each example uses its own part of this module.
#![allow(dead_code)]

use contactd::config::Config;
use contactd::startup::Application;
use contactd_client::Client;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// What an example's `main` and scenario return on failure.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The client an example talks through, and the server it started, if any.
pub struct Target {
    /// A client with a key of the target server.
    pub client: Client,
    local: Option<LocalServer>,
}

struct LocalServer {
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<Result<(), String>>,
    // Removed, with the database, when the server has stopped.
    _dir: tempfile::TempDir,
}

impl Target {
    /// The server of `CONTACTD_URL`/`CONTACTD_API_KEY`, else a local one.
    pub async fn from_env_or_local() -> Result<Target, BoxError> {
        let url = std::env::var("CONTACTD_URL").unwrap_or_default();
        let key = std::env::var("CONTACTD_API_KEY").unwrap_or_default();
        if url.is_empty() || key.is_empty() {
            return Target::local().await;
        }
        println!("using the contactd server at {url}");
        Ok(Target {
            client: Client::new(url, key),
            local: None,
        })
    }

    /// A contactd started in this process on a scratch database, and a test key for it.
    pub async fn local() -> Result<Target, BoxError> {
        let dir = tempfile::Builder::new()
            .prefix("contactd-example-")
            .tempdir()?;
        let database = format!("sqlite://{}", dir.path().join("contactd.db").display());
        let app = Application::build(Config::new("127.0.0.1:0", database))
            .await
            .map_err(|e| format!("starting contactd: {e:#}"))?;
        let key = app
            .create_key("examples", "test")
            .await
            .map_err(|e| format!("creating a key: {e:#}"))?;
        let url = format!("http://{}", app.local_addr());
        let (shutdown, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let until = async move {
                let _ = stopped.await;
            };
            app.run_until_stopped(until)
                .await
                .map_err(|e| format!("{e:#}"))
        });
        println!("started contactd at {url} on a scratch database");
        Ok(Target {
            client: Client::new(url, key),
            local: Some(LocalServer {
                shutdown,
                task,
                _dir: dir,
            }),
        })
    }

    /// Stops the local server, if this target started one, once its requests are done.
    pub async fn stop(self) -> Result<(), BoxError> {
        if let Some(local) = self.local {
            let _ = local.shutdown.send(());
            local.task.await??;
        }
        Ok(())
    }
}

/// A few random letters and digits, so that runs against a shared server do not collide.
pub fn run_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_owned()
}

/// A random number from 0 to `below - 1`.
pub fn random_below(below: u32) -> u32 {
    rand::random_range(0..below)
}

/// A random, valid US number in E.164, e.g. `+14155550123`.
pub fn random_us_phone() -> String {
    format!("+1415555{:04}", random_below(10_000))
}
