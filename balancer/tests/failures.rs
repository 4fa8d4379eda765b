//! Retries that never duplicate a write, against a real Redis registry and
//! the balancer binary (issue 5).
//!
//! A "crasher" instance handles every call it gets and then drops the
//! connection without replying, as a process killed mid-request would: the
//! balancer cannot know whether the request ran. A GET that meets it must be
//! answered by another instance (idempotent: retried); a POST must not be
//! sent again (it gets 503, and the crasher saw it exactly once). A
//! registered address where nothing listens (the request never left) is
//! skipped for any method, POST included. The crasher leaves rotation at its
//! first lost connection, and `/status/json` says why.
//!
//! Needs `STACKWIRE_TEST_REDIS_URL` (scripts/test.sh sets it).

mod common;

use common::{get, next_call, request, wait_for, Balancer, TestRegistry};
use prost::Message;
use proto::pb::{HttpRequest, HttpResponse};
use proto::{CallContext, Handler, ServerConfig, Status};
use registry_agent::{Agent, Descriptor};
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Counts calls by HTTP method and answers 200.
#[derive(Default)]
struct Good {
    seen: Mutex<Vec<String>>,
}

impl Handler for Good {
    fn handle(&self, _ctx: &CallContext<'_>, payload: &[u8]) -> Result<Vec<u8>, Status> {
        let req = HttpRequest::decode(payload).map_err(|e| Status::invalid(e.to_string()))?;
        self.seen.lock().unwrap().push(format!("{} {}", req.method, req.path));
        Ok(HttpResponse::with_body(200, "text/plain", b"good".to_vec()).encode_to_vec())
    }
}

/// Answers health checks; takes every other call and hangs up without a reply.
fn start_crasher(seen: Arc<Mutex<Vec<String>>>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let seen = seen.clone();
            std::thread::spawn(move || {
                let Some(req) = next_call(&mut s, &mut Vec::new()) else { return };
                if let Ok(h) = HttpRequest::decode(req.payload.as_slice()) {
                    seen.lock().unwrap().push(format!("{} {}", h.method, h.path));
                }
                // "Crash" after doing the work: the reply never comes.
                let _ = s.shutdown(std::net::Shutdown::Both);
            });
        }
    });
    addr
}

fn descriptor() -> Descriptor {
    Descriptor { name: "WebUI".into(), title: "Web pages".into(), methods: vec![], routes: vec![] }
}

fn post(b: &Balancer, path: &str) -> common::Resp {
    request(b, &format!("POST {path} HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx"))
}

fn state_of(b: &Balancer, addr: SocketAddr) -> Option<(bool, String)> {
    let (_, body) = common::admin_get(common::admin_addr(b), "/status/json");
    let v: serde_json::Value = serde_json::from_str(&body).ok()?;
    let inst = v["services"]
        .as_array()?
        .iter()
        .flat_map(|s| s["instances"].as_array().unwrap().iter())
        .find(|i| i["addr"] == addr.to_string())?;
    Some((inst["available"].as_bool()?, inst["reason"].as_str()?.to_string()))
}

