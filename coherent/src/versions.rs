//! The version counters in Redis: read before every cached read, bumped
//! after every write.
//!
//! Connections are pooled (a read is one `MGET` on whichever pooled
//! connection is free) and each is tagged with the epoch of the Redis node it
//! reached. The epoch changes when a new connection finds a node with another
//! `run_id` than the last one: a different primary (a failover) or the same
//! one restarted, either of which may have lost counts that were handed out.
//! Connections of an older epoch are closed when they come back to the pool.
//! A connection that fails is dropped; the next one is made afresh, through
//! the Sentinels when they are configured, so a failover costs a few reads
//! that go to the database, never a stale one.

use crate::batch::{Batcher, ReadMany, Then};
use crate::publish::Publisher;
use crate::Topic;
use registry_agent::RegistryConfig;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a read or a bump waits for Redis before giving up on it.
const TIMEOUT: Duration = Duration::from_millis(500);
/// Attempts a bump makes (each on a fresh connection after a failure).
const BUMP_ATTEMPTS: usize = 3;
/// Pooled connections kept idle at most.
const MAX_IDLE: usize = 16;

/// The counters of some topics as read at one moment, under one epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    epoch: u64,
    versions: Vec<(Topic, u64)>,
}

impl Stamp {
    /// The stamp of a value that depends on nothing: it never goes stale
    /// (who a session token belongs to, say).
    pub fn timeless() -> Stamp {
        Stamp { epoch: 0, versions: Vec::new() }
    }

    /// The part of the stamp about `topics` (all of which it must cover).
    pub fn project(&self, topics: &[Topic]) -> Option<Stamp> {
        let versions =
            topics.iter().map(|t| self.versions.iter().find(|(v, _)| v == t).copied()).collect::<Option<Vec<_>>>()?;
        Some(Stamp { epoch: self.epoch, versions })
    }

    pub fn topics(&self) -> impl Iterator<Item = Topic> + '_ {
        self.versions.iter().map(|(t, _)| *t)
    }

    pub fn epoch(&self) -> u64 {
        self.epoch
    }
}

/// A write whose versions could not be bumped: its caller must not tell its
/// client it succeeded (the write is committed; a retry with the same
/// idempotency key finds it and bumps again).
#[derive(Debug, thiserror::Error)]
#[error("cannot record the change for the caches: {0}")]
pub struct BumpError(String);

struct Conn {
    con: redis::Connection,
    epoch: u64,
}

/// Which node the current epoch is about.
struct Node {
    run_id: String,
    epoch: u64,
}

/// The counters, for one registry prefix.
pub struct Versions {
    cfg: RegistryConfig,
    idle: Mutex<Vec<Conn>>,
    node: Mutex<Node>,
    pub(crate) reads: AtomicU64,
    pub(crate) read_failures: AtomicU64,
    pub(crate) bumps: AtomicU64,
    pub(crate) bump_failures: AtomicU64,
    pub(crate) epochs: AtomicU64,
    /// Reads queued for the reader thread ([`Versions::read_later`]), and
    /// the round trips that carried more than one of them.
    pub(crate) queued: AtomicU64,
    pub(crate) batches: AtomicU64,
    batcher: Batcher<Stamp>,
    publisher: Publisher,
}

impl Versions {
    pub fn new(cfg: RegistryConfig) -> Arc<Versions> {
        Arc::new(Versions {
            publisher: Publisher::new(cfg.clone()),
            cfg,
            idle: Mutex::new(Vec::new()),
            node: Mutex::new(Node { run_id: String::new(), epoch: 0 }),
            reads: AtomicU64::new(0),
            read_failures: AtomicU64::new(0),
            bumps: AtomicU64::new(0),
            bump_failures: AtomicU64::new(0),
            epochs: AtomicU64::new(0),
            queued: AtomicU64::new(0),
            batches: AtomicU64::new(0),
            batcher: Default::default(),
        })
    }

