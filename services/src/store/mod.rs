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
//! question page's one statement. Only [`answers`] is public (the
//! integration tests' support inserts a row through it); the rest are the
//! crate's own.

pub mod answers;
pub(crate) mod comments;
pub(crate) mod idempotency;
pub(crate) mod questions;
pub(crate) mod revisions;
pub(crate) mod search;
pub(crate) mod threads;
pub(crate) mod throttle;
pub(crate) mod users;
pub(crate) mod votes;

use crate::fields::Target;
use crate::infra::db::DbError;
use crate::infra::sql::{Params, Sql};
use crate::ratelimit::Limit;
use postgres::Row;
use proto::pb::{Answer, Comment, Question};

/// `created_at` as epoch milliseconds, for a table aliased `q`, `a` or `c`.
macro_rules! ms {
    ($col:expr) => {
        concat!("floor(extract(epoch FROM ", $col, ") * 1000)::bigint")
    };
}
pub(crate) use ms;

/// The username of the author whose id is the column `$col` ("" for posts
/// from before accounts), as a subquery: one primary-key probe per row
/// shown. A join would let the planner hash the whole users table for a
/// page of twenty rows, which it does on a database without statistics.
macro_rules! author {
    ($col:literal) => {
        concat!("COALESCE((SELECT u.username FROM users u WHERE u.id = ", $col, "), '')")
    };
}
pub(crate) use author;

/// The reputation of the author whose id is the column `$col` (0 for posts
/// from before accounts): a primary-key probe, like [`author`].
macro_rules! reputation {
    ($col:literal) => {
        concat!("COALESCE((SELECT u.reputation FROM users u WHERE u.id = ", $col, "), 0)")
    };
}
pub(crate) use reputation;

/// The question `q`'s activity row (migration 7) column `$col`, or `$none`
/// for a question without one: a primary-key probe.
macro_rules! activity {
    ($col:literal, $none:literal) => {
        concat!("COALESCE((SELECT s.", $col, " FROM question_activity s WHERE s.question_id = q.id), ", $none, ")")
    };
}
pub(crate) use activity;

/// Every column of [`Question`], in [`question`]'s order; `q` is the
/// questions row. The author, the tags and the activity are subqueries
/// (primary-key and key-prefix probes), for the reason given at [`author`].
pub const QUESTION_COLUMNS: &str = concat!(
    "q.id, q.title, q.body, ",
    ms!("q.created_at"),
    ", COALESCE(q.author_id, 0), ",
    author!("q.author_id"),
    ", q.score, COALESCE(q.accepted_answer_id, 0), ",
    ms!(activity!("last_activity_at", "q.created_at")),
    ", ARRAY(SELECT t.tag FROM question_tags t WHERE t.question_id = q.id ORDER BY t.position), ",
    activity!("answer_count", "0"),
    "::bigint, q.view_count, ",
    reputation!("q.author_id")
);
pub const QUESTION_FROM: &str = "questions q";

/// Every column of [`Answer`]; `a` is the answers row, its question read by
/// primary key for the accepted mark and the title.
pub const ANSWER_COLUMNS: &str = concat!(
    "a.id, a.question_id, a.body, ",
    ms!("a.created_at"),
    ", COALESCE(a.author_id, 0), ",
    author!("a.author_id"),
    ", a.score, ",
    "COALESCE((SELECT q.accepted_answer_id = a.id FROM questions q WHERE q.id = a.question_id), false), ",
    "COALESCE((SELECT q.title FROM questions q WHERE q.id = a.question_id), ''), ",
    reputation!("a.author_id")
);
pub const ANSWER_FROM: &str = "answers a";

pub const COMMENT_COLUMNS: &str =
    concat!("c.id, c.answer_id, c.body, ", ms!("c.created_at"), ", COALESCE(c.author_id, 0), ", author!("c.author_id"));
pub const COMMENT_FROM: &str = "comments c";

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
        view_count: row.get(11),
        author_reputation: row.get(12),
        ..Default::default()
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
        author_reputation: row.get(9),
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
/// What a create that checks the author's posting limit in its own
/// statement gave: the new post, or the limit's count and wait when it left
/// no room (nothing was written).
pub enum Quoted<T> {
    Made(T),
    Full { n: i64, wait: i64 },
}

