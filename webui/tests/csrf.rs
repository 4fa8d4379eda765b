//! The CSRF tokens (issue 10): a hand-written HMAC-SHA256 checked against
//! RFC 4231's vectors, and the binding rules: a token belongs to one session
//! (or one pre-session id) under one secret, and is never the cookie's value.

use webui::csrf::{hmac_sha256, Binding, CsrfError, Key};

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn hmac_sha256_matches_rfc_4231() {
    // Test case 1: a 20-byte key; test case 2: a short key; test case 6: a key longer than a block.
    assert_eq!(
        hex(&hmac_sha256(&[0x0b; 20], &[b"Hi There"])),
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
    );
    assert_eq!(
        hex(&hmac_sha256(b"Jefe", &[b"what do ya want ", b"for nothing?"])),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
    assert_eq!(
        hex(&hmac_sha256(&[0xaa; 131], &[b"Test Using Larger Than Block-Size Key - Hash Key First"])),
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
    );
}

#[test]
fn tokens_are_bound_to_one_session_under_one_secret() {
    let key = Key::from_hex(&"ab".repeat(16)).unwrap();
    let other = Key::from_hex(&"cd".repeat(16)).unwrap();
    let t = key.token(Binding::Session("s1"));
    assert_eq!(t.len(), 64);
    assert_eq!(key.check(Some(Binding::Session("s1")), Some(&t)), Ok(()));
    assert_eq!(key.check(Some(Binding::Session("s2")), Some(&t)), Err(CsrfError::Mismatch));
    assert_eq!(key.check(Some(Binding::Visitor("s1")), Some(&t)), Err(CsrfError::Mismatch));
    assert_eq!(other.check(Some(Binding::Session("s1")), Some(&t)), Err(CsrfError::Mismatch));
    assert_eq!(key.check(None, Some(&t)), Err(CsrfError::MissingCookie));
    assert_eq!(key.check(Some(Binding::Session("s1")), Some("")), Err(CsrfError::MissingField));
    // A planted pair: the cookie's own value is never a token.
    let planted = webui::csrf::new_token();
    assert_eq!(key.check(Some(Binding::Visitor(&planted)), Some(&planted)), Err(CsrfError::Mismatch));
    // Secrets must be at least 128 bits of hex.
    assert!(Key::from_hex("abcd").is_err());
    assert!(Key::from_hex(&"zz".repeat(16)).is_err());
}
