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
use crate::loop_reads::{self, Handoff, LoopReads};
use crate::publish::Publisher;
use crate::resp::{self, Reply};
use crate::Topic;
use registry_agent::RegistryConfig;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a read or a bump waits for Redis before giving up on it.
pub(crate) const TIMEOUT: Duration = Duration::from_millis(500);
/// The client name of an RPC loop's connection for the version reads under
/// registry prefix `prefix` (`CLIENT LIST` shows it): `stackwire-loop-reads:`
/// and the prefix, anything but printable ASCII in it made `_`.
pub fn loop_client_name(prefix: &str) -> String {
    let prefix: String = prefix.chars().map(|c| if c.is_ascii_graphic() { c } else { '_' }).collect();
    format!("stackwire-loop-reads:{prefix}")
}
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

    /// The stamp of `topics` whose counters are `values`, read under `epoch`.
    pub(crate) fn of(epoch: u64, topics: &[Topic], values: impl IntoIterator<Item = u64>) -> Stamp {
        Stamp { epoch, versions: topics.iter().copied().zip(values).collect() }
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
    /// Reads made on an RPC server's loop (`loop_reads`).
    pub(crate) loop_reads: AtomicU64,
    batcher: Batcher<Stamp>,
    pub(crate) handoff: Mutex<Handoff>,
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
            loop_reads: AtomicU64::new(0),
            batcher: Default::default(),
            handoff: Default::default(),
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
        Ok(Conn { con, epoch: self.epoch_of(&info) })
    }

    /// The epoch of the node whose `INFO server` is `info`: the current one,
    /// or a new one if the node is not the one the current epoch is about.
    fn epoch_of(&self, info: &str) -> u64 {
        let run_id =
            info.lines().find_map(|l| l.strip_prefix("run_id:")).map(|s| s.trim().to_string()).unwrap_or_default();
        let mut node = self.node.lock().unwrap_or_else(|e| e.into_inner());
        if run_id.is_empty() || run_id != node.run_id {
            node.run_id = run_id;
            node.epoch += 1;
            self.epochs.fetch_add(1, Ordering::Relaxed);
            log::info!(target: "cache", "version counters: epoch {} (Redis node {})", node.epoch, node.run_id);
        }
        node.epoch
    }

    /// The current epoch.
    pub(crate) fn epoch(&self) -> u64 {
        self.node.lock().unwrap_or_else(|e| e.into_inner()).epoch
    }

    /// A plain socket to the primary, authenticated, and its epoch: for an
    /// event loop's reads (`loop_reads`), which cannot use the `redis`
    /// crate's blocking connections. Blocks up to a few [`TIMEOUT`]s.
    pub(crate) fn connect_raw(&self) -> Result<(std::net::TcpStream, u64), String> {
        use std::io::{Read, Write};
        use std::net::ToSocketAddrs;
        let client = crate::primary(&self.cfg).map_err(|e| e.to_string())?;
        let info = client.get_connection_info();
        let redis::ConnectionAddr::Tcp(host, port) = &info.addr else {
            return Err("the Redis primary is not at a TCP address".into());
        };
        let addr = (host.as_str(), *port).to_socket_addrs().map_err(|e| e.to_string())?.next().ok_or("no address")?;
        let mut s = std::net::TcpStream::connect_timeout(&addr, TIMEOUT).map_err(|e| e.to_string())?;
        s.set_read_timeout(Some(TIMEOUT)).map_err(|e| e.to_string())?;
        s.set_write_timeout(Some(TIMEOUT)).map_err(|e| e.to_string())?;
        let _ = s.set_nodelay(true);
        let (mut out, mut expected) = (Vec::new(), 1);
        let r = &info.redis;
        if let Some(password) = &r.password {
            match &r.username {
                Some(user) => resp::command(&mut out, &[b"AUTH", user.as_bytes(), password.as_bytes()]),
                None => resp::command(&mut out, &[b"AUTH", password.as_bytes()]),
            }
            expected += 1;
        }
        if r.db != 0 {
            resp::command(&mut out, &[b"SELECT", r.db.to_string().as_bytes()]);
            expected += 1;
        }
        // Named, so that `CLIENT LIST` says which connections these are.
        let name = loop_client_name(&self.cfg.prefix);
        resp::command(&mut out, &[b"CLIENT", b"SETNAME", name.as_bytes()]);
        resp::command(&mut out, &[b"INFO", b"server"]);
        expected += 1;
        s.write_all(&out).map_err(|e| e.to_string())?;
        let (mut input, mut replies, mut chunk) = (Vec::new(), Vec::new(), [0u8; 4096]);
        while replies.len() < expected {
            match resp::parse(&input)? {
                Some((reply, used)) => {
                    input.drain(..used);
                    replies.push(reply);
                }
                None => match s.read(&mut chunk).map_err(|e| e.to_string())? {
                    0 => return Err("Redis closed the connection".into()),
                    n => input.extend_from_slice(&chunk[..n]),
                },
            }
        }
        if let Some(Reply::Error(e)) = replies.iter().find(|r| matches!(r, Reply::Error(_))) {
            return Err(e.clone());
        }
        let Some(Reply::Bulk(Some(info))) = replies.pop() else { return Err("no INFO reply".into()) };
        Ok((s, self.epoch_of(&String::from_utf8_lossy(&info))))
    }

    /// The work an RPC server's loop does to make the version reads asked
    /// for on it (`loop_reads`), for `Handler::loop_work`.
    pub fn loop_work(self: &Arc<Self>) -> Box<dyn proto::rpc_server::LoopWork> {
        Box::new(LoopReads::new(self.clone()))
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
        // On an RPC loop that makes its own reads (`loop_reads`), there.
        if let Err((topics, then)) = loop_reads::offer(&self.handoff, topics, then) {
            self.batcher.push(self, topics, then);
        }
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
                    Some(Stamp::of(epoch, topics, values.into_iter().map(|v| v.unwrap_or(0))))
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
        let _ = writeln!(out, "# TYPE stackwire_cache_version_reads_on_loop_total counter");
        let _ = writeln!(out, "stackwire_cache_version_reads_on_loop_total {}", n(&self.loop_reads));
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
