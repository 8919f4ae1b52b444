//! The SDK against a real contactd: every method and every typed error, on a server
//! started in this process on a scratch SQLite database; retries against a scripted stub
//! in front of it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod contacts;
mod conversations;
mod errors;
mod listing;
mod retries;
mod segments;
mod stub;
mod upsert_batch;
mod utils;
