//! The whole ask → answer → comment flow through the real `webui` binary,
//! with in-memory stand-ins for the question, answer and comment services
//! registered in a real Redis. What this checks is the webui's side of the
//! wire: method paths, message types, request ids passed on, status codes
//! turned into pages, and redirects. (The real services have their own tests;
//! the workspace's integration tests run them together.)
//!
//! Needs `STACKWIRE_TEST_REDIS_URL`; without it the test fails rather than pass unchecked.

mod common;

use common::{header, text, web, Webui};
use prost::Message;
use proto::methods::*;
use proto::pb::{
    Answer, AnswerWithComments, Comment, CreateAnswer, CreateComment, CreateQuestion, Id, ListQuestions, Question,
    QuestionPage, Thread,
};
use proto::{CallContext, Handler, ServerConfig, Status};
use registry_agent::{Agent, Descriptor};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct Data {
    questions: Vec<Question>,
    answers: Vec<Answer>,
    comments: Vec<Comment>,
    next_id: i64,
    /// (method, request id) of every call received.
    calls: Vec<(String, String)>,
}

/// All three services in one handler, over one shared store.
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
            QUESTION_LIST => {
                let r: ListQuestions = decode(payload)?;
                let (page, per) = (r.page.max(1) as usize, r.per_page as usize);
                let all: Vec<Question> = d.questions.iter().rev().cloned().collect();
                let questions: Vec<Question> = all.iter().skip((page - 1) * per).take(per).cloned().collect();
                let has_more = all.len() > page * per;
                QuestionPage { questions, page: page as u32, has_more }.encode_to_vec()
            }
            QUESTION_THREAD => {
                let r: Id = decode(payload)?;
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
                Thread { question: Some(q), answers, ..Default::default() }.encode_to_vec()
            }
            QUESTION_CREATE => {
                let r: CreateQuestion = decode(payload)?;
                if r.title.contains("forbidden") {
                    return Err(Status::invalid("title must not say forbidden"));
                }
                let q = Question { id, title: r.title, body: r.body, created_at_ms: now, ..Default::default() };
                d.questions.push(q.clone());
                q.encode_to_vec()
            }
            ANSWER_CREATE => {
                let r: CreateAnswer = decode(payload)?;
                if !d.questions.iter().any(|q| q.id == r.question_id) {
                    return Err(Status::not_found(format!("question {}", r.question_id)));
                }
                let a =
                    Answer { id, question_id: r.question_id, body: r.body, created_at_ms: now, ..Default::default() };
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
            other => return Err(Status::new(proto::Code::Unimplemented, other)),
        })
    }
}

impl Handler for Services {
    fn handle(&self, ctx: &CallContext<'_>, payload: &[u8]) -> Result<Vec<u8>, Status> {
        let seen = (ctx.method.to_string(), ctx.request_id.to_string());
        self.0.lock().unwrap().calls.push(seen);
        self.call(ctx.method, payload)
    }
}

fn descriptor(name: &str) -> Descriptor {
    Descriptor { name: name.into(), title: name.into(), methods: vec![], routes: vec![] }
}

#[test]
fn ask_answer_comment_through_the_real_binary() {
    let Some(cfg) = common::registry("flow") else { return };
    let services = Arc::new(Services::default());
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let server = proto::rpc_server::serve(listener, services.clone(), ServerConfig::new("Fake::Worker")).unwrap();
    let load = Arc::new(|| 0u64);
    let agents: Vec<Agent> = ["question", "answer", "comment"]
        .into_iter()
        .map(|s| Agent::start(cfg.clone(), s, server.local_addr(), descriptor(s), load.clone()))
        .collect::<Result<_, _>>()
        .expect("register the stand-in services");

    // Registered before the webui starts, so its first registry read sees them.
    let mut webui = Webui::start(&cfg);
    let conn = webui.connect();

    let empty = web(&conn, "flow-home-0", "GET", "/", None);
    assert_eq!(empty.status, 200, "{}", text(&empty));
    assert!(text(&empty).contains("No questions yet"));

    // Ask: redirected to the new question, which shows escaped.
    let form = "title=Why+%3Cscript%3Ealert(1)%3C%2Fscript%3E%3F&body=line+1%0D%0Aline+2";
    let asked = web(&conn, "flow-ask-1", "POST", "/ask", Some(form));
    assert_eq!(asked.status, 303, "{}", text(&asked));
    let location = header(&asked, "location").expect("Location");
    let qid: i64 = location.strip_prefix("/questions/").and_then(|s| s.parse().ok()).expect("question id");
    let page = web(&conn, "flow-q-1", "GET", &location, None);
    assert_eq!(page.status, 200);
    assert!(text(&page).contains("<h1>Why &lt;script&gt;alert(1)&lt;/script&gt;?</h1>"));
    assert!(!text(&page).contains("<script"));
    assert!(text(&page).contains("line 1\nline 2"));

    // The service's own rejection comes back on the form, 400.
    let refused = web(&conn, "flow-ask-2", "POST", "/ask", Some("title=forbidden&body=b"));
    assert_eq!(refused.status, 400);
    assert!(text(&refused).contains("title must not say forbidden"));

    // Answer, then comment: each redirects to the answer on the question page.
    let answered = web(&conn, "flow-answer", "POST", &format!("{location}/answers"), Some("body=Use+%26amp%3B"));
    assert_eq!(answered.status, 303, "{}", text(&answered));
    let to_answer = header(&answered, "location").expect("Location");
    let aid: i64 = to_answer.rsplit("#answer-").next().and_then(|s| s.parse().ok()).expect("answer id");
    assert_eq!(to_answer, format!("/questions/{qid}#answer-{aid}"));
    let commented = web(&conn, "flow-comment", "POST", &format!("/answers/{aid}/comments"), Some("body=thanks"));
    assert_eq!(commented.status, 303, "{}", text(&commented));
    assert_eq!(header(&commented, "location"), Some(to_answer));

    let thread = text(&web(&conn, "flow-q-2", "GET", &location, None));
    assert!(thread.contains(&format!("id=\"answer-{aid}\"")));
    assert!(thread.contains("Use &amp;amp;"));
    assert!(thread.contains(">thanks</span>"));

    // Missing things are 404 pages; the index lists the question.
    assert_eq!(web(&conn, "flow-404a", "GET", "/questions/999999", None).status, 404);
    assert_eq!(web(&conn, "flow-404b", "POST", "/questions/999999/answers", Some("body=x")).status, 404);
    assert_eq!(web(&conn, "flow-404c", "POST", "/answers/999999/comments", Some("body=x")).status, 404);
    let home = text(&web(&conn, "flow-home-1", "GET", "/", None));
    assert!(home.contains(&format!("<a href=\"/questions/{qid}\">Why &lt;script&gt;")));

    // Every service call carried the request id of the page that made it.
    let calls = services.0.lock().unwrap().calls.clone();
    for (method, rid) in [
        (QUESTION_CREATE, "flow-ask-1"),
        (QUESTION_THREAD, "flow-q-1"),
        (ANSWER_CREATE, "flow-answer"),
        (COMMENT_CREATE, "flow-comment"),
        (ANSWER_GET, "flow-comment"),
        (QUESTION_LIST, "flow-home-1"),
    ] {
        assert!(calls.contains(&(method.to_string(), rid.to_string())), "{method} with {rid}: {calls:?}");
    }

    assert!(webui.terminate().success());
    for a in agents {
        a.deregister();
    }
}
