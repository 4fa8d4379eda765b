//! Starting the event loops: one per core, all on the same addresses.
//!
//! Each address (`--listen`, and `--shared-listen` when given, the latter
//! with `SO_REUSEPORT` so that other balancer processes can share it) gets
//! one listening socket, shared by every loop: each loop's poll watches it
//! level-triggered with `EPOLLEXCLUSIVE`, so a new connection wakes one
//! idle loop rather than all of them, and a loop busy with its clients is
//! not the one that gets it. (One `SO_REUSEPORT` socket per loop was tried
//! first: the kernel then splits connections by a hash of their addresses,
//! whatever each loop's load; 50 connections from one client split as
//! unevenly as 19/31 in twelve tries, and the busier loop sets the p99.)
//!
//! The loops share the worker pool (each job carries its loop's notifier,
//! so replies go back to the right one), the static upstreams and a count of
//! open connections; each returns when it has drained after a stop.

use crate::edge::event_loop::{EventLoop, Settings, Shared};
use crate::edge::listen;
use crate::routes::RouteTable;
use crate::upstream::workers::{Job, Notifier};
use crossbeam_channel::Sender;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;

/// The running loops.
pub struct Loops {
    /// One per loop, to send stop and reload messages.
    pub notifiers: Vec<Notifier>,
    /// The `--listen` address as bound (port 0 resolved).
    pub local_addr: SocketAddr,
    /// The `--shared-listen` address as bound, if any.
    pub shared_addr: Option<SocketAddr>,
    handles: Vec<JoinHandle<io::Result<()>>>,
}

/// A bind failed: which address, and why.
#[derive(Debug)]
pub struct BindError {
    pub addr: SocketAddr,
    pub source: io::Error,
}

/// Binds and starts `n` loops serving `listen` (and `shared_listen`).
pub fn start(
    n: usize,
    listen: SocketAddr,
    shared_listen: Option<SocketAddr>,
    settings: Settings,
    routes: Arc<RouteTable>,
    shared: Arc<Shared>,
    jobs: Sender<Job>,
) -> Result<Loops, BindError> {
    let n = n.max(1);
    let private = listen::bind(listen, false).map_err(|source| BindError { addr: listen, source })?;
    let local = private.local_addr().map_err(|source| BindError { addr: listen, source })?;
    let mut listeners = vec![Arc::new(private)];
    let mut shared_addr = None;
    if let Some(addr) = shared_listen {
        let l = listen::bind(addr, true).map_err(|source| BindError { addr, source })?;
        shared_addr = Some(l.local_addr().map_err(|source| BindError { addr, source })?);
        listeners.push(Arc::new(l));
    }
    let mut built = Vec::with_capacity(n);
    for _ in 0..n {
        let el = EventLoop::new(listeners.clone(), settings, routes.clone(), shared.clone())
            .map_err(|source| BindError { addr: local, source })?;
        built.push(el);
    }
    drop(listeners);
    let mut notifiers = Vec::with_capacity(n);
    let mut handles = Vec::with_capacity(n);
    for (k, (el, notifier)) in built.into_iter().enumerate() {
        notifiers.push(notifier);
        let jobs = jobs.clone();
        let h = std::thread::Builder::new()
            .name(format!("loop-{k}"))
            .spawn(move || el.run(jobs))
            .map_err(|source| BindError { addr: local, source })?;
        handles.push(h);
    }
    Ok(Loops { notifiers, local_addr: local, shared_addr, handles })
}

impl Loops {
    /// Waits until every loop has stopped; the first error, if any.
    pub fn join(self) -> io::Result<()> {
        let mut result = Ok(());
        for h in self.handles {
            let r = h.join().unwrap_or_else(|_| Err(io::Error::other("an event loop panicked")));
            if let Err(e) = r {
                log::error!(target: "balancer", "event loop failed: {e}");
                if result.is_ok() {
                    result = Err(e);
                }
            }
        }
        result
    }
}
