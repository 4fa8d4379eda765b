//! End-to-end: real `service` processes on a real PostgreSQL and Redis.
//!
//! Needs `STACKWIRE_TEST_DATABASE_URL` and `STACKWIRE_TEST_REDIS_URL`
//! (scripts/test.sh sets both) and fails without them rather than pass
//! unchecked. Each
//! run gets its own PostgreSQL schema (through `search_path` in the URL's
//! `options`) and its own registry prefix, so it can run next to other test
//! clusters on the same servers and assert exact counts.
//!
//! Seven processes (two of each post service and a user service) start at
//! once against the empty schema, which is the migration race the advisory
//! lock exists for; then the public JSON routes and the typed methods are
//! driven over `proto::Connection` exactly as the balancer and the webui
//! would, including authentication through the user service, the
//! cross-service existence checks, the thread assembly, and what callers see
//! once a dependency has shut down.

mod support;

use prost::Message;
use proto::methods::*;
use proto::pb::{
    Answer, AnswerList, Comment, CommentList, CreateAnswer, CreateComment, CreateQuestion, Exists, Id, Ids,
    ListQuestions, LogIn, Question, QuestionPage, Session, SignUp, Thread, User,
};
use proto::{Code, Connection};
use serde_json::Value;
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

/// A typed call acting as the user whose session `token` is: the token goes
/// as `authorization: Bearer` metadata, as the webui and grpcio send it.
fn unary_as<Req: Message, Resp: Message + Default>(
    c: &Connection,
    method: &str,
    token: &str,
    req: &Req,
) -> Result<Resp, proto::Status> {
    let credential = [proto::metadata::bearer(token)];
    let jid = proto::ids::new_request_id();
    let opts = proto::CallOptions::new(&jid, T).with_metadata(&credential);
    proto::rpc_client::unary(c, method, &opts, req).map_err(|e| e.to_status())
}

fn assert_iso8601(v: &Value) {
    let s = v.as_str().unwrap_or_else(|| panic!("created_at is not a string: {v}"));
    let b = s.as_bytes();
    assert!(
        b.len() == 24 && b[4] == b'-' && b[10] == b'T' && b[19] == b'.' && b[23] == b'Z',
        "created_at {s:?} is not ISO-8601 UTC with milliseconds"
    );
}

