//! Static HTTP upstreams, proxied by the event loop itself.
//!
//! This is the glue between a client connection (`edge/conn.rs`) and an upstream
//! connection (`upconn.rs`) of the same loop: choosing the upstream, taking
//! an idle pooled connection to it or dialing one (non-blocking, with the
//! connect timeout), retrying, returning connections to the pool, and the
//! upstream deadlines.
//!
//! Retries follow `registry_agent::policy` (`decide`, `Idempotency::of_http`,
//! the retry budget, `per_try_timeout`), the rules every hop uses; they never
//! duplicate a write:
//! - the connect failed (refused, unreachable, timed out): the request never
//!   left, so the next upstream is tried, whatever the method;
//! - a pooled connection turned out to be closed before any response byte
//!   arrived (the upstream's keep-alive timer raced our reuse): retried on
//!   a fresh connection if the request could not be written at all, or if
//!   its method is idempotent and the budget allows;
//! - no response head by the attempt's per-try timeout (derived from the
//!   upstream's Peak-EWMA), while another upstream is untried: an idempotent
//!   request moves there within the budget. A client connection carries one
//!   upstream exchange at a time, so the slow attempt is abandoned rather
//!   than raced (Envoy's `per_try_timeout` without hedging).
//!
//! Anything else is answered: 504 when a deadline passed (connect or
//! response), 503 with `Retry-After` when no upstream could be reached,
//! 502 for a broken or malformed response.
//!
//! The pool is per loop and per upstream, last in first out so that the
//! connections in use stay warm and the surplus ages out: an idle pooled
//! connection is closed when the upstream closes it or after `POOL_IDLE`.

use crate::edge::conn::Conn;
use crate::edge::env::Env;
use crate::http1::{Request, Response};
use crate::ops::metrics::{self, GaugeGuard, Timeout};
use crate::upstream::http::backends::{bit, HttpUpstreams};
use crate::upstream::http::upconn::{Exchange, Pump, UpConn, UpError};
use mio::event::Event;
use mio::{Interest, Registry, Token};
use registry_agent::policy::{decide, per_try_timeout, Decision, Failure, Idempotency, RetryBudget};
use slab::Slab;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Tokens from here up name upstream connections (below: clients).
pub(crate) const UP_BASE: usize = 1 << 40;
/// Idle upstream connections kept per upstream by each loop.
const MAX_IDLE: usize = 512;
/// Pooled connections unused for this long are closed.
const POOL_IDLE: Duration = Duration::from_secs(30);

/// One loop's side of the static upstreams: its connections to them (a
/// slab whose key `j` is the mio token `UP_BASE + j`) and its idle pool.
/// The client connections (`conns`, keyed by their tokens), the loop's
/// `Env` and the poll's registry are lent by the loop to each call.
pub(crate) struct Proxy {
    http: &'static HttpUpstreams,
    ups: Slab<UpConn>,
    /// Idle upstream connections per backend, most recently used last.
    idle: Vec<Vec<usize>>,
}

impl Proxy {
    pub(crate) fn new(http: &'static HttpUpstreams) -> Proxy {
        Proxy { http, ups: Slab::new(), idle: vec![Vec::new(); http.backends.len()] }
    }

    /// Starts proxying client `i`'s request to a static upstream.
    pub(crate) fn start(&mut self, conns: &mut Slab<Conn>, env: &mut Env, reg: &Registry, i: usize, req: Box<Request>) {
        let now = env.now;
        let Some(conn) = conns.get(i) else { return };
        lock(&self.http.budget).request(now);
        let ex = Exchange {
            client: i,
            idempotency: Idempotency::of_http(&req.head.method),
            sent: now,
            per_try: None,
            is_head: req.head.is_head(),
            req: Some(req),
            client_addr: conn.peer(),
            deadline: now + env.limits.upstream_timeout,
            attempts: 0,
            tried: 0,
            connect_timed_out: false,
            abandoned_slow: false,
            fresh_only: false,
        };
        self.assign(conns, env, reg, ex);
    }

