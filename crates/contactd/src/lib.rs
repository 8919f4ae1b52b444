//! contactd: a self-hosted contacts service for customer messaging.
//!
//! `startup` builds the application once, for the binary and the tests alike; `api` holds
//! the HTTP handlers (one module per resource), `domain` the parsed types and rules,
//! `store` the storage interface with one module per backend, `error` the one error type
//! every handler returns.

pub mod api;
pub mod cli;
pub mod client_cli;
pub mod config;
pub mod console;
pub mod delivery;
pub mod domain;
pub mod error;
pub mod server;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod transfer;
