//! E-mail addresses, validated like Django's `EmailValidator`.

use std::fmt;
use std::hash::{Hash, Hasher};

use serde::{Deserialize, Serialize};

/// A syntactically valid e-mail address, kept exactly as given (trimmed).
///
/// Equality and hashing ignore letter case, because mailboxes are, in
/// practice, case-insensitive. Where exact, case-sensitive matching is wanted
/// (the DRR profile), compare [`Email::as_str`] instead.
#[derive(Clone, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

/// Why a text is not an e-mail address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    /// The text does not have the shape of an address.
    #[error("Enter a valid email address.")]
    Invalid,
    /// Longer than the 254 characters a stored address may have.
    #[error("Ensure this field has no more than {max} characters.")]
    TooLong {
        /// The limit.
        max: usize,
    },
}

impl Email {
    /// Longest address stored (Django's `EmailField` and RFC 5321 path limit).
    pub const MAX_LEN: usize = 254;

    /// Validates `text` (surrounding whitespace is stripped first).
    pub fn parse(text: &str) -> Result<Self, EmailError> {
        let text = text.trim();
        if text.chars().count() > Self::MAX_LEN {
            return Err(EmailError::TooLong { max: Self::MAX_LEN });
        }
        if is_valid_address(text) {
            Ok(Self(text.to_owned()))
        } else {
            Err(EmailError::Invalid)
        }
    }

    /// The address as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The address with its domain lower-cased, as DRR stores it on
    /// registration (`Ann@EXAMPLE.COM` → `Ann@example.com`).
    pub fn with_lowercase_domain(&self) -> Self {
        match self.0.rsplit_once('@') {
            Some((local, domain)) => Self(format!("{local}@{}", domain.to_lowercase())),
            None => self.clone(),
        }
    }

    /// The address fully lower-cased: the key for case-insensitive lookups.
    pub fn canonical(&self) -> String {
        self.0.to_lowercase()
    }
}

impl PartialEq for Email {
    fn eq(&self, other: &Self) -> bool {
        self.canonical() == other.canonical()
    }
}

impl Eq for Email {}

impl Hash for Email {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.canonical().hash(state);
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Email({})", self.0)
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Email {
    type Error = EmailError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Email> for String {
    fn from(email: Email) -> Self {
        email.0
    }
}

/// Django's rule (`django.core.validators.EmailValidator`): at most 320
/// characters, a dot-atom or quoted local part, and a host name with a
/// top-level label, `localhost`, or an address literal.
fn is_valid_address(value: &str) -> bool {
    if value.is_empty() || value.chars().count() > 320 {
        return false;
    }
    let Some((local, domain)) = value.rsplit_once('@') else {
        return false;
    };
    valid_local_part(local)
        && (domain == "localhost" || valid_domain(domain) || valid_literal(domain))
}

fn valid_local_part(local: &str) -> bool {
    const ATOM_SPECIALS: &str = "-!#$%&'*+/=?^_`{}|~";
    let atom_char = |c: char| c.is_ascii_alphanumeric() || ATOM_SPECIALS.contains(c);
    let dot_atom = !local.is_empty()
        && local
            .split('.')
            .all(|atom| !atom.is_empty() && atom.chars().all(atom_char));
    dot_atom || valid_quoted_string(local)
}

fn valid_quoted_string(local: &str) -> bool {
    let Some(inner) = local.strip_prefix('"').and_then(|s| s.strip_suffix('"')) else {
        return false;
    };
    if local.len() < 2 {
        return false;
    }
    let plain = |c: char| matches!(c as u32, 0x01..=0x08 | 0x0b | 0x0c | 0x0e..=0x1f | 0x21 | 0x23..=0x5b | 0x5d..=0x7f);
    let escapable = |c: char| matches!(c as u32, 0x01..=0x09 | 0x0b | 0x0c | 0x0e..=0x7f);
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(next) if escapable(next) => {}
                _ => return false,
            }
        } else if !plain(c) {
            return false;
        }
    }
    true
}

/// Django's `ul` range: "Unicode letters" are simply U+00A1..=U+FFFF.
fn host_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || ('\u{a1}'..='\u{ffff}').contains(&c)
}

fn valid_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    let [first, middle @ .., tld] = labels.as_slice() else {
        return false;
    };
    if labels.len() < 2 {
        return false;
    }
    let hostname_ok = {
        let n = first.chars().count();
        (1..=63).contains(&n)
            && first.chars().all(|c| host_char(c) || c == '-')
            && !first.starts_with('-')
            && !first.ends_with('-')
    };
    let middle_ok = middle.iter().all(|label| {
        let n = label.chars().count();
        (1..=63).contains(&n)
            && label.chars().all(|c| host_char(c) || c == '-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    });
    let tld_ok = {
        let lower = tld.to_ascii_lowercase();
        let n = tld.chars().count();
        let letters = (2..=63).contains(&n)
            && tld.chars().all(|c| {
                c.is_ascii_alphabetic() || ('\u{a1}'..='\u{ffff}').contains(&c) || c == '-'
            });
        let punycode = lower.strip_prefix("xn--").is_some_and(|rest| {
            (1..=59).contains(&rest.len()) && rest.chars().all(|c| c.is_ascii_alphanumeric())
        });
        (letters || punycode) && !tld.starts_with('-') && !tld.ends_with('-')
    };
    hostname_ok && middle_ok && tld_ok
}

fn valid_literal(domain: &str) -> bool {
    let Some(inner) = domain.strip_prefix('[').and_then(|s| s.strip_suffix(']')) else {
        return false;
    };
    inner.parse::<std::net::IpAddr>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Both lists were checked against Django 5.2's own validate_email.
    #[test]
    fn accepts_ordinary_and_unusual_valid_addresses() {
        for ok in [
            "ann@example.com",
            "ann.lee+tag@mail.example.org",
            "\"quoted\"@example.com",
            "user@localhost",
            "user@[127.0.0.1]",
            "user@exämple.org",
            "x@xn--80ak6aa92e.com",
            "o'brien@example.ie",
        ] {
            assert!(Email::parse(ok).is_ok(), "{ok} should be valid");
        }
    }

    #[test]
    fn rejects_malformed_addresses() {
        for bad in [
            "",
            "not-an-email",
            "@example.com",
            "ann@",
            "ann@example",
            "ann@-example.com",
            "ann@example.c",
            "a..b@example.com",
            ".a@example.com",
            "ann@exa mple.com",
            "ann@[999.1.1.1]",
            "ann@example.com-",
            "zoë@example.org",
            "a@b.c0m",
            "a@sub-.example.com",
            "\"quoted name\"@example.com",
        ] {
            assert_eq!(
                Email::parse(bad),
                Err(EmailError::Invalid),
                "{bad:?} should be invalid"
            );
        }
    }

    #[test]
    fn strips_whitespace_and_limits_length() {
        assert_eq!(
            Email::parse("  ann@example.com ").unwrap().as_str(),
            "ann@example.com"
        );
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(Email::parse(&long), Err(EmailError::TooLong { max: 254 }));
    }

    #[test]
    fn equality_ignores_case_but_text_is_kept() {
        let a = Email::parse("Ann@Example.COM").unwrap();
        let b = Email::parse("ann@example.com").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.as_str(), "Ann@Example.COM");
        assert_eq!(a.with_lowercase_domain().as_str(), "Ann@example.com");
        assert_eq!(a.canonical(), "ann@example.com");
    }
}
