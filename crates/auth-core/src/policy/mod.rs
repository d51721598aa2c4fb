//! Password policy: Django's four default validators, in Django's order,
//! each failing one contributing a message with a stable code.

mod common;
mod similarity;

pub use common::CommonPasswords;

use crate::domain::Password;

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyViolation {
    /// Stable machine code (Django's): `password_too_similar`,
    /// `password_too_short`, `password_too_common`, `password_entirely_numeric`.
    pub code: &'static str,
    /// Django's English message.
    pub message: String,
}

/// The user attributes a password must not resemble.
#[derive(Debug, Clone, Copy, Default)]
pub struct UserAttributes<'a> {
    /// Login name.
    pub username: &'a str,
    /// Given name.
    pub first_name: &'a str,
    /// Family name.
    pub last_name: &'a str,
    /// Address, if any.
    pub email: &'a str,
}

/// The configured validators.
#[derive(Debug, Clone)]
pub struct PasswordPolicy {
    /// Minimum length in code points (Django: 8). `0` turns the check off.
    pub min_length: usize,
    /// Similarity threshold (Django: 0.7); `None` turns the check off.
    pub max_similarity: Option<f64>,
    /// The blocklist; `None` turns the check off.
    pub common: Option<CommonPasswords>,
    /// Refuse all-digit passwords (Django: yes).
    pub reject_numeric: bool,
    /// Refuse passwords that contain the username, the address's local
    /// part or one of these words (the service's name…), ignoring case;
    /// `None` turns the check off (Django has no such validator).
    pub context_words: Option<Vec<String>>,
}

/// Context words shorter than this are ignored: "ann" must not forbid
/// "planning".
const MIN_CONTEXT_WORD: usize = 4;

impl PasswordPolicy {
    /// Django's `AUTH_PASSWORD_VALIDATORS` of a new project: similarity 0.7,
    /// minimum length 8, the 20 000 common passwords, not all digits.
    pub fn django_default() -> Self {
        Self {
            min_length: 8,
            max_similarity: Some(similarity::DEFAULT_MAX_SIMILARITY),
            common: Some(CommonPasswords::django()),
            reject_numeric: true,
            context_words: None,
        }
    }

    /// Our default, after NIST SP 800-63B-4 and ASVS 5: Django's rules
    /// without the composition rule against all-digit passwords, plus a
    /// check against the user's own names and `context_words`.
    pub fn safe(context_words: Vec<String>) -> Self {
        Self {
            reject_numeric: false,
            context_words: Some(context_words),
            ..Self::django_default()
        }
    }

    /// No rule at all (for sites that validate elsewhere, and for tests).
    pub fn none() -> Self {
        Self {
            min_length: 0,
            max_similarity: None,
            common: None,
            reject_numeric: false,
            context_words: None,
        }
    }

    /// Every broken rule, in Django's order: similarity, length, common,
    /// numeric. Empty when the password is acceptable.
    pub fn check(&self, password: &Password, user: &UserAttributes<'_>) -> Vec<PolicyViolation> {
        let pw = password.expose();
        let mut violations = Vec::new();
        if let Some(max) = self.max_similarity
            && let Some(attribute) = similarity::too_similar(pw, user, max)
        {
            violations.push(PolicyViolation {
                code: "password_too_similar",
                message: format!("The password is too similar to the {attribute}."),
            });
        }
        if let Some(words) = &self.context_words
            && let Some(word) = contained_context(pw, user, words)
        {
            violations.push(PolicyViolation {
                code: "password_contains_context",
                message: format!("The password must not contain \"{word}\"."),
            });
        }
        if pw.chars().count() < self.min_length {
            let plural = if self.min_length == 1 { "" } else { "s" };
            violations.push(PolicyViolation {
                code: "password_too_short",
                message: format!(
                    "This password is too short. It must contain at least {} character{plural}.",
                    self.min_length
                ),
            });
        }
        if let Some(common) = &self.common
            && common.contains(pw)
        {
            violations.push(PolicyViolation {
                code: "password_too_common",
                message: "This password is too common.".into(),
            });
        }
        // Python's str.isdigit(): non-empty and every character a digit.
        if self.reject_numeric && !pw.is_empty() && pw.chars().all(char::is_numeric) {
            violations.push(PolicyViolation {
                code: "password_entirely_numeric",
                message: "This password is entirely numeric.".into(),
            });
        }
        violations
    }
}

