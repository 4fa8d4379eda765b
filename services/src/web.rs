//! HTTP, as the services see it: an `HttpRequest` that the balancer carried
//! over RPC, and an `HttpResponse` to send back. Shared by the three services.
//!
//! - [`Body`] reads the fields of a request body. The public contract takes
//!   URL-encoded forms (also when no content type is given, which is what
//!   `curl -d` and old clients send) and JSON objects; anything else is 415.
//!   Text fields must be strings; id fields may be a JSON number or a numeric
//!   string, since JavaScript clients send either.
//! - The `*_json` functions are the JSON shapes of the contract, in one place,
//!   with `created_at` as ISO-8601 UTC.
//! - [`below`], [`allow`], [`not_found`] route a path under a service's prefix:
//!   an unknown path is 404 and a known path with the wrong method is 405 with
//!   an `Allow` header, both with a JSON `{"error": …}` body.
//! - [`status_response`] turns an RPC `Status` into the matching HTTP status,
//!   so a NOT_FOUND is 404 whether it came from this service or one it called.

use crate::fields::{self, FieldError};
use proto::clock::iso8601;
use proto::pb::{Answer, Comment, HttpRequest, HttpResponse, Question, QuestionPage, Thread};
use proto::Status;
use serde_json::{json, Map, Value};

/// The fields of a request body.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    Form(Vec<(String, String)>),
    Json(Map<String, Value>),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    #[error("unsupported content type {0:?}; send application/x-www-form-urlencoded or application/json")]
    UnsupportedType(String),
    #[error("the request body must be a JSON object: {0}")]
    BadJson(String),
}

impl BodyError {
    pub fn response(&self) -> HttpResponse {
        let status = match self {
            BodyError::UnsupportedType(_) => 415,
            BodyError::BadJson(_) => 400,
        };
        HttpResponse::json_error(status, &self.to_string())
    }
}

impl Body {
    pub fn read(req: &HttpRequest) -> Result<Body, BodyError> {
        match req.content_type().as_str() {
            "" | "application/x-www-form-urlencoded" => Ok(Body::Form(proto::http::parse_urlencoded(&req.body))),
            "application/json" => match serde_json::from_slice::<Value>(&req.body) {
                Ok(Value::Object(map)) => Ok(Body::Json(map)),
                Ok(_) => Err(BodyError::BadJson("got another JSON value".into())),
                Err(e) => Err(BodyError::BadJson(e.to_string())),
            },
            other => Err(BodyError::UnsupportedType(other.to_string())),
        }
    }

    /// A text field, untrimmed (validation trims). JSON null counts as missing.
    pub fn text(&self, field: &'static str) -> Result<&str, FieldError> {
        match self {
            Body::Form(pairs) => {
                pairs.iter().find(|(k, _)| k == field).map(|(_, v)| v.as_str()).ok_or(FieldError::Missing(field))
            }
            Body::Json(map) => match map.get(field) {
                None | Some(Value::Null) => Err(FieldError::Missing(field)),
                Some(Value::String(s)) => Ok(s),
                Some(_) => Err(FieldError::NotText(field)),
            },
        }
    }

    /// An id field: a positive integer, as text or (JSON) as a number.
    pub fn id(&self, field: &'static str) -> Result<i64, FieldError> {
        match self {
            Body::Json(map) => match map.get(field) {
                Some(Value::Number(n)) => {
                    n.as_i64().ok_or(FieldError::NotPositive(field)).and_then(|n| fields::check_id(field, n))
                }
                Some(Value::String(s)) => fields::parse_id(field, s),
                None | Some(Value::Null) => Err(FieldError::Missing(field)),
                Some(_) => Err(FieldError::NotPositive(field)),
            },
            Body::Form(_) => fields::parse_id(field, self.text(field)?),
        }
    }
}

// ---- JSON shapes -------------------------------------------------------------

pub fn question_json(q: &Question) -> Value {
    json!({ "id": q.id, "title": q.title, "body": q.body, "created_at": iso8601(q.created_at_ms) })
}

pub fn answer_json(a: &Answer) -> Value {
    json!({ "id": a.id, "question_id": a.question_id, "body": a.body, "created_at": iso8601(a.created_at_ms) })
}

