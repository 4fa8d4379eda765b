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
mod tests {
    use super::*;
    use proto::pb::AnswerWithComments;

    #[test]
    fn question_answer_and_comment_shapes() {
        let q = Question {
            id: 1,
            title: "T".into(),
            body: "B".into(),
            created_at_ms: 1_542_848_230_560,
            last_activity_ms: 1_542_848_230_560,
            tags: vec!["rust".into()],
            ..Default::default()
        };
        assert_eq!(
            question_json(&q),
            json!({"id": 1, "title": "T", "body": "B", "created_at": "2018-11-22T00:57:10.560Z",
                   "author": "anonymous", "score": 0, "tags": ["rust"], "answer_count": 0,
                   "accepted_answer_id": null, "last_activity_at": "2018-11-22T00:57:10.560Z", "view_count": 0})
        );
        let a = Answer {
            id: 2,
            question_id: 1,
            body: "A".into(),
            author: "ann".into(),
            score: 3,
            accepted: true,
            ..Default::default()
        };
        let c = Comment { id: 3, answer_id: 2, body: "C".into(), ..Default::default() };
        let t = Thread {
            question: Some(Question { accepted_answer_id: 2, ..q.clone() }),
            answers: vec![AnswerWithComments { answer: Some(a), comments: vec![c] }],
            answer_page: 1,
            more_answers: false,
            my_votes: vec![PostVote { target: "answer".into(), id: 2, value: -1 }],
        };
        let v = thread_json(&t, true);
        assert_eq!(v["accepted_answer_id"], 2);
        assert_eq!(
            v["answers"][0],
            json!({"id": 2, "question_id": 1, "body": "A", "created_at": "1970-01-01T00:00:00.000Z",
                   "author": "ann", "score": 3, "accepted": true, "comments": [
                    {"id": 3, "answer_id": 2, "body": "C", "created_at": "1970-01-01T00:00:00.000Z", "author": "anonymous"}]})
        );
        assert_eq!((v["answer_page"].as_u64(), v["more_answers"].as_bool()), (Some(1), Some(false)));
        assert_eq!(v["my_votes"], json!([{"target": "answer", "id": 2, "vote": "down"}]));
        assert!(thread_json(&t, false).get("my_votes").is_none());
        let p = QuestionPage { questions: vec![q], page: 2, has_more: true };
        let v = page_json(&p);
        assert_eq!(
            (v["page"].as_u64(), v["has_more"].as_bool(), v["questions"][0]["title"].as_str()),
            (Some(2), Some(true), Some("T"))
        );
    }

    #[test]
    fn account_vote_and_revision_shapes() {
        let u = User {
            id: 5,
            username: "ann".into(),
            reputation: 23,
            created_at_ms: 0,
            question_count: 1,
            answer_count: 2,
            session_expires_ms: 0,
        };
        assert_eq!(
            user_json(&u),
            json!({"id": 5, "username": "ann", "reputation": 23, "created_at": "1970-01-01T00:00:00.000Z"})
        );
        let page = user_page_json(&UserPage {
            user: Some(u.clone()),
            questions: vec![],
            answers: vec![],
            ..Default::default()
        });
        assert_eq!((page["question_count"].as_i64(), page["answer_count"].as_i64()), (Some(1), Some(2)));
        let s = session_json(&Session { token: "t".into(), user: Some(u) });
        assert_eq!((s["token"].as_str(), s["user"]["username"].as_str()), (Some("t"), Some("ann")));
        assert_eq!(vote_json(&VoteResult { score: -1, vote: "none".into() }), json!({"score": -1, "vote": "none"}));
        let r = Revision { id: 1, body: "b".into(), ..Default::default() };
        let v = revisions_json(&RevisionList { revisions: vec![r] });
        assert_eq!(v["revisions"][0]["title"], Value::Null);
        assert_eq!(v["revisions"][0]["editor"], "anonymous");
        assert_eq!(vote_word(1), "up");
        assert_eq!(vote_word(0), "none");
    }
}
