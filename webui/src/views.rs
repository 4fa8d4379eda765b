//! View counts without a write per page view.
//!
//! A question page view costs a hash-set look-up and a counter increment in
//! this process's memory, and nothing else: no SQL, no RPC. Every
//! [`FLUSH_INTERVAL`] a background thread sends the counts gathered since
//! the last flush to the question service in one `AddViews` call (one
//! UPDATE for the whole batch), so PostgreSQL sees one statement per webui
//! every few seconds however busy the site is. The count is made where the
//! response is finished (`server::WebHandler`), after whatever produced the
//! page, so a page served from a cache is counted like a rendered one.
//!
//! A viewer counts once per question per [`DEDUP_WINDOW`] (per webui
//! instance: two instances may each count the same reader once). The viewer
//! is the session cookie when there is one, else the client's address, as
//! the balancer saw it. The "already counted" set is two generations of
//! 64-bit fingerprints: a view is new when neither generation holds it; the
//! current generation becomes the previous one every half window, or early
//! when it reaches [`GENERATION_CAP`] entries. Memory is therefore bounded
//! (two sets of at most that many u64s, about 2 MB) whatever the traffic;
//! under a flood of distinct viewers the window only gets shorter, so a
//! flood can inflate a count but never grow the process. The fingerprints
//! are keyed with a per-process random key, so nobody can craft collisions
//! to hide views.
//!
//! The counts waiting for a flush are bounded too ([`PENDING_CAP`]
//! questions; views of further questions until the next flush are dropped
//! and counted as dropped). A flush that fails puts its counts back, so a
//! question service that is down for a moment loses nothing.
//!
//! What the page shows lags: the count read with the page is the one stored
//! at the last flush, and a cached page shows the count of when it was
//! rendered (docs/pages.md says so).

use crate::backend::{Backend, Call};
use proto::pb::{HttpRequest, ViewCounts};
use std::collections::hash_map::RandomState;
use std::collections::{HashMap, HashSet};
use std::fmt::Write;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long one viewer's repeated views of one question count once.
pub const DEDUP_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Most fingerprints in one generation of the dedup set.
pub const GENERATION_CAP: usize = 64 * 1024;
/// Most questions with views waiting for a flush.
pub const PENDING_CAP: usize = 10_000;
/// How often counts go to the question service (`SW_VIEWS_FLUSH_MS` overrides).
pub const FLUSH_INTERVAL: Duration = Duration::from_secs(5);

/// What [`Views::record`] did with a view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    Counted,
    /// The same viewer saw this question within the window.
    Repeat,
    /// Too many questions wait for a flush already.
    Dropped,
}

struct State {
    current: HashSet<u64>,
    previous: HashSet<u64>,
    rotated: Instant,
    pending: HashMap<i64, i64>,
}

/// One process's view counter.
pub struct Views {
    state: Mutex<State>,
    key: RandomState,
    window: Duration,
    generation_cap: usize,
    pending_cap: usize,
    counted: AtomicU64,
    repeats: AtomicU64,
    dropped: AtomicU64,
    flushed: AtomicU64,
}

impl Default for Views {
    fn default() -> Views {
        Views::new(DEDUP_WINDOW, GENERATION_CAP, PENDING_CAP)
    }
}

/// A snapshot of a counter's totals since it started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Totals {
    pub counted: u64,
    pub repeats: u64,
    pub dropped: u64,
    pub flushed: u64,
    pub pending: usize,
    pub remembered: usize,
}

impl Views {
    pub fn new(window: Duration, generation_cap: usize, pending_cap: usize) -> Views {
        Views {
            state: Mutex::new(State {
                current: HashSet::new(),
                previous: HashSet::new(),
                rotated: Instant::now(),
                pending: HashMap::new(),
            }),
            key: RandomState::new(),
            window,
            generation_cap: generation_cap.max(1),
            pending_cap,
            counted: AtomicU64::new(0),
            repeats: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            flushed: AtomicU64::new(0),
        }
    }

    /// A view of question `id` by `viewer` (see [`viewer_key`]) at `now`.
    pub fn record(&self, id: i64, viewer: &str, now: Instant) -> Recorded {
        let fingerprint = self.key.hash_one((id, viewer));
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if now.saturating_duration_since(s.rotated) >= self.window / 2 || s.current.len() >= self.generation_cap {
            s.previous = std::mem::take(&mut s.current);
            s.rotated = now;
        }
        if s.current.contains(&fingerprint) || s.previous.contains(&fingerprint) {
            self.repeats.fetch_add(1, Ordering::Relaxed);
            return Recorded::Repeat;
        }
        if !s.pending.contains_key(&id) && s.pending.len() >= self.pending_cap {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return Recorded::Dropped;
        }
        s.current.insert(fingerprint);
        *s.pending.entry(id).or_insert(0) += 1;
        self.counted.fetch_add(1, Ordering::Relaxed);
        Recorded::Counted
    }

