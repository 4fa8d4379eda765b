//! The instances a client may send to right now, and the prober that keeps
//! that knowledge fresh.
//!
//! `Rotation` joins the registry's view (`Directory`), self-preservation
//! (`Keeper`), our own health opinion (`HealthTable`), the connections
//! (`Pool`), each instance's latency estimate and the retry budget. Both the
//! balancer and `ServiceClient` use it, through `policy`'s attempt loop, so
//! the rules are one piece of code.
//!
//! The prober thread wakes every probe interval and sends
//! `/grpc.health.v1.Health/Check` to every instance of the services it
//! watches (kept ones included), all at once over the pooled connections, then
//! collects answers until the probe timeout; a probe that did not answer by
//! then is cancelled and counts as a failure. A connect that fails is both a
//! failed probe and a passive failure (out at once). The thread stops when the
//! last handle to the rotation is dropped.

use crate::health::{HealthPolicy, HealthTable, HealthView, Probe};
use crate::policy::{is_slow, Latencies, RetryBudget, SelectionKey};
use crate::pool::Pool;
use crate::preserve::Keeper;
use crate::{Directory, InstanceRecord};
use prost::Message;
use proto::pb::{health_check_response::ServingStatus, HealthCheckRequest, HealthCheckResponse};
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

/// Which services a rotation probes (and preserves).
pub type ServiceFilter = Box<dyn Fn(&str) -> bool + Send + Sync>;

struct Inner {
    directory: Directory,
    pool: Pool,
    health: Mutex<HealthTable>,
    keeper: Mutex<Keeper>,
    budget: Mutex<RetryBudget>,
    latencies: Latencies,
    /// Advances per choice, to spread exact ties (`SelectionKey::turn`).
    rotate: AtomicUsize,
    watch: ServiceFilter,
    /// Snapshot version the keeper and the pool last saw.
    seen: AtomicU64,
    /// Which instance id was last registered at each address.
    ids: Mutex<HashMap<SocketAddr, String>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The instances of one service as `Rotation::choosable` finds them.
struct Choosable {
    /// Every instance's address and reported load.
    all: Vec<(SocketAddr, u64)>,
    /// The choosable ones (indexes into `all`) with their recent latency.
    recent: Vec<(usize, Duration)>,
    /// The least of those latencies (`policy::is_slow` compares with it).
    best: Duration,
}

/// Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct Rotation {
    inner: Arc<Inner>,
}

impl Rotation {
    /// Starts the prober for the services `watch` accepts.
    pub fn start(
        directory: Directory,
        watch: ServiceFilter,
        policy: HealthPolicy,
        connect_timeout: Duration,
    ) -> Rotation {
        let inner = Arc::new(Inner {
            directory,
            pool: Pool::new(connect_timeout),
            health: Mutex::new(HealthTable::new(policy)),
            keeper: Mutex::new(Keeper::default()),
            budget: Mutex::new(RetryBudget::default()),
            latencies: Latencies::default(),
            rotate: AtomicUsize::new(0),
            watch,
            seen: AtomicU64::new(u64::MAX),
            ids: Mutex::new(HashMap::new()),
        });
        let weak = Arc::downgrade(&inner);
        let spawned = std::thread::Builder::new().name("health-probe".into()).spawn(move || probe_loop(weak, policy));
        if let Err(e) = spawned {
            log::error!(target: "health", "cannot start the health prober: {e}; using passive checks only");
        }
        Rotation { inner }
    }

    pub fn directory(&self) -> &Directory {
        &self.inner.directory
    }

    pub fn pool(&self) -> &Pool {
        &self.inner.pool
    }

    /// Brings the keeper and the pool up to the current snapshot.
    fn observe(&self) -> Arc<crate::Snapshot> {
        let snap = self.inner.directory.snapshot();
        if self.inner.seen.swap(snap.version, Ordering::AcqRel) != snap.version {
            lock(&self.inner.keeper).observe(&snap);
            let live: HashSet<SocketAddr> = snap
                .services
                .values()
                .flatten()
                .chain(lock(&self.inner.keeper).kept().iter())
                .filter_map(|r| r.addr.parse().ok())
                .collect();
            self.inner.pool.retain(|a| live.contains(a));
            self.inner.latencies.retain(|a| live.contains(a));
            let mut health = lock(&self.inner.health);
            health.retain(|a| live.contains(a));
            // A process restarted on the same address is a new instance: what
            // we knew of the old one (it died, it was ejected) is not about it.
            let mut ids = lock(&self.inner.ids);
            for r in snap.services.values().flatten() {
                let Ok(a) = r.addr.parse::<SocketAddr>() else { continue };
                if ids.insert(a, r.id.clone()).is_some_and(|old| old != r.id) {
                    health.forget(&a);
                    self.inner.latencies.retain(|x| *x != a);
                }
            }
            ids.retain(|a, _| live.contains(a));
        }
        snap
    }

