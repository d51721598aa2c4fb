//! `TokenManager` on Redis.
//!
//! Keys (all under the configured prefix):
//! - `t:<digest>` → `"<user id>:<kind>:<last use, unix seconds>"`, with the
//!   kind's TTL;
//! - `u:{<user id>}` → set of `"<kind>:<digest>"`, the per-user index that
//!   revoke-all walks;
//! - `g:{<user id>}` → generation of the DRR profile's derived token.
//!
//! Only SHA-256 digests are stored. Commands touch one key each, so they
//! work unchanged on Redis Cluster.

use std::time::Duration;

use async_trait::async_trait;
use auth_core::credentials::{
    TokenMode, credential_id, derived_token, digest, kind_from_name, kind_name, random_token,
    touch_every,
};
use auth_core::domain::UserId;
use auth_core::ports::{AuthToken, CredentialInfo, CredentialKind, TokenError, TokenManager};

use crate::RedisConnection;

/// How long credentials live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TokenTtl {
    /// API tokens (`None`: no expiry, as DRR's).
    pub token: Option<Duration>,
    /// Sessions (`None`: no expiry).
    pub session: Option<Duration>,
    /// Each successful use restarts the TTL (idle timeout) instead of a
    /// fixed lifetime from issue.
    pub sliding: bool,
    /// Credentials unused for this long are refused, within their fixed
    /// lifetime (which use does not extend, unlike `sliding`).
    pub idle: Option<Duration>,
}

impl TokenTtl {
    fn of(&self, kind: CredentialKind) -> Option<Duration> {
        match kind {
            CredentialKind::Token => self.token,
            CredentialKind::Session => self.session,
        }
    }
}

/// Tokens and sessions in Redis, shared by every server instance.
#[derive(Debug, Clone)]
pub struct RedisTokenManager {
    conn: RedisConnection,
    prefix: String,
    mode: std::sync::Arc<TokenMode>,
    ttl: TokenTtl,
}

/// A stored credential: `"<user>:<kind>[:<last use>]"` (entries written
/// before the last-use field have none and count as just used).
#[derive(Clone, Copy)]
struct Entry<'a> {
    user: &'a str,
    kind: &'a str,
    last_used: Option<i64>,
}

impl<'a> Entry<'a> {
    fn parse(value: &'a str) -> Option<Self> {
        let mut fields = value.splitn(3, ':');
        let user = fields.next()?;
        let kind = fields.next()?;
        let last_used = fields.next().and_then(|t| t.parse().ok());
        Some(Self {
            user,
            kind,
            last_used,
        })
    }
}

fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn fail(error: redis::RedisError) -> TokenError {
    TokenError(error.to_string())
}

impl RedisTokenManager {
    /// A manager using keys under `prefix` (e.g. `auth:`).
    pub fn new(
        conn: RedisConnection,
        prefix: impl Into<String>,
        mode: TokenMode,
        ttl: TokenTtl,
    ) -> Self {
        Self {
            conn,
            prefix: prefix.into(),
            mode: std::sync::Arc::new(mode),
            ttl,
        }
    }

    fn token_key(&self, token: &AuthToken) -> String {
        format!("{}t:{}", self.prefix, hex::encode(digest(token)))
    }

    fn index_key(&self, user: UserId) -> String {
        format!("{}u:{{{}}}", self.prefix, user.get())
    }

    fn generation_key(&self, user: UserId) -> String {
        format!("{}g:{{{}}}", self.prefix, user.get())
    }

    async fn bump_generation(&self, user: UserId) -> Result<(), TokenError> {
        if matches!(*self.mode, TokenMode::OnePerUser { .. }) {
            self.conn
                .run::<i64>(redis::cmd("INCR").arg(self.generation_key(user)))
                .await
                .map_err(fail)?;
        }
        Ok(())
    }
}

