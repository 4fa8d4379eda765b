//! Unit tests of `balancer/src/ops/config.rs`, compiled into the library's own test
//! binary through `#[path]` (they reach private items through `super`).

use super::*;

fn p(args: &[&str]) -> Result<Config, ConfigError> {
    parse(args.iter().map(|s| s.to_string()))
}

#[test]
fn defaults() {
    let c = p(&[]).unwrap();
    assert_eq!(c, Config::default());
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
    assert_eq!(c.header_timeout, Duration::from_secs(1));
    assert_eq!(c.idle_timeout, Duration::from_secs(2));
    assert_eq!(c.upstream_timeout, Duration::from_secs(3));
    assert_eq!(c.drain_timeout, Duration::from_secs(4));
    assert_eq!(c.max_connections, 5);
}

#[test]
fn bad_values_name_the_flag() {
    assert_eq!(p(&["--help"]), Err(ConfigError::Help));
    assert_eq!(p(&["--workers"]), Err(ConfigError::MissingValue("--workers".into())));
    assert_eq!(p(&["--frobnicate"]), Err(ConfigError::Unknown("--frobnicate".into())));
    for (flag, value) in [
        ("--workers", "0"),
        ("--workers", "many"),
        ("--header-timeout-ms", "-5"),
        ("--listen", "nonsense"),
        ("--upstream", "https://127.0.0.1:1"),
        ("--upstream", "http://127.0.0.1:1/path"),
        ("--upstream", "http://"),
        ("--max-connections", "0"),
    ] {
        let e = p(&[flag, value]).unwrap_err();
        assert!(matches!(&e, ConfigError::BadValue { flag: f, .. } if f == flag), "{flag} {value}: {e:?}");
        assert!(e.to_string().contains(value), "{e}");
    }
}
