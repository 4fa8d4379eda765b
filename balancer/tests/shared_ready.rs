//! A balancer joining a shared (`SO_REUSEPORT`) port must not take traffic
//! before it can serve it: it binds the shared port only once its registry
//! view holds every service its route table names. Without the gate a
//! balancer restarted into a pool answers 503 for whatever it has not yet
//! seen, while its siblings serve the same requests fine.
//!
//! Needs `STACKWIRE_TEST_REDIS_URL` (scripts/test.sh sets it); fails without it.

mod common;

use common::wait_for;
use prost::Message;
use proto::pb::HttpResponse;
use proto::{CallContext, Handler, ServerConfig, Status};
use registry_agent::{Agent, Descriptor, RegistryConfig};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

struct Hello;

impl Handler for Hello {
    fn handle(&self, _ctx: &CallContext<'_>, _payload: &[u8]) -> Result<Vec<u8>, Status> {
        Ok(HttpResponse::with_body(200, "text/plain", b"hello".to_vec()).encode_to_vec())
    }
}

fn register(cfg: &RegistryConfig, service: &str) -> Agent {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let h = proto::rpc_server::serve(listener, Arc::new(Hello), ServerConfig::new("Hello::Worker")).unwrap();
    let d = Descriptor { name: service.into(), title: service.into(), methods: vec![], routes: vec![] };
    Agent::start(cfg.clone(), service, h.local_addr(), d, Arc::new(|| 0)).unwrap()
}

fn free_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
}

fn get_root(addr: SocketAddr) -> Option<String> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.write_all(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

#[test]
fn a_balancer_joins_the_shared_port_only_once_it_sees_every_routed_service() {
    let url =
        std::env::var("STACKWIRE_TEST_REDIS_URL").expect("STACKWIRE_TEST_REDIS_URL is not set: run scripts/test.sh");
    let mut cfg = RegistryConfig::new(&url);
    cfg.prefix = format!("balancer-ready-{}", std::process::id());
    // Every routed service but the webui is already there.
    let mut agents: Vec<Agent> =
        ["question", "answer", "comment", "user", "vote"].iter().map(|s| register(&cfg, s)).collect();

    let shared = free_port();
    let dir = std::env::temp_dir().join(format!("balancer-ready-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_balancer"))
        .args(["--listen", "127.0.0.1:0", "--shared-listen", &shared.to_string()])
        .env("STACKWIRE_REDIS_URL", &url)
        .env("STACKWIRE_REGISTRY_PREFIX", &cfg.prefix)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("stderr.log")).unwrap())
        .spawn()
        .expect("spawn balancer");

    // For a good while the shared port refuses: nothing of ours is bound there.
    for _ in 0..10 {
        std::thread::sleep(Duration::from_millis(100));
        assert!(TcpStream::connect(shared).is_err(), "shared port open before the webui was in view");
        assert!(child.try_wait().unwrap().is_none(), "balancer exited");
    }

    agents.push(register(&cfg, "webui"));
    let reply = wait_for("the shared port to serve GET /", Duration::from_secs(5), || get_root(shared));
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.ends_with("hello"), "{reply}");

    let _ = child.kill();
    let _ = child.wait();
    for a in agents {
        a.deregister();
    }
    let _ = std::fs::remove_dir_all(&dir);
}
