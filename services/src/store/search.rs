//! Full-text search over questions.
//!
//! `questions.search` is a generated tsvector (title weight A, body weight B,
//! english configuration) with a GIN index, so matching is an index lookup
//! and PostgreSQL keeps the vector right on every insert and edit. Results
//! are ranked by `ts_rank_cd`, where an A-weighted (title) match counts 1.0
//! against 0.4 for a B-weighted (body) one, so a question with the words in
//! its title outranks one that only mentions them in the body; equal ranks
//! fall back to newest first.
//!
//! The words go through `websearch_to_tsquery`, which accepts anything a
//! person types (quotes for phrases, `-word` to exclude, `or`) and never
//! fails on syntax. Every `[tag]` filter must match.

use super::{paged, question, window, QUESTION_COLUMNS, QUESTION_FROM};
use crate::db::DbError;
use crate::sql::Sql;
use proto::pb::Question;

/// Page `page` of the questions matching `words` (may be empty when `tags`
/// is not) and carrying every tag in `tags`, best first.
pub fn search(
    db: &mut impl Sql,
    words: &str,
    tags: &[String],
    page: u32,
    per_page: u32,
) -> Result<(Vec<Question>, bool), DbError> {
    let (limit, offset) = window(page, per_page);
    let tag_filter = "(cardinality($4::text[]) = 0 OR q.id IN (
            SELECT t.question_id FROM question_tags t WHERE t.tag = ANY($4::text[])
            GROUP BY t.question_id HAVING count(*) = cardinality($4::text[])))";
    let rows = if words.trim().is_empty() {
        let sql = format!(
            "SELECT {QUESTION_COLUMNS} FROM {QUESTION_FROM} WHERE $1::text = '' AND {tag_filter}
             ORDER BY q.created_at DESC, q.id DESC LIMIT $2 OFFSET $3"
        );
        db.query(&sql, &[&words, &limit, &offset, &tags])?
    } else {
        // Only stop words ("the", "a"): no lexeme to look for, so no match
        // (and no "query contains no lexemes" notice from the server).
        let lexemes: i32 = db.query_one("SELECT numnode(websearch_to_tsquery('english', $1))", &[&words])?.get(0);
        if lexemes == 0 {
            return Ok((Vec::new(), false));
        }
        let sql = format!(
            "SELECT {QUESTION_COLUMNS} FROM {QUESTION_FROM}, websearch_to_tsquery('english', $1) query
             WHERE q.search @@ query AND {tag_filter}
             ORDER BY ts_rank_cd(q.search, query) DESC, q.created_at DESC, q.id DESC LIMIT $2 OFFSET $3"
        );
        db.query(&sql, &[&words, &limit, &offset, &tags])?
    };
    Ok(paged(rows.iter().map(question).collect(), per_page))
}
