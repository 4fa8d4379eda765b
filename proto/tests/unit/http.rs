//! Unit tests of `http`: form and percent decoding, lenient where browsers are, and encoding that round-trips.

use super::*;

#[test]
fn forms_decode_plus_and_escapes() {
    let got = decode_form(b"title=Hello+world&body=a%26b%3Dc&empty=&flag&&x=%zz%4").unwrap();
    assert_eq!(
        got,
        vec![
            ("title".into(), "Hello world".into()),
            ("body".into(), "a&b=c".into()),
            ("empty".into(), "".into()),
            ("flag".into(), "".into()),
            ("x".into(), "%zz%4".into()),
        ]
    );
}

#[test]
fn invalid_utf8_is_replaced_not_fatal() {
    assert_eq!(percent_decode(b"%FF%FEa", false), "\u{FFFD}\u{FFFD}a");
    assert_eq!(percent_decode(b"%", false), "%");
    assert_eq!(percent_decode(b"%4", false), "%4");
}

#[test]
fn encode_then_decode_is_identity() {
    let s = "a b&c=d/é<>";
    assert_eq!(percent_decode(percent_encode(s).as_bytes(), true), s);
}
