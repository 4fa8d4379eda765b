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

use crate::edge::conn::Env;
use crate::edge::event_loop::{EventLoop, UP_BASE};
use crate::http1::{Request, Response};
use crate::ops::metrics::{self, Timeout};
use crate::upstream::http::backends::bit;
use crate::upstream::http::upconn::{Exchange, Flight, Pump, UpConn, UpError};
use crate::upstream::workers::Job;
use crossbeam_channel::Sender;
use mio::event::Event;
use mio::{Interest, Token};
use registry_agent::policy::{decide, per_try_timeout, Decision, Failure, Idempotency, RetryBudget};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Idle upstream connections kept per upstream by each loop.
const MAX_IDLE: usize = 512;
/// Pooled connections unused for this long are closed.
const POOL_IDLE: Duration = Duration::from_secs(30);

impl EventLoop {
    /// Starts proxying client `i`'s request to a static upstream.
    pub(crate) fn proxy_start(&mut self, i: usize, req: Box<Request>, now: Instant) {
        let Some(Some(conn)) = self.conns.get(i) else { return };
        if let Some(http) = self.shared.http {
            lock(&http.budget).request(now);
        }
        let ex = Exchange {
            client: i,
            idempotency: Idempotency::of_http(&req.head.method),
            sent: now,
            per_try: None,
            is_head: req.head.is_head(),
            req: Some(req),
            client_addr: conn.peer,
            deadline: now + self.settings.limits.upstream_timeout,
            attempts: 0,
            tried: 0,
            connect_timed_out: false,
            abandoned_slow: false,
            fresh_only: false,
        };
        self.assign(ex, now);
    }

