//! Comments on answers.

use super::{comment, limited_insert, quoted, Quoted, COMMENT_COLUMNS, COMMENT_FROM};
use crate::infra::db::DbError;
use crate::infra::sql::Sql;
use crate::ratelimit::Limit;
use proto::pb::Comment;

pub fn get(db: &mut impl Sql, id: i64) -> Result<Option<Comment>, DbError> {
    let sql = format!("SELECT {COMMENT_COLUMNS} FROM {COMMENT_FROM} WHERE c.id = $1");
    Ok(db.query_opt(&sql, &[&id])?.as_ref().map(comment))
}

/// Inserts a comment, marks its question active and gives the comment back
/// as callers see it, in one statement that also checks the author's posting
/// limit (as for an answer: [`super::answers::create`]). A missing
/// answer is a foreign-key violation.
pub fn create(
    db: &mut impl Sql,
    answer_id: i64,
    body: &str,
    author: Option<i64>,
    limit: &Limit,
) -> Result<Quoted<Comment>, DbError> {
    // Its question is active only if the comment was made.
    let active = ", active AS (UPDATE question_activity SET last_activity_at = now()
                               WHERE question_id = (SELECT question_id FROM answers WHERE id = $1)
                                 AND EXISTS (SELECT 1 FROM c))";
    let sql = limited_insert(limit, "comments (answer_id, body, author_id)", "c", "$4", active, COMMENT_COLUMNS);
    let row = db.query_one(&sql, &[&answer_id, &body, &author, &limit.max()])?;
    Ok(quoted(&row, limit, comment))
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
