//! Unit tests of `balancer/src/ops/config.rs`, compiled into the library's own test
//! binary through `#[path]` (they reach private items through `super`).

use super::*;
use std::sync::Mutex;

/// clap reads the process environment: tests that set variables, and those
/// that must not see them, take turns.
static ENV: Mutex<()> = Mutex::new(());

fn env_lock() -> std::sync::MutexGuard<'static, ()> {
    ENV.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs `f` with the variables set, then removes them.
fn with_env<T>(vars: &[(&str, &str)], f: impl FnOnce() -> T) -> T {
    let _g = env_lock();
    for (k, v) in vars {
        std::env::set_var(k, v);
    }
    let out = f();
    for (k, _) in vars {
        std::env::remove_var(k);
    }
    out
}

fn p(args: &[&str]) -> Result<Config, LoadError> {
    with_env(&[], || load(args.iter().map(OsString::from)))
}

fn conf(text: &str) -> std::path::PathBuf {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let p = std::env::temp_dir().join(format!("balancer-conf-{}-{n}.toml", std::process::id()));
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn defaults() {
    let c = p(&[]).unwrap();
    // The registry settings come from the environment the tests run in
    // (`the_registry_flags_are_registry_agents`).
    assert_eq!(Config { registry: RegistryArgs::default(), ..c.clone() }, Config::default());
    assert_eq!(c.listen.to_string(), "0.0.0.0:8080");
}

#[test]
fn every_flag_in_both_forms() {
    let c = p(&[
        "--listen",
        "127.0.0.1:0",
        "--shared-listen=127.0.0.1:8080",
        "--upstream=http://127.0.0.1:9001",
        "--upstream",
        "http://127.0.0.1:9002/",
        "--routes",
        "/etc/routes",
        "--workers=4",
        "--queue=8",
        "--header-timeout-ms",
        "1000",
        "--idle-timeout-ms=2000",
        "--upstream-timeout-ms",
        "3000",
        "--drain-timeout-ms",
        "4000",
        "--max-connections",
        "5",
    ])
    .unwrap();
    assert_eq!(c.listen.port(), 0);
    assert_eq!(c.shared_listen, Some(SocketAddr::from(([127, 0, 0, 1], 8080))));
    let ports: Vec<u16> = c.upstreams.iter().map(|u| u.addr.port()).collect();
    assert_eq!(ports, [9001, 9002]);
    assert_eq!(c.upstreams[1].authority, "127.0.0.1:9002");
    assert_eq!(c.routes, Some(PathBuf::from("/etc/routes")));
    assert_eq!(c.workers, 4);
    assert_eq!(c.queue, 8);
    assert_eq!(c.header_timeout, Duration::from_secs(1));
    assert_eq!(c.idle_timeout, Duration::from_secs(2));
    assert_eq!(c.upstream_timeout, Duration::from_secs(3));
    assert_eq!(c.drain_timeout, Duration::from_secs(4));
    assert_eq!(c.max_connections, 5);
}

#[test]
fn bad_values_name_the_flag() {
    use clap::error::ErrorKind;
    let kind = |r: Result<Config, LoadError>| match r {
        Err(LoadError::Cli(e)) => Some(e.kind()),
        _ => None,
    };
    assert_eq!(kind(p(&["--help"])), Some(ErrorKind::DisplayHelp));
    assert_eq!(kind(p(&["--version"])), Some(ErrorKind::DisplayVersion));
    let e = p(&["--workers"]).unwrap_err();
    assert!(matches!(&e, LoadError::Cli(c) if c.kind() == ErrorKind::InvalidValue), "{e:?}");
    assert!(e.to_string().contains("--workers"), "{e}");
    let e = p(&["--frobnicate"]).unwrap_err();
    assert!(matches!(&e, LoadError::Cli(c) if c.kind() == ErrorKind::UnknownArgument), "{e:?}");
    assert!(e.to_string().contains("--frobnicate"), "{e}");
    for (flag, value) in [
        ("--workers", "0"),
        ("--workers", "many"),
        ("--queue", "0"),
        ("--header-timeout-ms", "-5"),
        ("--listen", "nonsense"),
        ("--upstream", "https://127.0.0.1:1"),
        ("--upstream", "http://127.0.0.1:1/path"),
        ("--upstream", "http://"),
        ("--max-connections", "0"),
    ] {
        let e = p(&[flag, value]).unwrap_err();
        assert!(
            matches!(&e, LoadError::Flag(ConfigError::BadValue { flag: f, .. }) if f == flag),
            "{flag} {value}: {e:?}"
        );
        assert!(e.to_string().contains(value), "{e}");
    }
}

#[test]
fn every_flag_has_its_environment_name() {
    let known = settings();
    for f in ["listen", "upstream", "idle-timeout-ms", "balance", "admin", "loops"] {
        assert!(known.iter().any(|(k, _)| k == f), "{f} missing from {known:?}");
    }
    for (key, env) in &known {
        let want = format!("{ENV_PREFIX}{}", key.replace('-', "_").to_ascii_uppercase());
        assert_eq!(env.as_deref(), Some(want.as_str()), "--{key}");
    }
    assert!(!known.iter().any(|(k, _)| k == "help" || k == "version" || k == "config"));
}

#[test]
fn flags_beat_environment_beats_file() {
    let p = conf(
        "# comment\nidle-timeout-ms = 1000\nworkers=3\nupstream = [\"http://127.0.0.1:9001\", \"http://127.0.0.1:9002\"]\nloops = \"2\" # trailing\n",
    );
    let path = p.to_str().unwrap();
    let env = [
        ("STACKWIRE_BALANCER_IDLE_TIMEOUT_MS", "2000"),
        ("STACKWIRE_BALANCER_UPSTREAM", "http://127.0.0.1:9003, http://127.0.0.1:9004"),
    ];
    let c = with_env(&env, || load(["--config", path, "--workers=7"].map(OsString::from))).unwrap();
    assert_eq!(c.idle_timeout, Duration::from_millis(2000), "environment over file");
    assert_eq!(c.workers, 7, "flag over file");
    assert_eq!(c.loops, 2, "file alone");
    let ports: Vec<u16> = c.upstreams.iter().map(|u| u.addr.port()).collect();
    assert_eq!(ports, [9003, 9004], "the environment's list replaces the file's");
    let c = with_env(&env, || load(["--upstream", "http://127.0.0.1:9005"].map(OsString::from))).unwrap();
    assert_eq!(c.upstreams.len(), 1, "the flag's list replaces the environment's");
    let c = with_env(&[("STACKWIRE_BALANCER_CONFIG", path)], || load(Vec::<OsString>::new())).unwrap();
    assert_eq!(c.workers, 3, "config file named by env");
    let ports: Vec<u16> = c.upstreams.iter().map(|u| u.addr.port()).collect();
    assert_eq!(ports, [9001, 9002], "the file's list");
    let _ = std::fs::remove_file(p);
}

#[test]
fn bad_values_say_where_they_came_from() {
    let none = Vec::<OsString>::new;
    let cfg = |p: &std::path::Path| vec![OsString::from("--config"), p.as_os_str().to_owned()];
    let p = conf("workers = 2\n\nidle-timeout-ms = \"soon\"\n");
    let e = with_env(&[], || load(cfg(&p))).unwrap_err().to_string();
    assert!(e.contains(":3: idle-timeout-ms") && e.contains("\"soon\""), "{e}");
    let p2 = conf("wrokers = 2\n");
    let e = with_env(&[], || load([OsString::from(format!("--config={}", p2.display()))])).unwrap_err().to_string();
    assert!(e.contains(":1: wrokers") && e.contains("no such setting"), "{e}");
    let p3 = conf("just words\n");
    assert!(matches!(with_env(&[], || load(cfg(&p3))), Err(LoadError::Syntax { line: 1, .. })));
    let e = with_env(&[("STACKWIRE_BALANCER_WORKERS", "-1")], || load(none())).unwrap_err().to_string();
    assert!(e.starts_with("STACKWIRE_BALANCER_WORKERS: --workers \"-1\""), "{e}");
    let e = with_env(&[("STACKWIRE_BALANCER_WORKRS", "2")], || load(none())).unwrap_err().to_string();
    assert!(e.contains("STACKWIRE_BALANCER_WORKRS") && e.contains("no such setting"), "{e}");
    let e =
        with_env(&[], || load(["--config", "/nonexistent/balancer.toml"].map(OsString::from))).unwrap_err().to_string();
    assert!(e.contains("/nonexistent/balancer.toml"), "{e}");
    let e = with_env(&[], || load(["--config"].map(OsString::from))).unwrap_err();
    assert!(matches!(&e, LoadError::Cli(_)) && e.to_string().contains("--config"), "{e}");
    for f in [p, p2, p3] {
        let _ = std::fs::remove_file(f);
    }
}

#[test]
fn the_registry_flags_are_registry_agents() {
    // (Not STACKWIRE_REDIS_URL: scripts/test.sh sets it for the whole run, and with_env removes what it set.)
    let vars = [("STACKWIRE_REGISTRY_PREFIX", "from-env"), ("STACKWIRE_RESYNC_MS", "250")];
    let c = with_env(&vars, || load(["--registry-prefix", "from-flag"].map(OsString::from))).unwrap();
    assert_eq!(c.registry.registry_prefix.as_deref(), Some("from-flag"), "a flag wins over its variable");
    assert_eq!(c.registry.resync_ms, Some(Duration::from_millis(250)));
    let c = p(&["--redis-url", "redis://127.0.0.1:1/"]).unwrap();
    assert_eq!(c.registry.redis_url.as_deref(), Some("redis://127.0.0.1:1/"));
    // Not balancer settings: no STACKWIRE_BALANCER_ name, no file key.
    assert!(!settings().iter().any(|(k, _)| k.starts_with("redis") || k.starts_with("registry")));
    let path = conf("redis-url = \"redis://127.0.0.1:3/\"\n");
    let err = p(&["--config", path.to_str().unwrap()]).unwrap_err().to_string();
    assert!(err.contains("redis-url") && err.contains("no such setting"), "{err}");
    let help = Cli::command().render_long_help().to_string();
    assert!(help.contains("--redis-url") && help.contains("STACKWIRE_REDIS_URL"), "{help}");
}
