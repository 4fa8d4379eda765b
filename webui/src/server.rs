//! The webui process: an RPC server whose one method serves pages, registered
//! in the service registry so balancers find it, shut down without dropping
//! a page a visitor is waiting for.
//!
//! Start-up order matters: bind first (so `--listen 127.0.0.1:0` yields the
//! real port), serve, then register, and only then log `listening on`, which
//! is what scripts and tests wait for, so by then a balancer can find us.
//! Shutdown on SIGTERM/SIGINT is the reverse: health checks turn NOT_SERVING,
//! the registry record goes, we keep serving through one heartbeat period
//! while balancers catch up, calls already running may finish (up to
//! [`DRAIN_WAIT`]), and the process exits 0 (`registry_agent::lifecycle`).

use crate::backend::{Backend, Call};
use crate::backend_rpc::RpcBackend;
use crate::page_cache::{self, PageCache};
use crate::views::{self, Views};
use crate::{csrf, html, pages, routes};
use coherent::Versions;
use prost::Message;
use proto::methods;
use proto::pb::{HttpRequest, HttpResponse};
use proto::rpc_server::Later;
use proto::signals::Signal;
use proto::{CallContext, Handler, ServerConfig, Status};
use registry_agent::{Agent, Descriptor, Directory, MethodDesc, RegistryError};
use std::net::TcpListener;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long calls already running may take to finish after a stop signal.
pub const DRAIN_WAIT: Duration = Duration::from_secs(10);

/// Log target of the worker lines.
pub const WORKER_CLASS: &str = "WebUI::Worker";

