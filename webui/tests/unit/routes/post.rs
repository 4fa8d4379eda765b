//! Unit tests of `webui::routes::post`, compiled into the library's own test
//! binary through `#[path]` (they use its private items), kept out of `src/`.

use super::*;

#[test]
fn retry_after_reads_the_limit_message() {
    assert_eq!(retry_after("you can ask at most 2 questions a minute; try again in 42 seconds"), 42);
    assert_eq!(retry_after("try again in 0 seconds"), 1);
    assert_eq!(retry_after("slow down"), 60);
    assert_eq!(retry_after("in a while"), 60);
}
