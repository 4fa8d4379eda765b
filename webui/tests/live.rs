//! The real `webui` binary against a real Redis and no services at all: it
//! starts, registers, serves `WEB_HANDLE`, answers 503 (quickly, without
//! crashing) when no question service is registered, and on SIGTERM
//! deregisters and exits 0.
//!
//! Needs `STACKWIRE_TEST_REDIS_URL` (scripts/test.sh sets it); without it the
//! test fails rather than pass unchecked.

mod common;

use common::{registered, set_cookie, text, web, web_with, Webui};
use proto::methods;
use proto::pb::{health_check_response::ServingStatus, HealthCheckRequest, HealthCheckResponse};
use std::time::{Duration, Instant};

#[test]
fn serves_pages_degrades_to_503_and_stops_cleanly() {
    let Some(cfg) = common::registry("live") else { return };
    let mut webui = Webui::start(&cfg);
    assert_eq!(registered(&cfg), 1, "registered before logging `listening on`");

    let conn = webui.connect();
    let health: HealthCheckResponse =
        conn.unary(methods::HEALTH_CHECK, "h", Duration::from_secs(5), &HealthCheckRequest::default()).expect("health");
    assert_eq!(health.status, ServingStatus::Serving as i32);

    // The login form needs no service, and hands out the CSRF cookie.
    let login = web(&conn, "live-1", "GET", "/login", None);
    assert_eq!(login.status, 200);
    assert!(text(&login).contains("action=\"/login\""));
    let presession = set_cookie(&login, "sw_csrf").expect("a CSRF cookie with the first page");
    let cookies = format!("sw_csrf={presession}");
    // The form's token is bound to that pre-session id (never its value).
    let csrf = common::csrf_key().token(webui::csrf::Binding::Visitor(&presession));
    assert!(text(&login).contains(&csrf), "the login form carries the bound token");

    // No question service is registered under this prefix: a 503 page, promptly.
    let t = Instant::now();
    let home = web(&conn, "live-2", "GET", "/", None);
    assert_eq!(home.status, 503, "{}", text(&home));
    assert!(text(&home).contains("question service is not available"));
    assert!(t.elapsed() < Duration::from_secs(5), "took {:?}", t.elapsed());

    // Local validation needs no service; a valid post needs one and says so.
    let bad = web_with(
        &conn,
        "live-3",
        "POST",
        "/signup",
        Some(&format!("csrf={csrf}&username=%3Cs%3E&password=x")),
        &cookies,
    );
    assert_eq!(bad.status, 400, "{}", text(&bad));
    assert!(text(&bad).contains("value=\"&lt;s&gt;\""));
    assert!(!text(&bad).contains("<s>"));
    let form = format!("csrf={csrf}&username=someone&password=long+enough");
    assert_eq!(web_with(&conn, "live-4", "POST", "/login", Some(&form), &cookies).status, 503);
    // Without the CSRF token the same post is refused before any service is asked.
    assert_eq!(web(&conn, "live-4b", "POST", "/login", Some("username=someone&password=long+enough")).status, 403);
    assert_eq!(web(&conn, "live-5", "GET", "/nowhere", None).status, 404);
    assert_eq!(web(&conn, "live-6", "DELETE", "/", None).status, 405);

    // A call that is not ours is refused, and the process carries on.
    let other = conn.call(methods::QUESTION_GET, "x", Duration::from_secs(5), Vec::new());
    assert_eq!(other.expect("reply").status, proto::Code::Unimplemented as u32);
    assert_eq!(web(&conn, "live-7", "GET", "/login", None).status, 200);

    let status = webui.terminate();
    assert!(status.success(), "exit status {status}");
    assert_eq!(registered(&cfg), 0, "deregistered on SIGTERM");
}
