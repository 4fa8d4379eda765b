//! Comments on answers.

use super::{comment, COMMENT_COLUMNS, COMMENT_FROM};
use crate::db::DbError;
use crate::sql::Sql;
use proto::pb::Comment;

pub fn get(db: &mut impl Sql, id: i64) -> Result<Option<Comment>, DbError> {
    let sql = format!("SELECT {COMMENT_COLUMNS} FROM {COMMENT_FROM} WHERE c.id = $1");
    Ok(db.query_opt(&sql, &[&id])?.as_ref().map(comment))
}

/// Inserts a comment and marks its question active; `None` when the
/// idempotency key is already taken. A missing answer is a foreign-key
/// violation.
pub fn insert(
    db: &mut impl Sql,
    answer_id: i64,
    body: &str,
    author: Option<i64>,
    key: Option<&str>,
) -> Result<Option<i64>, DbError> {
    let row = db.query_opt(
        "INSERT INTO comments (answer_id, body, author_id, idempotency_key) VALUES ($1, $2, $3, $4)
         ON CONFLICT (author_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
         RETURNING id",
        &[&answer_id, &body, &author, &key],
    )?;
    let Some(id) = row.map(|r| r.get::<_, i64>(0)) else { return Ok(None) };
    db.execute(
        "UPDATE questions SET last_activity_at = now() WHERE id = (SELECT question_id FROM answers WHERE id = $1)",
        &[&answer_id],
    )?;
    Ok(Some(id))
}

/// The comments on any of `answer_ids`, grouped by answer, oldest first
/// within each; one query however many answers there are.
pub fn for_answers(db: &mut impl Sql, answer_ids: &[i64]) -> Result<Vec<Comment>, DbError> {
    if answer_ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql =
        format!("SELECT {COMMENT_COLUMNS} FROM {COMMENT_FROM} WHERE c.answer_id = ANY($1) ORDER BY c.answer_id, c.id");
    Ok(db.query(&sql, &[&answer_ids])?.iter().map(comment).collect())
}
