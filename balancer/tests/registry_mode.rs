//! Registry mode against a real Redis: an in-process RPC echo service
//! registers as `webui` through `registry_agent::Agent`, and the balancer
//! binary must discover it from the registry alone, forward to it, map its
//! statuses, time it out, list it in the catalog, skip an unreachable
//! instance, and forget it when it deregisters.
//!
//! Needs `STACKWIRE_TEST_REDIS_URL` (scripts/test.sh sets it). Without it the
//! test fails rather than pass unchecked.

mod common;

use common::{get, request, wait_for, webui_descriptor, Balancer, TestRegistry};
use prost::Message;
use proto::pb::{Header, HttpRequest, HttpResponse};
use proto::{CallContext, Handler, ServerConfig, Status};
use registry_agent::{Agent, RegistryConfig};
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Answers with a JSON description of the HttpRequest it got.
struct Echo {
    name: &'static str,
    hits: AtomicUsize,
}

impl Handler for Echo {
    fn handle(&self, _ctx: &CallContext<'_>, payload: &[u8]) -> Result<Vec<u8>, Status> {
        let req = HttpRequest::decode(payload).map_err(|e| Status::invalid(e.to_string()))?;
        self.hits.fetch_add(1, Ordering::SeqCst);
        if req.path == "/missing" {
            return Err(Status::not_found("no such thing"));
        }
        if req.path == "/sleep" {
            std::thread::sleep(Duration::from_millis(1500));
        }
        let headers: serde_json::Map<String, serde_json::Value> = req
            .headers
            .iter()
            .map(|h| (h.name.to_ascii_lowercase(), String::from_utf8_lossy(&h.value).into()))
            .collect();
        let body = serde_json::json!({
            "instance": self.name,
            "method": req.method,
            "path": req.path,
            "query": req.query,
            "body": String::from_utf8_lossy(&req.body),
            "client_addr": req.client_addr,
            "request_id": req.request_id,
            "headers": headers,
        });
        let resp = HttpResponse {
            status: 200,
            headers: vec![Header { name: "Content-Type".into(), value: b"application/json".to_vec() }],
            body: body.to_string().into_bytes().into(),
        };
        Ok(resp.encode_to_vec())
    }
}

fn start_echo(cfg: &RegistryConfig, name: &'static str) -> (Arc<Echo>, Agent, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let echo = Arc::new(Echo { name, hits: AtomicUsize::new(0) });
    let handle = proto::rpc_server::serve(listener, echo.clone(), ServerConfig::new("WebUI::Worker")).unwrap();
    let addr = handle.local_addr();
    let h = handle.clone();
    let agent =
        Agent::start(cfg.clone(), "webui", addr, webui_descriptor(), Arc::new(move || h.in_flight() as u64)).unwrap();
    (echo, agent, addr)
}

fn catalog(bal: &Balancer) -> serde_json::Value {
    let r = get(bal, "/webserv/services");
    assert_eq!(r.status, 200, "{}", r.text());
    serde_json::from_slice(&r.body).unwrap()
}

fn webui_addrs(bal: &Balancer) -> Vec<String> {
    let c = catalog(bal);
    c["services"][3]["instances"].as_array().unwrap().iter().map(|i| i["addr"].as_str().unwrap().to_string()).collect()
}

fn json(r: &common::Resp) -> serde_json::Value {
    serde_json::from_slice(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.text()))
}

