//! `service --service question|answer|comment|user|vote [--listen IP:PORT]`:
//! runs one of the services as its own process.
//!
//! Start-up, in an order chosen so that a process is never visible before it
//! can answer: block signals (before any thread exists, so every thread
//! inherits the mask), read the flags and environment, prepare the database
//! (pool and migrations), bind and start the RPC server, and only then
//! register in the registry and print `listening on ADDR`, the line scripts
//! and tests wait for. A missing setting exits 2 with the variable's name; an
//! unreachable database or registry exits 1 with what was tried.
//!
//! Shutdown on SIGTERM or SIGINT is `registry_agent::lifecycle::shutdown`:
//! health checks turn NOT_SERVING (balancers stop choosing us), the registry
//! record is removed (peers stop calling us), we keep serving for a heartbeat
//! period while every peer catches up, then new connections are refused and
//! calls already running finish; once nothing has been in flight for a short
//! settling period, or after 10 s at most, the process exits 0. A second
//! signal cuts the wait short.

use coherent::{Sessions, Store, Versions};
use crossbeam_channel::Receiver;
use proto::rpc_server::{self, ServerConfig};
use proto::signals::Signal;
use proto::Handler;
use registry_agent::{Agent, Directory, RegistryError};
use services::args::{self, Args, ServiceKind};
use services::db::{Db, DbConfig, DbError};
use services::{AnswerService, Auth, CommentService, QuestionService, Reply, UserService, VoteService};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

/// How long start-up waits for PostgreSQL (it may still be starting).
const STARTUP_DB_WAIT: Duration = Duration::from_secs(15);
/// The reply cache's default budget, KiB (`STACKWIRE_CACHE_KB`).
const REPLY_CACHE_KB: usize = 32 * 1024;
/// Longest a shutdown waits for running calls.
const DRAIN_MAX: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
enum StartError {
    #[error("{0}")]
    RegistryConfig(RegistryError),
    #[error("cannot register in the registry: {0}")]
    Register(RegistryError),
    #[error("{0}")]
    DbConfig(DbError),
    #[error("database {at}: {source}")]
    Db { at: String, source: DbError },
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("cannot start the RPC server: {0}")]
    Serve(std::io::Error),
}

impl StartError {
    /// 2 for a setting the operator must fix, 1 for a failure that may pass.
    fn exit_code(&self) -> i32 {
        match self {
            StartError::RegistryConfig(_) | StartError::DbConfig(_) => 2,
            _ => 1,
        }
    }
}

fn main() {
    proto::alloc::keep_freed_memory();
    let signals = proto::signals::block();
    proto::logger::init();
    // A mistake prints clap's message naming the flag and exits 2; --help
    // and --version print and exit 0.
    let args = args::parse(std::env::args_os().skip(1)).unwrap_or_else(|e| e.exit());
    let class = args.service.main_class();
    if let Err(e) = proto::limits::init() {
        eprintln!("service: {e}");
        std::process::exit(2);
    }
    match run(args, &signals) {
        Ok(()) => std::process::exit(0),
        Err(e) => {
            log::error!(target: class, "{e}");
            std::process::exit(e.exit_code());
        }
    }
}

fn run(args: Args, signals: &Receiver<Signal>) -> Result<(), StartError> {
    let kind = args.service;
    let class = kind.main_class();
    let registry = args.registry.config().map_err(StartError::RegistryConfig)?;
    let db_cfg = DbConfig::from_env(&format!("stackwire-{}", kind.registry_name())).map_err(StartError::DbConfig)?;
    let at = db_cfg.describe();
    let db = Db::new(&db_cfg).map_err(|source| StartError::Db { at: at.clone(), source })?;
    let applied = db.migrate(STARTUP_DB_WAIT).map_err(|source| StartError::Db { at: at.clone(), source })?;
    if applied.is_empty() {
        log::info!(target: class, "database {at}: schema up to date");
    } else {
        log::info!(target: class, "database {at}: applied migrations {applied:?}");
    }

    let directory = Directory::start(registry.clone());
    // Writes bump the caches' versions; the question service also keeps a
    // cache of its own (anonymous JSON replies), fed by the change feed.
    let versions = Versions::new(registry.clone());
    let budget = coherent::budget_from_env(REPLY_CACHE_KB);
    let replies: Arc<Store<Reply>> = Store::new("replies", if kind == ServiceKind::Question { budget } else { 0 });
    // Sessions the user service confirmed, for every service that checks them.
    let sessions = Arc::new(Sessions::new(versions.clone(), if kind == ServiceKind::User { 0 } else { budget }));
    if sessions.enabled() && coherent::feed_enabled() {
        let mut targets = sessions.feed_targets();
        targets.push(replies.clone());
        coherent::feed::start(registry.clone(), targets);
    }
    if let Some(addr) = args.admin {
        let (v, r, s, d, name) =
            (versions.clone(), replies.clone(), sessions.clone(), db.clone(), kind.registry_name());
        let render: coherent::admin::Render = Arc::new(move || {
            let mut out = String::new();
            v.render(&mut out);
            r.render(&mut out);
            s.render(&mut out);
            out.push_str(&services::replicas::render_metrics(name, d.standby()));
            out
        });
        let local =
            coherent::admin::start(&addr.to_string(), render).map_err(|source| StartError::Bind { addr, source })?;
        log::info!(target: class, "admin on {local}: GET /metrics");
    }
    let auth = Auth::new(directory, sessions);
    let handler: Arc<dyn Handler> = match kind {
        ServiceKind::Question => Arc::new(QuestionService::new(db, auth, versions, replies)),
        ServiceKind::Answer => Arc::new(AnswerService::new(db, auth, versions)),
        ServiceKind::Comment => Arc::new(CommentService::new(db, auth, versions)),
        ServiceKind::User => Arc::new(UserService::new(db, versions)),
        ServiceKind::Vote => Arc::new(VoteService::new(db, auth, versions)),
    };
    let handler: Arc<dyn Handler> = Arc::new(services::replicas::ReplicatedWrites(handler));
    let listener = TcpListener::bind(args.listen).map_err(|source| StartError::Bind { addr: args.listen, source })?;
    let server =
        rpc_server::serve(listener, handler, ServerConfig::new(kind.worker_class())).map_err(StartError::Serve)?;
    let addr = server.local_addr();
    let load = server.clone();
    let agent = Agent::start(
        registry,
        kind.registry_name(),
        advertised(addr),
        services::descriptor(kind),
        Arc::new(move || load.in_flight() as u64),
    )
    .map_err(StartError::Register)?;
    log::info!(target: class, "listening on {addr}");

    let signal = registry_agent::lifecycle::wait_for_stop(signals, class);
    log::info!(target: class, "{signal:?}: draining");
    let mut opts = registry_agent::lifecycle::ShutdownOptions::new(class);
    opts.max_wait = DRAIN_MAX;
    registry_agent::lifecycle::shutdown(agent, &server, signals, &opts);
    Ok(())
}

/// The address peers should dial: the bound one, except that a wildcard bind
/// (0.0.0.0 or ::) is reachable on this host through loopback.
fn advertised(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => SocketAddr::new(Ipv4Addr::LOCALHOST.into(), addr.port()),
        IpAddr::V6(ip) if ip.is_unspecified() => SocketAddr::new(Ipv6Addr::LOCALHOST.into(), addr.port()),
        _ => addr,
    }
}
