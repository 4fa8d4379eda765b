//! Kept-open RPC connections, one multiplexed connection per instance, with
//! our own count of calls in flight to each.
//!
//! Shared by everything that talks to instances on one client's behalf: its
//! calls, and the health prober (so a probe also exercises the connection the
//! calls use). Dialing happens outside the lock, so one unreachable instance
//! cannot stall calls to the others; a dead connection is dropped and dialed
//! again on next use.

use proto::{Connection, RpcError};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

#[derive(Default)]
struct Slot {
    conn: Option<Connection>,
    in_flight: Arc<AtomicUsize>,
}

/// Counts one call in flight until dropped, however the call ends.
pub struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    fn new(counter: Arc<AtomicUsize>) -> InFlight {
        counter.fetch_add(1, Ordering::Relaxed);
        InFlight(counter)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

pub struct Pool {
    slots: Mutex<HashMap<SocketAddr, Slot>>,
    connect_timeout: Duration,
}

impl Pool {
    pub fn new(connect_timeout: Duration) -> Pool {
        Pool { slots: Mutex::new(HashMap::new()), connect_timeout }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<SocketAddr, Slot>> {
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A live connection to `addr`, dialing if needed.
    pub fn connection(&self, addr: SocketAddr) -> Result<Connection, RpcError> {
        {
            let mut slots = self.lock();
            let slot = slots.entry(addr).or_default();
            match &slot.conn {
                Some(c) if !c.is_dead() => return Ok(c.clone()),
                Some(_) => slot.conn = None,
                None => {}
            }
        }
        let fresh = Connection::connect(addr, self.connect_timeout, proto::frame::DEFAULT_MAX_MESSAGE)?;
        let mut slots = self.lock();
        let slot = slots.entry(addr).or_default();
        match &slot.conn {
            // Another caller dialed meanwhile: use theirs, drop ours.
            Some(c) if !c.is_dead() => Ok(c.clone()),
            _ => {
                slot.conn = Some(fresh.clone());
                Ok(fresh)
            }
        }
    }

    /// The live connection to `addr`, if one is open; never dials (for a
    /// thread that must not wait, see `policy::try_start`).
    pub fn open(&self, addr: SocketAddr) -> Option<Connection> {
        self.lock().get(&addr)?.conn.as_ref().filter(|c| !c.is_dead()).cloned()
    }

    /// Starts counting a call to `addr`.
    pub fn begin(&self, addr: SocketAddr) -> InFlight {
        InFlight::new(self.lock().entry(addr).or_default().in_flight.clone())
    }

    pub fn in_flight(&self, addr: &SocketAddr) -> usize {
        self.lock().get(addr).map(|s| s.in_flight.load(Ordering::Relaxed)).unwrap_or(0)
    }

    /// Closes connections to instances `keep` rejects, unless calls are still
    /// waiting on them.
    pub fn retain(&self, keep: impl Fn(&SocketAddr) -> bool) {
        self.lock().retain(|a, s| keep(a) || s.in_flight.load(Ordering::Relaxed) > 0);
    }

    /// Calls in flight to every instance together.
    pub fn total_in_flight(&self) -> usize {
        self.lock().values().map(|s| s.in_flight.load(Ordering::Relaxed)).sum()
    }
}
