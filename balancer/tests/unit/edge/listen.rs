//! Unit tests of `balancer/src/edge/listen.rs`, compiled into the library's own test
//! binary through `#[path]` (they reach private items through `super`).

use super::*;

#[test]
fn two_listeners_share_a_port_only_with_reuse_port() {
    let a = bind("127.0.0.1:0".parse().unwrap(), true).unwrap();
    let addr = a.local_addr().unwrap();
    let b = bind(addr, true).expect("a second SO_REUSEPORT listener on the same port");
    assert_eq!(b.local_addr().unwrap(), addr);
    let e = bind(addr, false).expect_err("without SO_REUSEPORT the port is taken");
    assert_eq!(e.kind(), io::ErrorKind::AddrInUse);
    // Both accept: connections reach whichever socket the kernel picks.
    for _ in 0..4 {
        std::net::TcpStream::connect(addr).unwrap();
    }
}

#[test]
fn plain_binds_work_on_v4_and_v6() {
    let l = bind("127.0.0.1:0".parse().unwrap(), false).unwrap();
    assert_ne!(l.local_addr().unwrap().port(), 0);
    if let Ok(l6) = bind("[::1]:0".parse().unwrap(), false) {
        assert!(l6.local_addr().unwrap().is_ipv6());
    }
}
