//! Registry mode chooses among RPC instances by power of two choices on
//! Peak-EWMA latency × (in flight + 1): with one fast and one slow instance
//! of a service, nearly every request goes to the fast one once the slow one
//! has been seen to be slow. Round robin or least-in-flight with rotated ties
//! would split sequential requests about evenly.
//!
//! Needs `STACKWIRE_TEST_REDIS_URL` (scripts/test.sh sets it); fails without it.

mod common;

use common::{get, wait_for, Balancer};
use prost::Message;
use proto::pb::HttpResponse;
use proto::{CallContext, Handler, ServerConfig, Status};
use registry_agent::{Agent, Descriptor, RegistryConfig};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

struct Delayed {
    delay: Duration,
    hits: AtomicUsize,
}

impl Handler for Delayed {
    fn handle(&self, _ctx: &CallContext<'_>, _payload: &[u8]) -> Result<Vec<u8>, Status> {
        self.hits.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(self.delay);
        Ok(HttpResponse::with_body(200, "text/plain", b"ok".to_vec()).encode_to_vec())
    }
}

fn start(cfg: &RegistryConfig, delay_ms: u64) -> (Arc<Delayed>, Agent) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let h = Arc::new(Delayed { delay: Duration::from_millis(delay_ms), hits: AtomicUsize::new(0) });
    let server = proto::rpc_server::serve(listener, h.clone(), ServerConfig::new("Delayed::Worker")).unwrap();
    let d = Descriptor { name: "WebUI".into(), title: "Web pages".into(), methods: vec![], routes: vec![] };
    let agent = Agent::start(cfg.clone(), "webui", server.local_addr(), d, Arc::new(|| 0)).unwrap();
    (h, agent)
}

#[test]
fn the_fast_instance_gets_nearly_all_sequential_requests() {
    let url =
        std::env::var("STACKWIRE_TEST_REDIS_URL").expect("STACKWIRE_TEST_REDIS_URL is not set: run scripts/test.sh");
    let mut cfg = RegistryConfig::new(&url);
    cfg.prefix = format!("balancer-choice-{}", std::process::id());
    let (fast, fast_agent) = start(&cfg, 2);
    let (slow, slow_agent) = start(&cfg, 80);
    let prefix = cfg.prefix.clone();
    let bal = Balancer::start_env(&[], &[("STACKWIRE_REDIS_URL", &url), ("STACKWIRE_REGISTRY_PREFIX", &prefix)]);
    wait_for("both instances in the catalog", Duration::from_secs(5), || {
        let r = get(&bal, "/webserv/services");
        (r.text().matches("\"addr\"").count() >= 3).then_some(())
    });
    let n = 60;
    for _ in 0..n {
        assert_eq!(get(&bal, "/").status, 200);
    }
    let (f, s) = (fast.hits.load(Ordering::SeqCst), slow.hits.load(Ordering::SeqCst));
    assert_eq!(f + s, n, "every request served once");
    assert!(s <= 5, "the slow instance got {s} of {n} requests (fast {f}); Peak-EWMA should avoid it");
    fast_agent.deregister();
    slow_agent.deregister();
}
