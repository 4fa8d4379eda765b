//! A byte-bounded LRU map of values, each kept with the [`Stamp`] it was
//! read under, indexed by topic for the change feed.
//!
//! Every value is weighed when it goes in (its own [`Weigh`] plus its key and
//! a fixed overhead per entry); when the total passes the budget, the least
//! recently used values go until it fits, so the memory a store holds is
//! bounded by its budget whatever is asked of it. One mutex guards the map:
//! the work under it is a hash lookup and a few tree operations, far less
//! than the Redis round trip every read makes anyway.

use crate::feed::Invalidate;
use crate::{Stamp, Topic};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Bytes counted per entry on top of the value and the key: the map slot,
/// the recency and topic index entries, the stamp.
const OVERHEAD: usize = 160;

/// How much memory a value holds.
pub trait Weigh {
    fn weight(&self) -> usize;
}

struct Slot<V> {
    value: Arc<V>,
    stamp: Stamp,
    bytes: usize,
    tick: u64,
}

struct Inner<V> {
    map: HashMap<String, Slot<V>>,
    /// Recency: tick of last use → key.
    order: BTreeMap<u64, String>,
    by_topic: HashMap<Topic, HashSet<String>>,
    bytes: usize,
    tick: u64,
}

impl<V> Inner<V> {
    fn remove(&mut self, key: &str) -> Option<Slot<V>> {
        let slot = self.map.remove(key)?;
        self.order.remove(&slot.tick);
        for t in slot.stamp.topics() {
            if let Some(keys) = self.by_topic.get_mut(&t) {
                keys.remove(key);
                if keys.is_empty() {
                    self.by_topic.remove(&t);
                }
            }
        }
        self.bytes -= slot.bytes;
        Some(slot)
    }
}

/// What a store has done so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreStats {
    pub hits: u64,
    /// Reads not served from the store (nothing there, or a stale value).
    pub misses: u64,
    /// Of the misses, those that found a value whose stamp had moved on.
    pub stale: u64,
    /// Values dropped because the feed announced a change of their topics.
    pub invalidations: u64,
    /// Values dropped to stay within the budget.
    pub evictions: u64,
    /// Times the whole store was emptied (a feed reconnect).
    pub flushes: u64,
    pub entries: u64,
    pub bytes: u64,
    pub budget: u64,
}

/// One cache.
pub struct Store<V> {
    name: &'static str,
    budget: usize,
    inner: Mutex<Inner<V>>,
    hits: AtomicU64,
    misses: AtomicU64,
    stale: AtomicU64,
    invalidations: AtomicU64,
    evictions: AtomicU64,
    flushes: AtomicU64,
}

impl<V: Weigh + Send + Sync + 'static> Store<V> {
    /// A store called `name` (in /metrics) holding at most `budget` bytes;
    /// 0 turns it off (nothing is stored, every read misses).
    pub fn new(name: &'static str, budget: usize) -> Arc<Store<V>> {
        Arc::new(Store {
            name,
            budget,
            inner: Mutex::new(Inner {
                map: HashMap::new(),
                order: BTreeMap::new(),
                by_topic: HashMap::new(),
                bytes: 0,
                tick: 0,
            }),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            stale: AtomicU64::new(0),
            invalidations: AtomicU64::new(0),
            evictions: AtomicU64::new(0),
            flushes: AtomicU64::new(0),
        })
    }

    pub fn enabled(&self) -> bool {
        self.budget > 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner<V>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The value under `key` if it was read under exactly `stamp`.
    pub fn get(&self, key: &str, stamp: &Stamp) -> Option<Arc<V>> {
        let mut inner = self.lock();
        let current = inner.map.get(key).map(|slot| slot.stamp == *stamp);
        match current {
            Some(true) => {
                inner.tick += 1;
                let tick = inner.tick;
                let slot = inner.map.get_mut(key)?;
                let old = std::mem::replace(&mut slot.tick, tick);
                let value = slot.value.clone();
                inner.order.remove(&old);
                inner.order.insert(tick, key.to_string());
                self.hits.fetch_add(1, Ordering::Relaxed);
                Some(value)
            }
            Some(false) => {
                inner.remove(key);
                self.stale.fetch_add(1, Ordering::Relaxed);
                self.misses.fetch_add(1, Ordering::Relaxed);
                None
            }
            None => {
                self.misses.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    /// Stores `value`, read under `stamp` (taken before the value was read),
    /// evicting the least recently used values past the budget. A value
    /// larger than the whole budget is not stored.
    pub fn put(&self, key: &str, stamp: Stamp, value: Arc<V>) {
        let bytes = value.weight() + key.len() + OVERHEAD;
        if bytes > self.budget {
            return;
        }
        let mut inner = self.lock();
        inner.remove(key);
        inner.tick += 1;
        let tick = inner.tick;
        for t in stamp.topics() {
            inner.by_topic.entry(t).or_default().insert(key.to_string());
        }
        inner.order.insert(tick, key.to_string());
        inner.map.insert(key.to_string(), Slot { value, stamp, bytes, tick });
        inner.bytes += bytes;
        while inner.bytes > self.budget {
            let Some((_, oldest)) = inner.order.pop_first() else { break };
            inner.remove(&oldest);
            self.evictions.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn stats(&self) -> StoreStats {
        let inner = self.lock();
        let n = |a: &AtomicU64| a.load(Ordering::Relaxed);
        StoreStats {
            hits: n(&self.hits),
            misses: n(&self.misses),
            stale: n(&self.stale),
            invalidations: n(&self.invalidations),
            evictions: n(&self.evictions),
            flushes: n(&self.flushes),
            entries: inner.map.len() as u64,
            bytes: inner.bytes as u64,
            budget: self.budget as u64,
        }
    }

    /// The store's counters and gauges in the Prometheus text format.
    pub fn render(&self, out: &mut String) {
        let s = self.stats();
        let name = self.name;
        for (metric, kind, value) in [
            ("hits_total", "counter", s.hits),
            ("misses_total", "counter", s.misses),
            ("stale_total", "counter", s.stale),
            ("invalidations_total", "counter", s.invalidations),
            ("evictions_total", "counter", s.evictions),
            ("flushes_total", "counter", s.flushes),
            ("entries", "gauge", s.entries),
            ("bytes", "gauge", s.bytes),
            ("budget_bytes", "gauge", s.budget),
        ] {
            let _ = writeln!(out, "# TYPE stackwire_cache_{metric} {kind}");
            let _ = writeln!(out, "stackwire_cache_{metric}{{cache=\"{name}\"}} {value}");
        }
    }
}

impl<V: Weigh + Send + Sync + 'static> Invalidate for Store<V> {
    fn invalidate(&self, topics: &[Topic]) {
        let mut inner = self.lock();
        for t in topics {
            let keys: Vec<String> = inner.by_topic.get(t).map(|k| k.iter().cloned().collect()).unwrap_or_default();
            for k in keys {
                if inner.remove(&k).is_some() {
                    self.invalidations.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }

    fn clear(&self) {
        let mut inner = self.lock();
        inner.map.clear();
        inner.order.clear();
        inner.by_topic.clear();
        inner.bytes = 0;
        self.flushes.fetch_add(1, Ordering::Relaxed);
    }
}