pub fn comment_json(c: &Comment) -> Value {
    json!({ "id": c.id, "answer_id": c.answer_id, "body": c.body, "created_at": iso8601(c.created_at_ms) })
}

/// The question with `answers`, each with its `comments`.
pub fn thread_json(t: &Thread) -> Value {
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
    v
}

pub fn page_json(p: &QuestionPage) -> Value {
    json!({
        "questions": p.questions.iter().map(question_json).collect::<Vec<_>>(),
        "page": p.page,
        "has_more": p.has_more,
    })
}

// ---- responses and routing ----------------------------------------------------

/// `{"error": message}` with the HTTP status of the RPC code.
pub fn status_response(s: &Status) -> HttpResponse {
    HttpResponse::json_error(s.code.http_status(), &s.message)
}

pub fn field_error(e: &FieldError) -> HttpResponse {
    HttpResponse::json_error(400, &e.to_string())
}

/// 201 with the new entity and where to find it.
pub fn created(location: &str, value: &Value) -> HttpResponse {
    HttpResponse::json(201, value).header("Location", location)
}

pub fn not_found(req: &HttpRequest) -> HttpResponse {
    HttpResponse::json_error(404, &format!("no route for {} {}", req.method, req.path))
}

/// `Ok` when `req.method` is one of `allowed`, else the 405 to send.
pub fn allow(req: &HttpRequest, allowed: &[&str]) -> Result<(), HttpResponse> {
    if allowed.contains(&req.method.as_str()) {
        return Ok(());
    }
    let list = allowed.join(", ");
    Err(HttpResponse::json_error(405, &format!("method {} not allowed on {}; use {list}", req.method, req.path))
        .header("Allow", &list))
}

/// The path segments below `prefix`: `Some([])` for the prefix itself,
/// `Some(["7"])` for `prefix/7`, `None` when the path is not under it
/// (`/webserv/questions` is not under `/webserv/question`).
pub fn below<'a>(path: &'a str, prefix: &str) -> Option<Vec<&'a str>> {
    let rest = path.strip_prefix(prefix)?;
    if rest.is_empty() {
        return Some(Vec::new());
    }
    Some(rest.strip_prefix('/')?.split('/').collect())
}

