//! The operator commands, `auth-server users …` and `auth-server
//! credentials …`: auth-core's operator actions over the configured
//! storage, answered as a table for people or as JSON for scripts.
//!
//! Exit statuses scripts can rely on: 0 done, 1 failed (storage,
//! configuration), 2 bad usage, 4 no such user or credential, 5 refused (a
//! value breaks a rule: a taken username, a weak password, …).

use std::io::{BufRead, IsTerminal, Write};

use auth_core::Accounts;
use auth_core::domain::{Email, Password, User, UserId};
use auth_core::flows::{AdminError, NewAccount, Revoke};
use auth_core::ports::CredentialInfo;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Aligned columns, for people.
    Table,
    /// One JSON document, for scripts.
    Json,
}

/// Why a command failed, with its exit status.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// What the operator asked for does not exist (exit 4).
    #[error("{0}")]
    NotFound(String),
    /// A value breaks a rule (exit 5).
    #[error("{0}")]
    Refused(String),
    /// Bad usage: no password given, no confirmation (exit 2).
    #[error("{0}")]
    Usage(String),
    /// The storage or the terminal failed (exit 1).
    #[error("{0}")]
    Failed(String),
}

impl CommandError {
    /// The exit status.
    pub fn code(&self) -> u8 {
        match self {
            Self::Failed(_) => 1,
            Self::Usage(_) => 2,
            Self::NotFound(_) => 4,
            Self::Refused(_) => 5,
        }
    }
}

impl From<AdminError> for CommandError {
    fn from(error: AdminError) -> Self {
        let text = auth_core::ports::report(&error);
        match error {
            AdminError::NoSuchUser(_) | AdminError::NoSuchCredential(_) => Self::NotFound(text),
            AdminError::Invalid(_) => Self::Refused(text),
            AdminError::Store(_) | AdminError::Hash(_) | AdminError::Token(_) => Self::Failed(text),
        }
    }
}

impl From<auth_core::ports::StoreError> for CommandError {
    fn from(error: auth_core::ports::StoreError) -> Self {
        Self::Failed(auth_core::ports::report(&error))
    }
}

impl From<std::io::Error> for CommandError {
    fn from(error: std::io::Error) -> Self {
        Self::Failed(error.to_string())
    }
}

/// An account to create, as the command line gives it.
#[derive(Debug, Clone)]
pub struct Create {
    /// Login name.
    pub username: String,
    /// Address.
    pub email: Option<String>,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Leave it unverified.
    pub unverified: bool,
    /// Staff (Django's `is_staff`).
    pub staff: bool,
}

/// One operator command.
#[derive(Debug, Clone)]
pub enum Command {
    /// Every account, by id.
    List,
    /// One account.
    Show(String),
    /// A new account; its password from the terminal or standard input.
    Create(Create),
    /// Enable an account.
    Activate(String),
    /// Disable an account and end its credentials.
    Deactivate(String),
    /// Mark an account verified.
    Verify(String),
    /// A new password (terminal or standard input); credentials end.
    SetPassword(String),
    /// Delete an account; `yes` skips the confirmation.
    Delete {
        /// Who.
        user: String,
        /// Confirmed on the command line.
        yes: bool,
    },
    /// An account's live credentials.
    Credentials(String),
    /// Revoke one or all of an account's credentials.
    Revoke {
        /// Whose.
        user: String,
        /// Which.
        which: Revoke,
    },
}

/// Accounts listed per store read.
const PAGE: u32 = 500;

/// Runs `command`, printing its result to `out`.
pub async fn run(
    accounts: &Accounts,
    command: Command,
    format: Format,
    out: &mut dyn Write,
) -> Result<(), CommandError> {
    match command {
        Command::List => list(accounts, format, out).await,
        Command::Show(key) => {
            let user = accounts.account(&key).await?;
            print_users(&[user], format, out)
        }
        Command::Create(create) => {
            let password = read_password("Password", true)?;
            let user = accounts
                .create_account(NewAccount {
                    username: create.username,
                    email: create.email,
                    first_name: create.first_name,
                    last_name: create.last_name,
                    password,
                    verified: !create.unverified,
                    staff: create.staff,
                })
                .await?;
            print_users(&[user], format, out)
        }
        Command::Activate(key) => {
            let user = accounts.account(&key).await?;
            let user = accounts.set_active(&user, true).await?;
            print_users(&[user], format, out)
        }
        Command::Deactivate(key) => {
            let user = accounts.account(&key).await?;
            let user = accounts.set_active(&user, false).await?;
            print_users(&[user], format, out)
        }
        Command::Verify(key) => {
            let user = accounts.account(&key).await?;
            let user = accounts.mark_verified(&user).await?;
            print_users(&[user], format, out)
        }
        Command::SetPassword(key) => {
            let user = accounts.account(&key).await?;
            let password = read_password("New password", true)?;
            let ended = accounts.set_password(&user, &password).await?;
            done(
                format,
                out,
                json!({"id": user.id.get(), "credentials_ended": ended}),
                &format!(
                    "password of {} set; {ended} credential(s) ended",
                    user.username.as_str()
                ),
            )
        }
        Command::Delete { user: key, yes } => {
            let user = accounts.account(&key).await?;
            if !yes && !confirm(&format!("Delete {}?", user.username.as_str()))? {
                return Err(CommandError::Usage(
                    "not confirmed: answer `yes` at the prompt, or pass --yes".into(),
                ));
            }
            accounts.remove_account(&user).await?;
            done(
                format,
                out,
                json!({"id": user.id.get(), "deleted": true}),
                &format!("deleted {} (id {})", user.username.as_str(), user.id.get()),
            )
        }
        Command::Credentials(key) => {
            let user = accounts.account(&key).await?;
            let listed = accounts.account_credentials(&user).await?;
            print_credentials(&listed, format, out)
        }
        Command::Revoke { user: key, which } => {
            let user = accounts.account(&key).await?;
            let revoked = accounts.revoke_account_credentials(&user, &which).await?;
            done(
                format,
                out,
                json!({"id": user.id.get(), "revoked": revoked}),
                &format!(
                    "{revoked} credential(s) of {} revoked",
                    user.username.as_str()
                ),
            )
        }
    }
}

