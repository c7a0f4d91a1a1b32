//! Identity: accounts, password login with throttling, sessions, and the single-use
//! tokens behind invitations and "mot de passe oublié".

pub mod invitations;
pub mod password;

use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::storage::{Db, Result, StorageError, now_secs};

/// Server-side lifetime of a browser session ("Se souvenir de moi" unchecked).
pub const SESSION_TTL_SECS: i64 = 12 * 3600;
/// Lifetime of a "Se souvenir de moi" session.
pub const PERSISTENT_SESSION_TTL_SECS: i64 = 30 * 24 * 3600;
pub const INVITATION_TTL_SECS: i64 = 7 * 24 * 3600;
pub const RESET_TTL_SECS: i64 = 3600;

/// Failed logins tolerated per account, and per client address, within the window.
pub const MAX_FAILURES_PER_ACCOUNT: i64 = 5;
pub const MAX_FAILURES_PER_ADDRESS: i64 = 20;
pub const FAILURE_WINDOW_SECS: i64 = 15 * 60;
/// "Mot de passe oublié" requests accepted per client address within the window: each
/// one sends a mail, so they are rationed like failed logins.
pub const MAX_RESETS_PER_ADDRESS: i64 = 10;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: i64,
    pub email: String,
    pub username: Option<String>,
    pub display_name: String,
    pub platform_operator: bool,
    /// False until the invitation link was used.
    pub active: bool,
    /// The IANA zone the person chose on « Mon compte »; none: their structure's.
    pub time_zone: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPurpose {
    Invitation,
    Reset,
}

impl TokenPurpose {
    fn as_str(self) -> &'static str {
        match self {
            TokenPurpose::Invitation => "invitation",
            TokenPurpose::Reset => "reset",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("unknown login or wrong password")]
    Invalid,
    #[error("too many failed attempts")]
    Throttled,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<sqlx::Error> for LoginError {
    fn from(e: sqlx::Error) -> Self {
        LoginError::Storage(e.into())
    }
}

/// A random, URL-safe secret (hex of 32 random bytes).
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).expect("the OS random source is available");
    hex(&bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Secrets are stored hashed: a copy of the database does not open sessions.
pub fn secret_hash(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// E-mail addresses: one '@', a dot in the domain, no spaces; compared case-insensitively.
pub fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Usernames: 3–32 lowercase letters, digits, dots, dashes or underscores, no '@'.
pub fn valid_username(username: &str) -> bool {
    (3..=32).contains(&username.len())
        && username.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'_')
        })
}

const ACCOUNT_COLUMNS: &str = "id, email, username, display_name, platform_operator, password_hash IS NOT NULL AS active, time_zone";

fn account_from_row(row: &sqlx::any::AnyRow) -> Account {
    Account {
        id: row.get("id"),
        email: row.get("email"),
        username: row.get("username"),
        display_name: row.get("display_name"),
        platform_operator: crate::storage::flag(row, "platform_operator"),
        active: crate::storage::flag(row, "active"),
        time_zone: row.get("time_zone"),
    }
}

impl Db {
    /// Creates an account without a password (it is set through an invitation link).
    pub async fn create_account(
        &self,
        email: &str,
        username: Option<&str>,
        display_name: &str,
    ) -> Result<Account> {
        // Stored lowercase: lookups are case-insensitive on every backend.
        let email = email.trim().to_lowercase();
        let email = email.as_str();
        if !valid_email(email) {
            return Err(StorageError::Invalid(format!("invalid e-mail {email:?}")));
        }
        if let Some(u) = username
            && !valid_username(u)
        {
            return Err(StorageError::Invalid(format!("invalid username {u:?}")));
        }
        let display_name = display_name.trim();
        if display_name.is_empty() || display_name.chars().count() > 120 {
            return Err(StorageError::Invalid(
                "display name must be 1..=120 characters".into(),
            ));
        }
        let row = sqlx::query(&format!(
            "INSERT INTO accounts (email, username, display_name, created_at) VALUES ($1, $2, $3, $4) RETURNING {ACCOUNT_COLUMNS}"
        ))
        .bind(email)
        .bind(username)
        .bind(display_name)
        .bind(now_secs())
        .fetch_one(self.pool())
        .await?;
        Ok(account_from_row(&row))
    }

    /// Sets (or clears) the person's own time zone; `zone` must be a known IANA name.
    pub async fn set_account_time_zone(&self, id: i64, zone: Option<&str>) -> Result<()> {
        sqlx::query("UPDATE accounts SET time_zone = $1 WHERE id = $2")
            .bind(zone)
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn account(&self, id: i64) -> Result<Option<Account>> {
        let row = sqlx::query(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.as_ref().map(account_from_row))
    }

    /// The account whose e-mail or username is `login` (case-insensitive).
    pub async fn account_by_login(&self, login: &str) -> Result<Option<Account>> {
        let row = sqlx::query(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE email = $1 OR username = $1"
        ))
        .bind(login.trim().to_lowercase())
        .fetch_optional(self.pool())
        .await?;
        Ok(row.as_ref().map(account_from_row))
    }

