//! `agora`: see `agora --help`.

use clap::Parser;

/// mimalloc instead of the system allocator: a request allocates many small, short-lived
/// objects across threads, where glibc's malloc spent about a tenth of the server's CPU time
/// (consolidating and unlinking chunks) in the by-id benchmark.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = agora_server::cli::Cli::parse();
    match agora_server::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("agora: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
