//! Unit tests of `services::doors::json`, compiled into the library's own test
//! binary through `#[path]` (they use its private items), kept out of `src/`.

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
    let page =
        user_page_json(&UserPage { user: Some(u.clone()), questions: vec![], answers: vec![], ..Default::default() });
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
