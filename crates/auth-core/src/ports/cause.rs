//! The underlying error of a port failure, kept whole for the log.

use std::error::Error;
use std::fmt;
use std::sync::Arc;

/// What made an adapter fail: the driver's error itself (with its own
/// chain of sources), or a message where there is no error value. Cheap to
/// clone; two causes are equal when they read the same, so port errors stay
/// comparable in tests.
#[derive(Clone)]
pub struct Cause(Arc<dyn Error + Send + Sync>);

/// A failure described only by text.
#[derive(Debug)]
struct Message(String);

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Error for Message {}

impl Cause {
    /// Keeps `error` as the cause.
    pub fn new(error: impl Error + Send + Sync + 'static) -> Self {
        Self(Arc::new(error))
    }

    /// A cause that is only a message.
    pub fn msg(text: impl Into<String>) -> Self {
        Self(Arc::new(Message(text.into())))
    }
}

impl From<String> for Cause {
    fn from(text: String) -> Self {
        Self::msg(text)
    }
}

impl From<&str> for Cause {
    fn from(text: &str) -> Self {
        Self::msg(text)
    }
}

impl fmt::Debug for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl Error for Cause {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.0.source()
    }
}

impl PartialEq for Cause {
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}

impl Eq for Cause {}

/// An error and its sources on one line, outermost first
/// (`user store unavailable: connection refused`): for logs and for the
/// outbox's last-error column.
pub fn report(error: &(dyn Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] Cause);

    #[test]
    fn the_report_walks_the_whole_chain() {
        let io = std::io::Error::other("connection refused");
        let error = Outer(Cause::new(io));
        assert_eq!(report(&error), "outer: connection refused");
        assert_eq!(Cause::msg("a"), Cause::from("a"));
    }
}