    /// Puts `ex` on a connection to the best upstream not yet tried, or
    /// answers the client when none is left.
    fn assign(&mut self, mut ex: Exchange, now: Instant) {
        let Some(http) = self.shared.http else { return };
        let i = ex.client;
        loop {
            let Some(b) = http.pick(ex.tried, now) else {
                let resp = if ex.abandoned_slow {
                    metrics::get().timeout(Timeout::Response);
                    let ms = self.settings.limits.upstream_timeout.as_millis();
                    Response::error(504, &format!("no response from the upstream within {ms} ms"))
                } else if ex.connect_timed_out {
                    Response::error(504, "no upstream accepted a connection in time")
                } else {
                    Response::error(503, "no upstream is reachable").with_header("Retry-After", "1")
                };
                log::warn!(target: "balancer", "{}: {}; answering {}", ex.client_addr, resp_reason(&resp), resp.status);
                self.respond(i, resp, now);
                return;
            };
            let pooled = if ex.fresh_only { None } else { self.idle[b].pop() };
            let j = match pooled {
                Some(j) => j,
                None => match self.dial(b, now) {
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
            let Some(Some(conn)) = self.conns.get(i) else { return };
            let Some(Some(up)) = self.ups.get_mut(j) else {
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
            up.start(ex, Flight::new(&http.backends[b].in_flight), now);
            if let Some(Some(conn)) = self.conns.get_mut(i) {
                conn.proxying(j);
            }
            return;
        }
    }

    /// Opens a connection to upstream `b` (the connect completes later).
    fn dial(&mut self, b: usize, now: Instant) -> std::io::Result<usize> {
        let Some(http) = self.shared.http else { return Err(std::io::ErrorKind::NotFound.into()) };
        let mut sock = mio::net::TcpStream::connect(http.backends[b].url.addr)?;
        metrics::get().upstream_connects.fetch_add(1, Ordering::Relaxed);
        let _ = sock.set_nodelay(true);
        let j = match self.ups_free.pop() {
            Some(j) => j,
            None => {
                self.ups.push(None);
                self.ups.len() - 1
            }
        };
        if let Err(e) =
            self.poll.registry().register(&mut sock, Token(UP_BASE + j), Interest::READABLE | Interest::WRITABLE)
        {
            self.ups_free.push(j);
            return Err(e);
        }
        self.ups[j] = Some(UpConn::connecting(sock, b, now, now + http.connect_timeout));
        Ok(j)
    }

    /// Runs upstream `j` for client `i`; true if the client has news.
    pub(crate) fn pump(&mut self, i: usize, j: usize, now: Instant) -> bool {
        let draining = self.draining();
        let (Some(Some(conn)), Some(Some(up))) = (self.conns.get_mut(i), self.ups.get_mut(j)) else {
            return false;
        };
        let mut env = Env { now, limits: &self.settings.limits, access: &mut self.access, draining };
        match up.pump(conn, &mut env) {
            Pump::Pending { progressed } => progressed,
            Pump::Done { reusable } => {
                if let Some(http) = self.shared.http {
                    http.backends[up.backend].ewma.observe(up.rtt, now);
                }
                self.release(j, reusable, now);
                true
            }
            Pump::Failed(e) => {
                self.failed(j, e, now);
                true
            }
            Pump::Broken(e) => {
                let backend = up.backend;
                self.broken(i, j, backend, &e);
                true
            }
        }
    }

    fn broken(&mut self, i: usize, j: usize, backend: usize, e: &UpError) {
        if let Some(http) = self.shared.http {
            log::warn!(target: "balancer", "upstream {}: {e} after the response began; closing the client", http.backends[backend].url.url);
        }
        self.close_up(j);
        if let Some(Some(conn)) = self.conns.get_mut(i) {
            conn.up = None;
            conn.abort();
        }
    }

    /// The exchange on `j` is over: pool the connection or close it.
    fn release(&mut self, j: usize, reusable: bool, now: Instant) {
        let Some(Some(up)) = self.ups.get_mut(j) else { return };
        drop(up.finish(now));
        let b = up.backend;
        if reusable && self.idle[b].len() < MAX_IDLE && !self.draining() {
            self.idle[b].push(j);
        } else {
            self.close_up(j);
        }
    }

    /// `j` failed before the client saw a response: retry or answer.
    fn failed(&mut self, j: usize, err: UpError, now: Instant) {
        let Some(Some(up)) = self.ups.get_mut(j) else { return };
        let (b, reused) = (up.backend, up.reused);
        let Some(mut ex) = up.finish(now) else { return };
        self.close_up(j);
        let Some(http) = self.shared.http else { return };
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
                return self.assign(ex, now);
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
                return self.assign(ex, now);
            }
            UpError::Timeout => {
                metrics::get().timeout(Timeout::Response);
                504
            }
            _ => 502,
        };
        let i = ex.client;
        let msg = if status == 504 {
            format!("no response from the upstream within {} ms", self.settings.limits.upstream_timeout.as_millis())
        } else {
            "bad gateway: the upstream failed".to_string()
        };
        log::warn!(target: "balancer", "upstream {url}: {err}; answering {status}");
        self.respond(i, Response::error(status, &msg), now);
    }

    /// Closes upstream connection `j`, wherever it is.
    pub(crate) fn close_up(&mut self, j: usize) {
        let Some(mut up) = self.ups.get_mut(j).and_then(Option::take) else { return };
        if up.job.is_none() {
            if let Some(pool) = self.idle.get_mut(up.backend) {
                pool.retain(|&k| k != j);
            }
        }
        let _ = self.poll.registry().deregister(&mut up.sock);
        self.ups_free.push(j);
    }

    pub(crate) fn upstream_event(&mut self, j: usize, ev: &Event, now: Instant, jobs: &Sender<Job>) {
        let Some(Some(up)) = self.ups.get_mut(j) else { return };
        up.on_event(ev);
        match up.job.as_ref().map(|x| x.client) {
            Some(i) => self.drive(i, now, jobs),
            None => {
                if !up.still_quiet() {
                    self.close_up(j);
                }
            }
        }
    }

    /// Upstream deadlines: connect, response, a stalled body, pool expiry.
    pub(crate) fn tick_upstreams(&mut self, now: Instant, jobs: &Sender<Job>) {
        let response_limit = self.settings.limits.upstream_timeout;
        for j in 0..self.ups.len() {
            let Some(Some(up)) = self.ups.get(j) else { continue };
            let Some(ex) = up.job.as_ref() else {
                if now.saturating_duration_since(up.last_io) >= POOL_IDLE {
                    self.close_up(j);
                }
                continue;
            };
            let i = ex.client;
            if up.is_connecting() && up.connect_deadline.is_some_and(|d| now >= d) {
                self.failed(j, UpError::ConnectTimeout, now);
            } else if !up.responding() && now >= ex.deadline {
                self.failed(j, UpError::Timeout, now);
            } else if !up.responding() && ex.per_try.is_some_and(|d| now >= d) {
                self.per_try_expired(j, now);
            } else if up.responding() && now.saturating_duration_since(up.last_io) >= response_limit {
                metrics::get().timeout(Timeout::Response);
                let backend = up.backend;
                self.broken(i, j, backend, &UpError::Timeout);
            } else {
                continue;
            }
            self.drive(i, now, jobs);
        }
    }
}

impl EventLoop {
    /// The attempt on `j` has had no response head by its per-try timeout:
    /// move it to another upstream if `decide` allows, else keep waiting.
    fn per_try_expired(&mut self, j: usize, now: Instant) {
        let Some(http) = self.shared.http else { return };
        let Some(Some(up)) = self.ups.get_mut(j) else { return };
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
        self.close_up(j);
        ex.tried |= bit(b);
        ex.abandoned_slow = true;
        self.assign(ex, now);
    }
}

fn lock(m: &std::sync::Mutex<RetryBudget>) -> std::sync::MutexGuard<'_, RetryBudget> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn resp_reason(r: &Response) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}
