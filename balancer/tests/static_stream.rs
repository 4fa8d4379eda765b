//! Static mode as a streaming, pooling, balancing proxy: responses of any
//! size and framing pass through without being held whole, upstream
//! connections are reused instead of opened per request, and the three
//! balancing strategies behave as documented. No Redis needed.

mod common;

use common::{pattern, request, Backend, Balancer, Echo, Reader};
use std::time::{Duration, Instant};

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn large_responses_pass_through_in_every_framing() {
    let a = Backend::start("a");
    let bal = Balancer::start(&["--upstream", &a.url()]);
    let mut r = Reader::new(bal.connect());
    r.send(b"GET /big?n=5000000 HTTP/1.1\r\nHost: t\r\n\r\n");
    let resp = r.response(false);
    assert_eq!(resp.header("content-length"), Some("5000000"), "a known length is kept");
    assert!(resp.body == pattern(5_000_000), "Content-Length body intact");
    // Chunked from the upstream: re-chunked for a 1.1 client, trailers dropped.
    r.send(b"GET /chunked?n=3000000 HTTP/1.1\r\nHost: t\r\n\r\n");
    let resp = r.response(false);
    assert_eq!(resp.header("transfer-encoding"), Some("chunked"));
    assert!(resp.body == pattern(3_000_000), "chunked body intact");
    // Delimited by close upstream: chunked to a 1.1 client, which keeps its connection.
    r.send(b"GET /close?n=2000000 HTTP/1.1\r\nHost: t\r\n\r\n");
    let resp = r.response(false);
    assert_eq!((resp.header("transfer-encoding"), resp.header("connection")), (Some("chunked"), Some("keep-alive")));
    assert!(resp.body == pattern(2_000_000), "close-delimited body intact");
    r.send(b"HEAD /big?n=5 HTTP/1.1\r\nHost: t\r\n\r\n");
    let head = r.response(true);
    assert_eq!(head.header("content-length"), Some("5"));
    r.send(b"GET /after HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(r.response(false).echo("path").as_deref(), Some("/after"), "no stray body bytes after HEAD");
    // An HTTP/1.0 client gets an unknown length delimited by close.
    let resp = request(&bal, "GET /chunked?n=100000 HTTP/1.0\r\n\r\n");
    assert_eq!((resp.header("transfer-encoding"), resp.header("connection")), (None, Some("close")));
    assert!(resp.body == pattern(100_000));
}

#[test]
fn a_slow_reader_is_not_buffered_for() {
    let a = Backend::start("a");
    let bal = Balancer::start(&["--upstream", &a.url()]);
    let before = rss_kib(bal.child.id());
    let mut r = Reader::new(bal.connect());
    let n = 64 * 1024 * 1024;
    r.send(format!("GET /big?n={n} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes());
    // Let the upstream push as much as it can while we do not read.
    std::thread::sleep(Duration::from_millis(800));
    let during = rss_kib(bal.child.id());
    assert!(during < before + 16 * 1024, "RSS grew from {before} to {during} KiB for an unread 64 MiB response");
    let resp = r.response(false);
    assert_eq!(resp.body.len(), n);
    assert!(resp.body == pattern(n));
}

#[test]
fn upstream_connections_are_pooled_not_opened_per_request() {
    let a = Backend::start("a");
    let bal = Balancer::start(&["--upstream", &a.url(), "--loops", "2"]);
    // Sequential requests, each on a new client connection.
    for i in 0..100 {
        let r = request(&bal, &format!("GET /seq/{i} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
        assert_eq!(r.status, 200);
    }
    assert!(a.conns() <= 2, "{} upstream connections for 100 sequential requests (2 loops)", a.conns());
    // Eight concurrent keep-alive clients.
    let addr = bal.addr;
    let threads: Vec<_> = (0..8)
        .map(|t| {
            std::thread::spawn(move || {
                let s = std::net::TcpStream::connect(addr).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                let mut r = Reader::new(s);
                for i in 0..50 {
                    r.send(format!("GET /c/{t}/{i} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes());
                    assert_eq!(r.response(false).status, 200);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(a.hits(), 500);
    assert!(a.conns() <= 2 + 8 * 2, "{} upstream connections for 400 requests from 8 clients", a.conns());
}

#[test]
fn p2c_ewma_sends_most_requests_to_the_faster_upstream() {
    let fast = Backend::start("fast");
    let slow = Backend::start_with_delay("slow", 40);
    let bal = Balancer::start(&["--upstream", &fast.url(), "--upstream", &slow.url(), "--balance", "p2c-ewma"]);
    let t = Instant::now();
    for i in 0..40 {
        assert_eq!(request(&bal, &format!("GET /p/{i} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")).status, 200);
    }
    assert_eq!(fast.hits() + slow.hits(), 40);
    assert!(slow.hits() <= 3, "the slow upstream got {} of 40 (fast {})", slow.hits(), fast.hits());
    assert!(t.elapsed() < Duration::from_secs(5));
}

#[test]
fn least_inflight_avoids_the_busy_upstream() {
    let (a, b) = (Backend::start("a"), Backend::start("b"));
    let bal = Balancer::start(&["--upstream", &a.url(), "--upstream", &b.url(), "--balance", "least-inflight"]);
    let mut busy = Reader::new(bal.connect());
    busy.send(b"GET /slow?ms=1500 HTTP/1.1\r\nHost: t\r\n\r\n");
    common::wait_for("the slow request to arrive", Duration::from_secs(5), || (a.hits() + b.hits() == 1).then_some(()));
    let busy_name = if a.hits() == 1 { "a" } else { "b" };
    for i in 0..10 {
        let r = request(&bal, &format!("GET /q/{i} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
        assert_ne!(r.echo("backend").as_deref(), Some(busy_name), "request {i} went to the busy upstream");
    }
    assert_eq!(busy.response(false).status, 200);
}

/// A backend that answers one request per connection as if it would keep
/// the connection (no `Connection: close`) and then closes it: every pooled
/// connection to it goes stale.
fn hit_and_run() -> (std::net::SocketAddr, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{BufRead, BufReader, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let served = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let s2 = served.clone();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
                if line == "\r\n" {
                    let mut body = vec![0u8; len];
                    let _ = std::io::Read::read_exact(&mut r, &mut body);
                    s2.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let _ = (&s).write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
                    break;
                }
            }
            drop(s);
        }
    });
    (addr, served)
}

#[test]
fn stale_pooled_connections_are_noticed_or_retried() {
    let (addr, served) = hit_and_run();
    let bal = Balancer::start(&["--upstream", &format!("http://{addr}"), "--loops", "1"]);
    let mut r = Reader::new(bal.connect());
    // Back to back: a GET may meet a connection whose close is still in
    // flight; it is sent again on a new connection.
    for i in 0..30 {
        r.send(format!("GET /g/{i} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes());
        let resp = r.response(false);
        assert_eq!((resp.status, resp.body.as_slice()), (200, &b"ok"[..]), "GET {i}");
    }
    // With a pause the close has arrived and the pool drops the connection,
    // so even a POST (never sent twice) succeeds.
    for i in 0..5 {
        std::thread::sleep(Duration::from_millis(50));
        r.send(format!("POST /p/{i} HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n\r\nx").as_bytes());
        assert_eq!(r.response(false).status, 200, "POST {i}");
    }
    assert!(served.load(std::sync::atomic::Ordering::SeqCst) >= 35);
}

/// An upstream that reads one request head and answers `reply` verbatim,
/// then closes.
fn scripted(reply: &'static [u8]) -> std::net::SocketAddr {
    use std::io::{Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for mut s in l.incoming().flatten() {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            let _ = s.write_all(reply);
        }
    });
    addr
}

#[test]
fn upstream_misbehaviour_is_502_or_a_visible_truncation() {
    for (what, reply) in [
        ("garbage", &b"SSH-2.0-OpenSSH_9.2\r\n\r\n"[..]),
        ("conflicting lengths", b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc"),
        ("protocol switch", b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"),
        ("closed inside the head", b"HTTP/1.1 200 OK\r\nContent-Le"),
        ("nothing at all", b""),
    ] {
        let bal = Balancer::start(&["--upstream", &format!("http://{}", scripted(reply))]);
        let r = request(&bal, "POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        assert_eq!(r.status, 502, "{what}: {}", r.text());
    }
    // Interim responses are skipped; the final one is passed on.
    let bal = Balancer::start(&[
        "--upstream",
        &format!(
            "http://{}",
            scripted(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok")
        ),
    ]);
    let r = request(&bal, "GET /x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    assert_eq!((r.status, r.body.as_slice()), (201, &b"ok"[..]));
    // A body cut short after the head went out: the client sees the connection close early.
    let bal = Balancer::start(&[
        "--upstream",
        &format!("http://{}", scripted(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")),
    ]);
    let mut s = bal.connect();
    std::io::Write::write_all(&mut s, b"GET /x HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    let mut out = Vec::new();
    let _ = std::io::Read::read_to_end(&mut s, &mut out);
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n") && text.contains("Content-Length: 10\r\n"), "{text}");
    assert!(text.ends_with("\r\n\r\nabc"), "the connection closes after what arrived: {text:?}");
}
