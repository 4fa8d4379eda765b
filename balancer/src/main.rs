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

use balancer::{
    Config, HttpCatalog, HttpUpstreams, Limits, LoadError, LoopMsg, Notifier, RouteError, RouteTable, RpcUpstream,
    Settings, Shared, Upstream,
};
use proto::signals::Signal;
use std::sync::Arc;

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
    proto::alloc::keep_freed_memory();
    let signals = proto::signals::block();
    proto::logger::init();
    let cfg = match balancer::load_config(std::env::args_os().skip(1)) {
        Ok(c) => c,
        // --help and --version (exit 0), or bad flags (exit 2), printed by clap.
        Err(LoadError::Cli(e)) => e.exit(),
        Err(e) => {
            eprintln!("balancer: {e}\n\nFor more information, try '--help'.");
            std::process::exit(2);
        }
    };
    if let Err(e) = proto::limits::init() {
        eprintln!("balancer: {e}");
        std::process::exit(2);
    }
    if let Err(e) = run(cfg, signals) {
        log::error!(target: "balancer", "{e}");
        std::process::exit(e.exit_code());
    }
}

/// How long a balancer waits for a registry view before joining a shared port.
const READY_LIMIT: std::time::Duration = std::time::Duration::from_secs(5);

fn run(cfg: Config, signals: crossbeam_channel::Receiver<Signal>) -> Result<(), StartError> {
    raise_fd_limit(cfg.max_connections as u64 + 1024);
    let routes = match &cfg.routes {
        Some(p) => RouteTable::load(p)?,
        None => RouteTable::default(),
    };
    let mut static_http = None;
    let mut rpc = None;
    let (upstream, mode): (Arc<dyn Upstream>, String) = if cfg.upstreams.is_empty() {
        let rc = cfg.registry.config()?;
        let mode = format!("registry mode, prefix {}", rc.prefix);
        let up = Arc::new(RpcUpstream::with_registry(rc, cfg.connect_timeout));
        rpc = Some(up.clone());
        (up, mode)
    } else {
        let list: Vec<&str> = cfg.upstreams.iter().map(|u| u.url.as_str()).collect();
        let mode = format!("static mode, upstreams {}, {}", list.join(" "), cfg.balance.name());
        // Lives as long as the process: every loop proxies through it.
        let http: &'static HttpUpstreams =
            Box::leak(Box::new(HttpUpstreams::new(&cfg.upstreams, cfg.balance, cfg.connect_timeout)));
        static_http = Some(http);
        (Arc::new(HttpCatalog(http)), mode)
    };
    let settings = Settings {
        limits: Limits {
            header_timeout: cfg.header_timeout,
            idle_timeout: cfg.idle_timeout,
            upstream_timeout: cfg.upstream_timeout,
        },
        max_connections: cfg.max_connections,
        drain_timeout: cfg.drain_timeout,
    };
    let routes = Arc::new(routes);
    let registry_mode = rpc.is_some();
    let shared = Arc::new(Shared { live: Default::default(), http: static_http, rpc });
    let jobs = balancer::start_workers(cfg.workers, cfg.queue, upstream.clone())?;
    let n_loops = match cfg.loops {
        // One per core but one: the kernel's network processing and whatever
        // shares the machine need a core too. On the 2-core benchmark box one
        // loop gave a lower p99 than two at the same req/s (docs/balancer.md).
        0 => std::thread::available_parallelism().map_or(1, |n| n.get().saturating_sub(1).max(1)),
        n => n,
    };
    if cfg.shared_listen.is_some() {
        // Joining a shared port puts this balancer in the kernel's rotation at
        // once: a balancer that has not yet seen the registry would answer 503
        // for services its siblings serve fine. Wait (bounded) for a view that
        // has every routed service before binding.
        let wanted = routes.services();
        if !upstream.wait_ready(&wanted, READY_LIMIT) {
            log::warn!(target: "balancer", "not every routed service is in the registry after {READY_LIMIT:?}; joining the shared port anyway");
        }
    }
    let loops = balancer::start_loops(n_loops, cfg.listen, cfg.shared_listen, settings, routes, shared, jobs)
        .map_err(|e| StartError::Listen { addr: e.addr, source: e.source })?;
    if let Some(local) = loops.shared_addr {
        log::info!(target: "balancer", "also serving on shared {local} (SO_REUSEPORT)");
    }
    if registry_mode {
        // The loops read the replies of the calls they make (upstream/replies.rs).
        balancer::read_replies_on(loops.notifiers.clone());
    }
    if let Some(addr) = cfg.admin {
        let local =
            balancer::start_admin(addr, upstream.clone()).map_err(|source| StartError::Listen { addr, source })?;
        log::info!(target: "balancer", "admin on {local}: GET /metrics, /healthz, /status, /status/json");
    }
    forward_signals(signals, loops.notifiers.clone(), cfg.routes.clone())?;
    upstream.register(loops.local_addr);
    log::info!(
        target: "balancer",
        "listening on {} ({mode}; {n_loops} event loops, {} workers)",
        loops.local_addr,
        cfg.workers
    );
    loops.join()?;
    upstream.deregister();
    log::info!(target: "balancer", "stopped");
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
    notifiers: Vec<Notifier>,
    routes: Option<std::path::PathBuf>,
) -> std::io::Result<()> {
    let send = move |msg: &dyn Fn() -> LoopMsg| notifiers.iter().for_each(|n| n.send(msg()));
    std::thread::Builder::new().name("signal-forward".into()).spawn(move || {
        for sig in signals.iter() {
            match sig {
                Signal::Hangup => match &routes {
                    Some(path) => match RouteTable::load(path) {
                        Ok(t) => {
                            log::info!(target: "balancer", "SIGHUP: reloaded {}", path.display());
                            let t = Arc::new(t);
                            send(&|| LoopMsg::Routes(t.clone()));
                        }
                        Err(e) => log::warn!(target: "balancer", "SIGHUP: keeping the current routes: {e}"),
                    },
                    None => log::info!(target: "balancer", "SIGHUP: no --routes file; routes unchanged"),
                },
                Signal::Terminate | Signal::Interrupt => {
                    log::info!(target: "balancer", "{sig:?}: stopping");
                    send(&|| LoopMsg::Stop);
                }
            }
        }
    })?;
    Ok(())
}
