//! Who is calling: scanner stations with API keys, officers with sessions opened by password.
//! Only hashes are stored: argon2 for passwords (people choose them), sha256 for keys and
//! session tokens (random 256-bit secrets, which a fast hash protects as well). Every change
//! to users and keys is written to the append-only account log with who made it.

use std::sync::OnceLock;
use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::any::Any;
use sqlx::{Row, Transaction};

use crate::ingest::images::hex;
use crate::queue::{Store, StoreError, now_ms, to_rfc3339};
use crate::review::{Officer, Role};

/// The prefix that tells a station key from a session token.
pub const STATION_KEY_PREFIX: &str = "stk_";
/// How long a session lasts: one shift and a bit.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 3600);
/// A session unused this long ends, as the console signs out after as long without input: a
/// browser closed on a shared workstation must not leave a valid cookie for the rest of the shift.
pub const SESSION_IDLE: Duration = Duration::from_secs(30 * 60);
pub const MIN_PASSWORD_CHARS: usize = 10;

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Station { station_id: String, key_id: String },
    User(Officer),
}

/// Whom a valid secret belongs to, when it was last used (to the minute), and the statement
/// and row key that record a use.
struct Holder {
    principal: Principal,
    session_expires_at: Option<i64>,
    last_used_at: Option<i64>,
    use_update: &'static str,
    use_key: String,
}

#[derive(Debug, Clone)]
pub struct Session {
    pub token: String,
    pub officer: Officer,
    pub expires_at: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("user names are 1 to 64 lowercase letters, digits, '.', '_' or '-'")]
    BadName,
    #[error("passwords need at least {MIN_PASSWORD_CHARS} characters")]
    WeakPassword,
    #[error("station ids are 1 to 64 letters, digits, '.', '_', '-' or ':' (as in the scan contract)")]
    BadStation,
    #[error("a user {0} exists already")]
    UserExists(String),
    #[error("no user {0}")]
    NoSuchUser(String),
    #[error("no station key {0}")]
    NoSuchKey(String),
    #[error("wrong user name or password")]
    BadLogin,
    #[error("unknown, revoked or expired credentials")]
    BadCredentials,
    #[error("password hashing failed: {0}")]
    Hashing(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A user as listed to supervisors and admins.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct UserSummary {
    pub name: String,
    pub role: Role,
    /// False once disabled.
    pub active: bool,
}

/// A station key as listed to admins: never the key itself, which is not stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct StationKeySummary {
    pub key_id: String,
    pub station_id: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// RFC 3339, UTC, to the minute; none before the key's first use.
    pub last_used_at: Option<String>,
    /// RFC 3339, UTC; none while the key is valid.
    pub revoked_at: Option<String>,
}

/// How often a key's or session's `last_used_at` is written: once a minute at most, not once per
/// request.
const USE_RESOLUTION_MS: i64 = 60_000;

/// One change to the accounts, as the account log keeps it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct AccountLogEntry {
    pub seq: i64,
    /// RFC 3339, UTC.
    pub at: String,
    /// The admin or user who made the change, or `command line`.
    pub actor: String,
    /// `user_added`, `user_disabled`, `user_enabled`, `password_changed`, `password_reset`,
    /// `key_created`, `key_revoked`.
    pub action: String,
    /// The user's name or the key's id.
    pub subject: String,
    pub details: serde_json::Value,
}

/// The actor of changes made on the service's machine with the `users` and `keys` commands.
pub const COMMAND_LINE: &str = "command line";

/// Accounts kept in the service's database. Every change is written to the append-only account
/// log, with who made it, in the same transaction.
#[derive(Debug, Clone)]
pub struct Accounts {
    store: Store,
    actor: String,
}

impl Accounts {
    /// Accounts changed from the command line.
    pub fn new(store: Store) -> Self {
        Self { store, actor: COMMAND_LINE.to_owned() }
    }

    /// The same accounts, with changes logged as made by `actor`.
    pub fn acting_as(&self, actor: &str) -> Self {
        Self { store: self.store.clone(), actor: actor.to_owned() }
    }

