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

use std::sync::Arc;

use async_trait::async_trait;
use auth_core::credentials::{
    CredentialPolicy, Stamps, TokenMode, credential_id, derived_token, digest, kind_from_name,
    kind_name, random_token,
};
use auth_core::domain::UserId;
use auth_core::ports::{
    Adopted, Adoption, AuthToken, Cause, Clock, CredentialInfo, CredentialKind, Holds, LiveCount,
    Resolved, TokenError, TokenManager,
};
use time::{Duration, OffsetDateTime};

use crate::RedisConnection;

/// Tokens and sessions in Redis, shared by every server instance. Whether a
/// credential still works is the core's [`CredentialPolicy`], read against
/// the [`Clock`] port; Redis's own expiry only tidies up after it.
#[derive(Clone)]
pub struct RedisTokenManager {
    conn: RedisConnection,
    prefix: String,
    mode: Arc<TokenMode>,
    policy: CredentialPolicy,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for RedisTokenManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisTokenManager")
            .field("prefix", &self.prefix)
            .field("mode", &self.mode)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// A stored credential: `"<user>:<kind>:<last use>:<issued>"` in unix
/// seconds, the last use empty until one is recorded. Entries written by
/// older versions lack the issue time (their Redis TTL holds the lifetime),
/// or both times.
#[derive(Clone, Copy)]
struct Entry<'a> {
    user: &'a str,
    kind: &'a str,
    stamps: Stamps,
}

impl<'a> Entry<'a> {
    fn parse(value: &'a str) -> Option<Self> {
        let mut fields = value.splitn(4, ':');
        let user = fields.next()?;
        let kind = fields.next()?;
        let mut time = || fields.next().and_then(|t| t.parse().ok());
        let last_used = time();
        let issued = time();
        Some(Self {
            user,
            kind,
            stamps: Stamps::from_unix(issued, last_used),
        })
    }

    fn format(user: &str, kind: &str, last_used: Option<i64>, issued: Option<i64>) -> String {
        let text = |t: Option<i64>| t.map(|t| t.to_string()).unwrap_or_default();
        format!("{user}:{kind}:{}:{}", text(last_used), text(issued))
    }
}

/// Whether a write may replace a stored credential.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Write {
    /// A login: the credential (re)starts now.
    Replace,
    /// An adopted credential: one already stored is kept as it is.
    IfAbsent,
}

fn fail(error: redis::RedisError) -> TokenError {
    TokenError(Cause::new(error))
}

/// A duration as Redis's `PX` milliseconds.
fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.whole_milliseconds()).unwrap_or(u64::MAX)
}

