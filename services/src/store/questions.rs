//! Questions and their tags.
//!
//! Lists are one query each, and each is one range of one index whatever the
//! size of the site: every sort has an index in its exact ORDER BY (the
//! "active" and "unanswered" ones on `question_activity`, the latter a
//! partial index), and a tag page reads the tag's own
//! rows of `question_tags`, which carry their question's sort keys
//! (migration 3), through an index per sort led by the tag. The page of ids
//! is chosen first from the index alone and only those rows are then read
//! whole, so the rows an OFFSET skips cost an index entry each, not a row
//! with its author and tags; OFFSET itself is bounded by the page-number
//! limit ([`crate::fields::MAX_PAGE`]), and deeper pages continue after a
//! given question instead (keyset: `(keys) < (keys of question after)`),
//! which costs the same on page 5,000 as on page 1.
//!
//! A question's tags come back as an array subquery in the same row, in the
//! order the asker gave them.

use super::{paged, question, Start, Window, QUESTION_COLUMNS, QUESTION_FROM};
use crate::fields::{Sort, Target};
use crate::infra::db::DbError;
use crate::infra::sql::Sql;
use postgres::types::ToSql;
use proto::pb::{Question, TagCount};

pub fn get(db: &mut impl Sql, id: i64) -> Result<Option<Question>, DbError> {
    let sql = format!("SELECT {QUESTION_COLUMNS} FROM {QUESTION_FROM} WHERE q.id = $1");
    Ok(db.query_opt(&sql, &[&id])?.as_ref().map(question))
}

pub fn exists(db: &mut impl Sql, id: i64) -> Result<bool, DbError> {
    Ok(db.query_one("SELECT EXISTS (SELECT 1 FROM questions WHERE id = $1)", &[&id])?.get(0))
}

/// Inserts a question and gives its id.
pub fn insert(db: &mut impl Sql, title: &str, body: &str, author: i64) -> Result<i64, DbError> {
    let sql = "INSERT INTO questions (title, body, author_id) VALUES ($1, $2, $3) RETURNING id";
    Ok(db.query_one(sql, &[&title, &body, &author])?.get(0))
}

