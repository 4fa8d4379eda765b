//! Counters and gauges for `GET /metrics`, in the Prometheus text format.
//!
//! Atomics written from the event loops, the workers and the upstream code,
//! read by the admin thread when scraped. What every request touches (the
//! per-service status counts, the latency histogram, the in-flight gauge)
//! is sharded: each event loop gets tables of its own and the scrape adds
//! them up, so two loops on two cores never fight over a cache line for a
//! counter. Nothing here allocates or locks on the request path except the
//! first time a loop sees a service name, so instrumenting a request costs a
//! handful of uncontended relaxed atomic adds.
//!
//! Gauges that mirror the lifetime of an object (open connections, requests
//! in flight) are maintained by guards that add one when created and take it
//! away when dropped, so no path that forgets to decrement, a panic or an
//! early return included, can make a gauge drift.
//!
//! Exposed (all prefixed `stackwire_balancer_`):
//! `requests_total{service,status}`, `requests_in_flight`,
//! `request_duration_seconds` (histogram), `upstream_connects_total`,
//! `upstream_connect_errors_total`, `timeouts_total{kind}`,
//! `client_connections`, `upstream_connections`,
//! `connections_accepted_total`, `connections_refused_total`,
//! `worker_queue_jobs` (batches of requests waiting for a worker; a full
//! queue sheds), `shed_total` (requests answered 503 at once for it),
//! `rpc_sent_by_loop_total` and `rpc_sent_by_worker_total` (where each
//! registry-mode call was sent from, see `upstream::rpc`); and
//! `stackwire_limit{name,per,window_seconds}`, every per-user and per-address
//! limit in force (`proto::limits`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// Histogram bucket upper bounds, in seconds.
pub const BUCKETS: [f64; 15] =
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// Why a deadline fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timeout {
    /// The request head did not arrive in time (408).
    Header,
    /// The request body stalled (408).
    Body,
    /// No connection to the upstream in time (504).
    Connect,
    /// The upstream did not answer in time (504).
    Response,
    /// An idle keep-alive connection was closed.
    Idle,
}

const TIMEOUT_KINDS: [(Timeout, &str); 5] = [
    (Timeout::Header, "header"),
    (Timeout::Body, "body"),
    (Timeout::Connect, "upstream_connect"),
    (Timeout::Response, "upstream_response"),
    (Timeout::Idle, "idle"),
];

/// Responses of one service, by status code (100–599).
pub struct StatusCounts {
    counts: [AtomicU64; 500],
}

impl StatusCounts {
    fn new() -> StatusCounts {
        StatusCounts { counts: [const { AtomicU64::new(0) }; 500] }
    }

    pub fn add(&self, status: u16) {
        let i = (status.clamp(100, 599) - 100) as usize;
        self.counts[i].fetch_add(1, Ordering::Relaxed);
    }
}

/// The per-request counters of one thread (an event loop), or of all the
/// other threads together.
pub struct Shard {
    pub in_flight: AtomicI64,
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_us: AtomicU64,
}

impl Shard {
    const fn new() -> Shard {
        Shard {
            in_flight: AtomicI64::new(0),
            buckets: [const { AtomicU64::new(0) }; BUCKETS.len()],
            count: AtomicU64::new(0),
            sum_us: AtomicU64::new(0),
        }
    }

    /// One finished request: its latency goes into the histogram.
    pub fn observe(&self, secs: f64) {
        if let Some(i) = BUCKETS.iter().position(|&b| secs <= b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_us.fetch_add((secs * 1e6) as u64, Ordering::Relaxed);
    }
}

static SHARED_SHARD: Shard = Shard::new();

thread_local! {
    static LOCAL: std::cell::Cell<&'static Shard> = const { std::cell::Cell::new(&SHARED_SHARD) };
}

/// This thread's shard (the shared one unless `own_shard` was called).
pub fn local() -> &'static Shard {
    LOCAL.with(|c| c.get())
}

/// Gives the calling thread (an event loop) a shard of its own, for good.
pub fn own_shard() {
    let shard: &'static Shard = Box::leak(Box::new(Shard::new()));
    METRICS.shards.lock().unwrap_or_else(|e| e.into_inner()).push(shard);
    LOCAL.with(|c| c.set(shard));
}

