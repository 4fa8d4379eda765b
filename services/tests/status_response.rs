//! A 503 from a service (a dependency failing over: the database, Redis)
//! tells the client when to come back, as the balancer's own 503s do; the
//! chaos runs count a 503 without `Retry-After` as an unexplained 5xx.

use proto::{Code, Status};
use services::web::status_response;

#[test]
fn an_unavailable_service_says_retry_after_one_second() {
    let r = status_response(&Status::new(Code::Unavailable, "cannot bump the cache version"));
    assert_eq!(r.status, 503);
    let retry = r.headers.iter().find(|h| h.name == "Retry-After").map(|h| h.value.clone());
    assert_eq!(retry.as_deref(), Some(&b"1"[..]));
    let r = status_response(&Status::new(Code::Internal, "boom"));
    assert!(r.headers.iter().all(|h| h.name != "Retry-After"), "a 500 is not a promise");
}
