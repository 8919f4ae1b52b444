//! contactd on PostgreSQL: several replicas on one database, and the database going away.
//!
//! Every test creates its own scratch database on the server named by
//! `CONTACTD_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`),
//! starts real `contactd serve` processes on it and drops the database at the end.
//! Without a reachable PostgreSQL these tests fail (they never skip): `.ci/run` provides one.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod events;
mod multi_replica;
mod outage;
mod restart;
