//! `auth-server [serve|migrate|check|import-django|rekey-identifiers|users|credentials]`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use auth_core::import::InactiveMeans;
use auth_server::admin;
use auth_server::check::Level;
use auth_server::import::ImportRequest;
use auth_server::{App, Config, LogFormat};
use auth_sql::django::UserTable;
use clap::{Parser, Subcommand};
use tokio::sync::watch;

// Profiled under a token-read load (docs/operations.md, "Measuring it
// yourself"), glibc's malloc and free were a quarter of the server's own
// CPU time; mimalloc's per-thread heaps cost a fraction of that.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// Import a Django site's users and DRF tokens into the configured store.
    ///
    /// Exit status: 0 when every row was imported, 3 when the run finished
    /// but skipped rows (each reported with its id), 1 when it failed.
    ImportDjango(ImportArgs),
    /// Rebuild the uniqueness keys of usernames and addresses after
    /// IDENTIFIERS_CASE_INSENSITIVE changed on a populated database.
    ///
    /// Accounts that would then clash (`Bob` and `bob`) are listed and
    /// nothing changes (exit 1) until they are renamed or merged.
    RekeyIdentifiers,
    /// Manage accounts: USER is an id, a username or an address.
    ///
    /// Exit status: 0 done, 1 failed, 2 bad usage, 4 no such user, 5
    /// refused (a taken username, a weak password, …). Passwords are read
    /// from the terminal, or from the first line of standard input; never
    /// from the command line.
    Users {
        #[command(subcommand)]
        command: UsersCommand,
        /// Print JSON instead of a table.
        #[arg(long, global = true)]
        json: bool,
    },
    /// List or revoke an account's tokens and sessions (exit statuses as
    /// for `users`).
    Credentials {
        #[command(subcommand)]
        command: CredentialsCommand,
        /// Print JSON instead of a table.
        #[arg(long, global = true)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum UsersCommand {
    /// Every account, by id.
    List,
    /// One account.
    Show { user: String },
    /// Create an account (verified unless --unverified).
    Create {
        username: String,
        #[arg(long)]
        email: Option<String>,
        #[arg(long, default_value = "")]
        first_name: String,
        #[arg(long, default_value = "")]
        last_name: String,
        /// Leave it to be verified by its registration link.
        #[arg(long)]
        unverified: bool,
        /// Make it staff (in the djoser dialect: sees and changes other users).
        #[arg(long)]
        staff: bool,
    },
    /// Enable a disabled account.
    Activate { user: String },
    /// Disable an account; its tokens and sessions end at once.
    Deactivate { user: String },
    /// Mark an account verified.
    Verify { user: String },
    /// Set a new password; every token and session of the account ends.
    SetPassword { user: String },
    /// Delete an account and its credentials (asks, unless --yes).
    Delete {
        user: String,
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Subcommand)]
enum CredentialsCommand {
    /// The account's live tokens and sessions.
    List { user: String },
    /// Revoke one credential (--id, as `list` shows it) or all of them.
    Revoke {
        user: String,
        #[arg(long, conflicts_with = "all", required_unless_present = "all")]
        id: Option<String>,
        #[arg(long)]
        all: bool,
    },
}

impl UsersCommand {
    fn command(self) -> admin::Command {
        use admin::Command as C;
        match self {
            Self::List => C::List,
            Self::Show { user } => C::Show(user),
            Self::Create {
                username,
                email,
                first_name,
                last_name,
                unverified,
                staff,
            } => C::Create(admin::Create {
                username,
                email,
                first_name,
                last_name,
                unverified,
                staff,
            }),
            Self::Activate { user } => C::Activate(user),
            Self::Deactivate { user } => C::Deactivate(user),
            Self::Verify { user } => C::Verify(user),
            Self::SetPassword { user } => C::SetPassword(user),
            Self::Delete { user, yes } => C::Delete { user, yes },
        }
    }
}

impl CredentialsCommand {
    fn command(self) -> admin::Command {
        match self {
            Self::List { user } => admin::Command::Credentials(user),
            Self::Revoke { user, id, .. } => admin::Command::Revoke {
                user,
                which: id.map_or(auth_core::flows::Revoke::All, auth_core::flows::Revoke::Id),
            },
        }
    }
}