#[test]
fn forwards_to_instances_found_only_in_the_registry() {
    let registry = TestRegistry::new("balancer-test");
    let cfg = registry.cfg.clone();
    let bal = Balancer::start_env(&["--upstream-timeout-ms", "700"], &registry.env());

    // Nothing registered: the catalog shows the four services, empty; requests get 503.
    let c = catalog(&bal);
    let names: Vec<&str> = c["services"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    // Every balancer registers itself as service "balancer" (issue 5).
    assert_eq!(names, ["Question", "Answer", "Comment", "WebUI", "Balancer"]);
    let r = get(&bal, "/anything");
    assert_eq!((r.status, r.header("retry-after")), (503, Some("1")), "{}", r.text());
    assert!(json(&r)["error"].as_str().unwrap().contains("webui"));

    // One instance registers and is seen within a second.
    let (one, agent_one, addr_one) = start_echo(&cfg, "one");
    let t = Instant::now();
    wait_for("the instance in the catalog", Duration::from_secs(5), || {
        webui_addrs(&bal).contains(&addr_one.to_string()).then_some(())
    });
    assert!(t.elapsed() <= Duration::from_secs(1), "seen after {:?}", t.elapsed());
    let c = catalog(&bal);
    let w = &c["services"][3];
    assert_eq!((w["id"].as_u64(), w["title"].as_str()), (Some(3), Some("Web pages")));
    assert_eq!(w["methods"][0]["name"], proto::methods::WEB_HANDLE);
    for k in ["id", "addr", "pid", "load", "in_flight", "last_heartbeat_ms", "ttl_ms"] {
        assert!(!w["instances"][0][k].is_null(), "instance lacks {k}: {w}");
    }

    // Forwarding: what the service receives.
    let r = request(
        &bal,
        "POST /any%20thing?x=1 HTTP/1.1\r\nHost: t\r\nX-Request-Id: reg-1\r\nTransfer-Encoding: chunked\r\n\
         Connection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("x-request-id"), Some("reg-1"));
    let v = json(&r);
    assert_eq!(
        (v["method"].as_str(), v["path"].as_str(), v["query"].as_str()),
        (Some("POST"), Some("/any thing"), Some("x=1"))
    );
    assert_eq!((v["body"].as_str(), v["request_id"].as_str()), (Some("abc"), Some("reg-1")));
    assert!(v["client_addr"].as_str().unwrap().starts_with("127.0.0.1:"));
    assert_eq!(v["headers"]["x-forwarded-for"], "127.0.0.1");
    assert_eq!(v["headers"]["x-forwarded-proto"], "http");
    assert!(v["headers"].get("transfer-encoding").is_none() && v["headers"].get("connection").is_none());
    // Worker lines reach the log within the logger's flush tick.
    wait_for("the worker line of reg-1", Duration::from_secs(5), || {
        bal.log().contains("Balancer::Worker JID-reg-1 INFO: start").then_some(())
    });

    // Statuses map through Code::http_status.
    let r = get(&bal, "/missing");
    assert_eq!(r.status, 404);
    assert_eq!(json(&r)["error"], "no such thing");

    // A slow call is cut at the deadline, and counted in flight meanwhile.
    let b2 = bal.addr;
    let slow = std::thread::spawn(move || {
        let mut s = std::net::TcpStream::connect(b2).unwrap();
        std::io::Write::write_all(&mut s, b"GET /sleep HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").unwrap();
        let t = Instant::now();
        let mut out = String::new();
        let _ = std::io::Read::read_to_string(&mut s, &mut out);
        (out, t.elapsed())
    });
    wait_for("in_flight 1 in the catalog", Duration::from_secs(3), || {
        (catalog(&bal)["services"][3]["instances"][0]["in_flight"] == 1).then_some(())
    });
    let (out, took) = slow.join().unwrap();
    assert!(out.starts_with("HTTP/1.1 504 "), "{out}");
    assert!(took < Duration::from_millis(1300), "504 after {took:?}");
    wait_for("the cancelled call to leave in_flight", Duration::from_secs(3), || {
        (catalog(&bal)["services"][3]["instances"][0]["in_flight"] == 0).then_some(())
    });

    // A second instance shares the work; an unreachable third is skipped.
    let (two, agent_two, addr_two) = start_echo(&cfg, "two");
    let dead: SocketAddr = testkit::refused_addr();
    let agent_dead = Agent::start(cfg.clone(), "webui", dead, webui_descriptor(), Arc::new(|| 0)).unwrap();
    wait_for("three instances", Duration::from_secs(5), || (webui_addrs(&bal).len() == 3).then_some(()));
    let (h1, h2) = (one.hits.load(Ordering::SeqCst), two.hits.load(Ordering::SeqCst));
    for _ in 0..12 {
        let r = get(&bal, "/spread");
        assert_eq!(r.status, 200, "the dead instance is skipped: {}", r.text());
    }
    let (d1, d2) = (one.hits.load(Ordering::SeqCst) - h1, two.hits.load(Ordering::SeqCst) - h2);
    assert_eq!(d1 + d2, 12);
    assert!(d1 >= 3 && d2 >= 3, "both instances serve: {d1} / {d2}");

    // Deregistered instances leave at once; with none left, 503 again.
    agent_dead.deregister();
    agent_two.deregister();
    wait_for("one instance left", Duration::from_secs(3), || {
        (webui_addrs(&bal) == [addr_one.to_string()]).then_some(())
    });
    let before = one.hits.load(Ordering::SeqCst);
    assert_eq!(get(&bal, "/again").status, 200);
    assert_eq!(one.hits.load(Ordering::SeqCst), before + 1);
    let _ = addr_two;
    agent_one.deregister();
    wait_for("no instance left", Duration::from_secs(3), || webui_addrs(&bal).is_empty().then_some(()));
    // Self-preservation (issue 5): the whole service vanished from the
    // registry at once, but its last instance still passes health checks,
    // so it keeps serving instead of the service going dark.
    let before = one.hits.load(Ordering::SeqCst);
    assert_eq!(get(&bal, "/gone").status, 200);
    assert_eq!(one.hits.load(Ordering::SeqCst), before + 1);
}
