//! The black-box HTTP suite: every behaviour test runs once on SQLite and once on PostgreSQL
//! (see `db_test!`), against the real router built by `App::build`.
//!
//! All areas live in one test binary (one link, and cargo runs the tests of one binary in
//! parallel) split into modules by area.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

/// The test support crate, under the name every module imports it by.
mod common {
    pub use agora_test_support::*;
}

mod apikeys;
mod auth;
mod authz;
mod charges;
mod comments;
mod conditional;
mod connections;
mod cursor_walk;
mod envelope;
mod feed;
mod follows;
mod graphql;
mod hostile;
mod idempotency;
mod jwt;
mod lists;
mod oauth;
mod ops;
mod orders;
mod posts;
mod products;
mod ratelimit;
mod sessions;
mod socket;
mod subscriptions;
mod tokens;
mod users;
mod versions;