    /// Sets or clears the username. Returns false if another account has it.
    pub async fn set_username(&self, account_id: i64, username: Option<&str>) -> Result<bool> {
        if let Some(u) = username
            && !valid_username(u)
        {
            return Err(StorageError::Invalid(format!("invalid username {u:?}")));
        }
        match sqlx::query("UPDATE accounts SET username = $1 WHERE id = $2")
            .bind(username)
            .bind(account_id)
            .execute(self.pool())
            .await
        {
            Ok(_) => Ok(true),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn set_platform_operator(&self, account_id: i64, operator: bool) -> Result<()> {
        sqlx::query("UPDATE accounts SET platform_operator = $1 WHERE id = $2")
            .bind(operator)
            .bind(account_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Sets the password and ends every session of the account (they may be an attacker's).
    pub async fn set_password(&self, account_id: i64, new_password: &str) -> Result<()> {
        let phc = password::hash(new_password).map_err(|e| StorageError::Invalid(e.to_string()))?;
        let mut tx = self.pool().begin().await?;
        store_password(&mut tx, account_id, &phc).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn check_password(&self, account_id: i64, candidate: &str) -> Result<bool> {
        let phc: Option<String> = sqlx::query_scalar::<_, Option<String>>(
            "SELECT password_hash FROM accounts WHERE id = $1",
        )
        .bind(account_id)
        .fetch_optional(self.pool())
        .await?
        .flatten();
        Ok(match phc {
            Some(phc) => password::verify(candidate, &phc),
            None => false,
        })
    }

    async fn recent_failures(&self, scope: &str) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM login_failures WHERE scope = $1 AND at > $2")
                .bind(scope)
                .bind(now_secs() - FAILURE_WINDOW_SECS)
                .fetch_one(self.pool())
                .await?,
        )
    }

    async fn record_failure(&self, scopes: &[&str]) -> Result<()> {
        let now = now_secs();
        for scope in scopes {
            sqlx::query("INSERT INTO login_failures (scope, at) VALUES ($1, $2)")
                .bind(scope)
                .bind(now)
                .execute(self.pool())
                .await?;
        }
        // Old failures only matter inside the window.
        sqlx::query("DELETE FROM login_failures WHERE at <= $1")
            .bind(now - FAILURE_WINDOW_SECS)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Counts a password-reset request from this address; false when over the limit.
    pub async fn allow_reset_request(&self, client_address: &str) -> Result<bool> {
        let scope = format!("reset:{client_address}");
        if self.recent_failures(&scope).await? >= MAX_RESETS_PER_ADDRESS {
            return Ok(false);
        }
        self.record_failure(&[&scope]).await?;
        Ok(true)
    }

    /// Checks a login (e-mail or username) and password, throttled per account and per
    /// client address. Unknown logins cost the same time as wrong passwords.
    pub async fn login(
        &self,
        login: &str,
        password: &str,
        client_address: &str,
    ) -> std::result::Result<Account, LoginError> {
        let address_scope = format!("address:{client_address}");
        if self.recent_failures(&address_scope).await? >= MAX_FAILURES_PER_ADDRESS {
            return Err(LoginError::Throttled);
        }
        let account = self.account_by_login(login).await?;
        let account_scope = match &account {
            Some(a) => format!("account:{}", a.id),
            None => format!("login:{}", login.trim().to_lowercase()),
        };
        if self.recent_failures(&account_scope).await? >= MAX_FAILURES_PER_ACCOUNT {
            return Err(LoginError::Throttled);
        }
        let ok = match &account {
            Some(a) => self.check_password(a.id, password).await?,
            None => {
                password::verify_dummy(password);
                false
            }
        };
        match account {
            Some(account) if ok => {
                sqlx::query("DELETE FROM login_failures WHERE scope = $1")
                    .bind(&account_scope)
                    .execute(self.pool())
                    .await?;
                Ok(account)
            }
            _ => {
                self.record_failure(&[&account_scope, &address_scope])
                    .await?;
                Err(LoginError::Invalid)
            }
        }
    }

    /// Opens a session; returns the cookie secret (only its hash is stored).
    pub async fn create_session(&self, account_id: i64, persistent: bool) -> Result<String> {
        let secret = random_secret();
        let now = now_secs();
        let ttl = if persistent {
            PERSISTENT_SESSION_TTL_SECS
        } else {
            SESSION_TTL_SECS
        };
        sqlx::query("INSERT INTO sessions (token_hash, account_id, created_at, expires_at, persistent) VALUES ($1, $2, $3, $4, $5)")
            .bind(secret_hash(&secret))
            .bind(account_id)
            .bind(now)
            .bind(now + ttl)
            .bind(persistent)
            .execute(self.pool())
            .await?;
        Ok(secret)
    }

    /// The account behind a live session cookie.
    pub async fn session_account(&self, secret: &str) -> Result<Option<Account>> {
        let row = sqlx::query(
            "SELECT a.id, a.email, a.username, a.display_name, a.platform_operator, a.password_hash IS NOT NULL AS active, a.time_zone
             FROM sessions s JOIN accounts a ON a.id = s.account_id WHERE s.token_hash = $1 AND s.expires_at > $2",
        )
        .bind(secret_hash(secret))
        .bind(now_secs())
        .fetch_optional(self.pool())
        .await?;
        Ok(row.as_ref().map(account_from_row))
    }

    pub async fn end_session(&self, secret: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1 OR expires_at <= $2")
            .bind(secret_hash(secret))
            .bind(now_secs())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// A single-use token for an invitation or a password reset; returns the secret.
    pub async fn issue_token(&self, account_id: i64, purpose: TokenPurpose) -> Result<String> {
        let secret = random_secret();
        let now = now_secs();
        let ttl = match purpose {
            TokenPurpose::Invitation => INVITATION_TTL_SECS,
            TokenPurpose::Reset => RESET_TTL_SECS,
        };
        sqlx::query("INSERT INTO account_tokens (token_hash, account_id, purpose, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(secret_hash(&secret))
            .bind(account_id)
            .bind(purpose.as_str())
            .bind(now)
            .bind(now + ttl)
            .execute(self.pool())
            .await?;
        Ok(secret)
    }

    /// The account a still-valid, unused token belongs to (without using it).
    pub async fn token_account(&self, secret: &str) -> Result<Option<(Account, TokenPurpose)>> {
        let row = sqlx::query(
            "SELECT account_id, purpose FROM account_tokens WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
        )
        .bind(secret_hash(secret))
        .bind(now_secs())
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let purpose = match row.get::<&str, _>("purpose") {
            "invitation" => TokenPurpose::Invitation,
            _ => TokenPurpose::Reset,
        };
        Ok(self
            .account(row.get("account_id"))
            .await?
            .map(|a| (a, purpose)))
    }

    /// Uses a token to set the password: single use, checked and spent in one transaction.
    pub async fn redeem_token(&self, secret: &str, new_password: &str) -> Result<Option<Account>> {
        let phc = password::hash(new_password).map_err(|e| StorageError::Invalid(e.to_string()))?;
        let mut tx = self.pool().begin().await?;
        let account_id: Option<i64> = sqlx::query_scalar(
            "UPDATE account_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 RETURNING account_id",
        )
        .bind(now_secs())
        .bind(secret_hash(secret))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(account_id) = account_id else {
            return Ok(None);
        };
        store_password(&mut tx, account_id, &phc).await?;
        // Other outstanding reset links die with this one.
        sqlx::query(
            "UPDATE account_tokens SET used_at = $1 WHERE account_id = $2 AND used_at IS NULL",
        )
        .bind(now_secs())
        .bind(account_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.account(account_id).await
    }
}

/// The new hash, and no session survives it.
async fn store_password(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    account_id: i64,
    phc: &str,
) -> Result<()> {
    sqlx::query("UPDATE accounts SET password_hash = $1 WHERE id = $2")
        .bind(phc)
        .bind(account_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM sessions WHERE account_id = $1")
        .bind(account_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_and_usernames_are_checked() {
        assert!(valid_email("claire.martin@cpts-lac.fr"));
        for bad in [
            "",
            "claire",
            "claire@",
            "@cpts.fr",
            "claire@cpts",
            "a b@cpts.fr",
            "a@b@c.fr",
            "a@.fr",
        ] {
            assert!(!valid_email(bad), "{bad}");
        }
        assert!(valid_username("claire.m") && valid_username("dr_kine-2"));
        for bad in ["ab", "Claire", "claire@cpts", "é-tienne", &"a".repeat(33)] {
            assert!(!valid_username(bad), "{bad}");
        }
    }

    #[test]
    fn secrets_are_random_and_stored_hashed() {
        let (a, b) = (random_secret(), random_secret());
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert_ne!(secret_hash(&a), a);
        assert_eq!(secret_hash(&a), secret_hash(&a));
    }

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let phc = password::hash("une phrase secrète").unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(password::verify("une phrase secrète", &phc));
        assert!(!password::verify("une autre phrase", &phc));
        assert!(!password::verify("x", "not a phc string"));
        assert!(password::policy_error("court").is_some());
        assert!(password::policy_error("assez longue").is_none());
    }
}