async fn list(
    accounts: &Accounts,
    format: Format,
    out: &mut dyn Write,
) -> Result<(), CommandError> {
    let mut after: Option<UserId> = None;
    let mut all = Vec::new();
    loop {
        let page = accounts.list_accounts(after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        let full = page.len() == PAGE as usize;
        all.extend(page);
        if !full {
            break;
        }
    }
    print_users(&all, format, out)
}

fn time(at: OffsetDateTime) -> Value {
    at.format(&Rfc3339)
        .map(Value::String)
        .unwrap_or(Value::Null)
}

fn user_json(user: &User) -> Value {
    json!({
        "id": user.id.get(),
        "username": user.username.as_str(),
        "email": user.email.as_ref().map(Email::as_str),
        "first_name": user.first_name,
        "last_name": user.last_name,
        "verified": user.verified,
        "active": user.active,
        "pending_email": user.pending_email.as_ref().map(Email::as_str),
        "date_joined": time(user.date_joined),
        "last_login": user.last_login.map(time),
    })
}

fn print_users(users: &[User], format: Format, out: &mut dyn Write) -> Result<(), CommandError> {
    match format {
        Format::Json => {
            let body: Vec<Value> = users.iter().map(user_json).collect();
            writeln!(out, "{}", Value::Array(body))?;
        }
        Format::Table => {
            let yes = |flag: bool| if flag { "yes" } else { "no" }.to_owned();
            let day = |at: OffsetDateTime| at.date().to_string();
            let rows: Vec<Vec<String>> = users
                .iter()
                .map(|u| {
                    vec![
                        u.id.get().to_string(),
                        u.username.as_str().to_owned(),
                        u.email
                            .as_ref()
                            .map(|e| e.as_str().to_owned())
                            .unwrap_or_default(),
                        yes(u.verified),
                        yes(u.active),
                        day(u.date_joined),
                        u.last_login.map(day).unwrap_or_else(|| "never".into()),
                    ]
                })
                .collect();
            table(
                out,
                &[
                    "ID",
                    "USERNAME",
                    "EMAIL",
                    "VERIFIED",
                    "ACTIVE",
                    "JOINED",
                    "LAST LOGIN",
                ],
                &rows,
            )?;
        }
    }
    Ok(())
}

fn print_credentials(
    listed: &[CredentialInfo],
    format: Format,
    out: &mut dyn Write,
) -> Result<(), CommandError> {
    let kind = |c: &CredentialInfo| auth_core::credentials::kind_name(c.kind);
    match format {
        Format::Json => {
            let body: Vec<Value> = listed
                .iter()
                .map(|c| json!({"id": c.id, "kind": kind(c), "created": c.created_at.map(time)}))
                .collect();
            writeln!(out, "{}", Value::Array(body))?;
        }
        Format::Table => {
            let rows: Vec<Vec<String>> = listed
                .iter()
                .map(|c| {
                    vec![
                        c.id.clone(),
                        kind(c).to_owned(),
                        c.created_at
                            .and_then(|t| t.format(&Rfc3339).ok())
                            .unwrap_or_else(|| "unknown".into()),
                    ]
                })
                .collect();
            table(out, &["ID", "KIND", "CREATED"], &rows)?;
        }
    }
    Ok(())
}

fn done(format: Format, out: &mut dyn Write, body: Value, text: &str) -> Result<(), CommandError> {
    match format {
        Format::Json => writeln!(out, "{body}")?,
        Format::Table => writeln!(out, "{text}")?,
    }
    Ok(())
}

/// Columns padded to their widest cell.
fn table(out: &mut dyn Write, header: &[&str], rows: &[Vec<String>]) -> std::io::Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    writeln!(out, "{}", line(header.to_vec()))?;
    for row in rows {
        writeln!(out, "{}", line(row.iter().map(String::as_str).collect()))?;
    }
    Ok(())
}

/// A password from the terminal (asked twice, not echoed) or, when
/// standard input is not a terminal, its first line. Never from argv,
/// where every user of the machine could read it.
fn read_password(prompt: &str, twice: bool) -> Result<Password, CommandError> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(format!("{prompt}: "))?;
        if twice && rpassword::prompt_password(format!("{prompt} (again): "))? != first {
            return Err(CommandError::Usage("the passwords did not match".into()));
        }
        return nonempty(first);
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    nonempty(line.trim_end_matches(['\r', '\n']).to_owned())
}

fn nonempty(password: String) -> Result<Password, CommandError> {
    if password.is_empty() {
        return Err(CommandError::Usage(
            "no password: type one at the prompt or give it on standard input".into(),
        ));
    }
    Ok(Password::new(password))
}

/// `yes` typed at the terminal; false without a terminal.
fn confirm(question: &str) -> Result<bool, CommandError> {
    if !std::io::stdin().is_terminal() {
        return Ok(false);
    }
    eprint!("{question} Type yes to confirm: ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(answer.trim() == "yes")
}

/// The workflows over the plan's storage, for the commands.
pub async fn accounts(plan: &crate::Plan) -> Result<Accounts, crate::StartError> {
    let clock: std::sync::Arc<dyn auth_core::ports::Clock> =
        std::sync::Arc::new(auth_core::ports::SystemClock);
    Ok(crate::Wired::open(plan, clock, None).await?.accounts)
}
