//! A full worker queue sheds at once: issue 9's "queues are bounded and shed
//! load with 503 + Retry-After before they grow without limit", for the
//! balancer's own queue (the RPC servers' is proto's rpc_server tests).
//!
//! The balancer gets one worker, a queue of one job, and one registered
//! instance whose address takes no connection: a listener whose accept queue
//! is full (backlog 0, one connection waiting in it), so the kernel drops
//! every further SYN and a dial hangs until its timeout. The first request
//! ties the worker up dialing it; the second waits in the queue (seen in
//! `/metrics` as `worker_queue_jobs 1`, which is what the test polls for);
//! the third must then be answered 503 with `Retry-After: 1` at once, and be
//! counted in `shed_total`, while the first two are still waiting.
//!
//! Needs `STACKWIRE_TEST_REDIS_URL` (scripts/test.sh sets it). Without it the
//! test fails rather than pass unchecked.

mod common;

use common::{admin_addr, admin_get, get, wait_for, webui_descriptor, Balancer, TestRegistry};
use registry_agent::Agent;
use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A listener that completes no handshake: its accept queue (backlog 0)
/// holds the one connection made here, so further connects hang.
fn black_hole() -> (TcpListener, TcpStream, SocketAddr) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    // SAFETY: listen(2) on a socket we own, to shrink its backlog.
    assert_eq!(unsafe { libc::listen(l.as_raw_fd(), 0) }, 0);
    let addr = l.local_addr().unwrap();
    let filler = TcpStream::connect(addr).unwrap();
    (l, filler, addr)
}

/// The value of the balancer metric `name` (unlabelled).
fn metric(admin: SocketAddr, name: &str) -> Option<u64> {
    let (status, text) = admin_get(admin, "/metrics");
    assert_eq!(status, 200, "{text}");
    let line = text.lines().find(|l| l.starts_with(&format!("stackwire_balancer_{name} ")))?;
    line.rsplit(' ').next()?.parse().ok()
}

/// Sends a GET of `/{id}` with request id `id` and leaves its connection
/// open (the reply is not awaited).
fn send_get(bal: &Balancer, id: &str) -> TcpStream {
    let mut s = bal.connect();
    s.write_all(format!("GET /{id} HTTP/1.1\r\nHost: t\r\nX-Request-Id: {id}\r\n\r\n").as_bytes()).unwrap();
    s
}

#[test]
fn a_full_worker_queue_answers_503_at_once() {
    let registry = TestRegistry::new("balancer-queue-test");
    let (_hole, _filler, hole) = black_hole();
    let agent = Agent::start(registry.cfg.clone(), "webui", hole, webui_descriptor(), Arc::new(|| 0)).unwrap();
    let bal = Balancer::start_env(
        &["--workers", "1", "--queue", "1", "--connect-timeout-ms", "20000", "--admin", "127.0.0.1:0"],
        &registry.env(),
    );
    let admin = admin_addr(&bal);
    wait_for("the instance in the catalog", Duration::from_secs(5), || {
        get(&bal, "/webserv/services").text().contains(&hole.to_string()).then_some(())
    });
    assert_eq!(metric(admin, "shed_total"), Some(0));

    // The worker dials the black hole (for up to 20 s); the next request waits.
    let _first = send_get(&bal, "queue-first");
    wait_for("the worker to take the first request", Duration::from_secs(5), || {
        bal.log().contains("Balancer::Worker JID-queue-first INFO: start").then_some(())
    });
    assert_eq!(metric(admin, "worker_queue_jobs"), Some(0));
    let _second = send_get(&bal, "queue-second");
    wait_for("the second request in the queue", Duration::from_secs(5), || {
        (metric(admin, "worker_queue_jobs") == Some(1)).then_some(())
    });

    let t = Instant::now();
    let r = get(&bal, "/third");
    assert_eq!((r.status, r.header("retry-after")), (503, Some("1")), "{}", r.text());
    assert!(r.text().contains("every worker is busy"), "{}", r.text());
    assert!(t.elapsed() < Duration::from_secs(2), "shed at once, not after {:?}", t.elapsed());
    assert_eq!(metric(admin, "shed_total"), Some(1));
    assert_eq!(metric(admin, "worker_queue_jobs"), Some(1), "the queued request is still waiting");
    agent.deregister();
}
