//! Issue 10: throttles that hold across instances. Two user-service
//! instances behind two balancers; the counters live in PostgreSQL, so
//! whichever balancer and instance an attempt reaches, it is counted.
//!
//! - Failed logins per username: five wrong passwords (alternating
//!   balancers) are 401; the next attempt, even with the right password, is
//!   429 with `Retry-After`; once that wait is over the right password logs
//!   in and resets the count (five more failures are 401 again). An unknown
//!   username is throttled exactly like a known one.
//! - Failed logins per client address: twenty failures over different
//!   usernames, then a fresh username is refused too.
//! - Sign-ups per address (limit lowered to 3 for this cluster) and comments
//!   per user: the one past the limit is 429 with `Retry-After`.
//! - Every limit, with the value in force, is in `/metrics`.

use std::time::{Duration, Instant};
use testkit::{Cluster, HttpClient, Reply, Shape};

fn login(http: &HttpClient, user: &str, password: &str) -> Reply {
    http.post_form("/webserv/user/login", &[("username", user), ("password", password)])
}

fn retry_after(r: &Reply) -> u64 {
    r.header("retry-after").and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("no Retry-After: {:?}", r.headers))
}

/// Logs in once the throttle allows it (polling, bounded by the announced wait).
fn login_when_allowed(http: &HttpClient, user: &str, password: &str, wait: u64) -> Reply {
    let end = Instant::now() + Duration::from_secs(wait + 5);
    loop {
        let r = login(http, user, password);
        if r.status != 429 || Instant::now() >= end {
            return r;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn login_signup_and_comment_limits_hold_across_instances() {
    let shape = Shape { questions: 1, answers: 1, comments: 2, webuis: 1, users: 2, votes: 1 };
    let mut c = Cluster::start_with("throttles", shape, &[("STACKWIRE_LIMIT_SIGNUPS_PER_ADDRESS", "3")]);
    let second = c.start_extra_balancer();
    let balancers = [c.http(), HttpClient::new(second)];
    assert_eq!(c.procs_named("user").len(), 2);

    // Sign-ups per address: 3 pass (on either balancer), the 4th is refused.
    let token = c.signup_and_login("victim");
    let r = balancers[1].post_form("/webserv/user", &[("username", "second"), ("password", "password-second")]);
    assert_eq!(r.status, 201, "{}", r.text());
    let r = balancers[0].post_form("/webserv/user", &[("username", "third"), ("password", "password-third")]);
    assert_eq!(r.status, 201, "{}", r.text());
    let r = balancers[1].post_form("/webserv/user", &[("username", "fourth"), ("password", "password-fourth")]);
    assert_eq!(r.status, 429, "{}", r.text());
    assert!(retry_after(&r) >= 1);
    assert!(r.json()["error"].as_str().unwrap_or("").contains("at most 3 accounts"), "{}", r.text());

    // Failed logins per username, across both balancers and both instances.
    for i in 0..5 {
        let r = login(&balancers[i % 2], "victim", "wrong password");
        assert_eq!(r.status, 401, "attempt {i}: {}", r.text());
    }
    let r = login(&balancers[1], "victim", "password-victim");
    assert_eq!(r.status, 429, "the right password is refused too while throttled: {}", r.text());
    let wait = retry_after(&r);
    assert!((1..=900).contains(&wait), "{wait}");
    let r = login_when_allowed(&balancers[0], "victim", "password-victim", wait);
    assert_eq!(r.status, 200, "after the wait the right password works: {}", r.text());
    for i in 0..5 {
        assert_eq!(login(&balancers[i % 2], "victim", "wrong again").status, 401, "a success reset the count");
    }
    // An unknown username is counted the same way (nothing tells it apart).
    for i in 0..5 {
        assert_eq!(login(&balancers[i % 2], "nobody-here", "whatever1").status, 401);
    }
    assert_eq!(login(&balancers[0], "nobody-here", "whatever1").status, 429);

    // Failed logins per address: 20 in the window over fresh usernames.
    let r = login_when_allowed(&balancers[0], "second", "password-second", 2);
    assert_eq!(r.status, 200, "a success resets this address's count: {}", r.text());
    let mut refused = None;
    for i in 0..25 {
        let r = login(&balancers[i % 2], &format!("guess{i}"), "wrong password");
        if r.status == 429 {
            refused = Some(i);
            break;
        }
        assert_eq!(r.status, 401, "{}", r.text());
    }
    assert_eq!(refused, Some(20), "the 21st failure from one address is refused");

    // Comments per user: 10 a minute.
    let http = c.http_as(&token);
    let q = http.post_form("/webserv/question", &[("title", "Limits"), ("body", "Count me"), ("tags", "x")]);
    assert_eq!(q.status, 201, "{}", q.text());
    let a = http.post_form("/webserv/answer", &[("question_id", &q.json()["id"].to_string()), ("body", "An answer")]);
    assert_eq!(a.status, 201, "{}", a.text());
    let aid = a.json()["id"].to_string();
    for i in 0..10 {
        let r = http.post_form("/webserv/comment", &[("answer_id", &aid), ("body", &format!("comment {i}"))]);
        assert_eq!(r.status, 201, "{}", r.text());
    }
    let r = http.post_form("/webserv/comment", &[("answer_id", &aid), ("body", "one too many")]);
    assert_eq!(r.status, 429, "{}", r.text());
    assert!(retry_after(&r) >= 1);

    // Every limit in /metrics, with the value in force.
    let m = c.balancer().admin().get("/metrics").text();
    for name in [
        "questions_per_user",
        "answers_per_user",
        "comments_per_user",
        "login_failures_per_username",
        "login_failures_per_address",
    ] {
        assert!(m.contains(&format!("stackwire_limit{{name=\"{name}\"")), "{name} missing from /metrics:\n{m}");
    }
    assert!(
        m.contains("stackwire_limit{name=\"signups_per_address\",per=\"address\",window_seconds=\"3600\"} 3"),
        "{m}"
    );
}
