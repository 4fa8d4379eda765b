//! Answers, and the accepted-answer mark (a column of the question).
//!
//! A thread's answers are ordered here, in SQL, so every page of a long
//! thread agrees with the others: the accepted answer first, then by score,
//! then oldest first (id breaks ties between answers of the same instant).

use super::{answer, limited_insert, paged, quoted, revisions, Quoted, Start, Window, ANSWER_COLUMNS, ANSWER_FROM};
use crate::fields::Target;
use crate::infra::db::DbError;
use crate::infra::sql::Sql;
use crate::ratelimit::Limit;
use proto::pb::Answer;

pub fn get(db: &mut impl Sql, id: i64) -> Result<Option<Answer>, DbError> {
    let sql = format!("SELECT {ANSWER_COLUMNS} FROM {ANSWER_FROM} WHERE a.id = $1");
    Ok(db.query_opt(&sql, &[&id])?.as_ref().map(answer))
}

pub fn exists(db: &mut impl Sql, id: i64) -> Result<bool, DbError> {
    Ok(db.query_one("SELECT EXISTS (SELECT 1 FROM answers WHERE id = $1)", &[&id])?.get(0))
}

/// Inserts an answer with its revision 1 and gives it back as callers see
/// it, in one statement that also checks the author's posting limit: a
/// create's round trips are most of its cost (each one a send,
/// a wake-up and a receive on both sides), so the limit, the row, its
/// revision and the read-back share one. The limit counts with this
/// statement's snapshot, taken after the author's row was locked (the
/// statement before), so two racing posts of one user are counted one after
/// the other. A missing question is a foreign-key violation
/// ([`DbError::is_foreign_key_violation`]).
///
/// The read-back sees the statement's snapshot plus the new row: the
/// counters its trigger bumps (the question's, the author's) are not among
/// an answer's columns.
pub fn create(
    db: &mut impl Sql,
    question_id: i64,
    body: &str,
    author: Option<i64>,
    limit: &Limit,
) -> Result<Quoted<Answer>, DbError> {
    let revision = format!(", r AS ({})", revisions::FIRST_OF_NEW_ANSWER);
    let into = "answers (question_id, body, author_id)";
    let sql = limited_insert(limit, into, "a", "$5", &revision, ANSWER_COLUMNS);
    let row = db.query_one(&sql, &[&question_id, &body, &author, &Target::Answer.as_str(), &limit.max()])?;
    Ok(quoted(&row, limit, answer))
}

/// One answer of a group written by [`create_many`].
pub struct NewAnswer<'b> {
    pub question_id: i64,
    pub body: &'b str,
    pub author: i64,
}

/// Inserts a group of answers, each with its revision 1, in one statement,
/// and gives back `(index in posts, answer)` for those it made. It makes only
/// those that need no refusal: the question exists, and the
/// author (whose row the caller has locked) is within the posting limit,
/// counting the author's earlier posts of this group. The rest it leaves
/// for [`create`], one by one, which says exactly why each one is refused:
/// a group is a shortcut for the common case, never a second set of rules.
///
/// Rows are inserted in question order, so the counters their trigger bumps
/// are updated in the same order by every group (two groups wait for each
/// other instead of deadlocking). The ids are drawn first (`nextval` in a
/// materialized CTE) so each row finds its way back to its post.
pub fn create_many(db: &mut impl Sql, posts: &[NewAnswer<'_>], limit: &Limit) -> Result<Vec<(usize, Answer)>, DbError> {
    let questions: Vec<i64> = posts.iter().map(|p| p.question_id).collect();
    let bodies: Vec<&str> = posts.iter().map(|p| p.body).collect();
    let authors: Vec<i64> = posts.iter().map(|p| p.author).collect();
    let sql = format!(
        "WITH post AS (SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[])
                           WITH ORDINALITY AS p(question_id, body, author_id, ord)),
              recent AS (SELECT w.author_id, r.n FROM (SELECT DISTINCT author_id FROM post) w,
                           LATERAL ({}) r),
              fit AS MATERIALIZED (
                SELECT nextval(pg_get_serial_sequence('answers', 'id')) AS id, ranked.*
                FROM (SELECT post.*, recent.n + row_number() OVER (PARTITION BY post.author_id ORDER BY post.ord) AS nth
                      FROM post JOIN recent USING (author_id)) ranked
                WHERE nth <= $5 AND EXISTS (SELECT 1 FROM questions q WHERE q.id = ranked.question_id)
                ORDER BY question_id, ord),
              a AS (INSERT INTO answers (id, question_id, body, author_id)
                    SELECT id, question_id, body, author_id FROM fit ORDER BY question_id, ord RETURNING *),
              r AS ({})
         SELECT {ANSWER_COLUMNS}, fit.ord FROM a JOIN fit ON fit.id = a.id",
        limit.recent_sql("w.author_id", "$5"),
        revisions::FIRST_OF_NEW_ANSWER,
    );
    let rows = db.query(&sql, &[&questions, &bodies, &authors, &Target::Answer.as_str(), &limit.max()])?;
    Ok(rows
        .iter()
        .filter_map(|row| {
            let ord: i64 = row.get(row.len() - 1);
            usize::try_from(ord - 1).ok().map(|i| (i, answer(row)))
        })
        .collect())
}