    async fn begin(&self) -> Result<Transaction<'static, Any>, AccountError> {
        Ok(self.store.pool().begin().await.map_err(self.store.error())?)
    }

    async fn log(&self, tx: &mut Transaction<'static, Any>, action: &str, subject: &str, details: serde_json::Value) -> Result<(), AccountError> {
        sqlx::query("INSERT INTO account_log (at, actor, action, subject, details) VALUES ($1, $2, $3, $4, $5)")
            .bind(now_ms())
            .bind(&self.actor)
            .bind(action)
            .bind(subject)
            .bind(details.to_string())
            .execute(&mut **tx)
            .await
            .map_err(self.store.error())?;
        Ok(())
    }

    /// The latest changes, newest first.
    pub async fn account_log(&self, limit: i64) -> Result<Vec<AccountLogEntry>, AccountError> {
        let rows = sqlx::query("SELECT seq, at, actor, action, subject, details FROM account_log ORDER BY seq DESC LIMIT $1")
            .bind(limit)
            .fetch_all(self.store.pool())
            .await
            .map_err(self.store.error())?;
        rows.iter()
            .map(|row| {
                let details: String = row.try_get("details").map_err(self.store.error())?;
                Ok(AccountLogEntry {
                    seq: row.try_get("seq").map_err(self.store.error())?,
                    at: to_rfc3339(row.try_get("at").map_err(self.store.error())?),
                    actor: row.try_get("actor").map_err(self.store.error())?,
                    action: row.try_get("action").map_err(self.store.error())?,
                    subject: row.try_get("subject").map_err(self.store.error())?,
                    details: serde_json::from_str(&details).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                })
            })
            .collect()
    }

    pub async fn add_user(&self, name: &str, role: Role, password: &str) -> Result<(), AccountError> {
        let valid = (1..=64).contains(&name.len())
            && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
        if !valid {
            return Err(AccountError::BadName);
        }
        let hash = strong_password_hash(password).await?;
        let mut tx = self.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO users (name, role, password_hash, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(role.as_str())
        .bind(hash)
        .bind(now_ms())
        .execute(&mut *tx)
        .await
        .map_err(self.store.error())?;
        if inserted.rows_affected() == 0 {
            return Err(AccountError::UserExists(name.to_owned()));
        }
        self.log(&mut tx, "user_added", name, serde_json::json!({ "role": role.as_str() })).await?;
        Ok(tx.commit().await.map_err(self.store.error())?)
    }

    /// Every user, the active ones first, each group by name.
    pub async fn users(&self) -> Result<Vec<UserSummary>, AccountError> {
        let rows = sqlx::query("SELECT name, role, disabled_at FROM users ORDER BY disabled_at IS NOT NULL, name")
            .fetch_all(self.store.pool())
            .await
            .map_err(self.store.error())?;
        rows.iter()
            .map(|row| {
                let role: String = row.try_get("role").map_err(self.store.error())?;
                let disabled_at: Option<i64> = row.try_get("disabled_at").map_err(self.store.error())?;
                let name = row.try_get("name").map_err(self.store.error())?;
                Ok(UserSummary { name, role: parse_role(&role)?, active: disabled_at.is_none() })
            })
            .collect()
    }

    /// Disables a user and ends their sessions; the name stays taken, as the audit log uses it.
    pub async fn disable_user(&self, name: &str) -> Result<(), AccountError> {
        let mut tx = self.begin().await?;
        let done = sqlx::query("UPDATE users SET disabled_at = $1 WHERE name = $2 AND disabled_at IS NULL")
            .bind(now_ms())
            .bind(name)
            .execute(&mut *tx)
            .await
            .map_err(self.store.error())?;
        if done.rows_affected() == 0 {
            return Err(AccountError::NoSuchUser(name.to_owned()));
        }
        sqlx::query("DELETE FROM sessions WHERE user_name = $1")
            .bind(name)
            .execute(&mut *tx)
            .await
            .map_err(self.store.error())?;
        self.log(&mut tx, "user_disabled", name, serde_json::json!({})).await?;
        Ok(tx.commit().await.map_err(self.store.error())?)
    }

    /// Lets a disabled user sign in again, with the password they had.
    pub async fn enable_user(&self, name: &str) -> Result<(), AccountError> {
        let mut tx = self.begin().await?;
        let done = sqlx::query("UPDATE users SET disabled_at = NULL WHERE name = $1 AND disabled_at IS NOT NULL")
            .bind(name)
            .execute(&mut *tx)
            .await
            .map_err(self.store.error())?;
        if done.rows_affected() == 0 {
            return Err(AccountError::NoSuchUser(name.to_owned()));
        }
        self.log(&mut tx, "user_enabled", name, serde_json::json!({})).await?;
        Ok(tx.commit().await.map_err(self.store.error())?)
    }

    /// A new key for a station: (key id, the key). The key is shown once and never stored.
    pub async fn create_station_key(&self, station_id: &str) -> Result<(String, String), AccountError> {
        let valid = (1..=64).contains(&station_id.len())
            && station_id.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-:".contains(&b));
        if !valid {
            return Err(AccountError::BadStation);
        }
        let key_id = format!("key_{}", &hex(&random_bytes::<6>()));
        let key = format!("{STATION_KEY_PREFIX}{}", hex(&random_bytes::<32>()));
        let mut tx = self.begin().await?;
        sqlx::query("INSERT INTO station_keys (id, station_id, key_hash, created_at) VALUES ($1, $2, $3, $4)")
            .bind(&key_id)
            .bind(station_id)
            .bind(secret_hash(&key))
            .bind(now_ms())
            .execute(&mut *tx)
            .await
            .map_err(self.store.error())?;
        self.log(&mut tx, "key_created", &key_id, serde_json::json!({ "station_id": station_id })).await?;
        tx.commit().await.map_err(self.store.error())?;
        Ok((key_id, key))
    }

    /// Every station key, the valid ones first, each group by station and then newest first.
    pub async fn station_keys(&self) -> Result<Vec<StationKeySummary>, AccountError> {
        let rows = sqlx::query(
            "SELECT id, station_id, created_at, last_used_at, revoked_at FROM station_keys \
             ORDER BY revoked_at IS NOT NULL, station_id, created_at DESC, id",
        )
        .fetch_all(self.store.pool())
        .await
        .map_err(self.store.error())?;
        rows.iter()
            .map(|row| {
                let time = |column: &str| row.try_get::<Option<i64>, _>(column).map(|at| at.map(to_rfc3339)).map_err(self.store.error());
                Ok(StationKeySummary {
                    key_id: row.try_get("id").map_err(self.store.error())?,
                    station_id: row.try_get("station_id").map_err(self.store.error())?,
                    created_at: to_rfc3339(row.try_get("created_at").map_err(self.store.error())?),
                    last_used_at: time("last_used_at")?,
                    revoked_at: time("revoked_at")?,
                })
            })
            .collect()
    }

    pub async fn revoke_station_key(&self, key_id: &str) -> Result<(), AccountError> {
        let mut tx = self.begin().await?;
        let station: Option<String> =
            sqlx::query_scalar("UPDATE station_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL RETURNING station_id")
                .bind(now_ms())
                .bind(key_id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(self.store.error())?;
        let Some(station) = station else {
            return Err(AccountError::NoSuchKey(key_id.to_owned()));
        };
        self.log(&mut tx, "key_revoked", key_id, serde_json::json!({ "station_id": station })).await?;
        Ok(tx.commit().await.map_err(self.store.error())?)
    }

    /// Opens a session for a user whose password matches.
    pub async fn login(&self, name: &str, password: &str) -> Result<Session, AccountError> {
        let role = self.check_password(name, password).await?;
        let token = hex(&random_bytes::<32>());
        let now = now_ms();
        let expires_at = now + i64::try_from(SESSION_LIFETIME.as_millis()).unwrap_or(i64::MAX / 2);
        sqlx::query("INSERT INTO sessions (token_hash, user_name, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(secret_hash(&token))
            .bind(name)
            .bind(now)
            .bind(expires_at)
            .execute(self.store.pool())
            .await
            .map_err(self.store.error())?;
        Ok(Session { token, officer: Officer { name: name.to_owned(), role }, expires_at })
    }

    /// Changes an active user's password after checking the current one, and ends their other
    /// sessions: a password changed because someone else knew it locks that someone out.
    pub async fn change_password(&self, name: &str, current: &str, new: &str, session_token: &str) -> Result<(), AccountError> {
        self.check_password(name, current).await?;
        self.store_password(name, new, Some(session_token), "password_changed").await
    }

    /// Sets an active user's password (admins, when it is forgotten) and ends their sessions.
    pub async fn reset_password(&self, name: &str, password: &str) -> Result<(), AccountError> {
        self.store_password(name, password, None, "password_reset").await
    }

    /// Stores a new password for an active user and ends their sessions, all but the one of
    /// `keep_session`; logged as `action`.
    async fn store_password(&self, name: &str, password: &str, keep_session: Option<&str>, action: &str) -> Result<(), AccountError> {
        let hash = strong_password_hash(password).await?;
        let mut tx = self.begin().await?;
        let done = sqlx::query("UPDATE users SET password_hash = $1 WHERE name = $2 AND disabled_at IS NULL")
            .bind(hash)
            .bind(name)
            .execute(&mut *tx)
            .await
            .map_err(self.store.error())?;
        if done.rows_affected() == 0 {
            return Err(AccountError::NoSuchUser(name.to_owned()));
        }
        sqlx::query("DELETE FROM sessions WHERE user_name = $1 AND token_hash <> $2")
            .bind(name)
            .bind(keep_session.map(secret_hash).unwrap_or_default())
            .execute(&mut *tx)
            .await
            .map_err(self.store.error())?;
        self.log(&mut tx, action, name, serde_json::json!({})).await?;
        Ok(tx.commit().await.map_err(self.store.error())?)
    }

    /// The role of an active user whose password this is.
    async fn check_password(&self, name: &str, password: &str) -> Result<Role, AccountError> {
        let row = sqlx::query("SELECT role, password_hash FROM users WHERE name = $1 AND disabled_at IS NULL")
            .bind(name)
            .fetch_optional(self.store.pool())
            .await
            .map_err(self.store.error())?;
        let (role, hash) = match row {
            Some(row) => (
                Some(row.try_get::<String, _>("role").map_err(self.store.error())?),
                Some(row.try_get::<String, _>("password_hash").map_err(self.store.error())?),
            ),
            None => (None, None),
        };
        let password = password.to_owned();
        let matches = crate::on_blocking_thread(move || {
            // An unknown name is checked against a decoy: answering it at once would tell
            // from the timing which names exist.
            let hash = match &hash {
                Some(hash) => hash.as_str(),
                None => decoy_hash()?,
            };
            let parsed = PasswordHash::new(hash).map_err(|e| AccountError::Hashing(e.to_string()))?;
            Ok::<_, AccountError>(Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
        })
        .await?;
        let (true, Some(role)) = (matches, role) else {
            return Err(AccountError::BadLogin);
        };
        parse_role(&role)
    }

    pub async fn logout(&self, token: &str) -> Result<(), AccountError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(secret_hash(token))
            .execute(self.store.pool())
            .await
            .map_err(self.store.error())?;
        Ok(())
    }

    /// Who a bearer secret (station key or session token) belongs to, with the session's expiry;
    /// records the use.
    pub async fn authenticate(&self, secret: &str) -> Result<(Principal, Option<i64>), AccountError> {
        let holder = self.holder(secret).await?;
        // A station uploading all day writes this 1 440 times.
        self.note_use(holder.use_update, &holder.use_key, holder.last_used_at).await?;
        Ok((holder.principal, holder.session_expires_at))
    }

    /// Whether a secret still authenticates, without counting this as a use: an open event
    /// stream asking does not keep an idle session alive.
    pub async fn is_current(&self, secret: &str) -> Result<bool, AccountError> {
        match self.holder(secret).await {
            Ok(_) => Ok(true),
            Err(AccountError::BadCredentials) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn holder(&self, secret: &str) -> Result<Holder, AccountError> {
        let hash = secret_hash(secret);
        if secret.starts_with(STATION_KEY_PREFIX) {
            let row = sqlx::query("SELECT id, station_id, last_used_at FROM station_keys WHERE key_hash = $1 AND revoked_at IS NULL")
                .bind(hash)
                .fetch_optional(self.store.pool())
                .await
                .map_err(self.store.error())?
                .ok_or(AccountError::BadCredentials)?;
            let key_id: String = row.try_get("id").map_err(self.store.error())?;
            return Ok(Holder {
                principal: Principal::Station {
                    station_id: row.try_get("station_id").map_err(self.store.error())?,
                    key_id: key_id.clone(),
                },
                session_expires_at: None,
                last_used_at: row.try_get("last_used_at").map_err(self.store.error())?,
                use_update: "UPDATE station_keys SET last_used_at = $1 WHERE id = $2",
                use_key: key_id,
            });
        }
        let idle = i64::try_from(SESSION_IDLE.as_millis()).unwrap_or(i64::MAX / 2);
        let now = now_ms();
        let row = sqlx::query(
            "SELECT u.name, u.role, s.expires_at, COALESCE(s.last_used_at, s.created_at) AS used_at \
             FROM sessions s JOIN users u ON u.name = s.user_name \
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND COALESCE(s.last_used_at, s.created_at) > $3 \
             AND u.disabled_at IS NULL",
        )
        .bind(&hash)
        .bind(now)
        .bind(now - idle)
        .fetch_optional(self.store.pool())
        .await
        .map_err(self.store.error())?
        .ok_or(AccountError::BadCredentials)?;
        let role: String = row.try_get("role").map_err(self.store.error())?;
        Ok(Holder {
            principal: Principal::User(Officer { name: row.try_get("name").map_err(self.store.error())?, role: parse_role(&role)? }),
            session_expires_at: Some(row.try_get("expires_at").map_err(self.store.error())?),
            last_used_at: Some(row.try_get("used_at").map_err(self.store.error())?),
            use_update: "UPDATE sessions SET last_used_at = $1 WHERE token_hash = $2",
            use_key: hash,
        })
    }

    /// Writes the time of a use with `update` (`$1` the time, `$2` the row's key) unless the
    /// last one written is less than [`USE_RESOLUTION_MS`] old.
    async fn note_use(&self, update: &str, key: &str, last_used_at: Option<i64>) -> Result<(), AccountError> {
        let now = now_ms();
        if last_used_at.is_none_or(|at| now - at >= USE_RESOLUTION_MS) {
            sqlx::query(update).bind(now).bind(key).execute(self.store.pool()).await.map_err(self.store.error())?;
        }
        Ok(())
    }
}

/// The hash of a new password long enough to keep.
async fn strong_password_hash(password: &str) -> Result<String, AccountError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AccountError::WeakPassword);
    }
    let password = password.to_owned();
    crate::on_blocking_thread(move || password_hash(&password)).await
}

fn password_hash(password: &str) -> Result<String, AccountError> {
    let salt = SaltString::encode_b64(&random_bytes::<16>()).map_err(|e| AccountError::Hashing(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AccountError::Hashing(e.to_string()))
}

/// The hash of a random password nobody knows, made like the users' so that checking it costs
/// the same.
fn decoy_hash() -> Result<&'static str, AccountError> {
    static DECOY: OnceLock<String> = OnceLock::new();
    if let Some(hash) = DECOY.get() {
        return Ok(hash);
    }
    let hash = password_hash(&hex(&random_bytes::<32>()))?;
    Ok(DECOY.get_or_init(|| hash))
}

fn parse_role(text: &str) -> Result<Role, AccountError> {
    text.parse().map_err(|e: String| StoreError::Corrupt(e).into())
}

fn secret_hash(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0; N];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

/// Accounts on a fresh SQLite database holding one officer, "ana" with `TEST_PASSWORD`
/// (the directory is removed when dropped).
#[cfg(test)]
pub(crate) async fn accounts_with_an_officer() -> (tempfile::TempDir, Store, Accounts) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite(&dir.path().join("db.sqlite")).await.unwrap();
    let accounts = Accounts::new(store.clone());
    accounts.add_user("ana", Role::Officer, TEST_PASSWORD).await.unwrap();
    (dir, store, accounts)
}

