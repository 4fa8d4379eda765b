//! The JSON shapes of the public contract, in one place.
//!
//! Times are ISO-8601 UTC strings with milliseconds (`created_at`,
//! `last_activity_at`). A post written before accounts existed has no author
//! and shows `"author": "anonymous"`; "no accepted answer" is `null`, not 0,
//! so a client cannot mistake it for an id.

use proto::clock::iso8601;
use proto::pb::{
    Answer, Comment, PostVote, Question, QuestionPage, Revision, RevisionList, Session, TagList, Thread, User,
    UserPage, VoteResult,
};
use serde_json::{json, Value};

/// The name shown for a post without an author.
pub const ANONYMOUS: &str = "anonymous";

fn author(name: &str) -> &str {
    if name.is_empty() {
        ANONYMOUS
    } else {
        name
    }
}

fn id_or_null(id: i64) -> Value {
    if id > 0 {
        json!(id)
    } else {
        Value::Null
    }
}

pub fn question_json(q: &Question) -> Value {
    json!({
        "id": q.id,
        "title": q.title,
        "body": q.body,
        "created_at": iso8601(q.created_at_ms),
        "author": author(&q.author),
        "score": q.score,
        "tags": q.tags,
        "answer_count": q.answer_count,
        "accepted_answer_id": id_or_null(q.accepted_answer_id),
        "last_activity_at": iso8601(q.last_activity_ms),
        "view_count": q.view_count,
    })
}

pub fn answer_json(a: &Answer) -> Value {
    let mut v = json!({
        "id": a.id,
        "question_id": a.question_id,
        "body": a.body,
        "created_at": iso8601(a.created_at_ms),
        "author": author(&a.author),
        "score": a.score,
        "accepted": a.accepted,
    });
    if !a.question_title.is_empty() {
        v["question_title"] = json!(a.question_title);
    }
    v
}

pub fn comment_json(c: &Comment) -> Value {
    json!({
        "id": c.id,
        "answer_id": c.answer_id,
        "body": c.body,
        "created_at": iso8601(c.created_at_ms),
        "author": author(&c.author),
    })
}

/// `"up"`, `"down"` or `"none"` for a stored vote value.
pub fn vote_word(value: i32) -> &'static str {
    match value.signum() {
        1 => "up",
        -1 => "down",
        _ => "none",
    }
}

fn post_vote_json(v: &PostVote) -> Value {
    json!({ "target": v.target, "id": v.id, "vote": vote_word(v.value) })
}

/// The question with one page of `answers` (each with its `comments`), the
/// page number, whether more answers follow, and, for a logged-in viewer,
/// their votes on what is shown.
pub fn thread_json(t: &Thread, viewer: bool) -> Value {
    let mut v = t.question.as_ref().map(question_json).unwrap_or_else(|| json!({}));
    let answers: Vec<Value> = t
        .answers
        .iter()
        .map(|awc| {
            let mut a = awc.answer.as_ref().map(answer_json).unwrap_or_else(|| json!({}));
            a["comments"] = Value::Array(awc.comments.iter().map(comment_json).collect());
            a
        })
        .collect();
    v["answers"] = Value::Array(answers);
    v["answer_page"] = json!(t.answer_page.max(1));
    v["more_answers"] = json!(t.more_answers);
    if viewer {
        v["my_votes"] = Value::Array(t.my_votes.iter().map(post_vote_json).collect());
    }
    v
}

pub fn page_json(p: &QuestionPage) -> Value {
    json!({
        "questions": p.questions.iter().map(question_json).collect::<Vec<_>>(),
        "page": p.page,
        "has_more": p.has_more,
    })
}

/// `{"id","username","reputation","created_at"}`.
pub fn user_json(u: &User) -> Value {
    json!({ "id": u.id, "username": u.username, "reputation": u.reputation, "created_at": iso8601(u.created_at_ms) })
}

pub fn user_page_json(p: &UserPage) -> Value {
    let u = p.user.clone().unwrap_or_default();
    let mut v = user_json(&u);
    v["question_count"] = json!(u.question_count);
    v["answer_count"] = json!(u.answer_count);
    v["questions"] = Value::Array(p.questions.iter().map(question_json).collect());
    v["answers"] = Value::Array(p.answers.iter().map(answer_json).collect());
    v
}

pub fn session_json(s: &Session) -> Value {
    json!({ "token": s.token, "user": s.user.as_ref().map(user_json).unwrap_or(Value::Null) })
}

pub fn vote_json(r: &VoteResult) -> Value {
    json!({ "score": r.score, "vote": r.vote })
}

/// Revision `number` of its post: 1 is the post as first written (the
/// stored ids are global, so they are not shown).
fn revision_json(number: usize, r: &Revision) -> Value {
    json!({
        "number": number,
        "editor": author(&r.editor),
        "title": if r.title.is_empty() { Value::Null } else { json!(r.title) },
        "body": r.body,
        "tags": r.tags,
        "created_at": iso8601(r.created_at_ms),
    })
}

pub fn revisions_json(l: &RevisionList) -> Value {
    // The list is oldest first and every revision of the post is in it.
    let revisions: Vec<Value> = l.revisions.iter().enumerate().map(|(i, r)| revision_json(i + 1, r)).collect();
    json!({ "revisions": revisions })
}

pub fn tags_json(l: &TagList) -> Value {
    json!({ "tags": l.tags.iter().map(|t| json!({ "tag": t.tag, "count": t.count })).collect::<Vec<_>>() })
}

#[cfg(test)]
#[path = "../../tests/unit/doors/json.rs"]
mod tests;
