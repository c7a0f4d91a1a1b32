//! Identity: accounts, password login with throttling, sessions, and the single-use
//! tokens behind invitations and "mot de passe oublié".

pub mod invitations;
pub mod password;

use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Row};

use crate::storage::{Db, Result, StorageError, now_secs};
use crate::tenancy::Role;

/// Server-side lifetime of a browser session ("Se souvenir de moi" unchecked).
pub const SESSION_TTL_SECS: i64 = 12 * 3600;
/// Lifetime of a "Se souvenir de moi" session.
pub const PERSISTENT_SESSION_TTL_SECS: i64 = 30 * 24 * 3600;
pub const INVITATION_TTL_SECS: i64 = 7 * 24 * 3600;
pub const RESET_TTL_SECS: i64 = 3600;

/// Password attempts free of any delay per (account, client), and per client across
/// accounts (credential stuffing); beyond them each attempt waits a growing delay
/// (`throttle_delay_secs`). The real owner on another client is never held up.
pub const MAX_FAILURES_PER_ACCOUNT: i64 = 5;
pub const MAX_FAILURES_PER_ADDRESS: i64 = 20;
/// A series of password attempts is forgotten after a day without any.
pub const THROTTLE_MEMORY_SECS: i64 = 24 * 3600;
/// The longest wait asked of a throttled client.
pub const MAX_THROTTLE_DELAY_SECS: i64 = 15 * 60;
/// Window of the "mot de passe oublié" rationing.
pub const FAILURE_WINDOW_SECS: i64 = 15 * 60;
/// "Mot de passe oublié" requests accepted per client address within the window: each
/// one sends a mail, so they are rationed like failed logins.
pub const MAX_RESETS_PER_ADDRESS: i64 = 10;
/// How often `spawn_purge` deletes expired sessions, spent tokens and old throttles.
pub const PURGE_INTERVAL_SECS: u64 = 3600;

/// The wait before the next attempt once `excess` attempts went past the free ones:
/// 15 s, 30 s, 1 min, 2 min … doubling up to 15 minutes.
pub fn throttle_delay_secs(excess: i64) -> i64 {
    let doublings = u32::try_from(excess.saturating_sub(1).clamp(0, 16)).unwrap_or(16);
    (15_i64 << doublings).min(MAX_THROTTLE_DELAY_SECS)
}

/// `attempts` (this one included) went past `free` and the previous one was too recent.
fn throttled(attempts: i64, previous_at: i64, free: i64, now: i64) -> bool {
    attempts > free && now - previous_at < throttle_delay_secs(attempts - free)
}

/// Runs one argon2 verification against a dummy hash and answers false: an unknown
/// login, or an account without a password yet (invited), costs what a wrong password
/// costs, so timing does not tell them apart.
pub fn verify_dummy(candidate: &str) -> bool {
    password::verify_dummy(candidate);
    false
}

/// An invitation into a structure sent to an existing account: it joins only once that
/// account accepts, signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembershipOffer {
    pub account_id: i64,
    pub structure_id: i64,
    pub role: Role,
}

