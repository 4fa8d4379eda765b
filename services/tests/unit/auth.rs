//! Unit tests of `services::auth`, compiled into the library's own test
//! binary through `#[path]` (they use its private items), kept out of `src/`.

use super::*;
use proto::pb::Header;

fn req(method: &str, headers: &[(&str, &str)]) -> HttpRequest {
    HttpRequest {
        method: method.into(),
        headers: headers.iter().map(|(k, v)| Header { name: (*k).into(), value: v.as_bytes().to_vec() }).collect(),
        ..Default::default()
    }
}

#[test]
fn bearer_tokens_and_cookies_are_read() {
    assert_eq!(bearer(&req("POST", &[("Authorization", "Bearer abc")])), Some("abc".into()));
    assert_eq!(bearer(&req("POST", &[("authorization", "bearer  abc ")])), Some("abc".into()));
    assert_eq!(bearer(&req("POST", &[("Authorization", "Basic abc")])), None);
    assert_eq!(bearer(&req("POST", &[("Authorization", "Bearer ")])), None);
    let r = req("GET", &[("Cookie", "a=1; sw_session=tok; sw_csrf=x")]);
    assert_eq!(cookie(&r, "sw_session"), Some("tok".into()));
    assert_eq!(cookie(&r, "nope"), None);
    assert_eq!(credential(&r), Some("tok".into()));
}

#[test]
fn a_cookie_never_authorises_a_write() {
    let r = req("POST", &[("Cookie", "sw_session=tok")]);
    assert_eq!(credential(&r), None);
    let r = req("POST", &[("Cookie", "sw_session=tok"), ("Authorization", "Bearer b")]);
    assert_eq!(credential(&r), Some("b".into()));
}

#[test]
fn typed_requests_need_a_user() {
    assert_eq!(check_user_id(3, "x"), Ok(3));
    let e = check_user_id(0, "log in to post").unwrap_err();
    assert_eq!((e.code, e.message.as_str()), (Code::Unauthenticated, "log in to post"));
}
