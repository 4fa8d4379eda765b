//! Issue 15 on a real PostgreSQL: batched view counts (`AddViews`), search
//! headlines with marked matches computed for the page's rows, and the
//! author's reputation and the view count on every question read.

// Shared with cluster.rs, which uses the rest of it.
#[allow(dead_code)]
mod support;

use prost::Message;
use proto::headline::{MARK_START, MARK_STOP};
use proto::methods::*;
use proto::pb::{
    CreateQuestion, Empty, Id, LogIn, Question, QuestionPage, SearchQuery, Session, SignUp, Thread, ThreadQuery, User,
    ViewCounts,
};
use proto::{Code, Connection};
use std::time::Duration;
use support::{Cluster, Env};

const T: Duration = Duration::from_secs(10);

fn unary<Req: Message, Resp: Message + Default>(
    c: &Connection,
    method: &str,
    req: &Req,
) -> Result<Resp, proto::Status> {
    c.unary::<Req, Resp>(method, &proto::ids::new_request_id(), T, req).map_err(|e| e.to_status())
}

#[test]
fn views_add_up_in_batches_and_search_marks_its_matches() {
    let env = Env::from_env()
        .expect("STACKWIRE_TEST_DATABASE_URL and STACKWIRE_TEST_REDIS_URL must be set: run through scripts/test.sh");
    let cluster = Cluster::start(&env, &["question", "user"]);
    let (q, u) = (cluster.conn(0), cluster.conn(1));
    let me: User = unary(
        &u,
        USER_CREATE,
        &SignUp { username: "viewer15".into(), password: "password-15".into(), ..Default::default() },
    )
    .unwrap();
    let session: Session = unary(
        &u,
        USER_LOGIN,
        &LogIn { username: "viewer15".into(), password: "password-15".into(), ..Default::default() },
    )
    .unwrap();
    let credential = [proto::metadata::bearer(&session.token)];
    let ask = |title: &str, body: &str| -> Question {
        let req = CreateQuestion {
            title: title.into(),
            body: body.into(),
            author_id: me.id,
            tags: vec!["rust".into()],
            ..Default::default()
        };
        let opts = proto::CallOptions::new("views-search", T).with_metadata(&credential);
        proto::rpc_client::unary(&q, QUESTION_CREATE, &opts, &req).unwrap()
    };
    let a = ask("Nonblocking socket returns WouldBlock", "My **nonblocking** socket <b>spins</b>\u{1} in a `loop`.");
    let b = ask("Unrelated title", "Nothing about that here, only a nonblocking socket mention.");

    // Views: one statement per batch; duplicates in a batch add up; unknown ids match nothing.
    let _: Empty =
        unary(&q, QUESTION_ADD_VIEWS, &ViewCounts { ids: vec![a.id, b.id, a.id, 999_999], counts: vec![3, 1, 2, 5] })
            .unwrap();
    let got: Question = unary(&q, QUESTION_GET, &Id { id: a.id }).unwrap();
    assert_eq!(got.view_count, 5);
    let thread: Thread = unary(&q, QUESTION_THREAD, &ThreadQuery { id: b.id, ..Default::default() }).unwrap();
    assert_eq!(thread.question.as_ref().map(|q| q.view_count), Some(1));
    for bad in [
        ViewCounts { ids: vec![a.id], counts: vec![] },
        ViewCounts { ids: vec![a.id], counts: vec![0] },
        ViewCounts { ids: vec![-1], counts: vec![1] },
        ViewCounts { ids: vec![a.id], counts: vec![10_000_000] },
    ] {
        let err = unary::<_, Empty>(&q, QUESTION_ADD_VIEWS, &bad).unwrap_err();
        assert_eq!(err.code, Code::InvalidArgument, "{bad:?}");
    }
    let got: Question = unary(&q, QUESTION_GET, &Id { id: a.id }).unwrap();
    assert_eq!(got.view_count, 5, "a refused batch changed nothing");

    // Search: headlines of the title and body, matches between the marks,
    // the markup and the marks the text itself held taken out.
    let page: QuestionPage =
        unary(&q, QUESTION_SEARCH, &SearchQuery { q: "nonblocking socket [rust]".into(), page: 1, per_page: 20 })
            .unwrap();
    let first = page.questions.first().expect("a result");
    assert_eq!(first.id, a.id, "the title match ranks first");
    assert_eq!(
        first.headline_title,
        format!("{MARK_START}Nonblocking{MARK_STOP} {MARK_START}socket{MARK_STOP} returns WouldBlock")
    );
    let body = &first.headline_body;
    assert!(body.contains(&format!("{MARK_START}nonblocking{MARK_STOP}")), "{body:?}");
    assert!(!body.contains("**") && !body.contains('`'), "markdown marks taken out: {body:?}");
    // ts_headline drops what its parser reads as HTML tags; the words stay.
    assert!(body.contains("spins") && !body.contains("<b"), "{body:?}");
    assert_eq!(body.matches(MARK_START).count(), body.matches(MARK_STOP).count(), "{body:?}");
    assert_eq!(body.matches(MARK_START).count(), 2, "the text's own U+0001 is gone: {body:?}");
    assert_eq!(first.author_reputation, 0);
    let other = page.questions.iter().find(|x| x.id == b.id).expect("the body match too");
    assert!(other.headline_body.contains(&format!("{MARK_START}socket{MARK_STOP}")), "{:?}", other.headline_body);
    // A tag-only search lists questions without headlines.
    let tagged: QuestionPage =
        unary(&q, QUESTION_SEARCH, &SearchQuery { q: "[rust]".into(), page: 1, per_page: 20 }).unwrap();
    assert_eq!(tagged.questions.len(), 2);
    assert!(tagged.questions.iter().all(|x| x.headline_body.is_empty()));
}
