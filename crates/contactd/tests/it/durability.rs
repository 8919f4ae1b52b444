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

    /// fsync and fdatasync calls traced so far (strace writes each as it returns), but
    /// those of the thread `skip` (a thread id: strace -f starts each line with it).
    fn syncs_but(&self, skip: Option<&str>) -> usize {
        std::fs::read_to_string(&self.trace)
            .unwrap_or_default()
            .lines()
            .filter(|l| (l.contains("fsync(") || l.contains("fdatasync(")) && l.contains("= 0"))
            .filter(|l| skip.is_none_or(|tid| l.split_whitespace().next() != Some(tid)))
            .count()
    }

    /// The id of the server's checkpoint thread (named `contactd-checkpoint`), whose syncs
    /// come on a 100 ms timer whatever the requests do.
    fn checkpoint_thread(&self) -> String {
        let pid = self.child.id();
        let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
            .expect("strace's child, the server");
        let server = children
            .split_whitespace()
            .next()
            .expect("the server's pid");
        std::fs::read_dir(format!("/proc/{server}/task"))
            .expect("the server's threads")
            .filter_map(Result::ok)
            .find(|task| {
                std::fs::read_to_string(task.path().join("comm"))
                    .is_ok_and(|name| name.starts_with("contactd-checkp"))
            })
            .map(|task| task.file_name().to_string_lossy().into_owned())
            .expect("a checkpoint thread")
    }

    /// Creates `n` contacts one after another, each acknowledged before the next is sent;
    /// answers how many syncs they caused, but those of the thread `skip`.
    async fn syncs_for_creates(&self, n: usize, skip: Option<&str>) -> usize {
        let client = reqwest::Client::new();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let before = self.syncs_but(skip);
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
        self.syncs_but(skip) - before
    }
}

#[tokio::test]
async fn each_acknowledged_create_was_synced_by_default_and_not_with_normal() {
    const CREATES: usize = 40;
    let dir = tempfile::tempdir().unwrap();
    let full = Traced::start(dir.path(), &[]).await;
    let synced = full.syncs_for_creates(CREATES, None).await;
    eprintln!("synchronous=full: {synced} syncs for {CREATES} creates");
    assert!(
        synced >= CREATES,
        "{CREATES} acknowledged creates, only {synced} syncs: a write was acknowledged before \
         it reached the disk"
    );
    drop(full);

    let dir = tempfile::tempdir().unwrap();
    let normal = Traced::start(dir.path(), &["--sqlite-synchronous", "normal"]).await;
    // The checkpoint thread syncs every 100 ms while there is something to copy, so its
    // count grows with the time the creates take (a loaded machine); the creates' own
    // syncs are the others.
    let checkpoint = normal.checkpoint_thread();
    let synced = normal.syncs_for_creates(CREATES, Some(&checkpoint)).await;
    eprintln!("synchronous=normal: {synced} syncs for {CREATES} creates, beside checkpoints");
    assert!(
        synced < CREATES / 4,
        "with --sqlite-synchronous normal, {CREATES} creates made {synced} syncs"
    );
}
