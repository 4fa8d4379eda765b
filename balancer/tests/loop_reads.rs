//! Replies read by the event loop (issue 9: a thread per connection that
//! woke to read each reply, then woke the loop, cost a second wake-up per
//! request), and what reading them there must keep true.
//!
//! - No `rpc-read-*` thread is left in a balancer that has served calls to
//!   an instance: the connection the health prober opened at start-up (before
//!   the loops ran) has been handed to a loop, and the ones dialed since went
//!   there at once. A balancer without the feature keeps one per instance.
//! - Replies that arrive in pieces, and several in one segment, are each
//!   read whole: an instance answers two page calls with a 200 KiB reply
//!   written in three parts (the third with the whole second reply behind
//!   it) and both clients get their exact bodies.
//! - A connection that closes under a waiting call fails the call at once
//!   (a 5xx long before the 30 s upstream timeout), as a reader thread did.
//!
//! Needs `STACKWIRE_TEST_REDIS_URL` (scripts/test.sh sets it).

mod common;

use common::{get, next_call, request, wait_for, webui_descriptor, Balancer, TestRegistry};
use prost::Message;
use proto::pb::HttpResponse;
use proto::{CallContext, Handler, ServerConfig, Status};
use registry_agent::Agent;
use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Answers 200 to every call.
struct Good;

impl Handler for Good {
    fn handle(&self, _ctx: &CallContext<'_>, _payload: &[u8]) -> Result<Vec<u8>, Status> {
        Ok(HttpResponse::with_body(200, "text/plain", b"good".to_vec()).encode_to_vec())
    }
}

fn native(registry: &TestRegistry) -> Vec<(&str, &str)> {
    [registry.env().as_slice(), &[("STACKWIRE_RPC_TRANSPORT", "native")]].concat()
}

/// The names of the balancer's threads that read RPC replies on their own.
fn reader_threads(bal: &Balancer) -> Vec<String> {
    let tasks = std::fs::read_dir(format!("/proc/{}/task", bal.child.id())).expect("the balancer's threads");
    tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .map(|c| c.trim().to_string())
        .filter(|c| c.starts_with("rpc-read"))
        .collect()
}

/// Starts `bal`'s view of one webui instance at `addr` and waits for it.
fn register(registry: &TestRegistry, bal: &Balancer, addr: SocketAddr) -> Agent {
    let agent = Agent::start(registry.cfg.clone(), "webui", addr, webui_descriptor(), Arc::new(|| 0)).unwrap();
    wait_for("the instance in the catalog", Duration::from_secs(5), || {
        get(bal, "/webserv/services").text().contains(&addr.to_string()).then_some(())
    });
    agent
}

#[test]
fn replies_are_read_on_the_loop_not_by_a_thread_per_connection() {
    let registry = TestRegistry::new("balancer-loop-reads");
    let server =
        proto::rpc_server::serve(TcpListener::bind("127.0.0.1:0").unwrap(), Arc::new(Good), ServerConfig::new("Good"))
            .unwrap();
    // Registered before the balancer starts: its prober dials the instance
    // before the loops run, so that connection begins with a thread.
    let agent =
        Agent::start(registry.cfg.clone(), "webui", server.local_addr(), webui_descriptor(), Arc::new(|| 0)).unwrap();
    let bal = Balancer::start_env(&[], &native(&registry));
    wait_for("the instance in the catalog", Duration::from_secs(5), || {
        get(&bal, "/webserv/services").text().contains(&server.local_addr().to_string()).then_some(())
    });
    for i in 0..20 {
        let r = get(&bal, &format!("/page/{i}"));
        assert_eq!(r.status, 200, "GET /page/{i}: {}", r.text());
        assert_eq!(r.text(), "good");
    }
    let left = testkit::poll(Duration::from_secs(5), || {
        let left = reader_threads(&bal);
        left.is_empty().then_some(())
    });
    assert!(left.is_some(), "reader threads still in the balancer: {:?}", reader_threads(&bal));
    drop(agent);
}

/// The frame of a page reply to call `call_id` with `body`.
fn page_reply(call_id: u64, body: &[u8]) -> Vec<u8> {
    let page = HttpResponse::with_body(200, "text/plain", body.to_vec()).encode_to_vec();
    let resp = proto::pb::Response { call_id, status: 0, message: String::new(), payload: page.into() };
    proto::frame::encode_message(&resp)
}

#[test]
fn replies_in_pieces_and_together_are_each_read_whole() {
    let registry = TestRegistry::new("balancer-loop-pieces");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (big, small) = (vec![b'b'; 200 << 10], b"small".to_vec());
    let (b2, s2) = (big.clone(), small.clone());
    // Every connection answers health checks; the one that carries two page
    // calls answers them as described above.
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let (b2, s2) = (b2.clone(), s2.clone());
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                let Some(first) = next_call(&mut s, &mut buf) else { return };
                let Some(second) = next_call(&mut s, &mut buf) else { return };
                let a = page_reply(first.call_id, &b2);
                let mut wire = a.clone();
                wire.extend(page_reply(second.call_id, &s2));
                let (one, two) = (a.len() / 3, 2 * a.len() / 3);
                for part in [&wire[..one], &wire[one..two], &wire[two..]] {
                    s.write_all(part).unwrap();
                    s.flush().unwrap();
                    // The pieces arrive apart: the reader must keep what it has.
                    std::thread::sleep(Duration::from_millis(30));
                }
                let _ = next_call(&mut s, &mut buf);
            });
        }
    });
    let bal = Balancer::start_env(&[], &native(&registry));
    let _agent = register(&registry, &bal, addr);
    let bal = &bal;
    let mut bodies: Vec<Vec<u8>> = std::thread::scope(|scope| {
        let clients: Vec<_> = (0..2).map(|i| scope.spawn(move || get(bal, &format!("/page/{i}")).body)).collect();
        clients.into_iter().map(|h| h.join().unwrap()).collect()
    });
    bodies.sort_by_key(|b| b.len());
    assert_eq!(bodies[0], small, "the small reply");
    assert!(bodies[1] == big, "the 200 KiB reply came back {} bytes long, or changed", bodies[1].len());
}

#[test]
fn a_connection_closed_under_a_waiting_call_fails_it_at_once() {
    let registry = TestRegistry::new("balancer-loop-closed");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    // Answers health checks; closes the connection on the first other call.
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            std::thread::spawn(move || {
                let _ = next_call(&mut s, &mut Vec::new());
                let _ = s.shutdown(std::net::Shutdown::Both);
            });
        }
    });
    let bal = Balancer::start_env(&["--upstream-timeout-ms", "30000"], &native(&registry));
    let _agent = register(&registry, &bal, addr);
    let t = Instant::now();
    let r = request(&bal, "GET /page HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    assert!(r.status >= 500, "a call whose connection closed answered {}", r.status);
    assert!(t.elapsed() < Duration::from_secs(5), "the closed connection was noticed after {:?}", t.elapsed());
}
