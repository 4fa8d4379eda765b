//! The whole sign up → ask → answer → comment → vote → log out flow through
//! the real `webui` binary, with in-memory stand-ins for the five services
//! registered in a real Redis. What this checks is the webui's side of the
//! wire: method paths, message types, the user id and idempotency key in the
//! typed requests, request ids passed on, one USER_AUTHENTICATE per page
//! request, cookies, CSRF, status codes turned into pages, and redirects.
//! (The real services have their own tests; the workspace's integration
//! tests run them together.)
//!
//! Needs `STACKWIRE_TEST_REDIS_URL`; without it the test fails rather than pass unchecked.

mod common;

use common::{header, set_cookie, text, web_with, Webui};
use prost::Message;
use proto::methods::*;
use proto::pb::{
    Answer, AnswerWithComments, CastVote, Comment, CreateAnswer, CreateComment, CreateQuestion, Empty, Id,
    ListQuestions, LogIn, Question, QuestionPage, Session, SignUp, Thread, ThreadQuery, Token, User, VoteResult,
};
use proto::{CallContext, Code, Handler, ServerConfig, Status};
use registry_agent::{Agent, Descriptor};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct Data {
    users: Vec<(User, String)>,
    sessions: Vec<(String, i64)>,
    questions: Vec<Question>,
    answers: Vec<Answer>,
    comments: Vec<Comment>,
    next_id: i64,
    /// (method, request id) of every call received.
    calls: Vec<(String, String)>,
    /// (method, bearer token in the call's metadata) of every call received.
    credentials: Vec<(String, Option<String>)>,
    /// Every session token handed out.
    issued: Vec<String>,
    creates: Vec<CreateQuestion>,
    threads: Vec<ThreadQuery>,
    votes: Vec<CastVote>,
}

/// All five services in one handler, over one shared store.
#[derive(Default)]
struct Services(Mutex<Data>);

fn decode<M: Message + Default>(payload: &[u8]) -> Result<M, Status> {
    M::decode(payload).map_err(|e| Status::invalid(e.to_string()))
}

