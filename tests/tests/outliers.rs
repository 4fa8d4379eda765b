//! Issue 10: no query of death. A stream of identical poisoned requests (each
//! one fails in the handler: RPC `INTERNAL`, or an HTTP 500 page) at one
//! service whose instances pass their health checks and serve every other
//! request must not take any instance out of rotation.
//!
//! Two `rpc_echo` instances (the controllable backend: `/poison` fails the
//! handler, `/poison-http` answers 500) behind a real balancer in registry
//! mode; 50 poisoned requests in a row, in runs of ten with an ordinary
//! request after each run. The balancer spreads consecutive requests over
//! both instances, so under a "5 server errors in a row" rule (Envoy's
//! default, which stackwire used before) each run of ten would eject one.
//! Asserted from `/status/json` on the admin listener: both instances still
//! available, never ejected, their probes passing; and every ordinary request
//! answered 200.

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use testkit::{wait_for, HttpClient, Proc, TestEnv};

fn spawn(env: &TestEnv, dir: &std::path::Path, label: &str, bin: &str, args: &[&str], prefix: &str) -> Proc {
    let log = dir.join(format!("{label}.log"));
    let mut cmd = Command::new(env.bin_dir.join(bin));
    cmd.args(args)
        .env("STACKWIRE_REDIS_URL", &env.redis_url)
        .env("STACKWIRE_REGISTRY_PREFIX", prefix)
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    Proc::start(label, cmd, log)
}

/// One instance of service `webui` in a status document.
#[derive(Debug)]
struct Seen {
    addr: String,
    available: bool,
    ejections: u64,
    probe_ok: bool,
    probe_ms_ago: u64,
}

fn instances(status: &serde_json::Value) -> Vec<Seen> {
    status["services"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["service"] == "webui")
        .flat_map(|s| s["instances"].as_array().cloned().unwrap_or_default())
        .map(|i| Seen {
            addr: i["addr"].as_str().unwrap_or("").to_string(),
            available: i["available"].as_bool().unwrap_or(false),
            ejections: i["ejections"].as_u64().unwrap_or(0),
            probe_ok: i["last_probe_ok"].as_bool().unwrap_or(false),
            probe_ms_ago: i["last_probe_ms_ago"].as_u64().unwrap_or(u64::MAX),
        })
        .collect()
}

#[test]
fn fifty_poisoned_requests_eject_nobody() {
    let env = TestEnv::get();
    let tag = format!("outliers_{}", std::process::id());
    let dir = env.log_dir.join(&tag);
    std::fs::create_dir_all(&dir).expect("log dir");
    let prefix = format!("test-{tag}");
    let echo_args = ["--listen", "127.0.0.1:0", "--service", "webui"];
    let a = spawn(&env, &dir, "echo-1", "rpc_echo", &echo_args, &prefix);
    let b = spawn(&env, &dir, "echo-2", "rpc_echo", &echo_args, &prefix);
    let bal =
        spawn(&env, &dir, "balancer", "balancer", &["--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0"], &prefix);
    let admin = HttpClient::new(bal.admin_addr());
    let status = || {
        let r = admin.get("/status/json");
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()
    };
    let want: Vec<String> = [a.addr, b.addr].iter().map(SocketAddr::to_string).collect();
    wait_for("both echo instances probed healthy", Duration::from_secs(15), || {
        let list = instances(&status());
        want.iter().all(|w| list.iter().any(|i| &i.addr == w && i.available && i.probe_ok)).then_some(())
    });

    let http = HttpClient::new(bal.addr);
    let mut ordinary = Vec::new();
    for run in 0..5 {
        for i in 0..10 {
            let path = if (run + i) % 2 == 0 { "/poison" } else { "/poison-http" };
            let r = http.get(path);
            assert_eq!(r.status, 500, "{path} is answered as the handler's failure: {}", r.text());
        }
        ordinary.push(http.get("/").status);
    }
    assert!(ordinary.iter().all(|s| *s == 200), "ordinary requests interleaved: {ordinary:?}");

    // Wait for a probe of each instance made after the poison, so that the
    // verdict includes what its health checks say now.
    let poisoned = Instant::now();
    let list = wait_for("a probe of each instance after the poison", Duration::from_secs(5), || {
        let list = instances(&status());
        let fresh = poisoned.elapsed().as_millis() as u64;
        (list.len() == 2 && list.iter().all(|i| i.probe_ms_ago < fresh)).then_some(list)
    });
    for i in &list {
        assert!(i.available, "{} left rotation after poisoned requests: {list:?}", i.addr);
        assert_eq!(i.ejections, 0, "{} was ejected by a query of death: {list:?}", i.addr);
        assert!(i.probe_ok, "{}: its health checks pass: {list:?}", i.addr);
    }
    // Both instances served ordinary requests throughout.
    for _ in 0..4 {
        assert_eq!(http.get("/").status, 200);
    }
}