#[async_trait]
impl TokenManager for RedisTokenManager {
    async fn provide(&self, user: UserId, kind: CredentialKind) -> Result<AuthToken, TokenError> {
        let token = match (&*self.mode, kind) {
            (TokenMode::OnePerUser { key }, CredentialKind::Token) => {
                let generation: Option<i64> = self
                    .conn
                    .run(redis::cmd("GET").arg(self.generation_key(user)))
                    .await
                    .map_err(fail)?;
                derived_token(key, user, generation.unwrap_or(0))
            }
            _ => random_token(),
        };
        let member = format!("{}:{}", kind_name(kind), hex::encode(digest(&token)));
        // Index first: a failure between the two leaves a harmless dangling
        // index entry, never a live token that revoke-all cannot find.
        self.conn
            .run::<i64>(redis::cmd("SADD").arg(self.index_key(user)).arg(&member))
            .await
            .map_err(fail)?;
        let mut set = redis::cmd("SET");
        set.arg(self.token_key(&token)).arg(format!(
            "{}:{}:{}",
            user.get(),
            kind_name(kind),
            unix_now()
        ));
        if let Some(ttl) = self.ttl.of(kind) {
            set.arg("PX")
                .arg(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX));
        }
        self.conn.run::<()>(&set).await.map_err(fail)?;
        Ok(token)
    }

    async fn authenticate(
        &self,
        token: &AuthToken,
        kind: CredentialKind,
    ) -> Result<Option<UserId>, TokenError> {
        let key = self.token_key(token);
        let value: Option<String> = self
            .conn
            .run(redis::cmd("GET").arg(&key))
            .await
            .map_err(fail)?;
        let Some(entry) = value.as_deref().and_then(Entry::parse) else {
            return Ok(None);
        };
        if entry.kind != kind_name(kind) {
            return Ok(None);
        }
        if !self.fresh(Some(entry)) {
            return Ok(None);
        }
        let now = unix_now();
        if let Some(idle) = self.ttl.idle {
            // Record the use now and then; KEEPTTL keeps the lifetime
            // fixed, XX never revives a key revoked meanwhile.
            let every = touch_every(time::Duration::seconds(
                i64::try_from(idle.as_secs()).unwrap_or(i64::MAX),
            ));
            if entry.last_used.is_none_or(|used| now - used >= every) {
                self.conn
                    .run::<Option<String>>(
                        redis::cmd("SET")
                            .arg(&key)
                            .arg(format!("{}:{}:{now}", entry.user, entry.kind))
                            .arg("KEEPTTL")
                            .arg("XX"),
                    )
                    .await
                    .map_err(fail)?;
            }
        }
        if let (true, Some(ttl)) = (self.ttl.sliding, self.ttl.of(kind)) {
            let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
            self.conn
                .run::<i64>(redis::cmd("PEXPIRE").arg(&key).arg(millis))
                .await
                .map_err(fail)?;
        }
        Ok(entry.user.parse().ok().map(UserId::new))
    }

    async fn revoke(&self, token: &AuthToken, kind: CredentialKind) -> Result<bool, TokenError> {
        let key = self.token_key(token);
        let value: Option<String> = self
            .conn
            .run(redis::cmd("GET").arg(&key))
            .await
            .map_err(fail)?;
        let Some(user) = value
            .as_deref()
            .and_then(Entry::parse)
            .filter(|entry| entry.kind == kind_name(kind))
            .and_then(|entry| entry.user.parse::<i64>().ok())
            .map(UserId::new)
        else {
            return Ok(false);
        };
        let deleted: i64 = self
            .conn
            .run(redis::cmd("DEL").arg(&key))
            .await
            .map_err(fail)?;
        let member = format!("{}:{}", kind_name(kind), hex::encode(digest(token)));
        self.conn
            .run::<i64>(redis::cmd("SREM").arg(self.index_key(user)).arg(member))
            .await
            .map_err(fail)?;
        if deleted > 0 && kind == CredentialKind::Token {
            self.bump_generation(user).await?;
        }
        Ok(deleted > 0)
    }

    async fn revoke_all(
        &self,
        user: UserId,
        kind: Option<CredentialKind>,
        keep: Option<AuthToken>,
    ) -> Result<u64, TokenError> {
        let index = self.index_key(user);
        let members: Vec<String> = self
            .conn
            .run(redis::cmd("SMEMBERS").arg(&index))
            .await
            .map_err(fail)?;
        let keep = keep.map(|k| hex::encode(digest(&k)));
        let mut revoked = 0;
        let mut revoked_token = false;
        for member in members {
            let Some((member_kind, hex_digest)) = member.split_once(':') else {
                continue;
            };
            if kind.is_some_and(|k| kind_name(k) != member_kind)
                || keep.as_deref() == Some(hex_digest)
            {
                continue;
            }
            let key = format!("{}t:{hex_digest}", self.prefix);
            let deleted: i64 = self
                .conn
                .run(redis::cmd("DEL").arg(key))
                .await
                .map_err(fail)?;
            self.conn
                .run::<i64>(redis::cmd("SREM").arg(&index).arg(&member))
                .await
                .map_err(fail)?;
            if deleted > 0 {
                revoked += 1;
                revoked_token |= member_kind == kind_name(CredentialKind::Token);
            }
        }
        if revoked_token {
            self.bump_generation(user).await?;
        }
        Ok(revoked)
    }

    async fn list(&self, user: UserId) -> Result<Vec<CredentialInfo>, TokenError> {
        let mut live = Vec::new();
        for (member, kind, hex_digest) in self.index(user).await? {
            let key = format!("{}t:{hex_digest}", self.prefix);
            let value: Option<String> = self
                .conn
                .run(redis::cmd("GET").arg(&key))
                .await
                .map_err(fail)?;
            let Some(value) = value else {
                // Expired: tidy the index on the way.
                self.conn
                    .run::<i64>(redis::cmd("SREM").arg(self.index_key(user)).arg(&member))
                    .await
                    .map_err(fail)?;
                continue;
            };
            if !self.fresh(Entry::parse(&value)) {
                continue;
            }
            let Ok(digest) = hex::decode(&hex_digest) else {
                continue;
            };
            live.push(CredentialInfo {
                id: credential_id(&digest),
                kind,
                // Redis keeps no issue time.
                created_at: None,
            });
        }
        Ok(live)
    }

    async fn revoke_id(&self, user: UserId, id: &str) -> Result<bool, TokenError> {
        let found = self
            .index(user)
            .await?
            .into_iter()
            .find(|(_, _, hex_digest)| {
                hex::decode(hex_digest).is_ok_and(|digest| credential_id(&digest) == id)
            });
        let Some((member, kind, hex_digest)) = found else {
            return Ok(false);
        };
        let deleted: i64 = self
            .conn
            .run(redis::cmd("DEL").arg(format!("{}t:{hex_digest}", self.prefix)))
            .await
            .map_err(fail)?;
        self.conn
            .run::<i64>(redis::cmd("SREM").arg(self.index_key(user)).arg(&member))
            .await
            .map_err(fail)?;
        if deleted > 0 && kind == CredentialKind::Token {
            self.bump_generation(user).await?;
        }
        Ok(deleted > 0)
    }
}

impl RedisTokenManager {
    /// Whether `entry` was used within the idle timeout (always, without one).
    fn fresh(&self, entry: Option<Entry<'_>>) -> bool {
        let Some(idle) = self.ttl.idle else {
            return true;
        };
        let idle = i64::try_from(idle.as_secs()).unwrap_or(i64::MAX);
        entry
            .and_then(|e| e.last_used)
            .is_none_or(|used| used >= unix_now().saturating_sub(idle))
    }

    /// The user's index entries: (member, kind, hex digest).
    async fn index(
        &self,
        user: UserId,
    ) -> Result<Vec<(String, CredentialKind, String)>, TokenError> {
        let members: Vec<String> = self
            .conn
            .run(redis::cmd("SMEMBERS").arg(self.index_key(user)))
            .await
            .map_err(fail)?;
        Ok(members
            .into_iter()
            .filter_map(|member| {
                let (kind, hex_digest) = member.split_once(':')?;
                let kind = kind_from_name(kind)?;
                let hex_digest = hex_digest.to_owned();
                Some((member, kind, hex_digest))
            })
            .collect())
    }
}
