//! Python virtual environments from the package registry, made once and
//! cached under `target/venv/`, for the tests that need real Django.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace's root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// The interpreter of a virtual environment with `requirements` (a file
/// of the workspace) installed, made if missing or out of date. `None`
/// (the caller skips) when it cannot be made outside CI; under `CI=true`
/// that is a failure.
pub fn python(name: &str, requirements: &Path) -> Option<PathBuf> {
    let wanted = std::fs::read_to_string(requirements).expect("requirements file");
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root().join("target"));
    let home = target.join("venv");
    let dir = home.join(name);
    let marker = |dir: &Path| dir.join("installed-requirements.txt");
    let current = |dir: &Path| std::fs::read_to_string(marker(dir)).is_ok_and(|had| had == wanted);
    std::fs::create_dir_all(&home).unwrap();
    // One test process builds at a time; the others wait on the lock and
    // then find the environment made. Without it a late builder replaced
    // an environment another process was still importing from.
    let lock = std::fs::File::create(home.join(format!("{name}.lock"))).unwrap();
    lock.lock().unwrap();
    if current(&dir) {
        return Some(dir.join("bin/python"));
    }
    // Built aside and renamed into place, so an interrupted build never
    // leaves half an environment behind a current-looking marker.
    let building = home.join(format!("{name}.building"));
    let _ = std::fs::remove_dir_all(&building);
    let made = run(Command::new("python3").arg("-m").arg("venv").arg(&building)).and_then(|()| {
        run(Command::new(building.join("bin/python"))
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
            ])
            .arg(requirements))
    });
    if let Err(reason) = made {
        let _ = std::fs::remove_dir_all(&building);
        assert!(
            !in_ci(),
            "CI=true but the {name} virtual environment cannot be made: {reason}"
        );
        eprintln!("skipped: cannot make the {name} virtual environment: {reason}");
        return None;
    }
    std::fs::write(marker(&building), &wanted).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::rename(&building, &dir).unwrap();
    Some(dir.join("bin/python"))
}

fn run(command: &mut Command) -> Result<(), String> {
    let output = command.output().map_err(|e| e.to_string())?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{:?} exited with {}: {}",
            command,
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}
