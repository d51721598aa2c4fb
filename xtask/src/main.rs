//! Project tasks: `cargo xtask test` (the whole test suite) and
//! `cargo xtask ci` (format, lint, then the whole test suite).

use std::process::Command;

use anyhow::{Context, Result, bail};

const USAGE: &str = "usage: cargo xtask <test|ci> [extra test-runner arguments]

  test   run every test of the workspace (nextest when installed, else
         cargo test), then the doctests
  ci     cargo fmt --check, clippy with warnings denied, then `test`";

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let task = args.next().unwrap_or_default();
    let rest: Vec<String> = args.collect();
    match task.as_str() {
        "test" => test(&rest),
        "ci" => {
            cargo(&["fmt", "--all", "--", "--check"])?;
            cargo(&[
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ])?;
            test(&rest)
        }
        "" | "help" | "-h" | "--help" => {
            println!("{USAGE}");
            Ok(())
        }
        other => bail!("unknown task `{other}`\n{USAGE}"),
    }
}

fn test(extra: &[String]) -> Result<()> {
    // Doctests first (nextest does not run them; the crate READMEs are
    // doctests), so the run closes on the main runner's summary.
    cargo(&["test", "--workspace", "--doc"])?;
    let nextest = Command::new("cargo")
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|out| out.status.success());
    let mut args: Vec<&str> = if nextest {
        let profile = if std::env::var("CI").is_ok_and(|v| v == "true") {
            "ci"
        } else {
            "default"
        };
        vec!["nextest", "run", "--workspace", "--profile", profile]
    } else {
        eprintln!("xtask: cargo-nextest not found, using cargo test");
        vec!["test", "--workspace", "--lib", "--bins", "--tests"]
    };
    args.extend(extra.iter().map(String::as_str));
    cargo(&args)
}

fn cargo(args: &[&str]) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(&cargo)
        .args(args)
        .status()
        .with_context(|| format!("could not run {cargo}"))?;
    if !status.success() {
        bail!("`cargo {}` failed ({status})", args.join(" "));
    }
    Ok(())
}
