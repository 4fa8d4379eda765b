//! Cross-site request forgery protection by double submit.
//!
//! Every visitor gets a random `sw_csrf` cookie (set on the first page that
//! finds it missing) and every form we render carries the same value in a
//! hidden `csrf` field. A state-changing request (every POST) must bring
//! both, and they must be equal. Another site can make a browser send our
//! cookies (SameSite=Lax already stops that for cross-site POSTs in current
//! browsers; this covers the rest), but it cannot read the cookie to copy it
//! into the form, so a forged post arrives without a matching field.
//!
//! The token is 128 bits from the operating system's random source, as 32
//! lowercase hex digits. A cookie that is not in that form is treated as
//! absent and replaced, so a client cannot plant a short or empty token that
//! it could then "match". The comparison runs in time independent of where
//! the strings differ.

use rand::RngCore;

pub const COOKIE: &str = "sw_csrf";
/// The hidden form field.
pub const FIELD: &str = "csrf";

/// Hex digits in a token.
const TOKEN_LEN: usize = 32;

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

/// A fresh token: 128 random bits as hex.
pub fn new_token() -> String {
    let mut bytes = [0u8; TOKEN_LEN / 2];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `s` looks like a token we issued.
pub fn is_well_formed(s: &str) -> bool {
    s.len() == TOKEN_LEN && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Equality whose running time does not depend on the contents.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The double-submit check: the cookie must be one of ours and the form
/// field must equal it.
pub fn check(cookie: Option<&str>, field: Option<&str>) -> Result<(), CsrfError> {
    let cookie = cookie.filter(|c| is_well_formed(c)).ok_or(CsrfError::MissingCookie)?;
    let field = field.filter(|f| !f.is_empty()).ok_or(CsrfError::MissingField)?;
    if constant_time_eq(cookie.as_bytes(), field.as_bytes()) {
        Ok(())
    } else {
        Err(CsrfError::Mismatch)
    }
}

/// The `Set-Cookie` value that gives a visitor their token. HttpOnly: only
/// our server-rendered forms need it, never a script.
pub fn set_cookie(token: &str) -> String {
    format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax")
}

/// The hidden input every form carries. The token is hex, so needs no escaping.
pub fn hidden_field(token: &str) -> String {
    format!("<input type=\"hidden\" name=\"{FIELD}\" value=\"{token}\">")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_hex_of_128_bits() {
        let (a, b) = (new_token(), new_token());
        assert!(is_well_formed(&a) && is_well_formed(&b));
        assert_ne!(a, b);
        assert!(!is_well_formed(""));
        assert!(!is_well_formed(&a[1..]));
        assert!(!is_well_formed(&a.to_uppercase().replace(|c: char| c.is_ascii_digit(), "A")));
        assert!(!is_well_formed(&format!("{}\"", &a[1..])));
    }

    #[test]
    fn accepts_only_a_matching_pair() {
        let t = new_token();
        assert_eq!(check(Some(&t), Some(&t)), Ok(()));
        assert_eq!(check(None, Some(&t)), Err(CsrfError::MissingCookie));
        assert_eq!(check(Some(&t), None), Err(CsrfError::MissingField));
        assert_eq!(check(Some(&t), Some("")), Err(CsrfError::MissingField));
        assert_eq!(check(Some(&t), Some(&new_token())), Err(CsrfError::Mismatch));
        assert_eq!(check(Some(&t), Some(&t[..31])), Err(CsrfError::Mismatch));
        // A planted cookie that is not one of ours never matches, even itself.
        assert_eq!(check(Some("x"), Some("x")), Err(CsrfError::MissingCookie));
        assert_eq!(check(Some(""), Some("")), Err(CsrfError::MissingCookie));
    }

    #[test]
    fn constant_time_eq_is_equality() {
        assert!(constant_time_eq(b"", b""));
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }

    #[test]
    fn cookie_and_field_carry_the_token() {
        let t = new_token();
        let c = set_cookie(&t);
        assert!(c.starts_with(&format!("sw_csrf={t};")));
        assert!(c.contains("SameSite=Lax") && c.contains("Path=/") && c.contains("HttpOnly"));
        assert_eq!(hidden_field(&t), format!("<input type=\"hidden\" name=\"csrf\" value=\"{t}\">"));
    }
}
