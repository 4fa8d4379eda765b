//! Unit tests of `rpc_client`: a call on a connection the server closed is reported as never sent.

use super::*;
use std::net::TcpListener;
use std::time::Instant;

#[test]
fn a_call_on_a_closed_connection_is_reported_not_sent() {
    // A server that accepts and hangs up at once.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || drop(listener.accept()));
    let c = Connection::connect_with(Wire::Native, addr, Duration::from_secs(1), 1 << 20).unwrap();
    let t = Instant::now();
    while !c.is_dead() {
        assert!(t.elapsed() < Duration::from_secs(5), "the reader never saw the close");
        std::thread::sleep(Duration::from_millis(5));
    }
    let err = c.call("/test/Echo", "rid", Duration::from_secs(1), b"x".to_vec()).unwrap_err();
    assert!(matches!(err, RpcError::NotSent(a) if a == addr), "{err:?}");
    assert!(err.never_sent());
    assert_eq!(err.code(), Code::Unavailable);
    assert!(!RpcError::ConnectionLost.never_sent(), "a lost reply may have run");
    assert_eq!(c.in_flight(), 0);
}
