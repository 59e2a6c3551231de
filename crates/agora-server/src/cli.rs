//! The `agora` command line.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use agora_core::auth::NewOAuthClient;
use agora_core::users::NewUser;
use agora_core::{Actor, DomainError};
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
        /// Follows per user: each user follows this many others.
        #[arg(long, default_value_t = 0)]
        follows: u64,
        /// Likes, spread over all users and posts (each user likes a post at most once).
        #[arg(long, default_value_t = 0)]
        likes: u64,
        /// Comments, spread over all users and posts.
        #[arg(long, default_value_t = 0)]
        comments: u64,
        /// Orders, spread over all users, in every status (paid ones with their charge).
        #[arg(long, default_value_t = 0)]
        orders: u64,
    },
    /// Print the OpenAPI document (JSON) to standard output.
    Openapi,
    /// Manage users.
    User {
        /// The user action.
        #[command(subcommand)]
        action: UserCommand,
    },
    /// Manage API keys.
    Apikey {
        /// The key action.
        #[command(subcommand)]
        action: ApiKeyCommand,
    },
    /// Manage OAuth clients.
    Oauth {
        /// The client action.
        #[command(subcommand)]
        action: OauthCommand,
    },
}

/// `agora apikey …`
#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Create an API key for a user and print it (shown only this once).
    Create {
        /// The owner's email.
        #[arg(long)]
        user: String,
        /// Comma-separated scopes: read, write, admin.
        #[arg(long, default_value = "read")]
        scopes: String,
        /// A label for the key.
        #[arg(long, default_value = "cli")]
        name: String,
    },
}

/// `agora oauth …`
#[derive(Debug, Subcommand)]
pub enum OauthCommand {
    /// Register an OAuth client and print its id and secret (shown only this once).
    CreateClient {
        /// Display name shown on the consent page.
        #[arg(long)]
        name: String,
        /// Allowed redirect URIs (repeat the flag for several).
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        /// Comma-separated grant types: authorization_code, client_credentials, refresh_token.
        #[arg(long, default_value = "authorization_code,refresh_token")]
        grant_types: String,
        /// Comma-separated scopes the client may receive.
        #[arg(long, default_value = "read")]
        scopes: String,
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

/// Logging to standard error. Without `RUST_LOG`: `info`, and from the database driver only
/// errors (its slow-statement warnings print whole statements — a seed batch is hundreds of
/// kilobytes). Colour only when standard error is a terminal, never into files.
fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=error"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
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
            let (_, applied) = app::open_and_migrate(&config).await.map_err(|e| e.to_string())?;
            if applied.is_empty() {
                println!("database is up to date; nothing to apply");
            } else {
                println!("applied {} migration(s):", applied.len());
                for m in applied {
                    println!("  {m}");
                }
            }
            Ok(())
        }
        Command::Seed { users, posts, products, follows, likes, comments, orders } => {
            let db = app::open_database(&config).await.map_err(|e| e.to_string())?;
            let hasher = Argon2Hasher::new(config.auth.argon2_memory_kib, config.auth.argon2_iterations)?;
            let hash = hasher.hash_blocking("password123").map_err(|e| e.message)?;
            let started = std::time::Instant::now();
            let plan = agora_db::seed::Seeded { users, posts, products, follows, likes, comments, orders };
            let done = agora_db::seed::seed(&db, plan, &hash).await.map_err(|e| e.to_string())?;
            println!(
                "seeded {} users, {} posts, {} products, {} follows, {} likes, {} comments, {} orders in {:.1}s",
                done.users,
                done.posts,
                done.products,
                done.follows,
                done.likes,
                done.comments,
                done.orders,
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::Openapi => {
            let (_, api, table) = crate::rest::all().split();
            let keys = crate::idempotency::KeyRules::new(table.into(), config.idempotency.required.clone());
            let doc = crate::openapi::documents(api, &keys).all;
            // A reader that stops early (`agora openapi | head`) is not an error.
            match writeln!(std::io::stdout().lock(), "{doc}") {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.to_string()),
                _ => Ok(()),
            }
        }
        Command::Apikey { action: ApiKeyCommand::Create { user, scopes, name } } => {
            create_api_key(config, &user, &scopes, &name).await
        }
        Command::Oauth { action: OauthCommand::CreateClient { name, redirect_uris, grant_types, scopes } } => {
            create_oauth_client(config, &name, redirect_uris, &grant_types, &scopes).await
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
            let body = json!({"email": email, "name": name, "password": password, "role": if admin { "admin" } else { "user" }});
            let input = NewUser::try_from(body.as_object().unwrap_or(&serde_json::Map::new())).map_err(describe)?;
            let app = App::build(config).await.map_err(|e| e.to_string())?;
            let u = app.state.services.users.create(&Actor::operator(), input).await.map_err(describe)?;
            println!("created user {} <{}> ({})", u.id, u.email, u.role.as_str());
            Ok(())
        }
    }
}

/// A domain error for a terminal: the message and each field's problem.
fn describe(e: DomainError) -> String {
    let details: Vec<String> = e.details.iter().map(|d| format!("{}: {}", d.field, d.message)).collect();
    format!("{} {}", e.message, details.join("; "))
}

async fn create_api_key(config: Config, user: &str, scopes: &str, name: &str) -> Result<(), String> {
    let scopes = agora_core::actor::Scopes::parse(scopes)?;
    let app = App::build(config).await.map_err(|e| e.to_string())?;
    let auth = &app.state.services.auth;
    let u =
        auth.user_by_email(user).await.map_err(|e| e.message)?.ok_or_else(|| format!("no user with email {user}"))?;
    let allowed = u.role.default_scopes();
    if !allowed.contains(scopes) {
        return Err(format!(
            "{} is a {} and may hold only `{}`; not `{}`",
            u.email,
            u.role.as_str(),
            allowed.to_scope_string(),
            scopes.to_scope_string()
        ));
    }
    let minted = auth.mint_api_key(u.id, name, scopes).await.map_err(|e| e.message)?;
    println!("{}", minted.secret);
    eprintln!(
        "created API key {} ({}) for {}; store it now, it is not shown again",
        minted.record.id,
        minted.record.scopes.to_scope_string(),
        u.email
    );
    Ok(())
}

async fn create_oauth_client(
    config: Config,
    name: &str,
    redirect_uris: Vec<String>,
    grants: &str,
    scopes: &str,
) -> Result<(), String> {
    let scopes = agora_core::actor::Scopes::parse(scopes)?;
    let grants: Vec<String> = grants.split(',').map(str::trim).filter(|g| !g.is_empty()).map(str::to_string).collect();
    let body = json!({"name": name, "redirect_uris": redirect_uris, "grant_types": grants, "scopes": scopes.names()});
    let input = NewOAuthClient::try_from(body.as_object().unwrap_or(&serde_json::Map::new())).map_err(describe)?;
    let app = App::build(config).await.map_err(|e| e.to_string())?;
    let minted = app.state.services.auth.register_client(None, input).await.map_err(describe)?;
    println!("client_id={}\nclient_secret={}", minted.record.client_id, minted.secret);
    Ok(())
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
