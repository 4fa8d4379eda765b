//! Unit tests of `webui::server`, compiled into the library's own test
//! binary through `#[path]` (they use its private items), kept out of `src/`.

use super::*;

use clap::error::ErrorKind;

fn parse(v: &[&str]) -> Result<Args, ErrorKind> {
    Args::parse_args(v.iter().copied()).map_err(|e| e.kind())
}

/// The webui's own flags (the registry's group is registry_agent's, checked
/// there and below: scripts/test.sh sets its variables).
fn own(v: &[&str]) -> Result<(String, Option<String>), ErrorKind> {
    parse(v).map(|a| (a.listen, a.admin))
}

#[test]
fn arguments() {
    assert_eq!(own(&[]), Ok(("127.0.0.1:0".into(), None)));
    assert_eq!(
        own(&["--listen", "0.0.0.0:7401", "--admin", "127.0.0.1:8401"]),
        Ok(("0.0.0.0:7401".into(), Some("127.0.0.1:8401".into())))
    );
    assert_eq!(own(&["--listen=127.0.0.1:9"]), Ok(("127.0.0.1:9".into(), None)));
    assert_eq!(parse(&["--help"]), Err(ErrorKind::DisplayHelp));
    assert_eq!(parse(&["--version"]), Err(ErrorKind::DisplayVersion));
    assert_eq!(parse(&["--listen"]), Err(ErrorKind::InvalidValue));
    assert_eq!(parse(&["--port", "1"]), Err(ErrorKind::UnknownArgument));
    let e = Args::parse_args(["--listen"]).unwrap_err().to_string();
    assert!(e.contains("--listen"), "{e}");
}

#[test]
fn the_registry_flags_are_registry_agents() {
    let a =
        Args::parse_args(["--redis-url", "redis://127.0.0.1:1/", "--registry-prefix", "webui-test"]).expect("parses");
    let cfg = a.registry.config().expect("a registry");
    assert_eq!(cfg.prefix, "webui-test");
    assert_eq!(parse(&["--heartbeat-ms", "0"]), Err(ErrorKind::ValueValidation));
}

#[test]
fn descriptor_names_the_service_and_its_routes() {
    let d = descriptor();
    assert_eq!((d.name.as_str(), d.title.as_str()), ("WebUI", "Web pages"));
    assert!(d.methods.iter().any(|m| m.name == methods::WEB_HANDLE));
    assert!(d.routes.contains(&"GET /questions/{id}".to_string()));
    assert!(d.routes.contains(&"POST /answers/{id}/comments".to_string()));
    assert!(d.routes.contains(&"POST /login".to_string()));
    assert!(d.routes.contains(&"GET /tags/{tag}".to_string()));
}
