//! simplejwt 5.5's tokens (djoser's `jwt/*`, djoser-api.md §5.2): HS256
//! under the newest secret key, claims `token_type`, `exp`, `iat`, `jti`
//! and `user_id` (the id as text), checked against our clock with no
//! leeway. Signing and checking are jsonwebtoken's; only the claims and the
//! time rules are written here.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use super::SecretKey;
use crate::domain::UserId;

/// Which of simplejwt's two tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenType {
    /// Short-lived, presented as `Authorization: Bearer`.
    Access,
    /// Long-lived, exchanged at `jwt/refresh/` for a new access token.
    Refresh,
}

impl TokenType {
    fn name(self) -> &'static str {
        match self {
            Self::Access => "access",
            Self::Refresh => "refresh",
        }
    }
}

/// simplejwt's claims, in its order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// `access` or `refresh`.
    pub token_type: String,
    /// Expiry, Unix seconds.
    pub exp: i64,
    /// Issue time, Unix seconds.
    pub iat: i64,
    /// 32 lowercase hex characters.
    pub jti: String,
    /// The user's id, as text (simplejwt 5.5 writes it so).
    pub user_id: String,
}

impl Claims {
    /// The user the token names, when `user_id` is an id.
    pub fn user(&self) -> Option<UserId> {
        self.user_id.parse().ok().map(UserId::new)
    }

    /// Whether this is a token of `kind`.
    pub fn is(&self, kind: TokenType) -> bool {
        self.token_type == kind.name()
    }
}

/// Why a token was refused (simplejwt's `TokenError`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    /// Not a well-formed HS256 token signed with our key.
    #[error("Token is invalid")]
    Invalid,
    /// `exp` has passed.
    #[error("Token is expired")]
    Expired,
}

/// Issues and checks simplejwt-compatible tokens.
#[derive(Clone)]
pub struct JwtSigner {
    encoding: EncodingKey,
    decoding: DecodingKey,
    access_lifetime: Duration,
    refresh_lifetime: Duration,
}

impl std::fmt::Debug for JwtSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtSigner").finish_non_exhaustive()
    }
}

/// The signer under the link signer's newest key (simplejwt's
/// `SIGNING_KEY` is Django's `SECRET_KEY`; older keys verify nothing).
impl From<&super::LinkSigner> for JwtSigner {
    fn from(signer: &super::LinkSigner) -> Self {
        match signer.keys().first() {
            Some(key) => Self::new(key),
            // A signer always has a key; without one nothing would verify.
            None => Self::new(&SecretKey(zeroize::Zeroizing::new(hex::encode(
                rand::random::<[u8; 32]>(),
            )))),
        }
    }
}

impl JwtSigner {
    /// simplejwt's defaults: access 5 minutes, refresh 1 day.
    pub const ACCESS_LIFETIME: Duration = Duration::minutes(5);
    /// See [`ACCESS_LIFETIME`](Self::ACCESS_LIFETIME).
    pub const REFRESH_LIFETIME: Duration = Duration::days(1);

    /// A signer with `key` (simplejwt's `SIGNING_KEY`, Django's `SECRET_KEY`).
    pub fn new(key: &SecretKey) -> Self {
        Self {
            encoding: EncodingKey::from_secret(key.bytes()),
            decoding: DecodingKey::from_secret(key.bytes()),
            access_lifetime: Self::ACCESS_LIFETIME,
            refresh_lifetime: Self::REFRESH_LIFETIME,
        }
    }

    /// A new token of `kind` for `user`, issued at `now`.
    pub fn issue(&self, kind: TokenType, user: UserId, now: OffsetDateTime) -> String {
        let lifetime = match kind {
            TokenType::Access => self.access_lifetime,
            TokenType::Refresh => self.refresh_lifetime,
        };
        let iat = now.unix_timestamp();
        let claims = Claims {
            token_type: kind.name().to_owned(),
            exp: iat + lifetime.whole_seconds(),
            iat,
            jti: hex::encode(rand::random::<[u8; 16]>()),
            user_id: user.get().to_string(),
        };
        // Serialising five plain fields cannot fail; an empty token checks as invalid.
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .unwrap_or_default()
    }

