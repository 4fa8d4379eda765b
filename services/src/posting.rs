//! Creating questions, answers and comments: one transaction each.
//!
//! Every create runs the same steps, in this order:
//! 1. validate the fields (a 400 costs no database work);
//! 2. lock the author's row ([`users::lock`]): one user's creates now run one
//!    after another, which is what makes steps 3 and 4 exact;
//! 3. idempotency: if this author already created a row with this key, that
//!    row is the answer (`replayed`), whatever the request says now, so a
//!    client retrying after a lost reply never makes a second post, and a
//!    replay is never refused by the rate limit its first attempt used up;
//! 4. the posting limit ([`crate::ratelimit`]);
//! 5. insert the row, its tags and its revision 1 (the triggers of migration
//!    3 count it and mark its question active), then read it back in the
//!    shape callers get.
//!
//! The unique index on `(author_id, idempotency_key)` is the backstop for
//! step 3: should two attempts ever get past it at once, the insert's
//! `ON CONFLICT DO NOTHING` yields no row and we return the one that won.

use crate::auth::check_user_id;
use crate::db::DbError;
use crate::fields::{self, Target};
use crate::ratelimit;
use crate::sql::{PgConn, Tx};
use crate::store::{answers, comments, questions, revisions, users};
use proto::pb::{Answer, Comment, CreateAnswer, CreateComment, CreateQuestion, Question};
use proto::{Code, Status};

/// Why a typed create without a user is refused.
pub const LOG_IN_TO_POST: &str = "log in to post";

/// A created row, and whether it already existed (an idempotent replay).
#[derive(Debug, Clone, PartialEq)]
pub struct Created<T> {
    pub row: T,
    pub replayed: bool,
}

impl<T> Created<T> {
    /// `resp`, marked `Idempotent-Replayed` when the row came from an earlier request.
    pub fn respond(&self, resp: proto::pb::HttpResponse) -> proto::pb::HttpResponse {
        if self.replayed {
            resp.header("Idempotent-Replayed", "true")
        } else {
            resp
        }
    }
}

fn begin(conn: &mut PgConn) -> Result<Tx<'_>, Status> {
    Ok(conn.transaction().map_err(DbError::from)?)
}

fn commit(tx: Tx<'_>) -> Result<(), Status> {
    Ok(tx.commit().map_err(DbError::from)?)
}

/// Steps 2 and the author check: the user must exist (a typed caller could
/// pass an id that was never a user).
fn lock_author(tx: &mut Tx<'_>, author: i64) -> Result<(), Status> {
    if users::lock(tx, author)? {
        Ok(())
    } else {
        Err(Status::new(Code::Unauthenticated, format!("user {author} does not exist; log in again")))
    }
}

fn vanished(what: &str, id: i64) -> Status {
    log::error!(target: "posting", "{what} {id} vanished inside its own transaction");
    Status::internal(format!("{what} {id} could not be read back"))
}

pub fn question(conn: &mut PgConn, req: CreateQuestion) -> Result<Created<Question>, Status> {
    let author = check_user_id(req.author_id, LOG_IN_TO_POST)?;
    let title = fields::clean_text(fields::TITLE, &req.title)?;
    let body = fields::clean_text(fields::QUESTION_BODY, &req.body)?;
    let tags = fields::parse_tags(&req.tags.join(" "))?;
    let key = fields::check_idempotency_key(&req.idempotency_key)?;

    let mut tx = begin(conn)?;
    lock_author(&mut tx, author)?;
    let earlier = match &key {
        Some(k) => questions::by_idempotency_key(&mut tx, author, k)?,
        None => None,
    };
    let (id, replayed) = match earlier {
        Some(id) => (id, true),
        None => {
            ratelimit::QUESTIONS.check(&mut tx, author)?;
            match questions::insert(&mut tx, &title, &body, author, key.as_deref())? {
                Some(id) => {
                    questions::set_tags(&mut tx, id, &tags)?;
                    revisions::insert(&mut tx, Target::Question, id, Some(author), Some(&title), &body, &tags)?;
                    (id, false)
                }
                None => {
                    (replay_id(questions::by_idempotency_key(&mut tx, author, key.as_deref().unwrap_or(""))?)?, true)
                }
            }
        }
    };
    let row = questions::get(&mut tx, id)?.ok_or_else(|| vanished("question", id))?;
    commit(tx)?;
    Ok(Created { row, replayed })
}

