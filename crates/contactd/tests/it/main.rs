//! contactd's HTTP integration suite: one test binary, one module per user story.
//!
//! Every test starts the real application (`contactd::startup::Application`) on a random
//! loopback port with a scratch database and talks HTTP to it; `cli` runs the real binary.
//! The expectations come from `shared/contract.md` and the seed page it is compatible with.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod utils;

mod auth;
mod backup;
mod batch;
mod cli;
mod concurrency;
mod console;
mod contact_cli;
mod contacts;
mod conversations;
mod crash;
mod cursor;
mod delete;
mod docs_page;
mod duplicates;
mod durability;
mod errors;
mod etag;
mod events;
mod idempotency;
mod identities;
mod import;
mod limits;
mod list;
mod list_shapes;
mod merge;
mod messages;
mod metrics;
mod openapi;
mod query_budget;
mod random_bodies;
mod ratelimit;
mod readme;
mod refs;
mod restart;
mod search;
mod search_property;
mod security;
mod seed;
mod segments;
mod tenancy;
mod update;
mod upsert;
mod webhooks;