    /// Takes the counts gathered since the last flush, ids ascending.
    pub fn take(&self) -> ViewCounts {
        let pending = {
            let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
            std::mem::take(&mut s.pending)
        };
        let mut entries: Vec<(i64, i64)> = pending.into_iter().collect();
        entries.sort_unstable();
        ViewCounts { ids: entries.iter().map(|e| e.0).collect(), counts: entries.iter().map(|e| e.1).collect() }
    }

    /// Puts back a batch whose flush failed (within the pending bound).
    pub fn restore(&self, batch: &ViewCounts) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        for (&id, &n) in batch.ids.iter().zip(&batch.counts) {
            if s.pending.contains_key(&id) || s.pending.len() < self.pending_cap {
                *s.pending.entry(id).or_insert(0) += n;
            } else {
                self.dropped.fetch_add(n.max(0) as u64, Ordering::Relaxed);
            }
        }
    }

    /// Sends what is pending to the question service; on failure keeps it
    /// for the next flush. Returns the number of questions sent.
    pub fn flush(&self, backend: &dyn Backend) -> usize {
        let batch = self.take();
        if batch.ids.is_empty() {
            return 0;
        }
        let call = Call { request_id: proto::ids::new_request_id(), deadline: None, token: None };
        match backend.add_views(&call, &batch) {
            Ok(()) => {
                self.flushed.fetch_add(batch.counts.iter().map(|&n| n.max(0) as u64).sum(), Ordering::Relaxed);
                batch.ids.len()
            }
            Err(e) => {
                log::warn!(target: "WebUI::Views", "view counts not flushed ({} questions kept): {e}", batch.ids.len());
                self.restore(&batch);
                0
            }
        }
    }

    /// The totals as `/metrics` lines.
    pub fn render(&self, out: &mut String) {
        let t = self.totals();
        for (name, what, v) in [
            ("counted_total", "views counted (new viewer of a question within the window)", t.counted),
            ("repeats_total", "views not counted: the same viewer within the window", t.repeats),
            ("dropped_total", "views not counted: too many questions waiting for a flush", t.dropped),
            ("flushed_total", "counted views sent to the question service", t.flushed),
            ("pending", "questions with views waiting for the next flush", t.pending as u64),
            ("remembered", "viewer fingerprints held for de-duplication", t.remembered as u64),
        ] {
            let kind = if name.ends_with("_total") { "counter" } else { "gauge" };
            let _ = writeln!(out, "# HELP stackwire_views_{name} {what}\n# TYPE stackwire_views_{name} {kind}");
            let _ = writeln!(out, "stackwire_views_{name} {v}");
        }
    }

    pub fn totals(&self) -> Totals {
        let s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        Totals {
            counted: self.counted.load(Ordering::Relaxed),
            repeats: self.repeats.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            flushed: self.flushed.load(Ordering::Relaxed),
            pending: s.pending.len(),
            remembered: s.current.len() + s.previous.len(),
        }
    }
}

/// Who is viewing, for de-duplication: the session cookie when there is
/// one, else the client's address without its port.
pub fn viewer_key(req: &HttpRequest) -> String {
    if let Some(token) = crate::auth::session_token(req) {
        return format!("s:{token}");
    }
    let addr = req.client_addr.as_str();
    let host = match addr.rsplit_once(':') {
        // "[::1]:5000" or "127.0.0.1:5000"; a bare IPv6 address has more colons.
        Some((host, port))
            if port.bytes().all(|b| b.is_ascii_digit()) && (!host.contains(':') || host.ends_with(']')) =>
        {
            host
        }
        _ => addr,
    };
    format!("a:{host}")
}

/// The flush interval: `SW_VIEWS_FLUSH_MS` (50 ms to 1 h) or [`FLUSH_INTERVAL`].
pub fn flush_interval() -> Duration {
    std::env::var("SW_VIEWS_FLUSH_MS")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|ms| (50..=3_600_000).contains(ms))
        .map(Duration::from_millis)
        .unwrap_or(FLUSH_INTERVAL)
}
