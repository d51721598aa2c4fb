//! The signing rules, pinned by DRR's own vectors (drr-api.md §4.6) and
//! stated as properties.

use proptest::prelude::*;
use time::{Duration, OffsetDateTime};

use super::*;

const KEY: &str = "conformance-test-secret";
const TS: i64 = 1_700_000_000;

fn key() -> SecretKey {
    SecretKey::new(KEY).unwrap()
}

fn data(email: Option<&str>) -> LinkData {
    LinkData {
        user_id: "42".into(),
        email: email.map(Into::into),
        timestamp: TS,
    }
}

fn at(ts: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(ts).unwrap()
}

fn signer() -> LinkSigner {
    LinkSigner::new(vec![key()]).unwrap()
}

// ---- DRR test vectors -------------------------------------------------------

#[test]
fn payload_bytes_match_drr_for_user_id_and_timestamp() {
    assert_eq!(
        hex::encode(payload(&data(None))),
        "80049531000000000000005d94288c0974696d657374616d70948c0a31373030303030303030\
         9486948c07757365725f6964948c023432948694652e"
    );
}

#[test]
fn payload_bytes_match_drr_with_an_email() {
    assert_eq!(
        hex::encode(payload(&data(Some("new@example.org")))),
        "8004954d000000000000005d94288c05656d61696c948c0f6e6577406578616d706c652e6f7267\
         9486948c0974696d657374616d70948c0a313730303030303030309486948c07757365725f6964\
         948c023432948694652e"
    );
}

#[test]
fn payload_bytes_match_drr_with_a_non_ascii_email() {
    assert_eq!(
        hex::encode(payload(&data(Some("zoë.Müller@example.org")))),
        "80049556000000000000005d94288c05656d61696c948c187a6fc3ab2e4dc3bc6c6c6572406578\
         616d706c652e6f72679486948c0974696d657374616d70948c0a31373030303030303030948694\
         8c07757365725f6964948c023432948694652e"
    );
}

#[test]
fn payload_switches_to_binunicode_above_255_bytes() {
    let email = format!("{}@example.org", "a".repeat(250)); // 262 bytes
    let bytes = payload(&data(Some(&email)));
    let at = bytes
        .windows(5)
        .position(|w| w == [0x58, 0x06, 0x01, 0x00, 0x00]);
    assert!(at.is_some(), "BINUNICODE header for 262 bytes not found");
    // The frame length still counts everything after the 11-byte header.
    let frame = u64::from_le_bytes(bytes[3..11].try_into().unwrap());
    assert_eq!(frame as usize, bytes.len() - 11);
}

#[test]
fn signatures_match_drr_for_every_flow_and_one_time_variant() {
    let reset_hash = PasswordHash::new(
        "pbkdf2_sha256$1000000$c2FsdHNhbHQ$0123456789abcdefABCDEF+/0123456789abcdefABC=",
    );
    let cases = [
        (
            Salt::register(),
            None,
            "xK2_VtntZ2bKEfecz9wXy_xm2g3xHz2JCQeXGRPLWNo",
        ),
        (
            Salt::register_one_time(false),
            None,
            "cUuq8SdHsv5yNBmpg8vYnxzmFLRnQnuTmf_ugOu6OUA",
        ),
        (
            Salt::register_one_time(true),
            None,
            "QoBB3eIat2eXkX4BBtsqRpnE5FSVYY-lG3corA9lhE0",
        ),
        (
            Salt::reset_password(),
            None,
            "nLA0p-nya5Ib4UrZDJrKEYQ2DAoaihBfGORzyo9YCXs",
        ),
        (
            Salt::reset_password_one_time(&reset_hash),
            None,
            "lJNPBfWXf9WxHNoaZ0o34YYz_aEIJMTaYKsbJTKW5YQ",
        ),
        (
            Salt::register_email(),
            Some("new@example.org"),
            "7IcOYChdUhAQeieJw71ItK7kYxW-qtzni6zbj6IPzMA",
        ),
        (
            Salt::register_email(),
            Some("zoë.Müller@example.org"),
            "xQ6bbc1sEgGobpmfGEHm7snPvvDn23a_JgOoxn_e7qE",
        ),
    ];
    for (salt, email, expected) in cases {
        assert_eq!(
            signature(&key(), &salt, &data(email)),
            expected,
            "{salt:?} {email:?}"
        );
        assert_eq!(
            signer().verify(&salt, &data(email), expected, at(TS), Duration::days(1)),
            Ok(())
        );
    }
}

