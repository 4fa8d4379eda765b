//! Cross-site request forgery protection, bound to the session.
//!
//! Every form we render carries a token in a hidden `csrf` field, and every
//! state-changing request (every POST) must bring the token of the visitor
//! who is posting:
//! - logged in: HMAC-SHA256 of the session (the `sw_session` token) under a
//!   server secret;
//! - not logged in (the sign-up and log-in forms): HMAC-SHA256 of a random
//!   pre-session id, kept in the `sw_csrf` cookie, issued by the first page
//!   that finds none.
//!
//! Another site can make a browser send our cookies but cannot read them or
//! our pages, and without the secret it cannot compute a token, so a forged
//! post arrives without one that matches. A token is never a cookie's value:
//! a planted pair (`sw_csrf=X` with `csrf=X`, a known pre-session id, a
//! session of the attacker's own) matches nothing the victim's session
//! expects. The token changes whenever the session does: logging in starts a
//! new session, and both logging in and logging out issue a new pre-session
//! id ([`rotate_cookie`]), so no token from before is good after.
//!
//! The secret (`STACKWIRE_CSRF_SECRET`, at least 32 hex digits, 128 bits) is
//! shared by every webui instance, so a form served by one posts to another;
//! `scripts/lib.sh` generates it with the other secrets. HMAC is written out
//! here over `sha2` (RFC 2104; it is a dozen lines). Comparisons take time
//! independent of where the strings differ.

use rand::RngCore;
use sha2::{Digest, Sha256};

pub const COOKIE: &str = "sw_csrf";
/// The hidden form field.
pub const FIELD: &str = "csrf";
/// Where the secret comes from.
pub const SECRET_VAR: &str = "STACKWIRE_CSRF_SECRET";

/// Hex digits in a pre-session id.
const ID_LEN: usize = 32;
/// Fewest hex digits of secret accepted (128 bits).
const MIN_SECRET_HEX: usize = 32;

/// Why a state-changing request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CsrfError {
    #[error("the form's security cookie is missing (are cookies enabled?)")]
    MissingCookie,
    #[error("the form has no security token")]
    MissingField,
    #[error("the form's security token does not match")]
    Mismatch,
}

/// A secret that is missing or too weak: the webui refuses to start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{SECRET_VAR} must be set to at least {MIN_SECRET_HEX} hex digits (scripts/lib.sh generates one in $SW_VAR/secrets)")]
pub struct SecretError;

/// What a token is bound to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binding<'a> {
    /// The session token of a logged-in visitor.
    Session(&'a str),
    /// The pre-session id of a visitor who is not logged in.
    Visitor(&'a str),
}

/// The server secret.
#[derive(Clone)]
pub struct Key {
    secret: Vec<u8>,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(..)")
    }
}

impl Key {
    /// From hex digits (at least 32).
    pub fn from_hex(hex: &str) -> Result<Key, SecretError> {
        let hex = hex.trim();
        if hex.len() < MIN_SECRET_HEX || !hex.len().is_multiple_of(2) {
            return Err(SecretError);
        }
        let secret = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).map_err(|_| SecretError))
            .collect::<Result<Vec<u8>, _>>()?;
        Ok(Key { secret })
    }

    /// From `STACKWIRE_CSRF_SECRET`.
    pub fn from_env() -> Result<Key, SecretError> {
        Key::from_hex(&std::env::var(SECRET_VAR).map_err(|_| SecretError)?)
    }

    /// The token for forms of a visitor with this binding, as hex.
    pub fn token(&self, binding: Binding<'_>) -> String {
        let (label, value) = match binding {
            Binding::Session(s) => ("session", s),
            Binding::Visitor(v) => ("visitor", v),
        };
        hex(&hmac_sha256(&self.secret, &[label.as_bytes(), b"\0", value.as_bytes()]))
    }

    /// Whether `field` is the token for `binding` (`None`: the visitor has
    /// neither a session nor a pre-session id we issued).
    pub fn check(&self, binding: Option<Binding<'_>>, field: Option<&str>) -> Result<(), CsrfError> {
        let binding = binding.ok_or(CsrfError::MissingCookie)?;
        let field = field.filter(|f| !f.is_empty()).ok_or(CsrfError::MissingField)?;
        if constant_time_eq(self.token(binding).as_bytes(), field.as_bytes()) {
            Ok(())
        } else {
            Err(CsrfError::Mismatch)
        }
    }
}

/// HMAC-SHA256 (RFC 2104) of the concatenated `parts`.
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut k = [0u8; BLOCK];
    if key.len() > BLOCK {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(k.map(|b| b ^ 0x36));
    for p in parts {
        inner.update(p);
    }
    let mut outer = Sha256::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    // By table, not a `format!` per byte: every page view makes a token.
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    out
}

/// A fresh pre-session id (or any unguessable value): 128 random bits as hex.
/// From the thread's CSPRNG (ChaCha, seeded and reseeded from the OS), not a
/// `getrandom` system call per token: a page view takes several (the
/// visitor's id, a key per form), and the calls were a visible share of it.
pub fn new_token() -> String {
    let mut bytes = [0u8; ID_LEN / 2];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex(&bytes)
}

/// Whether `s` looks like a pre-session id we issued.
pub fn is_well_formed(s: &str) -> bool {
    s.len() == ID_LEN && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Equality whose running time does not depend on the contents.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The `Set-Cookie` value that gives a visitor a pre-session id. HttpOnly:
/// only our server-rendered forms need what it makes, never a script.
pub fn set_cookie(id: &str) -> String {
    format!("{COOKIE}={id}; Path=/; HttpOnly; SameSite=Lax")
}

/// `Set-Cookie` with a new pre-session id, for a login or a logout: the
/// visitor's old anonymous token is dead from now on.
pub fn rotate_cookie() -> String {
    set_cookie(&new_token())
}

/// The hidden input every form carries. The token is hex, so needs no escaping.
pub fn hidden_field(token: &str) -> String {
    format!("<input type=\"hidden\" name=\"{FIELD}\" value=\"{token}\">")
}
