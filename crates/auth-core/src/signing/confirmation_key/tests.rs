//! allauth's confirmation key, pinned by the vectors of restauth-api.md §4.2
//! and stated as properties.

use proptest::prelude::*;

use super::*;

const KEY: &str = "example-secret-key-for-vectors";
const THREE_DAYS: Duration = Duration::days(3);

fn signer() -> ConfirmationKeySigner {
    ConfirmationKeySigner::new(vec![SecretKey::new(KEY).unwrap()]).unwrap()
}

fn at(ts: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(ts).unwrap()
}

#[test]
fn restauth_vectors() {
    for (pk, ts, expected) in [
        (
            1,
            1_796_190_000,
            "MQ:1xYd4S:101SxYmVGpG1oL1tXrLNv3oiemz9t2074q_0FAhqxcw",
        ),
        (
            42,
            1_796_190_000,
            "NDI:1xYd4S:EZvY_DbT-qtg3lCMjz6i3ZJpzHqexVSeyuAbPIMaHBY",
        ),
        (
            12_345,
            1_800_000_000,
            "MTIzNDU:1xocE4:_3nFuA3kBCZrFGTh5Wy8NDubNSF0HYjvgcPzen3CTNo",
        ),
    ] {
        assert_eq!(signer().make(pk, at(ts)), expected);
        assert_eq!(signer().open(expected, at(ts), THREE_DAYS), Ok(pk));
    }
}

#[test]
fn the_key_is_case_sensitive_and_must_have_three_parts() {
    let key = "MQ:1xYd4S:101SxYmVGpG1oL1tXrLNv3oiemz9t2074q_0FAhqxcw";
    let now = at(1_796_190_000);
    for bad in [
        "",
        "MQ",
        "MQ:1xYd4S",
        &key.to_lowercase(),
        &key.to_uppercase(),
        &format!("{key}:"),
    ] {
        assert_eq!(
            signer().open(bad, now, THREE_DAYS),
            Err(ConfirmationKeyError::Invalid),
            "{bad:?}"
        );
    }
}

#[test]
fn signed_text_of_another_shape_is_refused() {
    // What Django's `Signer("account")` (no timestamp) or a signed string
    // object would give under the same key: a good signature, not our key.
    let s = signer();
    let sign = |value: &str| {
        let sig = URL_SAFE_NO_PAD.encode(mac(
            &SecretKey::new(KEY).unwrap(),
            &Salt::allauth_account(),
            value.as_bytes(),
        ));
        format!("{value}:{sig}")
    };
    let now = at(1_796_190_000);
    for value in [
        "MQ",
        "MQ:-1",
        "MQ:!!",
        &format!("{}:1xYd4S", URL_SAFE_NO_PAD.encode("\"1\"")),
        "Kg:1xYd4S",
    ] {
        assert_eq!(
            s.open(&sign(value), now, THREE_DAYS),
            Err(ConfirmationKeyError::Invalid),
            "{value:?}"
        );
    }
}

fn secret() -> impl Strategy<Value = SecretKey> {
    "[ -~]{1,64}".prop_map(|k| SecretKey::new(k).unwrap())
}

fn instant() -> impl Strategy<Value = OffsetDateTime> {
    (0i64..4_000_000_000, 0u32..1_000_000_000)
        .prop_map(|(s, n)| at(s) + Duration::nanoseconds(n.into()))
}

proptest! {
    #[test]
    fn make_then_open_round_trips(pk in any::<i64>(), k in secret(), now in instant()) {
        let s = ConfirmationKeySigner::new(vec![k]).unwrap();
        let key = s.make(pk, now);
        prop_assert_eq!(key.rsplit_once(':').map(|(_, sig)| sig.len()), Some(43));
        prop_assert_eq!(s.open(&key, now, THREE_DAYS), Ok(pk));
    }

    #[test]
    fn changing_any_character_invalidates(pk in any::<i64>(), now in instant(), pos in 0usize..80, c in "[A-Za-z0-9_:-]") {
        let s = signer();
        let key = s.make(pk, now);
        let mut chars: Vec<char> = key.chars().collect();
        let pos = pos % chars.len();
        let replacement = c.chars().next().unwrap();
        prop_assume!(chars[pos] != replacement);
        chars[pos] = replacement;
        let tampered: String = chars.into_iter().collect();
        prop_assert_eq!(s.open(&tampered, now, THREE_DAYS), Err(ConfirmationKeyError::Invalid));
    }

    #[test]
    fn another_address_has_another_key(a in any::<i64>(), b in any::<i64>(), now in instant()) {
        prop_assume!(a != b);
        prop_assert_ne!(signer().make(a, now), signer().make(b, now));
    }

    #[test]
    fn expiry_is_exactly_at_the_maximum_age(pk in any::<i64>(), made in instant(), age_s in 0i64..10_000_000) {
        let s = signer();
        let key = s.make(pk, made);
        let signed_at = made.replace_nanosecond(0).unwrap();
        let max_age = Duration::seconds(age_s);
        prop_assert_eq!(s.open(&key, signed_at + max_age, max_age), Ok(pk));
        prop_assert_eq!(
            s.open(&key, signed_at + max_age + Duration::NANOSECOND, max_age),
            Err(ConfirmationKeyError::Expired)
        );
    }

    #[test]
    fn another_key_invalidates(pk in any::<i64>(), now in instant(), k1 in secret(), k2 in secret()) {
        prop_assume!(k1.bytes() != k2.bytes());
        let key = ConfirmationKeySigner::new(vec![k1]).unwrap().make(pk, now);
        let other = ConfirmationKeySigner::new(vec![k2]).unwrap();
        prop_assert_eq!(other.open(&key, now, THREE_DAYS), Err(ConfirmationKeyError::Invalid));
    }

    #[test]
    fn an_old_rotation_key_verifies_but_never_signs(pk in any::<i64>(), now in instant(), new in secret(), old in secret()) {
        prop_assume!(new.bytes() != old.bytes());
        let before = ConfirmationKeySigner::new(vec![old.clone()]).unwrap();
        let rotated = ConfirmationKeySigner::new(vec![new.clone(), old]).unwrap();
        let issued_before = before.make(pk, now);
        prop_assert_eq!(rotated.open(&issued_before, now, THREE_DAYS), Ok(pk));
        let issued_after = rotated.make(pk, now);
        prop_assert_ne!(&issued_after, &issued_before);
        let retired = ConfirmationKeySigner::new(vec![new]).unwrap();
        prop_assert_eq!(retired.open(&issued_after, now, THREE_DAYS), Ok(pk));
        prop_assert_eq!(retired.open(&issued_before, now, THREE_DAYS), Err(ConfirmationKeyError::Invalid));
    }
}