pub struct Metrics {
    pub client_connections: AtomicI64,
    pub upstream_connections: AtomicI64,
    pub accepted: AtomicU64,
    pub refused: AtomicU64,
    pub upstream_connects: AtomicU64,
    pub upstream_connect_errors: AtomicU64,
    /// Requests answered 503 at once because the worker queue was full.
    pub shed: AtomicU64,
    /// Registry-mode calls sent by the event loop itself, and those it
    /// handed to a worker because sending could have waited.
    pub sent_by_loop: AtomicU64,
    pub sent_by_worker: AtomicU64,
    /// The worker queue's length, read when scraped ([`Metrics::watch_queue`]).
    queue_len: OnceLock<Box<dyn Fn() -> usize + Send + Sync>>,
    timeouts: [AtomicU64; 5],
    /// Every shard but the shared one.
    shards: Mutex<Vec<&'static Shard>>,
    /// Per service: the shared table first, then one per loop.
    services: Mutex<BTreeMap<String, Vec<Arc<StatusCounts>>>>,
}

static METRICS: Metrics = Metrics {
    client_connections: AtomicI64::new(0),
    upstream_connections: AtomicI64::new(0),
    accepted: AtomicU64::new(0),
    refused: AtomicU64::new(0),
    upstream_connects: AtomicU64::new(0),
    upstream_connect_errors: AtomicU64::new(0),
    shed: AtomicU64::new(0),
    sent_by_loop: AtomicU64::new(0),
    sent_by_worker: AtomicU64::new(0),
    queue_len: OnceLock::new(),
    timeouts: [const { AtomicU64::new(0) }; 5],
    shards: Mutex::new(Vec::new()),
    services: Mutex::new(BTreeMap::new()),
};

/// The process's metrics.
pub fn get() -> &'static Metrics {
    &METRICS
}

impl Metrics {
    /// The shared per-status table of `service`, created on first use.
    pub fn service(&self, service: &str) -> Arc<StatusCounts> {
        let mut m = self.services.lock().unwrap_or_else(|e| e.into_inner());
        let tables = m.entry(service.to_string()).or_default();
        if tables.is_empty() {
            tables.push(Arc::new(StatusCounts::new()));
        }
        tables[0].clone()
    }

    /// A new per-status table of `service` for one loop's own use.
    pub fn service_shard(&self, service: &str) -> Arc<StatusCounts> {
        self.service(service);
        let own = Arc::new(StatusCounts::new());
        let mut m = self.services.lock().unwrap_or_else(|e| e.into_inner());
        m.entry(service.to_string()).or_default().push(own.clone());
        own
    }

    /// Where `worker_queue_jobs` comes from: the queue's own count (the
    /// channel knows its length; a gauge kept beside it could drift). The
    /// first call wins: a process has one worker pool.
    pub fn watch_queue(&self, len: impl Fn() -> usize + Send + Sync + 'static) {
        let _ = self.queue_len.set(Box::new(len));
    }

    pub fn timeout(&self, kind: Timeout) {
        let i = TIMEOUT_KINDS.iter().position(|(k, _)| *k == kind).unwrap_or(0);
        self.timeouts[i].fetch_add(1, Ordering::Relaxed);
    }

