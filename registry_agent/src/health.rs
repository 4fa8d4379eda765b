//! Which instances are in rotation: active probes, passive failures and
//! outlier ejection, as one table of pure state (time is passed in, so tests
//! drive it with a fake clock).
//!
//! The registry says an instance exists; only talking to it says it works. A
//! process frozen by the kernel, wedged on a lock or half-dead keeps its
//! record alive for a whole TTL (or forever, if its heartbeat thread is the
//! part that still works), so every client with a choice of instance also
//! keeps its own opinion, fed three ways:
//!
//! - **Active** (grpc.health.v1 semantics): a probe every second; two
//!   failures in a row (an error, a timeout, or `NOT_SERVING`) take the
//!   instance out, two successes bring it back.
//! - **Passive**: a refused or reset connection takes it out at once (the
//!   process is gone; waiting for two probes would only cost requests); the
//!   probes bring it back when it answers again.
//! - **Outlier ejection**: five *instance failures* in a row eject it for
//!   30 s, doubling with each repeat up to 5 minutes; anything the instance
//!   answered otherwise resets the count. Never more than half a pool is
//!   ejected, so a shared cause (the database is down) cannot empty the pool;
//!   the half that stays answers its errors.
//!
//! ## What counts against an instance, and why not Envoy's rule
//!
//! Envoy's default (`consecutive_5xx: 5`) counts every 5xx reply. That makes
//! a *query of death* of any request whose content makes the handler fail:
//! anybody who sends the same poisoned request a dozen times takes healthy
//! instances out one after another (each passes its health checks and serves
//! every other request meanwhile), and the half-pool cap only stops it at
//! half the capacity. A reply, whatever its status, proves the instance is
//! alive and serving; a 500 is the outcome of *that request*. So here only
//! failures of the instance itself count ([`instance_failure`]):
//!
//! - a refused or reset connection, or one lost mid-call: out at once (above);
//! - an RPC `UNAVAILABLE`: the instance says it cannot serve right now (no
//!   database connection, shutting down, a dependency gone); request content
//!   never maps to it, since the services map only connection-level database
//!   failures to it and refuse bad input as `INVALID_ARGUMENT` first;
//! - a call that got no answer before its deadline *while another instance
//!   of the same service did answer meanwhile* ([`HealthTable::timed_out`]):
//!   then the slowness is this instance's, not the service's or the request's
//!   (a slow request that is slow everywhere counts nowhere).
//!
//! `INTERNAL`, `UNKNOWN`, a `DEADLINE_EXCEEDED` reply, and every HTTP status
//! inside a `Web/Handle` reply (500 and 503 included) are answers: they reset
//! the count. The other rule Envoy offers, success rate compared with the
//! pool's (`success_rate`, 5 hosts minimum by default), was not chosen: with
//! two instances a pool has no statistics to compare against, and poisoned
//! requests spread by least-load hit every instance alike anyway; counting
//! only the instance's own failures needs no pool size and no window, and a
//! health check still takes out an instance that is wedged but answers.
//!
//! Callers choose only among available instances, and when none is (every
//! probe failing, say) they fall back to the whole list: sending to an
//! instance that may be down beats refusing with certainty.

use proto::Code;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Whether a reply with this RPC status is a failure of the instance that
/// sent it (see the module comment): only `UNAVAILABLE`.
pub fn instance_failure(code: Code) -> bool {
    code == Code::Unavailable
}

/// Thresholds; `Default` is the stackwire policy described above.
#[derive(Debug, Clone, Copy)]
pub struct HealthPolicy {
    pub probe_interval: Duration,
    pub probe_timeout: Duration,
    pub unhealthy_after: u32,
    pub healthy_after: u32,
    pub consecutive_errors: u32,
    pub base_ejection: Duration,
    pub max_ejection: Duration,
}

impl Default for HealthPolicy {
    fn default() -> Self {
        HealthPolicy {
            probe_interval: Duration::from_secs(1),
            probe_timeout: Duration::from_millis(800),
            unhealthy_after: 2,
            healthy_after: 2,
            consecutive_errors: 5,
            base_ejection: Duration::from_secs(30),
            max_ejection: Duration::from_secs(300),
        }
    }
}

/// How a probe went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    Serving,
    NotServing,
    Failed(String),
}

