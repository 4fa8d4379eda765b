//! Unit tests of `balancer/src/ops/access_log.rs`, compiled into the library's own test
//! binary through `#[path]` (they reach private items through `super`).

use super::*;

fn line(e: &Entry<'_>) -> String {
    let mut v = Vec::new();
    write_line(&mut v, "21/Nov/2018:19:57:10 +0000", &e.client.to_string(), e);
    String::from_utf8(v).unwrap()
}

#[test]
fn fixed_point_matches_fmt() {
    for secs in [0.0, 0.00151, 0.0004999, 0.9999, 1.5, 12.34567, 0.1, 7.0005001] {
        for places in [3u32, 4] {
            let mut v = Vec::new();
            push_fixed(&mut v, secs, places);
            assert_eq!(String::from_utf8(v).unwrap(), format!("{secs:.*}", places as usize), "{secs}");
        }
    }
}

#[test]
fn matches_the_original_format() {
    let e = Entry {
        client: "127.0.0.1".parse().unwrap(),
        request_line: "GET /perform HTTP/1.1",
        status: 200,
        bytes: 20,
        secs: 0.00151,
    };
    assert_eq!(line(&e), "127.0.0.1 - - [21/Nov/2018:19:57:10 +0000] \"GET /perform HTTP/1.1\" 200 20 0.0015\n");
}

#[test]
fn escapes_what_could_forge_a_line() {
    let e = Entry {
        client: "::1".parse().unwrap(),
        request_line: "GET /a\"b\\c\n\u{e9} HTTP/1.1",
        status: 404,
        bytes: 0,
        secs: 2.0,
    };
    assert_eq!(
        line(&e),
        "::1 - - [21/Nov/2018:19:57:10 +0000] \"GET /a\\\"b\\\\c\\x0a\\xc3\\xa9 HTTP/1.1\" 404 0 2.0000\n"
    );
}

#[test]
fn clf_timestamps_have_the_expected_shape() {
    let when = proto::clock::clf(proto::clock::now_ms());
    assert_eq!(when.len(), 26, "{when}");
    assert!(when.ends_with(" +0000"));
}