/// Replaces a question's tags with `tags`, keeping their order. Rows go in
/// in tag order, so two writers of the same tags lock the tags' counter rows
/// in the same order (the triggers of migration 3 keep the counts and copy
/// the question's sort keys).
pub fn set_tags(db: &mut impl Sql, id: i64, tags: &[String]) -> Result<(), DbError> {
    db.execute("DELETE FROM question_tags WHERE question_id = $1", &[&id])?;
    let positions: Vec<i16> = (1..=tags.len() as i16).collect();
    db.execute(
        "INSERT INTO question_tags (question_id, tag, position)
         SELECT $1, t.tag, t.position FROM unnest($2::text[], $3::smallint[]) AS t(tag, position) ORDER BY t.tag",
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

/// Replaces a question's title and body, which also makes it active
/// ([`touch`]; an edit is rare, so the second round trip is not worth a
/// second copy of that rule).
pub fn update(db: &mut impl Sql, id: i64, title: &str, body: &str) -> Result<(), DbError> {
    db.execute("UPDATE questions SET title = $2, body = $3 WHERE id = $1", &[&id, &title, &body])?;
    touch(db, id)
}

/// Marks question `id` as just active (an edit of it or of an answer).
pub fn touch(db: &mut impl Sql, id: i64) -> Result<(), DbError> {
    db.execute("UPDATE question_activity SET last_activity_at = now() WHERE question_id = $1", &[&id])?;
    Ok(())
}

/// Adds `counts[i]` views to question `ids[i]`, in one statement whatever
/// the batch's size. Rows are updated in id order, so two webuis flushing
/// overlapping batches lock the rows in the same order and cannot deadlock;
/// ids of questions that no longer exist match nothing. Returns the rows
/// updated.
pub fn add_views(db: &mut impl Sql, ids: &[i64], counts: &[i64]) -> Result<u64, DbError> {
    Ok(db.execute(
        "UPDATE questions q SET view_count = q.view_count + v.n
         FROM (SELECT id, sum(n)::int8 AS n FROM unnest($1::int8[], $2::int8[]) AS b(id, n)
               GROUP BY id ORDER BY id) v
         WHERE q.id = v.id",
        &[&ids, &counts],
    )?)
}

/// The sort keys of `sort`, most significant first; every list ends with the id.
fn keys(sort: Sort) -> &'static [&'static str] {
    match sort {
        Sort::Newest | Sort::Unanswered => &["created_at", "id"],
        Sort::Active => &["last_activity_at", "id"],
        Sort::Votes => &["score", "created_at", "id"],
    }
}

/// A table a list reads its page of ids from: `questions`, a question's
/// `question_activity` row (the "active" and "unanswered" sorts, migration
/// 7) or a tag's `question_tags` rows (a tag page); each carries the sort
/// keys it is read in, under the same names, and names its question's id
/// column `id` or `question_id`.
#[derive(Clone, Copy)]
struct Source {
    table: &'static str,
    alias: &'static str,
    id: &'static str,
}

const QUESTIONS: Source = Source { table: "questions", alias: "q", id: "id" };
const ACTIVITY: Source = Source { table: "question_activity", alias: "s", id: "question_id" };
const TAGS: Source = Source { table: "question_tags", alias: "t", id: "question_id" };

impl Source {
    /// The list's rows: a tag's, or the table that has the sort's index.
    fn of(sort: Sort, tagged: bool) -> Source {
        match (tagged, sort) {
            (true, _) => TAGS,
            (false, Sort::Active | Sort::Unanswered) => ACTIVITY,
            (false, Sort::Newest | Sort::Votes) => QUESTIONS,
        }
    }

    /// Key `key` of this table under alias `alias`.
    fn column(self, alias: &str, key: &str) -> String {
        format!("{alias}.{}", if key == "id" { self.id } else { key })
    }
}

/// The statement for one list variant: the tag is `$1` and the after-id the
/// next parameter, when the variant has them. The page of ids is chosen
/// with its sort keys (`k0`, `k1`, …, the id last), which also order the
/// rows read whole.
fn list_sql(sort: Sort, tagged: bool, after: bool, w: Window) -> String {
    let keys = keys(sort);
    let src = Source::of(sort, tagged);
    let a = src.alias;
    let mut filter = Vec::new();
    let mut next = 1;
    if tagged {
        filter.push(format!("{a}.tag = ${next}"));
        next += 1;
    }
    if sort == Sort::Unanswered {
        filter.push(format!("{a}.answer_count = 0"));
    }
    if after {
        // The keys of the question the page continues after, from a table that has them all.
        let x = if sort == Sort::Active { ACTIVITY } else { QUESTIONS };
        let mine: Vec<String> = keys.iter().map(|k| src.column(a, k)).collect();
        let theirs: Vec<String> = keys.iter().map(|k| x.column("x", k)).collect();
        filter.push(format!(
            "({}) < (SELECT {} FROM {} x WHERE {} = ${next})",
            mine.join(", "),
            theirs.join(", "),
            x.table,
            x.column("x", "id")
        ));
    }
    let filter = if filter.is_empty() { String::new() } else { format!("WHERE {}", filter.join(" AND ")) };
    let picked: Vec<String> = keys.iter().enumerate().map(|(i, k)| format!("{} AS k{i}", src.column(a, k))).collect();
    let inner: Vec<String> = keys.iter().map(|k| format!("{} DESC", src.column(a, k))).collect();
    let outer: Vec<String> = (0..keys.len()).map(|i| format!("page.k{i} DESC")).collect();
    format!(
        "SELECT {QUESTION_COLUMNS} FROM
            (SELECT {picked} FROM {table} {a} {filter} ORDER BY {inner} {clause}) page
         JOIN {QUESTION_FROM} ON q.id = page.k{last}
         ORDER BY {outer}",
        picked = picked.join(", "),
        table = src.table,
        inner = inner.join(", "),
        clause = w.clause(),
        last = keys.len() - 1,
        outer = outer.join(", "),
    )
}

/// One page of `per_page` questions in `sort` order, optionally only those
/// tagged `tag`; and whether another page follows.
pub fn list(
    db: &mut impl Sql,
    sort: Sort,
    tag: Option<&str>,
    start: Start,
    per_page: u32,
) -> Result<(Vec<Question>, bool), DbError> {
    let (w, after) = match start {
        Start::Page(page) => (Window::new(page, per_page), None),
        Start::After(id) => (Window::new(1, per_page), Some(id)),
    };
    let sql = list_sql(sort, tag.is_some(), after.is_some(), w);
    let mut params: Vec<&(dyn ToSql + Sync)> = Vec::new();
    if let Some(t) = &tag {
        params.push(t);
    }
    if let Some(a) = &after {
        params.push(a);
    }
    let rows = w.query(db, &sql, &params)?;
    Ok(paged(rows.iter().map(question).collect(), per_page))
}

/// Tags in use with their number of questions, most used first (then by
/// name), at most `limit` of them: the counters kept by migration 3's triggers.
pub fn tag_counts(db: &mut impl Sql, limit: i64) -> Result<Vec<TagCount>, DbError> {
    let rows = db.query(
        "SELECT tag, question_count FROM tags WHERE question_count > 0
         ORDER BY question_count DESC, tag LIMIT $1",
        &[&limit],
    )?;
    Ok(rows.iter().map(|r| TagCount { tag: r.get(0), count: r.get(1) }).collect())
}

/// One page of a user's questions, newest first, and whether more follow
/// ([`super::by_author`]: one range of `questions_by_author`).
pub fn by_author(
    db: &mut impl Sql,
    author: i64,
    start: Start,
    per_page: u32,
) -> Result<(Vec<Question>, bool), DbError> {
    let rows = super::by_author(db, Target::Question, author, start, per_page)?;
    Ok(paged(rows.iter().map(question).collect(), per_page))
}