    /// Puts `ex` on a connection to the best upstream not yet tried, or
    /// answers the client when none is left.
    fn assign(&mut self, conns: &mut Slab<Conn>, env: &mut Env, reg: &Registry, mut ex: Exchange) {
        let (http, now) = (self.http, env.now);
        let i = ex.client;
        loop {
            let Some(b) = http.pick(ex.tried, now) else {
                let resp = if ex.abandoned_slow {
                    metrics::get().timeout(Timeout::Response);
                    let ms = env.limits.upstream_timeout.as_millis();
                    Response::error(504, &format!("no response from the upstream within {ms} ms"))
                } else if ex.connect_timed_out {
                    Response::error(504, "no upstream accepted a connection in time")
                } else {
                    Response::error(503, "no upstream is reachable").with_header("Retry-After", "1")
                };
                log::warn!(target: "balancer", "{}: {}; answering {}", ex.client_addr, resp_reason(&resp), resp.status);
                respond(conns, env, i, resp);
                return;
            };
            let pooled = if ex.fresh_only { None } else { self.idle[b].pop() };
            let j = match pooled {
                Some(j) => j,
                None => match self.dial(reg, b, now) {
                    Ok(j) => j,
                    Err(e) => {
                        metrics::get().upstream_connect_errors.fetch_add(1, Ordering::Relaxed);
                        log::warn!(target: "balancer", "upstream {}: {e}; trying the next one", http.backends[b].url.url);
                        http.mark_down(b, now);
                        ex.tried |= bit(b);
                        continue;
                    }
                },
            };
            let Some(conn) = conns.get_mut(i) else { return };
            let Some(up) = self.ups.get_mut(j) else {
                ex.tried |= bit(b);
                continue;
            };
            let Some(req) = ex.req.as_deref() else { return };
            http.serialize(b, req, ex.client_addr, conn.request_id(), up.request_buffer());
            ex.attempts += 1;
            ex.sent = now;
            ex.per_try = match ex.idempotency {
                Idempotency::Repeatable => {
                    let estimate = http.backends[b].ewma.estimate(now);
                    per_try_timeout(estimate, ex.deadline.saturating_duration_since(now)).map(|t| now + t)
                }
                Idempotency::Once => None,
            };
            up.start(ex, GaugeGuard::new(&http.backends[b].in_flight), now);
            conn.proxying(j);
            return;
        }
    }

    /// Opens a connection to upstream `b` (the connect completes later).
    fn dial(&mut self, reg: &Registry, b: usize, now: Instant) -> std::io::Result<usize> {
        let http = self.http;
        let mut sock = mio::net::TcpStream::connect(http.backends[b].url.addr)?;
        metrics::get().upstream_connects.fetch_add(1, Ordering::Relaxed);
        let _ = sock.set_nodelay(true);
        let slot = self.ups.vacant_entry();
        let j = slot.key();
        reg.register(&mut sock, Token(UP_BASE + j), Interest::READABLE | Interest::WRITABLE)?;
        slot.insert(UpConn::connecting(sock, b, now, now + http.connect_timeout));
        Ok(j)
    }

    /// Runs upstream `j` for client `i`; true if the client has news.
    pub(crate) fn pump(&mut self, conns: &mut Slab<Conn>, env: &mut Env, reg: &Registry, i: usize, j: usize) -> bool {
        let (Some(conn), Some(up)) = (conns.get_mut(i), self.ups.get_mut(j)) else {
            return false;
        };
        match up.pump(conn, env) {
            Pump::Pending { progressed } => progressed,
            Pump::Done { reusable } => {
                self.http.backends[up.backend].ewma.observe(up.rtt, env.now);
                self.release(reg, j, reusable, env);
                true
            }
            Pump::Failed(e) => {
                self.failed(conns, env, reg, j, e);
                true
            }
            Pump::Broken(e) => {
                let backend = up.backend;
                self.broken(conns, reg, i, j, backend, &e);
                true
            }
        }
    }

    fn broken(&mut self, conns: &mut Slab<Conn>, reg: &Registry, i: usize, j: usize, backend: usize, e: &UpError) {
        log::warn!(target: "balancer", "upstream {}: {e} after the response began; closing the client", self.http.backends[backend].url.url);
        self.close_up(reg, j);
        if let Some(conn) = conns.get_mut(i) {
            conn.abort();
        }
    }

    /// The exchange on `j` is over: pool the connection or close it.
    fn release(&mut self, reg: &Registry, j: usize, reusable: bool, env: &Env) {
        let Some(up) = self.ups.get_mut(j) else { return };
        drop(up.finish(env.now));
        let b = up.backend;
        if reusable && self.idle[b].len() < MAX_IDLE && !env.draining {
            self.idle[b].push(j);
        } else {
            self.close_up(reg, j);
        }
    }

    /// `j` failed before the client saw a response: retry or answer.
    fn failed(&mut self, conns: &mut Slab<Conn>, env: &mut Env, reg: &Registry, j: usize, err: UpError) {
        let now = env.now;
        let Some(up) = self.ups.get_mut(j) else { return };
        let (b, reused) = (up.backend, up.reused);
        let Some(mut ex) = up.finish(now) else { return };
        self.close_up(reg, j);
        let http = self.http;
        let url = &http.backends[b].url.url;
        let status = match err {
            UpError::Connect(_) | UpError::ConnectTimeout => {
                let m = metrics::get();
                m.upstream_connect_errors.fetch_add(1, Ordering::Relaxed);
                if matches!(err, UpError::ConnectTimeout) {
                    m.timeout(Timeout::Connect);
                    ex.connect_timed_out = true;
                }
                log::warn!(target: "balancer", "upstream {url}: {err}; trying the next one");
                http.mark_down(b, now);
                ex.tried |= bit(b);
                return self.assign(conns, env, reg, ex);
            }
            UpError::Closed { written }
                if reused
                    && ex.req.is_some()
                    && decide(
                        if written { Failure::Lost } else { Failure::NotSent },
                        ex.idempotency,
                        ex.attempts,
                        &http.budget,
                    ) == Decision::Retry =>
            {
                log::debug!(target: "balancer", "stale pooled connection to {url}; sending again on a new one");
                ex.fresh_only = true;
                return self.assign(conns, env, reg, ex);
            }
            UpError::Timeout => {
                metrics::get().timeout(Timeout::Response);
                504
            }
            _ => 502,
        };
        let i = ex.client;
        let msg = if status == 504 {
            format!("no response from the upstream within {} ms", env.limits.upstream_timeout.as_millis())
        } else {
            "bad gateway: the upstream failed".to_string()
        };
        log::warn!(target: "balancer", "upstream {url}: {err}; answering {status}");
        respond(conns, env, i, Response::error(status, &msg));
    }

