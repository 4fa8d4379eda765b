//! Every SQL statement the services run, and nothing else.
//!
//! All values travel as bind parameters, never spliced into SQL text. Rows
//! come back as the protobuf types the services send on, so there is no second
//! model to keep in step. Timestamps are converted to milliseconds since the
//! epoch in SQL (`floor`, not rounding, so a row never appears to be created
//! in the millisecond after it was), which keeps the `postgres` crate's time
//! features out of the build.
//!
//! Each service touches only its own table (questions, answers or comments)
//! except through foreign keys: the key from answers to questions is what makes
//! "question deleted between the existence check and the insert" a clean
//! NOT_FOUND instead of an orphan row (see [`crate::db::DbError::is_foreign_key_violation`]).

use crate::db::DbError;
use postgres::{Client, Row};
use proto::pb::{Answer, Comment, Question};

const CREATED_MS: &str = "floor(extract(epoch FROM created_at) * 1000)::bigint";

fn question(row: &Row) -> Question {
    Question { id: row.get(0), title: row.get(1), body: row.get(2), created_at_ms: row.get(3), ..Default::default() }
}

fn answer(row: &Row) -> Answer {
    Answer {
        id: row.get(0),
        question_id: row.get(1),
        body: row.get(2),
        created_at_ms: row.get(3),
        ..Default::default()
    }
}

fn comment(row: &Row) -> Comment {
    Comment { id: row.get(0), answer_id: row.get(1), body: row.get(2), created_at_ms: row.get(3), ..Default::default() }
}

// ---- questions -------------------------------------------------------------

pub fn insert_question(db: &mut Client, title: &str, body: &str) -> Result<Question, DbError> {
    let sql = format!("INSERT INTO questions (title, body) VALUES ($1, $2) RETURNING id, title, body, {CREATED_MS}");
    Ok(question(&db.query_one(&sql, &[&title, &body])?))
}

pub fn get_question(db: &mut Client, id: i64) -> Result<Option<Question>, DbError> {
    let sql = format!("SELECT id, title, body, {CREATED_MS} FROM questions WHERE id = $1");
    Ok(db.query_opt(&sql, &[&id])?.as_ref().map(question))
}

pub fn question_exists(db: &mut Client, id: i64) -> Result<bool, DbError> {
    Ok(db.query_one("SELECT EXISTS (SELECT 1 FROM questions WHERE id = $1)", &[&id])?.get(0))
}

/// Page `page` (from 1) of `per_page` questions, newest first, and whether
/// another page follows. One row more than asked for answers the latter
/// without a second COUNT query.
pub fn list_questions(db: &mut Client, page: u32, per_page: u32) -> Result<(Vec<Question>, bool), DbError> {
    let limit = i64::from(per_page) + 1;
    let offset = (i64::from(page.max(1)) - 1) * i64::from(per_page);
    let sql = format!(
        "SELECT id, title, body, {CREATED_MS} FROM questions
         ORDER BY created_at DESC, id DESC LIMIT $1 OFFSET $2"
    );
    let rows = db.query(&sql, &[&limit, &offset])?;
    let has_more = rows.len() > per_page as usize;
    Ok((rows.iter().take(per_page as usize).map(question).collect(), has_more))
}

// ---- answers ---------------------------------------------------------------

pub fn insert_answer(db: &mut Client, question_id: i64, body: &str) -> Result<Answer, DbError> {
    let sql = format!(
        "INSERT INTO answers (question_id, body) VALUES ($1, $2) RETURNING id, question_id, body, {CREATED_MS}"
    );
    Ok(answer(&db.query_one(&sql, &[&question_id, &body])?))
}

pub fn get_answer(db: &mut Client, id: i64) -> Result<Option<Answer>, DbError> {
    let sql = format!("SELECT id, question_id, body, {CREATED_MS} FROM answers WHERE id = $1");
    Ok(db.query_opt(&sql, &[&id])?.as_ref().map(answer))
}

pub fn answer_exists(db: &mut Client, id: i64) -> Result<bool, DbError> {
    Ok(db.query_one("SELECT EXISTS (SELECT 1 FROM answers WHERE id = $1)", &[&id])?.get(0))
}

/// A question's answers, oldest first.
pub fn answers_for_question(db: &mut Client, question_id: i64) -> Result<Vec<Answer>, DbError> {
    let sql = format!("SELECT id, question_id, body, {CREATED_MS} FROM answers WHERE question_id = $1 ORDER BY id");
    Ok(db.query(&sql, &[&question_id])?.iter().map(answer).collect())
}

// ---- comments --------------------------------------------------------------

pub fn insert_comment(db: &mut Client, answer_id: i64, body: &str) -> Result<Comment, DbError> {
    let sql =
        format!("INSERT INTO comments (answer_id, body) VALUES ($1, $2) RETURNING id, answer_id, body, {CREATED_MS}");
    Ok(comment(&db.query_one(&sql, &[&answer_id, &body])?))
}

/// The comments on any of `answer_ids`, grouped by answer, oldest first
/// within each; one query however many answers there are.
pub fn comments_for_answers(db: &mut Client, answer_ids: &[i64]) -> Result<Vec<Comment>, DbError> {
    if answer_ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT id, answer_id, body, {CREATED_MS} FROM comments WHERE answer_id = ANY($1) ORDER BY answer_id, id"
    );
    Ok(db.query(&sql, &[&answer_ids])?.iter().map(comment).collect())
}
