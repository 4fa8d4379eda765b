//! Static mode: plain HTTP/1.1 to a fixed list of upstreams.
//!
//! `--upstream http://HOST:PORT` (repeatable) runs the balancer without a
//! registry, as an ordinary reverse proxy in front of any HTTP/1.1 server:
//! for trying it against other software, for load tests, and for the
//! integration tests, which need no Redis. Every non-catalog request goes to
//! one of the upstreams.
//!
//! These exchanges do not go through the worker pool. Handing a request to
//! another thread and its reply back costs two wake-ups, more than the whole
//! proxying work of a small request; so each event loop drives its upstream
//! connections itself, non-blocking, next to its clients (`upconn.rs`), and
//! keeps its own pool of idle keep-alive connections per upstream. In steady
//! state no request opens a connection. What the loops share is here: the
//! upstream list with, per upstream, the number of requests in flight (over
//! all loops), the Peak-EWMA latency estimate, and a short "down" mark after
//! a failed connect, which the chooser uses to skip an upstream that just
//! refused us (it is still tried when nothing else is left).
//!
//! The serialized request is what the upstream receives: the origin-form
//! target, the client's end-to-end headers plus `X-Forwarded-For`,
//! `X-Forwarded-Proto` and our `X-Request-Id` (`forward.rs`), a `Host`
//! (the upstream's authority when the client sent none, as HTTP/1.0 may),
//! and the decoded body with a `Content-Length`.

use crate::http1::forward;
use crate::http1::{Request, Response};
use crate::ops::config::UpstreamUrl;
use crate::upstream::http::ewma::{Balance, Candidates, Chooser};
use crate::upstream::workers::{Done, RequestJob, Upstream};
use registry_agent::policy::{PeakEwma, RetryBudget};
use registry_agent::{Descriptor, InstanceRecord};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long an upstream that refused a connection is skipped.
const DOWN_FOR: Duration = Duration::from_secs(1);

pub struct Backend {
    pub url: UpstreamUrl,
    pub in_flight: AtomicI64,
    pub ewma: PeakEwma,
    /// Milliseconds after `HttpUpstreams::epoch` until which it is skipped.
    down_until_ms: AtomicU64,
}

/// The static upstreams, shared by every event loop.
pub struct HttpUpstreams {
    pub backends: Vec<Backend>,
    chooser: Chooser,
    pub connect_timeout: Duration,
    /// Retries and hedges of every loop together (`policy::decide`).
    pub budget: Mutex<RetryBudget>,
    epoch: Instant,
}

/// The view the chooser gets: who may be picked for one request.
struct View<'a> {
    up: &'a HttpUpstreams,
    tried: u64,
    /// Also consider upstreams marked down.
    any: bool,
    now_ms: u64,
}

impl Candidates for View<'_> {
    fn len(&self) -> usize {
        self.up.backends.len()
    }
    fn usable(&self, i: usize) -> bool {
        let b = &self.up.backends[i];
        self.tried & bit(i) == 0 && (self.any || b.down_until_ms.load(Ordering::Relaxed) <= self.now_ms)
    }
    fn in_flight(&self, i: usize) -> usize {
        count(&self.up.backends[i].in_flight)
    }
    fn cost(&self, i: usize, now: Instant) -> f64 {
        let b = &self.up.backends[i];
        b.ewma.cost(count(&b.in_flight), now)
    }
}

/// The bit that marks backend `i` as tried.
/// A gauge as a count (never below zero).
fn count(g: &AtomicI64) -> usize {
    usize::try_from(g.load(Ordering::Relaxed)).unwrap_or(0)
}

pub fn bit(i: usize) -> u64 {
    1u64 << (i % 64)
}

impl HttpUpstreams {
    pub fn new(urls: &[UpstreamUrl], balance: Balance, connect_timeout: Duration) -> HttpUpstreams {
        HttpUpstreams {
            backends: urls
                .iter()
                .map(|u| Backend {
                    url: u.clone(),
                    in_flight: AtomicI64::new(0),
                    ewma: PeakEwma::default(),
                    down_until_ms: AtomicU64::new(0),
                })
                .collect(),
            chooser: Chooser::new(balance),
            connect_timeout,
            budget: Mutex::new(RetryBudget::default()),
            epoch: Instant::now(),
        }
    }

    fn ms(&self, now: Instant) -> u64 {
        now.saturating_duration_since(self.epoch).as_millis() as u64
    }

    /// The upstream for a request that has already tried `tried`.
    pub fn pick(&self, tried: u64, now: Instant) -> Option<usize> {
        let now_ms = self.ms(now);
        let healthy = View { up: self, tried, any: false, now_ms };
        self.chooser.pick(&healthy, now).or_else(|| self.chooser.pick(&View { any: true, ..healthy }, now))
    }

    /// A connect to `i` failed: skip it for a moment.
    pub fn mark_down(&self, i: usize, now: Instant) {
        let until = self.ms(now) + DOWN_FOR.as_millis() as u64;
        self.backends[i].down_until_ms.store(until, Ordering::Relaxed);
    }

    /// Writes the request as upstream `i` receives it.
    pub fn serialize(&self, i: usize, req: &Request, client: SocketAddr, request_id: &str, out: &mut Vec<u8>) {
        let head = &req.head;
        out.reserve(256 + req.body.len() + head.headers.iter().map(|(n, v)| n.len() + v.len() + 4).sum::<usize>());
        out.extend_from_slice(head.method.as_bytes());
        out.push(b' ');
        out.extend_from_slice(head.origin.as_bytes());
        out.extend_from_slice(b" HTTP/1.1\r\n");
        if head.header("host").is_none() {
            out.extend_from_slice(b"Host: ");
            out.extend_from_slice(self.backends[i].url.authority.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        forward::for_each_header(req, client, request_id, |n, v| {
            out.extend_from_slice(n.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(v);
            out.extend_from_slice(b"\r\n");
        });
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&req.body);
    }

    pub fn balance(&self) -> Balance {
        self.chooser.balance()
    }
}

/// The worker side of static mode: only the catalog (requests are proxied
/// by the event loops).
pub struct HttpCatalog(pub &'static HttpUpstreams);

impl Upstream for HttpCatalog {
    fn forward(&self, job: RequestJob, done: Done) {
        // Not reached: the event loops proxy static-mode requests themselves.
        log::error!(target: "balancer", "static-mode request {} reached a worker", job.request_id);
        done.finish(Response::error(500, "misrouted request"));
    }

    fn catalog(&self) -> serde_json::Value {
        let records: Vec<InstanceRecord> = self
            .0
            .backends
            .iter()
            .enumerate()
            .map(|(i, b)| InstanceRecord {
                service: "upstream".into(),
                id: format!("upstream-{i}"),
                addr: b.url.addr.to_string(),
                pid: 0,
                started_at_ms: 0,
                last_heartbeat_ms: 0,
                ttl_ms: 0,
                load: 0,
                descriptor: Descriptor {
                    name: "Upstream".into(),
                    title: "Static HTTP upstreams".into(),
                    methods: Vec::new(),
                    routes: vec!["* /".into()],
                },
            })
            .collect();
        let mut services = BTreeMap::new();
        services.insert("upstream".to_string(), records);
        let counts: BTreeMap<String, usize> =
            self.0.backends.iter().map(|b| (b.url.addr.to_string(), count(&b.in_flight))).collect();
        crate::upstream::catalog::build(&services, &|a| counts.get(a).copied().unwrap_or(0), false)
    }
}

#[cfg(test)]
#[path = "../../../tests/unit/upstream/http/backends.rs"]
mod tests;