/// `import-django`'s options.
#[derive(clap::Args)]
struct ImportArgs {
    /// The site's database: sqlite://PATH or postgres://USER@HOST/DB.
    #[arg(long = "from", value_name = "URL")]
    from: String,
    /// The user table (a custom user model's own table).
    #[arg(long, default_value = "auth_user")]
    table: String,
    /// Column holding the login name (`email` for an e-mail-only model).
    #[arg(long, default_value = "username")]
    username_column: String,
    /// Column holding the address; empty for a model without one.
    #[arg(long, default_value = "email")]
    email_column: String,
    /// Column holding the given name; empty for none.
    #[arg(long, default_value = "first_name")]
    first_name_column: String,
    /// Column holding the family name; empty for none.
    #[arg(long, default_value = "last_name")]
    last_name_column: String,
    /// Column holding the staff flag (Django's `is_staff`); empty for none.
    #[arg(long, default_value = "is_staff")]
    staff_column: String,
    /// allauth's address table (`account_emailaddress` on a dj-rest-auth
    /// site): every address with its verified flag and id, so confirmation
    /// keys mailed before the move still work.
    #[arg(long, value_name = "TABLE")]
    email_addresses: Option<String>,
    /// DRF's token table.
    #[arg(long, default_value = "authtoken_token")]
    token_table: String,
    /// Leave API tokens behind (clients log in again).
    #[arg(long)]
    skip_tokens: bool,
    /// What Django's `is_active = false` means here: not yet verified (as in
    /// django-rest-registration, whose mailed links then still verify), or
    /// disabled by an administrator.
    #[arg(long, value_enum, default_value_t = Inactive::Unverified)]
    inactive: Inactive,
    /// Report what would change; write nothing.
    #[arg(long)]
    dry_run: bool,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Inactive {
    Unverified,
    Disabled,
}

impl ImportArgs {
    fn request(self) -> ImportRequest {
        let optional = |column: String| (!column.is_empty()).then_some(column);
        ImportRequest {
            from: self.from,
            users: UserTable {
                table: self.table,
                username: self.username_column,
                email: optional(self.email_column),
                first_name: optional(self.first_name_column),
                last_name: optional(self.last_name_column),
                is_staff: optional(self.staff_column),
            },
            tokens: (!self.skip_tokens).then_some(self.token_table),
            addresses: self.email_addresses,
            inactive: match self.inactive {
                Inactive::Unverified => InactiveMeans::Unverified,
                Inactive::Disabled => InactiveMeans::Disabled,
            },
            dry_run: self.dry_run,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref()) {
        Ok(config) => config,
        Err(e) if matches!(cli.command, Some(Command::Check)) => {
            // As the system checks list their findings: every one.
            let errors = e.each();
            for error in &errors {
                println!("ERROR auth.E000: {error}");
            }
            println!(
                "System check identified {0} issue(s) ({0} error(s)).",
                errors.len()
            );
            return ExitCode::FAILURE;
        }
        Err(e) => {
            eprintln!("auth-server: configuration: {e}");
            return ExitCode::FAILURE;
        }
    };
    init_logging(config.log_format);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("auth-server: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli, config)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("auth-server: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs to standard error at `AUTH_LOG`'s level, as `LOG_FORMAT` says.
fn init_logging(format: LogFormat) {
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("AUTH_LOG").unwrap_or_else(|_| "info".into());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        // The request span's fields on every line; the span list would
        // repeat them.
        LogFormat::Json => logs
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .init(),
        LogFormat::Text => logs.with_ansi(false).init(),
        // Colour codes only for a person at a terminal, never in a log file.
        LogFormat::Auto => logs
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
    }
}

async fn run(cli: Cli, config: Config) -> anyhow::Result<ExitCode> {
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
        Command::ImportDjango(args) => {
            let report = auth_server::check::run(&config);
            let plan = checked(report)?;
            let summary = auth_server::import::run(&plan, &args.request()).await?;
            println!("{summary}");
            Ok(if summary.skipped_any() {
                ExitCode::from(3)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::RekeyIdentifiers => {
            let plan = checked(auth_server::check::run(&config))?;
            let database = auth_server::open_database(&plan.database_url).await?;
            match database.rekey(plan.settings.matching).await? {
                auth_sql::Rekeyed::Done { users } => {
                    println!(
                        "rebuilt the keys of {users} user(s) for {:?} matching",
                        plan.settings.matching
                    );
                    Ok(ExitCode::SUCCESS)
                }
                auth_sql::Rekeyed::Clashes(clashes) => {
                    for clash in &clashes {
                        let ids: Vec<String> = clash.ids.iter().map(i64::to_string).collect();
                        println!(
                            "clash: {} {:?} is shared by users {}",
                            clash.field,
                            clash.key,
                            ids.join(", ")
                        );
                    }
                    println!(
                        "nothing changed: rename or merge these {} clash(es), then run again",
                        clashes.len()
                    );
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        Command::Users { command, json } => operate(&config, command.command(), json).await,
        Command::Credentials { command, json } => operate(&config, command.command(), json).await,
        Command::Migrate => {
            auth_server::open_database(&config.database_url).await?;
            println!("migrations applied to {}", config.database_url);
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve => {
            let plan = checked(auth_server::check::run(&config))?;
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

/// Runs an operator command; its failure is printed and becomes its exit
/// status.
async fn operate(config: &Config, command: admin::Command, json: bool) -> anyhow::Result<ExitCode> {
    let plan = checked(auth_server::check::run(config))?;
    let accounts = admin::accounts(&plan).await?;
    let format = if json {
        admin::Format::Json
    } else {
        admin::Format::Table
    };
    let mut out = std::io::stdout().lock();
    match admin::run(&accounts, command, format, &mut out).await {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(error) => {
            eprintln!("auth-server: {error}");
            Ok(ExitCode::from(error.code()))
        }
    }
}

/// The plan of a configuration that passed its checks; warnings are logged.
fn checked(report: auth_server::check::Report) -> anyhow::Result<auth_server::Plan> {
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
    report.plan.context("no plan although no check failed")
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
