//! Every SQL statement the services run, and nothing else.
//!
//! All values travel as bind parameters, never spliced into SQL text; the
//! only text ever formatted into a statement is a table name chosen by a
//! `match` on a closed enum ([`table`]). Rows come back as the protobuf types
//! the services send on, so there is no second model to keep in step.
//! Timestamps are converted to milliseconds since the epoch in SQL (`floor`,
//! not rounding, so a row never appears to be created in the millisecond
//! after it was), which keeps the `postgres` crate's time features out.
//!
//! Functions take `&mut impl Sql`, so the same statement runs on a
//! pooled connection or inside the transaction of a multi-step write (a
//! create, a vote, an accept or an edit is one transaction each, opened by
//! the service that owns the write).
//!
//! Row locks taken before a write are `FOR NO KEY UPDATE`: they queue the
//! writers of one row (two votes on a post, two accepts on a question) but
//! never block an insert whose foreign key merely points at the row (an
//! answer to a question being voted on).
//!
//! Writes stay with the owning service; reads may join any table, because
//! the services share one database and a join is cheaper and more consistent
//! than a call per row (an author's name, a post's score, a viewer's votes).
//!
//! One module per table family: [`questions`], [`answers`], [`comments`],
//! [`users`] (and sessions), [`votes`], [`revisions`], [`search`],
//! [`throttle`] (failed logins, sign-ups per address), and [`threads`], the
//! question page's one statement.

pub mod answers;
pub mod comments;
pub mod idempotency;
pub mod questions;
pub mod revisions;
pub mod search;
pub mod threads;
pub mod throttle;
pub mod users;
pub mod votes;

use crate::fields::Target;
use postgres::Row;
use proto::pb::{Answer, Comment, Question};

/// `created_at` as epoch milliseconds, for a table aliased `q`, `a` or `c`.
macro_rules! ms {
    ($col:literal) => {
        concat!("floor(extract(epoch FROM ", $col, ") * 1000)::bigint")
    };
}
pub(crate) use ms;

/// Every column of [`Question`], in [`question`]'s order; `q` is the
/// questions row, `u` its author (LEFT JOINed: old rows have none).
pub const QUESTION_COLUMNS: &str = concat!(
    "q.id, q.title, q.body, ",
    ms!("q.created_at"),
    ", COALESCE(q.author_id, 0), COALESCE(u.username, ''), q.score, COALESCE(q.accepted_answer_id, 0), ",
    ms!("q.last_activity_at"),
    ", ARRAY(SELECT t.tag FROM question_tags t WHERE t.question_id = q.id ORDER BY t.position), ",
    "q.answer_count::bigint"
);
pub const QUESTION_FROM: &str = "questions q LEFT JOIN users u ON u.id = q.author_id";

/// Every column of [`Answer`]; `a` is the answers row, `q` its question.
pub const ANSWER_COLUMNS: &str = concat!(
    "a.id, a.question_id, a.body, ",
    ms!("a.created_at"),
    ", COALESCE(a.author_id, 0), COALESCE(u.username, ''), a.score, ",
    "COALESCE(q.accepted_answer_id = a.id, false), q.title"
);
pub const ANSWER_FROM: &str =
    "answers a JOIN questions q ON q.id = a.question_id LEFT JOIN users u ON u.id = a.author_id";

pub const COMMENT_COLUMNS: &str =
    concat!("c.id, c.answer_id, c.body, ", ms!("c.created_at"), ", COALESCE(c.author_id, 0), COALESCE(u.username, '')");
pub const COMMENT_FROM: &str = "comments c LEFT JOIN users u ON u.id = c.author_id";

pub fn question(row: &Row) -> Question {
    Question {
        id: row.get(0),
        title: row.get(1),
        body: row.get(2),
        created_at_ms: row.get(3),
        author_id: row.get(4),
        author: row.get(5),
        score: row.get(6),
        accepted_answer_id: row.get(7),
        last_activity_ms: row.get(8),
        tags: row.get(9),
        answer_count: row.get(10),
    }
}

pub fn answer(row: &Row) -> Answer {
    Answer {
        id: row.get(0),
        question_id: row.get(1),
        body: row.get(2),
        created_at_ms: row.get(3),
        author_id: row.get(4),
        author: row.get(5),
        score: row.get(6),
        accepted: row.get(7),
        question_title: row.get(8),
    }
}

pub fn comment(row: &Row) -> Comment {
    Comment {
        id: row.get(0),
        answer_id: row.get(1),
        body: row.get(2),
        created_at_ms: row.get(3),
        author_id: row.get(4),
        author: row.get(5),
    }
}

/// The table a vote or revision target lives in.
pub fn table(target: Target) -> &'static str {
    match target {
        Target::Question => "questions",
        Target::Answer => "answers",
    }
}

/// `LIMIT`/`OFFSET` for page `page` (from 1) of `per_page`, asking one row
/// more than the page holds: its presence answers "is there another page?"
/// without a COUNT query.
pub fn window(page: u32, per_page: u32) -> (i64, i64) {
    (i64::from(per_page) + 1, (i64::from(page.max(1)) - 1) * i64::from(per_page))
}

/// Splits the one-extra row off a [`window`]ed result.
pub fn paged<T>(mut rows: Vec<T>, per_page: u32) -> (Vec<T>, bool) {
    let has_more = rows.len() > per_page as usize;
    rows.truncate(per_page as usize);
    (rows, has_more)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_ask_for_one_extra_row() {
        assert_eq!(window(1, 20), (21, 0));
        assert_eq!(window(3, 20), (21, 40));
        assert_eq!(window(0, 5), (6, 0));
        assert_eq!(paged(vec![1, 2, 3], 2), (vec![1, 2], true));
        assert_eq!(paged(vec![1, 2], 2), (vec![1, 2], false));
    }

    #[test]
    fn column_lists_are_well_formed() {
        assert!(QUESTION_COLUMNS.contains("floor(extract(epoch FROM q.created_at) * 1000)::bigint"));
        assert!(ANSWER_COLUMNS.ends_with("q.title") && ANSWER_FROM.contains("JOIN questions q"));
    }
}
