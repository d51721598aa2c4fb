//! Usernames, validated like Django's `UnicodeUsernameValidator`.

use std::fmt;

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

/// A valid username: 1–150 letters, digits and `@ . + - _`, NFKC-normalised.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Username(String);

/// Why a text is not a username.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsernameError {
    /// A character outside letters, digits and `@ . + - _`, or empty.
    #[error(
        "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters."
    )]
    Invalid,
    /// More than 150 characters.
    #[error("Ensure this field has no more than {max} characters.")]
    TooLong {
        /// The limit.
        max: usize,
    },
}

impl Username {
    /// Longest username (Django's `AbstractUser.username`).
    pub const MAX_LEN: usize = 150;

    /// Validates `text` (surrounding whitespace stripped), then normalises it
    /// to NFKC as Django does before saving.
    pub fn parse(text: &str) -> Result<Self, UsernameError> {
        let text = text.trim();
        if text.chars().count() > Self::MAX_LEN {
            return Err(UsernameError::TooLong { max: Self::MAX_LEN });
        }
        // Python's `\w` is "alphanumeric or underscore" in the Unicode sense.
        let allowed = |c: char| c.is_alphanumeric() || "_@.+-".contains(c);
        if text.is_empty() || !text.chars().all(allowed) {
            return Err(UsernameError::Invalid);
        }
        Ok(Self(text.nfkc().collect()))
    }

    /// The username.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Username({})", self.0)
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Username {
    type Error = UsernameError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Username> for String {
    fn from(name: Username) -> Self {
        name.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_letters_digits_and_the_five_symbols() {
        for ok in ["ann", "ann.lee@x+y-z_1", "Zoë", "名前", "42"] {
            assert!(Username::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn rejects_spaces_punctuation_and_empty() {
        for bad in ["bad name!", "", "   ", "a/b", "semi;colon"] {
            assert_eq!(Username::parse(bad), Err(UsernameError::Invalid), "{bad:?}");
        }
    }

    #[test]
    fn limits_length_and_normalises_to_nfkc() {
        assert_eq!(
            Username::parse(&"a".repeat(151)),
            Err(UsernameError::TooLong { max: 150 })
        );
        assert!(Username::parse(&"a".repeat(150)).is_ok());
        // U+FB01 (the "fi" ligature) becomes "fi" under NFKC.
        assert_eq!(Username::parse("\u{fb01}le").unwrap().as_str(), "file");
    }
}