    /// The instances of `service`: the registry's, or the kept ones.
    pub fn instances(&self, service: &str) -> Vec<InstanceRecord> {
        let snap = self.observe();
        let now = Instant::now();
        let health = lock(&self.inner.health);
        lock(&self.inner.keeper)
            .instances(&snap, service, |r| r.addr.parse::<SocketAddr>().is_ok_and(|a| health.available(&a, now)))
    }

    /// Instances to try for `service`, best first by `SelectionKey`: among
    /// the available ones (or all, when none is), untried before `tried`,
    /// then not slow before slow (`policy::is_slow`), then fewest calls in
    /// flight from us, then least reported load, exact ties spread by a turn
    /// that rotates per call.
    pub fn candidates(&self, service: &str, tried: &[SocketAddr]) -> Vec<SocketAddr> {
        let Choosable { all, recent, best } = self.choosable(service);
        let rotate = self.inner.rotate.fetch_add(1, Ordering::Relaxed);
        let mut keyed: Vec<(SelectionKey, usize)> = recent
            .into_iter()
            .map(|(i, recent)| {
                let a = &all[i].0;
                let key = SelectionKey {
                    tried: tried.contains(a),
                    slow: is_slow(recent, best),
                    in_flight: self.inner.pool.in_flight(a),
                    load: all[i].1,
                    turn: SelectionKey::turn(i, all.len(), rotate),
                };
                (key, i)
            })
            .collect();
        keyed.sort();
        keyed.into_iter().map(|(_, i)| all[i].0).collect()
    }

    /// The instances of `service` that `candidates` puts last for being slow
    /// (`policy::is_slow`), with their recent latency: for `/status`.
    pub fn slow(&self, service: &str) -> Vec<(SocketAddr, Duration)> {
        let Choosable { all, recent, best } = self.choosable(service);
        recent.into_iter().filter(|&(_, r)| is_slow(r, best)).map(|(i, r)| (all[i].0, r)).collect()
    }

    /// What `candidates` ranks and `slow` reports on: the instances of
    /// `service`, and the choosable ones among them with their recent latency.
    fn choosable(&self, service: &str) -> Choosable {
        let snap = self.observe();
        let now = Instant::now();
        let all: Vec<(SocketAddr, u64)> = {
            let health = lock(&self.inner.health);
            let alive = |r: &InstanceRecord| r.addr.parse::<SocketAddr>().is_ok_and(|a| health.available(&a, now));
            lock(&self.inner.keeper).with_instances(&snap, service, alive, |rs| {
                rs.iter().filter_map(|r| r.addr.parse::<SocketAddr>().ok().map(|a| (a, r.load))).collect()
            })
        };
        let addrs: Vec<SocketAddr> = all.iter().map(|(a, _)| *a).collect();
        let choosable = lock(&self.inner.health).choosable(&addrs, Instant::now());
        let latencies = self.inner.latencies.recent_all(choosable.iter().map(|&i| addrs[i]));
        let best = latencies.iter().copied().min().unwrap_or_default();
        Choosable { recent: choosable.into_iter().zip(latencies).collect(), all, best }
    }

    /// `addr`'s recent latency estimate (`policy::RECENT_DECAY`).
    pub fn recent_latency(&self, addr: SocketAddr) -> Duration {
        self.inner.latencies.recent(addr)
    }

    pub fn connection_failed(&self, addr: SocketAddr, service: &str, why: &str) {
        lock(&self.inner.health).connection_failed(addr, service, why, Instant::now());
    }

    /// Records a reply with RPC status `code` that took `rtt`: for outlier
    /// detection only an instance failure counts against it
    /// (`health::instance_failure`); every reply feeds its latency estimate.
    pub fn answered(&self, addr: SocketAddr, service: &str, code: proto::Code, rtt: std::time::Duration) {
        let now = Instant::now();
        self.inner.latencies.observe(addr, rtt, now);
        lock(&self.inner.health).reply(addr, service, crate::health::instance_failure(code), now);
    }

    /// Folds a wait with no reply into `addr`'s latency estimate.
    pub fn observe_latency(&self, addr: SocketAddr, waited: std::time::Duration) {
        self.inner.latencies.observe(addr, waited, Instant::now());
    }

    /// `addr`'s latency estimate (`policy::PeakEwma`).
    pub fn latency(&self, addr: SocketAddr) -> std::time::Duration {
        self.inner.latencies.estimate(addr, Instant::now())
    }

    /// Records a call sent at `sent` that got no answer by its deadline.
    pub fn timed_out(&self, addr: SocketAddr, service: &str, sent: Instant) {
        lock(&self.inner.health).timed_out(addr, service, sent, Instant::now());
    }

    /// Whether another instance of `service` answered a call since `since`
    /// (so a wait on `addr` is its own slowness, not the service's).
    pub fn peer_answered(&self, addr: SocketAddr, service: &str, since: Instant) -> bool {
        lock(&self.inner.health).peer_answered(addr, service, since)
    }

