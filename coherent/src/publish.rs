//! Announcing bumps on the change feed, several at a time.
//!
//! Every process that holds stores listens on the feed ([`crate::feed`]) and
//! wakes up for each message, so a message per bump made every process of
//! the system wake for every write: under issue 9's answer-POST load (1,300
//! writes a second, a dozen listeners) that was more CPU than Redis spent on
//! the writes themselves. The feed only tidies (the stamps checked on every
//! read are what make a read right), so nothing needs each bump announced on
//! its own: a bump queues its topics here and returns, and one thread
//! publishes everything queued in one message, then rests [`GAP`] before the
//! next. The first bump after a quiet moment is announced at once; under
//! load the listeners wake at most every [`GAP`], however many writes.
//!
//! What is queued is bounded ([`MAX_PENDING`] distinct topics); past it a
//! topic is not announced, which costs memory held until its values age
//! out, never a stale read. A message that cannot be published (Redis away)
//! is dropped: listeners empty their stores when they subscribe again.

use crate::Topic;
use registry_agent::RegistryConfig;
use std::collections::BTreeSet;
use std::sync::{Arc, Condvar, Mutex, Once, Weak};
use std::time::Duration;

/// The publisher's rest after each message.
pub const GAP: Duration = Duration::from_millis(10);
/// Distinct topics waiting for the next message, at most.
pub const MAX_PENDING: usize = 4096;
/// How long a publish waits for Redis.
const TIMEOUT: Duration = Duration::from_millis(500);

#[derive(Default)]
struct Pending {
    topics: Mutex<BTreeSet<Topic>>,
    ready: Condvar,
}

/// The queue of topics to announce, and its thread (started on first use).
pub(crate) struct Publisher {
    cfg: RegistryConfig,
    pending: Arc<Pending>,
    started: Once,
}

impl Publisher {
    pub(crate) fn new(cfg: RegistryConfig) -> Publisher {
        Publisher { cfg, pending: Arc::default(), started: Once::new() }
    }

    /// Queues `topics` for the next message.
    pub(crate) fn announce(&self, topics: &[Topic]) {
        self.started.call_once(|| spawn(Arc::downgrade(&self.pending), self.cfg.clone()));
        let mut queued = self.pending.topics.lock().unwrap_or_else(|e| e.into_inner());
        let was_empty = queued.is_empty();
        for t in topics {
            if queued.len() < MAX_PENDING {
                queued.insert(*t);
            }
        }
        if was_empty {
            self.pending.ready.notify_one();
        }
    }
}

impl Pending {
    /// Everything queued, waiting up to `idle` for the first.
    fn take(&self, idle: Duration) -> BTreeSet<Topic> {
        let mut queued = self.topics.lock().unwrap_or_else(|e| e.into_inner());
        if queued.is_empty() {
            queued = self.ready.wait_timeout(queued, idle).unwrap_or_else(|e| e.into_inner()).0;
        }
        std::mem::take(&mut *queued)
    }
}

fn spawn(pending: Weak<Pending>, cfg: RegistryConfig) {
    let spawned = std::thread::Builder::new().name("cache-publish".into()).spawn(move || run(pending, cfg));
    if let Err(e) = spawned {
        log::error!(target: "cache", "cannot start the change feed's publisher: {e}; changes go unannounced");
    }
}

/// Publishes what is queued, one message at a time, until the queue goes.
fn run(pending: Weak<Pending>, cfg: RegistryConfig) {
    let mut con: Option<redis::Connection> = None;
    loop {
        let Some(p) = pending.upgrade() else { return };
        let topics = p.take(Duration::from_secs(1));
        drop(p);
        if topics.is_empty() {
            continue;
        }
        let message = topics.iter().map(Topic::name).collect::<Vec<_>>().join(" ");
        if let Err(e) = publish(&mut con, &cfg, &message) {
            con = None;
            log::debug!(target: "cache", "change feed: cannot announce {message}: {e}");
        }
        std::thread::sleep(GAP);
    }
}

fn publish(con: &mut Option<redis::Connection>, cfg: &RegistryConfig, message: &str) -> redis::RedisResult<()> {
    if con.is_none() {
        let client = crate::primary(cfg)?;
        let c = client.get_connection_with_timeout(TIMEOUT)?;
        c.set_read_timeout(Some(TIMEOUT))?;
        c.set_write_timeout(Some(TIMEOUT))?;
        *con = Some(c);
    }
    let Some(c) = con.as_mut() else { return Ok(()) };
    redis::cmd("PUBLISH").arg(crate::feed::channel(cfg)).arg(message).query::<i64>(c).map(|_| ())
}
