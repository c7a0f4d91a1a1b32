//! Personal feeds (`context.feed-url`, WIT 0.2.2): a secret URL at which a calendar
//! client reads a module's `/flux` path as one member, without a session.
//!
//! The URL's secret is `{row id}-{MAC}`, the MAC being HMAC-SHA256 under a host key
//! (`host_keys`, made on first use) over the row's owner; it is recomputed, never
//! stored (invariant 8). Revoking the row retires the URL; the module's next
//! `feed-url()` call makes a new one.

use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::storage::{Db, Result, now_secs};

/// Who a feed URL reads as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedOwner {
    pub id: i64,
    pub account_id: i64,
    pub structure_id: i64,
    pub plugin_id: String,
}

/// A member's feed, for « Mon compte ».
#[derive(Debug, Clone)]
pub struct Feed {
    pub id: i64,
    pub structure_name: String,
    pub plugin_id: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

const BLOCK: usize = 64;

fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(block.map(|b| b ^ 0x36));
    inner.update(message);
    let mut outer = Sha256::new();
    outer.update(block.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

/// Constant-time comparison: the secret must not leak through timing.
fn same(expected: &str, given: &str) -> bool {
    expected.len() == given.len()
        && expected
            .bytes()
            .zip(given.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The host's key for feed URLs, made on first use (the same for every host sharing
/// the database).
async fn key(db: &Db) -> Result<Vec<u8>> {
    let mut fresh = [0u8; 32];
    getrandom::getrandom(&mut fresh).expect("the OS random source is available");
    sqlx::query(
        "INSERT INTO host_keys (name, secret, created_at) VALUES ('feeds', $1, $2) ON CONFLICT (name) DO NOTHING",
    )
    .bind(hex(&fresh))
    .bind(now_secs())
    .execute(db.pool())
    .await?;
    let secret: String = sqlx::query_scalar("SELECT secret FROM host_keys WHERE name = 'feeds'")
        .fetch_one(db.pool())
        .await?;
    Ok(secret.into_bytes())
}

fn mac(key: &[u8], owner: &FeedOwner) -> String {
    let message = format!(
        "feed:{}:{}:{}:{}",
        owner.id, owner.account_id, owner.structure_id, owner.plugin_id
    );
    hex(&hmac_sha256(key, message.as_bytes())[..20])
}

/// The member's feed URL for a module of a structure (made on first use).
pub async fn feed_url(
    db: &Db,
    public_url: &str,
    account_id: i64,
    structure_id: i64,
    plugin_id: &str,
) -> Result<String> {
    let existing: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM feed_tokens WHERE account_id = $1 AND structure_id = $2 AND plugin_id = $3 AND revoked_at IS NULL ORDER BY id LIMIT 1",
    )
    .bind(account_id)
    .bind(structure_id)
    .bind(plugin_id)
    .fetch_optional(db.pool())
    .await?;
    let id = match existing {
        Some(id) => id,
        None => {
            sqlx::query_scalar(
                "INSERT INTO feed_tokens (account_id, structure_id, plugin_id, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
            )
            .bind(account_id)
            .bind(structure_id)
            .bind(plugin_id)
            .bind(now_secs())
            .fetch_one(db.pool())
            .await?
        }
    };
    let owner = FeedOwner {
        id,
        account_id,
        structure_id,
        plugin_id: plugin_id.to_string(),
    };
    let key = key(db).await?;
    Ok(format!(
        "{}/flux/{id}-{}",
        public_url.trim_end_matches('/'),
        mac(&key, &owner)
    ))
}

/// The owner of a live feed URL's secret, or none (unknown, forged or revoked).
pub async fn resolve(db: &Db, secret: &str) -> Result<Option<FeedOwner>> {
    let Some((id, given)) = secret.split_once('-') else {
        return Ok(None);
    };
    let Ok(id) = id.parse::<i64>() else {
        return Ok(None);
    };
    let row = sqlx::query(
        "SELECT account_id, structure_id, plugin_id FROM feed_tokens WHERE id = $1 AND revoked_at IS NULL",
    )
    .bind(id)
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let owner = FeedOwner {
        id,
        account_id: row.get(0),
        structure_id: row.get(1),
        plugin_id: row.get(2),
    };
    let expected = mac(&key(db).await?, &owner);
    if !same(&expected, given) {
        return Ok(None);
    }
    sqlx::query("UPDATE feed_tokens SET last_used_at = $1 WHERE id = $2")
        .bind(now_secs())
        .bind(id)
        .execute(db.pool())
        .await?;
    Ok(Some(owner))
}

/// The member's live feeds, newest first.
pub async fn feeds_of(db: &Db, account_id: i64) -> Result<Vec<Feed>> {
    let rows = sqlx::query(
        "SELECT f.id, s.name, f.plugin_id, f.created_at, f.last_used_at FROM feed_tokens f
         JOIN structures s ON s.id = f.structure_id
         WHERE f.account_id = $1 AND f.revoked_at IS NULL ORDER BY f.id DESC",
    )
    .bind(account_id)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .iter()
        .map(|r| Feed {
            id: r.get(0),
            structure_name: r.get(1),
            plugin_id: r.get(2),
            created_at: r.get(3),
            last_used_at: r.get(4),
        })
        .collect())
}

/// Retires one of the member's feed URLs; false if it is not theirs or already retired.
pub async fn revoke(db: &Db, account_id: i64, id: i64) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE feed_tokens SET revoked_at = $1 WHERE id = $2 AND account_id = $3 AND revoked_at IS NULL",
    )
    .bind(now_secs())
    .bind(id)
    .bind(account_id)
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected() > 0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn hmac_matches_the_rfc_4231_vector() {
        // RFC 4231, test case 2.
        let mac = super::hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            super::hex(&mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