fn offer_from_row(row: &sqlx::any::AnyRow) -> MembershipOffer {
    MembershipOffer {
        account_id: row.get("account_id"),
        structure_id: row.get("structure_id"),
        role: Role::parse(row.get::<&str, _>("role")).unwrap_or(Role::Member),
    }
}

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
        let mut conn = self.pool().acquire().await?;
        self.create_account_in(&mut conn, email, username, display_name)
            .await
    }

    /// [`Db::create_account`] in the caller's transaction (with its audit entry).
    pub async fn create_account_in(
        &self,
        conn: &mut AnyConnection,
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
        .fetch_one(&mut *conn)
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

    /// [`Db::account`] on the caller's connection (an action's transaction, a plugin
    /// call's): the actor of an audit entry written there.
    pub async fn account_in(&self, conn: &mut AnyConnection, id: i64) -> Result<Option<Account>> {
        account_in(conn, id).await
    }

    /// The account whose e-mail or username is `login` (case-insensitive).
    pub async fn account_by_login(&self, login: &str) -> Result<Option<Account>> {
        let mut conn = self.pool().acquire().await?;
        self.account_by_login_in(&mut conn, login).await
    }

    /// [`Db::account_by_login`] on the caller's connection (an action's transaction).
    pub async fn account_by_login_in(
        &self,
        conn: &mut AnyConnection,
        login: &str,
    ) -> Result<Option<Account>> {
        let row = sqlx::query(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE email = $1 OR username = $1"
        ))
        .bind(login.trim().to_lowercase())
        .fetch_optional(&mut *conn)
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
        let mut conn = self.pool().acquire().await?;
        self.set_platform_operator_in(&mut conn, account_id, operator)
            .await
    }

    /// [`Db::set_platform_operator`] in the caller's transaction (with its audit entry).
    pub async fn set_platform_operator_in(
        &self,
        conn: &mut AnyConnection,
        account_id: i64,
        operator: bool,
    ) -> Result<()> {
        sqlx::query("UPDATE accounts SET platform_operator = $1 WHERE id = $2")
            .bind(operator)
            .bind(account_id)
            .execute(&mut *conn)
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
            // No password yet (an invited account): the same argon2 work as a wrong one.
            None => verify_dummy(candidate),
        })
    }

    /// Counts one attempt in `scope` with a single upsert, so simultaneous attempts get
    /// distinct counts; returns the attempts of the current series (this one included)
    /// and when the previous one was made. A series idle for `forget_after` starts over.
    async fn count_attempt(
        &self,
        scope: &str,
        account_id: Option<i64>,
        forget_after: i64,
    ) -> Result<(i64, i64)> {
        let now = now_secs();
        let row = sqlx::query(
            "INSERT INTO login_throttle (scope, account_id, attempts, previous_at, last_at) VALUES ($1, $2, 1, 0, $3)
             ON CONFLICT (scope) DO UPDATE SET
                 attempts = CASE WHEN login_throttle.last_at <= $4 THEN 1 ELSE login_throttle.attempts + 1 END,
                 previous_at = login_throttle.last_at,
                 last_at = $3
             RETURNING attempts, previous_at",
        )
        .bind(scope)
        .bind(account_id)
        .bind(now)
        .bind(now - forget_after)
        .fetch_one(self.pool())
        .await?;
        let attempts: i64 = row.get("attempts");
        let previous_at: i64 = row.get("previous_at");
        Ok((attempts, previous_at))
    }

    /// Counts a password-reset request from this address; false when over the limit.
    pub async fn allow_reset_request(&self, client_address: &str) -> Result<bool> {
        let (requests, _) = self
            .count_attempt(
                &format!("reset:{client_address}"),
                None,
                FAILURE_WINDOW_SECS,
            )
            .await?;
        Ok(requests <= MAX_RESETS_PER_ADDRESS)
    }

    /// One password check, throttled by client and by (account — or typed login when
    /// there is no such account — , client). The attempt is counted before the password
    /// is verified, atomically, so simultaneous wrong attempts cannot all slip through;
    /// a right password un-counts it and clears that (account, client) series.
    async fn throttled_check(
        &self,
        account: Option<&Account>,
        login: &str,
        password: &str,
        client_address: &str,
    ) -> std::result::Result<bool, LoginError> {
        let now = now_secs();
        let client_scope = format!("client:{client_address}");
        let (attempts, previous_at) = self
            .count_attempt(&client_scope, None, THROTTLE_MEMORY_SECS)
            .await?;
        if throttled(attempts, previous_at, MAX_FAILURES_PER_ADDRESS, now) {
            return Err(LoginError::Throttled);
        }
        let pair_scope = match account {
            Some(a) => format!("account:{}|{client_address}", a.id),
            // Unknown logins are throttled alike; hashed, so the table keeps no typed text.
            None => format!(
                "login:{}|{client_address}",
                secret_hash(&login.trim().to_lowercase())
            ),
        };
        let (attempts, previous_at) = self
            .count_attempt(&pair_scope, account.map(|a| a.id), THROTTLE_MEMORY_SECS)
            .await?;
        if throttled(attempts, previous_at, MAX_FAILURES_PER_ACCOUNT, now) {
            return Err(LoginError::Throttled);
        }
        let ok = match account {
            Some(a) => self.check_password(a.id, password).await?,
            None => verify_dummy(password),
        };
        if ok {
            sqlx::query("DELETE FROM login_throttle WHERE scope = $1")
                .bind(&pair_scope)
                .execute(self.pool())
                .await?;
            sqlx::query(
                "UPDATE login_throttle SET attempts = attempts - 1 WHERE scope = $1 AND attempts > 0",
            )
            .bind(&client_scope)
            .execute(self.pool())
            .await?;
        }
        Ok(ok)
    }

    /// Checks a login (e-mail or username) and password, throttled per (account, client)
    /// and per client with growing delays. Every refusal (unknown login, account without
    /// a password, wrong password) runs one argon2 verification.
    pub async fn login(
        &self,
        login: &str,
        password: &str,
        client_address: &str,
    ) -> std::result::Result<Account, LoginError> {
        let account = self.account_by_login(login).await?;
        let ok = self
            .throttled_check(account.as_ref(), login, password, client_address)
            .await?;
        match account {
            Some(account) if ok => Ok(account),
            _ => Err(LoginError::Invalid),
        }
    }

    /// The current password of a signed-in person (« Changer de mot de passe »),
    /// throttled exactly like logins from that client.
    pub async fn check_password_throttled(
        &self,
        account: &Account,
        candidate: &str,
        client_address: &str,
    ) -> std::result::Result<bool, LoginError> {
        self.throttled_check(Some(account), "", candidate, client_address)
            .await
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

    /// « Se déconnecter de tous les appareils »: ends every session of the account, the
    /// current one included; returns how many there were.
    pub async fn end_all_sessions(&self, account_id: i64) -> Result<u64> {
        Ok(sqlx::query("DELETE FROM sessions WHERE account_id = $1")
            .bind(account_id)
            .execute(self.pool())
            .await?
            .rows_affected())
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
        let mut conn = self.pool().acquire().await?;
        self.issue_token_in(&mut conn, account_id, purpose).await
    }

    /// [`Db::issue_token`] in the caller's transaction (an invitation with its audit entry).
    pub async fn issue_token_in(
        &self,
        conn: &mut AnyConnection,
        account_id: i64,
        purpose: TokenPurpose,
    ) -> Result<String> {
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
            .execute(&mut *conn)
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
        // Whoever proved they own the mailbox is no longer held up by anyone's failures.
        sqlx::query("DELETE FROM login_throttle WHERE account_id = $1")
            .bind(account_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.account(account_id).await
    }

    /// A single-use, 7-day invitation of an existing account into a structure; returns
    /// the secret of its link (only its hash is stored).
    pub async fn issue_membership_offer(
        &self,
        account_id: i64,
        structure_id: i64,
        role: Role,
        invited_by: Option<i64>,
    ) -> Result<String> {
        let mut conn = self.pool().acquire().await?;
        self.issue_membership_offer_in(&mut conn, account_id, structure_id, role, invited_by)
            .await
    }

    /// [`Db::issue_membership_offer`] in the caller's transaction (the invitation with
    /// its audit entry).
    pub async fn issue_membership_offer_in(
        &self,
        conn: &mut AnyConnection,
        account_id: i64,
        structure_id: i64,
        role: Role,
        invited_by: Option<i64>,
    ) -> Result<String> {
        let secret = random_secret();
        let now = now_secs();
        sqlx::query(
            "INSERT INTO membership_offers (token_hash, account_id, structure_id, role, invited_by, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(secret_hash(&secret))
        .bind(account_id)
        .bind(structure_id)
        .bind(role.as_str())
        .bind(invited_by)
        .bind(now)
        .bind(now + INVITATION_TTL_SECS)
        .execute(&mut *conn)
        .await?;
        Ok(secret)
    }

    /// The still-valid, unused offer behind a link (without using it).
    pub async fn membership_offer(&self, secret: &str) -> Result<Option<MembershipOffer>> {
        let row = sqlx::query(
            "SELECT account_id, structure_id, role FROM membership_offers
             WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
        )
        .bind(secret_hash(secret))
        .bind(now_secs())
        .fetch_optional(self.pool())
        .await?;
        Ok(row.as_ref().map(offer_from_row))
    }

    /// Accepts an offer as `account_id`: spent and turned into the membership in one
    /// transaction; None when the link is unknown, spent, expired or someone else's. A
    /// person who already belongs to the structure keeps their role.
    pub async fn accept_membership_offer(
        &self,
        secret: &str,
        account_id: i64,
    ) -> Result<Option<MembershipOffer>> {
        let mut tx = self.begin_write().await?;
        let offer = self
            .accept_membership_offer_in(&mut tx, secret, account_id)
            .await?;
        if offer.is_some() {
            tx.commit().await?;
        }
        Ok(offer)
    }

    /// [`Db::accept_membership_offer`] in the caller's write transaction (`begin_write`),
    /// which also writes the audit entry: the offer is spent and the membership made
    /// only if that transaction commits. On None nothing was written.
    pub async fn accept_membership_offer_in(
        &self,
        conn: &mut AnyConnection,
        secret: &str,
        account_id: i64,
    ) -> Result<Option<MembershipOffer>> {
        let now = now_secs();
        let row = sqlx::query(
            "UPDATE membership_offers SET used_at = $1
             WHERE token_hash = $2 AND account_id = $3 AND used_at IS NULL AND expires_at > $1
             RETURNING account_id, structure_id, role",
        )
        .bind(now)
        .bind(secret_hash(secret))
        .bind(account_id)
        .fetch_optional(&mut *conn)
        .await?;
        let Some(offer) = row.as_ref().map(offer_from_row) else {
            return Ok(None);
        };
        sqlx::query(
            "INSERT INTO memberships (structure_id, account_id, role, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (structure_id, account_id) DO NOTHING",
        )
        .bind(offer.structure_id)
        .bind(offer.account_id)
        .bind(offer.role.as_str())
        .bind(now)
        .execute(&mut *conn)
        .await?;
        Ok(Some(offer))
    }
}

/// The account `id`, on `conn` (see [`Db::account_in`]).
pub async fn account_in(conn: &mut AnyConnection, id: i64) -> Result<Option<Account>> {
    let row = sqlx::query(&format!(
        "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.as_ref().map(account_from_row))
}

/// Deletes expired sessions, used or expired tokens and membership offers, throttle
/// series idle for a day and library proposals a day past their expiry; returns how many
/// rows went. Run periodically (`spawn_purge`).
pub async fn purge_expired(db: &Db) -> Result<u64> {
    let now = now_secs();
    let mut purged = 0;
    purged += sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
        .bind(now)
        .execute(db.pool())
        .await?
        .rows_affected();
    purged +=
        sqlx::query("DELETE FROM account_tokens WHERE used_at IS NOT NULL OR expires_at <= $1")
            .bind(now)
            .execute(db.pool())
            .await?
            .rows_affected();
    purged +=
        sqlx::query("DELETE FROM membership_offers WHERE used_at IS NOT NULL OR expires_at <= $1")
            .bind(now)
            .execute(db.pool())
            .await?
            .rows_affected();
    purged += sqlx::query("DELETE FROM login_throttle WHERE last_at <= $1")
        .bind(now - THROTTLE_MEMORY_SECS)
        .execute(db.pool())
        .await?
        .rows_affected();
    purged += crate::library::purge_expired_proposals(db, now).await?;
    Ok(purged)
}

/// The periodic purge, every `PURGE_INTERVAL_SECS` (the first run at once), for as long
/// as the server serves: abort the handle on shutdown.
pub fn spawn_purge(db: Db) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(PURGE_INTERVAL_SECS));
        loop {
            every.tick().await;
            match purge_expired(&db).await {
                Ok(0) => {}
                Ok(rows) => tracing::info!(rows, "purged expired sessions, tokens and throttles"),
                Err(e) => tracing::warn!(error = %e, "purging expired sessions and tokens failed"),
            }
        }
    })
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
    fn throttle_delays_grow_and_are_capped() {
        assert_eq!(throttle_delay_secs(1), 15);
        assert_eq!(throttle_delay_secs(2), 30);
        assert_eq!(throttle_delay_secs(4), 120);
        assert_eq!(throttle_delay_secs(7), MAX_THROTTLE_DELAY_SECS);
        assert_eq!(throttle_delay_secs(1_000), MAX_THROTTLE_DELAY_SECS);
        // Free attempts never wait; past them, only a long enough pause gets through.
        assert!(!throttled(5, 100, 5, 100));
        assert!(throttled(6, 100, 5, 110));
        assert!(!throttled(6, 100, 5, 115));
        assert!(!verify_dummy("anything"));
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
