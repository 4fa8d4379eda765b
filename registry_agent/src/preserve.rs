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
        self.with_instances(snap, service, alive, <[InstanceRecord]>::to_vec)
    }

    /// [`Keeper::instances`] lent to `f` instead of cloned: a choice per
    /// call needs each instance's address and load, not a copy of its
    /// descriptor (every method and route it serves).
    pub fn with_instances<R>(
        &mut self,
        snap: &Snapshot,
        service: &str,
        alive: impl Fn(&InstanceRecord) -> bool,
        f: impl FnOnce(&[InstanceRecord]) -> R,
    ) -> R {
        let listed = snap.instances(service);
        if !listed.is_empty() {
            return f(listed);
        }
        let Some(kept) = self.kept.get_mut(service) else { return f(&[]) };
        kept.retain(|r| {
            let ok = alive(r);
            if !ok {
                log::info!(target: "registry", "dropping kept instance {} of {service}: health checks fail", r.id);
            }
            ok
        });
        let out = f(kept);
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
#[path = "../tests/unit/preserve.rs"]
mod tests;
