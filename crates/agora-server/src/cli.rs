//! The `agora` command line.

use std::io::BufRead;
use std::path::PathBuf;

use agora_core::Actor;
use agora_core::actor::Role;
use clap::{Parser, Subcommand};
use serde_json::json;

use crate::app::{self, App, StartError};
use crate::config::{Config, LogFormat};
use crate::password::Argon2Hasher;

/// Agora: a REST API server for users, posts and products.
#[derive(Debug, Parser)]
#[command(name = "agora", version, about, long_about = None)]
pub struct Cli {
    /// TOML configuration file (also AGORA_CONFIG). Environment variables override it.
    #[arg(long, global = true, env = "AGORA_CONFIG")]
    pub config: Option<PathBuf>,
    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (the default). Migrates the database first.
    Serve,
    /// Create or upgrade the database schema, then exit.
    Migrate,
    /// Insert demo data in batches. Demo users log in with password `password123`.
    Seed {
        /// Users to create.
        #[arg(long, default_value_t = 100)]
        users: u64,
        /// Posts to create, spread over all users.
        #[arg(long, default_value_t = 1000)]
        posts: u64,
        /// Products to create.
        #[arg(long, default_value_t = 100)]
        products: u64,
    },
    /// Print the OpenAPI document (JSON) to standard output.
    Openapi,
    /// Manage users.
    User {
        /// The user action.
        #[command(subcommand)]
        action: UserCommand,
    },
}

/// `agora user …`
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; the password is read from AGORA_PASSWORD or standard input.
    Create {
        /// Email address.
        #[arg(long)]
        email: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// Make the user an administrator.
        #[arg(long)]
        admin: bool,
    },
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Pretty => builder.compact().try_init(),
    };
}

/// Runs the parsed command line; errors are printed by `main`.
pub async fn run(cli: Cli) -> Result<(), String> {
    let config = Config::load(cli.config.as_deref()).map_err(|e| e.to_string())?;
    init_logging(config.log_format);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config).await.map_err(|e| e.to_string()),
        Command::Migrate => {
            app::open_database(&config).await.map_err(|e| e.to_string())?;
            println!("database is up to date");
            Ok(())
        }
        Command::Seed { users, posts, products } => {
            let db = app::open_database(&config).await.map_err(|e| e.to_string())?;
            let hasher = Argon2Hasher::new(config.auth.argon2_memory_kib, config.auth.argon2_iterations)?;
            let hash = hasher.hash_blocking("password123").map_err(|e| e.message)?;
            let started = std::time::Instant::now();
            let done = agora_db::seed::seed(&db, users, posts, products, &hash).await.map_err(|e| e.to_string())?;
            println!(
                "seeded {} users, {} posts, {} products in {:.1}s",
                done.users,
                done.posts,
                done.products,
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::Openapi => {
            println!("{}", crate::openapi::build().all);
            Ok(())
        }
        Command::User { action: UserCommand::Create { email, name, admin } } => {
            let password = match std::env::var("AGORA_PASSWORD") {
                Ok(p) => p,
                Err(_) => {
                    eprint!("password: ");
                    let mut line = String::new();
                    std::io::stdin().lock().read_line(&mut line).map_err(|e| e.to_string())?;
                    line.trim_end_matches(['\r', '\n']).to_string()
                }
            };
            let app = App::build(config).await.map_err(|e| e.to_string())?;
            let system = Actor::user(0, Role::Admin);
            let body = json!({"email": email, "name": name, "password": password, "role": if admin { "admin" } else { "user" }});
            let body = body.as_object().cloned().unwrap_or_default();
            let u = app.state.services.users.create(&system, &body).await.map_err(|e| {
                let details: Vec<String> = e.details.iter().map(|d| format!("{}: {}", d.field, d.message)).collect();
                format!("{} {}", e.message, details.join("; "))
            })?;
            println!("created user {} <{}> ({})", u.id, u.email, u.role.as_str());
            Ok(())
        }
    }
}

async fn serve(config: Config) -> Result<(), StartError> {
    let addr = config.listen;
    let app = App::build(config).await?;
    let listener = app::bind(addr).await?;
    tracing::info!(%addr, engine = app.state.db.engine(), "agora listening");
    app.serve(listener, app::shutdown_signal()).await.map_err(|source| StartError::Listen { addr, source })?;
    tracing::info!("agora stopped");
    Ok(())
}
