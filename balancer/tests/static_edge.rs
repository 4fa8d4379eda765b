//! The edge's defences and lifecycle, through the real binary in static mode:
//! every framing rule answers its status, closes, and reaches no backend; a
//! slowloris head is cut at the deadline; idle and excess connections are
//! closed; SIGHUP reloads routes; SIGTERM drains and exits 0; bad flags fail.

mod common;

use common::{get, wait_for, Backend, Balancer, Echo, Reader};
use std::io::{Read, Write};
use std::time::{Duration, Instant};

fn one(extra: &[&str]) -> (Backend, Balancer) {
    let a = Backend::start("a");
    let url = a.url();
    let mut args = vec!["--upstream", url.as_str()];
    args.extend_from_slice(extra);
    let bal = Balancer::start(&args);
    (a, bal)
}

/// Writes `raw`, reads until the balancer closes; (status, whole reply).
fn exchange(bal: &Balancer, raw: &[u8]) -> (u16, String) {
    let mut s = bal.connect();
    // The balancer may close before reading everything we send.
    let _ = s.write_all(raw);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, text)
}

#[test]
fn each_framing_rule_answers_its_status_closes_and_reaches_no_backend() {
    let (a, bal) = one(&[]);
    let long_line = format!("GET /{} HTTP/1.1\r\nHost: t\r\n\r\n", "a".repeat(9 * 1024));
    let big_head = format!("GET / HTTP/1.1\r\nHost: t\r\nX-Big: {}\r\n\r\n", "v".repeat(17 * 1024));
    let cases: Vec<(&str, String, u16)> = vec![
        ("request line over 8 KiB", long_line, 414),
        ("head over 16 KiB", big_head, 431),
        ("Content-Length over 1 MiB", "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1048577\r\n\r\n".into(), 413),
        (
            "chunked body over 1 MiB",
            format!(
                "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n100000\r\n{}\r\n1\r\n",
                "x".repeat(1 << 20)
            ),
            413,
        ),
        (
            "two Content-Lengths",
            "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx".into(),
            400,
        ),
        (
            "Content-Length with Transfer-Encoding",
            "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".into(),
            400,
        ),
        ("last coding not chunked", "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n".into(), 400),
        ("Transfer-Encoding on HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".into(), 400),
        (
            "invalid chunk size",
            "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhi\r\n0\r\n\r\n".into(),
            400,
        ),
        (
            "last coding not chunked (chunked, gzip)",
            "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, gzip\r\n\r\n".into(),
            400,
        ),
        (
            "chunked twice",
            "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
                .into(),
            400,
        ),
        (
            "a coding before chunked that we cannot undo",
            "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n".into(),
            501,
        ),
        ("signed Content-Length", "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: +1\r\n\r\nx".into(), 400),
        ("list Content-Length", "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1, 1\r\n\r\nx".into(), 400),
        ("obs-fold", "GET / HTTP/1.1\r\nHost: t\r\nX-Folded: one\r\n two\r\n\r\n".into(), 400),
        (
            "chunk extension over 1 KiB",
            format!(
                "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n1;{}\r\nx\r\n0\r\n\r\n",
                "e".repeat(2000)
            ),
            400,
        ),
        (
            "control byte in a chunk extension",
            "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n1;a=\x01\r\nx\r\n0\r\n\r\n".into(),
            400,
        ),
        (
            "chunk size line without CR",
            "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n1\nx\r\n0\r\n\r\n".into(),
            400,
        ),
        ("missing Host on 1.1", "GET / HTTP/1.1\r\nUser-Agent: x\r\n\r\n".into(), 400),
        ("two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n".into(), 400),
        ("malformed header", "GET / HTTP/1.1\r\nHost: t\r\nBad Header\r\n\r\n".into(), 400),
        ("not HTTP at all", "\x16\x03\x01\x02\x00\x01\x00\x01\x7c\x03\x03\r\n\r\n".into(), 400),
    ];
    for (what, raw, want) in cases {
        let t = Instant::now();
        let (status, text) = exchange(&bal, raw.as_bytes());
        assert_eq!(status, want, "{what}: {text:?}");
        assert!(text.contains("Connection: close\r\n"), "{what}: {text:?}");
        assert!(text.contains("X-Request-Id: "), "{what}");
        assert!(t.elapsed() < Duration::from_secs(5), "{what}: closed after {:?}", t.elapsed());
    }
    assert_eq!(a.hits(), 0, "nothing reached the backend");
    // A valid request after all that still works.
    assert_eq!(get(&bal, "/ok").status, 200);
    assert_eq!(a.hits(), 1);
}

