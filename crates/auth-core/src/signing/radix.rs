//! Non-negative integers in Django's base 36 (`int_to_base36`) and base 62
//! (`signing.b62_encode`) spellings: digits first, then the letters.

/// Django's base 36 alphabet (lowercase).
pub(super) const BASE36: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";

/// Django's base 62 alphabet (`0-9A-Za-z`).
pub(super) const BASE62: &[u8; 62] =
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `n` in the base of `alphabet`, most significant digit first, no padding.
pub(super) fn encode(mut n: u64, alphabet: &[u8]) -> String {
    let base = alphabet.len() as u64;
    let mut digits = Vec::new();
    loop {
        // The remainder is below the alphabet's length by construction.
        digits.push(alphabet[(n % base) as usize]);
        n /= base;
        if n == 0 {
            break;
        }
    }
    digits.iter().rev().map(|&d| char::from(d)).collect()
}

/// The number `text` spells in the base of `alphabet`; `None` when it is
/// empty, holds a character outside the alphabet, or overflows 64 bits.
pub(super) fn decode(text: &str, alphabet: &[u8]) -> Option<u64> {
    if text.is_empty() {
        return None;
    }
    let base = alphabet.len() as u64;
    text.bytes().try_fold(0u64, |n, c| {
        let digit = alphabet.iter().position(|&a| a == c)? as u64;
        n.checked_mul(base)?.checked_add(digit)
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn django_spellings() {
        assert_eq!(encode(0, BASE36), "0");
        assert_eq!(encode(817_862_400, BASE36), "dixmo0");
        assert_eq!(encode(1_796_190_000, BASE62), "1xYd4S");
        assert_eq!(decode("dixmo0", BASE36), Some(817_862_400));
        assert_eq!(decode("", BASE36), None);
        assert_eq!(decode("DIXMO0", BASE36), None);
        assert_eq!(decode("-1", BASE62), None);
        assert_eq!(decode(&"z".repeat(14), BASE36), None);
    }

    proptest! {
        #[test]
        fn decode_inverts_encode(n in any::<u64>()) {
            prop_assert_eq!(decode(&encode(n, BASE36), BASE36), Some(n));
            prop_assert_eq!(decode(&encode(n, BASE62), BASE62), Some(n));
        }
    }
}
