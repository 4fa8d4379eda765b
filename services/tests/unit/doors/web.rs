//! Unit tests of `services::web`, compiled into the library's own test
//! binary through `#[path]` (they use its private items), kept out of `src/`.

use super::*;
use proto::pb::Header;

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

fn header_of(r: &HttpResponse, name: &str) -> Option<String> {
    r.headers.iter().find(|h| h.name == name).map(|h| String::from_utf8_lossy(&h.value).into_owned())
}

#[test]
fn status_responses_say_how_to_recover() {
    let r = status_response(&Status::new(Code::Unauthenticated, "log in to post"));
    assert_eq!((r.status, header_of(&r, "WWW-Authenticate").is_some()), (401, true));
    let r = status_response(&crate::ratelimit::QUESTIONS.refusal(42));
    assert_eq!((r.status, header_of(&r, "Retry-After").as_deref()), (429, Some("42")));
    assert!(String::from_utf8_lossy(&r.body).contains("try again in 42 seconds"));
}

#[test]
fn idempotency_keys_come_from_the_header() {
    let mut r = req("POST", "/", None, "");
    assert_eq!(idempotency_key(&r), Ok(String::new()));
    r.headers.push(Header { name: "Idempotency-Key".into(), value: b"abc-123".to_vec() });
    assert_eq!(idempotency_key(&r), Ok("abc-123".into()));
    r.headers[0].value = b"two words".to_vec();
    assert_eq!(idempotency_key(&r), Err(FieldError::IdempotencyKey));
    r.headers[0].value = Vec::new();
    assert_eq!(idempotency_key(&r), Err(FieldError::IdempotencyKey));
}

#[test]
fn tags_may_be_text_or_a_json_array() {
    let b = Body::Form(vec![("tags".into(), "rust, async".into())]);
    assert_eq!(b.tags("tags"), Ok(Some("rust, async".into())));
    assert_eq!(b.tags("none"), Ok(None));
    let b = Body::Json(serde_json::from_str(r#"{"tags": ["rust", "c++"], "bad": [1]}"#).unwrap());
    assert_eq!(b.tags("tags"), Ok(Some("rust c++".into())));
    assert_eq!(b.tags("bad"), Err(FieldError::NotText("bad")));
    assert_eq!(b.optional_text("title"), Ok(None));
}