    /// The claims of `token` once its signature holds and `exp` is after
    /// `now` (simplejwt: expired when `exp <= now`).
    pub fn check(&self, token: &str, now: OffsetDateTime) -> Result<Claims, JwtError> {
        let mut validation = Validation::new(Algorithm::HS256);
        // Time is checked below, against our clock, without leeway.
        validation.validate_exp = false;
        validation.set_required_spec_claims(&["exp"]);
        let data = jsonwebtoken::decode::<Claims>(token.as_bytes(), &self.decoding, &validation)
            .map_err(|_| JwtError::Invalid)?;
        if data.claims.exp <= now.unix_timestamp() {
            return Err(JwtError::Expired);
        }
        Ok(data.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "example-secret-key-for-vectors";

    fn signer() -> JwtSigner {
        JwtSigner::new(&SecretKey::new(KEY).unwrap())
    }

    fn at(ts: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(ts).unwrap()
    }

    /// restauth-api.md §4.3's vector: simplejwt 5.5.1's own token.
    const VECTOR: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIiwiZXhwIjoxNzk2MTkwOTc3LCJpYXQiOjE3OTYxOTA2NzcsImp0aSI6IjJiMGFlMmY1MDZmYjQzMGRhYmU3Mzk0MWJjOGFjN2UwIiwidXNlcl9pZCI6IjEifQ.xUjR5h_8D0YSW_8mfVdPTf5Di7KNGOnulb25IImjGj0";

    #[test]
    fn simplejwts_own_token_checks_until_it_expires() {
        let claims = signer().check(VECTOR, at(1_796_190_677)).unwrap();
        assert_eq!(claims.user(), Some(UserId::new(1)));
        assert!(claims.is(TokenType::Access) && !claims.is(TokenType::Refresh));
        assert_eq!(
            signer().check(VECTOR, at(1_796_190_976)).map(|c| c.exp),
            Ok(1_796_190_977)
        );
        assert_eq!(
            signer().check(VECTOR, at(1_796_190_977)),
            Err(JwtError::Expired)
        );
    }

    #[test]
    fn issued_claims_are_simplejwts_in_its_order() {
        let token = signer().issue(TokenType::Refresh, UserId::new(42), at(1_000));
        let payload = token.split('.').nth(1).unwrap();
        let json =
            base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
                .unwrap();
        let text = String::from_utf8(json).unwrap();
        assert!(
            text.starts_with(r#"{"token_type":"refresh","exp":87400,"iat":1000,"jti":""#),
            "{text}"
        );
        assert!(text.ends_with(r#"","user_id":"42"}"#), "{text}");
        let claims = signer().check(&token, at(1_000)).unwrap();
        assert_eq!(claims.jti.len(), 32);
    }

    #[test]
    fn another_key_alg_none_and_tampering_are_refused() {
        let other = JwtSigner::new(&SecretKey::new("another key").unwrap());
        let token = other.issue(TokenType::Access, UserId::new(1), at(1_000));
        assert_eq!(signer().check(&token, at(1_000)), Err(JwtError::Invalid));
        let unsigned = format!(
            "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{}.",
            VECTOR.split('.').nth(1).unwrap()
        );
        assert_eq!(
            signer().check(&unsigned, at(1_796_190_677)),
            Err(JwtError::Invalid)
        );
        let tampered = VECTOR.replacen("eyJ0b2tl", "eyJ0b2tM", 1);
        assert_eq!(
            signer().check(&tampered, at(1_796_190_677)),
            Err(JwtError::Invalid)
        );
        assert_eq!(signer().check("garbage", at(0)), Err(JwtError::Invalid));
    }
}
