//! The `uid` half of a Django reset or activation link: the user's primary
//! key as djoser spells it (URL-safe base64 of the decimal text,
//! djoser-api.md §4.1) or as allauth does (base 36, restauth-api.md §4.1).
//!
//! Decoding is as lenient as Django's, so that every link those apps mailed
//! still resolves: padding is optional, and the decoded text may carry the
//! whitespace and sign Python's `int()` accepts.

use base64::Engine as _;
use base64::alphabet::URL_SAFE;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, URL_SAFE_NO_PAD};

use super::radix::{self, BASE36};
use crate::domain::UserId;

/// Django's `urlsafe_base64_decode`: padding added when missing, accepted
/// when present.
const LENIENT_URL_SAFE: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// djoser's uid: `urlsafe_base64_encode(str(pk))` (1 → `MQ`).
pub fn to_base64(id: UserId) -> String {
    URL_SAFE_NO_PAD.encode(id.get().to_string())
}

/// The user a djoser uid names, or `None` when it is not URL-safe base64 of
/// UTF-8 text that Python's `int()` reads as a key.
pub fn from_base64(uid: &str) -> Option<UserId> {
    let bytes = LENIENT_URL_SAFE.decode(uid.trim()).ok()?;
    python_int(std::str::from_utf8(&bytes).ok()?, 10)
}

/// allauth's uid: `int_to_base36(pk)` (35 → `z`). A negative key, which no
/// store assigns, has no spelling and gives the empty string.
pub fn to_base36(id: UserId) -> String {
    u64::try_from(id.get())
        .map(|n| radix::encode(n, BASE36))
        .unwrap_or_default()
}

/// The user an allauth uid names (`base36_to_int`: at most 13 digits, any
/// letter case), or `None`.
pub fn from_base36(uid: &str) -> Option<UserId> {
    if uid.len() > 13 {
        return None;
    }
    python_int(uid, 36)
}

/// What Python's `int(text, base)` makes of `text`, for the non-negative
/// keys a store assigns: surrounding whitespace and a leading `+` allowed,
/// letters in either case.
fn python_int(text: &str, base: u32) -> Option<UserId> {
    let digits = text.trim();
    let digits = digits.strip_prefix('+').unwrap_or(digits);
    if digits.starts_with(['+', '-']) {
        return None;
    }
    let n = i64::from_str_radix(digits, base).ok()?;
    Some(UserId::new(n))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn djoser_spellings_from_the_api_document() {
        for (pk, uid) in [
            (1, "MQ"),
            (12, "MTI"),
            (42, "NDI"),
            (123, "MTIz"),
            (1000, "MTAwMA"),
            (99_999, "OTk5OTk"),
        ] {
            assert_eq!(to_base64(UserId::new(pk)), uid);
            assert_eq!(from_base64(uid), Some(UserId::new(pk)));
        }
    }

    #[test]
    fn djoser_decoding_is_as_lenient_as_djangos() {
        assert_eq!(from_base64("MQ=="), Some(UserId::new(1)));
        assert_eq!(
            from_base64(&URL_SAFE_NO_PAD.encode(" 7 ")),
            Some(UserId::new(7))
        );
        for bad in [
            "",
            "M",
            "!!",
            &URL_SAFE_NO_PAD.encode("1.0"),
            &URL_SAFE_NO_PAD.encode("x"),
        ] {
            assert_eq!(from_base64(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn allauth_spellings() {
        assert_eq!(to_base36(UserId::new(7)), "7");
        assert_eq!(to_base36(UserId::new(35)), "z");
        assert_eq!(to_base36(UserId::new(36)), "10");
        assert_eq!(from_base36("Z"), Some(UserId::new(35)));
        assert_eq!(from_base36(" 10 "), Some(UserId::new(36)));
        for bad in ["", "-1", "+-1", "1.0", "zzzzzzzzzzzzzz"] {
            assert_eq!(from_base36(bad), None, "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn both_spellings_round_trip(pk in 0i64..=i64::MAX) {
            let id = UserId::new(pk);
            prop_assert_eq!(from_base64(&to_base64(id)), Some(id));
            prop_assert_eq!(from_base36(&to_base36(id)), Some(id));
        }
    }
}
