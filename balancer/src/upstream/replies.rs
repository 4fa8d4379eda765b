//! The RPC connections whose replies this loop reads.
//!
//! In registry mode every call leaves on a multiplexed connection to an
//! instance (`proto::Connection`), and its reply used to be read by that
//! connection's own thread, which then woke the loop to answer the client:
//! two wake-ups per request. The balancer names its loops as the readers
//! (`proto::rpc_client::read_on`, in `main`): each connection's reading
//! side (`proto::Replies`) comes to a loop in a message, joins its poll
//! under a token of its own, and is read there when the kernel reports it
//! readable; the completions run on the loop, and a reply for this loop's
//! client is answered in the same turn. Connections are spread over the
//! loops in turn; whoever sent a call (the loop or a worker) does not
//! matter, as each connection's replies are read in one place.
//!
//! A connection that ends (`Replies::read_ready` says so) is deregistered
//! and dropped here; its callers have been told by then. A loop that stops
//! drops those it holds, which fails whatever calls they still wait on.

use crate::upstream::workers::Notifier;
use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};
use proto::Replies;
use slab::Slab;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Connection `j` has token `BASE + j` (above the static proxy's upstreams,
/// below the listeners).
pub(crate) const BASE: usize = 1 << 41;

/// The connections one loop reads.
#[derive(Default)]
pub(crate) struct Hosted {
    readers: Slab<Replies>,
}

impl Hosted {
    /// Takes a connection's reading into `registry`'s poll, and reads what
    /// came before it arrived.
    pub(crate) fn adopt(&mut self, registry: &Registry, replies: Replies) {
        let slot = self.readers.vacant_entry();
        let j = slot.key();
        if let Err(e) = registry.register(&mut SourceFd(&replies.fd()), Token(BASE + j), Interest::READABLE) {
            // Dropping it ends the connection: its callers hear at once,
            // and the pool dials again.
            log::warn!(target: "balancer", "cannot watch an RPC connection: {e}; closing it");
            return;
        }
        slot.insert(replies);
        self.readable(registry, j);
    }

    /// Connection `j` is readable: its replies, then its end if it ended.
    pub(crate) fn readable(&mut self, registry: &Registry, j: usize) {
        let Some(replies) = self.readers.get_mut(j) else { return };
        if !replies.read_ready() {
            let replies = self.readers.remove(j);
            let _ = registry.deregister(&mut SourceFd(&replies.fd()));
        }
    }
}

/// Names `loops` the readers of every RPC connection this process dials
/// (each connection to the next loop in turn), and of those already open;
/// once per process (`false` if readers were named already).
pub fn read_on(loops: Vec<Notifier>) -> bool {
    if loops.is_empty() {
        return false;
    }
    let turn = AtomicUsize::new(0);
    proto::rpc_client::read_on(Box::new(move |replies| {
        loops[turn.fetch_add(1, Ordering::Relaxed) % loops.len()].host(replies)
    }))
}
