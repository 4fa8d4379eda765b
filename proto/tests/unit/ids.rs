//! Unit tests of `ids`: request ids are 24 hex digits, and only safe ids are accepted.

use super::*;
#[test]
fn ids_are_24_hex_and_valid() {
    let a = new_request_id();
    assert_eq!(a.len(), 24);
    assert!(is_valid_request_id(a.as_bytes()));
    assert_ne!(a, new_request_id());
    assert!(!is_valid_request_id(b"a b"));
    assert!(!is_valid_request_id(b"x\r\nSet-Cookie: a"));
    assert!(!is_valid_request_id(b""));
    assert!(!is_valid_request_id(&[b'a'; 65]));
}
