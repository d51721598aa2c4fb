//! Password hashing: argon2id for new hashes, and verification of hashes
//! imported from Django so a migrated site's users can still log in (and get
//! upgraded on that login).
//!
//! Everything here is synchronous and CPU-bound; [`Argon2Hasher`] implements
//! the async [`PasswordHasher`](crate::ports::PasswordHasher) port by running
//! inline, and a server adapter can move it onto a blocking pool.

use argon2::password_hash::phc::PasswordHash as Phc;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};
use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use unicode_normalization::UnicodeNormalization;
use zeroize::Zeroizing;

use crate::domain::{Password, PasswordHash};
use crate::ports::{Cause, HashError, PasswordHasher, Verification};

/// argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Params {
    /// Memory in KiB.
    pub m_cost: u32,
    /// Iterations.
    pub t_cost: u32,
    /// Lanes.
    pub p_cost: u32,
}

impl Argon2Params {
    /// OWASP's password-storage minimum for argon2id (m=19 MiB, t=2, p=1),
    /// which is also our default.
    pub const OWASP_MINIMUM: Self = Self {
        m_cost: 19_456,
        t_cost: 2,
        p_cost: 1,
    };

    /// Whether these parameters cost less than OWASP's minimum. OWASP lists
    /// equivalent trade-offs (more passes for less memory), so compare the
    /// total work `m·t` as well as the memory floor of its cheapest option.
    pub fn is_below_owasp_minimum(&self) -> bool {
        let work = u64::from(self.m_cost) * u64::from(self.t_cost);
        let floor = u64::from(Self::OWASP_MINIMUM.m_cost) * u64::from(Self::OWASP_MINIMUM.t_cost);
        self.m_cost < 7_168 || work < floor || self.p_cost == 0
    }
}

impl Default for Argon2Params {
    fn default() -> Self {
        Self::OWASP_MINIMUM
    }
}

/// Hashes with argon2id and verifies argon2id, Django `pbkdf2_sha256`,
/// Django `argon2` and Django `bcrypt_sha256` hashes.
#[derive(Debug, Clone)]
pub struct Argon2Hasher {
    params: Argon2Params,
    argon2: Argon2<'static>,
    dummy: PasswordHash,
}

impl Argon2Hasher {
    /// A hasher producing argon2id hashes with `params`. Costs one hash, to
    /// prepare the dummy hash that unknown-account logins are checked against.
    pub fn new(params: Argon2Params) -> Result<Self, HashError> {
        let argon_params = Params::new(params.m_cost, params.t_cost, params.p_cost, None)
            .map_err(|e| HashError::Config(Cause::new(e)))?;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, argon_params);
        let dummy = hash_with(
            &argon2,
            &Password::new("dummy password for unknown accounts"),
        )?;
        Ok(Self {
            params,
            argon2,
            dummy,
        })
    }

    /// The parameters new hashes get.
    pub fn params(&self) -> Argon2Params {
        self.params
    }

    /// Hashes `password` with a fresh random salt.
    pub fn hash_sync(&self, password: &Password) -> Result<PasswordHash, HashError> {
        hash_with(&self.argon2, password)
    }

    /// Checks `password` against a stored hash of any supported format. A
    /// hash in an unknown or malformed format never matches (as Django's
    /// unusable passwords).
    ///
    /// Our own hashes are of the NFKC form of the password, so a composed
    /// "ü" and a decomposed one are the same password; Django's hashes are
    /// of the text as typed (Django does not normalise), and are checked so.
    pub fn verify_sync(&self, password: &Password, hash: &PasswordHash) -> Verification {
        let pw = password.expose().as_bytes();
        let encoded = hash.as_str();
        let matched = if encoded.starts_with("$argon2") {
            verify_phc(normalized(password).as_bytes(), encoded)
        } else if let Some(rest) = encoded.strip_prefix("argon2$") {
            verify_phc(pw, &format!("${rest}"))
        } else if let Some(rest) = encoded.strip_prefix("pbkdf2_sha256$") {
            verify_django_pbkdf2(pw, rest)
        } else if let Some(rest) = encoded.strip_prefix("bcrypt_sha256$") {
            verify_django_bcrypt_sha256(pw, rest)
        } else {
            false
        };
        if matched {
            Verification::Match {
                needs_rehash: self.needs_rehash(hash),
            }
        } else {
            Verification::Mismatch
        }
    }

    /// Spends the time of one verification, for logins naming no account, so
    /// response times do not reveal which accounts exist.
    pub fn verify_dummy_sync(&self, password: &Password) {
        let _ = self.verify_sync(password, &self.dummy);
    }

    /// Whether `hash` should be replaced by a fresh hash of the same password:
    /// true for every imported Django format, for other argon2 variants and
    /// for argon2id with parameters other than ours.
    pub fn needs_rehash(&self, hash: &PasswordHash) -> bool {
        let Ok(phc) = Phc::new(hash.as_str()) else {
            return true;
        };
        let Ok(stored) = Params::try_from(&phc) else {
            return true;
        };
        phc.algorithm.as_str() != "argon2id"
            || phc.version != Some(0x13)
            || stored.m_cost() != self.params.m_cost
            || stored.t_cost() != self.params.t_cost
            || stored.p_cost() != self.params.p_cost
    }
}

