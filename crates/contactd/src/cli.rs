//! The `contactd` command line: `serve`, the `keys` administration commands, the client
//! commands and shell completions.
//!
//! Exit codes: 0 when the command did all it was asked, [`EXIT_FAILED`] when it could not
//! run (bad arguments get clap's 2), and [`EXIT_ROWS_REJECTED`] when an import ran but
//! rejected some rows.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use serde::Serialize;

use crate::client_cli::{
    self, ClientArgs, ContactCommand, OutputArgs, Row, SegmentCommand, Shown, WebhookCommand,
};
use crate::config::{Config, DatabaseArgs};
use crate::domain::tenant::Mode;
use crate::domain::time::Timestamp;
use crate::startup::{issue_key, Application};
use crate::store::sqlite::backup;
use crate::store::{self, KeyInfo};
use crate::telemetry;
use crate::transfer::export::{self, ExportArgs};
use crate::transfer::import::{self, ImportArgs};

/// The command could not run (or failed part way: see its message).
pub const EXIT_FAILED: u8 = 1;
/// `import` ran to the end but rejected some rows (reasons in the rejected-rows file).
pub const EXIT_ROWS_REJECTED: u8 = 3;

#[derive(Parser, Debug)]
#[command(
    name = "contactd",
    version,
    about = "Self-hosted contacts service for customer messaging",
    after_help = "Exit codes: 0 success; 1 the command failed; 2 bad arguments; \
                  3 an import rejected some rows."
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
    #[command(mut_arg("server_url", |a| a.default_value(client_cli::DEFAULT_URL)))]
    Contact {
        #[command(flatten)]
        remote: ClientArgs,
        #[command(subcommand)]
        command: ContactCommand,
    },
    /// Work with saved segments on a running server (through the Rust SDK).
    #[command(mut_arg("server_url", |a| a.default_value(client_cli::DEFAULT_URL)))]
    Segment {
        #[command(flatten)]
        remote: ClientArgs,
        #[command(subcommand)]
        command: SegmentCommand,
    },
    /// Manage webhook endpoints on a running server (through the Rust SDK).
    #[command(mut_arg("server_url", |a| a.default_value(client_cli::DEFAULT_URL)))]
    Webhook {
        #[command(flatten)]
        remote: ClientArgs,
        #[command(subcommand)]
        command: WebhookCommand,
    },
    /// Import contacts from a CSV or NDJSON file, straight into a database (--workspace) or
    /// through a server (--url).
    #[command(mut_arg("output", |a| a
        .default_value("table")
        .help("How to print the summary: table, a sentence for people; json, one object")))]
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
    /// Print a shell completion script, e.g. `contactd completions bash > /etc/bash_completion.d/contactd`.
    Completions {
        /// The shell: bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
}

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Create a key (and its workspace if needed); prints the key alone on the last line.
    Create {
        /// The workspace's name (created if it does not exist).
        #[arg(long)]
        workspace: String,
        /// test keys see the workspace's test data, live keys its live data.
        #[arg(long, value_enum, default_value_t = Mode::Test)]
        mode: Mode,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// List keys: prefix, workspace, mode, created, last used. Never the secret.
    #[command(mut_arg("output", |a| a.default_value("table").help_heading(None::<&str>)))]
    List {
        #[command(flatten)]
        output: OutputArgs,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Revoke the key with this prefix; its next request is refused.
    Revoke {
        /// The key's prefix as `keys list` shows it (sk_live_AbCd1234).
        prefix: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

/// The command line's definition, with help that names an environment variable's value
/// only when it is set (clap would print `[env: CONTACTD_URL=]` for an unset one).
pub fn command() -> clap::Command {
    hide_unset_env_values(Cli::command())
}

fn hide_unset_env_values(mut command: clap::Command) -> clap::Command {
    command = command.mut_args(|arg| {
        let unset = arg
            .get_env()
            .is_some_and(|name| std::env::var_os(name).is_none_or(|v| v.is_empty()));
        if unset {
            arg.hide_env_values(true)
        } else {
            arg
        }
    });
    let names: Vec<String> = command
        .get_subcommands()
        .map(|s| s.get_name().to_owned())
        .collect();
    for name in names {
        command = command.mut_subcommand(name, hide_unset_env_values);
    }
    command
}

/// Parses the process's arguments; bad ones print clap's message and exit with 2.
pub fn parse() -> Cli {
    Cli::from_arg_matches(&command().get_matches()).unwrap_or_else(|e| e.exit())
}

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve(config) => serve(config).await?,
        Command::Keys(command) => keys(command).await?,
        Command::Contact { remote, command } => client_cli::run(remote, command).await?,
        Command::Segment { remote, command } => client_cli::run_segment(remote, command).await?,
        Command::Webhook { remote, command } => client_cli::run_webhook(remote, command).await?,
        Command::Import(args) => {
            if import::run(args).await?.rejected > 0 {
                return Ok(ExitCode::from(EXIT_ROWS_REJECTED));
            }
        }
        Command::Export(args) => {
            export::run(args).await?;
        }
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut command(), "contactd", &mut std::io::stdout());
        }
        Command::Backup { file, database } => {
            let path = sqlite_path(&database.url)?;
            backup::backup(&path, &file)?;
            println!("Backed up {} to {}", path.display(), file.display());
        }
        Command::Restore {
            file,
            force,
            database,
        } => {
            let path = sqlite_path(&database.url)?;
            backup::restore(&file, &path, force)?;
            println!("Restored {} from {}", path.display(), file.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn sqlite_path(url: &str) -> anyhow::Result<PathBuf> {
    store::sqlite::path_from_url(url).ok_or_else(|| {
        anyhow::anyhow!(
            "backup and restore work on SQLite databases; for PostgreSQL use pg_dump and pg_restore"
        )
    })
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let _log = telemetry::init();
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
        KeysCommand::List { output, database } => {
            let store = store::open(&database.url, &database.options()).await?;
            let keys = store.list_keys().await;
            store.close().await;
            let keys = keys?.into_iter().map(ListedKey::from).collect();
            client_cli::print(&Shown::List(keys), output.output)?;
        }
        KeysCommand::Revoke { prefix, database } => {
            let store = store::open(&database.url, &database.options()).await?;
            let revoked = store.revoke_key(prefix.trim()).await;
            store.close().await;
            match revoked? {
                0 => anyhow::bail!("no active key has the prefix {prefix}"),
                n => {
                    // Running servers cache keys and drop them when they see a
                    // revocation, which they check for every `REVOCATION_CHECK`: once
                    // this returns, every one of them refuses the key.
                    tokio::time::sleep(crate::api::REVOCATION_CHECK * 3).await;
                    println!("Revoked {n} key(s) with prefix {prefix}");
                }
            }
        }
    }
    Ok(())
}

/// A key as `keys list` shows it: never its secret.
#[derive(Serialize)]
struct ListedKey {
    prefix: String,
    workspace: String,
    mode: &'static str,
    status: &'static str,
    created_at: Timestamp,
    last_used_at: Option<Timestamp>,
    revoked_at: Option<Timestamp>,
}

impl From<KeyInfo> for ListedKey {
    fn from(k: KeyInfo) -> ListedKey {
        ListedKey {
            status: if k.revoked_at.is_some() {
                "revoked"
            } else {
                "active"
            },
            prefix: k.prefix,
            workspace: k.workspace,
            mode: k.mode.as_str(),
            created_at: k.created_at,
            last_used_at: k.last_used_at,
            revoked_at: k.revoked_at,
        }
    }
}

impl Row for ListedKey {
    const HEADER: &'static [&'static str] = &[
        "prefix",
        "workspace",
        "mode",
        "created",
        "last used",
        "status",
    ];

    fn cells(&self) -> Vec<String> {
        vec![
            self.prefix.clone(),
            self.workspace.clone(),
            self.mode.to_owned(),
            self.created_at.to_string(),
            self.last_used_at
                .map_or("never".to_owned(), |t| t.to_string()),
            self.status.to_owned(),
        ]
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        super::Cli::command().debug_assert();
    }

    /// A count or a time of 0 (or one past any use) would leave a server that answers
    /// nothing: it is refused when the command line is read.
    #[test]
    fn counts_and_times_of_serve_are_at_least_one() {
        use clap::Parser;
        for flag in [
            "--pool-size=0",
            "--db-statement-timeout-ms=0",
            "--db-statement-timeout-ms=18446744073709551615",
            "--body-limit=0",
            "--max-connections=0",
            "--request-timeout-secs=0",
            "--header-timeout-secs=0",
            "--body-timeout-secs=0",
            "--webhook-concurrency=0",
            "--event-retention-days=0",
            "--rate-limit-burst=inf",
        ] {
            assert!(
                super::Cli::try_parse_from(["contactd", "serve", flag]).is_err(),
                "{flag}"
            );
        }
        assert!(
            super::Cli::try_parse_from(["contactd", "serve", "--request-timeout-secs=1"]).is_ok()
        );
    }

    /// Every flag and argument of every command, by path, that `--help` shows without a
    /// description.
    fn undescribed(command: &clap::Command, path: &str, found: &mut Vec<String>) {
        for arg in command.get_arguments() {
            let builtin = matches!(arg.get_id().as_str(), "help" | "version");
            if !builtin && !arg.is_hide_set() && arg.get_help().is_none() {
                found.push(format!("{path} {}", arg.get_id()));
            }
        }
        for sub in command.get_subcommands() {
            undescribed(sub, &format!("{path} {}", sub.get_name()), found);
        }
    }

    #[test]
    fn every_flag_has_a_description() {
        let mut command = super::command();
        command.build();
        let mut found = Vec::new();
        undescribed(&command, "contactd", &mut found);
        assert!(found.is_empty(), "flags without help: {found:?}");
    }

    #[test]
    fn an_unset_environment_variable_shows_no_empty_value() {
        let help = super::command()
            .find_subcommand_mut("contact")
            .map(|c| c.render_long_help().to_string())
            .unwrap_or_default();
        if std::env::var_os("CONTACTD_URL").is_none() {
            assert!(help.contains("[env: CONTACTD_URL]"), "{help}");
        }
        assert!(!help.contains("=]"), "{help}");
    }
}
