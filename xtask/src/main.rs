//! Project tasks: `cargo xtask test` (the whole test suite) and
//! `cargo xtask ci` (format, lint, then the whole test suite).

use std::process::Command;

use anyhow::{Context, Result, bail};

mod schemathesis;

const USAGE: &str =
    "usage: cargo xtask <test|ci|conformance|schemathesis|bench|fuzz|services> [extra arguments]

  test         run every test of the workspace (nextest when installed, else
               cargo test), then the doctests
  ci           cargo fmt --check, clippy with warnings denied, every
               `conformance` suite, then `test` (what .ci/run does)
  conformance  [drr|djoser|restauth] build auth-server and run that app's
               suite (../shared/conformance, ../shared/conformance-djoser,
               ../shared/conformance-restauth; default drr) against it
               (extra arguments go to pytest)
  schemathesis [SECONDS]: the release server on SQLite, then on PostgreSQL
               + Redis (when they answer; required under CI=true), fuzzed by
               schemathesis (PyPI, venv cached in target/) through its
               /openapi.json with every check, SECONDS per backend
               (default 60); fails on any 5xx, any answer the document
               does not allow, or a crash (reports in target/schemathesis)
  bench        [enumeration|import|load [--quick]] (default: the first
               two), release build:
               enumeration times known vs unknown accounts on login,
               send-reset-password-link and register (report in
               target/bench/enumeration.md; fails beyond 10 % / 15 %);
               import times import-django of 100 000 users and tokens
               (target/bench/import.md; fails at 30 s or more);
               load drives the release server with wrk (apt-get install
               wrk) beside a minimal axum route and the argon2id ceiling,
               on SQLite and PostgreSQL + Redis (target/bench/load.md and
               load.svg; fails when a goal of issue 12 is missed;
               --quick: a few seconds per scenario, no million-user run;
               UPDATE_DOCS=1 on a full run rewrites docs/operations.md's
               measured sizing)
  fuzz         TARGET [SECONDS]: run a cargo-fuzz target (link,
               json_bodies) for SECONDS (default 600) on its committed
               corpus; needs `cargo install cargo-fuzz`
  services     start|stop [DIR]: throwaway PostgreSQL and Redis on ports
               55432/56379 (default DIR: target/services); prints the
               DATABASE_URL and REDIS_URL the tests read";

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
                "--all-features",
                "--",
                "-D",
                "warnings",
            ])?;
            for suite in SUITES {
                conformance(&[suite.to_owned()])?;
            }
            test(&rest)
        }
        "conformance" => conformance(&rest),
        "schemathesis" => schemathesis::run(&project_root()?, &rest),
        "bench" => bench(&rest),
        "fuzz" => fuzz(&rest),
        "services" => services(&rest),
        "" | "help" | "-h" | "--help" => {
            println!("{USAGE}");
            Ok(())
        }
        other => bail!("unknown task `{other}`\n{USAGE}"),
    }
}

/// The benches named in `which` (all when empty), one after the other.
fn bench(which: &[String]) -> Result<()> {
    const BENCHES: [&str; 3] = ["enumeration", "import", "load"];
    let quick = which.iter().any(|a| a == "--quick");
    let named: Vec<&str> = which
        .iter()
        .map(String::as_str)
        .filter(|a| *a != "--quick")
        .collect();
    // `load` is asked for by name: it takes minutes and wants wrk.
    let chosen: Vec<&str> = if named.is_empty() {
        vec!["enumeration", "import"]
    } else {
        named
    };
    for name in chosen {
        if !BENCHES.contains(&name) {
            bail!("unknown bench `{name}`; there are: {}", BENCHES.join(", "));
        }
        if name == "load" {
            load_bench(quick)?;
        } else {
            cargo(&["bench", "--package", "auth-e2e", "--bench", name])?;
        }
    }
    Ok(())
}

/// The load bench against the release server, which it builds first.
fn load_bench(quick: bool) -> Result<()> {
    cargo(&["build", "--release", "--package", "auth-server"])?;
    let root = project_root()?;
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| root.join("target"));
    let status = Command::new("cargo")
        .args(["bench", "--package", "auth-e2e", "--bench", "load"])
        .env("AUTH_SERVER_BIN", target.join("release/auth-server"))
        .env("LOAD_MODE", if quick { "quick" } else { "full" })
        .current_dir(&root)
        .status()
        .context("could not run cargo bench")?;
    if !status.success() {
        bail!("the load bench failed ({status}); see target/bench/load.md");
    }
    Ok(())
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

