//! Questions and their tags.
//!
//! Lists are one query each whatever the sort: the ORDER BY of every sort has
//! an index behind it (migration 2), and the tag filter is an EXISTS on
//! `question_tags (tag, question_id)`. A question's tags come back as an
//! array subquery in the same row, in the order the asker gave them.

use super::{paged, question, window, QUESTION_COLUMNS, QUESTION_FROM};
use crate::db::DbError;
use crate::fields::Sort;
use crate::sql::Sql;
use proto::pb::{Question, TagCount};

pub fn get(db: &mut impl Sql, id: i64) -> Result<Option<Question>, DbError> {
    let sql = format!("SELECT {QUESTION_COLUMNS} FROM {QUESTION_FROM} WHERE q.id = $1");
    Ok(db.query_opt(&sql, &[&id])?.as_ref().map(question))
}

pub fn exists(db: &mut impl Sql, id: i64) -> Result<bool, DbError> {
    Ok(db.query_one("SELECT EXISTS (SELECT 1 FROM questions WHERE id = $1)", &[&id])?.get(0))
}

/// The question `author` already created with idempotency key `key`.
pub fn by_idempotency_key(db: &mut impl Sql, author: i64, key: &str) -> Result<Option<i64>, DbError> {
    let row =
        db.query_opt("SELECT id FROM questions WHERE author_id = $1 AND idempotency_key = $2", &[&author, &key])?;
    Ok(row.map(|r| r.get(0)))
}

/// Inserts a question; `None` when the idempotency key is already taken
/// (a concurrent retry won; the caller looks that row up instead).
pub fn insert(
    db: &mut impl Sql,
    title: &str,
    body: &str,
    author: i64,
    key: Option<&str>,
) -> Result<Option<i64>, DbError> {
    let row = db.query_opt(
        "INSERT INTO questions (title, body, author_id, idempotency_key) VALUES ($1, $2, $3, $4)
         ON CONFLICT (author_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
         RETURNING id",
        &[&title, &body, &author, &key],
    )?;
    Ok(row.map(|r| r.get(0)))
}

/// Replaces a question's tags with `tags`, keeping their order.
pub fn set_tags(db: &mut impl Sql, id: i64, tags: &[String]) -> Result<(), DbError> {
    db.execute("DELETE FROM question_tags WHERE question_id = $1", &[&id])?;
    let positions: Vec<i16> = (1..=tags.len() as i16).collect();
    db.execute(
        "INSERT INTO question_tags (question_id, tag, position)
         SELECT $1, t.tag, t.position FROM unnest($2::text[], $3::smallint[]) AS t(tag, position)",
        &[&id, &tags, &positions],
    )?;
    Ok(())
}

/// What an edit needs, with the row locked until the transaction ends.
pub struct Editable {
    pub author_id: Option<i64>,
    pub title: String,
    pub body: String,
    pub tags: Vec<String>,
}

pub fn lock_for_edit(db: &mut impl Sql, id: i64) -> Result<Option<Editable>, DbError> {
    let row = db.query_opt(
        "SELECT author_id, title, body,
                ARRAY(SELECT t.tag FROM question_tags t WHERE t.question_id = q.id ORDER BY t.position)
         FROM questions q WHERE id = $1 FOR NO KEY UPDATE",
        &[&id],
    )?;
    Ok(row.map(|r| Editable { author_id: r.get(0), title: r.get(1), body: r.get(2), tags: r.get(3) }))
}

pub fn update(db: &mut impl Sql, id: i64, title: &str, body: &str) -> Result<(), DbError> {
    db.execute(
        "UPDATE questions SET title = $2, body = $3, last_activity_at = now() WHERE id = $1",
        &[&id, &title, &body],
    )?;
    Ok(())
}

/// Marks question `id` as just active (an answer, a comment).
pub fn touch(db: &mut impl Sql, id: i64) -> Result<(), DbError> {
    db.execute("UPDATE questions SET last_activity_at = now() WHERE id = $1", &[&id])?;
    Ok(())
}

/// Page `page` of `per_page` questions in `sort` order, optionally only
/// those tagged `tag`; and whether another page follows.
pub fn list(
    db: &mut impl Sql,
    sort: Sort,
    tag: Option<&str>,
    page: u32,
    per_page: u32,
) -> Result<(Vec<Question>, bool), DbError> {
    let (limit, offset) = window(page, per_page);
    let order = match sort {
        Sort::Newest | Sort::Unanswered => "q.created_at DESC, q.id DESC",
        Sort::Active => "q.last_activity_at DESC, q.id DESC",
        Sort::Votes => "q.score DESC, q.created_at DESC, q.id DESC",
    };
    let unanswered = match sort {
        Sort::Unanswered => "AND NOT EXISTS (SELECT 1 FROM answers x WHERE x.question_id = q.id)",
        _ => "",
    };
    let sql = format!(
        "SELECT {QUESTION_COLUMNS} FROM {QUESTION_FROM}
         WHERE ($3::text IS NULL OR EXISTS (SELECT 1 FROM question_tags t WHERE t.question_id = q.id AND t.tag = $3))
         {unanswered}
         ORDER BY {order} LIMIT $1 OFFSET $2"
    );
    let rows = db.query(&sql, &[&limit, &offset, &tag])?;
    Ok(paged(rows.iter().map(question).collect(), per_page))
}

/// Every tag in use with its number of questions, most used first (then by
/// name), at most `limit` of them.
pub fn tag_counts(db: &mut impl Sql, limit: i64) -> Result<Vec<TagCount>, DbError> {
    let rows = db.query(
        "SELECT tag, count(*) FROM question_tags GROUP BY tag ORDER BY count(*) DESC, tag LIMIT $1",
        &[&limit],
    )?;
    Ok(rows.iter().map(|r| TagCount { tag: r.get(0), count: r.get(1) }).collect())
}

/// A user's newest questions.
pub fn by_author(db: &mut impl Sql, author: i64, limit: i64) -> Result<Vec<Question>, DbError> {
    let sql = format!(
        "SELECT {QUESTION_COLUMNS} FROM {QUESTION_FROM} WHERE q.author_id = $1
         ORDER BY q.created_at DESC, q.id DESC LIMIT $2"
    );
    Ok(db.query(&sql, &[&author, &limit])?.iter().map(question).collect())
}