/// Page `page` (from 1) of `per_page` (≥ 1) of a question's answers, in
/// thread order, and whether another page follows.
pub fn for_question(
    db: &mut impl Sql,
    question_id: i64,
    page: u32,
    per_page: u32,
) -> Result<(Vec<Answer>, bool), DbError> {
    let w = Window::new(page, per_page);
    // Column 8 is the accepted mark.
    let sql = format!(
        "SELECT {ANSWER_COLUMNS} FROM {ANSWER_FROM} WHERE a.question_id = $1
         ORDER BY 8 DESC, a.score DESC, a.created_at, a.id {}",
        w.clause()
    );
    let rows = w.query(db, &sql, &[&question_id])?;
    Ok(paged(rows.iter().map(answer).collect(), per_page))
}

/// The question an answer belongs to, who asked it, and the author of the
/// answer accepted so far (whose reputation an accept moves), with the
/// question row locked (so two accepts on one question run one after the other).
pub struct AcceptTarget {
    pub question_id: i64,
    pub asker: Option<i64>,
    pub previous_author: Option<i64>,
}

pub fn lock_question_of(db: &mut impl Sql, answer_id: i64) -> Result<Option<AcceptTarget>, DbError> {
    let row = db.query_opt(
        "SELECT q.id, q.author_id, (SELECT p.author_id FROM answers p WHERE p.id = q.accepted_answer_id)
         FROM answers a JOIN questions q ON q.id = a.question_id
         WHERE a.id = $1 FOR NO KEY UPDATE OF q",
        &[&answer_id],
    )?;
    Ok(row.map(|r| AcceptTarget { question_id: r.get(0), asker: r.get(1), previous_author: r.get(2) }))
}

/// The question an answer belongs to.
pub fn question_of(db: &mut impl Sql, answer_id: i64) -> Result<Option<i64>, DbError> {
    Ok(db.query_opt("SELECT question_id FROM answers WHERE id = $1", &[&answer_id])?.map(|r| r.get(0)))
}

pub fn set_accepted(db: &mut impl Sql, question_id: i64, answer_id: i64) -> Result<(), DbError> {
    db.execute("UPDATE questions SET accepted_answer_id = $2 WHERE id = $1", &[&question_id, &answer_id])?;
    Ok(())
}

/// `(author, question id, body)` with the answer row locked for an edit.
pub fn lock_for_edit(db: &mut impl Sql, id: i64) -> Result<Option<(Option<i64>, i64, String)>, DbError> {
    let row =
        db.query_opt("SELECT author_id, question_id, body FROM answers WHERE id = $1 FOR NO KEY UPDATE", &[&id])?;
    Ok(row.map(|r| (r.get(0), r.get(1), r.get(2))))
}

pub fn update(db: &mut impl Sql, id: i64, body: &str) -> Result<(), DbError> {
    db.execute("UPDATE answers SET body = $2 WHERE id = $1", &[&id, &body])?;
    Ok(())
}

/// One page of a user's answers, newest first (each with its question's
/// title), and whether more follow ([`super::by_author`]: one range of
/// `answers_by_author`).
pub fn by_author(db: &mut impl Sql, author: i64, start: Start, per_page: u32) -> Result<(Vec<Answer>, bool), DbError> {
    let rows = super::by_author(db, Target::Answer, author, start, per_page)?;
    Ok(paged(rows.iter().map(answer).collect(), per_page))
}
