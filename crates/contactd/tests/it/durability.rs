//! SQLite is durable against power loss by default (issue 13): with the default settings
//! every acknowledged create was preceded by an fsync of the WAL; with
//! `--sqlite-synchronous normal` (an opt-in trade) it was not. The fsyncs are counted with
//! `strace` on the real binary (`.ci/run` installs strace).

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

/// Runs `contactd serve` under strace on a scratch database; the key is created first.
struct Traced {
    child: Child,
    port: u16,
    key: String,
    trace: std::path::PathBuf,
}

impl Drop for Traced {
    /// Stops the server, then strace: a tracee outlives a killed strace and kept serving.
    fn drop(&mut self) {
        let pid = self.child.id();
        if let Ok(children) = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")) {
            for server in children.split_whitespace() {
                let _ = Command::new("kill").args(["-KILL", server]).status();
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Traced {
    async fn start(dir: &Path, extra: &[&str]) -> Traced {
        let database = format!("sqlite://{}", dir.join("x.db").display());
        let created = Command::new(env!("CARGO_BIN_EXE_contactd"))
            .args([
                "keys",
                "create",
                "--database",
                &database,
                "--workspace",
                "acme",
            ])
            .output()
            .expect("contactd keys create");
        assert!(created.status.success(), "{created:?}");
        let key = String::from_utf8_lossy(&created.stdout)
            .lines()
            .last()
            .expect("the key")
            .trim()
            .to_owned();
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let trace = dir.join("fsyncs.txt");
        let child = Command::new("strace")
            .args(["-f", "-qq", "-e", "trace=fsync,fdatasync", "-o"])
            .arg(&trace)
            .arg(env!("CARGO_BIN_EXE_contactd"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--database", &database])
            .args(extra)
            .env("CONTACTD_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("strace is installed (.ci/run installs it)");
        let traced = Traced {
            child,
            port,
            key,
            trace,
        };
        let started = Instant::now();
        while reqwest::get(traced.url("/healthz")).await.is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "contactd did not start"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        traced
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// fsync and fdatasync calls traced so far (strace writes each as it returns).
    fn syncs(&self) -> usize {
        std::fs::read_to_string(&self.trace)
            .unwrap_or_default()
            .lines()
            .filter(|l| (l.contains("fsync(") || l.contains("fdatasync(")) && l.contains("= 0"))
            .count()
    }

    /// Creates `n` contacts one after another, each acknowledged before the next is sent;
    /// answers how many syncs they caused.
    async fn syncs_for_creates(&self, n: usize) -> usize {
        let client = reqwest::Client::new();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let before = self.syncs();
        for i in 0..n {
            let resp = client
                .post(self.url("/v2/contact"))
                .header("X-API-Key", &self.key)
                .json(&json!({"phone": format!("+1415555{i:04}")}))
                .send()
                .await
                .expect("a create");
            assert_eq!(resp.status(), 201);
        }
        self.syncs() - before
    }
}

#[tokio::test]
async fn each_acknowledged_create_was_synced_by_default_and_not_with_normal() {
    const CREATES: usize = 40;
    let dir = tempfile::tempdir().unwrap();
    let full = Traced::start(dir.path(), &[]).await;
    let synced = full.syncs_for_creates(CREATES).await;
    eprintln!("synchronous=full: {synced} syncs for {CREATES} creates");
    assert!(
        synced >= CREATES,
        "{CREATES} acknowledged creates, only {synced} syncs: a write was acknowledged before \
         it reached the disk"
    );
    drop(full);

    let dir = tempfile::tempdir().unwrap();
    let normal = Traced::start(dir.path(), &["--sqlite-synchronous", "normal"]).await;
    let synced = normal.syncs_for_creates(CREATES).await;
    eprintln!("synchronous=normal: {synced} syncs for {CREATES} creates");
    assert!(
        synced < CREATES / 4,
        "with --sqlite-synchronous normal, {CREATES} creates made {synced} syncs"
    );
}
