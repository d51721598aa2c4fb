//! `auth-server import-django`: a Django site's users, DRF tokens and
//! allauth addresses into
//! the configured store, through `auth_core::import`, with a progress bar
//! on a terminal, a line per skipped row and a summary.

use std::fmt;
use std::sync::Arc;

use auth_core::import::{ImportError, ImportOptions, Importer, InactiveMeans, Outcome};
use auth_core::ports::{Clock, SystemClock};
use auth_core::settings::EmailVerification;
use auth_sql::django::{DjangoError, DjangoSource, UserTable};
use indicatif::{ProgressBar, ProgressStyle};

use crate::backend::redact;
use crate::{Plan, StartError, Storage};

/// Rows per transaction: large enough that commits do not dominate, small
/// enough that a failure loses little work and the bar moves smoothly.
const BATCH: usize = 1_000;

/// What to import, from the command line.
#[derive(Debug, Clone)]
pub struct ImportRequest {
    /// The site's database, `sqlite://…` or `postgres://…`.
    pub from: String,
    /// The user table and its column names.
    pub users: UserTable,
    /// DRF's token table; `None` skips tokens.
    pub tokens: Option<String>,
    /// allauth's address table; `None` when the site has none.
    pub addresses: Option<String>,
    /// What `is_active = false` means.
    pub inactive: InactiveMeans,
    /// Check and compare, write nothing.
    pub dry_run: bool,
}

/// Why the import stopped before its end.
#[derive(Debug, thiserror::Error)]
pub enum ImportFailure {
    /// The configured store could not be opened.
    #[error(transparent)]
    Start(#[from] StartError),
    /// The Django database could not be read.
    #[error("{url}: {source}")]
    Source {
        /// The site's database, password hidden.
        url: String,
        /// What went wrong.
        #[source]
        source: DjangoError,
    },
    /// The store failed mid-run; the rows written so far stay, and running
    /// the import again carries on from them.
    #[error("the store failed after {done} row(s); run the import again to carry on: {source}")]
    Store {
        /// Rows handled before the failure.
        done: u64,
        /// The store's error.
        #[source]
        source: ImportError,
    },
}

/// Counts of what became of the rows of one table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Rows read from the site.
    pub read: u64,
    /// New here.
    pub created: u64,
    /// Here already, changed.
    pub updated: u64,
    /// Here already, the same.
    pub unchanged: u64,
    /// Tokens past the configured lifetime.
    pub expired: u64,
    /// Not imported (each reported with its reason).
    pub skipped: u64,
}

impl Tally {
    /// Counts a batch's outcomes, reporting each skipped row above the bar.
    fn record(&mut self, bar: &ProgressBar, what: &str, outcomes: &[(i64, Outcome)]) {
        for (id, outcome) in outcomes {
            if let Outcome::Skipped(skip) = outcome {
                bar.suspend(|| eprintln!("skipped {what} {id}: {skip}"));
            }
            self.read += 1;
            self.count(outcome);
        }
        bar.inc(outcomes.len() as u64);
    }

    fn count(&mut self, outcome: &Outcome) {
        match outcome {
            Outcome::Created => self.created += 1,
            Outcome::Updated => self.updated += 1,
            Outcome::Unchanged => self.unchanged += 1,
            Outcome::Expired => self.expired += 1,
            Outcome::Skipped(_) => self.skipped += 1,
        }
    }
}

impl fmt::Display for Tally {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} read, {} created, {} updated, {} unchanged, {} skipped",
            self.read, self.created, self.updated, self.unchanged, self.skipped
        )?;
        if self.expired > 0 {
            write!(f, ", {} expired (past TOKEN_LIFETIME)", self.expired)?;
        }
        Ok(())
    }
}

/// What an import did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// User rows.
    pub users: Tally,
    /// Token rows (all zero with `--skip-tokens`).
    pub tokens: Tally,
    /// Address rows (all zero without `--email-addresses`).
    pub addresses: Tally,
    /// Users given an address-book entry for their row's address (shared
    /// addresses, no address table).
    pub booked: u64,
    /// Nothing was written.
    pub dry_run: bool,
}