/// The statement of such a create: `recent` counts the author's (`$3`)
/// posts in the window (`limit`'s, its `max` as parameter `max`); `alias`
/// inserts `$1, $2, $3` into `into` (a table and its parent, body and author
/// columns) only when they leave room; `more` adds the CTEs that follow
/// from the insert; the statement returns the new row's `columns` (empty
/// when refused), then `n` and `wait` for [`quoted`].
fn limited_insert(limit: &Limit, into: &str, alias: &str, max: &str, more: &str, columns: &str) -> String {
    format!(
        "WITH recent AS ({}),
              {alias} AS (INSERT INTO {into} SELECT $1, $2, $3 FROM recent WHERE recent.n < {max} RETURNING *)
              {more}
         SELECT {columns}, recent.n, recent.wait FROM recent LEFT JOIN {alias} ON true",
        limit.recent_sql("$3", max)
    )
}

/// The outcome of such a create, whose statement ends with the limit's `n`
/// and `wait` after the post's columns (`parse` reads those).
fn quoted<T>(row: &Row, limit: &Limit, parse: fn(&Row) -> T) -> Quoted<T> {
    let (n, wait): (i64, i64) = (row.get(row.len() - 2), row.get(row.len() - 1));
    if n >= limit.max() {
        Quoted::Full { n, wait }
    } else {
        Quoted::Made(parse(row))
    }
}

pub fn table(target: Target) -> &'static str {
    match target {
        Target::Question => "questions",
        Target::Answer => "answers",
    }
}

/// One page of a list: `LIMIT`/`OFFSET` for page `page` (from 1) of
/// `per_page`, asking one row more than the page holds: its presence
/// answers "is there another page?" without a COUNT query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub limit: i64,
    pub offset: i64,
}

impl Window {
    pub fn new(page: u32, per_page: u32) -> Window {
        Window { limit: i64::from(per_page) + 1, offset: (i64::from(page.max(1)) - 1) * i64::from(per_page) }
    }

    /// The clause, with the numbers written in: a generic plan (what a
    /// prepared statement may switch to) of `LIMIT $1` assumes a tenth of
    /// the table is wanted and then prefers a sequential scan and a sort to
    /// the index that gives the order. Both numbers are integers we made.
    pub fn clause(&self) -> String {
        format!("LIMIT {} OFFSET {}", self.limit, self.offset)
    }

    /// Runs a statement ending in [`Window::clause`]: first pages (and
    /// keyset pages, offset 0) through the statement cache, deeper pages
    /// unprepared, so page numbers cannot fill the cache with variants.
    pub fn query(&self, db: &mut impl Sql, sql: &str, params: Params<'_>) -> Result<Vec<Row>, DbError> {
        Ok(if self.offset == 0 { db.query(sql, params)? } else { db.query_once(sql, params)? })
    }
}

/// Where a list page starts: a page number (OFFSET, bounded by the caller)
/// or just after a given question in the list's order (keyset).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    Page(u32),
    After(i64),
}

/// One page of a user's questions or answers, newest first (one more row
/// than the page: [`paged`] splits it off): one range of the table's
/// `{table}_by_author` index, from a page number (OFFSET, bounded by the
/// page rule) or just after a given post of theirs (keyset).
pub fn by_author(
    db: &mut impl Sql,
    target: Target,
    author: i64,
    start: Start,
    per_page: u32,
) -> Result<Vec<Row>, DbError> {
    let (select, alias) = match target {
        Target::Question => (format!("SELECT {QUESTION_COLUMNS} FROM {QUESTION_FROM}"), "q"),
        Target::Answer => (format!("SELECT {ANSWER_COLUMNS} FROM {ANSWER_FROM}"), "a"),
    };
    let (w, after) = match start {
        Start::Page(page) => (Window::new(page, per_page), 0),
        Start::After(id) => (Window::new(1, per_page), id),
    };
    // Two statements rather than `$2 = 0 OR …`, so a generic plan keeps the index range.
    let keyset = if after > 0 {
        format!(
            "AND ({alias}.created_at, {alias}.id) < (SELECT x.created_at, x.id FROM {} x WHERE x.id = $2)",
            table(target)
        )
    } else {
        String::new()
    };
    let sql = format!(
        "{select} WHERE {alias}.author_id = $1 {keyset}
         ORDER BY {alias}.created_at DESC, {alias}.id DESC {}",
        w.clause()
    );
    if after > 0 {
        w.query(db, &sql, &[&author, &after])
    } else {
        w.query(db, &sql, &[&author])
    }
}

/// Splits the one-extra row off a [`Window`]ed result.
pub fn paged<T>(mut rows: Vec<T>, per_page: u32) -> (Vec<T>, bool) {
    let has_more = rows.len() > per_page as usize;
    rows.truncate(per_page as usize);
    (rows, has_more)
}

#[cfg(test)]
#[path = "../../tests/unit/store.rs"]
mod tests;
