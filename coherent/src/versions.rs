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
}

impl Versions {
    pub fn new(cfg: RegistryConfig) -> Arc<Versions> {
        Arc::new(Versions {
            cfg,
            idle: Mutex::new(Vec::new()),
            node: Mutex::new(Node { run_id: String::new(), epoch: 0 }),
            reads: AtomicU64::new(0),
            read_failures: AtomicU64::new(0),
            bumps: AtomicU64::new(0),
            bump_failures: AtomicU64::new(0),
            epochs: AtomicU64::new(0),
        })
    }

    /// The registry settings (prefix, Redis) the counters live under.
    pub fn config(&self) -> &RegistryConfig {
        &self.cfg
    }

    fn connect(&self) -> Result<Conn, redis::RedisError> {
        let client = registry_agent::redis_primary(&self.cfg)
            .map_err(|e| redis::RedisError::from((redis::ErrorKind::IoError, "no Redis primary", e.to_string())))?;
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
        self.reads.fetch_add(1, Ordering::Relaxed);
        let keys: Vec<String> = topics.iter().map(|t| t.key(&self.cfg.prefix)).collect();
        let got = self.with(|con| {
            if keys.len() == 1 {
                // MGET of one key answers a list; GET a bulk string. Same thing.
                redis::cmd("GET").arg(&keys[0]).query::<Option<u64>>(con).map(|v| vec![v])
            } else {
                redis::cmd("MGET").arg(&keys).query::<Vec<Option<u64>>>(con)
            }
        });
        match got {
            Ok((values, epoch)) if values.len() == topics.len() => Some(Stamp {
                epoch,
                versions: topics.iter().copied().zip(values.into_iter().map(|v| v.unwrap_or(0))).collect(),
            }),
            Ok(_) => {
                self.read_failures.fetch_add(1, Ordering::Relaxed);
                None
            }
            Err(e) => {
                self.read_failures.fetch_add(1, Ordering::Relaxed);
                log::warn!(target: "cache", "cannot read versions: {e}; serving from the database");
                None
            }
        }
    }

    /// Bumps the counters of `topics` and announces them on the feed, in one
    /// atomic round trip; retried on fresh connections (a failover moves the
    /// primary) before giving up.
    pub fn bump(&self, topics: &[Topic]) -> Result<(), BumpError> {
        if topics.is_empty() {
            return Ok(());
        }
        let words: Vec<String> = topics.iter().map(Topic::name).collect();
        let message = words.join(" ");
        let mut last = String::new();
        for _ in 0..BUMP_ATTEMPTS {
            let mut pipe = redis::pipe();
            pipe.atomic();
            for t in topics {
                pipe.cmd("INCR").arg(t.key(&self.cfg.prefix)).ignore();
            }
            pipe.cmd("PUBLISH").arg(crate::feed::channel(&self.cfg)).arg(&message).ignore();
            match self.with(|con| pipe.query::<()>(con)) {
                Ok(_) => {
                    self.bumps.fetch_add(1, Ordering::Relaxed);
                    return Ok(());
                }
                Err(e) => last = e.to_string(),
            }
        }
        self.bump_failures.fetch_add(1, Ordering::Relaxed);
        log::error!(target: "cache", "cannot bump {message}: {last}");
        Err(BumpError(last))
    }

    /// The counters in the Prometheus text format.
    pub fn render(&self, out: &mut String) {
        use std::fmt::Write;
        let n = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let _ = writeln!(out, "# TYPE stackwire_cache_version_reads_total counter");
        let _ = writeln!(out, "stackwire_cache_version_reads_total {}", n(&self.reads));
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
