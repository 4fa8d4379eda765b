//! Unit tests of `services::fields`, compiled into the library's own test
//! binary through `#[path]` (they use its private items), kept out of `src/`.

use super::*;

#[test]
fn text_is_trimmed_and_counted_in_characters() {
    assert_eq!(clean_text(TITLE, "  Why?\n"), Ok("Why?".to_string()));
    // 200 two-byte characters are 200 characters, not 400.
    let e = "é".repeat(200);
    assert_eq!(clean_text(TITLE, &e), Ok(e.clone()));
    assert_eq!(clean_text(TITLE, &format!("{e}x")), Err(FieldError::Length { field: "title", max: 200 }));
    // Surrounding whitespace does not count against the limit.
    assert_eq!(clean_text(COMMENT_BODY, &format!("   {}   ", "a".repeat(600))).map(|s| s.len()), Ok(600));
    assert!(clean_text(COMMENT_BODY, &"a".repeat(601)).is_err());
    assert!(clean_text(QUESTION_BODY, &"a".repeat(30_000)).is_ok());
    assert!(clean_text(ANSWER_BODY, &"a".repeat(30_001)).is_err());
}

#[test]
fn empty_blank_and_nul_are_refused_naming_the_field() {
    assert_eq!(clean_text(TITLE, "").unwrap_err().to_string(), "title must be 1 to 200 characters");
    assert_eq!(clean_text(COMMENT_BODY, " \t\r\n ").unwrap_err().to_string(), "body must be 1 to 600 characters");
    assert_eq!(clean_text(TITLE, "a\0b").unwrap_err().to_string(), "title must not contain NUL characters");
}

#[test]
fn ids_are_positive_decimal_integers() {
    assert_eq!(parse_id("question_id", "42"), Ok(42));
    assert_eq!(parse_id("question_id", " 7 "), Ok(7));
    for bad in ["", "0", "-1", "+1", "1.5", "1e3", "abc", "9223372036854775808", "0x10"] {
        assert_eq!(parse_id("question_id", bad), Err(FieldError::NotPositive("question_id")), "{bad:?}");
    }
    assert_eq!(parse_id("id", "9223372036854775807"), Ok(i64::MAX));
    assert_eq!(check_id("answer_id", 0).unwrap_err().to_string(), "answer_id must be a positive integer");
    assert_eq!(check_id("answer_id", 3), Ok(3));
}

#[test]
fn page_window_defaults_and_bounds() {
    assert_eq!(page_window(0, 0), Ok((1, 20)));
    assert_eq!(page_window(3, 100), Ok((3, 100)));
    assert_eq!(page_window(1, 101).unwrap_err().to_string(), "per_page must be 1 to 100");
    assert_eq!(check_page("page", 0), Ok(1));
    assert!(check_page("page", proto::http::MAX_PAGE + 1).is_err());
}

#[test]
fn field_errors_become_invalid_argument() {
    let s: Status = FieldError::Missing("title").into();
    assert_eq!(s.code, proto::Code::InvalidArgument);
    assert_eq!(s.message, "title is required");
}

#[test]
fn usernames_and_passwords() {
    assert_eq!(check_username(" ann_b.c-1 "), Ok("ann_b.c-1".to_string()));
    for bad in ["ab", &"a".repeat(31), "a b", "ann!", "änn", ""] {
        assert_eq!(check_username(bad), Err(FieldError::Username), "{bad:?}");
    }
    assert!(check_username(&"a".repeat(30)).is_ok());
    assert_eq!(check_password(" 8 chars"), Ok(" 8 chars"));
    assert_eq!(check_password("short"), Err(FieldError::Password));
    assert_eq!(check_password(&"é".repeat(200)).map(|p| p.len()), Ok(400));
    assert_eq!(check_password(&"p".repeat(201)), Err(FieldError::Password));
}

#[test]
fn tags_are_split_lowercased_deduplicated_and_bounded() {
    assert_eq!(
        parse_tags("Rust, borrow-checker  c++ rust"),
        Ok(vec!["rust".into(), "borrow-checker".into(), "c++".into()])
    );
    assert_eq!(parse_tags("c# .net"), Ok(vec!["c#".into(), ".net".into()]));
    assert_eq!(parse_tags(" , "), Err(FieldError::TagCount));
    assert_eq!(parse_tags("a b c d e f"), Err(FieldError::TagCount));
    assert_eq!(parse_tags("a b c d e a"), Ok(vec!["a".into(), "b".into(), "c".into(), "d".into(), "e".into()]));
    assert_eq!(parse_tags("ok sp@ce"), Err(FieldError::Tag("sp@ce".into())));
    assert!(parse_tags(&"x".repeat(36)).is_err());
    assert!(parse_tags(&"x".repeat(35)).is_ok());
    assert_eq!(FieldError::Tag("a/b".into()).to_string(), "tag \"a/b\" must be 1 to 35 characters of a-z 0-9 + # . -");
}

#[test]
fn sorts_targets_directions_and_keys() {
    assert_eq!(parse_sort(""), Ok(Sort::Newest));
    assert_eq!(parse_sort("votes"), Ok(Sort::Votes));
    assert_eq!(parse_sort(" active "), Ok(Sort::Active));
    assert_eq!(
        parse_sort("hot").unwrap_err().to_string(),
        "sort must be newest, active, votes or unanswered, not \"hot\""
    );
    assert_eq!(Target::parse("answer"), Ok(Target::Answer));
    assert_eq!(Target::parse("comment"), Err(FieldError::Target));
    assert_eq!((parse_direction("up"), parse_direction("down")), (Ok(1), Ok(-1)));
    assert_eq!(parse_direction("sideways"), Err(FieldError::Direction));
    assert_eq!(check_idempotency_key(""), Ok(None));
    assert_eq!(check_idempotency_key("k-1:x"), Ok(Some("k-1:x".into())));
    for bad in ["has space", "tab\t", &"k".repeat(101), "é"] {
        assert_eq!(check_idempotency_key(bad), Err(FieldError::IdempotencyKey), "{bad:?}");
    }
}