impl Summary {
    /// Whether any row was skipped.
    pub fn skipped_any(&self) -> bool {
        self.users.skipped + self.tokens.skipped + self.addresses.skipped > 0
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "users:  {}", self.users)?;
        write!(f, "tokens: {}", self.tokens)?;
        if self.addresses.read > 0 {
            write!(f, "\naddresses: {}", self.addresses)?;
        }
        if self.booked > 0 {
            write!(f, "\naddress book: {} user address(es) listed", self.booked)?;
        }
        if self.dry_run {
            write!(f, "\ndry run: nothing was written")?;
        }
        Ok(())
    }
}

/// Imports `request` into the store `plan` configures.
pub async fn run(plan: &Plan, request: &ImportRequest) -> Result<Summary, ImportFailure> {
    let source_error = |source| ImportFailure::Source {
        url: redact(&request.from),
        source,
    };
    let source = DjangoSource::open(&request.from)
        .await
        .map_err(source_error)?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let storage = Storage::open(plan, clock).await?;
    let mut importer = Importer::new(
        storage.stores.users,
        storage.stores.tokens,
        ImportOptions {
            inactive: request.inactive,
            matching: plan.settings.matching,
            dry_run: request.dry_run,
            // djoser's stock user and allauth let accounts share addresses.
            shared_emails: plan.api.dialect != auth_http::Dialect::Drr,
            verified_by_address: plan.api.dialect == auth_http::Dialect::RestAuth
                && plan.settings.restauth.email_verification == EmailVerification::Mandatory,
        },
    );
    let mut summary = Summary {
        dry_run: request.dry_run,
        ..Summary::default()
    };

    let users = source.users(&request.users).await.map_err(source_error)?;
    let bar = progress(users.len(), "users");
    let mut rows = users.into_iter().peekable();
    while rows.peek().is_some() {
        let batch: Vec<_> = rows.by_ref().take(BATCH).collect();
        let outcomes = importer
            .users(batch)
            .await
            .map_err(|source| ImportFailure::Store {
                done: summary.users.read,
                source,
            })?;
        summary.users.record(&bar, "user", &outcomes);
    }
    bar.finish_and_clear();
    importer
        .finish_users()
        .await
        .map_err(|source| ImportFailure::Store {
            done: summary.users.read,
            source,
        })?;

    if let Some(table) = &request.addresses {
        let addresses = source.addresses(table).await.map_err(source_error)?;
        let bar = progress(addresses.len(), "addresses");
        let mut rows = addresses.into_iter().peekable();
        while rows.peek().is_some() {
            let batch: Vec<_> = rows.by_ref().take(BATCH).collect();
            let outcomes =
                importer
                    .addresses(batch)
                    .await
                    .map_err(|source| ImportFailure::Store {
                        done: summary.users.read + summary.addresses.read,
                        source,
                    })?;
            summary.addresses.record(&bar, "address of user", &outcomes);
        }
        bar.finish_and_clear();
    }
    summary.booked = importer
        .finish_addresses()
        .await
        .map_err(|source| ImportFailure::Store {
            done: summary.users.read + summary.addresses.read,
            source,
        })?;

    if let Some(table) = &request.tokens {
        let tokens = source.tokens(table).await.map_err(source_error)?;
        let bar = progress(tokens.len(), "tokens");
        let mut rows = tokens.into_iter().peekable();
        while rows.peek().is_some() {
            let batch: Vec<_> = rows.by_ref().take(BATCH).collect();
            let outcomes = importer
                .tokens(batch)
                .await
                .map_err(|source| ImportFailure::Store {
                    done: summary.users.read + summary.tokens.read,
                    source,
                })?;
            summary.tokens.record(&bar, "token of user", &outcomes);
        }
        bar.finish_and_clear();
    }
    Ok(summary)
}

/// A bar on stderr; indicatif draws nothing when stderr is not a terminal.
fn progress(len: usize, what: &'static str) -> ProgressBar {
    let bar = ProgressBar::new(len as u64);
    if let Ok(style) =
        ProgressStyle::with_template("{msg:7} [{bar:40}] {pos}/{len} ({per_sec}, {eta} left)")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what);
    bar
}