    /// Closes upstream connection `j`, wherever it is.
    pub(crate) fn close_up(&mut self, reg: &Registry, j: usize) {
        let Some(mut up) = self.ups.try_remove(j) else { return };
        if up.job.is_none() {
            if let Some(pool) = self.idle.get_mut(up.backend) {
                pool.retain(|&k| k != j);
            }
        }
        let _ = reg.deregister(&mut up.sock);
    }

    /// An event for upstream connection `j`: the client it serves, to be
    /// driven, if it serves one (a pooled one that is no longer quiet is closed).
    pub(crate) fn on_event(&mut self, reg: &Registry, j: usize, ev: &Event) -> Option<usize> {
        let up = self.ups.get_mut(j)?;
        up.on_event(ev);
        let client = up.job.as_ref().map(|x| x.client);
        if client.is_none() && !up.still_quiet() {
            self.close_up(reg, j);
        }
        client
    }

    /// Upstream connection slots to pass to `tick` (some may be empty).
    pub(crate) fn slots(&self) -> usize {
        self.ups.capacity()
    }

    /// Upstream `j`'s deadlines: connect, response, a stalled body, pool
    /// expiry. Returns the client to drive if something happened to it.
    pub(crate) fn tick(&mut self, conns: &mut Slab<Conn>, env: &mut Env, reg: &Registry, j: usize) -> Option<usize> {
        let now = env.now;
        let up = self.ups.get(j)?;
        let Some(ex) = up.job.as_ref() else {
            if now.saturating_duration_since(up.last_io) >= POOL_IDLE {
                self.close_up(reg, j);
            }
            return None;
        };
        let i = ex.client;
        if up.is_connecting() && up.connect_deadline.is_some_and(|d| now >= d) {
            self.failed(conns, env, reg, j, UpError::ConnectTimeout);
        } else if !up.responding() && now >= ex.deadline {
            self.failed(conns, env, reg, j, UpError::Timeout);
        } else if !up.responding() && ex.per_try.is_some_and(|d| now >= d) {
            self.per_try_expired(conns, env, reg, j);
        } else if up.responding() && now.saturating_duration_since(up.last_io) >= env.limits.upstream_timeout {
            metrics::get().timeout(Timeout::Response);
            let backend = up.backend;
            self.broken(conns, reg, i, j, backend, &UpError::Timeout);
        } else {
            return None;
        }
        Some(i)
    }

    /// The attempt on `j` has had no response head by its per-try timeout:
    /// move it to another upstream if `decide` allows, else keep waiting.
    fn per_try_expired(&mut self, conns: &mut Slab<Conn>, env: &mut Env, reg: &Registry, j: usize) {
        let (http, now) = (self.http, env.now);
        let Some(up) = self.ups.get_mut(j) else { return };
        let b = up.backend;
        let Some(ex) = up.job.as_mut() else { return };
        ex.per_try = None;
        let waited = now.saturating_duration_since(ex.sent);
        http.backends[b].ewma.observe(waited, now);
        let elsewhere = http.pick(ex.tried | bit(b), now).is_some();
        if !elsewhere
            || ex.req.is_none()
            || decide(Failure::Slow, ex.idempotency, ex.attempts, &http.budget) != Decision::Hedge
        {
            return;
        }
        log::warn!(
            target: "balancer",
            "upstream {}: no response in {} ms; trying the next one",
            http.backends[b].url.url,
            waited.as_millis()
        );
        let Some(mut ex) = up.finish(now) else { return };
        self.close_up(reg, j);
        ex.tried |= bit(b);
        ex.abandoned_slow = true;
        self.assign(conns, env, reg, ex);
    }
}

/// Queues `resp` as the answer to client `i`'s current request.
fn respond(conns: &mut Slab<Conn>, env: &mut Env, i: usize, resp: Response) {
    if let Some(conn) = conns.get_mut(i) {
        conn.respond(resp, env);
    }
}

fn lock(m: &std::sync::Mutex<RetryBudget>) -> std::sync::MutexGuard<'_, RetryBudget> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn resp_reason(r: &Response) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}
