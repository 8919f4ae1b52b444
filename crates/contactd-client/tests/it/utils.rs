//! A real contactd on `127.0.0.1:0` with a scratch SQLite database and a key, and clients
//! of it.

use std::time::Duration;

use contactd::config::Config;
use contactd::startup::Application;
use contactd_client::Client;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The running server; stopped (and its database removed) when dropped.
pub struct TestServer {
    pub url: String,
    pub key: String,
    /// A key to the test data of the same workspace: another tenant.
    pub test_key: String,
    shutdown: Option<oneshot::Sender<()>>,
    _task: JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl TestServer {
    pub async fn start() -> TestServer {
        TestServer::start_with(|_| {}).await
    }

    /// A server whose settings `configure` changed (rate limit, body limit, …).
    pub async fn start_with(configure: impl FnOnce(&mut Config)) -> TestServer {
        let dir = tempfile::Builder::new()
            .prefix("contactd-client-it-")
            .tempdir()
            .unwrap();
        let database = format!("sqlite://{}", dir.path().join("contactd.db").display());
        let mut config = Config::new("127.0.0.1:0", database);
        configure(&mut config);
        let app = Application::build(config).await.unwrap();
        let key = app.create_key("acme", "live").await.unwrap();
        let test_key = app.create_key("acme", "test").await.unwrap();
        let url = format!("http://{}", app.local_addr());
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let until = async move {
                let _ = rx.await;
            };
            app.run_until_stopped(until).await.unwrap();
        });
        TestServer {
            url,
            key,
            test_key,
            shutdown: Some(tx),
            _task: task,
            _dir: dir,
        }
    }

    /// A client with the server's key and short backoffs.
    pub fn client(&self) -> Client {
        self.client_with_key(&self.key)
    }

    pub fn client_with_key(&self, key: &str) -> Client {
        Client::builder(&self.url, key)
            .base_backoff(Duration::from_millis(10))
            .build()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A distinct valid E.164 phone number for each `n`.
pub fn phone(n: u32) -> String {
    format!("+1415555{n:04}")
}
