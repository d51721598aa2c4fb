//! The common-password blocklist.

use std::collections::HashSet;
use std::sync::Arc;

/// Django's list of 20 000 common passwords (BSD licence, see
/// `data/DJANGO-LICENSE`), lower-cased, one per line.
const DJANGO_LIST: &str = include_str!("../../data/common-passwords.txt");

/// A set of refused passwords, compared lower-cased and trimmed (as Django).
/// Cheap to clone: the set is shared.
#[derive(Debug, Clone)]
pub struct CommonPasswords(Arc<HashSet<String>>);

impl CommonPasswords {
    /// Django's own list.
    pub fn django() -> Self {
        Self::from_lines(DJANGO_LIST)
    }

    /// A list from text, one password per line (blank lines ignored).
    pub fn from_lines(text: &str) -> Self {
        let set = text
            .lines()
            .map(|line| line.trim().to_lowercase())
            .filter(|line| !line.is_empty())
            .collect();
        Self(Arc::new(set))
    }

    /// Whether `password` is on the list.
    pub fn contains(&self, password: &str) -> bool {
        self.0.contains(&password.to_lowercase().trim().to_owned())
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ships_djangos_list() {
        let list = CommonPasswords::django();
        assert!(list.len() > 19_000, "{}", list.len());
        assert!(list.contains("password") && list.contains("QWERTY"));
        assert!(!list.contains("a long unusual passphrase"));
    }
}
