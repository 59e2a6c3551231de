//! `agora`: see `agora --help`.

use clap::Parser;

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
