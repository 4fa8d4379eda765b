//! The registry against a real Redis (STACKWIRE_TEST_REDIS_URL, started by
//! scripts/test.sh): records carry what the catalog needs, expire when beats
//! stop, vanish at once on deregistration, come back whole after being lost,
//! and reach a Directory within a second.

use registry_agent::{Agent, Descriptor, Directory, MethodDesc, RegistryConfig};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use testkit::poll;

fn cfg(name: &str) -> RegistryConfig {
    let url = std::env::var("STACKWIRE_TEST_REDIS_URL").expect("STACKWIRE_TEST_REDIS_URL: run through scripts/test.sh");
    let mut c = RegistryConfig::new(&url);
    c.prefix = format!("ra-test-{name}-{}", std::process::id());
    c.ttl = Duration::from_millis(600);
    c.heartbeat = Duration::from_millis(200);
    c.resync = Duration::from_millis(200);
    c
}

fn descriptor() -> Descriptor {
    Descriptor {
        name: "Echo".into(),
        title: "Webservice: Echoing".into(),
        methods: vec![MethodDesc::new("/test.Echo/Say", "Msg", "Msg")],
        routes: vec!["GET /echo".into()],
    }
}

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

#[test]
fn record_carries_address_descriptor_and_load() {
    let c = cfg("record");
    let load = Arc::new(AtomicU64::new(0));
    let l = load.clone();
    let agent =
        Agent::start(c.clone(), "echo", addr(1111), descriptor(), Arc::new(move || l.load(Ordering::Relaxed))).unwrap();
    let listed = registry_agent::list_once(&c).unwrap();
    let recs = &listed["echo"];
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].addr, "127.0.0.1:1111");
    assert_eq!(recs[0].pid, std::process::id());
    assert_eq!(recs[0].ttl_ms, 600);
    assert_eq!(recs[0].descriptor, descriptor());
    assert_eq!(recs[0].id, agent.instance_id());

    // The next beats report the new load.
    load.store(7, Ordering::Relaxed);
    let seen =
        poll(Duration::from_secs(2), || (registry_agent::list_once(&c).unwrap()["echo"][0].load == 7).then_some(()));
    assert!(seen.is_some(), "load reported by heartbeat");
    agent.deregister();
    assert!(registry_agent::list_once(&c).unwrap()["echo"].is_empty(), "deregistration is immediate");
}

#[test]
fn an_instance_that_stops_beating_expires_after_its_ttl() {
    let c = cfg("expiry");
    let agent = Agent::start(c.clone(), "echo", addr(2222), descriptor(), Arc::new(|| 0)).unwrap();
    // Still there after several TTLs while it beats.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(registry_agent::list_once(&c).unwrap()["echo"].len(), 1, "kept alive by heartbeats");
    // Dropping without deregistering stops the beats, like a frozen process.
    drop(agent);
    let stopped = Instant::now();
    let gone = poll(Duration::from_secs(3), || registry_agent::list_once(&c).unwrap()["echo"].is_empty().then_some(()));
    assert!(gone.is_some(), "expired");
    assert!(stopped.elapsed() <= Duration::from_millis(600 + 300), "expired after {:?}", stopped.elapsed());
}

#[test]
fn a_vanished_record_is_rewritten_whole_at_the_next_beat() {
    let c = cfg("heal");
    let agent = Agent::start(c.clone(), "echo", addr(3333), descriptor(), Arc::new(|| 0)).unwrap();
    let client = redis::Client::open(c.url.as_str()).unwrap();
    let mut con = client.get_connection().unwrap();
    // As if Redis lost everything (a restart or a failover).
    let keys: Vec<String> = redis::cmd("KEYS").arg(format!("{}:*", c.prefix)).query(&mut con).unwrap();
    assert!(!keys.is_empty());
    redis::cmd("DEL").arg(&keys).query::<()>(&mut con).unwrap();
    assert!(!registry_agent::list_once(&c).unwrap().contains_key("echo"));
    let back = poll(Duration::from_secs(2), || registry_agent::list_once(&c).unwrap().get("echo").cloned());
    let back = back.expect("record rewritten");
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].descriptor, descriptor(), "rewritten whole, descriptor included");
    agent.deregister();
}