/// Why the process could not start (it then exits non-zero).
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: String, source: std::io::Error },
    #[error("cannot start the RPC server: {0}")]
    Serve(std::io::Error),
    #[error("registry: {0}")]
    Registry(#[from] RegistryError),
    #[error("{0}")]
    Csrf(#[from] csrf::SecretError),
}

impl StartError {
    /// 2 for a setting the operator must fix, 1 for a failure that may pass.
    pub fn exit_code(&self) -> u8 {
        match self {
            StartError::Csrf(_) => 2,
            _ => 1,
        }
    }
}

/// Command-line options (`clap`, derive): `--listen`, `--admin`, `--help`,
/// `--version`; a mistake is clap's message naming the flag.
#[derive(Debug, Clone, PartialEq, Eq, clap::Parser)]
#[command(name = "webui", version, about = "Serves stackwire's HTML pages over RPC.", after_help = ENVIRONMENT)]
pub struct Args {
    /// RPC address to bind (the default is an OS-chosen port).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    pub listen: String,
    /// Where to serve `GET /metrics` (the page cache's counters); none if absent.
    #[arg(long, value_name = "ADDR")]
    pub admin: Option<String>,
    /// Where the registry is (flags or their `STACKWIRE_REDIS_*` /
    /// `STACKWIRE_REGISTRY_*` variables; a flag wins).
    #[command(flatten)]
    pub registry: registry_agent::RegistryArgs,
}

/// The settings read from the environment, shown under `--help`.
pub const ENVIRONMENT: &str = "\
Environment:
  STACKWIRE_CSRF_SECRET  the form-token key, shared by every webui (required)
  STACKWIRE_CACHE_KB     page cache budget per store (0 turns it off)";

impl Args {
    /// Parses the arguments after the program name. `--help` and
    /// `--version` come back as errors of kind `DisplayHelp` /
    /// `DisplayVersion`, whose `exit()` prints them and exits 0 (a mistake: 2).
    pub fn parse_args<I, S>(args: I) -> Result<Args, clap::Error>
    where
        I: IntoIterator<Item = S>,
        S: Into<std::ffi::OsString> + Clone,
    {
        let argv = std::iter::once(std::ffi::OsString::from("webui")).chain(args.into_iter().map(Into::into));
        <Args as clap::Parser>::try_parse_from(argv)
    }
}

/// What the registry (and the balancer's catalog) says about us.
pub fn descriptor() -> Descriptor {
    Descriptor {
        name: "WebUI".into(),
        title: "Web pages".into(),
        methods: [methods::WEB_HANDLE, methods::HEALTH_CHECK].into_iter().filter_map(MethodDesc::of_path).collect(),
        routes: routes::ROUTES.iter().map(|r| r.to_string()).collect(),
    }
}

/// The RPC handler: `WEB_HANDLE` only (the server answers health checks itself).
pub struct WebHandler {
    backend: Arc<dyn Backend>,
    csrf: Arc<csrf::Key>,
    cache: Option<Arc<PageCache>>,
    views: Arc<Views>,
}

impl WebHandler {
    pub fn new(
        backend: Arc<dyn Backend>,
        csrf: csrf::Key,
        cache: Option<Arc<PageCache>>,
        views: Arc<Views>,
    ) -> WebHandler {
        WebHandler { backend, csrf: Arc::new(csrf), cache, views }
    }

    fn page(&self, ctx: &CallContext<'_>, req: &HttpRequest) -> HttpResponse {
        // The envelope's id is the one in our log lines; fall back to the
        // balancer's copy in the request, and make one only if both are missing.
        let request_id = [ctx.request_id, req.request_id.as_str()]
            .into_iter()
            .find(|id| proto::ids::is_valid_request_id(id.as_bytes()))
            .map(str::to_string)
            .unwrap_or_else(proto::ids::new_request_id);
        let call = Call { request_id, deadline: ctx.deadline, token: crate::auth::session_token(req) };
        // A bug in one page must cost that page, not a worker thread of the pool.
        let cache = self.cache.as_deref();
        match catch_unwind(AssertUnwindSafe(|| routes::handle_cached(&*self.backend, &self.csrf, cache, &call, req))) {
            Ok(resp) => {
                // Counted here, once the response is final however it was
                // made, so a page from the cache counts like a rendered one.
                if let Some(id) = routes::viewed_question(req, resp.status) {
                    self.views.record(id, &views::viewer_key(req), Instant::now());
                }
                resp
            }
            Err(_) => {
                log::error!(target: WORKER_CLASS, "page {} {} panicked", req.method.escape_debug(), req.path.escape_debug());
                html::response(500, pages::internal_error())
            }
        }
    }
}

impl Handler for WebHandler {
    fn handle(&self, ctx: &CallContext<'_>, payload: &[u8]) -> Result<Vec<u8>, Status> {
        if ctx.method != methods::WEB_HANDLE {
            return Err(Status::new(proto::Code::Unimplemented, format!("no method {}", ctx.method)));
        }
        let req = HttpRequest::decode(payload).map_err(|e| Status::invalid(format!("undecodable HttpRequest: {e}")))?;
        let resp = self.page(ctx, &req);
        Ok(served(&req, resp))
    }

    /// A cached page's GET is answered without a worker: its versions are
    /// read with every other read of the moment, on this loop
    /// (`loop_work`) or the cache's reader thread (`routes::cached`), and a
    /// hit is answered there; the rest (a miss,
    /// anything that needs a call or SQL) goes to a worker and `handle`.
    fn take_over(&self, later: Later) -> Result<(), Later> {
        let Some(cache) = self.cache.clone() else { return Err(later) };
        if later.method() != methods::WEB_HANDLE {
            return Err(later);
        }
        let Ok(req) = HttpRequest::decode(later.payload()) else { return Err(later) };
        let Some(lookup) = routes::lookup(&cache, &self.csrf, &req) else { return Err(later) };
        let (key, views) = (self.csrf.clone(), self.views.clone());
        cache.clone().stamp_later(
            lookup.topics(),
            Box::new(move |stamp| match stamp.and_then(|s| lookup.answer(&cache, &key, &s)) {
                Some(resp) => later.answer(|_| {
                    // Counted as `page` counts a page from a worker.
                    if let Some(id) = routes::viewed_question(&req, resp.status) {
                        views.record(id, &views::viewer_key(&req), Instant::now());
                    }
                    Ok(served(&req, resp))
                }),
                None => later.to_pool(),
            }),
        );
        Ok(())
    }

    /// The version reads of the pages taken over are made on the RPC loop
    /// (`coherent::loop_reads`).
    fn loop_work(&self) -> Option<Box<dyn proto::rpc_server::LoopWork>> {
        self.cache.as_ref().filter(|c| c.enabled()).map(|c| c.loop_work())
    }
}

/// A page's response as the reply payload, with its log line (escaped, so
/// a path with a line break cannot forge a line).
fn served(req: &HttpRequest, resp: HttpResponse) -> Vec<u8> {
    log::info!(target: WORKER_CLASS, "{} {} -> {}", req.method.escape_debug(), req.path.escape_debug(), resp.status);
    resp.encode_to_vec()
}

/// Runs the webui until SIGTERM or SIGINT; returns after a clean shutdown.
pub fn run(args: &Args, signals: crossbeam_channel::Receiver<Signal>) -> Result<(), StartError> {
    let cfg = args.registry.config()?;
    let key = csrf::Key::from_env()?;
    let listener =
        TcpListener::bind(&args.listen).map_err(|source| StartError::Bind { addr: args.listen.clone(), source })?;
    let directory = Directory::start(cfg.clone());
    let backend: Arc<dyn Backend> = Arc::new(RpcBackend::new(directory));
    let views = Arc::new(Views::default());
    let cache = Arc::new(PageCache::new(Versions::new(cfg.clone()), coherent::budget_from_env(page_cache::DEFAULT_KB)));
    if cache.enabled() && coherent::feed_enabled() {
        coherent::feed::start(cfg.clone(), cache.feed_targets());
    }
    if let Some(admin) = &args.admin {
        let (c, v) = (cache.clone(), views.clone());
        let render: coherent::admin::Render = Arc::new(move || {
            let mut out = String::new();
            c.render(&mut out);
            v.render(&mut out);
            out
        });
        let local =
            coherent::admin::start(admin, render).map_err(|source| StartError::Bind { addr: admin.clone(), source })?;
        log::info!(target: "webui", "admin on {local}: GET /metrics");
    }
    let handler = Arc::new(WebHandler::new(backend.clone(), key, Some(cache), views.clone()));
    let server =
        proto::rpc_server::serve(listener, handler, ServerConfig::new(WORKER_CLASS)).map_err(StartError::Serve)?;
    let addr = server.local_addr();
    let load_server = server.clone();
    let agent = Agent::start(cfg, "webui", addr, descriptor(), Arc::new(move || load_server.in_flight() as u64))?;
    let flusher = Flusher::start(views, backend, views::flush_interval());
    log::info!(target: "webui", "listening on {addr}");

    // The shared graceful stop: leave rotation, serve through one heartbeat
    // period, finish calls in flight (at most DRAIN_WAIT).
    registry_agent::lifecycle::wait_for_stop(&signals, "webui");
    let mut opts = registry_agent::lifecycle::ShutdownOptions::new("webui");
    opts.max_wait = DRAIN_WAIT;
    registry_agent::lifecycle::shutdown(agent, &server, &signals, &opts);
    flusher.stop();
    log::info!(target: "webui", "stopped");
    Ok(())
}

/// The thread that sends view counts every interval, and once more at shutdown.
struct Flusher {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
    views: Arc<Views>,
    backend: Arc<dyn Backend>,
}

impl Flusher {
    fn start(views: Arc<Views>, backend: Arc<dyn Backend>, every: Duration) -> Flusher {
        let stop = Arc::new(AtomicBool::new(false));
        let (v, b, s) = (views.clone(), backend.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("view-flush".into())
            .spawn(move || {
                // Short sleeps, so a stop is noticed within 50 ms.
                let mut last = Instant::now();
                while !s.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(50).min(every));
                    if last.elapsed() >= every {
                        v.flush(&*b);
                        last = Instant::now();
                    }
                }
            })
            .ok();
        Flusher { stop, thread, views, backend }
    }

    /// Stops the thread and flushes what the last pages counted.
    fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.views.flush(&*self.backend);
    }
}

#[cfg(test)]
#[path = "../tests/unit/server.rs"]
mod tests;