    pub fn health(&self, addr: &SocketAddr) -> HealthView {
        lock(&self.inner.health).view(addr, Instant::now())
    }

    /// When `addr` last left rotation and last came back.
    pub fn transitions(&self, addr: &SocketAddr) -> (Option<Instant>, Option<Instant>) {
        lock(&self.inner.health).transitions(addr)
    }

    /// Counts an original request against the retry budget.
    pub fn count_request(&self) {
        lock(&self.inner.budget).request(Instant::now());
    }

    /// The retry budget `policy::decide` draws on.
    pub fn budget(&self) -> &Mutex<RetryBudget> {
        &self.inner.budget
    }

    /// Instances kept by self-preservation (service, record).
    pub fn kept(&self) -> Vec<InstanceRecord> {
        self.observe();
        lock(&self.inner.keeper).kept()
    }

    /// What the prober should check now.
    fn targets(&self) -> Vec<(String, SocketAddr)> {
        let snap = self.observe();
        let mut out: Vec<(String, SocketAddr)> = snap
            .services
            .iter()
            .filter(|(s, _)| (self.inner.watch)(s))
            .flat_map(|(_, v)| v.iter())
            .chain(lock(&self.inner.keeper).kept().iter())
            .filter(|r| (self.inner.watch)(&r.service))
            .filter_map(|r| r.addr.parse().ok().map(|a| (r.service.clone(), a)))
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// One round of probes; returns when every probe answered or timed out.
    fn probe_round(&self, timeout: Duration) {
        let (tx, rx) = crossbeam_channel::unbounded::<(SocketAddr, Probe)>();
        let sent = Instant::now();
        let mut waiting: Vec<(String, SocketAddr, proto::Connection, u64)> = Vec::new();
        let payload = HealthCheckRequest { service: String::new() }.encode_to_vec();
        for (service, addr) in self.targets() {
            let conn = match self.inner.pool.connection(addr) {
                Ok(c) => c,
                Err(e) => {
                    let mut h = lock(&self.inner.health);
                    let now = Instant::now();
                    h.probe(addr, &service, Probe::Failed(e.to_string()), now);
                    h.connection_failed(addr, &service, &e.to_string(), now);
                    continue;
                }
            };
            let tx = tx.clone();
            let id = conn.start(
                proto::methods::HEALTH_CHECK,
                &proto::ids::new_request_id(),
                timeout,
                payload.clone(),
                Box::new(move |r| {
                    let probe = match r {
                        Ok(resp) => match proto::rpc_client::decode_reply::<HealthCheckResponse>(resp) {
                            Ok(h) if h.status == ServingStatus::Serving as i32 => Probe::Serving,
                            Ok(_) => Probe::NotServing,
                            Err(e) => Probe::Failed(e.to_string()),
                        },
                        Err(e) => Probe::Failed(e.to_string()),
                    };
                    let _ = tx.send((addr, probe));
                }),
            );
            waiting.push((service, addr, conn, id));
        }
        drop(tx);
        let deadline = Instant::now() + timeout;
        while !waiting.is_empty() {
            let Ok((addr, probe)) = rx.recv_deadline(deadline) else { break };
            if let Some(i) = waiting.iter().position(|w| w.1 == addr) {
                let (service, ..) = waiting.swap_remove(i);
                let lost =
                    matches!(&probe, Probe::Failed(_)) && !self.inner.pool.connection(addr).is_ok_and(|c| !c.is_dead());
                let now = Instant::now();
                if !matches!(&probe, Probe::Failed(_)) {
                    self.inner.latencies.observe_probe(addr, now.saturating_duration_since(sent), now);
                }
                let mut h = lock(&self.inner.health);
                if lost {
                    h.connection_failed(addr, &service, "connection lost", now);
                }
                h.probe(addr, &service, probe, now);
            }
        }
        for (service, addr, conn, id) in waiting {
            conn.cancel(id);
            // No answer in the whole probe timeout: at least that slow.
            self.inner.latencies.observe_probe(addr, timeout, Instant::now());
            lock(&self.inner.health).probe(
                addr,
                &service,
                Probe::Failed(format!("no answer in {timeout:?}")),
                Instant::now(),
            );
        }
    }
}

fn probe_loop(weak: Weak<Inner>, policy: HealthPolicy) {
    loop {
        let started = Instant::now();
        {
            let Some(inner) = weak.upgrade() else { return };
            Rotation { inner }.probe_round(policy.probe_timeout.min(policy.probe_interval));
        }
        std::thread::sleep(policy.probe_interval.saturating_sub(started.elapsed()));
    }
}

/// Services every stackwire balancer probes: all but the balancers themselves
/// (they speak HTTP, not RPC).
pub fn all_but_balancers() -> ServiceFilter {
    Box::new(|s: &str| s != crate::BALANCER_SERVICE)
}