    /// The registry settings (prefix, Redis) the counters live under.
    pub fn config(&self) -> &RegistryConfig {
        &self.cfg
    }

    fn connect(&self) -> Result<Conn, redis::RedisError> {
        let client = crate::primary(&self.cfg)?;
        let mut con = client.get_connection_with_timeout(TIMEOUT)?;
        con.set_read_timeout(Some(TIMEOUT))?;
        con.set_write_timeout(Some(TIMEOUT))?;
        let info: String = redis::cmd("INFO").arg("server").query(&mut con)?;
        let run_id =
            info.lines().find_map(|l| l.strip_prefix("run_id:")).map(|s| s.trim().to_string()).unwrap_or_default();
        let mut node = self.node.lock().unwrap_or_else(|e| e.into_inner());
        if run_id.is_empty() || run_id != node.run_id {
            node.run_id = run_id;
            node.epoch += 1;
            self.epochs.fetch_add(1, Ordering::Relaxed);
            log::info!(target: "cache", "version counters: epoch {} (Redis node {})", node.epoch, node.run_id);
        }
        Ok(Conn { con, epoch: node.epoch })
    }

    fn take(&self) -> Result<Conn, redis::RedisError> {
        let pooled = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        match pooled {
            Some(c) => Ok(c),
            None => self.connect(),
        }
    }

    fn give_back(&self, c: Conn) {
        let current = self.node.lock().unwrap_or_else(|e| e.into_inner()).epoch;
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if c.epoch == current && idle.len() < MAX_IDLE {
            idle.push(c);
        }
    }

    /// Runs `f` on a pooled connection; the connection is dropped if it fails.
    fn with<T>(&self, f: impl FnOnce(&mut redis::Connection) -> redis::RedisResult<T>) -> redis::RedisResult<(T, u64)> {
        let mut c = self.take()?;
        let r = f(&mut c.con)?;
        let epoch = c.epoch;
        self.give_back(c);
        Ok((r, epoch))
    }

    /// The counters of `topics` now; `None` when Redis cannot be reached (the
    /// caller then reads the database and stores nothing).
    pub fn read(&self, topics: &[Topic]) -> Option<Stamp> {
        self.read_many(&[topics]).pop().flatten()
    }

    /// [`Versions::read`] made on the version reader's thread together with
    /// every other read queued meanwhile (one pipelined round trip, see
    /// `batch`); `then` runs on that thread with the stamp, or at once with
    /// `None` when too many reads are waiting.
    pub fn read_later(self: &Arc<Self>, topics: Vec<Topic>, then: Then<Stamp>) {
        self.queued.fetch_add(1, Ordering::Relaxed);
        self.batcher.push(self, topics, then);
    }
}

impl ReadMany<Stamp> for Versions {
    fn batcher(&self) -> &Batcher<Stamp> {
        &self.batcher
    }

