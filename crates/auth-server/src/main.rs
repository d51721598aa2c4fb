//! `auth-server [serve|migrate|check]`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use auth_server::check::Level;
use auth_server::{App, Config};
use clap::{Parser, Subcommand};
use tokio::sync::watch;

/// django-rest-registration's API, served by Rust.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// TOML configuration file (default: ./auth.toml when present).
    #[arg(long, env = "AUTH_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Check the configuration like Django's system checks; non-zero on errors.
    Check,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("AUTH_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, never in a log file.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("auth-server: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("auth-server: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let config = Config::load(cli.config.as_deref()).context("configuration")?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Check => {
            let report = auth_server::check::run(&config);
            for f in &report.findings {
                let level = if f.level == Level::Error {
                    "ERROR"
                } else {
                    "WARNING"
                };
                println!("{level} {}: {}", f.id, f.message);
            }
            let errors = report.errors().count();
            println!(
                "System check identified {} issue(s) ({errors} error(s)).",
                report.findings.len()
            );
            Ok(if errors == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Migrate => {
            auth_server::open_database(&config.database_url).await?;
            println!("migrations applied to {}", config.database_url);
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve => {
            let report = auth_server::check::run(&config);
            for f in report.findings.iter().filter(|f| f.level == Level::Warning) {
                tracing::warn!(id = f.id, "{}", f.message);
            }
            if let Some(first) = report.errors().next() {
                anyhow::bail!(
                    "configuration error {}: {} (run `auth-server check`)",
                    first.id,
                    first.message
                );
            }
            let plan = report.plan.context("no plan although no check failed")?;
            let app = App::from_plan(plan).await?;
            let listener = auth_server::bind(&config).await?;
            let addr = listener.local_addr()?;
            tracing::info!(%addr, prefix = %config.api_prefix, compat = ?config.compat, "serving");
            let (stop, stopped) = watch::channel(false);
            tokio::spawn(async move {
                shutdown_signal().await;
                tracing::info!("shutting down");
                let _ = stop.send(true);
            });
            app.serve(listener, stopped).await?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