/// The NFKC form of the password (NIST SP 800-63B-4 §3.1.1.2): what our
/// hashes are made of.
fn normalized(password: &Password) -> Zeroizing<String> {
    Zeroizing::new(password.expose().nfkc().collect())
}

fn hash_with(argon2: &Argon2<'_>, password: &Password) -> Result<PasswordHash, HashError> {
    let hash = argon2
        .hash_password(normalized(password).as_bytes())
        .map_err(|e| HashError::Failed(Cause::new(e)))?;
    Ok(PasswordHash::new(hash.to_string()))
}

fn verify_phc(password: &[u8], encoded: &str) -> bool {
    let Ok(phc) = Phc::new(encoded) else {
        return false;
    };
    // The hash's own parameters and variant are used, not the configured ones.
    Argon2::default().verify_password(password, &phc).is_ok()
}

/// `pbkdf2_sha256$<iterations>$<salt>$<base64 of the 32-byte key>`.
fn verify_django_pbkdf2(password: &[u8], rest: &str) -> bool {
    let mut parts = rest.splitn(3, '$');
    let (Some(iterations), Some(salt), Some(expected)) = (parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let Ok(iterations) = iterations.parse::<u32>() else {
        return false;
    };
    if iterations == 0 {
        return false;
    }
    let mut key = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(password, salt.as_bytes(), iterations, &mut key);
    STANDARD
        .encode(key)
        .as_bytes()
        .ct_eq(expected.as_bytes())
        .into()
}

/// `bcrypt_sha256$$2b$<cost>$<salt+hash>`: bcrypt over the hex SHA-256 of
/// the password, which Django uses to avoid bcrypt's 72-byte truncation.
fn verify_django_bcrypt_sha256(password: &[u8], rest: &str) -> bool {
    let prehashed = hex::encode(Sha256::digest(password));
    bcrypt::verify(prehashed, rest).unwrap_or(false)
}

#[async_trait]
impl PasswordHasher for Argon2Hasher {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, HashError> {
        self.hash_sync(password)
    }

    async fn verify(
        &self,
        password: &Password,
        hash: &PasswordHash,
    ) -> Result<Verification, HashError> {
        Ok(self.verify_sync(password, hash))
    }

    async fn verify_dummy(&self, password: &Password) -> Result<(), HashError> {
        self.verify_dummy_sync(password);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cheap parameters keep the suite fast; they are not what ships.
    fn fast() -> Argon2Hasher {
        Argon2Hasher::new(Argon2Params {
            m_cost: 256,
            t_cost: 1,
            p_cost: 1,
        })
        .unwrap()
    }

    #[test]
    fn argon2id_round_trip_and_default_parameters() {
        let hasher = Argon2Hasher::new(Argon2Params::default()).unwrap();
        let hash = hasher.hash_sync(&Password::new("correct horse")).unwrap();
        assert!(
            hash.as_str().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash:?}"
        );
        assert_eq!(
            hasher.verify_sync(&Password::new("correct horse"), &hash),
            Verification::Match {
                needs_rehash: false
            }
        );
        assert_eq!(
            hasher.verify_sync(&Password::new("correct hors"), &hash),
            Verification::Mismatch
        );
    }

    #[test]
    fn hashes_with_other_parameters_verify_and_ask_for_rehash() {
        let old = fast().hash_sync(&Password::new("pw")).unwrap();
        let current = Argon2Hasher::new(Argon2Params::default()).unwrap();
        assert_eq!(
            current.verify_sync(&Password::new("pw"), &old),
            Verification::Match { needs_rehash: true }
        );
    }

    // Vectors made by Django 5.2.19's own hasher classes (cheap costs so the
    // suite stays fast; the formats are what a Django database holds).
    const DJANGO_PBKDF2: &str =
        "pbkdf2_sha256$1000$c2FsdHNhbHQ$HgGtz23nfY68BYPHybbu8UlRLZeUGYirGuG5uf5fmDg=";
    const DJANGO_ARGON2: &str = "argon2$argon2id$v=19$m=256,t=1,p=1$YzJGc2RITmhiSFJ6WVd4MA$YjNx4latR2A0kNrnJmW4e/tE8yu0CaFH9FPInXhc6NQ";
    const DJANGO_BCRYPT_SHA256: &str =
        "bcrypt_sha256$$2b$04$AjMVKiRfBLfPt7oWnQZE1ODiaHzG0Skag/KoA4mh61BlY3nR.Yx7O";

    fn assert_imported(encoded: &str, right: &str, wrong: &str) {
        let hash = PasswordHash::new(encoded);
        assert_eq!(
            fast().verify_sync(&Password::new(right), &hash),
            Verification::Match { needs_rehash: true },
            "{encoded}"
        );
        assert_eq!(
            fast().verify_sync(&Password::new(wrong), &hash),
            Verification::Mismatch,
            "{encoded}"
        );
    }

    #[test]
    fn composed_and_decomposed_forms_are_one_password() {
        let hasher = fast();
        let composed = "Gr\u{00fc}\u{00df}e aus M\u{00fc}nchen";
        let decomposed = "Gru\u{0308}\u{00df}e aus Mu\u{0308}nchen";
        let hash = hasher.hash_sync(&Password::new(composed)).unwrap();
        assert!(matches!(
            hasher.verify_sync(&Password::new(decomposed), &hash),
            Verification::Match { .. }
        ));
        let hash = hasher.hash_sync(&Password::new(decomposed)).unwrap();
        assert!(matches!(
            hasher.verify_sync(&Password::new(composed), &hash),
            Verification::Match { .. }
        ));
        assert_eq!(
            hasher.verify_sync(&Password::new("Grusse aus Munchen"), &hash),
            Verification::Mismatch
        );
    }

    #[test]
    fn django_pbkdf2_hash_verifies_and_needs_rehash() {
        assert_imported(DJANGO_PBKDF2, "s3cret-Pass", "s3cret-pass");
    }

    #[test]
    fn django_argon2_hash_verifies_and_needs_rehash() {
        assert_imported(DJANGO_ARGON2, "from django", "from djang0");
    }

    #[test]
    fn django_bcrypt_sha256_hash_verifies_and_needs_rehash() {
        assert_imported(DJANGO_BCRYPT_SHA256, "bcrypt pass", "bcrypt pas");
    }

    #[test]
    fn unknown_and_malformed_hashes_never_match() {
        for bad in [
            "",
            "!unusable",
            "md5$x$y",
            "pbkdf2_sha256$abc$s$h",
            "pbkdf2_sha256$0$s$h",
            "$argon2id$junk",
        ] {
            assert_eq!(
                fast().verify_sync(&Password::new(""), &PasswordHash::new(bad)),
                Verification::Mismatch
            );
        }
    }

    #[test]
    fn owasp_floor_is_enforced_by_the_check() {
        assert!(!Argon2Params::OWASP_MINIMUM.is_below_owasp_minimum());
        assert!(
            !Argon2Params {
                m_cost: 47_104,
                t_cost: 1,
                p_cost: 1
            }
            .is_below_owasp_minimum()
        );
        assert!(
            Argon2Params {
                m_cost: 8_192,
                t_cost: 2,
                p_cost: 1
            }
            .is_below_owasp_minimum()
        );
        assert!(
            Argon2Params {
                m_cost: 19_456,
                t_cost: 1,
                p_cost: 1
            }
            .is_below_owasp_minimum()
        );
    }
}
