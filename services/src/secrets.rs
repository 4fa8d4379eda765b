//! Passwords and session tokens.
//!
//! Passwords are stored as argon2id PHC strings (salt and parameters inside
//! the string, so the parameters can be raised later without a migration).
//! argon2 is slow on purpose, which is right for a password typed once per
//! login and wrong for a token checked on every request: a session token is
//! 128 random bits from the OS, so a single fast sha256 is already as hard to
//! reverse as guessing the token. Only that hash is stored; the token itself
//! is shown once, in the login reply.
//!
//! A login for an unknown username still verifies the password against a
//! fixed dummy hash, so the reply takes as long as for a known name and the
//! timing does not tell which usernames exist.

use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// Bytes of randomness in a session token (128 bits).
pub const TOKEN_BYTES: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("cannot hash the password: {0}")]
    Hash(argon2::password_hash::Error),
}

/// The PHC string to store for `password`.
pub fn hash_password(password: &str) -> Result<String, SecretError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(SecretError::Hash)
}

/// Whether `password` matches the stored PHC string; a malformed stored
/// string matches nothing (and is logged, since it means a damaged row).
pub fn verify_password(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(hash) => Argon2::default().verify_password(password.as_bytes(), &hash).is_ok(),
        Err(e) => {
            log::error!(target: "User::Worker", "stored password hash is malformed: {e}");
            false
        }
    }
}

/// Burns the same time as a real verification, for unknown usernames.
pub fn verify_dummy(password: &str) {
    static DUMMY: OnceLock<Option<String>> = OnceLock::new();
    if let Some(stored) = DUMMY.get_or_init(|| hash_password("not anybody's password").ok()) {
        let _ = verify_password(password, stored);
    }
}

/// A fresh session token: 32 lowercase hex digits.
pub fn new_token() -> String {
    let mut bytes = [0u8; TOKEN_BYTES];
    OsRng.fill_bytes(&mut bytes);
    hex(&bytes)
}

/// Whether `s` could be a token we issued; anything else is refused without
/// a database lookup.
pub fn is_token_shape(s: &str) -> bool {
    s.len() == TOKEN_BYTES * 2 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// What `sessions.token_hash` holds for `token`: sha256, 64 hex digits.
pub fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

#[cfg(test)]
#[path = "../tests/unit/secrets.rs"]
mod tests;