#[test]
fn sent_writes_are_never_repeated_and_reads_are() {
    let registry = TestRegistry::new("balancer-failures");
    let cfg = registry.cfg.clone();
    // The crasher below is hand-written and speaks only the native frames,
    // so this balancer dials native whatever STACKWIRE_RPC_TRANSPORT says.
    let bal = Balancer::start_env(
        &["--upstream-timeout-ms", "3000", "--admin", "127.0.0.1:0"],
        &[registry.env().as_slice(), &[("STACKWIRE_RPC_TRANSPORT", "native")]].concat(),
    );

    let good = Arc::new(Good::default());
    let server =
        proto::rpc_server::serve(TcpListener::bind("127.0.0.1:0").unwrap(), good.clone(), ServerConfig::new("Good"))
            .unwrap();
    let good_addr = server.local_addr();
    let crashed = Arc::new(Mutex::new(Vec::new()));
    let crasher = start_crasher(crashed.clone());
    let _a = Agent::start(cfg.clone(), "webui", good_addr, descriptor(), Arc::new(|| 0)).unwrap();
    let crasher_agent = Agent::start(cfg.clone(), "webui", crasher, descriptor(), Arc::new(|| 0)).unwrap();
    wait_for("both instances listed", Duration::from_secs(5), || {
        (state_of(&bal, good_addr).is_some() && state_of(&bal, crasher).is_some()).then_some(())
    });

    // GETs: whichever instance is chosen, every one is answered.
    for i in 0..6 {
        let r = get(&bal, &format!("/read/{i}"));
        assert_eq!(r.status, 200, "GET /read/{i}: {}", r.text());
    }
    let crashed_gets = crashed.lock().unwrap().iter().filter(|s| s.starts_with("GET")).count();
    assert!(crashed_gets >= 1, "the crasher got a GET");
    // The crasher is out of rotation after its first lost connection.
    let (available, reason) = state_of(&bal, crasher).unwrap();
    assert!(!available && reason.contains("connection lost"), "{available} {reason}");
    wait_for("the crasher back in rotation (its probes pass)", Duration::from_secs(10), || {
        state_of(&bal, crasher).is_some_and(|s| s.0).then_some(())
    });

    // POSTs until one meets the crasher: that one is not sent again.
    let mut answered_503 = 0;
    for i in 0..40 {
        let before = crashed.lock().unwrap().len();
        let r = post(&bal, &format!("/write/{i}"));
        let crashed_now = crashed.lock().unwrap().len() > before;
        if crashed_now {
            assert_eq!(r.status, 503, "a POST whose connection died is answered, not repeated: {}", r.text());
            answered_503 += 1;
            // Let the crasher come back for another round.
            wait_for("the crasher back", Duration::from_secs(10), || {
                state_of(&bal, crasher).is_some_and(|s| s.0).then_some(())
            });
        } else {
            assert_eq!(r.status, 200, "POST /write/{i}: {}", r.text());
        }
        if answered_503 == 2 {
            break;
        }
    }
    assert_eq!(answered_503, 2, "two POSTs met the crasher");
    let good_writes: Vec<String> =
        good.seen.lock().unwrap().iter().filter(|s| s.starts_with("POST")).cloned().collect();
    let crashed_writes: Vec<String> =
        crashed.lock().unwrap().iter().filter(|s| s.starts_with("POST")).cloned().collect();
    for w in &crashed_writes {
        assert!(!good_writes.contains(w), "{w} reached the crasher and was sent again");
    }
    let mut all: Vec<&String> = good_writes.iter().chain(crashed_writes.iter()).collect();
    let n = all.len();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), n, "no POST was handled twice");

    // A registered address where nothing listens: never sent, so even POSTs move on.
    crasher_agent.deregister();
    wait_for("the crasher gone", Duration::from_secs(5), || state_of(&bal, crasher).is_none().then_some(()));
    let dead: SocketAddr = testkit::refused_addr();
    let _c = Agent::start(cfg.clone(), "webui", dead, descriptor(), Arc::new(|| 0)).unwrap();
    wait_for("the dead address listed", Duration::from_secs(5), || state_of(&bal, dead).map(|_| ()));
    let hits = AtomicUsize::new(0);
    for i in 0..6 {
        let r = post(&bal, &format!("/never-sent/{i}"));
        assert_eq!(r.status, 200, "POST /never-sent/{i}: {}", r.text());
        hits.fetch_add(1, Ordering::Relaxed);
    }
    let seen = good.seen.lock().unwrap().iter().filter(|s| s.starts_with("POST /never-sent/")).count();
    assert_eq!(seen, hits.load(Ordering::Relaxed), "each POST ran exactly once");
    let (available, _) = state_of(&bal, dead).unwrap();
    assert!(!available, "the refusing address is out of rotation");
}