/// The row a conflicting insert lost to.
fn replay_id(found: Option<i64>) -> Result<i64, Status> {
    found.ok_or_else(|| Status::new(Code::Aborted, "a concurrent request with the same Idempotency-Key failed; retry"))
}

/// Creates an answer. A question that does not exist (or vanished since
/// the caller checked) is NOT_FOUND through the foreign key.
pub fn answer(conn: &mut PgConn, req: CreateAnswer) -> Result<Created<Answer>, Status> {
    let author = check_user_id(req.author_id, LOG_IN_TO_POST)?;
    let question_id = fields::check_id("question_id", req.question_id)?;
    let body = fields::clean_text(fields::ANSWER_BODY, &req.body)?;
    let key = fields::check_idempotency_key(&req.idempotency_key)?;
    let no_question = || Status::not_found(format!("question {question_id} does not exist"));

    let mut tx = begin(conn)?;
    lock_author(&mut tx, author)?;
    let earlier = match &key {
        Some(k) => answers::by_idempotency_key(&mut tx, author, k)?,
        None => None,
    };
    let (id, replayed) =
        match earlier {
            Some(id) => (id, true),
            None => {
                ratelimit::ANSWERS.check(&mut tx, author)?;
                let inserted = answers::insert(&mut tx, question_id, &body, Some(author), key.as_deref())
                    .map_err(|e| if e.is_foreign_key_violation() { no_question() } else { e.to_status() })?;
                match inserted {
                    Some(id) => {
                        // The insert's trigger counted it and marked the question active.
                        revisions::insert(&mut tx, Target::Answer, id, Some(author), None, &body, &[])?;
                        (id, false)
                    }
                    None => {
                        (replay_id(answers::by_idempotency_key(&mut tx, author, key.as_deref().unwrap_or(""))?)?, true)
                    }
                }
            }
        };
    let row = answers::get(&mut tx, id)?.ok_or_else(|| vanished("answer", id))?;
    commit(tx)?;
    Ok(Created { row, replayed })
}

/// Creates a comment (at most 10 a minute per user by default: cheap as
/// each one is, a flood of them buries a thread).
pub fn comment(conn: &mut PgConn, req: CreateComment) -> Result<Created<Comment>, Status> {
    let author = check_user_id(req.author_id, LOG_IN_TO_POST)?;
    let answer_id = fields::check_id("answer_id", req.answer_id)?;
    let body = fields::clean_text(fields::COMMENT_BODY, &req.body)?;
    let key = fields::check_idempotency_key(&req.idempotency_key)?;
    let no_answer = || Status::not_found(format!("answer {answer_id} does not exist"));

    let mut tx = begin(conn)?;
    lock_author(&mut tx, author)?;
    let earlier = match &key {
        Some(k) => comments::by_idempotency_key(&mut tx, author, k)?,
        None => None,
    };
    let (id, replayed) =
        match earlier {
            Some(id) => (id, true),
            None => {
                ratelimit::COMMENTS.check(&mut tx, author)?;
                let inserted = comments::insert(&mut tx, answer_id, &body, Some(author), key.as_deref())
                    .map_err(|e| if e.is_foreign_key_violation() { no_answer() } else { e.to_status() })?;
                match inserted {
                    Some(id) => (id, false),
                    None => {
                        (replay_id(comments::by_idempotency_key(&mut tx, author, key.as_deref().unwrap_or(""))?)?, true)
                    }
                }
            }
        };
    let row = comments::get(&mut tx, id)?.ok_or_else(|| vanished("comment", id))?;
    commit(tx)?;
    Ok(Created { row, replayed })
}
