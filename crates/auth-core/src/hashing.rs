//! Password hashing: argon2id for new hashes, and verification of hashes
//! imported from Django so a migrated site's users can still log in (and get
//! upgraded on that login).
//!
//! Everything here is synchronous and CPU-bound; [`Argon2Hasher`] implements
//! the async [`PasswordHasher`](crate::ports::PasswordHasher) port by running
//! inline, and a server adapter can move it onto a blocking pool.

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash as Phc, Salt};
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};
use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::EagerHash;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use unicode_normalization::UnicodeNormalization;
use zeroize::Zeroizing;

use crate::domain::{Password, PasswordHash};
use crate::ports::{Cause, HashError, PasswordHasher, Verification};

/// The working memory of one argon2id hash, kept to be reused
/// ([`Argon2Hasher::memory`]).
pub struct HashMemory(Vec<argon2::Block>);

impl std::fmt::Debug for HashMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HashMemory({} KiB)", self.0.len())
    }
}

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

/// A stored hash's format: ours, or one of the hashers of Django's
/// `PASSWORD_HASHERS` (its default list plus plain bcrypt).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashFormat {
    /// Ours: PHC `$argon2…` (argon2id is what we make), over the NFKC form
    /// of the password.
    Argon2id,
    /// Django `argon2$argon2id$…`.
    DjangoArgon2,
    /// Django `pbkdf2_sha256$…` (its default).
    DjangoPbkdf2Sha256,
    /// Django `pbkdf2_sha1$…`.
    DjangoPbkdf2Sha1,
    /// Django `bcrypt_sha256$…` (bcrypt over the SHA-256 of the password).
    DjangoBcryptSha256,
    /// Django `bcrypt$…` (bcrypt over the first 72 bytes of the password).
    DjangoBcrypt,
    /// Django `scrypt$…`.
    DjangoScrypt,
    /// Django's unusable password (`!` and random text): never matches.
    Unusable,
}

impl HashFormat {
    /// The format of `encoded`, or `None` for one we cannot verify (such as
    /// Django's legacy `md5$…` or `sha1$…`, which Django itself no longer
    /// enables).
    pub fn of(encoded: &str) -> Option<Self> {
        if encoded.starts_with('!') {
            return Some(Self::Unusable);
        }
        if encoded.starts_with("$argon2") {
            return Some(Self::Argon2id);
        }
        let (name, _) = encoded.split_once('$')?;
        Some(match name {
            "argon2" => Self::DjangoArgon2,
            "pbkdf2_sha256" => Self::DjangoPbkdf2Sha256,
            "pbkdf2_sha1" => Self::DjangoPbkdf2Sha1,
            "bcrypt_sha256" => Self::DjangoBcryptSha256,
            "bcrypt" => Self::DjangoBcrypt,
            "scrypt" => Self::DjangoScrypt,
            _ => return None,
        })
    }

    /// Whether this is our own format, made by this server (a password set
    /// or upgraded here).
    pub fn is_native(self) -> bool {
        self == Self::Argon2id
    }
}

