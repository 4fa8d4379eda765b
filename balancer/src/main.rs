//! `balancer`: flags, startup, signals, exit status.
//!
//! Startup order matters for the people and scripts that start us: signals
//! are blocked before any thread exists (so SIGTERM always reaches the signal
//! thread rather than killing a worker), configuration and the route file are
//! checked before anything binds, and `listening on ADDR` is logged only once
//! the listener, the workers and (in registry mode) the directory are up, so
//! whoever polls the log for it can send requests at once.
//!
//! Exit status: 0 after a clean stop (SIGTERM/SIGINT, drained), 2 for bad
//! flags or configuration, 1 when the balancer cannot start or its event loop
//! fails.

use balancer::config::{self, Config, ConfigError};
use balancer::conn::Limits;
use balancer::event_loop::{EventLoop, Settings};
use balancer::routes::{RouteError, RouteTable};
use balancer::upstream_http::HttpUpstream;
use balancer::upstream_rpc::RpcUpstream;
use balancer::workers::{self, LoopMsg, Notifier, Upstream};
use proto::signals::Signal;
use std::sync::Arc;
use std::time::Duration;

/// Jobs waiting for a worker before new requests get 503.
const QUEUE: usize = 4096;
const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);

#[derive(Debug, thiserror::Error)]
enum StartError {
    #[error("route table: {0}")]
    Routes(#[from] RouteError),
    #[error("registry: {0} (or give --upstream for static mode)")]
    Registry(#[from] registry_agent::RegistryError),
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: std::net::SocketAddr, source: std::io::Error },
    #[error("cannot start: {0}")]
    Io(#[from] std::io::Error),
}

impl StartError {
    fn exit_code(&self) -> i32 {
        match self {
            StartError::Routes(_) | StartError::Registry(_) => 2,
            _ => 1,
        }
    }
}

fn main() {
    let signals = proto::signals::block();
    proto::logger::init();
    let cfg = match config::parse(std::env::args().skip(1)) {
        Ok(c) => c,
        Err(ConfigError::Help) => {
            println!("{}", config::USAGE);
            return;
        }
        Err(e) => {
            eprintln!("balancer: {e}\n\n{}", config::USAGE);
            std::process::exit(2);
        }
    };
    if let Err(e) = run(cfg, signals) {
        log::error!(target: "balancer", "{e}");
        std::process::exit(e.exit_code());
    }
}

fn run(cfg: Config, signals: crossbeam_channel::Receiver<Signal>) -> Result<(), StartError> {
    raise_fd_limit(cfg.max_connections as u64 + 1024);
    let routes = match &cfg.routes {
        Some(p) => RouteTable::load(p)?,
        None => RouteTable::default(),
    };
    let (upstream, mode): (Arc<dyn Upstream>, String) = if cfg.upstreams.is_empty() {
        let rc = registry_agent::RegistryConfig::from_env()?;
        let mode = format!("registry mode, prefix {}", rc.prefix);
        let directory = registry_agent::Directory::start(rc);
        (Arc::new(RpcUpstream::new(directory, CONNECT_TIMEOUT)), mode)
    } else {
        let list: Vec<&str> = cfg.upstreams.iter().map(|u| u.url.as_str()).collect();
        let mode = format!("static mode, upstreams {}", list.join(" "));
        (Arc::new(HttpUpstream::new(&cfg.upstreams, CONNECT_TIMEOUT)), mode)
    };
    let listener =
        std::net::TcpListener::bind(cfg.listen).map_err(|source| StartError::Listen { addr: cfg.listen, source })?;
    listener.set_nonblocking(true)?;
    let listener = mio::net::TcpListener::from_std(listener);
    let settings = Settings {
        limits: Limits {
            header_timeout: cfg.header_timeout,
            idle_timeout: cfg.idle_timeout,
            upstream_timeout: cfg.upstream_timeout,
        },
        max_connections: cfg.max_connections,
        drain_timeout: cfg.drain_timeout,
    };
    let (event_loop, notifier) = EventLoop::new(listener, settings, Arc::new(routes))?;
    let jobs = workers::start(cfg.workers, QUEUE, upstream, notifier.clone())?;
    forward_signals(signals, notifier, cfg.routes.clone())?;
    log::info!(
        target: "balancer",
        "listening on {} ({mode}; {} workers)",
        event_loop.local_addr(),
        cfg.workers
    );
    event_loop.run(jobs)?;
    Ok(())
}

/// Each client holds a descriptor, and so do upstream connections and logs:
/// raise the soft open-file limit as far as the hard limit allows, so that
/// --max-connections, not a default of 1024, is what limits us.
fn raise_fd_limit(want: u64) {
    let mut r = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: `r` is a valid rlimit to fill in.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) } != 0 {
        return;
    }
    let target = want.min(r.rlim_max);
    if r.rlim_cur < target {
        let raised = libc::rlimit { rlim_cur: target, rlim_max: r.rlim_max };
        // SAFETY: `raised` is a valid rlimit within the hard limit.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            r.rlim_cur = target;
        }
    }
    if r.rlim_cur < want {
        log::warn!(
            target: "balancer",
            "open-file limit is {}; --max-connections needs about {want}; excess clients will wait in the backlog",
            r.rlim_cur
        );
    }
}

/// Turns signals into loop messages; SIGHUP re-reads the route file here, so
/// the event loop never touches the filesystem.
fn forward_signals(
    signals: crossbeam_channel::Receiver<Signal>,
    notifier: Notifier,
    routes: Option<std::path::PathBuf>,
) -> std::io::Result<()> {
    std::thread::Builder::new().name("signal-forward".into()).spawn(move || {
        for sig in signals.iter() {
            match sig {
                Signal::Hangup => match &routes {
                    Some(path) => match RouteTable::load(path) {
                        Ok(t) => {
                            log::info!(target: "balancer", "SIGHUP: reloaded {}", path.display());
                            notifier.send(LoopMsg::Routes(Arc::new(t)));
                        }
                        Err(e) => log::warn!(target: "balancer", "SIGHUP: keeping the current routes: {e}"),
                    },
                    None => log::info!(target: "balancer", "SIGHUP: no --routes file; routes unchanged"),
                },
                Signal::Terminate | Signal::Interrupt => {
                    log::info!(target: "balancer", "{sig:?}: stopping");
                    notifier.send(LoopMsg::Stop);
                }
            }
        }
    })?;
    Ok(())
}
