//! Signed links: whatever the submitted fields, verification never panics,
//! accepts only the signature our newest or an older key makes for exactly
//! these fields and this flow, and a link we sign always verifies.
#![no_main]

use arbitrary::Arbitrary;
use auth_core::signing::{LinkData, LinkError, LinkSigner, Salt, SecretKey, signature};
use libfuzzer_sys::fuzz_target;
use time::{Duration, OffsetDateTime};

#[derive(Debug, Arbitrary)]
struct Input {
    user_id: String,
    email: Option<String>,
    timestamp: i64,
    signature: String,
    /// Which flow's salt the link is checked under.
    flow: u8,
    now: i64,
    period: u32,
    /// Sign the fields ourselves and submit that (checks the round trip).
    sign_it: bool,
}

fn keys() -> Vec<SecretKey> {
    ["fuzz-newest-key-with-plenty-of-characters", "fuzz-older-key-still-accepted-for-a-while"]
        .into_iter()
        .filter_map(|k| SecretKey::new(k).ok())
        .collect()
}

fn salt(flow: u8) -> Salt {
    match flow % 5 {
        0 => Salt::register(),
        1 => Salt::register_one_time(flow & 0x80 != 0),
        2 => Salt::reset_password(),
        3 => Salt::register_email(),
        _ => Salt::register_one_time(false),
    }
}

fuzz_target!(|input: Input| {
    let Ok(signer) = LinkSigner::new(keys()) else {
        return;
    };
    let Ok(now) = OffsetDateTime::from_unix_timestamp(input.now.rem_euclid(4_000_000_000))
    else {
        return;
    };
    let salt = salt(input.flow);
    let data = LinkData {
        user_id: input.user_id,
        email: input.email,
        timestamp: input.timestamp,
    };
    let period = Duration::seconds(i64::from(input.period));
    let submitted = if input.sign_it {
        signer.sign(&salt, &data)
    } else {
        input.signature
    };
    let verdict = signer.verify(&salt, &data, &submitted, now, period);

    let genuine: Vec<String> = keys().iter().map(|k| signature(k, &salt, &data)).collect();
    let is_genuine = genuine.iter().any(|s| s == submitted.trim());
    match verdict {
        Err(LinkError::InvalidSignature) => assert!(!is_genuine, "a genuine signature was refused"),
        Ok(()) | Err(LinkError::Expired | LinkError::FromTheFuture) => {
            assert!(is_genuine, "accepted a signature no key made: {submitted:?}")
        }
    }
    if verdict.is_ok() {
        let age = i128::from(now.unix_timestamp()) - i128::from(data.timestamp);
        assert!(age <= i128::from(period.whole_seconds()), "an expired link was accepted");
    }
    // Another flow's salt never accepts this flow's signature.
    let other = salt_of_other_flow(input.flow);
    if other.as_str() != salt.as_str() && signer.verify(&other, &data, &submitted, now, period).is_ok() {
        panic!("a signature crossed flows");
    }
});

fn salt_of_other_flow(flow: u8) -> Salt {
    salt(flow.wrapping_add(2))
}
