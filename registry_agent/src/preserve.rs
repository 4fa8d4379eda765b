//! Self-preservation: when every instance of a service vanishes from the
//! registry at once, keep the last known set while its health checks pass.
//!
//! One instance leaving is news; all of them leaving in the same instant is
//! far more often the registry's problem than theirs: a Redis failover that
//! took longer than the TTL expires every record at once on the new primary,
//! and an emptied view would turn a registry blip into a total outage. So a
//! reader that sees a service go from some instances to none keeps the last
//! set it saw, and drops each kept instance as soon as our own health checks
//! say it is gone (the checks continue for kept instances). The first listing
//! that names the service again is the truth again.
//!
//! Eureka's self-preservation is the model, with a tighter leash: Eureka keeps
//! everything while renewals are low; here only a service that vanished
//! whole is kept, and only instances that still answer.

use crate::{InstanceRecord, Snapshot};
use std::collections::HashMap;

#[derive(Debug, Default)]
pub struct Keeper {
    /// The last non-empty listing of each service.
    last: HashMap<String, Vec<InstanceRecord>>,
    /// Services the registry lists empty, with the instances we keep.
    kept: HashMap<String, Vec<InstanceRecord>>,
}

impl Keeper {
    /// Takes in a new listing.
    pub fn observe(&mut self, snap: &Snapshot) {
        let mut names: Vec<String> = self.last.keys().cloned().collect();
        names.extend(snap.services.keys().cloned());
        names.sort();
        names.dedup();
        for s in names {
            let now = snap.instances(&s);
            if !now.is_empty() {
                self.kept.remove(&s);
                self.last.insert(s, now.to_vec());
            } else if let Some(before) = self.last.remove(&s) {
                log::warn!(
                    target: "registry",
                    "all {} instance(s) of {s} vanished from the registry at once; \
                     keeping them while their health checks pass",
                    before.len()
                );
                self.kept.insert(s, before);
            }
        }
    }

    /// The instances to use for `service`: the registry's, or the kept ones
    /// `alive` still approves (the others are dropped for good).
    pub fn instances(
        &mut self,
        snap: &Snapshot,
        service: &str,
        alive: impl Fn(&InstanceRecord) -> bool,
    ) -> Vec<InstanceRecord> {
        let listed = snap.instances(service);
        if !listed.is_empty() {
            return listed.to_vec();
        }
        let Some(kept) = self.kept.get_mut(service) else { return Vec::new() };
        kept.retain(|r| {
            let ok = alive(r);
            if !ok {
                log::info!(target: "registry", "dropping kept instance {} of {service}: health checks fail", r.id);
            }
            ok
        });
        let out = kept.clone();
        if kept.is_empty() {
            self.kept.remove(service);
        }
        out
    }

    /// Every kept instance (they still need probing).
    pub fn kept(&self) -> Vec<InstanceRecord> {
        self.kept.values().flatten().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
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
}
