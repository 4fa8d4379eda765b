//! Unit tests of `webui::auth`, compiled into the library's own test
//! binary through `#[path]` (they use its private items), kept out of `src/`.

use super::*;
use proto::pb::Header;

fn with_cookies(values: &[&str]) -> HttpRequest {
    HttpRequest {
        headers: values
            .iter()
            .map(|v| Header { name: "Cookie".into(), value: v.as_bytes().to_vec() })
            .chain([Header { name: "X-Other".into(), value: b"sw_session=no".to_vec() }])
            .collect(),
        ..Default::default()
    }
}

#[test]
fn parses_cookie_headers_leniently() {
    let req = with_cookies(&["a=1; sw_session=tok%2Ben ;sw_csrf=\"abc\"", "sw_session=second; junk; =x"]);
    assert_eq!(cookie(&req, "a").as_deref(), Some("1"));
    assert_eq!(cookie(&req, "sw_session").as_deref(), Some("tok%2Ben"), "the first one wins");
    assert_eq!(cookie(&req, "sw_csrf").as_deref(), Some("abc"), "quotes removed");
    assert_eq!(cookie(&req, "junk"), None);
    assert_eq!(cookie(&req, "missing"), None);
    assert_eq!(cookies(&with_cookies(&[])), vec![]);
    let lower = HttpRequest {
        headers: vec![Header { name: "cookie".into(), value: b"sw_session=t".to_vec() }],
        ..Default::default()
    };
    assert_eq!(session_token(&lower).as_deref(), Some("t"));
}

#[test]
fn odd_session_tokens_are_ignored() {
    assert_eq!(session_token(&with_cookies(&["sw_session="])), None);
    assert_eq!(session_token(&with_cookies(&["sw_session=a b"])), None);
    assert_eq!(session_token(&with_cookies(&[&format!("sw_session={}", "a".repeat(257))])), None);
    assert_eq!(session_token(&with_cookies(&["sw_session=\u{e9}"])), None);
    assert!(session_token(&with_cookies(&[&format!("sw_session={}", "a".repeat(256))])).is_some());
}

#[test]
fn session_cookies_are_http_only_and_lax() {
    let s = set_session("abc");
    assert!(s.starts_with("sw_session=abc;"));
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=2592000"] {
        assert!(s.contains(attr), "{s} lacks {attr}");
    }
    assert!(clear_session().contains("Max-Age=0"));
}

#[test]
fn next_is_a_local_path_or_nothing() {
    assert_eq!(safe_next("/questions/7?answers_page=2#answer-9"), Some("/questions/7?answers_page=2#answer-9"));
    for bad in ["", "questions", "//evil.example", "/\\evil.example", "http://evil.example", "/a\\b", "/a\nb"] {
        assert_eq!(safe_next(bad), None, "{bad:?}");
    }
    assert_eq!(login_url("/questions/7#a"), "/login?next=%2Fquestions%2F7%23a");
    assert_eq!(login_url("//evil"), "/login");
    assert_eq!(login_url("/"), "/login");
}

#[test]
fn viewer_identity() {
    let anon = Viewer::default();
    assert_eq!(anon.id(), 0);
    assert!(!anon.is(0), "posts without an author belong to nobody");
    let me = Viewer { user: Some(User { id: 5, ..Default::default() }), ..Default::default() };
    assert!(me.is(5) && !me.is(6));
}
