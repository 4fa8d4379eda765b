//! Service calls sent by the event loop itself (issue 9: the hand-off to a
//! worker and back cost more than the rest of a page's trip through the
//! balancer), and what must not follow from it: a peer that stops reading
//! never stalls the loop.
//!
//! - Calls to an instance with an open connection go out from the loop:
//!   `rpc_sent_by_loop_total` counts them (and none of them is a worker's).
//! - A "freezer" instance answers health checks until its first page call,
//!   then reads nothing more, as a process stopped with `SIGSTOP` would. Small
//!   POSTs to it fill its socket; once the loop sees the send buffer short of
//!   room it hands the calls to the worker (`rpc_sent_by_worker_total`), which
//!   blocks on the write, and the loop goes on: a request for another service
//!   is answered at once. A loop that wrote those calls itself would block on
//!   the full socket and answer nothing more.
//!
//! Both balancers dial native frames: the freezer is hand-written, and over
//! h2c every call goes through a worker (`Connection::send_now`).
//!
//! Needs `STACKWIRE_TEST_REDIS_URL` (scripts/test.sh sets it).

mod common;

use common::{admin_addr, admin_get, get, next_call, request, wait_for, webui_descriptor, Balancer, TestRegistry};
use prost::Message;
use proto::pb::HttpResponse;
use proto::{CallContext, Handler, ServerConfig, Status};
use registry_agent::{Agent, Descriptor};
use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Answers 200 to every call.
struct Good;

impl Handler for Good {
    fn handle(&self, _ctx: &CallContext<'_>, _payload: &[u8]) -> Result<Vec<u8>, Status> {
        Ok(HttpResponse::with_body(200, "text/plain", b"good".to_vec()).encode_to_vec())
    }
}

fn start_good() -> proto::rpc_server::ServerHandle {
    proto::rpc_server::serve(TcpListener::bind("127.0.0.1:0").unwrap(), Arc::new(Good), ServerConfig::new("Good"))
        .unwrap()
}

/// The value of the balancer counter `name`.
fn counter(admin: SocketAddr, name: &str) -> u64 {
    let (status, text) = admin_get(admin, "/metrics");
    assert_eq!(status, 200, "{text}");
    let line = text.lines().find(|l| l.starts_with(&format!("stackwire_balancer_{name} ")));
    line.and_then(|l| l.rsplit(' ').next()?.parse().ok()).unwrap_or_else(|| panic!("no {name} in /metrics"))
}

fn native(registry: &TestRegistry) -> Vec<(&str, &str)> {
    [registry.env().as_slice(), &[("STACKWIRE_RPC_TRANSPORT", "native")]].concat()
}

#[test]
fn calls_to_an_open_connection_go_out_from_the_loop() {
    let registry = TestRegistry::new("balancer-loop-send");
    let bal = Balancer::start_env(&["--admin", "127.0.0.1:0"], &native(&registry));
    let admin = admin_addr(&bal);
    let server = start_good();
    let _a =
        Agent::start(registry.cfg.clone(), "webui", server.local_addr(), webui_descriptor(), Arc::new(|| 0)).unwrap();
    wait_for("the instance in the catalog", Duration::from_secs(5), || {
        get(&bal, "/webserv/services").text().contains(&server.local_addr().to_string()).then_some(())
    });
    // The first call may have to dial (a worker's job); the rest find the connection open.
    assert_eq!(get(&bal, "/first").status, 200);
    let (loop0, worker0) = (counter(admin, "rpc_sent_by_loop_total"), counter(admin, "rpc_sent_by_worker_total"));
    for i in 0..20 {
        let r = get(&bal, &format!("/page/{i}"));
        assert_eq!(r.status, 200, "GET /page/{i}: {}", r.text());
    }
    assert_eq!(counter(admin, "rpc_sent_by_loop_total") - loop0, 20, "every call went out from the loop");
    assert_eq!(counter(admin, "rpc_sent_by_worker_total"), worker0, "no worker sent one");
}

/// Answers health checks until its first other call, then reads nothing
/// more (the connection stays open, unread, until the test ends).
fn start_freezer() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut frozen: Vec<TcpStream> = Vec::new();
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            // The first call other than a health check freezes it.
            let _ = next_call(&mut s, &mut Vec::new());
            // Frozen: kept open, never read again.
            frozen.push(s);
        }
    });
    addr
}

#[test]
fn a_peer_that_stops_reading_never_stalls_the_loop() {
    let registry = TestRegistry::new("balancer-loop-freeze");
    let bal = Balancer::start_env(
        &["--workers", "1", "--queue", "4", "--upstream-timeout-ms", "30000", "--admin", "127.0.0.1:0"],
        &native(&registry),
    );
    let admin = admin_addr(&bal);
    let freezer = start_freezer();
    let good = start_good();
    let descriptor = Descriptor { name: "Question".into(), title: "Questions".into(), methods: vec![], routes: vec![] };
    let _q = Agent::start(registry.cfg.clone(), "question", good.local_addr(), descriptor, Arc::new(|| 0)).unwrap();
    let _w = Agent::start(registry.cfg.clone(), "webui", freezer, webui_descriptor(), Arc::new(|| 0)).unwrap();
    wait_for("both instances in the catalog", Duration::from_secs(5), || {
        let text = get(&bal, "/webserv/services").text();
        (text.contains(&freezer.to_string()) && text.contains(&good.local_addr().to_string())).then_some(())
    });
    assert_eq!(get(&bal, "/webserv/question/1").status, 200);

    // 4 KiB POSTs to the freezer, none awaited. The first freezes it (and
    // may have dialed it); then the loop sends each until it hands one to
    // the worker: the socket is full (a few hundred KiB on loopback).
    let body = "x".repeat(4096);
    let post = |bal: &Balancer| {
        let mut s = bal.connect();
        let head = format!("POST /form HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n", body.len());
        s.write_all(head.as_bytes()).unwrap();
        s.write_all(body.as_bytes()).unwrap();
        s
    };
    let mut waiting = vec![post(&bal)];
    wait_for("the first POST sent", Duration::from_secs(5), || {
        (counter(admin, "rpc_sent_by_loop_total") + counter(admin, "rpc_sent_by_worker_total") >= 2).then_some(())
    });
    let (by_loop, by_worker) = (counter(admin, "rpc_sent_by_loop_total"), counter(admin, "rpc_sent_by_worker_total"));
    let started = Instant::now();
    while counter(admin, "rpc_sent_by_worker_total") == by_worker {
        assert!(
            waiting.len() < 2000,
            "2000 unread POSTs and none went to the worker: a loop that writes them itself is stuck on the full socket"
        );
        assert!(started.elapsed() < Duration::from_secs(60), "the POSTs took over a minute");
        waiting.extend((0..25).map(|_| post(&bal)));
    }
    let sent_here = counter(admin, "rpc_sent_by_loop_total") - by_loop;
    assert!(sent_here >= 20, "the loop sent {sent_here} POSTs itself before the socket filled");
    // The worker is stuck writing to the freezer; the loop is not.
    let t = Instant::now();
    let r = request(&bal, "GET /webserv/question/2 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(t.elapsed() < Duration::from_secs(2), "the other service answered after {:?}", t.elapsed());
    drop(waiting);
}
