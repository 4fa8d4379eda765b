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
use crate::fields::{self, Target};
use crate::infra::db::{Db, DbError};
use crate::infra::sql::{PgConn, Tx};
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

/// Every edit's frame: the editor (logged in), the post's row locked in a
/// new transaction by `lock` (its author, and what `apply` needs), the
/// editor must be that author; `apply` writes the change (or nothing, when
/// nothing changed), and the post is read back (`get`) before the commit.
fn edit<Old, T>(
    conn: &mut PgConn,
    req: &EditPost,
    target: Target,
    lock: impl FnOnce(&mut Tx<'_>) -> Result<Option<(Option<i64>, Old)>, DbError>,
    apply: impl FnOnce(&mut Tx<'_>, i64, Old) -> Result<(), Status>,
    get: impl FnOnce(&mut Tx<'_>) -> Result<Option<T>, DbError>,
) -> Result<T, Status> {
    let editor = check_user_id(req.user_id, LOG_IN_TO_EDIT)?;
    let missing = fields::lookup(target.as_str(), req.id)?;
    let mut tx = conn.transaction().map_err(DbError::from)?;
    let (author, old) = lock(&mut tx)?.ok_or_else(missing)?;
    if author != Some(editor) {
        return Err(forbidden(&format!("only the author can edit this {}", target.as_str())));
    }
    apply(&mut tx, editor, old)?;
    let post = get(&mut tx)?.ok_or_else(missing)?;
    tx.commit().map_err(DbError::from)?;
    Ok(post)
}

pub fn edit_question(conn: &mut PgConn, req: EditPost) -> Result<Question, Status> {
    let id = req.id;
    edit(
        conn,
        &req,
        Target::Question,
        |tx| Ok(questions::lock_for_edit(tx, id)?.map(|old| (old.author_id, old))),
        |tx, editor, old| {
            let title = new_text(fields::TITLE, &req.title, &old.title)?;
            let body = new_text(fields::QUESTION_BODY, &req.body, &old.body)?;
            let tags = if req.tags.iter().all(|t| t.trim().is_empty()) {
                old.tags.clone()
            } else {
                fields::parse_tags(&req.tags.join(" "))?
            };
            if (&title, &body, &tags) != (&old.title, &old.body, &old.tags) {
                questions::update(tx, id, &title, &body)?;
                if tags != old.tags {
                    questions::set_tags(tx, id, &tags)?;
                }
                revisions::insert(tx, Target::Question, id, Some(editor), Some(&title), &body, &tags)?;
                log::info!(target: "Question::Worker", "question {id} edited by user {editor}");
            }
            Ok(())
        },
        |tx| questions::get(tx, id),
    )
}

pub fn edit_answer(conn: &mut PgConn, req: EditPost) -> Result<Answer, Status> {
    let id = req.id;
    edit(
        conn,
        &req,
        Target::Answer,
        |tx| Ok(answers::lock_for_edit(tx, id)?.map(|(author, question_id, body)| (author, (question_id, body)))),
        |tx, editor, (question_id, old_body)| {
            let body = new_text(fields::ANSWER_BODY, &req.body, &old_body)?;
            if body != old_body {
                answers::update(tx, id, &body)?;
                questions::touch(tx, question_id)?;
                revisions::insert(tx, Target::Answer, id, Some(editor), None, &body, &[])?;
                log::info!(target: "Answer::Worker", "answer {id} edited by user {editor}");
            }
            Ok(())
        },
        |tx| answers::get(tx, id),
    )
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