    /// The stamps of several reads, in one round trip (one `MGET` each,
    /// pipelined): every one `None` if Redis cannot be reached.
    fn read_many(&self, reads: &[&[Topic]]) -> Vec<Option<Stamp>> {
        if reads.iter().any(|t| t.is_empty()) {
            // `MGET` of no key is an error reply, which would fail the whole
            // pipeline: a read of nothing is answered apart (with nothing,
            // as it always was), the others together.
            let (mut some, mut none) = (Vec::new(), Vec::new());
            for (i, t) in reads.iter().enumerate() {
                if t.is_empty() {
                    none.push(i)
                } else {
                    some.push(*t)
                }
            }
            let mut got = self.read_many(&some).into_iter();
            return (0..reads.len()).map(|i| if none.contains(&i) { None } else { got.next().flatten() }).collect();
        }
        if reads.is_empty() {
            return Vec::new();
        }
        self.reads.fetch_add(reads.len() as u64, Ordering::Relaxed);
        if reads.len() > 1 {
            self.batches.fetch_add(1, Ordering::Relaxed);
        }
        let mut pipe = redis::pipe();
        for topics in reads {
            let keys: Vec<String> = topics.iter().map(|t| t.key(&self.cfg.prefix)).collect();
            pipe.cmd("MGET").arg(keys);
        }
        let got = self.with(|con| pipe.query::<Vec<Vec<Option<u64>>>>(con));
        let failed = |n: usize| {
            self.read_failures.fetch_add(n as u64, Ordering::Relaxed);
            reads.iter().map(|_| None).collect()
        };
        match got {
            Ok((answers, epoch)) if answers.len() == reads.len() => reads
                .iter()
                .zip(answers)
                .map(|(topics, values)| {
                    if values.len() != topics.len() {
                        self.read_failures.fetch_add(1, Ordering::Relaxed);
                        return None;
                    }
                    let versions = topics.iter().copied().zip(values.into_iter().map(|v| v.unwrap_or(0))).collect();
                    Some(Stamp { epoch, versions })
                })
                .collect(),
            Ok(_) => failed(reads.len()),
            Err(e) => {
                log::warn!(target: "cache", "cannot read versions: {e}; serving from the database");
                failed(reads.len())
            }
        }
    }
}

impl Versions {
    /// Bumps the counters of `topics` in one atomic round trip, retried on
    /// fresh connections (a failover moves the primary) before giving up;
    /// then queues them for the change feed (`publish`: announced a moment
    /// later, together with the other bumps of that moment).
    pub fn bump(&self, topics: &[Topic]) -> Result<(), BumpError> {
        if topics.is_empty() {
            return Ok(());
        }
        let mut last = String::new();
        for _ in 0..BUMP_ATTEMPTS {
            let mut pipe = redis::pipe();
            pipe.atomic();
            for t in topics {
                pipe.cmd("INCR").arg(t.key(&self.cfg.prefix)).ignore();
            }
            match self.with(|con| pipe.query::<()>(con)) {
                Ok(_) => {
                    self.bumps.fetch_add(1, Ordering::Relaxed);
                    self.publisher.announce(topics);
                    return Ok(());
                }
                Err(e) => last = e.to_string(),
            }
        }
        self.bump_failures.fetch_add(1, Ordering::Relaxed);
        let names: Vec<String> = topics.iter().map(Topic::name).collect();
        log::error!(target: "cache", "cannot bump {}: {last}", names.join(" "));
        Err(BumpError(last))
    }

    /// The counters in the Prometheus text format.
    pub fn render(&self, out: &mut String) {
        use std::fmt::Write;
        let n = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let _ = writeln!(out, "# TYPE stackwire_cache_version_reads_total counter");
        let _ = writeln!(out, "stackwire_cache_version_reads_total {}", n(&self.reads));
        let _ = writeln!(out, "# TYPE stackwire_cache_version_reads_queued_total counter");
        let _ = writeln!(out, "stackwire_cache_version_reads_queued_total {}", n(&self.queued));
        let _ = writeln!(out, "# TYPE stackwire_cache_version_read_batches_total counter");
        let _ = writeln!(out, "stackwire_cache_version_read_batches_total {}", n(&self.batches));
        let _ = writeln!(out, "# TYPE stackwire_cache_version_read_failures_total counter");
        let _ = writeln!(out, "stackwire_cache_version_read_failures_total {}", n(&self.read_failures));
        let _ = writeln!(out, "# TYPE stackwire_cache_version_bumps_total counter");
        let _ = writeln!(out, "stackwire_cache_version_bumps_total {}", n(&self.bumps));
        let _ = writeln!(out, "# TYPE stackwire_cache_version_bump_failures_total counter");
        let _ = writeln!(out, "stackwire_cache_version_bump_failures_total {}", n(&self.bump_failures));
        let _ = writeln!(out, "# TYPE stackwire_cache_epochs_total counter");
        let _ = writeln!(out, "stackwire_cache_epochs_total {}", n(&self.epochs));
    }
}
