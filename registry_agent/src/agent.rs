//! Registers one instance and keeps its record alive.
//!
//! The first write happens before `start` returns, so a process that cannot
//! reach the registry fails at start with a clear error instead of running
//! invisibly. After that a thread rewrites the record every heartbeat with the
//! current load; a failed beat is logged and the next one reconnects, so a
//! Redis restart costs at most one heartbeat of invisibility.

use crate::{store, Descriptor, InstanceRecord, RegistryConfig, RegistryError};
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use std::net::SocketAddr;
use std::sync::Arc;

/// Reports the instance's current load (calls in flight).
pub type LoadFn = Arc<dyn Fn() -> u64 + Send + Sync>;

pub struct Agent {
    cfg: RegistryConfig,
    service: String,
    id: String,
    stop: Option<Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Agent {
    pub fn start(
        cfg: RegistryConfig,
        service: &str,
        addr: SocketAddr,
        descriptor: Descriptor,
        load: LoadFn,
    ) -> Result<Agent, RegistryError> {
        let pid = std::process::id();
        let id = format!("{service}-{}-{pid}", addr.port());
        let now = proto::clock::now_ms();
        let mut rec = InstanceRecord {
            service: service.to_string(),
            id: id.clone(),
            addr: addr.to_string(),
            pid,
            started_at_ms: now,
            last_heartbeat_ms: now,
            ttl_ms: cfg.ttl.as_millis() as u64,
            load: load(),
            descriptor,
        };
        let mut con = store::connect(&cfg)?;
        store::write(&mut con, &cfg, &rec)?;
        let _ = store::publish(&mut con, &cfg, &format!("register {service} {id}"));
        log::info!(target: "registry", "registered {service} {id} at {addr}");
        let (tx, rx) = crossbeam_channel::bounded(1);
        let c = cfg.clone();
        let thread = std::thread::Builder::new()
            .name("heartbeat".into())
            .spawn(move || beat_loop(c, &mut rec, Some(con), load, rx))
            .map_err(|e| RegistryError::Redis(redis::RedisError::from(e)))?;
        Ok(Agent { cfg, service: service.to_string(), id, stop: Some(tx), thread: Some(thread) })
    }

    pub fn instance_id(&self) -> &str {
        &self.id
    }

    pub fn config(&self) -> &RegistryConfig {
        &self.cfg
    }

    /// Stops beating and removes the record, so readers drop us at once
    /// rather than after the TTL.
    pub fn deregister(mut self) {
        self.stop_beating();
        match store::connect(&self.cfg).and_then(|mut con| {
            store::remove(&mut con, &self.cfg, &self.service, &self.id)?;
            store::publish(&mut con, &self.cfg, &format!("deregister {} {}", self.service, self.id))
        }) {
            Ok(()) => log::info!(target: "registry", "deregistered {} {}", self.service, self.id),
            Err(e) => log::warn!(target: "registry", "deregister {} failed ({e}); the record expires by TTL", self.id),
        }
    }

    fn stop_beating(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        self.stop_beating();
    }
}

fn beat_loop(
    cfg: RegistryConfig,
    rec: &mut InstanceRecord,
    mut con: Option<redis::Connection>,
    load: LoadFn,
    stop: Receiver<()>,
) {
    let mut healthy = true;
    loop {
        // While the registry is unreachable (a failover in progress), try
        // more often than the heartbeat, so the record is back as soon as a
        // new primary is.
        let wait = if healthy { cfg.heartbeat } else { cfg.heartbeat.min(std::time::Duration::from_millis(250)) };
        match stop.recv_timeout(wait) {
            Err(RecvTimeoutError::Timeout) => {}
            _ => return,
        }
        rec.last_heartbeat_ms = proto::clock::now_ms();
        rec.load = load();
        let mut result = beat(&cfg, rec, &mut con);
        if result.is_err() {
            // A failover shows up as a dead connection or a READONLY reply
            // from the demoted node: resolve the primary again and retry at
            // once, so the record is back within this heartbeat, not the next.
            con = None;
            result = beat(&cfg, rec, &mut con);
        }
        match result {
            Ok(()) if !healthy => {
                healthy = true;
                log::info!(target: "registry", "heartbeat restored for {}", rec.id);
                if let Some(c) = con.as_mut() {
                    let _ = store::publish(c, &cfg, &format!("register {} {}", rec.service, rec.id));
                }
            }
            Ok(()) => {}
            Err(e) => {
                if healthy {
                    log::warn!(target: "registry", "heartbeat for {} failed: {e}", rec.id);
                }
                healthy = false;
                con = None;
            }
        }
    }
}

/// Writes the record on `con`, dialing (and resolving the primary) first if
/// there is no connection.
fn beat(cfg: &RegistryConfig, rec: &InstanceRecord, con: &mut Option<redis::Connection>) -> Result<(), RegistryError> {
    if con.is_none() {
        *con = Some(store::connect(cfg)?);
    }
    match con.as_mut() {
        Some(c) => store::write(c, cfg, rec),
        None => Ok(()),
    }
}
