//! Unit tests of `services::secrets`, compiled into the library's own test
//! binary through `#[path]` (they use its private items), kept out of `src/`.

use super::*;

#[test]
fn passwords_verify_only_themselves() {
    let stored = hash_password("correct horse").unwrap();
    assert!(stored.starts_with("$argon2id$"), "{stored}");
    assert!(verify_password("correct horse", &stored));
    assert!(!verify_password("correct horsE", &stored));
    assert!(!verify_password("correct horse", "not a phc string"));
    // Same password, fresh salt: two different strings.
    assert_ne!(hash_password("correct horse").unwrap(), stored);
}

#[test]
fn tokens_are_random_hex_and_hash_to_sha256() {
    let (a, b) = (new_token(), new_token());
    assert_ne!(a, b);
    assert!(is_token_shape(&a), "{a}");
    assert!(!is_token_shape("ABCDEF0123456789abcdef0123456789"));
    assert!(!is_token_shape("abc"));
    assert_eq!(token_hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_eq!(token_hash(&a).len(), 64);
}