/// Runs one fuzz target for a while. cargo-fuzz wants a nightly compiler;
/// RUSTC_BOOTSTRAP lets this machine's one stable toolchain stand in.
fn fuzz(args: &[String]) -> Result<()> {
    let Some(target) = args.first() else {
        bail!("usage: cargo xtask fuzz <link|json_bodies> [SECONDS]");
    };
    let seconds = args.get(1).map_or("600", String::as_str);
    let root = project_root()?;
    let status = Command::new("cargo")
        .args([
            "fuzz",
            "run",
            "--fuzz-dir",
            "crates/auth-fuzz",
            "-O",
            target,
            "--",
        ])
        .arg(format!("-max_total_time={seconds}"))
        .args(["-max_len=2048", "-rss_limit_mb=4096"])
        .env("RUSTC_BOOTSTRAP", "1")
        .current_dir(&root)
        .status()
        .context("could not run cargo fuzz (cargo install cargo-fuzz)")?;
    if !status.success() {
        bail!("fuzz target {target} failed ({status}); see crates/auth-fuzz/artifacts/{target}");
    }
    Ok(())
}

/// The conformance suites, by the name `conformance` takes.
const SUITES: [&str; 3] = ["drr", "djoser", "restauth"];

/// Runs a conformance suite (kept outside the project, in `../shared/`)
/// against a freshly built server: DRR's, or the app's the first argument
/// names (`djoser`, `restauth`).
fn conformance(extra: &[String]) -> Result<()> {
    let root = project_root()?;
    let (dir, extra) = match extra.first().map(String::as_str) {
        Some("djoser") => ("conformance-djoser", &extra[1..]),
        Some("restauth" | "rest-auth") => ("conformance-restauth", &extra[1..]),
        Some("drr") => ("conformance", &extra[1..]),
        _ => ("conformance", extra),
    };
    let suite = root.join("../shared").join(dir);
    if !suite.join("run.sh").is_file() {
        bail!("no conformance suite at {}", suite.display());
    }
    cargo(&["build", "--package", "auth-server"])?;
    let python = match std::env::var("CONFORMANCE_PYTHON") {
        Ok(python) => python,
        Err(_) => {
            // setup.sh makes (or refreshes) the venv and prints CONFORMANCE_PYTHON=…
            // Each suite's venv is cached under target/, beside the build.
            let out = Command::new("bash")
                .arg(suite.join("setup.sh"))
                .env(
                    "CONFORMANCE_VENV",
                    root.join("target/conformance-venv").join(dir),
                )
                .output()
                .context("could not run the suite's setup.sh")?;
            if !out.status.success() {
                bail!("setup.sh failed: {}", String::from_utf8_lossy(&out.stderr));
            }
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .find_map(|l| l.strip_prefix("CONFORMANCE_PYTHON=").map(str::to_owned))
                .context("setup.sh printed no CONFORMANCE_PYTHON")?
        }
    };
    let status = Command::new("bash")
        .arg(suite.join("run.sh"))
        .arg("auth-server")
        .args(extra)
        .env("CONFORMANCE_PYTHON", python)
        .env("AUTH_SERVER_BIN", root.join("target/debug/auth-server"))
        .status()
        .context("could not run the conformance suite")?;
    if !status.success() {
        bail!("the conformance suite failed ({status})");
    }
    Ok(())
}

/// Starts or stops throwaway services with `xtask/services.sh`.
fn services(args: &[String]) -> Result<()> {
    let root = project_root()?;
    let action = args.first().map(String::as_str).unwrap_or("start");
    let dir = args
        .get(1)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root.join("target/services"));
    if action == "start" && dir.join("pg").exists() {
        bail!(
            "{} already holds services; `cargo xtask services stop` first, or remove it",
            dir.display()
        );
    }
    let status = Command::new("bash")
        .arg(root.join("xtask/services.sh"))
        .arg(action)
        .arg(&dir)
        .status()
        .context("could not run xtask/services.sh")?;
    if !status.success() {
        bail!("services.sh {action} failed ({status})");
    }
    if action == "stop" {
        std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
    } else {
        println!("export the two lines above, then `cargo xtask test`");
    }
    Ok(())
}

fn project_root() -> Result<std::path::PathBuf> {
    let manifest = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .map(std::path::Path::to_path_buf)
        .context("xtask has no parent folder")
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
