//! Routing and page-flow tests against an in-memory fake of the services, so
//! every status and redirect the site promises is checked without a network.

use super::*;
use crate::backend::PER_PAGE;
use proto::pb::{Answer, AnswerWithComments, Comment, Header, Question, QuestionPage, Thread};
use std::sync::Mutex;

#[derive(Default)]
struct State {
    threads: Vec<Thread>,
    next_id: i64,
    /// Pages the index asked for, in order.
    pages_asked: Vec<u32>,
    /// Creations that reached the fake.
    creates: usize,
}

/// The question, answer and comment services in one struct.
#[derive(Default)]
struct Fake {
    /// Every call fails as if no instance were registered.
    down: bool,
    /// Creations fail with this INVALID_ARGUMENT message.
    reject: Option<String>,
    /// Only ANSWER_GET fails as unavailable (after a comment is stored).
    answer_get_down: bool,
    state: Mutex<State>,
}

impl Fake {
    fn with_questions(n: usize) -> Fake {
        let fake = Fake::default();
        for i in 0..n {
            fake.create_question(&call(), &format!("question {i}"), "body").unwrap();
        }
        fake.state.lock().unwrap().creates = 0;
        fake
    }

    fn check(&self, service: &'static str) -> Result<std::sync::MutexGuard<'_, State>, BackendError> {
        if self.down {
            return Err(BackendError::Unavailable { service, detail: "no live instance".into() });
        }
        Ok(self.state.lock().unwrap())
    }

    fn check_create(&self, service: &'static str) -> Result<std::sync::MutexGuard<'_, State>, BackendError> {
        let mut s = self.check(service)?;
        if let Some(m) = &self.reject {
            return Err(BackendError::Invalid(m.clone()));
        }
        s.creates += 1;
        s.next_id += 1;
        Ok(s)
    }
}

fn answers_mut(s: &mut State) -> impl Iterator<Item = &mut AnswerWithComments> {
    s.threads.iter_mut().flat_map(|t| t.answers.iter_mut())
}

impl Backend for Fake {
    fn list_questions(&self, _: &Call, page: u32) -> Result<QuestionPage, BackendError> {
        let mut s = self.check("question")?;
        s.pages_asked.push(page);
        let all: Vec<Question> = s.threads.iter().rev().filter_map(|t| t.question.clone()).collect();
        let start = ((page - 1) * PER_PAGE) as usize;
        let questions: Vec<Question> = all.iter().skip(start).take(PER_PAGE as usize).cloned().collect();
        Ok(QuestionPage { has_more: all.len() > start + questions.len(), questions, page })
    }

    fn thread(&self, _: &Call, id: i64) -> Result<Thread, BackendError> {
        let s = self.check("question")?;
        let found = s.threads.iter().find(|t| t.question.as_ref().is_some_and(|q| q.id == id));
        found.cloned().ok_or_else(|| BackendError::NotFound(format!("question {id}")))
    }

    fn create_question(&self, _: &Call, title: &str, body: &str) -> Result<Question, BackendError> {
        let mut s = self.check_create("question")?;
        let q = Question {
            id: s.next_id,
            title: title.into(),
            body: body.into(),
            created_at_ms: s.next_id,
            ..Default::default()
        };
        s.threads.push(Thread { question: Some(q.clone()), answers: vec![], ..Default::default() });
        Ok(q)
    }

    fn create_answer(&self, _: &Call, question_id: i64, body: &str) -> Result<Answer, BackendError> {
        let mut s = self.check_create("answer")?;
        let a =
            Answer { id: s.next_id, question_id, body: body.into(), created_at_ms: s.next_id, ..Default::default() };
        let t = s.threads.iter_mut().find(|t| t.question.as_ref().is_some_and(|q| q.id == question_id));
        let t = t.ok_or_else(|| BackendError::NotFound(format!("question {question_id}")))?;
        t.answers.push(AnswerWithComments { answer: Some(a.clone()), comments: vec![] });
        Ok(a)
    }

    fn get_answer(&self, _: &Call, answer_id: i64) -> Result<Answer, BackendError> {
        if self.answer_get_down {
            return Err(BackendError::Unavailable { service: "answer", detail: "timeout".into() });
        }
        let mut s = self.check("answer")?;
        let found = answers_mut(&mut s).find_map(|a| a.answer.clone().filter(|a| a.id == answer_id));
        found.ok_or_else(|| BackendError::NotFound(format!("answer {answer_id}")))
    }

    fn create_comment(&self, _: &Call, answer_id: i64, body: &str) -> Result<Comment, BackendError> {
        let mut s = self.check_create("comment")?;
        let c = Comment { id: s.next_id, answer_id, body: body.into(), created_at_ms: s.next_id, ..Default::default() };
        let a = answers_mut(&mut s).find(|a| a.answer.as_ref().is_some_and(|a| a.id == answer_id));
        a.ok_or_else(|| BackendError::NotFound(format!("answer {answer_id}")))?.comments.push(c.clone());
        Ok(c)
    }
}

fn call() -> Call {
    Call { request_id: "test-request".into(), deadline: None }
}

fn request(method: &str, target: &str, form: Option<&str>) -> HttpRequest {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    HttpRequest {
        method: method.into(),
        path: path.into(),
        query: query.into(),
        headers: form
            .map(|_| vec![Header { name: "Content-Type".into(), value: b"application/x-www-form-urlencoded".to_vec() }])
            .unwrap_or_default(),
        body: form.unwrap_or("").as_bytes().to_vec(),
        ..Default::default()
    }
}

fn send(b: &dyn Backend, method: &str, target: &str, form: Option<&str>) -> HttpResponse {
    handle(b, &call(), &request(method, target, form))
}

fn header(r: &HttpResponse, name: &str) -> Option<String> {
    r.headers.iter().find(|h| h.name.eq_ignore_ascii_case(name)).map(|h| String::from_utf8_lossy(&h.value).into())
}

fn body(r: &HttpResponse) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

fn assert_html(r: &HttpResponse, status: u32) {
    assert_eq!(r.status, status, "{}", body(r));
    assert_eq!(header(r, "content-type").as_deref(), Some("text/html; charset=utf-8"));
    assert!(body(r).starts_with("<!DOCTYPE html>"));
}

#[test]
fn paths_match_exactly_and_ids_are_positive_integers() {
    assert_eq!(route("/"), Some(Route::Home));
    assert_eq!(route("/ask"), Some(Route::Ask));
    assert_eq!(route("/questions/42"), Some(Route::Question(42)));
    assert_eq!(route("/questions/42/answers"), Some(Route::Answers(42)));
    assert_eq!(route("/answers/9/comments"), Some(Route::Comments(9)));
    for bad in [
        "",
        "ask",
        "/ask/",
        "/ASK",
        "/questions",
        "/questions/",
        "/questions/abc",
        "/questions/-1",
        "/questions/+1",
        "/questions/0",
        "/questions/1.5",
        "/questions/99999999999999999999",
        "/questions/1/",
        "/questions/1/answers/2",
        "/answers/1",
        "/answers/x/comments",
        "//",
    ] {
        assert_eq!(route(bad), None, "{bad:?}");
    }
}

#[test]
fn unknown_paths_and_ids_are_404_pages() {
    let fake = Fake::with_questions(1);
    for target in ["/nope", "/questions/abc", "/questions/2", "/questions/0"] {
        assert_html(&send(&fake, "GET", target, None), 404);
    }
    assert_html(&send(&fake, "POST", "/questions/x/answers", Some("body=hi")), 404);
}

#[test]
fn wrong_methods_are_405_with_allow() {
    let fake = Fake::with_questions(1);
    for (method, target, allow) in [
        ("POST", "/", "GET, HEAD"),
        ("DELETE", "/ask", "GET, HEAD, POST"),
        ("PUT", "/questions/1", "GET, HEAD"),
        ("GET", "/questions/1/answers", "POST"),
        ("HEAD", "/answers/1/comments", "POST"),
        ("get", "/", "GET, HEAD"),
    ] {
        let r = send(&fake, method, target, None);
        assert_eq!(r.status, 405, "{method} {target}");
        assert_eq!(header(&r, "allow").as_deref(), Some(allow));
    }
    assert_eq!(fake.state.lock().unwrap().creates, 0);
}

#[test]
fn head_is_get_without_a_body() {
    let fake = Fake::with_questions(3);
    let get = send(&fake, "GET", "/", None);
    let head = send(&fake, "HEAD", "/", None);
    assert_html(&get, 200);
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert_eq!(header(&head, "content-length"), Some(get.body.len().to_string()));
    assert_eq!(head.headers[..get.headers.len()], get.headers[..]);
    assert_eq!(send(&fake, "HEAD", "/questions/1", None).status, 200);
    assert_eq!(send(&fake, "HEAD", "/questions/9", None).status, 404);
}

#[test]
fn home_lists_newest_first_twenty_a_page() {
    let fake = Fake::with_questions(25);
    let first = send(&fake, "GET", "/", None);
    assert_html(&first, 200);
    let b = body(&first);
    assert_eq!(b.matches("<li><a href=\"/questions/").count(), 20);
    assert!(b.find("/questions/25\"").unwrap() < b.find("/questions/6\"").unwrap());
    assert!(!b.contains("/questions/5\""));
    assert!(b.contains("href=\"/?page=2\""));
    let second = body(&send(&fake, "GET", "/?page=2", None));
    assert_eq!(second.matches("<li><a href=\"/questions/").count(), 5);
    assert!(second.contains("Newer") && !second.contains("Older"));
    assert_eq!(fake.state.lock().unwrap().pages_asked, vec![1, 2]);
    for bad in ["/?page=0", "/?page=abc", "/?page=-1", "/?page=99999999999"] {
        assert_html(&send(&fake, "GET", bad, None), 400);
    }
}

#[test]
fn an_unavailable_service_gives_a_503_page() {
    let fake = Fake { down: true, ..Fake::default() };
    for (method, target, form) in [
        ("GET", "/", None),
        ("GET", "/questions/1", None),
        ("POST", "/ask", Some("title=t&body=b")),
        ("POST", "/questions/1/answers", Some("body=b")),
        ("POST", "/answers/1/comments", Some("body=b")),
    ] {
        let r = send(&fake, method, target, form);
        assert_html(&r, 503);
        assert!(body(&r).contains("not available right now"), "{method} {target}");
    }
    // The form page itself needs no service.
    assert_html(&send(&fake, "GET", "/ask", None), 200);
}

#[test]
fn asking_redirects_to_the_new_question() {
    let fake = Fake::with_questions(2);
    let r = send(&fake, "POST", "/ask", Some("title=How+do+I+%3Cx%3E%3F&body=Line+1%0D%0ALine+2"));
    assert_eq!(r.status, 303);
    assert_eq!(header(&r, "location").as_deref(), Some("/questions/3"));
    let page = body(&send(&fake, "GET", "/questions/3", None));
    assert!(page.contains("<h1>How do I &lt;x&gt;?</h1>"));
    assert!(page.contains("Line 1\nLine 2"));
}

#[test]
fn a_rejected_question_comes_back_with_the_input_and_400() {
    let fake = Fake::default();
    let r = send(&fake, "POST", "/ask", Some("title=++&body=keep+%3Cme%3E"));
    assert_html(&r, 400);
    let b = body(&r);
    assert!(b.contains("title must be 1 to 200 characters"));
    assert!(b.contains("value=\"  \""));
    assert!(b.contains(">\nkeep &lt;me&gt;</textarea>"));
    let too_long = format!("title=t&body={}", "x".repeat(30_001));
    assert_html(&send(&fake, "POST", "/ask", Some(&too_long)), 400);
    // A missing field is reported by name.
    assert!(body(&send(&fake, "POST", "/ask", Some("title=t"))).contains("body must be 1 to 30000 characters"));
    assert_eq!(fake.state.lock().unwrap().creates, 0, "invalid forms never reach the service");

    // The service's own verdict is shown the same way.
    let strict = Fake { reject: Some("title must not repeat an existing title".into()), ..Fake::default() };
    let r = send(&strict, "POST", "/ask", Some("title=dup&body=b"));
    assert_html(&r, 400);
    assert!(body(&r).contains("title must not repeat an existing title"));
    assert!(body(&r).contains("value=\"dup\" aria-invalid=\"true\""));
}

#[test]
fn posts_that_are_not_forms_are_415() {
    let fake = Fake::default();
    let mut req = request("POST", "/ask", Some("{}"));
    req.headers[0].value = b"application/json".to_vec();
    assert_html(&handle(&fake, &call(), &req), 415);
}

#[test]
fn answering_redirects_to_the_answer() {
    let fake = Fake::with_questions(1);
    let r = send(&fake, "POST", "/questions/1/answers", Some("body=Try+this"));
    assert_eq!(r.status, 303);
    assert_eq!(header(&r, "location").as_deref(), Some("/questions/1#answer-2"));
    assert!(body(&send(&fake, "GET", "/questions/1", None)).contains("id=\"answer-2\""));

    let rejected = send(&fake, "POST", "/questions/1/answers", Some("body=%0D%0A+"));
    assert_html(&rejected, 400);
    assert!(body(&rejected).contains("id=\"answer-error\">body must be 1 to 30000 characters"));

    assert_html(&send(&fake, "POST", "/questions/7/answers", Some("body=lost")), 404);
    assert_html(&send(&fake, "POST", "/questions/7/answers", Some("body=")), 404);
}

#[test]
fn commenting_redirects_to_the_answer_on_its_question() {
    let fake = Fake::with_questions(2);
    send(&fake, "POST", "/questions/2/answers", Some("body=answer"));
    let r = send(&fake, "POST", "/answers/3/comments", Some("body=nice+%26+short"));
    assert_eq!(r.status, 303);
    assert_eq!(header(&r, "location").as_deref(), Some("/questions/2#answer-3"));
    assert!(body(&send(&fake, "GET", "/questions/2", None)).contains("nice &amp; short"));

    let long = format!("body={}", "c".repeat(601));
    let rejected = send(&fake, "POST", "/answers/3/comments", Some(&long));
    assert_html(&rejected, 400);
    let b = body(&rejected);
    assert!(b.contains("id=\"comment-error-3\">body must be 1 to 600 characters"));
    assert!(b.contains(&"c".repeat(601)), "the user's text is kept");

    assert_html(&send(&fake, "POST", "/answers/99/comments", Some("body=hi")), 404);
    assert_html(&send(&fake, "POST", "/answers/99/comments", Some("body=")), 404);
}

#[test]
fn a_saved_comment_whose_question_cannot_be_found_says_it_was_saved() {
    let fake = Fake::with_questions(1);
    send(&fake, "POST", "/questions/1/answers", Some("body=answer"));
    let fake = Fake {
        answer_get_down: true,
        state: Mutex::new(std::mem::take(&mut *fake.state.lock().unwrap())),
        ..Fake::default()
    };
    let r = send(&fake, "POST", "/answers/2/comments", Some("body=hi"));
    assert_html(&r, 503);
    assert!(body(&r).contains("Your comment was saved"));
    let s = fake.state.lock().unwrap();
    assert_eq!(s.threads[0].answers[0].comments.len(), 1, "the comment is stored");
}
