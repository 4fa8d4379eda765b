//! Unit tests of `services::search`, compiled into the library's own test
//! binary through `#[path]` (they use its private items), kept out of `src/`.

use super::*;

fn q(words: &str, tags: &[&str]) -> Query {
    Query { words: words.into(), tags: tags.iter().map(|t| t.to_string()).collect() }
}

#[test]
fn tags_are_pulled_out_of_the_words() {
    assert_eq!(parse("borrow checker"), Ok(q("borrow checker", &[])));
    assert_eq!(parse("[Rust] borrow  [async]checker"), Ok(q("borrow checker", &["rust", "async"])));
    assert_eq!(parse(" [rust] "), Ok(q("", &["rust"])));
    assert_eq!(parse("[c++] [c++] \"exact phrase\" -not"), Ok(q("\"exact phrase\" -not", &["c++"])));
}

#[test]
fn bad_queries_say_what_is_wrong() {
    assert_eq!(parse("   "), Err(QueryError::Length));
    assert_eq!(parse(&"x".repeat(501)), Err(QueryError::Length));
    assert_eq!(parse("[rust"), Err(QueryError::Unclosed));
    assert_eq!(parse("[a] [b] [c] [d] [e] [f]"), Err(QueryError::TooManyTags));
    let e = parse("[no tags here]").unwrap_err();
    assert_eq!(e.to_string(), "tag \"no tags here\" must be 1 to 35 characters of a-z 0-9 + # . -");
    assert_eq!(parse("[]").unwrap_err(), QueryError::Tag(FieldError::Tag(String::new())));
}