#[test]
fn a_directory_sees_registrations_within_a_second() {
    let mut c = cfg("watch");
    // Make the periodic resync slow, so only the pub/sub event can be fast.
    c.resync = Duration::from_secs(5);
    let dir = Directory::start(c.clone());
    let v0 = dir.snapshot().version;
    let began = Instant::now();
    let agent = Agent::start(c.clone(), "echo", addr(4444), descriptor(), Arc::new(|| 0)).unwrap();
    let snap = dir.wait_newer(v0, Duration::from_secs(3));
    assert_eq!(snap.instances("echo").len(), 1, "seen through the event channel");
    assert!(began.elapsed() < Duration::from_secs(1), "seen after {:?}", began.elapsed());
    let v1 = snap.version;
    agent.deregister();
    let snap = dir.wait_newer(v1, Duration::from_secs(3));
    assert!(snap.instances("echo").is_empty(), "deregistration seen");
}

#[test]
fn a_bad_url_is_a_clear_error_not_a_hang() {
    let mut c = cfg("bad");
    c.url = "redis://127.0.0.1:1/".into();
    let began = Instant::now();
    let err = Agent::start(c, "echo", addr(5555), descriptor(), Arc::new(|| 0)).err().expect("refused");
    assert!(err.to_string().contains("redis"), "{err}");
    assert!(began.elapsed() < Duration::from_secs(3));
}

/// The operator command `registry_agent` from an empty environment plus `env`.
fn registry_agent(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_registry_agent"))
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .output()
        .expect("run registry_agent");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

#[test]
fn the_command_line_takes_flags_over_the_environment_and_names_what_is_wrong() {
    let url = std::env::var("STACKWIRE_TEST_REDIS_URL").expect("STACKWIRE_TEST_REDIS_URL: run through scripts/test.sh");
    let c = cfg("cli");
    let prefix = c.prefix.clone();
    let agent = Agent::start(c, "echo", addr(6666), descriptor(), Arc::new(|| 0)).unwrap();

    // The environment alone, as scripts run it.
    let (code, out, err) =
        registry_agent(&["list"], &[("STACKWIRE_REDIS_URL", &url), ("STACKWIRE_REGISTRY_PREFIX", &prefix)]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("echo (1 live)") && out.contains("127.0.0.1:6666"), "{out}");
    // A flag wins over its variable: a dead URL in the environment is not used.
    let dead = [("STACKWIRE_REDIS_URL", "redis://127.0.0.1:1/"), ("STACKWIRE_REGISTRY_PREFIX", "elsewhere")];
    let (code, out, err) = registry_agent(&["--redis-url", &url, "--registry-prefix", &prefix, "list"], &dead);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("127.0.0.1:6666"), "{out}");
    let (code, _, err) = registry_agent(&["list"], &dead);
    assert_eq!(code, Some(1), "the dead URL of the environment is used without the flag: {err}");
    agent.deregister();

    // Errors name the setting and where it comes from; nothing is tried.
    let (code, _, err) = registry_agent(&["list"], &[]);
    assert_eq!(code, Some(2));
    assert!(err.contains("STACKWIRE_REDIS_URL (--redis-url) is not set"), "{err}");
    let (code, _, err) = registry_agent(&["list"], &[("STACKWIRE_REDIS_URL", &url), ("STACKWIRE_HEARTBEAT_MS", "0")]);
    assert_eq!(code, Some(2));
    assert!(err.contains("--heartbeat-ms") && err.contains("STACKWIRE_HEARTBEAT_MS"), "{err}");
    let (code, _, err) = registry_agent(&["--redis-sentinels", "nohost", "list"], &[]);
    assert_eq!(code, Some(2));
    assert!(err.contains("\"nohost\"") && err.contains("HOST:PORT"), "{err}");
    let (code, _, err) = registry_agent(&["lsit"], &[("STACKWIRE_REDIS_URL", &url)]);
    assert_eq!(code, Some(2), "an unknown command is a usage error: {err}");

    // --help lists every variable and shows no secret; --version answers.
    let (code, out, _) =
        registry_agent(&["--help"], &[("STACKWIRE_REDIS_PASSWORD", "hunter2"), ("STACKWIRE_REDIS_URL", &url)]);
    assert_eq!(code, Some(0));
    for var in [
        "STACKWIRE_REDIS_URL",
        "STACKWIRE_REDIS_SENTINELS",
        "STACKWIRE_REDIS_MASTER",
        "STACKWIRE_REDIS_PASSWORD",
        "STACKWIRE_REGISTRY_PREFIX",
        "STACKWIRE_REGISTRY_TTL_MS",
        "STACKWIRE_HEARTBEAT_MS",
        "STACKWIRE_RESYNC_MS",
    ] {
        assert!(out.contains(var), "--help names {var}: {out}");
    }
    assert!(!out.contains("hunter2") && !out.contains(&url), "--help shows no password or URL: {out}");
    let (code, out, _) = registry_agent(&["--version"], &[]);
    assert_eq!((code, out.trim()), (Some(0), concat!("registry_agent ", env!("CARGO_PKG_VERSION"))));
}