/// Hashes with argon2id and verifies every [`HashFormat`].
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

    /// Working memory for one hash at the configured cost (`m_cost` KiB),
    /// to be reused hash after hash by [`hash_in`](Self::hash_in) and
    /// [`verify_in`](Self::verify_in): a thread that keeps one never
    /// allocates another, so the memory of hashing stays bounded by the
    /// threads that hash.
    pub fn memory(&self) -> HashMemory {
        HashMemory(vec![
            argon2::Block::default();
            self.argon2.params().block_count()
        ])
    }

    /// [`hash_sync`](Self::hash_sync) in `memory`: the same hash (same
    /// PHC string for the same salt), without allocating its blocks.
    pub fn hash_in(
        &self,
        password: &Password,
        memory: &mut HashMemory,
    ) -> Result<PasswordHash, HashError> {
        let failed = |e: &dyn std::fmt::Display| HashError::Failed(Cause::msg(e.to_string()));
        let mut salt = [0u8; 16];
        rand::fill(&mut salt[..]);
        let salt = Salt::new(&salt).map_err(|e| failed(&e))?;
        let output = self
            .raw_in(normalized(password).as_bytes(), &salt, memory)
            .map_err(|e| failed(&e))?;
        let phc = Phc {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(self.argon2.params()).map_err(|e| failed(&e))?,
            salt: Some(salt),
            hash: Some(output),
        };
        Ok(PasswordHash::new(phc.to_string()))
    }

    /// [`verify_sync`](Self::verify_sync), computing a hash of ours (argon2id
    /// at the configured cost) in `memory`; any other format as there.
    pub fn verify_in(
        &self,
        password: &Password,
        hash: &PasswordHash,
        memory: &mut HashMemory,
    ) -> Verification {
        self.verify_with(password, hash, Some(memory))
    }

    /// [`verify_dummy_sync`](Self::verify_dummy_sync) in `memory`.
    pub fn verify_dummy_in(&self, password: &Password, memory: &mut HashMemory) {
        let _ = self.verify_with(password, &self.dummy, Some(memory));
    }

    /// argon2id of `password` with `salt` at the configured cost, in `memory`.
    fn raw_in(
        &self,
        password: &[u8],
        salt: &Salt,
        memory: &mut HashMemory,
    ) -> Result<Output, String> {
        let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
        self.argon2
            .hash_password_into_with_memory(password, salt.as_ref(), &mut out, &mut memory.0[..])
            .map_err(|e| e.to_string())?;
        Output::new(&out).map_err(|e| e.to_string())
    }

    /// Whether `encoded` is ours (argon2id, v=19, the configured cost) and
    /// matches `password`, computed in `memory`; `None` when it is not ours.
    fn verify_ours_in(
        &self,
        password: &[u8],
        encoded: &str,
        memory: &mut HashMemory,
    ) -> Option<bool> {
        let phc = Phc::new(encoded).ok()?;
        let stored = Params::try_from(&phc).ok()?;
        let ours = phc.algorithm.as_str() == "argon2id"
            && phc.version == Some(0x13)
            && stored.m_cost() == self.params.m_cost
            && stored.t_cost() == self.params.t_cost
            && stored.p_cost() == self.params.p_cost
            && stored
                .output_len()
                .is_none_or(|len| len == Params::DEFAULT_OUTPUT_LEN);
        if !ours {
            return None;
        }
        let (salt, expected) = (phc.salt?, phc.hash?);
        let computed = self.raw_in(password, &salt, memory).ok()?;
        Some(bool::from(computed.as_bytes().ct_eq(expected.as_bytes())))
    }

    /// Checks `password` against a stored hash of any [`HashFormat`]. A
    /// hash in an unknown or malformed format never matches (as Django's
    /// unusable passwords).
    ///
    /// Our own hashes are of the NFKC form of the password, so a composed
    /// "ü" and a decomposed one are the same password; Django's hashes are
    /// of the text as typed (Django does not normalise), and are checked so.
    pub fn verify_sync(&self, password: &Password, hash: &PasswordHash) -> Verification {
        self.verify_with(password, hash, None)
    }

    fn verify_with(
        &self,
        password: &Password,
        hash: &PasswordHash,
        memory: Option<&mut HashMemory>,
    ) -> Verification {
        let pw = password.expose().as_bytes();
        let encoded = hash.as_str();
        let matched = match HashFormat::of(encoded) {
            Some(HashFormat::Argon2id) => {
                let normal = normalized(password);
                memory
                    .and_then(|memory| self.verify_ours_in(normal.as_bytes(), encoded, memory))
                    .unwrap_or_else(|| verify_phc(normal.as_bytes(), encoded))
            }
            Some(HashFormat::DjangoArgon2) => {
                verify_phc(pw, &format!("${}", &encoded["argon2$".len()..]))
            }
            Some(HashFormat::DjangoPbkdf2Sha256) => {
                verify_django_pbkdf2::<Sha256>(pw, after_dollar(encoded))
            }
            Some(HashFormat::DjangoPbkdf2Sha1) => {
                verify_django_pbkdf2::<Sha1>(pw, after_dollar(encoded))
            }
            Some(HashFormat::DjangoBcryptSha256) => {
                verify_django_bcrypt_sha256(pw, after_dollar(encoded))
            }
            Some(HashFormat::DjangoBcrypt) => {
                bcrypt::verify(pw, after_dollar(encoded)).unwrap_or(false)
            }
            Some(HashFormat::DjangoScrypt) => verify_django_scrypt(pw, after_dollar(encoded)),
            Some(HashFormat::Unusable) | None => false,
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

/// What follows the algorithm name of a Django hash (`name$rest`).
fn after_dollar(encoded: &str) -> &str {
    encoded.split_once('$').map_or("", |(_, rest)| rest)
}

/// `pbkdf2_<digest>$<iterations>$<salt>$<base64 of the key>`, the key as
/// long as the digest's output (Django's default `dklen`).
fn verify_django_pbkdf2<D: EagerHash>(password: &[u8], rest: &str) -> bool {
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
    let mut key = vec![0u8; <D as Digest>::output_size()];
    pbkdf2::pbkdf2_hmac::<D>(password, salt.as_bytes(), iterations, &mut key);
    STANDARD
        .encode(key)
        .as_bytes()
        .ct_eq(expected.as_bytes())
        .into()
}

/// Largest scrypt cost an imported hash may ask for: Django's default is
/// n = 2^14, r = 8 (16 MiB); a row asking for more than 1 GiB is refused
/// rather than allowed to exhaust the server's memory at login.
const SCRYPT_MAX_MEMORY: u64 = 1 << 30;

/// `scrypt$<n>$<salt>$<r>$<p>$<base64 of the 64-byte key>`.
fn verify_django_scrypt(password: &[u8], rest: &str) -> bool {
    let Some(hash) = DjangoScrypt::parse(rest) else {
        return false;
    };
    let Ok(params) = scrypt::Params::new(hash.log_n, hash.r, hash.p) else {
        return false;
    };
    let mut key = [0u8; 64];
    if scrypt::scrypt(password, hash.salt.as_bytes(), &params, &mut key).is_err() {
        return false;
    }
    STANDARD
        .encode(key)
        .as_bytes()
        .ct_eq(hash.expected.as_bytes())
        .into()
}

/// The fields of a Django scrypt hash, within the cost we accept.
struct DjangoScrypt<'a> {
    log_n: u8,
    salt: &'a str,
    r: u32,
    p: u32,
    expected: &'a str,
}

impl<'a> DjangoScrypt<'a> {
    fn parse(rest: &'a str) -> Option<Self> {
        let mut parts = rest.splitn(5, '$');
        let n: u64 = parts.next()?.parse().ok()?;
        let salt = parts.next()?;
        let r: u32 = parts.next()?.parse().ok()?;
        let p: u32 = parts.next()?.parse().ok()?;
        let expected = parts.next()?;
        if !n.is_power_of_two() || n < 2 || r == 0 || p == 0 {
            return None;
        }
        let memory = 128u64.saturating_mul(u64::from(r)).saturating_mul(n);
        if memory > SCRYPT_MAX_MEMORY || p > 16 {
            return None;
        }
        Some(Self {
            log_n: u8::try_from(n.trailing_zeros()).ok()?,
            salt,
            r,
            p,
            expected,
        })
    }
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
    fn hashing_in_kept_memory_agrees_with_the_library_both_ways() {
        let hasher = fast();
        let mut memory = hasher.memory();
        let right = Password::new("correct horse");
        let wrong = Password::new("correct horsf");
        let matched = Verification::Match {
            needs_rehash: false,
        };
        // The library's hash checked in kept memory, and ours by the library,
        // again and again in the same memory.
        for _ in 0..3 {
            let theirs = hasher.hash_sync(&right).unwrap();
            let ours = hasher.hash_in(&right, &mut memory).unwrap();
            assert_eq!(hasher.verify_in(&right, &theirs, &mut memory), matched);
            assert_eq!(hasher.verify_sync(&right, &ours), matched);
            assert_eq!(hasher.verify_in(&right, &ours, &mut memory), matched);
            assert_eq!(
                hasher.verify_in(&wrong, &ours, &mut memory),
                Verification::Mismatch
            );
            assert_eq!(
                ours.as_str().split('$').take(4).collect::<Vec<_>>(),
                theirs.as_str().split('$').take(4).collect::<Vec<_>>(),
                "same variant, version and parameters"
            );
        }
        // A hash at another cost is checked as before, and asks for a rehash.
        let other = Argon2Hasher::new(Argon2Params {
            m_cost: 512,
            t_cost: 1,
            p_cost: 1,
        })
        .unwrap()
        .hash_sync(&right)
        .unwrap();
        assert_eq!(
            hasher.verify_in(&right, &other, &mut memory),
            Verification::Match { needs_rehash: true }
        );
        assert_eq!(
            hasher.verify_in(&wrong, &other, &mut memory),
            Verification::Mismatch
        );
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

    const DJANGO_PBKDF2_SHA1: &str = "pbkdf2_sha1$1000$c2FsdHNhbHQ$izXkhNHFfyZC0zoulmYB0tCXvkI=";
    const DJANGO_BCRYPT: &str =
        "bcrypt$$2b$04$N1ro/14iIDqVC23477wkTOlIVfBb7A5PFyX8GDr4eYDZk5kf5BFny";
    const DJANGO_SCRYPT: &str = "scrypt$1024$c2FsdHNhbHQ$8$1$SFOY2SApdveiOAHkO3eNpdTHKl+Ht9UL7tNZA7dDZxOQZXmz84UIs+aza3W8NC3K+lGq9qsog043gkosfMhQIA==";

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
    fn django_pbkdf2_sha1_hash_verifies_and_needs_rehash() {
        assert_imported(DJANGO_PBKDF2_SHA1, "sha1 pass", "sha1 Pass");
    }

    #[test]
    fn django_bcrypt_hash_verifies_and_needs_rehash() {
        assert_imported(DJANGO_BCRYPT, "plain bcrypt", "plain bcrypT");
    }

    #[test]
    fn django_scrypt_hash_verifies_and_needs_rehash() {
        assert_imported(DJANGO_SCRYPT, "scrypt pass", "scrypt pas");
    }

    #[test]
    fn formats_are_recognised_by_their_prefix() {
        let cases = [
            (DJANGO_PBKDF2, Some(HashFormat::DjangoPbkdf2Sha256)),
            (DJANGO_PBKDF2_SHA1, Some(HashFormat::DjangoPbkdf2Sha1)),
            (DJANGO_ARGON2, Some(HashFormat::DjangoArgon2)),
            (DJANGO_BCRYPT_SHA256, Some(HashFormat::DjangoBcryptSha256)),
            (DJANGO_BCRYPT, Some(HashFormat::DjangoBcrypt)),
            (DJANGO_SCRYPT, Some(HashFormat::DjangoScrypt)),
            (
                "!X5dAkDh2Ud0CJ9HKmAPNwNwGbhaT7Yx9Q8UEo9Rf",
                Some(HashFormat::Unusable),
            ),
            (
                "$argon2id$v=19$m=256,t=1,p=1$c2FsdA$aGFzaA",
                Some(HashFormat::Argon2id),
            ),
            ("md5$salt$0123", None),
            ("sha1$salt$0123", None),
            ("plain text", None),
        ];
        for (encoded, format) in cases {
            assert_eq!(HashFormat::of(encoded), format, "{encoded}");
        }
        assert!(HashFormat::Argon2id.is_native());
        assert!(!HashFormat::DjangoArgon2.is_native());
    }

    #[test]
    fn scrypt_costs_beyond_the_memory_cap_never_match() {
        // n = 2^20, r = 16: 2 GiB, refused before any memory is taken.
        let greedy = "scrypt$1048576$c2FsdHNhbHQ$16$1$SFOY2SApdveiOAHkO3eNpdTHKl+Ht9UL7tNZA7dDZxOQZXmz84UIs+aza3W8NC3K+lGq9qsog043gkosfMhQIA==";
        assert_eq!(
            fast().verify_sync(&Password::new("scrypt pass"), &PasswordHash::new(greedy)),
            Verification::Mismatch
        );
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
            "scrypt$1000$salt$8$1$x",
            "scrypt$1024$salt$0$1$x",
            "bcrypt$$2b$04$short",
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
