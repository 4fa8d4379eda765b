//! The change feed: the names of the topics bumped are published on
//! `{prefix}:changes` (several bumps to a message, see `publish`), and every
//! process holding stores listens and drops the values of those topics.
//!
//! Redis pub/sub loses what is published while a listener is disconnected,
//! so each (re)subscription empties the stores it serves: whatever they held
//! may have changed unannounced. The feed only tidies (the stamps checked on
//! every read are what make a read right), so a listener that is slow or
//! away costs memory held a little longer, never a stale page.

use crate::Topic;
use registry_agent::RegistryConfig;
use std::sync::Arc;
use std::time::Duration;

/// What the feed drives.
pub trait Invalidate: Send + Sync {
    /// Drops every value depending on one of `topics`.
    fn invalidate(&self, topics: &[Topic]);
    /// Drops everything.
    fn clear(&self);
}

/// The channel bumps are announced on.
pub fn channel(cfg: &RegistryConfig) -> String {
    format!("{}:changes", cfg.prefix)
}

/// Listens on a thread of its own for as long as the process runs.
pub fn start(cfg: RegistryConfig, targets: Vec<Arc<dyn Invalidate>>) {
    let spawned = std::thread::Builder::new().name("cache-feed".into()).spawn(move || loop {
        if let Err(e) = listen(&cfg, &targets) {
            log::debug!(target: "cache", "change feed lost: {e}");
        }
        std::thread::sleep(Duration::from_millis(200));
    });
    if let Err(e) = spawned {
        log::error!(target: "cache", "cannot start the change feed: {e}");
    }
}

fn listen(cfg: &RegistryConfig, targets: &[Arc<dyn Invalidate>]) -> redis::RedisResult<()> {
    let client = crate::primary(cfg)?;
    let mut con = client.get_connection_with_timeout(Duration::from_secs(1))?;
    let mut ps = con.as_pubsub();
    ps.subscribe(channel(cfg))?;
    ps.set_read_timeout(Some(Duration::from_secs(1)))?;
    // Whatever was announced while nobody listened is unknown: start clean.
    for t in targets {
        t.clear();
    }
    loop {
        match ps.get_message() {
            Ok(msg) => {
                let payload: String = msg.get_payload().unwrap_or_default();
                let topics: Vec<Topic> = payload.split_whitespace().filter_map(Topic::parse).collect();
                for t in targets {
                    t.invalidate(&topics);
                }
            }
            Err(e) if e.is_timeout() => {}
            Err(e) => return Err(e),
        }
    }
}
