//! A whole thread in one statement: the question, one page of its answers
//! in thread order, their comments, and the viewer's votes on them.
//!
//! A question page used to be four RPC hops and about ten statements, each
//! its own transaction. Here it is one prepared statement: every part of the
//! thread comes back as rows of one shape (`kind` says which part), so
//! PostgreSQL does one parse-free execution in one snapshot (the parts
//! always agree with each other), and the rows arrive in the binary protocol
//! with no JSON to build or parse. The answers are chosen once, in a CTE,
//! in thread order (accepted first, then score, then oldest; id breaks
//! ties); the comments and votes are then looked up by those answers' ids.
//! Every part is an index range of its own table (question and authors by
//! primary key, answers by `(question_id, id)`, comments by `(answer_id,
//! id)`, votes by their primary key), so the cost follows the thread's size,
//! never the site's.
//!
//! The page asks for one answer more than it shows; that extra answer only
//! answers "is there another page?", and its comments are not read.

use super::{activity, author, ms, reputation};
use crate::infra::db::DbError;
use crate::infra::sql::Sql;
use proto::pb::{Answer, AnswerWithComments, Comment, PostVote, Question, Thread};
use std::collections::HashMap;

const QUESTION: i16 = 0;
const ANSWER: i16 = 1;
const COMMENT: i16 = 2;
const VOTE: i16 = 3;

/// `$1` question id, `$2` answers on a page, `$3` offset, `$4` viewer (0: none).
/// Columns: kind, ord, id, parent, title, body, created_ms, author_id,
/// author, score, accepted, extra (accepted answer id / vote value),
/// activity_ms, tags, count, the author's reputation (questions and
/// answers), views (the question).
const THREAD: &str = concat!(
    "WITH q AS (
        SELECT q.id, q.title, q.body, q.created_at, q.author_id, q.score, q.accepted_answer_id, ",
    activity!("last_activity_at", "q.created_at"),
    " AS last_activity_at, ",
    activity!("answer_count", "0"),
    " AS answer_count, q.view_count, ",
    author!("q.author_id"),
    " AS author, ",
    reputation!("q.author_id"),
    " AS rep FROM questions q WHERE q.id = $1
    ), a AS (
        SELECT a.id, a.question_id, a.body, a.created_at, a.author_id, a.score,
               COALESCE(q.accepted_answer_id = a.id, false) AS accepted,
               row_number() OVER (ORDER BY COALESCE(q.accepted_answer_id = a.id, false) DESC, a.score DESC,
                                  a.created_at, a.id) AS ord
        FROM q JOIN answers a ON a.question_id = q.id
        ORDER BY ord LIMIT $2::int8 + 1 OFFSET $3::int8
    )
    SELECT ",
    "0::int2, 0::int8, q.id, 0::int8, q.title, q.body, ",
    ms!("q.created_at"),
    ", COALESCE(q.author_id, 0), q.author, q.score, false, COALESCE(q.accepted_answer_id, 0), ",
    ms!("q.last_activity_at"),
    ", ARRAY(SELECT t.tag FROM question_tags t WHERE t.question_id = q.id ORDER BY t.position), ",
    "q.answer_count::int8, q.rep, q.view_count FROM q
    UNION ALL SELECT 1::int2, a.ord, a.id, a.question_id, '', a.body, ",
    ms!("a.created_at"),
    ", COALESCE(a.author_id, 0), ",
    author!("a.author_id"),
    ", a.score, a.accepted, 0::int8, 0::int8, '{}'::text[], 0::int8, ",
    reputation!("a.author_id"),
    ", 0::int8 FROM a
    UNION ALL SELECT 2::int2, c.id, c.id, c.answer_id, '', c.body, ",
    ms!("c.created_at"),
    ", COALESCE(c.author_id, 0), ",
    author!("c.author_id"),
    ", 0::int8, false, 0::int8, 0::int8, '{}'::text[], 0::int8, 0::int8, 0::int8
        FROM comments c
        WHERE c.answer_id = ANY (ARRAY(SELECT a.id FROM a WHERE a.ord <= $3::int8 + $2::int8))
    UNION ALL SELECT 3::int2, v.post_id, v.post_id, 0::int8, v.target, '', 0::int8, 0::int8, '', 0::int8, false,
        v.value::int8, 0::int8, '{}'::text[], 0::int8, 0::int8, 0::int8
        FROM votes v
        WHERE v.user_id = $4 AND ((v.target = 'question' AND v.post_id = $1)
           OR (v.target = 'answer' AND v.post_id = ANY (ARRAY(SELECT a.id FROM a WHERE a.ord <= $3::int8 + $2::int8))))
    ORDER BY 1, 2"
);

/// Page `page` (from 1) of `per_page` answers of question `id`, with
/// everything the page shows; `None` when there is no such question.
pub fn read(db: &mut impl Sql, id: i64, page: u32, per_page: u32, viewer: i64) -> Result<Option<Thread>, DbError> {
    let per = i64::from(per_page.max(1));
    let offset = (i64::from(page.max(1)) - 1) * per;
    let rows = db.query(THREAD, &[&id, &per, &offset, &viewer])?;
    let mut question = None;
    let mut answers: Vec<AnswerWithComments> = Vec::new();
    let mut comments: HashMap<i64, Vec<Comment>> = HashMap::new();
    let mut my_votes = Vec::new();
    for r in &rows {
        match r.get::<_, i16>(0) {
            QUESTION => {
                question = Some(Question {
                    id: r.get(2),
                    title: r.get(4),
                    body: r.get(5),
                    created_at_ms: r.get(6),
                    author_id: r.get(7),
                    author: r.get(8),
                    score: r.get(9),
                    accepted_answer_id: r.get(11),
                    last_activity_ms: r.get(12),
                    tags: r.get(13),
                    answer_count: r.get(14),
                    author_reputation: r.get(15),
                    view_count: r.get(16),
                    ..Default::default()
                })
            }
            ANSWER => answers.push(AnswerWithComments {
                answer: Some(Answer {
                    id: r.get(2),
                    question_id: r.get(3),
                    body: r.get(5),
                    created_at_ms: r.get(6),
                    author_id: r.get(7),
                    author: r.get(8),
                    score: r.get(9),
                    accepted: r.get(10),
                    question_title: String::new(),
                    author_reputation: r.get(15),
                }),
                comments: Vec::new(),
            }),
            COMMENT => comments.entry(r.get(3)).or_default().push(Comment {
                id: r.get(2),
                answer_id: r.get(3),
                body: r.get(5),
                created_at_ms: r.get(6),
                author_id: r.get(7),
                author: r.get(8),
            }),
            VOTE => my_votes.push(PostVote { target: r.get(4), id: r.get(2), value: r.get::<_, i64>(11) as i32 }),
            _ => {}
        }
    }
    let Some(question) = question else { return Ok(None) };
    let more_answers = answers.len() as i64 > per;
    answers.truncate(per as usize);
    for awc in &mut answers {
        if let Some(a) = &mut awc.answer {
            a.question_title = question.title.clone();
            awc.comments = comments.remove(&a.id).unwrap_or_default();
        }
    }
    Ok(Some(Thread { question: Some(question), answers, answer_page: page.max(1), more_answers, my_votes }))
}
