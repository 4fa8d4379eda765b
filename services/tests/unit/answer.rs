//! Unit tests of `services::answer`, compiled into the library's own test
//! binary through `#[path]` (they use its private items), kept out of `src/`.

use super::*;

fn req(method: &str, path: &str) -> HttpRequest {
    HttpRequest { method: method.into(), path: path.into(), ..Default::default() }
}

#[test]
fn routes_and_methods() {
    assert_eq!(route(&req("POST", "/webserv/answer")), Ok(WebRoute::Create));
    assert_eq!(route(&req("POST", "/webserv/answer/4/accept")), Ok(WebRoute::Accept(4)));
    assert_eq!(route(&req("POST", "/webserv/answer/4/edit")), Ok(WebRoute::Edit(4)));
    assert_eq!(route(&req("GET", "/webserv/answer/4/revisions")), Ok(WebRoute::Revisions(4)));
    let r = route(&req("GET", "/webserv/answer")).unwrap_err();
    assert_eq!(r.status, 405);
    assert!(r.headers.iter().any(|h| h.name == "Allow" && h.value == b"POST"));
    assert_eq!(route(&req("GET", "/webserv/answer/4/accept")).unwrap_err().status, 405);
    for path in ["/webserv/answer/1", "/webserv/answers", "/webserv/answer/x/accept", "/webserv/answer/1/delete"] {
        assert_eq!(route(&req("POST", path)).unwrap_err().status, 404, "{path}");
    }
}

#[test]
fn create_request_reads_and_names_fields() {
    let body = Body::Form(vec![("question_id".into(), "9".into()), ("body".into(), "x".into())]);
    let c = create_request(&body, "jid").unwrap();
    assert_eq!((c.question_id, c.body.as_str(), c.request_id.as_str()), (9, "x", "jid"));
    let body = Body::Form(vec![("body".into(), "x".into())]);
    assert_eq!(create_request(&body, "").unwrap_err().to_string(), "question_id is required");
    let body = Body::Form(vec![("question_id".into(), "nine".into()), ("body".into(), "x".into())]);
    assert_eq!(create_request(&body, "").unwrap_err().to_string(), "question_id must be a positive integer");
    let body = Body::Form(vec![("question_id".into(), "9".into())]);
    assert_eq!(create_request(&body, "").unwrap_err().to_string(), "body is required");
}