#[test]
fn a_framing_error_after_a_good_request_closes_the_connection() {
    let (a, bal) = one(&[]);
    let mut r = Reader::new(bal.connect());
    r.send(b"GET /good HTTP/1.1\r\nHost: t\r\n\r\nGET /bad HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\nHost: t\r\n\r\n");
    assert_eq!(r.response(false).status, 200);
    let bad = r.response(false);
    assert_eq!((bad.status, bad.header("connection")), (400, Some("close")));
    assert!(r.closed());
    assert_eq!(a.hits(), 1);
}

#[test]
fn slowloris_heads_get_408_at_the_deadline() {
    let (a, bal) = one(&["--header-timeout-ms", "1000"]);
    let mut s = bal.connect();
    let mut w = s.try_clone().unwrap();
    let started = Instant::now();
    let dripper = std::thread::spawn(move || {
        for b in b"GET /slow HTTP/1.1\r\nHost: t\r\nX-Drip: aaaaaaaaaaaaaaaaaaaaaaaaaaaaa".iter() {
            if w.write_all(&[*b]).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    });
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let took = started.elapsed();
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 408 "), "{text:?}");
    assert!(took >= Duration::from_millis(900) && took < Duration::from_millis(1600), "408 after {took:?}");
    dripper.join().unwrap();
    assert_eq!(a.hits(), 0);
}

#[test]
fn a_connection_that_never_speaks_is_closed_at_the_header_deadline() {
    let (_a, bal) = one(&["--header-timeout-ms", "500"]);
    let mut r = Reader::new(bal.connect());
    let t = Instant::now();
    assert!(r.closed(), "closed without a response");
    assert!(t.elapsed() >= Duration::from_millis(450) && t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
}

#[test]
fn idle_keep_alive_connections_are_closed() {
    let (_a, bal) = one(&["--idle-timeout-ms", "300"]);
    let mut r = Reader::new(bal.connect());
    r.send(b"GET /x HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(r.response(false).status, 200);
    let t = Instant::now();
    assert!(r.closed(), "the idle connection is closed");
    assert!(t.elapsed() >= Duration::from_millis(250) && t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
}

#[test]
fn connections_beyond_the_limit_are_closed_at_once() {
    let (a, bal) = one(&["--max-connections", "2"]);
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut r = Reader::new(bal.connect());
        r.send(b"GET /x HTTP/1.1\r\nHost: t\r\n\r\n");
        assert_eq!(r.response(false).status, 200);
        held.push(r);
    }
    for _ in 0..3 {
        let mut extra = Reader::new(bal.connect());
        let _ = extra.stream.write_all(b"GET /x HTTP/1.1\r\nHost: t\r\n\r\n");
        assert!(extra.closed(), "a connection over the limit is closed without an answer");
    }
    assert_eq!(a.hits(), 2, "refused connections reach no backend");
    // The connections already open are not harmed.
    for r in held.iter_mut() {
        r.send(b"GET /still HTTP/1.1\r\nHost: t\r\n\r\n");
        assert_eq!(r.response(false).echo("path").as_deref(), Some("/still"));
    }
    drop(held);
    // Once the others are gone there is room again.
    wait_for("room for a new connection", Duration::from_secs(5), || {
        let mut r = Reader::new(bal.connect());
        let _ = r.stream.write_all(b"GET /x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
        (!r.closed()).then_some(())
    });
}

#[test]
fn sighup_reloads_the_route_file() {
    let dir = std::env::temp_dir().join(format!("balancer-routes-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("routes");
    std::fs::write(&file, "/cat @catalog\n").unwrap();
    let (a, bal) = one(&["--routes", file.to_str().unwrap()]);
    assert!(get(&bal, "/cat").text().contains("\"services\""));
    assert_eq!(get(&bal, "/cat2").echo("backend").as_deref(), Some("a"));
    // A keep-alive connection opened before the reload survives it.
    let mut held = Reader::new(bal.connect());
    held.send(b"GET /before HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(held.response(false).status, 200);
    std::fs::write(&file, "/cat2 @catalog\n").unwrap();
    bal.signal(libc::SIGHUP);
    wait_for("the reloaded route", Duration::from_secs(5), || {
        get(&bal, "/cat2").text().contains("\"services\"").then_some(())
    });
    held.send(b"GET /cat2 HTTP/1.1\r\nHost: t\r\n\r\n");
    assert!(held.response(false).text().contains("\"services\""), "the held connection uses the new table");
    assert_eq!(get(&bal, "/cat").echo("backend").as_deref(), Some("a"), "the old route is gone");
    // A broken file keeps the current table.
    std::fs::write(&file, "no-slash service\n").unwrap();
    bal.signal(libc::SIGHUP);
    wait_for("the reload failure in the log", Duration::from_secs(5), || {
        bal.log().contains("keeping the current routes").then_some(())
    });
    assert!(get(&bal, "/cat2").text().contains("\"services\""));
    assert!(a.hits() >= 2);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sigterm_finishes_requests_in_flight_then_exits_zero() {
    let (a, mut bal) = one(&[]);
    let mut idle = Reader::new(bal.connect());
    idle.send(b"GET /x HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(idle.response(false).status, 200);
    let mut busy = Reader::new(bal.connect());
    busy.send(b"GET /slow?ms=700 HTTP/1.1\r\nHost: t\r\n\r\n");
    wait_for("the slow request to reach the backend", Duration::from_secs(5), || (a.hits() == 2).then_some(()));
    bal.signal(libc::SIGTERM);
    assert!(idle.closed(), "idle keep-alive connections close at once");
    let resp = busy.response(false);
    assert_eq!(resp.status, 200, "the request in flight completes");
    assert_eq!(resp.header("connection"), Some("close"));
    assert_eq!(bal.wait_exit(Duration::from_secs(10)), Some(0));
    assert!(std::net::TcpStream::connect(bal.addr).is_err(), "no longer accepting");
    assert!(bal.log().contains("stopping"), "{}", bal.log());
}

#[test]
fn bad_flags_fail_clearly() {
    for (args, needle) in [
        (vec!["--workers", "zero"], "--workers \"zero\""),
        (vec!["--upstream", "ftp://x"], "must start with http://"),
        (vec!["--bogus"], "unexpected argument '--bogus'"),
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_balancer")).args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_balancer")).arg("--help").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("--upstream"));
    // Registry mode without a registry URL says what is missing.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_balancer"))
        .args(["--listen", "127.0.0.1:0"])
        .env_remove("STACKWIRE_REDIS_URL")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("STACKWIRE_REDIS_URL"));
}

/// A listening socket that never accepts and whose accept queue is full, so
/// that further SYNs are dropped and a connect to it hangs.
fn blackhole() -> (std::net::SocketAddr, Vec<std::net::TcpStream>) {
    use std::os::fd::FromRawFd;
    // SAFETY: plain socket/bind/listen on a fresh descriptor that the
    // TcpListener below owns.
    let listener = unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
        assert!(fd >= 0);
        let sin = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: 0,
            sin_addr: libc::in_addr { s_addr: u32::from_ne_bytes([127, 0, 0, 1]) },
            sin_zero: [0; 8],
        };
        let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        assert_eq!(libc::bind(fd, (&sin as *const libc::sockaddr_in).cast(), len), 0);
        assert_eq!(libc::listen(fd, 0), 0);
        std::net::TcpListener::from_raw_fd(fd)
    };
    let addr = listener.local_addr().unwrap();
    std::mem::forget(listener); // never accepts, never closes while the test runs
                                // Fill the accept queue; once full, connects time out.
    let mut fillers = Vec::new();
    for _ in 0..8 {
        match std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            Ok(s) => fillers.push(s),
            Err(_) => return (addr, fillers),
        }
    }
    panic!("the accept queue of the blackhole never filled");
}

#[test]
fn an_upstream_that_does_not_accept_gets_504_at_the_connect_timeout() {
    let (hole, _fillers) = blackhole();
    let bal = Balancer::start(&["--upstream", &format!("http://{hole}"), "--connect-timeout-ms", "300"]);
    let t = Instant::now();
    let r = get(&bal, "/x");
    let took = t.elapsed();
    assert_eq!(r.status, 504, "{}", r.text());
    assert!(took >= Duration::from_millis(250) && took < Duration::from_millis(1500), "504 after {took:?}");
    assert!(r.header("x-request-id").is_some());
    // With a second upstream that answers, the timeout moves the request there.
    let a = Backend::start("a");
    let bal = Balancer::start(&[
        "--upstream",
        &format!("http://{hole}"),
        "--upstream",
        &a.url(),
        "--connect-timeout-ms",
        "300",
        "--balance",
        "round-robin",
    ]);
    for _ in 0..4 {
        assert_eq!(get(&bal, "/x").status, 200, "the timed-out upstream is skipped");
    }
}

#[test]
fn no_reachable_upstream_is_503_with_retry_after() {
    let dead: Vec<std::net::SocketAddr> = (0..2).map(|_| testkit::refused_addr()).collect();
    let bal =
        Balancer::start(&["--upstream", &format!("http://{}", dead[0]), "--upstream", &format!("http://{}", dead[1])]);
    for _ in 0..3 {
        let r = get(&bal, "/x");
        assert_eq!(r.status, 503, "{}", r.text());
        assert_eq!(r.header("retry-after"), Some("1"));
        assert!(r.text().contains("no upstream is reachable"), "{}", r.text());
    }
}
