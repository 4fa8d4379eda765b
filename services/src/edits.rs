//! Editing posts, their revision history, and accepting an answer: the
//! write paths that change an existing post, one transaction each.
//!
//! An edit locks the post's row, checks that the editor is its author (posts
//! from before accounts have none, so nobody can edit them), applies the
//! fields given (an empty field or tag list in [`EditPost`] means "keep"),
//! and appends a revision. An edit that changes nothing adds no revision, so
//! a retried edit is harmless.
//!
//! Accepting locks the question's row, so two accepts on one question run
//! one after the other and the last one wins: accepting another answer moves
//! the mark, accepting the accepted one again changes nothing.

use crate::auth::check_user_id;
use crate::db::{Db, DbError};
use crate::fields::{self, Target};
use crate::sql::PgConn;
use crate::store::{answers, questions, revisions};
use proto::pb::{AcceptAnswer, Answer, EditPost, Question, RevisionList};
use proto::{CallContext, Code, Status};

pub const LOG_IN_TO_EDIT: &str = "log in to edit";
pub const LOG_IN_TO_ACCEPT: &str = "log in to accept an answer";

fn forbidden(message: &str) -> Status {
    Status::new(Code::PermissionDenied, message)
}

/// The new text of a field: the old one when `raw` is empty, else `raw`
/// validated against `limit`.
fn new_text(limit: fields::TextLimit, raw: &str, old: &str) -> Result<String, Status> {
    if raw.is_empty() {
        Ok(old.to_string())
    } else {
        Ok(fields::clean_text(limit, raw)?)
    }
}

pub fn edit_question(conn: &mut PgConn, req: EditPost) -> Result<Question, Status> {
    let editor = check_user_id(req.user_id, LOG_IN_TO_EDIT)?;
    let missing = fields::lookup("question", req.id)?;
    let mut tx = conn.transaction().map_err(DbError::from)?;
    let old = questions::lock_for_edit(&mut tx, req.id)?.ok_or_else(missing)?;
    if old.author_id != Some(editor) {
        return Err(forbidden("only the author can edit this question"));
    }
    let title = new_text(fields::TITLE, &req.title, &old.title)?;
    let body = new_text(fields::QUESTION_BODY, &req.body, &old.body)?;
    let tags = if req.tags.iter().all(|t| t.trim().is_empty()) {
        old.tags.clone()
    } else {
        fields::parse_tags(&req.tags.join(" "))?
    };
    if (&title, &body, &tags) != (&old.title, &old.body, &old.tags) {
        questions::update(&mut tx, req.id, &title, &body)?;
        if tags != old.tags {
            questions::set_tags(&mut tx, req.id, &tags)?;
        }
        revisions::insert(&mut tx, Target::Question, req.id, Some(editor), Some(&title), &body, &tags)?;
        log::info!(target: "Question::Worker", "question {} edited by user {editor}", req.id);
    }
    let q = questions::get(&mut tx, req.id)?.ok_or_else(missing)?;
    tx.commit().map_err(DbError::from)?;
    Ok(q)
}

pub fn edit_answer(conn: &mut PgConn, req: EditPost) -> Result<Answer, Status> {
    let editor = check_user_id(req.user_id, LOG_IN_TO_EDIT)?;
    let missing = fields::lookup("answer", req.id)?;
    let mut tx = conn.transaction().map_err(DbError::from)?;
    let (author, question_id, old_body) = answers::lock_for_edit(&mut tx, req.id)?.ok_or_else(missing)?;
    if author != Some(editor) {
        return Err(forbidden("only the author can edit this answer"));
    }
    let body = new_text(fields::ANSWER_BODY, &req.body, &old_body)?;
    if body != old_body {
        answers::update(&mut tx, req.id, &body)?;
        questions::touch(&mut tx, question_id)?;
        revisions::insert(&mut tx, Target::Answer, req.id, Some(editor), None, &body, &[])?;
        log::info!(target: "Answer::Worker", "answer {} edited by user {editor}", req.id);
    }
    let a = answers::get(&mut tx, req.id)?.ok_or_else(missing)?;
    tx.commit().map_err(DbError::from)?;
    Ok(a)
}

/// A post's revisions, oldest first (revision 1 is the original).
pub fn revisions(db: &Db, ctx: &CallContext<'_>, target: Target, id: i64) -> Result<RevisionList, Status> {
    let missing = fields::lookup(target.as_str(), id)?;
    let revisions = db.read(ctx, |c| revisions::list(&mut **c, target, id))?.ok_or_else(missing)?;
    Ok(RevisionList { revisions })
}

/// Marks the answer as the accepted one of its question; only the asker may.
/// Returns it, and the author of the answer accepted before (if any).
pub fn accept(conn: &mut PgConn, req: AcceptAnswer) -> Result<(Answer, Option<i64>), Status> {
    let user = check_user_id(req.user_id, LOG_IN_TO_ACCEPT)?;
    let missing = fields::lookup("answer", req.answer_id)?;
    let mut tx = conn.transaction().map_err(DbError::from)?;
    let target = answers::lock_question_of(&mut tx, req.answer_id)?.ok_or_else(missing)?;
    let question_id = target.question_id;
    if target.asker != Some(user) {
        return Err(forbidden("only the asker can accept an answer"));
    }
    answers::set_accepted(&mut tx, question_id, req.answer_id)?;
    let a = answers::get(&mut tx, req.answer_id)?.ok_or_else(missing)?;
    tx.commit().map_err(DbError::from)?;
    log::info!(target: "Answer::Worker", "answer {} accepted on question {question_id}", req.answer_id);
    Ok((a, target.previous_author))
}
