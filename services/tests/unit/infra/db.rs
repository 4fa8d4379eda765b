//! Unit tests of `services::db`, compiled into the library's own test
//! binary through `#[path]` (they use its private items), kept out of `src/`.

use super::*;

#[test]
fn config_adds_the_session_options_and_keeps_url_options() {
    let c = DbConfig::new("postgresql://u:secret@10.0.0.1:15432/stackwire", None, "stackwire-question").unwrap();
    assert_eq!(c.pg.get_options(), Some(SESSION_OPTIONS));
    assert_eq!(c.pool_size, DEFAULT_POOL_SIZE);
    assert_eq!(c.describe(), "10.0.0.1:15432/stackwire");
    assert!(c.read.is_none());
    let c = DbConfig::new("postgresql://u:pw@h1:1,h2:2/db?target_session_attrs=read-write", None, "x").unwrap();
    assert_eq!(c.describe(), "h1:1,h2:2/db");
    assert!(c.read.is_some());
    assert!(c.pg.get_options().unwrap().contains("synchronous_commit=remote_apply"));
    assert!(!c.describe().contains("secret"));
    let c = DbConfig::new("postgresql://u@h/db?options=-csearch_path%3Dt1", Some("3"), "x").unwrap();
    assert_eq!(c.pg.get_options(), Some(format!("-csearch_path=t1 {SESSION_OPTIONS}").as_str()));
    assert_eq!(c.pool_size, 3);
}

#[test]
fn bad_settings_are_refused() {
    assert!(matches!(DbConfig::new("postgresql://h/db", Some("0"), "x"), Err(DbError::BadPoolSize(_))));
    assert!(matches!(DbConfig::new("postgresql://h/db", Some("many"), "x"), Err(DbError::BadPoolSize(_))));
    assert!(matches!(DbConfig::new("postgresql://h:notaport/db", None, "x"), Err(DbError::BadUrl(_))));
}
