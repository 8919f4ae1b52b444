//! Online backup and restore of the SQLite database.
//!
//! `VACUUM INTO` writes a consistent copy from one read transaction while the server keeps
//! serving (readers and the writer are not blocked under WAL); a restore checks the copy's
//! integrity before putting it in place.

use std::path::Path;

use anyhow::Context;
use rusqlite::{Connection, OpenFlags};

/// Writes a consistent copy of the database at `database` to `target` (a new file).
pub fn backup(database: &Path, target: &Path) -> anyhow::Result<()> {
    anyhow::ensure!(database.exists(), "no database at {}", database.display());
    anyhow::ensure!(
        !target.exists(),
        "{} exists already; choose a new file",
        target.display()
    );
    let conn = Connection::open_with_flags(database, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    conn.pragma_update(None, "busy_timeout", 5000)?;
    let target_text = target
        .to_str()
        .context("the backup path must be valid UTF-8")?;
    conn.execute("VACUUM INTO ?1", [target_text])
        .context("the backup failed")?;
    check_integrity(target)
}

/// Puts the backup at `source` in place as the database at `database`. The server must be
/// stopped; an existing database is replaced only with `replace`.
pub fn restore(source: &Path, database: &Path, replace: bool) -> anyhow::Result<()> {
    check_integrity(source).context("the backup is damaged; nothing was restored")?;
    if database.exists() {
        anyhow::ensure!(
            replace,
            "{} exists; stop contactd and pass --force to replace it",
            database.display()
        );
        for suffix in ["-wal", "-shm"] {
            let mut side = database.as_os_str().to_owned();
            side.push(suffix);
            let _ = std::fs::remove_file(side);
        }
    }
    let staging = database.with_extension("restoring");
    std::fs::copy(source, &staging).context("cannot copy the backup")?;
    std::fs::rename(&staging, database).context("cannot put the backup in place")?;
    Ok(())
}

/// `PRAGMA integrity_check` of the database file at `path`.
pub fn check_integrity(path: &Path) -> anyhow::Result<()> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let verdict: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
    anyhow::ensure!(
        verdict == "ok",
        "integrity check of {}: {verdict}",
        path.display()
    );
    Ok(())
}
