//! The Agora server: configuration, start-up, HTTP plumbing and the REST transport over the
//! domain services of `agora-core`.

pub mod app;
pub mod auth;
pub mod cli;
pub mod config;
pub mod graphql;
pub mod http;
pub mod idempotency;
pub mod metrics;
pub mod openapi;
pub mod password;
pub mod ratelimit;
pub mod rest;
pub mod serve;
pub mod state;
pub mod tokens;

pub use app::App;
pub use config::Config;