#[derive(Debug, Clone)]
struct Entry {
    service: String,
    /// In rotation as far as probes and connection failures go.
    up: bool,
    fails: u32,
    oks: u32,
    /// Why it is out (or last went out).
    reason: String,
    last_probe: Option<(Instant, bool)>,
    errors: u32,
    ejections: u32,
    ejected_until: Option<Instant>,
    /// When the last ejection ended (or would end); the repeat count resets
    /// once an instance has behaved for `max_ejection` after that.
    ejection_end: Option<Instant>,
    went_out: Option<Instant>,
    came_in: Option<Instant>,
    /// When it last answered without an instance failure.
    answered: Option<Instant>,
}

impl Entry {
    fn new(service: &str) -> Entry {
        Entry {
            service: service.to_string(),
            up: true,
            fails: 0,
            oks: 0,
            reason: String::new(),
            last_probe: None,
            errors: 0,
            ejections: 0,
            ejected_until: None,
            ejection_end: None,
            went_out: None,
            came_in: None,
            answered: None,
        }
    }

    fn ejected(&self, now: Instant) -> bool {
        self.ejected_until.is_some_and(|t| now < t)
    }
}

/// One instance as a status page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthView {
    pub available: bool,
    /// `healthy`, `unhealthy`, `ejected`.
    pub state: &'static str,
    pub reason: String,
    pub ejections: u32,
    pub ejected_for: Option<Duration>,
    pub consecutive_errors: u32,
    pub last_probe_ago: Option<Duration>,
    pub last_probe_ok: Option<bool>,
}

#[derive(Debug, Default)]
pub struct HealthTable {
    policy: HealthPolicy,
    entries: HashMap<SocketAddr, Entry>,
}

impl HealthTable {
    pub fn new(policy: HealthPolicy) -> HealthTable {
        HealthTable { policy, entries: HashMap::new() }
    }

    pub fn policy(&self) -> &HealthPolicy {
        &self.policy
    }

    fn entry(&mut self, addr: SocketAddr, service: &str) -> &mut Entry {
        self.entries.entry(addr).or_insert_with(|| Entry::new(service))
    }

    fn take_out(&mut self, addr: SocketAddr, service: &str, reason: String, now: Instant) {
        let e = self.entry(addr, service);
        if e.up {
            log::warn!(target: "health", "{service} at {addr} out of rotation: {reason}");
            e.went_out = Some(now);
        }
        e.up = false;
        e.oks = 0;
        e.reason = reason;
    }

    /// Records a probe's outcome.
    pub fn probe(&mut self, addr: SocketAddr, service: &str, result: Probe, now: Instant) {
        let (after_in, after_out) = (self.policy.healthy_after, self.policy.unhealthy_after);
        let e = self.entry(addr, service);
        let ok = result == Probe::Serving;
        e.last_probe = Some((now, ok));
        if ok {
            e.fails = 0;
            e.oks += 1;
            if !e.up && e.oks >= after_in {
                e.up = true;
                e.came_in = Some(now);
                e.reason.clear();
                log::info!(target: "health", "{service} at {addr} back in rotation");
            }
            return;
        }
        e.oks = 0;
        e.fails += 1;
        if e.up && e.fails >= after_out {
            let why = match result {
                Probe::NotServing => "health check says NOT_SERVING".to_string(),
                Probe::Failed(why) => format!("{} failed health checks ({why})", e.fails),
                Probe::Serving => String::new(),
            };
            self.take_out(addr, service, why, now);
        }
    }

    /// A call sent at `sent` got no answer by its deadline: an instance
    /// failure only if another instance of `service` answered since `sent`
    /// (else the whole service is slow, or the request is). Returns true when
    /// this got the instance ejected.
    pub fn timed_out(&mut self, addr: SocketAddr, service: &str, sent: Instant, now: Instant) -> bool {
        if self.peer_answered(addr, service, sent) {
            self.reply(addr, service, true, now)
        } else {
            false
        }
    }

    /// Whether another instance of `service` than `addr` answered a call
    /// (not a probe: a probe does not touch what the calls share, such as
    /// the database) since `since`.
    pub fn peer_answered(&self, addr: SocketAddr, service: &str, since: Instant) -> bool {
        self.entries.iter().any(|(a, e)| *a != addr && e.service == service && e.answered.is_some_and(|t| t >= since))
    }

