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

use super::{paged, question, Window, QUESTION_COLUMNS, QUESTION_FROM};
use crate::db::DbError;
use crate::sql::Sql;
use proto::pb::Question;

/// Keeps the question whose id is the SQL expression `id` if it carries
/// every tag of the array parameter `$n`: a primary-key probe per tag and
/// candidate row, never a read of a tag's whole list.
fn all_tags(id: &str, n: u8) -> String {
    format!(
        "NOT EXISTS (SELECT 1 FROM unnest(${n}::text[]) w(tag)
            WHERE NOT EXISTS (SELECT 1 FROM question_tags y WHERE y.question_id = {id} AND y.tag = w.tag))"
    )
}

/// Page `page` of the questions matching `words` (may be empty when `tags`
/// is not) and carrying every tag in `tags`, best first.
///
/// With words, the GIN index finds the matches, which are ranked, so the
/// cost follows the number of matches (as in every full-text engine). The
/// query is written into the condition itself, not joined in as a function
/// in FROM: that way a generic plan (the parameter unknown) still sees an
/// index condition and does not fall back to reading every question. With
/// tags alone it is a tag page: newest first along the least used tag's own
/// index range, keeping the rows that carry the other tags too, so it reads
/// the page and what the other tags filter out, never a whole table.
pub fn search(
    db: &mut impl Sql,
    words: &str,
    tags: &[String],
    page: u32,
    per_page: u32,
) -> Result<(Vec<Question>, bool), DbError> {
    let w = Window::new(page, per_page);
    let rows = if words.trim().is_empty() {
        if tags.is_empty() {
            return Ok((Vec::new(), false));
        }
        let sql = format!(
            "SELECT {QUESTION_COLUMNS} FROM
                (SELECT t.question_id AS id FROM question_tags t
                 WHERE t.tag = (SELECT x.tag FROM tags x WHERE x.tag = ANY($1::text[])
                                ORDER BY x.question_count, x.tag LIMIT 1)
                   AND {}
                 ORDER BY t.created_at DESC, t.question_id DESC {}) page
             JOIN {QUESTION_FROM} ON q.id = page.id
             ORDER BY q.created_at DESC, q.id DESC",
            all_tags("t.question_id", 1),
            w.clause()
        );
        w.query(db, &sql, &[&tags])?
    } else {
        // Only stop words ("the", "a"): no lexeme to look for, so no match
        // (and no "query contains no lexemes" notice from the server).
        let lexemes: i32 = db.query_one("SELECT numnode(websearch_to_tsquery('english', $1))", &[&words])?.get(0);
        if lexemes == 0 {
            return Ok((Vec::new(), false));
        }
        let sql = format!(
            "SELECT {QUESTION_COLUMNS} FROM {QUESTION_FROM}
             WHERE q.search @@ websearch_to_tsquery('english', $1) AND {}
             ORDER BY ts_rank_cd(q.search, websearch_to_tsquery('english', $1)) DESC, q.created_at DESC, q.id DESC {}",
            all_tags("q.id", 2),
            w.clause()
        );
        w.query(db, &sql, &[&words, &tags])?
    };
    Ok(paged(rows.iter().map(question).collect(), per_page))
}
