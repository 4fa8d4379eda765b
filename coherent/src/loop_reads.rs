//! Version reads made by an RPC server's event loop, on a Redis connection
//! of its own.
//!
//! A cached page's GET is taken over on the RPC loop and waits only for its
//! version read (`Versions::read_later`). Handed to the reader thread
//! (`batch`), every batch of reads costs two wake-ups besides Redis's: the
//! thread's, to make the round trip, and its own again when the reply comes.
//! A server whose handler offers [`LoopReads`] (`Handler::loop_work`) makes
//! them on the loop instead: the reads its calls ask for during one turn are
//! written at the end of that turn as one pipeline of `MGET`s on a
//! non-blocking connection the loop watches, and when the replies arrive the
//! loop runs each read's callback itself (a hit is answered right there).
//! Nobody is woken but the loop, which is awake anyway under load.
//!
//! What stays the thread's: reads asked for on any other thread, reads of no
//! topic, and every read while the loop has no connection (before the first
//! one is made, and after one failed). A connection is made off the loop, by
//! a short-lived thread (`Versions::connect_raw`: the primary through the
//! Sentinels, `AUTH`, the node's `run_id` for the epoch), at most once a
//! second (backing off to once in 30 s while no attempt succeeds), and taken
//! by the loop at the end of a turn. A connection is
//! closed, and every read waiting on it answered `None` (served without the
//! cache, as when Redis cannot be reached), when it fails, when Redis says
//! something that is not RESP2, when the oldest read has waited longer than
//! a blocking read would (`versions::TIMEOUT`), or when another connection
//! found a new epoch (a failover): a stamp is only ever read under the
//! epoch of the node it came from, as on the thread. Reads queued for the
//! loop's next turn are bounded (`batch::MAX_QUEUED`; past that a read goes
//! the thread's way, which has its own bound), and reads sent by the timeout.

use crate::batch::{Then, MAX_QUEUED};
use crate::resp::{self, Reply};
use crate::versions::{self, Stamp, Versions};
use crate::Topic;
use proto::rpc_server::mio::{self, Interest, Registry};
use proto::rpc_server::{LoopWork, LOOP_WORK_TOKEN};
use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

/// Least time between two attempts to connect; it doubles with each
/// attempt that gives no connection, up to [`RECONNECT_MAX`].
const RECONNECT: Duration = Duration::from_secs(1);
const RECONNECT_MAX: Duration = Duration::from_secs(30);

/// A read asked for, with what to do with its stamp.
type Read1 = (Vec<Topic>, Then<Stamp>);

/// What the loop shares with `Versions::read_later` and the connecting
/// thread.
#[derive(Default)]
pub(crate) struct Handoff {
    /// The loop's thread, while it has a connection: reads asked for there
    /// are queued here for the end of its turn.
    reader: Option<ThreadId>,
    queued: Vec<Read1>,
    /// A connection made for the loop, not taken yet.
    made: Option<(std::net::TcpStream, u64)>,
    connecting: bool,
}

fn lock(m: &Mutex<Handoff>) -> MutexGuard<'_, Handoff> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Queues a read for the loop if it is asked for on the loop's thread while
/// the loop has a connection (and room); else gives it back.
pub(crate) fn offer(handoff: &Mutex<Handoff>, topics: Vec<Topic>, then: Then<Stamp>) -> Result<(), Read1> {
    let mut h = lock(handoff);
    if topics.is_empty() || h.reader != Some(std::thread::current().id()) || h.queued.len() >= MAX_QUEUED {
        return Err((topics, then));
    }
    h.queued.push((topics, then));
    Ok(())
}

/// One read sent and not answered yet.
struct Waiting {
    topics: Vec<Topic>,
    then: Then<Stamp>,
    sent: Instant,
}

struct Conn {
    stream: mio::net::TcpStream,
    epoch: u64,
    /// Bytes not written yet.
    out: Vec<u8>,
    /// Bytes read and not parsed yet.
    input: Vec<u8>,
    /// In the order sent, which is the order Redis answers.
    waiting: VecDeque<Waiting>,
}

/// The loop's side: see the file's essay.
pub struct LoopReads {
    versions: Arc<Versions>,
    conn: Option<Conn>,
    last_attempt: Option<Instant>,
    /// Time to leave after the last attempt before the next.
    wait: Duration,
}

impl LoopReads {
    pub(crate) fn new(versions: Arc<Versions>) -> LoopReads {
        LoopReads { versions, conn: None, last_attempt: None, wait: RECONNECT }
    }

    /// Takes a connection made meanwhile, or asks for one.
    fn connect(&mut self, registry: &Registry) {
        let made = lock(&self.versions.handoff).made.take();
        let Some((stream, epoch)) = made else { return self.connect_later() };
        let taken = stream.set_nonblocking(true).map(|_| mio::net::TcpStream::from_std(stream)).and_then(|mut s| {
            registry.register(&mut s, LOOP_WORK_TOKEN, Interest::READABLE | Interest::WRITABLE).map(|_| s)
        });
        match taken {
            Ok(stream) => {
                self.conn = Some(Conn { stream, epoch, out: Vec::new(), input: Vec::new(), waiting: VecDeque::new() });
                self.wait = RECONNECT;
                lock(&self.versions.handoff).reader = Some(std::thread::current().id());
            }
            Err(e) => log::warn!(target: "cache", "cannot watch the version reads' connection: {e}"),
        }
    }

