//! The auth-server binary.
//!
//! The HTTP server is not built yet (see the project README's status
//! section): until it is, the binary says so and exits with status 2 rather
//! than pretend to serve.

use std::process::ExitCode;

fn main() -> ExitCode {
    eprintln!(
        "auth-server: the HTTP server is not built yet; this release provides the \
         auth-core library only (see README.md, \"Status\")."
    );
    ExitCode::from(2)
}
