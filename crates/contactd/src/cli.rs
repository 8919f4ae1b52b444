//! The `contactd` command line: `serve` and the `keys` administration commands.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::client_cli::{self, ContactCommand, Remote, SegmentCommand};
use crate::config::{Config, DatabaseArgs};
use crate::domain::tenant::Mode;
use crate::startup::{issue_key, Application};
use crate::store;
use crate::store::sqlite::backup;
use crate::telemetry;
use crate::transfer::export::{self, ExportArgs};
use crate::transfer::import::{self, ImportArgs};

#[derive(Parser, Debug)]
#[command(
    name = "contactd",
    version,
    about = "Self-hosted contacts service for customer messaging"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the HTTP server.
    Serve(Config),
    /// Manage API keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Work with contacts on a running server (through the Rust SDK).
    Contact {
        #[command(flatten)]
        remote: Remote,
        #[command(subcommand)]
        command: ContactCommand,
    },
    /// Work with saved segments on a running server (through the Rust SDK).
    Segment {
        #[command(flatten)]
        remote: Remote,
        #[command(subcommand)]
        command: SegmentCommand,
    },
    /// Import contacts from a CSV or NDJSON file straight into a database.
    Import(ImportArgs),
    /// Export a workspace's contacts, or a segment's, as CSV or NDJSON.
    Export(ExportArgs),
    /// Write a consistent copy of a SQLite database to FILE, while the server runs.
    Backup {
        /// The new backup file.
        file: PathBuf,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Put a backup in place as the database (stop the server first).
    Restore {
        /// The backup file.
        file: PathBuf,
        /// Replace an existing database.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Create a key (and its workspace if needed); prints the key alone on the last line.
    Create {
        #[arg(long)]
        workspace: String,
        #[arg(long, value_enum, default_value_t = Mode::Test)]
        mode: Mode,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// List keys: prefix, workspace, mode, created, last used. Never the secret.
    List {
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Revoke the key with this prefix; its next request is refused.
    Revoke {
        prefix: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(config) => serve(config).await,
        Command::Keys(command) => keys(command).await,
        Command::Contact { remote, command } => client_cli::run(remote, command).await,
        Command::Segment { remote, command } => client_cli::run_segment(remote, command).await,
        Command::Import(args) => import::run(args).await.map(|_| ()),
        Command::Export(args) => export::run(args).await.map(|_| ()),
        Command::Backup { file, database } => {
            let path = sqlite_path(&database.url)?;
            backup::backup(&path, &file)?;
            println!("Backed up {} to {}", path.display(), file.display());
            Ok(())
        }
        Command::Restore {
            file,
            force,
            database,
        } => {
            let path = sqlite_path(&database.url)?;
            backup::restore(&file, &path, force)?;
            println!("Restored {} from {}", path.display(), file.display());
            Ok(())
        }
    }
}

fn sqlite_path(url: &str) -> anyhow::Result<PathBuf> {
    store::sqlite::path_from_url(url).ok_or_else(|| {
        anyhow::anyhow!(
            "backup and restore work on SQLite databases; for PostgreSQL use pg_dump and pg_restore"
        )
    })
}

async fn serve(config: Config) -> anyhow::Result<()> {
    telemetry::init();
    let app = Application::build(config).await?;
    let addr = app.local_addr();
    if app.store().count_keys().await? == 0 {
        let key = app.create_key("default", "test").await?;
        print_first_key(&key, addr);
    }
    tracing::info!(%addr, "contactd is ready");
    app.run_until_stopped(shutdown_signal()).await
}

fn print_first_key(key: &str, addr: std::net::SocketAddr) {
    println!("contactd: created workspace \"default\" with its first API key (shown only once):");
    println!();
    println!("    {key}");
    println!();
    println!("Try it:");
    println!(
        "    curl -X POST http://{addr}/v2/contact -H \"X-API-Key: {key}\" \
         -H \"Content-Type: application/json\" \
         -d '{{\"phone\": \"+14155550123\", \"first_name\": \"Ada\"}}'"
    );
    println!();
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

async fn keys(command: KeysCommand) -> anyhow::Result<()> {
    match command {
        KeysCommand::Create {
            workspace,
            mode,
            database,
        } => {
            let store = store::open(&database.url, &database.options()).await?;
            let key = issue_key(store.as_ref(), &workspace, mode).await;
            store.close().await;
            let key = key?;
            println!(
                "Created a {} key for workspace \"{}\":",
                mode,
                workspace.trim()
            );
            println!("{key}");
        }
        KeysCommand::List { database } => {
            let store = store::open(&database.url, &database.options()).await?;
            let keys = store.list_keys().await;
            store.close().await;
            println!(
                "{:<18} {:<20} {:<5} {:<28} {:<28} status",
                "prefix", "workspace", "mode", "created", "last used"
            );
            for k in keys? {
                println!(
                    "{:<18} {:<20} {:<5} {:<28} {:<28} {}",
                    k.prefix,
                    k.workspace,
                    k.mode,
                    k.created_at.to_string(),
                    k.last_used_at.map_or("never".to_owned(), |t| t.to_string()),
                    if k.revoked_at.is_some() {
                        "revoked"
                    } else {
                        "active"
                    }
                );
            }
        }
        KeysCommand::Revoke { prefix, database } => {
            let store = store::open(&database.url, &database.options()).await?;
            let revoked = store.revoke_key(prefix.trim()).await;
            store.close().await;
            match revoked? {
                0 => anyhow::bail!("no active key has the prefix {prefix}"),
                n => println!("Revoked {n} key(s) with prefix {prefix}"),
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        super::Cli::command().debug_assert();
    }
}
