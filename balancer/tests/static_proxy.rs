//! Static mode as a reverse proxy: spreading, keep-alive, pipelining, bodies,
//! 100-continue, HEAD, headers, request ids, timeouts, the access log.
//! Needs no Redis: the upstreams are two tiny HTTP servers in this process.

mod common;

use common::{get, request, wait_for, Backend, Balancer, Echo, Reader};
use std::time::Duration;

fn two() -> (Backend, Backend, Balancer) {
    let (a, b) = (Backend::start("a"), Backend::start("b"));
    let bal = Balancer::start(&["--upstream", &a.url(), "--upstream", &b.url()]);
    (a, b, bal)
}

#[test]
fn round_robin_proxies_and_alternates_over_both_upstreams() {
    let (a, b) = (Backend::start("a"), Backend::start("b"));
    let bal = Balancer::start(&["--upstream", &a.url(), "--upstream", &b.url(), "--balance", "round-robin"]);
    let mut seen = Vec::new();
    for i in 0..10 {
        let r = get(&bal, &format!("/x/{i}?q=1"));
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.echo("path").as_deref(), Some(format!("/x/{i}?q=1").as_str()));
        assert_eq!(r.header("x-backend"), r.echo("backend").as_deref());
        seen.push(r.echo("backend").unwrap());
    }
    assert_eq!((a.hits(), b.hits()), (5, 5), "sequential requests alternate: {seen:?}");
    assert!(seen.windows(2).all(|w| w[0] != w[1]), "{seen:?}");
}