/// An id in a path segment: digits only, positive, within i64. Anything
/// else names no entity, so the caller answers 404 rather than 400.
pub fn path_id(segment: &str) -> Option<i64> {
    if segment.is_empty() || !segment.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    segment.parse::<i64>().ok().filter(|&n| n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::pb::{AnswerWithComments, Header};

    fn req(method: &str, path: &str, content_type: Option<&str>, body: &str) -> HttpRequest {
        HttpRequest {
            method: method.into(),
            path: path.into(),
            headers: content_type
                .map(|ct| vec![Header { name: "content-type".into(), value: ct.as_bytes().to_vec() }])
                .unwrap_or_default(),
            body: body.as_bytes().to_vec(),
            ..Default::default()
        }
    }

    #[test]
    fn forms_are_read_with_or_without_a_content_type() {
        for ct in [None, Some("application/x-www-form-urlencoded; charset=UTF-8")] {
            let b = Body::read(&req("POST", "/", ct, "title=Hi+there&body=a%26b&question_id=12")).unwrap();
            assert_eq!(b.text("title"), Ok("Hi there"));
            assert_eq!(b.text("body"), Ok("a&b"));
            assert_eq!(b.id("question_id"), Ok(12));
            assert_eq!(b.text("nope"), Err(FieldError::Missing("nope")));
        }
        let b = Body::read(&req("POST", "/", None, "answer_id=x")).unwrap();
        assert_eq!(b.id("answer_id").unwrap_err().to_string(), "answer_id must be a positive integer");
        assert_eq!(b.id("question_id").unwrap_err().to_string(), "question_id is required");
    }

    #[test]
    fn json_ids_may_be_numbers_or_numeric_strings_and_text_must_be_a_string() {
        let b = Body::read(&req(
            "POST",
            "/",
            Some("application/json"),
            r#"{"question_id": 5, "answer_id": "6", "body": "hi", "title": 3, "n": null, "bad": 1.5, "neg": -2}"#,
        ))
        .unwrap();
        assert_eq!(b.id("question_id"), Ok(5));
        assert_eq!(b.id("answer_id"), Ok(6));
        assert_eq!(b.text("body"), Ok("hi"));
        assert_eq!(b.text("title").unwrap_err().to_string(), "title must be a string");
        assert_eq!(b.text("n"), Err(FieldError::Missing("n")));
        assert_eq!(b.id("bad"), Err(FieldError::NotPositive("bad")));
        assert_eq!(b.id("neg"), Err(FieldError::NotPositive("neg")));
        assert_eq!(b.id("body"), Err(FieldError::NotPositive("body")));
    }

    #[test]
    fn bad_bodies_are_400_and_other_types_415() {
        let e = Body::read(&req("POST", "/", Some("application/json"), "[1]")).unwrap_err();
        assert_eq!(e.response().status, 400);
        let e = Body::read(&req("POST", "/", Some("application/json"), "{")).unwrap_err();
        assert_eq!(e.response().status, 400);
        let e = Body::read(&req("POST", "/", Some("text/plain"), "title=x")).unwrap_err();
        assert_eq!(e, BodyError::UnsupportedType("text/plain".into()));
        assert_eq!(e.response().status, 415);
    }

    #[test]
    fn json_shapes_match_the_contract() {
        let q = Question {
            id: 1,
            title: "T".into(),
            body: "B".into(),
            created_at_ms: 1_542_848_230_560,
            ..Default::default()
        };
        assert_eq!(
            question_json(&q),
            json!({"id": 1, "title": "T", "body": "B", "created_at": "2018-11-22T00:57:10.560Z"})
        );
        let a = Answer { id: 2, question_id: 1, body: "A".into(), created_at_ms: 0, ..Default::default() };
        let c = Comment { id: 3, answer_id: 2, body: "C".into(), created_at_ms: 0, ..Default::default() };
        let t = Thread {
            question: Some(q.clone()),
            answers: vec![AnswerWithComments { answer: Some(a), comments: vec![c] }],
            ..Default::default()
        };
        assert_eq!(
            thread_json(&t),
            json!({"id": 1, "title": "T", "body": "B", "created_at": "2018-11-22T00:57:10.560Z", "answers": [
                {"id": 2, "question_id": 1, "body": "A", "created_at": "1970-01-01T00:00:00.000Z", "comments": [
                    {"id": 3, "answer_id": 2, "body": "C", "created_at": "1970-01-01T00:00:00.000Z"}]}]})
        );
        let p = QuestionPage { questions: vec![q], page: 2, has_more: true };
        let v = page_json(&p);
        assert_eq!(v["page"], 2);
        assert_eq!(v["has_more"], true);
        assert_eq!(v["questions"][0]["title"], "T");
    }

    #[test]
    fn routing_helpers() {
        assert_eq!(below("/webserv/question", "/webserv/question"), Some(vec![]));
        assert_eq!(below("/webserv/question/7", "/webserv/question"), Some(vec!["7"]));
        assert_eq!(below("/webserv/question/", "/webserv/question"), Some(vec![""]));
        assert_eq!(below("/webserv/questions", "/webserv/question"), None);
        assert_eq!(below("/other", "/webserv/question"), None);
        assert_eq!(path_id("42"), Some(42));
        for bad in ["", "0", "-1", " 1", "1a", "99999999999999999999"] {
            assert_eq!(path_id(bad), None, "{bad:?}");
        }

        let r = req("DELETE", "/webserv/question", None, "");
        let resp = allow(&r, &["GET", "POST"]).unwrap_err();
        assert_eq!(resp.status, 405);
        let allow_header = resp.headers.iter().find(|h| h.name == "Allow").map(|h| h.value.clone());
        assert_eq!(allow_header, Some(b"GET, POST".to_vec()));
        assert!(allow(&req("GET", "/", None, ""), &["GET"]).is_ok());
        assert_eq!(not_found(&r).status, 404);

        let s = status_response(&Status::not_found("question 9 does not exist"));
        assert_eq!(s.status, 404);
        assert_eq!(s.body, br#"{"error":"question 9 does not exist"}"#.to_vec());
    }
}