/// The first context word `password` contains, ignoring case.
fn contained_context(
    password: &str,
    user: &UserAttributes<'_>,
    words: &[String],
) -> Option<String> {
    let password = password.to_lowercase();
    let local_part = user.email.split('@').next().unwrap_or_default();
    [user.username, local_part]
        .into_iter()
        .chain(words.iter().map(String::as_str))
        .map(str::to_lowercase)
        .filter(|word| word.chars().count() >= MIN_CONTEXT_WORD)
        .find(|word| password.contains(word.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(policy: &PasswordPolicy, pw: &str, user: &UserAttributes<'_>) -> Vec<&'static str> {
        policy
            .check(&Password::new(pw), user)
            .into_iter()
            .map(|v| v.code)
            .collect()
    }

    #[test]
    fn short_common_numeric_password_breaks_three_rules() {
        let policy = PasswordPolicy::django_default();
        assert_eq!(
            codes(&policy, "123", &UserAttributes::default()),
            [
                "password_too_short",
                "password_too_common",
                "password_entirely_numeric"
            ]
        );
    }

    #[test]
    fn good_passphrase_passes() {
        let policy = PasswordPolicy::django_default();
        let user = UserAttributes {
            username: "ann",
            email: "ann@example.com",
            ..Default::default()
        };
        assert!(codes(&policy, "correct horse battery staple", &user).is_empty());
    }

    #[test]
    fn similarity_to_username_is_reported_first_with_verbose_name() {
        let policy = PasswordPolicy::django_default();
        let user = UserAttributes {
            username: "margaret_h",
            ..Default::default()
        };
        let v = policy.check(&Password::new("margaret_h9"), &user);
        assert_eq!(v[0].code, "password_too_similar");
        assert_eq!(v[0].message, "The password is too similar to the username.");
    }

    #[test]
    fn similarity_uses_email_parts_and_names() {
        let policy = PasswordPolicy::django_default();
        let user = UserAttributes {
            email: "wolfgang.amadeus@example.com",
            ..Default::default()
        };
        assert_eq!(
            policy.check(&Password::new("Amadeus!!"), &user)[0].message,
            "The password is too similar to the email address."
        );
        let user = UserAttributes {
            last_name: "Stravinsky",
            ..Default::default()
        };
        assert_eq!(
            policy.check(&Password::new("stravinsky1"), &user)[0].message,
            "The password is too similar to the last name."
        );
    }

    #[test]
    fn length_counts_code_points() {
        let policy = PasswordPolicy::django_default();
        assert!(codes(&policy, "🦀🦀🦀🦀🦀🦀🦀🦀", &UserAttributes::default()).is_empty());
        assert_eq!(
            codes(&policy, "🦀🦀🦀🦀🦀🦀🦀", &UserAttributes::default()),
            ["password_too_short"]
        );
    }

    #[test]
    fn common_check_ignores_case_and_surrounding_space() {
        let policy = PasswordPolicy::django_default();
        assert_eq!(
            codes(&policy, " PassWord1 ", &UserAttributes::default()),
            ["password_too_common"]
        );
    }

    #[test]
    fn none_policy_accepts_anything() {
        assert!(codes(&PasswordPolicy::none(), "1", &UserAttributes::default()).is_empty());
    }

    #[test]
    fn safe_policy_allows_digits_but_refuses_the_users_names_and_context_words() {
        let policy = PasswordPolicy::safe(vec!["Acme".into()]);
        let alice = UserAttributes {
            username: "alice",
            email: "a.smith@example.org",
            ..UserAttributes::default()
        };
        assert!(codes(&policy, "8405716629301745", &alice).is_empty());
        for password in ["alice-portal-2024", "my-ACME-password", "a.smith is me!"] {
            assert_eq!(
                codes(&policy, password, &alice),
                ["password_contains_context"],
                "{password}"
            );
        }
        let ann = UserAttributes {
            username: "ann",
            ..UserAttributes::default()
        };
        assert!(codes(&policy, "planning a long trip", &ann).is_empty());
    }
}
