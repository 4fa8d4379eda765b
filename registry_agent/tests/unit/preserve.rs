//! Unit tests of `preserve`: a service that vanishes whole from the registry is kept while healthy; one that leaves instance by instance is not.

use super::*;
use crate::Descriptor;
use std::collections::BTreeMap;

fn rec(service: &str, port: u16) -> InstanceRecord {
    InstanceRecord {
        service: service.into(),
        id: format!("{service}-{port}"),
        addr: format!("127.0.0.1:{port}"),
        pid: 1,
        started_at_ms: 0,
        last_heartbeat_ms: 0,
        ttl_ms: 3000,
        load: 0,
        descriptor: Descriptor { name: "Q".into(), title: "t".into(), methods: vec![], routes: vec![] },
    }
}

fn snap(entries: &[(&str, &[u16])]) -> Snapshot {
    let services: BTreeMap<String, Vec<InstanceRecord>> =
        entries.iter().map(|(s, ports)| (s.to_string(), ports.iter().map(|p| rec(s, *p)).collect())).collect();
    Snapshot { version: 1, read_at_ms: 0, services }
}

fn ports(v: &[InstanceRecord]) -> Vec<String> {
    v.iter().map(|r| r.addr.clone()).collect()
}

#[test]
fn a_service_that_vanishes_whole_is_kept_while_healthy() {
    let mut k = Keeper::default();
    let full = snap(&[("q", &[1, 2]), ("a", &[3])]);
    k.observe(&full);
    assert_eq!(ports(&k.instances(&full, "q", |_| true)), ["127.0.0.1:1", "127.0.0.1:2"]);
    // A failover empties the registry.
    let empty = snap(&[]);
    k.observe(&empty);
    assert_eq!(k.kept().len(), 3);
    assert_eq!(ports(&k.instances(&empty, "q", |_| true)), ["127.0.0.1:1", "127.0.0.1:2"]);
    // One fails its health checks: dropped for good.
    assert_eq!(ports(&k.instances(&empty, "q", |r| r.addr != "127.0.0.1:1")), ["127.0.0.1:2"]);
    assert_eq!(ports(&k.instances(&empty, "q", |_| true)), ["127.0.0.1:2"]);
    // The registry is the truth again as soon as it names the service.
    let back = snap(&[("q", &[2, 5])]);
    k.observe(&back);
    assert_eq!(ports(&k.instances(&back, "q", |_| true)), ["127.0.0.1:2", "127.0.0.1:5"]);
    assert_eq!(ports(&k.kept()), ["127.0.0.1:3"], "a is still kept");
}

#[test]
fn instances_leaving_one_by_one_are_not_kept() {
    let mut k = Keeper::default();
    k.observe(&snap(&[("q", &[1, 2])]));
    let one = snap(&[("q", &[2])]);
    k.observe(&one);
    assert_eq!(ports(&k.instances(&one, "q", |_| true)), ["127.0.0.1:2"]);
    // The last one going is a whole service vanishing: kept, but only while it answers.
    let none = snap(&[("q", &[])]);
    k.observe(&none);
    assert_eq!(ports(&k.instances(&none, "q", |_| true)), ["127.0.0.1:2"]);
    assert!(k.instances(&none, "q", |_| false).is_empty());
    assert!(k.kept().is_empty());
    // Nothing comes back from a service that was dropped.
    k.observe(&none);
    assert!(k.instances(&none, "q", |_| true).is_empty());
}
