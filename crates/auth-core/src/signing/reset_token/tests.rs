//! Django's token generator, pinned by the vectors of djoser-api.md §4.4 and
//! restauth-api.md §4.1 and stated as properties.

use proptest::prelude::*;

use super::*;

const DJOSER_KEY: &str = "djoser-spec-vector-key";
const DJOSER_HASH: &str =
    "pbkdf2_sha256$1000000$c2FsdHNhbHQ$3wX9kq0nq0vJmOq1c8C7r8G1yq2+0cX7yH0s8e5a9bE=";
const RESTAUTH_KEY: &str = "example-secret-key-for-vectors";
const RESTAUTH_HASH: &str =
    "pbkdf2_sha256$1000000$abcdefghijklmnop$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
const TIMEOUT: Duration = Duration::seconds(259_200);

fn generator(key: &str) -> ResetTokenGenerator {
    ResetTokenGenerator::new(vec![SecretKey::new(key).unwrap()]).unwrap()
}

/// The instant whose Django timestamp is `ts`.
fn at_ts(ts: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(EPOCH_UNIX + ts).unwrap()
}

fn subject(pk: i64, hash: &str, last_login: Option<OffsetDateTime>, email: &str) -> TokenSubject {
    TokenSubject {
        user_id: UserId::new(pk),
        password_hash: PasswordHash::new(hash),
        last_login,
        email: email.into(),
        addresses: None,
    }
}

// ---- Vectors ----------------------------------------------------------------

#[test]
fn djoser_vectors() {
    let login = OffsetDateTime::from_unix_timestamp_nanos(1_796_189_467_123_456_000).unwrap();
    assert_eq!(django_second(login), "2026-12-02 05:31:07");
    let cases = [
        (
            subject(1, DJOSER_HASH, None, "ada@example.com"),
            817_862_400,
            "dixmo0-88f735b603169a14eca5bee58bccee18",
        ),
        (
            subject(42, DJOSER_HASH, Some(login), ""),
            817_866_000,
            "dixpg0-57f957e162848c93c764438d5946a2f3",
        ),
        (
            subject(1000, "!unusable", None, "x@y.z"),
            0,
            "0-0ff359d17f47de89228bd33faa537ec2",
        ),
    ];
    let g = generator(DJOSER_KEY);
    for (s, ts, expected) in cases {
        assert_eq!(g.make(&s, at_ts(ts)), expected, "{s:?}");
        assert_eq!(g.check(&s, expected, at_ts(ts), TIMEOUT), Ok(()));
    }
}

#[test]
fn restauth_vectors_cover_allauths_address_suffix() {
    let login = OffsetDateTime::from_unix_timestamp_nanos(1_796_190_677_123_456_000).unwrap();
    assert_eq!(django_second(login), "2026-12-02 05:51:17");
    let allauth = |last_login| TokenSubject {
        addresses: Some(BTreeSet::from(["ada@example.com".to_owned()])),
        ..subject(7, RESTAUTH_HASH, last_login, "ada@example.com")
    };
    assert_eq!(
        allauth(Some(login)).hash_value(820_000_000),
        format!("7{RESTAUTH_HASH}2026-12-02 05:51:17820000000ada@example.comada@example.com")
    );
    let g = generator(RESTAUTH_KEY);
    for (s, ts, expected) in [
        (
            allauth(Some(login)),
            820_000_000,
            "dk7g1s-48cb6924733103512d35b174a26fd22a",
        ),
        (
            allauth(Some(login)),
            852_000_000,
            "e39beo-46b4b0d83f039cc9f080c42397c82eb9",
        ),
        (
            allauth(None),
            820_000_000,
            "dk7g1s-878a61a764b4b106eda8381062a54ac9",
        ),
    ] {
        assert_eq!(g.make(&s, at_ts(ts)), expected);
        assert_eq!(g.check(&s, expected, at_ts(ts), TIMEOUT), Ok(()));
    }
}

#[test]
fn the_account_address_joins_allauths_set() {
    let user = crate::flows::testkit::user(7, "ada");
    let s = TokenSubject::allauth(&user, ["b@example.org".to_owned()]);
    let own = user
        .email
        .as_ref()
        .map(|e| e.as_str().to_owned())
        .unwrap_or_default();
    let set = s.addresses.clone().unwrap();
    assert!(
        set.contains("b@example.org") && set.contains(&own),
        "{set:?}"
    );
    assert_eq!(TokenSubject::django(&user).addresses, None);
}

#[test]
fn malformed_tokens_are_refused_before_any_mac() {
    let g = generator(DJOSER_KEY);
    let s = subject(1, DJOSER_HASH, None, "ada@example.com");
    let now = at_ts(817_862_400);
    for bad in [
        "",
        "-",
        "dixmo0",
        "dixmo0-a-b",
        "DIXMO0-88f7",
        "zzzzzzzzzzzzzz-00",
        "-88f7",
    ] {
        assert_eq!(
            g.check(&s, bad, now, TIMEOUT),
            Err(ResetTokenError::Malformed),
            "{bad:?}"
        );
    }
    // A re-padded timestamp spells the same number but is not the token.
    assert_eq!(
        g.check(&s, "0dixmo0-88f735b603169a14eca5bee58bccee18", now, TIMEOUT),
        Err(ResetTokenError::Invalid)
    );
}

#[test]
fn a_clock_before_2001_signs_as_of_2001() {
    let g = generator(DJOSER_KEY);
    let s = subject(1000, "!unusable", None, "x@y.z");
    assert_eq!(g.make(&s, at_ts(-5)), "0-0ff359d17f47de89228bd33faa537ec2");
}

// ---- Properties -------------------------------------------------------------