impl RedisTokenManager {
    /// A manager using keys under `prefix` (e.g. `auth:`), credentials
    /// held to `policy` by `clock`.
    pub fn new(
        conn: RedisConnection,
        prefix: impl Into<String>,
        mode: TokenMode,
        policy: CredentialPolicy,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            conn,
            prefix: prefix.into(),
            mode: Arc::new(mode),
            policy,
            clock,
        }
    }

    fn now(&self) -> OffsetDateTime {
        self.clock.now()
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

    /// Stores `token` for `user`, issued at `issued`, its Redis TTL what is
    /// left of its lifetime; true when it was written.
    async fn store(
        &self,
        user: UserId,
        token: &AuthToken,
        kind: CredentialKind,
        issued: OffsetDateTime,
        write: Write,
    ) -> Result<bool, TokenError> {
        let member = format!("{}:{}", kind_name(kind), hex::encode(digest(token)));
        // Index first: a failure between the two leaves a harmless dangling
        // index entry, never a live token that revoke-all cannot find.
        self.conn
            .run::<i64>(redis::cmd("SADD").arg(self.index_key(user)).arg(&member))
            .await
            .map_err(fail)?;
        let mut set = redis::cmd("SET");
        set.arg(self.token_key(token)).arg(Entry::format(
            &user.get().to_string(),
            kind_name(kind),
            None,
            Some(issued.unix_timestamp()),
        ));
        if let Some(lifetime) = self.policy.lifetime(kind) {
            let left = lifetime - (self.now() - issued);
            set.arg("PX").arg(millis(left).max(1));
        }
        if write == Write::IfAbsent {
            set.arg("NX");
        }
        // SET answers OK, or nil when NX found the key taken.
        let written: Option<String> = self.conn.run(&set).await.map_err(fail)?;
        Ok(written.is_some())
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
        self.store(user, &token, kind, self.now(), Write::Replace)
            .await?;
        Ok(token)
    }

    async fn adopt_all(&self, credentials: &[Adoption]) -> Result<Vec<Adopted>, TokenError> {
        let mut adopted = Vec::with_capacity(credentials.len());
        for credential in credentials {
            let stamps = Stamps::from_unix(Some(credential.issued.unix_timestamp()), None);
            if !self.policy.is_live(credential.kind, stamps, self.now()) {
                adopted.push(Adopted::Expired);
                continue;
            }
            let written = self
                .store(
                    credential.user,
                    &credential.token,
                    credential.kind,
                    credential.issued,
                    Write::IfAbsent,
                )
                .await?;
            adopted.push(if written {
                Adopted::Stored
            } else {
                Adopted::AlreadyStored
            });
        }
        Ok(adopted)
    }

    async fn resolve(
        &self,
        token: &AuthToken,
        kind: CredentialKind,
    ) -> Result<Option<Resolved>, TokenError> {
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
        let now = self.now();
        if !self.policy.is_live(kind, entry.stamps, now) {
            return Ok(None);
        }
        let mut stamps = entry.stamps;
        if self.policy.should_record_use(kind, stamps, now) {
            stamps.last_used = Some(now);
            let issued = entry.stamps.issued.map(OffsetDateTime::unix_timestamp);
            let value = Entry::format(entry.user, entry.kind, Some(now.unix_timestamp()), issued);
            // XX never revives a key revoked meanwhile; the expiry stays
            // (KEEPTTL) unless a use restarts the lifetime.
            let mut set = redis::cmd("SET");
            set.arg(&key).arg(value).arg("XX");
            match self.policy.lifetime(kind).filter(|_| self.policy.sliding) {
                Some(lifetime) => set.arg("PX").arg(millis(lifetime)),
                None => set.arg("KEEPTTL"),
            };
            self.conn.run::<Option<String>>(&set).await.map_err(fail)?;
        }
        Ok(entry.user.parse().ok().map(|user| {
            Resolved::owner(
                UserId::new(user),
                Holds::from_bound(self.policy.holds_until(kind, stamps, now), now),
            )
        }))
    }

    async fn revoke(
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
        let Some(user) = value
            .as_deref()
            .and_then(Entry::parse)
            .filter(|entry| entry.kind == kind_name(kind))
            .and_then(|entry| entry.user.parse::<i64>().ok())
            .map(UserId::new)
        else {
            return Ok(None);
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
        Ok((deleted > 0).then_some(user))
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
        let now = self.now();
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
            let Some(entry) = Entry::parse(&value) else {
                continue;
            };
            if !self.policy.is_live(kind, entry.stamps, now) {
                continue;
            }
            let Ok(digest) = hex::decode(&hex_digest) else {
                continue;
            };
            live.push(CredentialInfo {
                id: credential_id(&digest),
                kind,
                created_at: entry.stamps.issued,
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

    async fn count_live(&self) -> Result<LiveCount, TokenError> {
        let now = self.now();
        let keys = self
            .conn
            .keys_with_prefix(&format!("{}t:", self.prefix))
            .await
            .map_err(fail)?;
        let mut count = LiveCount::default();
        for batch in keys.chunks(500) {
            let values: Vec<Option<String>> = self
                .conn
                .run(redis::cmd("MGET").arg(batch))
                .await
                .map_err(fail)?;
            for value in values.iter().flatten() {
                let Some(entry) = Entry::parse(value) else {
                    continue;
                };
                match kind_from_name(entry.kind) {
                    Some(kind) if self.policy.is_live(kind, entry.stamps, now) => match kind {
                        CredentialKind::Token => count.tokens += 1,
                        CredentialKind::Session => count.sessions += 1,
                    },
                    _ => {}
                }
            }
        }
        Ok(count)
    }
}

impl RedisTokenManager {
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
