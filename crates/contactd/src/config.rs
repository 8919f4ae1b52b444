//! Settings of the server, from flags and environment variables (one clap struct).

use clap::Args;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://contactd.db";

/// Where the data lives; shared by `serve` and the `keys` commands.
#[derive(Args, Debug, Clone)]
pub struct DatabaseArgs {
    /// Database URL: sqlite://PATH (embedded, the default) or postgres://… .
    #[arg(long = "database", env = "CONTACTD_DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub url: String,
}

#[derive(Args, Debug, Clone)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "CONTACTD_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,

    #[command(flatten)]
    pub database: DatabaseArgs,

    /// Largest accepted request body, in bytes.
    #[arg(long, env = "CONTACTD_BODY_LIMIT", default_value_t = 1024 * 1024)]
    pub body_limit: usize,
}

impl Config {
    pub fn new(listen: impl Into<String>, database_url: impl Into<String>) -> Config {
        Config {
            listen: listen.into(),
            database: DatabaseArgs {
                url: database_url.into(),
            },
            body_limit: 1024 * 1024,
        }
    }
}
