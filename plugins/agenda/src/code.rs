//! The émargement's rotating codes: the QR code shown in the room carries a code that
//! changes every 30 seconds, an HMAC-SHA256 of (the meeting's secret, the 30-second
//! window). A code of the current or the previous window is accepted, an older one is
//! refused, so a code sent to someone who is not in the room is soon useless.

use sha2::{Digest, Sha256};

/// How long a window lasts.
pub const WINDOW_SECS: i64 = 30;
const BLOCK: usize = 64;

pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
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

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The window an instant (Unix seconds) falls in.
pub fn window(now: i64) -> i64 {
    now.div_euclid(WINDOW_SECS)
}

/// The code of a meeting for one window: 10 hexadecimal digits.
pub fn presence_code(secret: &str, meeting: &str, window: i64) -> String {
    let mac = hmac_sha256(
        secret.as_bytes(),
        format!("presence:{meeting}:{window}").as_bytes(),
    );
    hex(&mac[..5])
}

/// The code to show now.
pub fn current_code(secret: &str, meeting: &str, now: i64) -> String {
    presence_code(secret, meeting, window(now))
}

fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Whether `code` is the meeting's code of the current or the previous window.
pub fn is_valid(secret: &str, meeting: &str, code: &str, now: i64) -> bool {
    if secret.is_empty() || code.len() != 10 {
        return false;
    }
    let w = window(now);
    [w, w - 1]
        .iter()
        .any(|&w| same(&presence_code(secret, meeting, w), code))
}

/// A new meeting secret: 256 bits from the guest's random source (std's hasher keys,
/// seeded by WASI random), hashed with the instant.
pub fn new_secret(salt: &str) -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = Sha256::new();
    for i in 0..4u64 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(i);
        h.write(salt.as_bytes());
        hasher.update(h.finish().to_le_bytes());
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    hasher.update(nanos.to_le_bytes());
    hasher.update(salt.as_bytes());
    hex(&hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_the_rfc_4231_vector() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex(&mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn codes_rotate_and_expire_after_the_previous_window() {
        let secret = "s3cr3t";
        let now = 1_800_000_015;
        let code = current_code(secret, "m1", now);
        assert_eq!(code.len(), 10);
        assert!(is_valid(secret, "m1", &code, now));
        // Still good during the next window, refused after it.
        assert!(is_valid(secret, "m1", &code, now + WINDOW_SECS));
        assert!(!is_valid(secret, "m1", &code, now + 2 * WINDOW_SECS));
        // Not a code of another meeting, nor of another secret, nor of the future.
        assert!(!is_valid(secret, "m2", &code, now));
        assert!(!is_valid("autre", "m1", &code, now));
        assert!(!is_valid(secret, "m1", &code, now - WINDOW_SECS));
        assert_ne!(code, current_code(secret, "m1", now + WINDOW_SECS));
        assert!(!is_valid(secret, "m1", "", now));
        assert!(!is_valid("", "m1", &code, now));
    }

    #[test]
    fn secrets_differ() {
        let a = new_secret("m1");
        let b = new_secret("m1");
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
    }
}