#[test]
fn services_end_to_end() {
    let env = Env::from_env()
        .expect("STACKWIRE_TEST_DATABASE_URL and STACKWIRE_TEST_REDIS_URL must be set: run through scripts/test.sh");
    let mut cluster = Cluster::start(&env, &["question", "question", "answer", "answer", "comment", "comment", "user"]);
    let q = cluster.conn(0);
    let a = cluster.conn(2);
    let c = cluster.conn(4);
    let u = cluster.conn(6);

    // Seven processes migrated one empty schema at once: exactly one of them applied the versions.
    let versions: Vec<i32> = services::db::MIGRATIONS.iter().map(|m| m.0).collect();
    assert_eq!(env.sql_count("SELECT count(*) FROM schema_migrations"), versions.len() as i64);
    assert_eq!(cluster.log_count(&format!("applied migrations {versions:?}")), 1, "{}", cluster.logs());
    assert_eq!(cluster.log_count("schema up to date"), 6);

    // ---- accounts: typed sign-up and login, the token used over HTTP ----------
    let me: User = unary(
        &u,
        USER_CREATE,
        &SignUp { username: "e2e".into(), password: "password-e2e".into(), ..Default::default() },
    )
    .unwrap();
    let session: Session =
        unary(&u, USER_LOGIN, &LogIn { username: "e2e".into(), password: "password-e2e".into(), ..Default::default() })
            .unwrap();
    let token = session.token.as_str();
    let who: User = unary(&u, USER_AUTHENTICATE, &proto::pb::Token { token: token.into() }).unwrap();
    assert_eq!((who.id, who.username.as_str()), (me.id, "e2e"));
    let web = |conn: &Connection, method: &str, path: &str, ct: Option<&str>, body: &str| {
        support::web_as(conn, Some(token), method, path, "", ct, body)
    };

    // ---- questions over HTTP ------------------------------------------------
    let (status, json, _) = support::web(&q, "POST", "/webserv/question", "", None, "title=t&body=b&tags=x");
    assert_eq!((status, json["error"].as_str()), (401, Some("log in to post")));
    let (status, json, _) = web(&q, "POST", "/webserv/question", None, "title=++How+to+X%3F+&body=I+tried+Y&tags=e2e");
    assert_eq!(status, 201, "{json}");
    assert_eq!(json["title"], "How to X?");
    assert_eq!(json["body"], "I tried Y");
    assert_eq!(json["author"], "e2e");
    assert_iso8601(&json["created_at"]);
    let q1 = json["id"].as_i64().expect("id is a number");

    let (status, json, _) = web(
        &q,
        "POST",
        "/webserv/question",
        Some("application/json"),
        r#"{"title": "Second", "body": "Via JSON", "tags": ["e2e", "json"]}"#,
    );
    assert_eq!(status, 201, "{json}");
    let q2 = json["id"].as_i64().unwrap();

    let cases: &[(&str, Option<&str>, &str, u16, &str)] = &[
        ("title=&body=x&tags=t", None, "", 400, "title must be 1 to 200 characters"),
        ("body=x", None, "", 400, "title is required"),
        ("title=x", None, "", 400, "body is required"),
        ("title=x&body=x&tags=a/b", None, "", 400, "tag \"a/b\" must be"),
        ("title=x&body=x", Some("text/plain"), "", 415, ""),
        (r#"{"title": 1, "body": "x"}"#, Some("application/json"), "", 400, "title must be a string"),
    ];
    for (body, ct, _, want, msg) in cases {
        let (status, json, _) = web(&q, "POST", "/webserv/question", *ct, body);
        assert_eq!(status, *want, "{body}: {json}");
        assert!(json["error"].as_str().is_some_and(|e| e.contains(msg)), "{body}: {json}");
    }
    let long_title = format!("title={}&body=x&tags=t", "a".repeat(201));
    let (status, json, _) = web(&q, "POST", "/webserv/question", None, &long_title);
    assert_eq!((status, json["error"].as_str()), (400, Some("title must be 1 to 200 characters")));

    let (status, json, _) = support::web(&q, "GET", &format!("/webserv/question/{q1}"), "", None, "");
    assert_eq!(status, 200, "{json}");
    assert_eq!((json["id"].as_i64(), json["answers"].as_array().map(|a| a.len())), (Some(q1), Some(0)));

    for path in ["/webserv/question/999999999", "/webserv/question/abc", "/webserv/question/1/x"] {
        let (status, json, _) = support::web(&q, "GET", path, "", None, "");
        assert_eq!(status, 404, "{path}: {json}");
        assert!(json["error"].is_string());
    }
    let (status, _, headers) = support::web(&q, "DELETE", "/webserv/question", "", None, "");
    assert_eq!((status, support::header(&headers, "allow").as_deref()), (405, Some("GET, POST")));

    // ---- answers: the question must exist ------------------------------------
    let missing = q2 + 1000;
    let (status, json, _) = web(&a, "POST", "/webserv/answer", None, &format!("question_id={missing}&body=hi"));
    assert_eq!((status, json["error"].as_str()), (404, Some(format!("question {missing} does not exist").as_str())));
    let (status, json, _) = web(&a, "POST", "/webserv/answer", None, "question_id=abc&body=hi");
    assert_eq!((status, json["error"].as_str()), (400, Some("question_id must be a positive integer")));
    let (status, _, headers) = support::web(&a, "GET", "/webserv/answer", "", None, "");
    assert_eq!((status, support::header(&headers, "allow").as_deref()), (405, Some("POST")));

    let (status, a1, _) = web(&a, "POST", "/webserv/answer", None, &format!("question_id={q1}&body=Use+Z"));
    assert_eq!(status, 201, "{a1}");
    assert_eq!((a1["question_id"].as_i64(), a1["body"].as_str()), (Some(q1), Some("Use Z")));
    assert_iso8601(&a1["created_at"]);
    let a1 = a1["id"].as_i64().unwrap();
    let body = format!(r#"{{"question_id": "{q1}", "body": "Or W"}}"#);
    let (status, a2, _) = web(&a, "POST", "/webserv/answer", Some("application/json"), &body);
    assert_eq!(status, 201, "{a2}");
    let a2 = a2["id"].as_i64().unwrap();

    // ---- comments: the answer must exist --------------------------------------
    let (status, json, _) = web(&c, "POST", "/webserv/comment", None, &format!("answer_id={}&body=x", a2 + 1000));
    assert_eq!((status, json["error"].as_str()), (404, Some(format!("answer {} does not exist", a2 + 1000).as_str())));
    let too_long = format!("answer_id={a1}&body={}", "c".repeat(601));
    let (status, json, _) = web(&c, "POST", "/webserv/comment", None, &too_long);
    assert_eq!((status, json["error"].as_str()), (400, Some("body must be 1 to 600 characters")));
    let mut comment_ids = Vec::new();
    for (answer, text) in [(a1, "first"), (a2, "other"), (a1, "second")] {
        let (status, json, _) = web(&c, "POST", "/webserv/comment", None, &format!("answer_id={answer}&body={text}"));
        assert_eq!(status, 201, "{json}");
        assert_eq!((json["answer_id"].as_i64(), json["body"].as_str()), (Some(answer), Some(text)));
        comment_ids.push(json["id"].as_i64().unwrap());
    }

    // ---- the thread, over HTTP and typed ---------------------------------------
    let (status, json, _) = support::web(&q, "GET", &format!("/webserv/question/{q1}"), "", None, "");
    assert_eq!(status, 200, "{json}");
    let answers = json["answers"].as_array().expect("answers array");
    let shape: Vec<(i64, Vec<&str>)> = answers
        .iter()
        .map(|a| {
            let bodies = a["comments"].as_array().unwrap().iter().map(|c| c["body"].as_str().unwrap()).collect();
            (a["id"].as_i64().unwrap(), bodies)
        })
        .collect();
    assert_eq!(shape, vec![(a1, vec!["first", "second"]), (a2, vec!["other"])]);
    assert_eq!(answers[0]["question_id"].as_i64(), Some(q1));
    assert_eq!(answers[0]["comments"][0]["answer_id"].as_i64(), Some(a1));
    assert_iso8601(&answers[0]["comments"][0]["created_at"]);

    let t: Thread = unary(&q, QUESTION_THREAD, &Id { id: q1 }).unwrap();
    assert_eq!(t.question.as_ref().map(|q| q.id), Some(q1));
    assert_eq!(t.answers.iter().map(|a| a.comments.len()).collect::<Vec<_>>(), vec![2, 1]);
    assert_eq!(unary::<_, Thread>(&q, QUESTION_THREAD, &Id { id: missing }).unwrap_err().code, Code::NotFound);

    // ---- typed methods ----------------------------------------------------------
    let got: Question = unary(&q, QUESTION_GET, &Id { id: q2 }).unwrap();
    assert_eq!((got.title.as_str(), got.body.as_str()), ("Second", "Via JSON"));
    assert_eq!(unary::<_, Question>(&q, QUESTION_GET, &Id { id: missing }).unwrap_err().code, Code::NotFound);
    assert!(unary::<_, Exists>(&q, QUESTION_EXISTS, &Id { id: q1 }).unwrap().exists);
    assert!(!unary::<_, Exists>(&q, QUESTION_EXISTS, &Id { id: missing }).unwrap().exists);
    let e = unary_as::<_, Question>(
        &q,
        QUESTION_CREATE,
        token,
        &CreateQuestion { title: " ".into(), body: "b".into(), author_id: me.id, ..Default::default() },
    )
    .unwrap_err();
    assert_eq!((e.code, e.message.as_str()), (Code::InvalidArgument, "title must be 1 to 200 characters"));
    let e = unary::<_, Question>(
        &q,
        QUESTION_CREATE,
        &CreateQuestion { title: "t".into(), body: "b".into(), tags: vec!["x".into()], ..Default::default() },
    )
    .unwrap_err();
    assert_eq!((e.code, e.message.as_str()), (Code::Unauthenticated, "log in to post"));
    // The author is the credential's user: an id alone is not a credential,
    // and an id that is not the credential's is refused.
    let as_me = CreateQuestion { title: "t".into(), body: "b".into(), author_id: me.id, ..Default::default() };
    let e = unary::<_, Question>(&q, QUESTION_CREATE, &as_me).unwrap_err();
    assert_eq!((e.code, e.message.as_str()), (Code::Unauthenticated, "log in to post"));
    let e = unary_as::<_, Question>(&q, QUESTION_CREATE, "0123456789abcdef", &as_me).unwrap_err();
    assert_eq!(e.code, Code::Unauthenticated, "{e}");
    let as_someone = CreateQuestion { author_id: me.id + 1000, ..as_me };
    let e = unary_as::<_, Question>(&q, QUESTION_CREATE, token, &as_someone).unwrap_err();
    assert_eq!(e.code, Code::PermissionDenied, "{e}");

    let got: Answer = unary(&a, ANSWER_GET, &Id { id: a2 }).unwrap();
    assert_eq!((got.question_id, got.body.as_str()), (q1, "Or W"));
    assert!(unary::<_, Exists>(&a, ANSWER_EXISTS, &Id { id: a1 }).unwrap().exists);
    let list: AnswerList = unary(&a, ANSWER_LIST_FOR_QUESTION, &Id { id: q1 }).unwrap();
    assert_eq!(list.answers.iter().map(|a| a.id).collect::<Vec<_>>(), vec![a1, a2]);
    let e = unary_as::<_, Answer>(
        &a,
        ANSWER_CREATE,
        token,
        &CreateAnswer { question_id: missing, body: "x".into(), author_id: me.id, ..Default::default() },
    )
    .unwrap_err();
    assert_eq!((e.code, e.message), (Code::NotFound, format!("question {missing} does not exist")));

    let list: CommentList = unary(&c, COMMENT_LIST_FOR_ANSWERS, &Ids { ids: vec![a2, a1, 0, a1] }).unwrap();
    assert_eq!(
        list.comments.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![comment_ids[0], comment_ids[2], comment_ids[1]]
    );
    let e = unary::<_, CommentList>(&c, COMMENT_LIST_FOR_ANSWERS, &Ids { ids: (1..=1001).collect() }).unwrap_err();
    assert_eq!(e.code, Code::InvalidArgument);
    let e = unary_as::<_, Comment>(
        &c,
        COMMENT_CREATE,
        token,
        &CreateComment { answer_id: 0, body: "x".into(), author_id: me.id, ..Default::default() },
    )
    .unwrap_err();
    assert_eq!((e.code, e.message.as_str()), (Code::InvalidArgument, "answer_id must be a positive integer"));
    let e = c.call("/stackwire.Nope/Nope", "jid", T, Vec::new()).map(|r| r.status).unwrap();
    assert_eq!(e, Code::Unimplemented as u32);

    // ---- paging: newest first, exact because the schema is ours ----------------
    // A second user: the first has used up its two questions this minute.
    let other: User = unary(
        &u,
        USER_CREATE,
        &SignUp { username: "e2e-2".into(), password: "password-e2e".into(), ..Default::default() },
    )
    .unwrap();
    let e = unary_as::<_, Question>(
        &q,
        QUESTION_CREATE,
        token,
        &CreateQuestion {
            title: "Third".into(),
            body: "b".into(),
            tags: vec!["x".into()],
            author_id: me.id,
            ..Default::default()
        },
    )
    .unwrap_err();
    assert_eq!(e.code, Code::ResourceExhausted, "{e}");
    let other_session: Session = unary(
        &u,
        USER_LOGIN,
        &LogIn { username: "e2e-2".into(), password: "password-e2e".into(), ..Default::default() },
    )
    .unwrap();
    let q3: Question = unary_as(
        &q,
        QUESTION_CREATE,
        &other_session.token,
        &CreateQuestion {
            title: "Third".into(),
            body: "b".into(),
            tags: vec!["x".into()],
            author_id: other.id,
            ..Default::default()
        },
    )
    .unwrap();
    let p1: QuestionPage =
        unary(&q, QUESTION_LIST, &ListQuestions { page: 1, per_page: 2, ..Default::default() }).unwrap();
    assert_eq!((p1.questions.iter().map(|q| q.id).collect::<Vec<_>>(), p1.has_more), (vec![q3.id, q2], true));
    let p2: QuestionPage =
        unary(&q, QUESTION_LIST, &ListQuestions { page: 2, per_page: 2, ..Default::default() }).unwrap();
    assert_eq!((p2.questions.iter().map(|q| q.id).collect::<Vec<_>>(), p2.has_more, p2.page), (vec![q1], false, 2));
    let (status, json, _) = support::web(&q, "GET", "/webserv/question", "page=1", None, "");
    assert_eq!(status, 200, "{json}");
    assert_eq!((json["page"].as_u64(), json["has_more"].as_bool()), (Some(1), Some(false)));
    assert_eq!(json["questions"].as_array().map(|a| a.len()), Some(3));
    assert_eq!(json["questions"][0]["id"].as_i64(), Some(q3.id));
    let (status, _, _) = support::web(&q, "GET", "/webserv/question", "page=0", None, "");
    assert_eq!(status, 400);

    // ---- the foreign key is the second line of defence --------------------------
    // The row a check-then-insert race would leave: a question that vanished.
    assert!(env.insert_orphan_answer_is_fk_violation(missing));

    // ---- another service going away ------------------------------------------
    // Both question instances shut down cleanly (exit 0, deregistered)...
    for i in [0, 1] {
        assert_eq!(cluster.terminate(i), Some(0), "{}", cluster.logs());
    }
    assert_eq!(cluster.log_count("deregistered question"), 2, "{}", cluster.logs());
    // ...and answers are still taken: the answer service needs the database
    // (whose foreign key checks the question) and the user service, nothing else.
    let (status, json, _) = web(&a, "POST", "/webserv/answer", None, &format!("question_id={q1}&body=late"));
    assert_eq!(status, 201, "{json}");
    assert_eq!(env.sql_count(&format!("SELECT count(*) FROM answers WHERE question_id = {q1}")), 3);

    for i in 2..7 {
        assert_eq!(cluster.terminate(i), Some(0), "{}", cluster.logs());
    }
}
