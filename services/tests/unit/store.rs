//! Unit tests of `services::store`, compiled into the library's own test
//! binary through `#[path]` (they use its private items), kept out of `src/`.

use super::*;

#[test]
fn windows_ask_for_one_extra_row() {
    assert_eq!(Window::new(1, 20), Window { limit: 21, offset: 0 });
    assert_eq!(Window::new(3, 20).clause(), "LIMIT 21 OFFSET 40");
    assert_eq!(Window::new(0, 5), Window { limit: 6, offset: 0 });
    assert_eq!(paged(vec![1, 2, 3], 2), (vec![1, 2], true));
    assert_eq!(paged(vec![1, 2], 2), (vec![1, 2], false));
}

#[test]
fn column_lists_are_well_formed() {
    assert!(QUESTION_COLUMNS.contains("floor(extract(epoch FROM q.created_at) * 1000)::bigint"));
    assert!(ANSWER_COLUMNS.contains("SELECT q.title FROM questions q WHERE q.id = a.question_id"));
}
