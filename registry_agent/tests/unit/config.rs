//! Unit tests of `config`: Sentinel lists parse or name what is wrong, and passwords never reach a log.

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

