//! Graceful shutdown, the same for every RPC process.
//!
//! Killing a process that is in rotation costs requests; so does exiting the
//! moment it leaves rotation, because the clients that route to it learn of
//! the departure a little later (a pub/sub event, else the next resync, else
//! two failed health probes). So a stop is a sequence:
//!
//! 1. health checks answer `NOT_SERVING` (probing clients take us out);
//! 2. the registry record is removed and the removal published (watching
//!    clients drop us within milliseconds, or at their next resync);
//! 3. we keep serving, new connections included, for a grace period of at
//!    least one heartbeat/resync period, until every client has stopped
//!    sending;
//! 4. new connections are refused, calls already running finish (at most
//!    `max_wait`), and the process exits 0.
//!
//! A second SIGTERM/SIGINT cuts the waiting short.

use crate::Agent;
use crossbeam_channel::Receiver;
use proto::rpc_server::ServerHandle;
use proto::signals::Signal;
use std::time::{Duration, Instant};

/// Extra time past the registry's own periods, for probes and event delivery.
const MARGIN: Duration = Duration::from_millis(500);
/// How long the server must have been idle before we exit.
const SETTLE: Duration = Duration::from_millis(200);

#[derive(Debug, Clone)]
pub struct ShutdownOptions {
    /// Log target, e.g. `Question::Main`.
    pub class: String,
    /// Serving after deregistering; None: heartbeat/resync period + 500 ms.
    pub grace: Option<Duration>,
    /// Longest wait for calls still running.
    pub max_wait: Duration,
}

impl ShutdownOptions {
    pub fn new(class: &str) -> ShutdownOptions {
        ShutdownOptions { class: class.to_string(), grace: None, max_wait: Duration::from_secs(10) }
    }
}

/// Blocks until SIGTERM or SIGINT (SIGHUP is logged and ignored); returns the signal.
pub fn wait_for_stop(signals: &Receiver<Signal>, class: &str) -> Signal {
    loop {
        match signals.recv() {
            Ok(Signal::Hangup) => log::info!(target: class, "SIGHUP: nothing to reload"),
            Ok(s) => return s,
            Err(_) => {
                log::error!(target: class, "signal delivery is broken; serving until killed");
                loop {
                    std::thread::park();
                }
            }
        }
    }
}

/// Runs the shutdown sequence; true when no call was left running.
pub fn shutdown(agent: Agent, server: &ServerHandle, signals: &Receiver<Signal>, opts: &ShutdownOptions) -> bool {
    let class = opts.class.as_str();
    let cfg = agent.config();
    let grace = opts.grace.unwrap_or_else(|| cfg.heartbeat.max(cfg.resync) + MARGIN);
    log::info!(target: class, "stopping: leaving rotation, serving {} ms more", grace.as_millis());
    server.drain();
    agent.deregister();
    let end = Instant::now() + grace;
    let mut cut_short = false;
    while let Some(left) = end.checked_duration_since(Instant::now()) {
        if let Ok(s) = signals.recv_timeout(left) {
            if s != Signal::Hangup {
                log::warn!(target: class, "second {s:?}: not waiting any longer");
                cut_short = true;
                break;
            }
        }
    }
    server.stop_accepting();
    let idle = if cut_short { server.in_flight() == 0 } else { wait_quiet(server, signals, opts.max_wait, class) };
    if idle {
        log::info!(target: class, "idle; exiting");
    } else {
        log::warn!(target: class, "exiting with {} calls still running", server.in_flight());
    }
    idle
}

/// Waits until no call has run for [`SETTLE`], `max` passes, or a second
/// signal arrives. Returns whether the server was idle at the end.
fn wait_quiet(server: &ServerHandle, signals: &Receiver<Signal>, max: Duration, class: &str) -> bool {
    let end = Instant::now() + max;
    let mut idle_since: Option<Instant> = None;
    loop {
        let now = Instant::now();
        if server.in_flight() == 0 {
            if now.duration_since(*idle_since.get_or_insert(now)) >= SETTLE {
                return true;
            }
        } else {
            idle_since = None;
        }
        if now >= end {
            return server.in_flight() == 0;
        }
        if let Ok(s) = signals.recv_timeout(Duration::from_millis(10)) {
            if s != Signal::Hangup {
                log::warn!(target: class, "second {s:?}: not waiting any longer");
                return server.in_flight() == 0;
            }
        }
    }
}
