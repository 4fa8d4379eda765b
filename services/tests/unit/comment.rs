//! Unit tests of `services::comment`, compiled into the library's own test
//! binary through `#[path]` (they use its private items), kept out of `src/`.

use super::*;

fn req(method: &str, path: &str) -> HttpRequest {
    HttpRequest { method: method.into(), path: path.into(), ..Default::default() }
}

#[test]
fn only_post_on_the_prefix_is_served() {
    assert_eq!(route(&req("POST", "/webserv/comment")), Ok(()));
    let r = route(&req("PUT", "/webserv/comment")).unwrap_err();
    assert_eq!(r.status, 405);
    assert!(r.headers.iter().any(|h| h.name == "Allow" && h.value == b"POST"));
    assert_eq!(route(&req("GET", "/webserv/comment/5")).unwrap_err().status, 404);
}

#[test]
fn id_lists_are_capped_and_cleaned() {
    assert_eq!(check_ids(vec![3, 1, 3, 0, -5, 2]), Ok(vec![1, 2, 3]));
    assert_eq!(check_ids((1..=MAX_IDS as i64).collect()).map(|v| v.len()), Ok(MAX_IDS));
    let e = check_ids((0..=MAX_IDS as i64).collect()).unwrap_err();
    assert_eq!(e.code, proto::Code::InvalidArgument);
    assert!(e.message.starts_with("ids must hold at most 1000"), "{}", e.message);
}

#[test]
fn create_request_reads_json_ids() {
    let body = Body::Json(serde_json::from_str(r#"{"answer_id": 4, "body": "nice"}"#).unwrap());
    let c = create_request(&body, "j").unwrap();
    assert_eq!((c.answer_id, c.body.as_str()), (4, "nice"));
    let body = Body::Json(serde_json::from_str(r#"{"body": "nice"}"#).unwrap());
    assert_eq!(create_request(&body, "j").unwrap_err().to_string(), "answer_id is required");
}