impl Services {
    fn call(&self, method: &str, payload: &[u8]) -> Result<Vec<u8>, Status> {
        let mut d = self.0.lock().unwrap();
        d.next_id += 1;
        let (id, now) = (d.next_id, proto::clock::now_ms());
        Ok(match method {
            USER_CREATE => {
                let r: SignUp = decode(payload)?;
                let u = User { id, username: r.username, created_at_ms: now, ..Default::default() };
                d.users.push((u.clone(), r.password));
                u.encode_to_vec()
            }
            USER_LOGIN => {
                let r: LogIn = decode(payload)?;
                let found = d.users.iter().find(|(u, p)| u.username == r.username && *p == r.password);
                let user = found.map(|(u, _)| u.clone()).ok_or_else(|| Status::new(Code::Unauthenticated, "no"))?;
                let token = format!("tok{id}");
                d.sessions.push((token.clone(), user.id));
                d.issued.push(token.clone());
                Session { token, user: Some(user) }.encode_to_vec()
            }
            USER_AUTHENTICATE => {
                let r: Token = decode(payload)?;
                let uid = d.sessions.iter().find(|(t, _)| *t == r.token).map(|(_, u)| *u);
                let uid = uid.ok_or_else(|| Status::new(Code::Unauthenticated, "no session"))?;
                d.users.iter().find(|(u, _)| u.id == uid).map(|(u, _)| u.clone()).unwrap_or_default().encode_to_vec()
            }
            USER_LOGOUT => {
                let r: Token = decode(payload)?;
                d.sessions.retain(|(t, _)| *t != r.token);
                Empty {}.encode_to_vec()
            }
            QUESTION_LIST => {
                let r: ListQuestions = decode(payload)?;
                let (page, per) = (r.page.max(1) as usize, r.per_page as usize);
                let all: Vec<Question> = d.questions.iter().rev().cloned().collect();
                let questions: Vec<Question> = all.iter().skip((page - 1) * per).take(per).cloned().collect();
                let has_more = all.len() > page * per;
                QuestionPage { questions, page: page as u32, has_more }.encode_to_vec()
            }
            QUESTION_THREAD => {
                let r: ThreadQuery = decode(payload)?;
                d.threads.push(r);
                let q = d.questions.iter().find(|q| q.id == r.id).cloned();
                let q = q.ok_or_else(|| Status::not_found(format!("question {}", r.id)))?;
                let answers = d
                    .answers
                    .iter()
                    .filter(|a| a.question_id == q.id)
                    .map(|a| AnswerWithComments {
                        answer: Some(a.clone()),
                        comments: d.comments.iter().filter(|c| c.answer_id == a.id).cloned().collect(),
                    })
                    .collect();
                Thread { question: Some(q), answers, answer_page: 1, ..Default::default() }.encode_to_vec()
            }
            QUESTION_CREATE => {
                let r: CreateQuestion = decode(payload)?;
                if r.title.contains("forbidden") {
                    return Err(Status::invalid("title must not say forbidden"));
                }
                d.creates.push(r.clone());
                let q = Question {
                    id,
                    title: r.title,
                    body: r.body,
                    created_at_ms: now,
                    author_id: r.author_id,
                    tags: r.tags,
                    ..Default::default()
                };
                d.questions.push(q.clone());
                q.encode_to_vec()
            }
            ANSWER_CREATE => {
                let r: CreateAnswer = decode(payload)?;
                if !d.questions.iter().any(|q| q.id == r.question_id) {
                    return Err(Status::not_found(format!("question {}", r.question_id)));
                }
                let a = Answer {
                    id,
                    question_id: r.question_id,
                    body: r.body,
                    created_at_ms: now,
                    author_id: r.author_id,
                    ..Default::default()
                };
                d.answers.push(a.clone());
                a.encode_to_vec()
            }
            ANSWER_GET => {
                let r: Id = decode(payload)?;
                let a = d.answers.iter().find(|a| a.id == r.id).cloned();
                a.ok_or_else(|| Status::not_found(format!("answer {}", r.id)))?.encode_to_vec()
            }
            COMMENT_CREATE => {
                let r: CreateComment = decode(payload)?;
                if !d.answers.iter().any(|a| a.id == r.answer_id) {
                    return Err(Status::not_found(format!("answer {}", r.answer_id)));
                }
                let c = Comment { id, answer_id: r.answer_id, body: r.body, created_at_ms: now, ..Default::default() };
                d.comments.push(c.clone());
                c.encode_to_vec()
            }
            VOTE_CAST => {
                let r: CastVote = decode(payload)?;
                d.votes.push(r);
                VoteResult { score: 1, vote: "up".into() }.encode_to_vec()
            }
            other => return Err(Status::new(Code::Unimplemented, other)),
        })
    }
}

impl Handler for Services {
    fn handle(&self, ctx: &CallContext<'_>, payload: &[u8]) -> Result<Vec<u8>, Status> {
        let seen = (ctx.method.to_string(), ctx.request_id.to_string());
        let mut d = self.0.lock().unwrap();
        d.calls.push(seen);
        d.credentials.push((ctx.method.to_string(), ctx.bearer_token().map(str::to_string)));
        drop(d);
        self.call(ctx.method, payload)
    }
}

fn descriptor(name: &str) -> Descriptor {
    Descriptor { name: name.into(), title: name.into(), methods: vec![], routes: vec![] }
}