    /// The whole exposition, `text/plain; version=0.0.4`.
    pub fn render(&self) -> String {
        let mut o = String::with_capacity(4096);
        let p = "stackwire_balancer";
        let head = |o: &mut String, name: &str, kind: &str, help: &str| {
            let _ = writeln!(o, "# HELP {p}_{name} {help}\n# TYPE {p}_{name} {kind}");
        };
        head(&mut o, "requests_total", "counter", "Responses sent, by route service and HTTP status.");
        let services: Vec<(String, Vec<Arc<StatusCounts>>)> = {
            let m = self.services.lock().unwrap_or_else(|e| e.into_inner());
            m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
        };
        for (name, tables) in &services {
            for i in 0..500 {
                let n: u64 = tables.iter().map(|t| t.counts[i].load(Ordering::Relaxed)).sum();
                if n > 0 {
                    let _ =
                        writeln!(o, "{p}_requests_total{{service=\"{}\",status=\"{}\"}} {n}", escape(name), i + 100);
                }
            }
        }
        let gauge = |o: &mut String, name: &str, help: &str, v: i64| {
            head(o, name, "gauge", help);
            let _ = writeln!(o, "{p}_{name} {}", v.max(0));
        };
        let counter = |o: &mut String, name: &str, help: &str, v: u64| {
            head(o, name, "counter", help);
            let _ = writeln!(o, "{p}_{name} {v}");
        };
        let shards: Vec<&Shard> = {
            let list = self.shards.lock().unwrap_or_else(|e| e.into_inner());
            std::iter::once(&SHARED_SHARD).chain(list.iter().copied()).collect()
        };
        let total = |f: &dyn Fn(&Shard) -> u64| shards.iter().map(|s| f(s)).sum::<u64>();
        let in_flight: i64 = shards.iter().map(|s| s.in_flight.load(Ordering::Relaxed)).sum();
        gauge(&mut o, "requests_in_flight", "Requests routed and not yet answered.", in_flight);
        head(&mut o, "request_duration_seconds", "histogram", "From the first byte of a request to its response.");
        let mut cumulative = 0;
        for (i, b) in BUCKETS.iter().enumerate() {
            cumulative += total(&|s| s.buckets[i].load(Ordering::Relaxed));
            let _ = writeln!(o, "{p}_request_duration_seconds_bucket{{le=\"{b}\"}} {cumulative}");
        }
        let count = total(&|s| s.count.load(Ordering::Relaxed)).max(cumulative);
        let _ = writeln!(o, "{p}_request_duration_seconds_bucket{{le=\"+Inf\"}} {count}");
        let sum = total(&|s| s.sum_us.load(Ordering::Relaxed)) as f64 / 1e6;
        let _ = writeln!(o, "{p}_request_duration_seconds_sum {sum}");
        let _ = writeln!(o, "{p}_request_duration_seconds_count {count}");
        let counters = [
            ("upstream_connects_total", "Connections opened to upstreams.", &self.upstream_connects),
            (
                "upstream_connect_errors_total",
                "Upstream connections that failed or timed out while connecting.",
                &self.upstream_connect_errors,
            ),
            ("connections_accepted_total", "Client connections accepted.", &self.accepted),
            ("shed_total", "Requests answered 503 at once because the worker queue was full.", &self.shed),
            ("rpc_sent_by_loop_total", "Service calls the event loop sent itself.", &self.sent_by_loop),
            (
                "rpc_sent_by_worker_total",
                "Service calls sent by a worker, because sending them could have waited.",
                &self.sent_by_worker,
            ),
            (
                "connections_refused_total",
                "Client connections closed at once because the limit was reached.",
                &self.refused,
            ),
        ];
        for (name, help, v) in counters {
            counter(&mut o, name, help, v.load(Ordering::Relaxed));
        }
        head(&mut o, "timeouts_total", "counter", "Deadlines that fired, by kind.");
        for ((_, name), c) in TIMEOUT_KINDS.iter().zip(&self.timeouts) {
            let _ = writeln!(o, "{p}_timeouts_total{{kind=\"{name}\"}} {}", c.load(Ordering::Relaxed));
        }
        for (name, help, v) in [
            ("client_connections", "Open client connections.", &self.client_connections),
            ("upstream_connections", "Open connections to upstreams (in use or pooled).", &self.upstream_connections),
        ] {
            gauge(&mut o, name, help, v.load(Ordering::Relaxed));
        }
        let queued = self.queue_len.get().map_or(0, |len| len());
        gauge(
            &mut o,
            "worker_queue_jobs",
            "Batches of requests waiting for a worker (at most --queue).",
            queued as i64,
        );
        // The product's limits, so an operator sees what is in force (`proto::limits`).
        proto::limits::render_prometheus(&mut o);
        o
    }
}

/// A label value: backslash, quote and newline escaped.
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// Adds one to a gauge for as long as it lives.
pub struct GaugeGuard(&'static AtomicI64);

impl GaugeGuard {
    pub fn new(g: &'static AtomicI64) -> GaugeGuard {
        g.fetch_add(1, Ordering::Relaxed);
        GaugeGuard(g)
    }
}

impl Drop for GaugeGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
#[path = "../../tests/unit/ops/metrics.rs"]
mod tests;
