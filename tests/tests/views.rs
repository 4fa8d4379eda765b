//! Issue 15: page views are counted on every page view, cached or not,
//! once per viewer, without a write per view, and the counts show.
//!
//! Twelve viewers (distinct client addresses, as the balancer reports them)
//! view one question page straight through a webui with its page cache on;
//! all but the first are cache hits. The webui flushes every 200 ms here
//! (`SW_VIEWS_FLUSH_MS`); the question's `view_count` must reach exactly 12,
//! and the same viewers viewing again must not add to it. The webui's
//! `/metrics` shows the counts, and PostgreSQL saw a handful of `AddViews`
//! batches, not a write per view.

use proto::pb::{Header, HttpRequest, HttpResponse};
use proto::Connection;
use std::net::SocketAddr;
use std::time::Duration;
use testkit::{wait_for, Cluster, Shape};

/// `GET path` straight to a webui instance, from `client`, as a balancer would send it.
fn view(addr: SocketAddr, path: &str, client: &str) -> HttpResponse {
    let c = Connection::connect(addr, Duration::from_secs(5), proto::frame::DEFAULT_MAX_MESSAGE).expect("connect");
    let jid = proto::ids::new_request_id();
    let req = HttpRequest {
        method: "GET".into(),
        path: path.into(),
        headers: vec![Header { name: "Cookie".into(), value: format!("sw_csrf={}", "v".repeat(32)).into_bytes() }],
        client_addr: client.into(),
        request_id: jid.clone(),
        ..Default::default()
    };
    c.unary(proto::methods::WEB_HANDLE, &jid, Duration::from_secs(10), &req).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn metric(text: &str, line: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(line).map(|v| v.trim().parse().unwrap_or(0)))
        .unwrap_or_else(|| panic!("no {line} in:\n{text}"))
}

#[test]
fn views_are_counted_once_per_viewer_even_from_the_page_cache() {
    let shape = Shape { questions: 1, answers: 0, comments: 0, webuis: 1, users: 1, votes: 0 };
    let c = Cluster::start_with("views", shape, &[("SW_VIEWS_FLUSH_MS", "200")]);
    let ann = c.signup_and_login("ann");
    let r = c
        .http()
        .with_token(&ann)
        .post_form("/webserv/question", &[("title", "Counted?"), ("body", "Once each."), ("tags", "views")]);
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["id"].as_i64().expect("id");
    let webui = c.procs_named("webui")[0];
    let path = format!("/questions/{id}");
    let hits = |text: &str| metric(text, "stackwire_cache_hits_total{cache=\"pages\"}");
    let before = hits(&webui.admin().get("/metrics").text());
    for i in 1..=12 {
        let resp = view(webui.addr, &path, &format!("10.0.0.{i}:4000"));
        assert_eq!(resp.status, 200);
    }
    let metrics = webui.admin().get("/metrics").text();
    // A flush (every 200 ms) tells the caches the count changed, so a view
    // right after one renders again; the others are hits.
    assert!(hits(&metrics) >= before + 8, "most views were cache hits:\n{metrics}");
    assert_eq!(metric(&metrics, "stackwire_views_counted_total"), 12, "{metrics}");
    let count = || c.http().get(&format!("/webserv/question/{id}")).json()["view_count"].as_i64();
    wait_for("12 views stored", Duration::from_secs(10), || (count() == Some(12)).then_some(()));
    // The same viewers again (another port: another connection, the same viewer): no more views.
    for i in 1..=12 {
        view(webui.addr, &path, &format!("10.0.0.{i}:5000"));
    }
    let metrics = webui.admin().get("/metrics").text();
    assert_eq!(metric(&metrics, "stackwire_views_repeats_total"), 12, "{metrics}");
    std::thread::sleep(Duration::from_millis(600)); // three flush periods: nothing more may arrive
    assert_eq!(count(), Some(12));
    // The page shows the stored count (the flush told the caches).
    let page = String::from_utf8(view(webui.addr, &path, "10.0.0.1:6000").body.to_vec()).expect("utf-8");
    assert!(page.contains("Viewed 12 times"), "{page}");
    // Batches, not a write per view: the question service logged a few AddViews calls.
    let q = c.procs_named("question")[0];
    let batches = q.log_text().matches("start /stackwire.QuestionService/AddViews").count();
    assert!((1..=6).contains(&batches), "{batches} AddViews calls for 24 views");
}