#[test]
fn sign_up_ask_answer_comment_vote_through_the_real_binary() {
    let Some(cfg) = common::registry("flow") else { return };
    let services = Arc::new(Services::default());
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let server = proto::rpc_server::serve(listener, services.clone(), ServerConfig::new("Fake::Worker")).unwrap();
    let load = Arc::new(|| 0u64);
    let agents: Vec<Agent> = ["question", "answer", "comment", "user", "vote"]
        .into_iter()
        .map(|s| Agent::start(cfg.clone(), s, server.local_addr(), descriptor(s), load.clone()))
        .collect::<Result<_, _>>()
        .expect("register the stand-in services");

    // Registered before the webui starts, so its first registry read sees them.
    let mut webui = Webui::start(&cfg);
    let conn = webui.connect();

    let empty = web_with(&conn, "flow-home-0", "GET", "/", None, "");
    assert_eq!(empty.status, 200, "{}", text(&empty));
    assert!(text(&empty).contains("No questions yet"));
    let presession = set_cookie(&empty, "sw_csrf").expect("CSRF cookie");
    let csrf = common::csrf_key().token(webui::csrf::Binding::Visitor(&presession));
    let anon = format!("sw_csrf={presession}");

    // Not logged in: asking sends the visitor to log in first.
    let ask = format!("csrf={csrf}&title=Why+%3Cscript%3Ealert(1)%3C%2Fscript%3E%3F&tags=rust+tcp&idem=k1&body=");
    let code = "line+1%0D%0A%0D%0A%60%60%60%0D%0A++indented%0D%0A%60%60%60";
    let to_login = web_with(&conn, "flow-ask-0", "POST", "/ask", Some(&format!("{ask}{code}")), &anon);
    assert_eq!(to_login.status, 303);
    assert_eq!(header(&to_login, "location").as_deref(), Some("/login?next=%2Fask"));

    // Sign up: logged in at once, with an HttpOnly session cookie.
    let signup = format!("csrf={csrf}&username=ann&password=long+enough&next=%2Fask");
    let signed = web_with(&conn, "flow-signup", "POST", "/signup", Some(&signup), &anon);
    assert_eq!(signed.status, 303, "{}", text(&signed));
    assert_eq!(header(&signed, "location").as_deref(), Some("/ask"));
    let token = set_cookie(&signed, "sw_session").expect("session cookie");
    let rotated = set_cookie(&signed, "sw_csrf").expect("a new pre-session id at login");
    assert_ne!(rotated, presession);
    let me = format!("sw_csrf={rotated}; sw_session={token}");
    // From now on the forms' token is bound to the session.
    let anon_csrf = csrf;
    let csrf = common::csrf_key().token(webui::csrf::Binding::Session(&token));
    let ask = ask.replace(&anon_csrf, &csrf);

    // Ask: the author, the tags and the key reach the service; redirected to the question.
    let asked = web_with(&conn, "flow-ask-1", "POST", "/ask", Some(&format!("{ask}{code}")), &me);
    assert_eq!(asked.status, 303, "{}", text(&asked));
    let location = header(&asked, "location").expect("Location");
    let qid: i64 = location.strip_prefix("/questions/").and_then(|s| s.parse().ok()).expect("question id");
    {
        let d = services.0.lock().unwrap();
        let ann = d.users[0].0.id;
        let c = d.creates.last().expect("a create");
        assert_eq!(
            (c.author_id, c.tags.clone(), c.idempotency_key.as_str()),
            (ann, vec!["rust".into(), "tcp".into()], "k1")
        );
        let auths = d.calls.iter().filter(|(m, r)| m == USER_AUTHENTICATE && r == "flow-ask-1").count();
        assert_eq!(auths, 1, "one USER_AUTHENTICATE per page request");
    }
    let page = web_with(&conn, "flow-q-1", "GET", &location, None, &me);
    assert_eq!(page.status, 200);
    assert!(text(&page).contains("<h1>Why &lt;script&gt;alert(1)&lt;/script&gt;?</h1>"));
    assert!(!text(&page).contains("<script"));
    assert!(text(&page).contains("<pre><code>  indented\n</code></pre>"));
    assert!(text(&page).contains(">ann</a>"), "the header shows who is logged in");

    // The service's own rejection comes back on the form, 400.
    let refused =
        web_with(&conn, "flow-ask-2", "POST", "/ask", Some(&format!("csrf={csrf}&title=forbidden&body=b&tags=x")), &me);
    assert_eq!(refused.status, 400);
    assert!(text(&refused).contains("title must not say forbidden"));

    // Answer, comment and vote: each redirects back to the question page.
    let form = format!("csrf={csrf}&body=Use+%60%26amp%3B%60");
    let answered = web_with(&conn, "flow-answer", "POST", &format!("{location}/answers"), Some(&form), &me);
    assert_eq!(answered.status, 303, "{}", text(&answered));
    let to_answer = header(&answered, "location").expect("Location");
    let aid: i64 = to_answer.rsplit("#answer-").next().and_then(|s| s.parse().ok()).expect("answer id");
    assert_eq!(to_answer, format!("/questions/{qid}#answer-{aid}"));
    let form = format!("csrf={csrf}&body=thanks");
    let commented = web_with(&conn, "flow-comment", "POST", &format!("/answers/{aid}/comments"), Some(&form), &me);
    assert_eq!(commented.status, 303, "{}", text(&commented));
    assert_eq!(header(&commented, "location"), Some(to_answer));
    let form = format!("csrf={csrf}&direction=up&back={}", proto::http::percent_encode(&location));
    let voted = web_with(&conn, "flow-vote", "POST", &format!("/questions/{qid}/vote"), Some(&form), &me);
    assert_eq!(voted.status, 303, "{}", text(&voted));
    assert_eq!(header(&voted, "location").as_deref(), Some(location.as_str()));

    let thread = text(&web_with(&conn, "flow-q-2", "GET", &location, None, &me));
    assert!(thread.contains(&format!("id=\"answer-{aid}\"")));
    assert!(thread.contains("Use <code>&amp;amp;</code>"), "Markdown, with the entity shown as typed");
    assert!(thread.contains(">thanks</span>"));

    // Missing things are 404 pages; the index lists the question.
    assert_eq!(web_with(&conn, "flow-404a", "GET", "/questions/999999", None, &me).status, 404);
    let form = format!("csrf={csrf}&body=x");
    assert_eq!(web_with(&conn, "flow-404b", "POST", "/questions/999999/answers", Some(&form), &me).status, 404);
    assert_eq!(web_with(&conn, "flow-404c", "POST", "/answers/999999/comments", Some(&form), &me).status, 404);
    let home = text(&web_with(&conn, "flow-home-1", "GET", "/", None, &me));
    assert!(home.contains(&format!("href=\"/questions/{qid}\">Why &lt;script&gt;")));

    // Log out: the cookie goes and so does the session.
    let out = web_with(&conn, "flow-logout", "POST", "/logout", Some(&format!("csrf={csrf}")), &me);
    assert_eq!(out.status, 303);
    assert_eq!(set_cookie(&out, "sw_session").as_deref(), Some(""));

    let d = services.0.lock().unwrap();
    let ann = d.users[0].0.id;
    assert!(d.sessions.is_empty(), "USER_LOGOUT ended the session");
    assert!(d.threads.iter().any(|t| t.id == qid && t.viewer_id == ann), "the viewer's id went with THREAD");
    assert!(d.votes.iter().any(|v| v.user_id == ann && v.target == "question" && v.id == qid && v.direction == "up"));
    // Every service call carried the request id of the page that made it.
    for (method, rid) in [
        (USER_CREATE, "flow-signup"),
        (USER_LOGIN, "flow-signup"),
        (QUESTION_CREATE, "flow-ask-1"),
        (QUESTION_THREAD, "flow-q-1"),
        (ANSWER_CREATE, "flow-answer"),
        (COMMENT_CREATE, "flow-comment"),
        (ANSWER_GET, "flow-comment"),
        (VOTE_CAST, "flow-vote"),
        (QUESTION_LIST, "flow-home-1"),
        (USER_LOGOUT, "flow-logout"),
    ] {
        assert!(d.calls.contains(&(method.to_string(), rid.to_string())), "{method} with {rid}: {:?}", d.calls);
    }
    assert!(!d.calls.iter().any(|(m, r)| m == QUESTION_CREATE && r == "flow-ask-0"), "nothing posted before login");
    // Every call that acts as the user carried the user's session token as
    // `authorization: Bearer` metadata: the services act on that, not the ids.
    let token = d.issued.first().cloned().expect("a session was issued");
    for method in [QUESTION_CREATE, ANSWER_CREATE, COMMENT_CREATE, VOTE_CAST] {
        let sent: Vec<_> = d.credentials.iter().filter(|(m, _)| m == method).map(|(_, t)| t).collect();
        assert!(!sent.is_empty() && sent.iter().all(|t| t.as_deref() == Some(token.as_str())), "{method}: {sent:?}");
    }
    drop(d);

    assert!(webui.terminate().success());
    for a in agents {
        a.deregister();
    }
}
