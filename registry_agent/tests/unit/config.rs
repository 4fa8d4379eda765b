//! Unit tests of `config`: Sentinel lists parse or name what is wrong, passwords never reach a log, and the
//! settings resolve Sentinels first with empty Redis settings as unset. (Flags over the environment, and the
//! errors that name both: `tests/redis_registry.rs`, through the `registry_agent` command.)

use super::*;

#[test]
fn sentinel_lists_parse_or_name_the_problem() {
    let s = SentinelConfig::parse(" 127.0.0.1:26380, 127.0.0.1:26381 ,", "m", Some("pw".into())).unwrap();
    assert_eq!(s.sentinels, ["127.0.0.1:26380", "127.0.0.1:26381"]);
    assert_eq!(s.sentinel_url("h:1"), "redis://:pw@h:1/");
    assert_eq!(SentinelConfig::parse("h:1", "m", Some(String::new())).unwrap().sentinel_url("h:1"), "redis://h:1/");
    for bad in ["", ",", "nohost", "h:notaport", ":1", "h:1,h"] {
        let e = SentinelConfig::parse(bad, "m", None).unwrap_err();
        assert!(matches!(e, RegistryError::BadSentinels(_)), "{bad}: {e}");
    }
}

#[test]
fn passwords_are_redacted() {
    assert_eq!(redact("redis://:secret@127.0.0.1:1/"), "redis://***@127.0.0.1:1/");
    assert_eq!(redact("redis://127.0.0.1:1/"), "redis://127.0.0.1:1/");
}

#[test]
fn settings_take_the_sentinels_first_and_an_empty_redis_setting_as_unset() {
    let args = RegistryArgs {
        redis_url: Some("redis://127.0.0.1:1/".into()),
        redis_sentinels: Some("h:1,h:2".into()),
        redis_master: Some(" ".into()),
        heartbeat_ms: Some(Duration::from_millis(250)),
        ..RegistryArgs::default()
    };
    let c = args.config().unwrap();
    let s = c.sentinel.expect("the Sentinels win over the URL");
    assert_eq!((s.sentinels.as_slice(), s.master.as_str()), (&["h:1".to_string(), "h:2".to_string()][..], "stackwire"));
    assert_eq!(
        (c.heartbeat, c.ttl, c.prefix.as_str()),
        (Duration::from_millis(250), Duration::from_millis(3000), "stackwire")
    );
    let url_only = RegistryArgs { redis_sentinels: Some(String::new()), ..args };
    assert_eq!(url_only.config().unwrap().url, "redis://127.0.0.1:1/");
    let nothing = RegistryArgs { redis_url: Some("  ".into()), ..RegistryArgs::default() };
    assert!(matches!(nothing.config(), Err(RegistryError::NoUrl)));
}