#[test]
fn keep_alive_serves_several_requests_on_one_connection() {
    let (a, b, bal) = two();
    let mut r = Reader::new(bal.connect());
    for i in 0..3 {
        r.send(format!("GET /k{i} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes());
        let resp = r.response(false);
        assert_eq!(resp.status, 200);
        assert_eq!(resp.header("connection"), Some("keep-alive"));
        assert_eq!(resp.echo("path").as_deref(), Some(format!("/k{i}").as_str()));
    }
    r.send(b"GET /last HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    let last = r.response(false);
    assert_eq!(last.header("connection"), Some("close"));
    assert!(r.closed(), "Connection: close is honoured");
    assert_eq!(a.hits() + b.hits(), 4);
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let (_a, _b, bal) = two();
    let mut r = Reader::new(bal.connect());
    let mut burst = String::new();
    for p in ["/slow?ms=200", "/p2", "/p3"] {
        burst.push_str(&format!("GET {p} HTTP/1.1\r\nHost: t\r\n\r\n"));
    }
    r.send(burst.as_bytes());
    for p in ["/slow?ms=200", "/p2", "/p3"] {
        let resp = r.response(false);
        assert_eq!(resp.status, 200);
        assert_eq!(resp.echo("path").as_deref(), Some(p), "responses leave in request order");
    }
}

#[test]
fn chunked_uploads_arrive_whole_with_a_content_length() {
    let (_a, _b, bal) = two();
    let mut r = Reader::new(bal.connect());
    r.send(b"POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n");
    std::thread::sleep(Duration::from_millis(50)); // the body arrives in two pieces
    r.send(b"6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n");
    let resp = r.response(false);
    assert_eq!(resp.status, 200);
    assert_eq!(resp.echo("body").as_deref(), Some("hello world"));
    assert_eq!(resp.echo("h:content-length").as_deref(), Some("11"));
    assert_eq!(resp.echo("h:transfer-encoding"), None);
    // A large Content-Length body too.
    let big = "x".repeat(300_000);
    r.send(format!("PUT /big HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n{big}", big.len()).as_bytes());
    assert_eq!(r.response(false).echo("len").as_deref(), Some("300000"));
}

#[test]
fn expect_100_continue_gets_an_interim_response_before_the_body() {
    let (_a, _b, bal) = two();
    let mut r = Reader::new(bal.connect());
    r.send(b"POST /c HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
    let interim = r.response(false);
    assert_eq!(interim.status, 100, "100 Continue comes before we send the body");
    r.send(b"ping");
    let resp = r.response(false);
    assert_eq!((resp.status, resp.echo("body").as_deref()), (200, Some("ping")));
    assert_eq!(resp.echo("h:expect").as_deref(), Some("100-continue"));
}

#[test]
fn head_responses_carry_the_length_but_no_body() {
    let (_a, _b, bal) = two();
    let mut r = Reader::new(bal.connect());
    r.send(b"HEAD /h HTTP/1.1\r\nHost: t\r\n\r\n");
    let head = r.response(true);
    assert_eq!(head.status, 200);
    let len: usize = head.header("content-length").unwrap().parse().unwrap();
    assert!(len > 0, "the upstream's length is kept");
    // If a body had been sent, this next response would not parse.
    r.send(b"GET /after HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(r.response(false).echo("path").as_deref(), Some("/after"));
}

#[test]
fn forwarded_headers_and_request_ids() {
    let (_a, _b, bal) = two();
    let r = request(
        &bal,
        "GET /id HTTP/1.1\r\nHost: front\r\nX-Request-Id: abc-123.x\r\nConnection: close, X-Secret\r\n\
         X-Secret: s\r\nKeep-Alive: timeout=5\r\nX-Forwarded-For: 10.1.1.1\r\nX-Other: o\r\n\r\n",
    );
    assert_eq!(r.header("x-request-id"), Some("abc-123.x"), "a valid id is echoed");
    assert_eq!(r.echo("h:x-request-id").as_deref(), Some("abc-123.x"), "and forwarded");
    assert_eq!(r.echo("h:x-forwarded-for").as_deref(), Some("10.1.1.1, 127.0.0.1"));
    assert_eq!(r.echo("h:x-forwarded-proto").as_deref(), Some("http"));
    assert_eq!(r.echo("h:host").as_deref(), Some("front"));
    assert_eq!(r.echo("h:x-other").as_deref(), Some("o"));
    assert_eq!(r.echo("h:x-secret"), None, "named in Connection: hop-by-hop");
    assert_eq!(r.echo("h:keep-alive"), None);

    let r = request(&bal, "GET /id HTTP/1.1\r\nHost: t\r\nX-Request-Id: bad id!\r\nConnection: close\r\n\r\n");
    let id = r.header("x-request-id").unwrap();
    assert!(id.len() == 24 && id.bytes().all(|c| c.is_ascii_hexdigit()), "an invalid id is replaced: {id}");
    assert_eq!(r.echo("h:x-request-id").as_deref(), Some(id));
}

#[test]
fn http10_closes_unless_keep_alive_is_asked() {
    let (_a, _b, bal) = two();
    let mut r = Reader::new(bal.connect());
    r.send(b"GET /old HTTP/1.0\r\n\r\n");
    let resp = r.response(false);
    assert_eq!((resp.status, resp.header("connection")), (200, Some("close")));
    assert!(resp.echo("h:host").is_some(), "a Host is supplied for the upstream");
    assert!(r.closed());
    let mut r = Reader::new(bal.connect());
    r.send(b"GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    assert_eq!(r.response(false).header("connection"), Some("keep-alive"));
    r.send(b"GET /again HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    assert_eq!(r.response(false).echo("path").as_deref(), Some("/again"));
}

#[test]
fn a_slow_upstream_gets_504_and_a_dead_one_is_skipped() {
    let a = Backend::start("a");
    let dead = testkit::refused_addr();
    let bal = Balancer::start(&[
        "--upstream",
        &a.url(),
        "--upstream",
        &format!("http://{dead}"),
        "--upstream-timeout-ms",
        "500",
    ]);
    for _ in 0..4 {
        assert_eq!(get(&bal, "/fine").status, 200, "connect failures move on to the live upstream");
    }
    let t = std::time::Instant::now();
    let r = get(&bal, "/slow?ms=2000");
    assert_eq!(r.status, 504, "{}", r.text());
    assert!(t.elapsed() < Duration::from_millis(1500), "answered after {:?}", t.elapsed());
    assert!(r.header("x-request-id").is_some());
}

#[test]
fn the_catalog_lists_static_upstreams() {
    let (a, b, bal) = two();
    let r = get(&bal, "/webserv/services");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    let inst = v["services"][0]["instances"].as_array().unwrap();
    let addrs: Vec<&str> = inst.iter().map(|i| i["addr"].as_str().unwrap()).collect();
    assert_eq!(addrs, [a.addr.to_string(), b.addr.to_string()]);
    assert_eq!(inst[0]["in_flight"], 0);
    assert_eq!(a.hits() + b.hits(), 0, "the balancer serves the catalog itself");
    let r = request(&bal, "POST /webserv/services HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n");
    assert_eq!((r.status, r.header("allow")), (405, Some("GET, HEAD")));
}

#[test]
fn every_response_gets_an_access_log_line() {
    let (_a, _b, bal) = two();
    get(&bal, "/logged?x=1");
    let line = wait_for("the access-log line", Duration::from_secs(5), || {
        bal.access_log().lines().find(|l| l.contains("/logged")).map(String::from)
    });
    let (client, rest) = line.split_once(" - - [").unwrap();
    assert_eq!(client, "127.0.0.1");
    let (when, rest) = rest.split_once("] \"").unwrap();
    assert_eq!((when.len(), &when[20..]), (26, " +0000"), "{line}");
    let (req, rest) = rest.split_once("\" ").unwrap();
    assert_eq!(req, "GET /logged?x=1 HTTP/1.1");
    let f: Vec<&str> = rest.split(' ').collect();
    assert_eq!(f[0], "200");
    assert!(f[1].parse::<usize>().unwrap() > 0);
    assert_eq!(f[2].split_once('.').unwrap().1.len(), 4, "{line}");
    // And the worker lines carry the request id.
    let r = request(&bal, "GET /jid HTTP/1.1\r\nHost: t\r\nX-Request-Id: jid-test-1\r\nConnection: close\r\n\r\n");
    assert_eq!(r.status, 200);
    let log = wait_for("worker lines", Duration::from_secs(5), || {
        let l = bal.log();
        l.contains("Balancer::Worker JID-jid-test-1 INFO: done: ").then_some(l)
    });
    assert!(log.contains("Balancer::Worker JID-jid-test-1 INFO: start"), "{log}");
}

#[test]
fn a_client_that_half_closes_after_its_request_gets_the_answer_then_a_close() {
    let (_a, _b, bal) = two();
    let mut r = Reader::new(bal.connect());
    r.send(b"GET /half HTTP/1.1\r\nHost: t\r\n\r\n");
    r.stream.shutdown(std::net::Shutdown::Write).unwrap();
    let resp = r.response(false);
    assert_eq!(resp.echo("path").as_deref(), Some("/half"));
    let t = std::time::Instant::now();
    assert!(r.closed(), "closed after the answer");
    assert!(t.elapsed() < Duration::from_secs(2), "closed at once, not by a timer: {:?}", t.elapsed());
}