#[cfg(test)]
pub(crate) const TEST_PASSWORD: &str = "correct horse battery";

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn unknown_names_are_checked_against_a_hash_made_like_the_users() {
        let (_dir, store, accounts) = accounts_with_an_officer().await;

        assert!(matches!(accounts.login("nobody", TEST_PASSWORD).await, Err(AccountError::BadLogin)));
        assert!(matches!(accounts.login("ana", "wrong password!").await, Err(AccountError::BadLogin)));
        assert_eq!(accounts.login("ana", TEST_PASSWORD).await.unwrap().officer.name, "ana");

        let stored: String = sqlx::query_scalar("SELECT password_hash FROM users WHERE name = 'ana'")
            .fetch_one(store.pool())
            .await
            .unwrap();
        let (stored, decoy) = (PasswordHash::new(&stored).unwrap(), PasswordHash::new(decoy_hash().unwrap()).unwrap());
        assert_eq!((decoy.algorithm, decoy.version, &decoy.params), (stored.algorithm, stored.version, &stored.params));
    }

    #[tokio::test]
    async fn sessions_end_when_unused_for_the_idle_limit() {
        let (_dir, store, accounts) = accounts_with_an_officer().await;
        let token = accounts.login("ana", TEST_PASSWORD).await.unwrap().token;
        let idle = i64::try_from(SESSION_IDLE.as_millis()).unwrap();
        let set_times = |created_ago: i64, used_ago: i64| {
            let pool = store.pool().clone();
            async move {
                sqlx::query("UPDATE sessions SET created_at = $1, last_used_at = $2")
                    .bind(now_ms() - created_ago)
                    .bind(now_ms() - used_ago)
                    .execute(&pool)
                    .await
                    .unwrap();
            }
        };
        let last_used = || async { sqlx::query_scalar::<_, i64>("SELECT last_used_at FROM sessions").fetch_one(store.pool()).await.unwrap() };

        // Opened long ago, used two minutes ago: valid, and this use is written down.
        set_times(2 * idle, 120_000).await;
        accounts.authenticate(&token).await.unwrap();
        assert!(now_ms() - last_used().await < 10_000);
        // Used again within the minute: not written again.
        set_times(2 * idle, 30_000).await;
        accounts.authenticate(&token).await.unwrap();
        assert!(now_ms() - last_used().await >= 30_000);
        // Asking whether it is current is not a use.
        set_times(2 * idle, 120_000).await;
        assert!(accounts.is_current(&token).await.unwrap());
        assert!(now_ms() - last_used().await >= 120_000);
        // Unused for longer than the limit: refused, though hours from its expiry.
        set_times(2 * idle, idle + 1_000).await;
        assert!(matches!(accounts.authenticate(&token).await, Err(AccountError::BadCredentials)));
        assert!(!accounts.is_current(&token).await.unwrap());
    }

    #[tokio::test]
    async fn station_keys_are_listed_valid_first_without_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let accounts = Accounts::new(Store::open_sqlite(&dir.path().join("db.sqlite")).await.unwrap());
        let (old, _) = accounts.create_station_key("GATE-02").await.unwrap();
        let (kept, key) = accounts.create_station_key("GATE-02").await.unwrap();
        let (other, _) = accounts.create_station_key("GATE-01").await.unwrap();
        accounts.revoke_station_key(&old).await.unwrap();

        let listed = accounts.station_keys().await.unwrap();
        let order: Vec<(&str, bool)> = listed.iter().map(|k| (k.key_id.as_str(), k.revoked_at.is_some())).collect();
        assert_eq!(order, [(other.as_str(), false), (kept.as_str(), false), (old.as_str(), true)]);
        assert!(!serde_json::to_string(&listed).unwrap().contains(&key));
        assert!(chrono::DateTime::parse_from_rfc3339(&listed[0].created_at).is_ok());
        assert_eq!(listed[1].last_used_at, None, "not used yet");
        accounts.authenticate(&key).await.unwrap();
        let used = accounts.station_keys().await.unwrap().into_iter().find(|k| k.key_id == kept).unwrap();
        assert!(used.last_used_at.as_deref().is_some_and(|at| chrono::DateTime::parse_from_rfc3339(at).is_ok()), "{used:?}");
    }
}