    /// A refused connect or a connection reset: out at once.
    pub fn connection_failed(&mut self, addr: SocketAddr, service: &str, why: &str, now: Instant) {
        self.take_out(addr, service, why.to_string(), now);
    }

    /// A call to the instance ended: `failed` when the ending was an
    /// instance failure ([`instance_failure`], [`HealthTable::timed_out`]),
    /// else it answered. Returns true when this got the instance ejected.
    pub fn reply(&mut self, addr: SocketAddr, service: &str, failed: bool, now: Instant) -> bool {
        let p = self.policy;
        let e = self.entry(addr, service);
        if !failed {
            e.errors = 0;
            e.answered = Some(now);
            return false;
        }
        e.errors += 1;
        if e.errors < p.consecutive_errors || e.ejected(now) {
            return false;
        }
        let errors = e.errors;
        e.errors = 0;
        // Never more than half the pool: count the others already ejected.
        let pool = self.entries.values().filter(|x| x.service == service).count();
        let ejected = self.entries.values().filter(|x| x.service == service && x.ejected(now)).count();
        if ejected + 1 > pool / 2 {
            log::warn!(
                target: "health",
                "{service} at {addr}: {errors} errors in a row, but {ejected} of {pool} already ejected; keeping it"
            );
            return false;
        }
        let e = self.entry(addr, service);
        if e.ejection_end.is_some_and(|end| now.saturating_duration_since(end) >= p.max_ejection) {
            e.ejections = 0;
        }
        e.ejections += 1;
        let factor = 1u32 << (e.ejections - 1).min(16);
        let length = p.base_ejection.saturating_mul(factor).min(p.max_ejection);
        e.ejected_until = Some(now + length);
        e.ejection_end = Some(now + length);
        e.went_out = Some(now);
        e.reason = format!("{errors} server errors in a row: ejected for {} s", length.as_secs());
        log::warn!(target: "health", "{service} at {addr}: {}", e.reason);
        true
    }

    /// In rotation: up, and not ejected. Unknown instances are available
    /// (a new instance registers only once it can serve).
    pub fn available(&self, addr: &SocketAddr, now: Instant) -> bool {
        self.entries.get(addr).is_none_or(|e| e.up && !e.ejected(now))
    }

    /// The indices of `addrs` that are available, or all of them when none
    /// is (see the module comment).
    pub fn choosable(&self, addrs: &[SocketAddr], now: Instant) -> Vec<usize> {
        let ok: Vec<usize> = (0..addrs.len()).filter(|&i| self.available(&addrs[i], now)).collect();
        if ok.is_empty() {
            (0..addrs.len()).collect()
        } else {
            ok
        }
    }

    /// Forgets one instance: a new process registered at its address.
    pub fn forget(&mut self, addr: &SocketAddr) {
        self.entries.remove(addr);
    }

    /// Forgets instances `keep` rejects (gone from the registry).
    pub fn retain(&mut self, keep: impl Fn(&SocketAddr) -> bool) {
        self.entries.retain(|a, _| keep(a));
    }

    /// When the instance last left rotation and last came back.
    pub fn transitions(&self, addr: &SocketAddr) -> (Option<Instant>, Option<Instant>) {
        self.entries.get(addr).map(|e| (e.went_out, e.came_in)).unwrap_or((None, None))
    }

    pub fn view(&self, addr: &SocketAddr, now: Instant) -> HealthView {
        let Some(e) = self.entries.get(addr) else {
            return HealthView {
                available: true,
                state: "healthy",
                reason: "not probed yet".into(),
                ejections: 0,
                ejected_for: None,
                consecutive_errors: 0,
                last_probe_ago: None,
                last_probe_ok: None,
            };
        };
        let ejected = e.ejected(now);
        HealthView {
            available: e.up && !ejected,
            state: if ejected {
                "ejected"
            } else if e.up {
                "healthy"
            } else {
                "unhealthy"
            },
            reason: if e.up && !ejected { String::new() } else { e.reason.clone() },
            ejections: e.ejections,
            ejected_for: e.ejected_until.filter(|_| ejected).map(|t| t.saturating_duration_since(now)),
            consecutive_errors: e.errors,
            last_probe_ago: e.last_probe.map(|(t, _)| now.saturating_duration_since(t)),
            last_probe_ok: e.last_probe.map(|(_, ok)| ok),
        }
    }
}

#[cfg(test)]
#[path = "../tests/unit/health.rs"]
mod tests;
