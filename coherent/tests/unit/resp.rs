use super::*;

fn whole(s: &[u8]) -> Reply {
    let (r, used) = parse(s).unwrap().expect("a whole reply");
    assert_eq!(used, s.len(), "used every byte of {:?}", String::from_utf8_lossy(s));
    r
}

#[test]
fn a_command_is_an_array_of_bulk_strings() {
    let mut out = Vec::new();
    command(&mut out, &[b"MGET", b"sw:v:q:1", b""]);
    assert_eq!(out, b"*3\r\n$4\r\nMGET\r\n$8\r\nsw:v:q:1\r\n$0\r\n\r\n");
}

#[test]
fn each_kind_of_reply() {
    assert_eq!(whole(b"+OK\r\n"), Reply::Status("OK".into()));
    assert_eq!(whole(b"-ERR nope\r\n"), Reply::Error("ERR nope".into()));
    assert_eq!(whole(b":42\r\n"), Reply::Int(42));
    assert_eq!(whole(b"$-1\r\n"), Reply::Bulk(None));
    assert_eq!(whole(b"$3\r\n7\r\n\r\n"), Reply::Bulk(Some(b"7\r\n".to_vec())));
    assert_eq!(
        whole(b"*2\r\n$2\r\n12\r\n$-1\r\n"),
        Reply::Array(Some(vec![Reply::Bulk(Some(b"12".to_vec())), Reply::Bulk(None)]))
    );
}

#[test]
fn part_of_a_reply_asks_for_more_and_two_are_cut_apart() {
    let two = b"*2\r\n$2\r\n12\r\n$1\r\n3\r\n*1\r\n$-1\r\n";
    let first = b"*2\r\n$2\r\n12\r\n$1\r\n3\r\n".len();
    for cut in 0..first {
        assert_eq!(parse(&two[..cut]).unwrap(), None, "{cut} bytes");
    }
    let (_, used) = parse(two).unwrap().unwrap();
    assert_eq!(used, first);
    assert_eq!(whole(&two[used..]), Reply::Array(Some(vec![Reply::Bulk(None)])));
}

#[test]
fn bytes_that_are_not_resp_are_refused_before_anything_is_allocated() {
    assert!(parse(b"hello\r\n").is_err());
    assert!(parse(b"$x\r\n").is_err());
    assert!(parse(b"$99999999999\r\n").is_err(), "a huge bulk string");
    assert!(parse(b"*99999999\r\n").is_err(), "a huge array");
    assert!(parse(b"$1\r\nab\r\n").is_err(), "a bulk string longer than it said");
    assert!(parse(&b"*1\r\n".repeat(10)).is_err(), "arrays nested too deep");
    assert!(parse(&vec![b'+'; 70 << 10]).is_err(), "a line that never ends");
}