fn secret() -> impl Strategy<Value = SecretKey> {
    "[ -~]{1,64}".prop_map(|k| SecretKey::new(k).unwrap())
}

fn instant() -> impl Strategy<Value = OffsetDateTime> {
    (EPOCH_UNIX..4_000_000_000i64, 0u32..1_000_000_000).prop_map(|(s, n)| {
        OffsetDateTime::from_unix_timestamp(s).unwrap() + Duration::nanoseconds(n.into())
    })
}

fn any_subject() -> impl Strategy<Value = TokenSubject> {
    (
        1i64..=i64::MAX,
        "[a-zA-Z0-9$+/=!_]{1,90}",
        proptest::option::of(instant()),
        "([a-z0-9.+-]{1,20}@[a-z0-9ü-]{1,20}\\.[a-z]{2,6})?",
        proptest::option::of(proptest::collection::btree_set(
            "[a-z]{1,8}@[a-z]{1,8}\\.org",
            0..4,
        )),
    )
        .prop_map(|(pk, hash, last_login, email, addresses)| TokenSubject {
            user_id: UserId::new(pk),
            password_hash: PasswordHash::new(hash),
            last_login,
            email,
            addresses,
        })
}

proptest! {
    #[test]
    fn make_then_check_round_trips(s in any_subject(), k in secret(), now in instant()) {
        let g = ResetTokenGenerator::new(vec![k]).unwrap();
        let token = g.make(&s, now);
        prop_assert_eq!(token.split_once('-').map(|(_, h)| h.len()), Some(32));
        prop_assert_eq!(g.check(&s, &token, now, TIMEOUT), Ok(()));
    }

    #[test]
    fn the_token_dies_when_what_it_covers_changes(s in any_subject(), now in instant(), which in 0usize..5, shift in 1i64..1_000_000) {
        let g = generator(DJOSER_KEY);
        let token = g.make(&s, now);
        let mut changed = s.clone();
        match which {
            0 => changed.user_id = UserId::new(s.user_id.get() ^ 1),
            1 => changed.password_hash = PasswordHash::new(format!("{}x", s.password_hash.as_str())),
            2 => changed.last_login = Some(s.last_login.unwrap_or(now) + Duration::seconds(shift)),
            3 => changed.email.push('x'),
            _ => {
                changed.addresses.get_or_insert_with(BTreeSet::new).insert("new@example.com".into());
            }
        }
        prop_assert_eq!(g.check(&changed, &token, now, TIMEOUT), Err(ResetTokenError::Invalid));
    }

    #[test]
    fn a_login_within_the_same_second_keeps_the_token(s in any_subject(), now in instant()) {
        let g = generator(DJOSER_KEY);
        let Some(login) = s.last_login else { return Ok(()) };
        let token = g.make(&s, now);
        let start = login.replace_nanosecond(0).unwrap();
        let same_second = TokenSubject { last_login: Some(start + Duration::nanoseconds(999_999_999)), ..s.clone() };
        prop_assert_eq!(g.check(&same_second, &token, now, TIMEOUT), Ok(()));
    }

    #[test]
    fn changing_any_character_invalidates(s in any_subject(), now in instant(), pos in 0usize..64, c in "[0-9a-z-]") {
        let g = generator(DJOSER_KEY);
        let token = g.make(&s, now);
        let mut chars: Vec<char> = token.chars().collect();
        let pos = pos % chars.len();
        let replacement = c.chars().next().unwrap();
        prop_assume!(chars[pos] != replacement);
        chars[pos] = replacement;
        let tampered: String = chars.into_iter().collect();
        prop_assert!(g.check(&s, &tampered, now, TIMEOUT).is_err());
    }

    #[test]
    fn expiry_is_exactly_at_the_timeout(s in any_subject(), made in instant(), timeout_s in 0i64..10_000_000) {
        let g = generator(DJOSER_KEY);
        let token = g.make(&s, made);
        let start = made.replace_nanosecond(0).unwrap();
        let timeout = Duration::seconds(timeout_s);
        let last_good = start + timeout + Duration::nanoseconds(999_999_999);
        prop_assert_eq!(g.check(&s, &token, last_good, timeout), Ok(()));
        prop_assert_eq!(g.check(&s, &token, start + timeout + Duration::SECOND, timeout), Err(ResetTokenError::Expired));
    }

    #[test]
    fn another_key_invalidates(s in any_subject(), now in instant(), k1 in secret(), k2 in secret()) {
        prop_assume!(k1.bytes() != k2.bytes());
        let token = ResetTokenGenerator::new(vec![k1]).unwrap().make(&s, now);
        let other = ResetTokenGenerator::new(vec![k2]).unwrap();
        prop_assert_eq!(other.check(&s, &token, now, TIMEOUT), Err(ResetTokenError::Invalid));
    }

    #[test]
    fn an_old_rotation_key_verifies_but_never_signs(s in any_subject(), now in instant(), new in secret(), old in secret()) {
        prop_assume!(new.bytes() != old.bytes());
        let before = ResetTokenGenerator::new(vec![old.clone()]).unwrap();
        let rotated = ResetTokenGenerator::new(vec![new.clone(), old.clone()]).unwrap();
        let issued_before = before.make(&s, now);
        prop_assert_eq!(rotated.check(&s, &issued_before, now, TIMEOUT), Ok(()));
        let issued_after = rotated.make(&s, now);
        prop_assert_eq!(&issued_after, &token(&new, &s, timestamp_at(now)));
        prop_assert_ne!(&issued_after, &issued_before);
        let retired = ResetTokenGenerator::new(vec![new]).unwrap();
        prop_assert_eq!(retired.check(&s, &issued_before, now, TIMEOUT), Err(ResetTokenError::Invalid));
    }
}