#[test]
fn submitted_signature_is_whitespace_stripped() {
    let sig = format!("  {}\n", signature(&key(), &Salt::register(), &data(None)));
    assert_eq!(
        signer().verify(
            &Salt::register(),
            &data(None),
            &sig,
            at(TS),
            Duration::days(7)
        ),
        Ok(())
    );
}

#[test]
fn user_id_text_is_signed_as_submitted() {
    let sig = signature(&key(), &Salt::register(), &data(None));
    let padded = LinkData {
        user_id: "042".into(),
        ..data(None)
    };
    assert_eq!(
        signer().verify(&Salt::register(), &padded, &sig, at(TS), Duration::days(7)),
        Err(LinkError::InvalidSignature)
    );
}

#[test]
fn empty_keys_are_refused() {
    assert_eq!(SecretKey::new("").unwrap_err(), KeyError::Empty);
    assert_eq!(LinkSigner::new(Vec::new()).unwrap_err(), KeyError::NoKeys);
    assert_eq!(format!("{:?}", key()), "SecretKey(***)");
}

#[test]
fn timestamps_beyond_the_allowed_skew_are_refused() {
    let s = signer();
    let ahead = |secs: i64| LinkData {
        timestamp: TS + secs,
        ..data(None)
    };
    let skew = LinkSigner::DEFAULT_MAX_FUTURE_SKEW.whole_seconds();
    for (secs, expected) in [(skew, Ok(())), (skew + 1, Err(LinkError::FromTheFuture))] {
        let d = ahead(secs);
        let sig = s.sign(&Salt::register(), &d);
        assert_eq!(
            s.verify(&Salt::register(), &d, &sig, at(TS), Duration::days(7)),
            expected
        );
    }
}

// ---- Properties -------------------------------------------------------------

fn link_data() -> impl Strategy<Value = LinkData> {
    (
        1i64..=i64::MAX,
        proptest::option::of("[a-zA-Z0-9._%+-]{1,40}@[a-z0-9ü-]{1,30}\\.[a-z]{2,8}"),
        0i64..4_000_000_000,
    )
        .prop_map(|(id, email, timestamp)| LinkData {
            user_id: id.to_string(),
            email,
            timestamp,
        })
}

fn any_salt() -> impl Strategy<Value = Salt> {
    prop_oneof![
        Just(Salt::register()),
        any::<bool>().prop_map(Salt::register_one_time),
        Just(Salt::reset_password()),
        "[a-zA-Z0-9$+/=]{10,90}".prop_map(|h| Salt::reset_password_one_time(&PasswordHash::new(h))),
        Just(Salt::register_email()),
    ]
}

fn secret() -> impl Strategy<Value = SecretKey> {
    "[ -~]{1,64}".prop_map(|k| SecretKey::new(k).unwrap())
}

const PERIOD: Duration = Duration::days(7);

