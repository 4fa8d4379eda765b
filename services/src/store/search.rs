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
//!
//! A page of word results carries `ts_headline` snippets of each title and
//! body, computed for that page's rows only (so a search costs the same
//! however many rows match), with the matched words between sentinels.

use super::{paged, question, Window, QUESTION_COLUMNS, QUESTION_FROM};
use crate::infra::db::DbError;
use crate::infra::sql::Sql;
use proto::headline::{MARK_START, MARK_STOP};
use proto::pb::Question;

/// The marks ([`proto::headline`]) as an SQL expression, taken out of
/// the text before ts_headline so that in its output they can only be marks.
const SENTINELS: &str = "chr(1) || chr(2)";

/// What is taken out of a body before its headline is cut, anywhere: the
/// sentinels, and Markdown's emphasis, code and table marks (a snippet is
/// plain words; the webui escapes whatever is left).
const MARKUP: &str = "'[' || chr(1) || chr(2) || '`*~|]+'";

/// Markdown's heading and quote marks, taken out only at the start of a
/// line (`c#` and `a > b` keep theirs).
const LINE_MARKUP: &str = "'^[ \\t]*[#>]+'";

/// ts_headline's options for a title: all of it, matches marked.
fn title_options() -> String {
    format!("HighlightAll=true, StartSel=\"{MARK_START}\", StopSel=\"{MARK_STOP}\"")
}

/// ts_headline's options for a body: up to two fragments of 12 to 30 words.
fn body_options() -> String {
    format!(
        "MaxWords=30, MinWords=12, MaxFragments=2, FragmentDelimiter=\" … \", \
         StartSel=\"{MARK_START}\", StopSel=\"{MARK_STOP}\""
    )
}

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
        // The page is chosen first; ts_headline (which re-parses a whole
        // body) then runs on that page's rows only.
        let sql = format!(
            "SELECT {QUESTION_COLUMNS},
                    ts_headline('english', translate(q.title, {SENTINELS}, ''), websearch_to_tsquery('english', $1), $3),
                    ts_headline('english',
                        regexp_replace(regexp_replace(q.body, {LINE_MARKUP}, ' ', 'gn'), {MARKUP}, ' ', 'g'),
                        websearch_to_tsquery('english', $1), $4)
             FROM (SELECT q.id, ts_rank_cd(q.search, websearch_to_tsquery('english', $1)) AS rank, q.created_at
                   FROM questions q
                   WHERE q.search @@ websearch_to_tsquery('english', $1) AND {}
                   ORDER BY rank DESC, q.created_at DESC, q.id DESC {}) page
             JOIN {QUESTION_FROM} ON q.id = page.id
             ORDER BY page.rank DESC, page.created_at DESC, page.id DESC",
            all_tags("q.id", 2),
            w.clause()
        );
        let rows = w.query(db, &sql, &[&words, &tags, &title_options(), &body_options()])?;
        let found = rows
            .iter()
            .map(|r| {
                let mut q = question(r);
                q.headline_title = r.get(13);
                q.headline_body = r.get(14);
                q
            })
            .collect();
        return Ok(paged(found, per_page));
    };
    Ok(paged(rows.iter().map(question).collect(), per_page))
}
