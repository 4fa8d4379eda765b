//! A locally cached view of every live instance.
//!
//! Readers (the balancer, the webui, services calling each other) must not ask
//! Redis on every request, and must not stop working when Redis blips. So one
//! thread keeps a snapshot fresh: it re-reads the full listing every `resync`
//! period, and at once when a `register`/`deregister` event arrives on the
//! pub/sub channel (read by a second thread). When a listing fails, the last
//! snapshot stays in place: a registry outage freezes the view instead of
//! emptying it.

use crate::{store, InstanceRecord, RegistryConfig};
use crossbeam_channel::{Receiver, Sender};
use std::collections::BTreeMap;
use std::sync::{Arc, Condvar, Mutex, RwLock, Weak};
use std::time::Duration;

/// The registry as last read.
#[derive(Debug, Default, Clone)]
pub struct Snapshot {
    /// Bumped whenever the content changes.
    pub version: u64,
    /// When the listing was read, ms since the epoch (0: never).
    pub read_at_ms: i64,
    pub services: BTreeMap<String, Vec<InstanceRecord>>,
}

impl Snapshot {
    pub fn instances(&self, service: &str) -> &[InstanceRecord] {
        self.services.get(service).map(|v| v.as_slice()).unwrap_or(&[])
    }
}

struct Shared {
    snap: RwLock<Arc<Snapshot>>,
    version: Mutex<u64>,
    changed: Condvar,
    wake: Sender<()>,
}

/// Cheap to clone; all clones share one refresher.
#[derive(Clone)]
pub struct Directory {
    shared: Arc<Shared>,
}

impl Directory {
    /// Reads the registry once (best effort) and starts refreshing.
    pub fn start(cfg: RegistryConfig) -> Directory {
        let (wake, wake_rx) = crossbeam_channel::bounded(1);
        let shared = Arc::new(Shared {
            snap: RwLock::new(Arc::new(Snapshot::default())),
            version: Mutex::new(0),
            changed: Condvar::new(),
            wake: wake.clone(),
        });
        let mut con = None;
        refresh(&shared, &cfg, &mut con);
        let weak = Arc::downgrade(&shared);
        let c = cfg.clone();
        let _ = std::thread::Builder::new()
            .name("registry-refresh".into())
            .spawn(move || refresh_loop(weak, c, con, wake_rx));
        let weak = Arc::downgrade(&shared);
        let _ = std::thread::Builder::new().name("registry-events".into()).spawn(move || event_loop(weak, cfg, wake));
        Directory { shared }
    }

    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.shared.snap.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn instances(&self, service: &str) -> Vec<InstanceRecord> {
        self.snapshot().instances(service).to_vec()
    }

    /// Asks for a re-read now (coalesced with one already pending).
    pub fn refresh_now(&self) {
        let _ = self.shared.wake.try_send(());
    }

    /// Blocks until the snapshot's version exceeds `version` or `timeout` passes.
    pub fn wait_newer(&self, version: u64, timeout: Duration) -> Arc<Snapshot> {
        let guard = self.shared.version.lock().unwrap_or_else(|e| e.into_inner());
        let _ = self.shared.changed.wait_timeout_while(guard, timeout, |v| *v <= version);
        self.snapshot()
    }
}

fn refresh(shared: &Shared, cfg: &RegistryConfig, con: &mut Option<redis::Connection>) {
    if con.is_none() {
        match store::connect(cfg) {
            Ok(c) => *con = Some(c),
            Err(e) => {
                log::warn!(target: "registry", "cannot reach the registry: {e}; keeping the last view");
                return;
            }
        }
    }
    let Some(c) = con.as_mut() else { return };
    match store::list(c, cfg) {
        Ok(services) => {
            let mut snap = shared.snap.write().unwrap_or_else(|e| e.into_inner());
            let changed = snap.services != services;
            let version = if changed { snap.version + 1 } else { snap.version };
            *snap = Arc::new(Snapshot { version, read_at_ms: proto::clock::now_ms(), services });
            drop(snap);
            if changed {
                *shared.version.lock().unwrap_or_else(|e| e.into_inner()) = version;
                shared.changed.notify_all();
            }
        }
        Err(e) => {
            log::warn!(target: "registry", "listing failed: {e}; keeping the last view");
            *con = None;
        }
    }
}

fn refresh_loop(weak: Weak<Shared>, cfg: RegistryConfig, mut con: Option<redis::Connection>, wake: Receiver<()>) {
    loop {
        let _ = wake.recv_timeout(cfg.resync);
        let Some(shared) = weak.upgrade() else { return };
        refresh(&shared, &cfg, &mut con);
    }
}

fn event_loop(weak: Weak<Shared>, cfg: RegistryConfig, wake: Sender<()>) {
    loop {
        if weak.strong_count() == 0 {
            return;
        }
        if let Err(e) = subscribe(&weak, &cfg, &wake) {
            log::debug!(target: "registry", "event subscription lost: {e}");
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn subscribe(weak: &Weak<Shared>, cfg: &RegistryConfig, wake: &Sender<()>) -> Result<(), redis::RedisError> {
    let client = store::client(cfg).map_err(|e| match e {
        crate::RegistryError::Redis(r) => r,
        other => redis::RedisError::from((redis::ErrorKind::IoError, "no registry primary", other.to_string())),
    })?;
    let mut con = client.get_connection_with_timeout(Duration::from_secs(1))?;
    let mut ps = con.as_pubsub();
    ps.subscribe(cfg.events_channel())?;
    ps.set_read_timeout(Some(Duration::from_secs(1)))?;
    // A reconnect may have missed events: look now.
    let _ = wake.try_send(());
    loop {
        if weak.strong_count() == 0 {
            return Ok(());
        }
        match ps.get_message() {
            Ok(_) => {
                let _ = wake.try_send(());
            }
            Err(e) if e.is_timeout() => {}
            Err(e) => return Err(e),
        }
    }
}