proptest! {
    #[test]
    fn sign_then_verify_round_trips(d in link_data(), salt in any_salt(), k in secret()) {
        let s = LinkSigner::new(vec![k]).unwrap();
        let sig = s.sign(&salt, &d);
        prop_assert_eq!(sig.len(), 43);
        prop_assert_eq!(s.verify(&salt, &d, &sig, at(d.timestamp), PERIOD), Ok(()));
    }

    #[test]
    fn changing_any_field_invalidates(d in link_data(), salt in any_salt(), which in 0usize..3, delta in 1i64..1000) {
        let s = signer();
        let sig = s.sign(&salt, &d);
        let mut tampered = d.clone();
        match which {
            0 => tampered.user_id.push('0'),
            1 => tampered.email = Some(match &d.email { Some(e) => format!("x{e}"), None => "a@b.org".into() }),
            _ => tampered.timestamp -= delta,
        }
        prop_assert_eq!(s.verify(&salt, &tampered, &sig, at(d.timestamp), PERIOD), Err(LinkError::InvalidSignature));
    }

    #[test]
    fn a_link_of_one_flow_is_invalid_on_another(d in link_data(), a in any_salt(), b in any_salt()) {
        prop_assume!(a != b);
        let s = signer();
        let sig = s.sign(&a, &d);
        prop_assert_eq!(s.verify(&b, &d, &sig, at(d.timestamp), PERIOD), Err(LinkError::InvalidSignature));
    }

    #[test]
    fn another_key_invalidates(d in link_data(), salt in any_salt(), k1 in secret(), k2 in secret()) {
        prop_assume!(k1.bytes() != k2.bytes());
        let sig = LinkSigner::new(vec![k1]).unwrap().sign(&salt, &d);
        let other = LinkSigner::new(vec![k2]).unwrap();
        prop_assert_eq!(other.verify(&salt, &d, &sig, at(d.timestamp), PERIOD), Err(LinkError::InvalidSignature));
    }

    #[test]
    fn changing_any_character_of_the_signature_invalidates(d in link_data(), salt in any_salt(), pos in 0usize..43, c in "[A-Za-z0-9_-]") {
        let s = signer();
        let sig = s.sign(&salt, &d);
        let mut chars: Vec<char> = sig.chars().collect();
        let replacement = c.chars().next().unwrap();
        prop_assume!(chars[pos] != replacement);
        chars[pos] = replacement;
        let tampered: String = chars.into_iter().collect();
        prop_assert_eq!(s.verify(&salt, &d, &tampered, at(d.timestamp), PERIOD), Err(LinkError::InvalidSignature));
    }

    #[test]
    fn expiry_is_exactly_at_the_period_boundary(d in link_data(), salt in any_salt(), period_s in 1i64..10_000_000) {
        let s = signer();
        let sig = s.sign(&salt, &d);
        let period = Duration::seconds(period_s);
        prop_assert_eq!(s.verify(&salt, &d, &sig, at(d.timestamp + period_s), period), Ok(()));
        prop_assert_eq!(s.verify(&salt, &d, &sig, at(d.timestamp + period_s + 1), period), Err(LinkError::Expired));
    }

    #[test]
    fn one_time_reset_link_dies_once_the_password_hash_changes(d in link_data(), old in "[a-zA-Z0-9$+/=]{20,90}", new in "[a-zA-Z0-9$+/=]{20,90}") {
        prop_assume!(old != new);
        let s = signer();
        let before = Salt::reset_password_one_time(&PasswordHash::new(old));
        let after = Salt::reset_password_one_time(&PasswordHash::new(new));
        let sig = s.sign(&before, &d);
        prop_assert_eq!(s.verify(&before, &d, &sig, at(d.timestamp), PERIOD), Ok(()));
        prop_assert_eq!(s.verify(&after, &d, &sig, at(d.timestamp), PERIOD), Err(LinkError::InvalidSignature));
    }

    #[test]
    fn one_time_verification_link_dies_once_the_user_is_verified(d in link_data()) {
        let s = signer();
        let sig = s.sign(&Salt::register_one_time(false), &d);
        prop_assert_eq!(s.verify(&Salt::register_one_time(false), &d, &sig, at(d.timestamp), PERIOD), Ok(()));
        prop_assert_eq!(
            s.verify(&Salt::register_one_time(true), &d, &sig, at(d.timestamp), PERIOD),
            Err(LinkError::InvalidSignature)
        );
    }

    #[test]
    fn an_old_rotation_key_verifies_but_never_signs(d in link_data(), salt in any_salt(), new in secret(), old in secret()) {
        prop_assume!(new.bytes() != old.bytes());
        let before_rotation = LinkSigner::new(vec![old.clone()]).unwrap();
        let rotated = LinkSigner::new(vec![new.clone(), old.clone()]).unwrap();
        let issued_before = before_rotation.sign(&salt, &d);
        prop_assert_eq!(rotated.verify(&salt, &d, &issued_before, at(d.timestamp), PERIOD), Ok(()));
        let issued_after = rotated.sign(&salt, &d);
        prop_assert_eq!(issued_after.clone(), signature(&new, &salt, &d));
        prop_assert_ne!(issued_after, signature(&old, &salt, &d));
    }
}
