//! Unit tests of `balancer/src/ops/sources.rs`, compiled into the library's own test
//! binary through `#[path]` (they reach private items through `super`).

use super::*;
use std::time::Duration;

fn vars(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn conf(text: &str) -> std::path::PathBuf {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let p = std::env::temp_dir().join(format!("balancer-conf-{}-{n}", std::process::id()));
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn every_documented_flag_has_an_environment_name() {
    let flags = documented_flags();
    for f in ["--listen", "--upstream", "--idle-timeout-ms", "--balance", "--admin", "--loops"] {
        assert!(flags.contains(&f), "{f} missing from {flags:?}");
    }
    assert_eq!(env_name("--idle-timeout-ms"), "STACKWIRE_BALANCER_IDLE_TIMEOUT_MS");
}

#[test]
fn flags_beat_environment_beats_file() {
    let p = conf("# comment\nidle-timeout-ms = 1000\nworkers=3\nupstream = http://127.0.0.1:9001\nupstream = http://127.0.0.1:9002\nloops = 2 # trailing\n");
    let env = vars(&[
        ("STACKWIRE_BALANCER_IDLE_TIMEOUT_MS", "2000"),
        ("STACKWIRE_BALANCER_UPSTREAM", "http://127.0.0.1:9003, http://127.0.0.1:9004"),
        ("PATH", "/bin"),
    ]);
    let merged = gather(args(&["--config", p.to_str().unwrap(), "--workers=7"]), &env).unwrap();
    let c = config::parse(merged).unwrap();
    assert_eq!(c.idle_timeout, Duration::from_millis(2000), "environment over file");
    assert_eq!(c.workers, 7, "flag over file");
    assert_eq!(c.loops, 2, "file alone");
    let ports: Vec<u16> = c.upstreams.iter().map(|u| u.addr.port()).collect();
    assert_eq!(ports, [9003, 9004], "the environment's list replaces the file's");
    let c = config::parse(gather(args(&["--upstream", "http://127.0.0.1:9005"]), &env).unwrap()).unwrap();
    assert_eq!(c.upstreams.len(), 1, "the flag's list replaces the environment's");
    let env = vars(&[("STACKWIRE_BALANCER_CONFIG", p.to_str().unwrap())]);
    assert_eq!(config::parse(gather(vec![], &env).unwrap()).unwrap().workers, 3, "config file named by env");
    let _ = std::fs::remove_file(p);
}

#[test]
fn bad_values_say_where_they_came_from() {
    let p = conf("workers = 2\n\nidle-timeout-ms = soon\n");
    let e = gather(args(&["--config", p.to_str().unwrap()]), &[]).unwrap_err().to_string();
    assert!(e.contains(":3: idle-timeout-ms") && e.contains("\"soon\""), "{e}");
    let p2 = conf("wrokers = 2\n");
    let e = gather(args(&[&format!("--config={}", p2.display())]), &[]).unwrap_err().to_string();
    assert!(e.contains(":1: wrokers") && e.contains("no such setting"), "{e}");
    let p3 = conf("just words\n");
    assert!(matches!(gather(args(&["--config", p3.to_str().unwrap()]), &[]), Err(SourceError::Syntax { line: 1, .. })));
    let e = gather(vec![], &vars(&[("STACKWIRE_BALANCER_WORKERS", "-1")])).unwrap_err().to_string();
    assert!(e.starts_with("STACKWIRE_BALANCER_WORKERS: --workers \"-1\""), "{e}");
    let e = gather(vec![], &vars(&[("STACKWIRE_BALANCER_WORKRS", "2")])).unwrap_err().to_string();
    assert!(e.contains("STACKWIRE_BALANCER_WORKRS") && e.contains("no such setting"), "{e}");
    let e = gather(args(&["--config", "/nonexistent/balancer.conf"]), &[]).unwrap_err().to_string();
    assert!(e.contains("/nonexistent/balancer.conf"), "{e}");
    assert!(matches!(gather(args(&["--config"]), &[]), Err(SourceError::MissingConfig)));
    for f in [p, p2, p3] {
        let _ = std::fs::remove_file(f);
    }
}