    /// Starts a thread that connects, unless one is at work or the last
    /// attempt was too recent.
    fn connect_later(&mut self) {
        if self.last_attempt.is_some_and(|t| t.elapsed() < self.wait) {
            return;
        }
        {
            let mut h = lock(&self.versions.handoff);
            if h.connecting {
                return;
            }
            h.connecting = true;
        }
        if self.last_attempt.is_some() {
            self.wait = (self.wait * 2).min(RECONNECT_MAX);
        }
        self.last_attempt = Some(Instant::now());
        let versions = self.versions.clone();
        let spawned = std::thread::Builder::new().name("version-connect".into()).spawn(move || {
            let made = versions.connect_raw();
            let mut h = lock(&versions.handoff);
            h.connecting = false;
            match made {
                Ok(m) => h.made = Some(m),
                Err(e) => log::warn!(target: "cache", "cannot connect the loop's version reads: {e}; reading on the reader thread"),
            }
        });
        if let Err(e) = spawned {
            lock(&self.versions.handoff).connecting = false;
            log::warn!(target: "cache", "cannot start a thread to connect the version reads: {e}");
        }
    }

    /// Closes the connection: every read waiting on it, or queued for it,
    /// is answered `None`.
    fn close(&mut self, registry: &Registry, why: &str) {
        let queued = {
            let mut h = lock(&self.versions.handoff);
            h.reader = None;
            std::mem::take(&mut h.queued)
        };
        let Some(mut conn) = self.conn.take() else { return };
        let _ = registry.deregister(&mut conn.stream);
        log::warn!(target: "cache", "version reads on the loop: {why}; serving those waiting without the cache");
        let failed = conn.waiting.len() + queued.len();
        self.versions.read_failures.fetch_add(failed as u64, Ordering::Relaxed);
        for w in conn.waiting {
            (w.then)(None);
        }
        for (_, then) in queued {
            then(None);
        }
    }

    /// Writes what is pending; reads and answers what has arrived. `Err`
    /// with why the connection must close.
    fn pump(&mut self) -> Result<(), String> {
        let Some(conn) = self.conn.as_mut() else { return Ok(()) };
        while !conn.out.is_empty() {
            match conn.stream.write(&conn.out) {
                Ok(0) => return Err("Redis closed the connection".into()),
                Ok(n) => drop(conn.out.drain(..n)),
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e.to_string()),
            }
        }
        let mut chunk = [0u8; 16 << 10];
        loop {
            match conn.stream.read(&mut chunk) {
                Ok(0) => return Err("Redis closed the connection".into()),
                Ok(n) => conn.input.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e.to_string()),
            }
        }
        let mut used = 0;
        while let Some((reply, n)) = resp::parse(&conn.input[used..])? {
            used += n;
            let w = conn.waiting.pop_front().ok_or("a reply to nothing asked")?;
            let stamp = stamp(conn.epoch, &w.topics, reply);
            if stamp.is_none() {
                self.versions.read_failures.fetch_add(1, Ordering::Relaxed);
            }
            (w.then)(stamp);
        }
        conn.input.drain(..used);
        Ok(())
    }
}

/// The stamp an `MGET` reply gives `topics` (missing counters are 0), or
/// `None` for any other reply.
fn stamp(epoch: u64, topics: &[Topic], reply: Reply) -> Option<Stamp> {
    let Reply::Array(Some(items)) = reply else { return None };
    if items.len() != topics.len() {
        return None;
    }
    let values = items
        .into_iter()
        .map(|item| match item {
            Reply::Bulk(None) => Some(0),
            Reply::Bulk(Some(v)) => std::str::from_utf8(&v).ok()?.parse().ok(),
            _ => None,
        })
        .collect::<Option<Vec<u64>>>()?;
    Some(Stamp::of(epoch, topics, values))
}

impl LoopWork for LoopReads {
    fn ready(&mut self, registry: &Registry) {
        if let Err(why) = self.pump() {
            self.close(registry, &why);
        }
    }

    fn turn_done(&mut self, registry: &Registry) {
        let Some(conn) = self.conn.as_mut() else { return self.connect(registry) };
        if conn.epoch != self.versions.epoch() {
            return self.close(registry, "another connection found a new Redis node");
        }
        if conn.waiting.front().is_some_and(|w| w.sent.elapsed() > versions::TIMEOUT) {
            return self.close(registry, "Redis did not answer in time");
        }
        let queued = std::mem::take(&mut lock(&self.versions.handoff).queued);
        if queued.is_empty() {
            return;
        }
        let n = queued.len() as u64;
        let now = Instant::now();
        let prefix = &self.versions.config().prefix;
        for (topics, then) in queued {
            let keys: Vec<String> = topics.iter().map(|t| t.key(prefix)).collect();
            let mut args: Vec<&[u8]> = vec![b"MGET"];
            args.extend(keys.iter().map(|k| k.as_bytes()));
            resp::command(&mut conn.out, &args);
            conn.waiting.push_back(Waiting { topics, then, sent: now });
        }
        let v = &self.versions;
        v.reads.fetch_add(n, Ordering::Relaxed);
        v.loop_reads.fetch_add(n, Ordering::Relaxed);
        if n > 1 {
            v.batches.fetch_add(1, Ordering::Relaxed);
        }
        self.ready(registry);
    }
}
