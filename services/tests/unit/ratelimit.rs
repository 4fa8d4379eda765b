//! Unit tests of `services::ratelimit`, compiled into the library's own test
//! binary through `#[path]` (they use its private items), kept out of `src/`.

use super::*;

#[test]
fn refusals_say_what_and_when_and_round_trip() {
    let s = QUESTIONS.refusal(37);
    assert_eq!(s.code, Code::ResourceExhausted);
    assert_eq!(s.message, "you can ask at most 2 questions a minute; try again in 37 seconds");
    assert_eq!(retry_after(&s), Some(37));
    assert_eq!(ANSWERS.refusal(0).message, "you can post at most 10 answers a minute; try again in 1 second");
    assert_eq!(retry_after(&ANSWERS.refusal(-5)), Some(1));
    assert_eq!(retry_after(&QUESTIONS.refusal(600)), Some(60));
    assert_eq!(retry_after(&Status::invalid("try again in 5 seconds")), None);
    assert_eq!(retry_after(&Status::new(Code::ResourceExhausted, "reply too large")), None);
}
