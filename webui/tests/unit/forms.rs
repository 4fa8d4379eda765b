//! Unit tests of `webui::forms`, compiled into the library's own test
//! binary through `#[path]` (they use its private items), kept out of `src/`.

use super::*;
use proto::pb::Header;

#[test]
fn question_limits_count_characters_after_trimming() {
    assert!(check_question("t", "b").is_ok());
    assert!(check_question(&"t".repeat(200), &"b".repeat(30_000)).is_ok());
    // Multi-byte characters count once each.
    assert!(check_question(&"é".repeat(200), "b").is_ok());
    // Surrounding whitespace does not count toward either bound.
    assert!(check_question(&format!("  {}  ", "t".repeat(200)), " b ").is_ok());

    let e = check_question(&"t".repeat(201), "b").unwrap_err();
    assert_eq!(e.field, Some(Field::Title));
    assert_eq!(e.message, "title must be 1 to 200 characters");
    let e = check_question(" \n\t ", "b").unwrap_err();
    assert_eq!(e.field, Some(Field::Title));
    let e = check_question("t", "   ").unwrap_err();
    assert_eq!(e.field, Some(Field::Body));
    assert_eq!(e.message, "body must be 1 to 30000 characters");
    assert!(check_question("t", &"b".repeat(30_001)).is_err());
}

#[test]
fn tags_are_split_lowercased_and_limited() {
    assert_eq!(parse_tags("Rust, tcp  sockets,rust").unwrap(), vec!["rust", "tcp", "sockets"]);
    assert_eq!(parse_tags("c# c++ .net node-js").unwrap(), vec!["c#", "c++", ".net", "node-js"]);
    assert_eq!(parse_tags(&"a".repeat(35)).unwrap().len(), 1);
    for bad in ["", " , ", "a b c d e f", "tag_with_underscore", "<script>", "ünï", &"a".repeat(36)] {
        let e = parse_tags(bad).unwrap_err();
        assert_eq!(e.field, Some(Field::Tags), "{bad:?}");
        assert!(e.message.starts_with("tags"), "{bad:?}: {}", e.message);
    }
    assert!(check_question_with_tags("t", "b", "x").is_ok());
    assert_eq!(check_question_with_tags("", "b", "x").unwrap_err().field, Some(Field::Title));
}

#[test]
fn accounts_limits() {
    assert!(check_username("ann_b.c-9").is_ok());
    for bad in ["ab", &"a".repeat(31), "has space", "ünï", "semi;colon", ""] {
        assert_eq!(check_username(bad).unwrap_err().field, Some(Field::Username), "{bad:?}");
    }
    assert!(check_password("12345678").is_ok());
    assert!(check_password(&"p".repeat(200)).is_ok());
    assert!(check_password("1234567").is_err());
    assert!(check_password(&"p".repeat(201)).is_err());
    assert_eq!(Invalid::from_service("username is taken").field, Some(Field::Username));
    assert_eq!(Invalid::from_service("tags must be …").field, Some(Field::Tags));
}

#[test]
fn idempotency_keys_are_printable_and_short() {
    let pairs = |v: &str| vec![("idem".to_string(), v.to_string())];
    assert_eq!(idempotency_key(&pairs("abc123")), "abc123");
    assert_eq!(idempotency_key(&pairs("")), "");
    assert_eq!(idempotency_key(&pairs("a b")), "");
    assert_eq!(idempotency_key(&pairs(&"k".repeat(101))), "");
    assert_eq!(idempotency_key(&[]), "");
}

#[test]
fn answer_and_comment_limits() {
    assert!(check_answer(&"a".repeat(30_000)).is_ok());
    assert!(check_answer("").is_err());
    assert!(check_comment(&"c".repeat(600)).is_ok());
    let e = check_comment(&"c".repeat(601)).unwrap_err();
    assert_eq!(e.message, "body must be 1 to 600 characters");
    assert!(check_comment(" ").is_err());
}

#[test]
fn service_messages_are_attributed_to_the_field_they_name() {
    assert_eq!(Invalid::from_service("title must be 1 to 200 characters").field, Some(Field::Title));
    assert_eq!(Invalid::from_service("body is required").field, Some(Field::Body));
    assert_eq!(Invalid::from_service("bodywork").field, None);
    assert_eq!(Invalid::from_service("question_id missing").field, None);
    assert_eq!(Invalid::from_service("").field, None);
}

fn post(content_type: Option<&str>, body: &str) -> HttpRequest {
    HttpRequest {
        method: "POST".into(),
        path: "/ask".into(),
        headers: content_type
            .map(|v| vec![Header { name: "Content-Type".into(), value: v.as_bytes().to_vec() }])
            .unwrap_or_default(),
        body: body.as_bytes().to_vec(),
        ..Default::default()
    }
}

#[test]
fn reads_urlencoded_forms_and_rejects_other_types() {
    let pairs =
        read(&post(Some("application/x-www-form-urlencoded; charset=UTF-8"), "title=a+b&body=%3Cx%3E")).unwrap();
    assert_eq!(field(&pairs, "title"), "a b");
    assert_eq!(field(&pairs, "body"), "<x>");
    assert_eq!(field(&pairs, "missing"), "");
    let pairs = read(&post(None, "body=one%0D%0Atwo%0Dthree%0Afour")).unwrap();
    assert_eq!(field(&pairs, "body"), "one\ntwo\nthree\nfour");
    assert!(read(&post(None, "body=x")).is_ok());
    assert_eq!(
        read(&post(Some("multipart/form-data; boundary=x"), "")),
        Err(FormError::UnsupportedType("multipart/form-data".into()))
    );
}
