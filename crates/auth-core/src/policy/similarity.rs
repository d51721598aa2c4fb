//! Django's `UserAttributeSimilarityValidator`.

use std::collections::HashMap;

use super::UserAttributes;

pub(super) const DEFAULT_MAX_SIMILARITY: f64 = 0.7;

/// The verbose name of the first attribute `password` is too similar to.
pub(super) fn too_similar(
    password: &str,
    user: &UserAttributes<'_>,
    max_similarity: f64,
) -> Option<&'static str> {
    let password = password.to_lowercase();
    let attributes = [
        ("username", user.username),
        ("first name", user.first_name),
        ("last name", user.last_name),
        ("email address", user.email),
    ];
    attributes.into_iter().find_map(|(verbose, value)| {
        if value.is_empty() {
            return None;
        }
        let value = value.to_lowercase();
        // re.split(r"\W+", value) + [value]
        let mut parts: Vec<&str> = value
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .collect();
        parts.dedup_by(|a, b| a.is_empty() && b.is_empty());
        parts.push(&value);
        parts
            .into_iter()
            .filter(|part| !exceeds_maximum_length_ratio(&password, max_similarity, part))
            .any(|part| quick_ratio(&password, part) >= max_similarity)
            .then_some(verbose)
    })
}

/// Django's shortcut: a part far shorter than the password cannot be similar.
fn exceeds_maximum_length_ratio(password: &str, max_similarity: f64, value: &str) -> bool {
    let pwd_len = password.chars().count();
    let value_len = value.chars().count();
    let length_bound_similarity = max_similarity / 2.0 * pwd_len as f64;
    pwd_len >= 10 * value_len && (value_len as f64) < length_bound_similarity
}

/// Python's `SequenceMatcher(a, b).quick_ratio()`: `2·M / (|a| + |b|)` with
/// M the size of the multiset intersection of the characters.
fn quick_ratio(a: &str, b: &str) -> f64 {
    let total = a.chars().count() + b.chars().count();
    if total == 0 {
        return 1.0;
    }
    let mut available: HashMap<char, usize> = HashMap::new();
    for c in b.chars() {
        *available.entry(c).or_default() += 1;
    }
    let matches = a
        .chars()
        .filter(|c| match available.get_mut(c) {
            Some(n) if *n > 0 => {
                *n -= 1;
                true
            }
            _ => false,
        })
        .count();
    2.0 * matches as f64 / total as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quick_ratio_matches_python() {
        // Values from CPython's difflib.SequenceMatcher(a=…, b=…).quick_ratio().
        assert_eq!(quick_ratio("abcd", "bcde"), 0.75);
        assert_eq!(quick_ratio("aab", "abb"), 2.0 * 2.0 / 6.0);
        assert_eq!(quick_ratio("", ""), 1.0);
    }

    #[test]
    fn short_parts_of_a_long_password_are_skipped() {
        let user = UserAttributes {
            first_name: "Al",
            ..Default::default()
        };
        assert_eq!(
            too_similar("al-and-twenty-more-characters", &user, 0.7),
            None
        );
    }
}
