//! Idempotency keys, as Stripe and the IETF `Idempotency-Key` draft define
//! them, for the three creates (question, answer, comment).
//!
//! A client sends `Idempotency-Key` with a create so it can repeat the create
//! after losing the reply. Per author, a key means one request for 24 hours:
//! - the same key with the same request (same kind of post, same fields) is
//!   answered with the post it first made (201, `Idempotent-Replayed: true`),
//!   and never makes a second one, nor counts against a posting limit;
//! - the same key with a different request is 422 (FAILED_PRECONDITION):
//!   the client reused a key by mistake, and silently answering with another
//!   post would hide that;
//! - the same key while its first request is still being processed is 409
//!   (ABORTED): retry later, when the first has finished one way or the other;
//! - after 24 hours the key is forgotten and means a new request.
//!
//! "In flight" is a transaction-scoped advisory lock on the key, taken first
//! thing in the create's transaction and never waited for: it is released by
//! commit, rollback, or the database noticing a dead connection, so a crashed
//! first attempt can never leave its key stuck. The record of what a key made
//! is written in the same transaction as the post, so there is no moment at
//! which a post exists and its key does not (or the reverse).
//!
//! The fingerprint is a SHA-256 over the kind of post and its fields as they
//! will be stored (trimmed), so a harmless difference in surrounding
//! whitespace is the same request.

use crate::infra::sql::Tx;
use crate::store::idempotency::{self as store, Made};
use proto::{Code, Status};
use sha2::{Digest, Sha256};

/// How long a key means its first request.
pub const TTL_SECS: i64 = 24 * 3600;

/// The fingerprint of a create: `target` and its fields, each length-prefixed
/// so that no two different field lists hash alike.
pub fn fingerprint(target: &str, fields: &[&str]) -> String {
    let mut h = Sha256::new();
    for part in std::iter::once(target).chain(fields.iter().copied()) {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// A create's key, once held: record what it made with [`Key::made`].
pub struct Key {
    author: i64,
    key: String,
    target: &'static str,
    fingerprint: String,
}

/// What the key says before the create runs.
pub enum Verdict {
    /// No key, or a key not seen (in 24 h): create, then record.
    Create(Option<Key>),
    /// The key already made this post: answer with it.
    Replay(i64),
}

/// Takes hold of `key` for this transaction and says what it means (see the
/// module comment). Runs first in the create's transaction, before anything
/// that could wait for the first request.
pub fn check(
    tx: &mut Tx<'_>,
    author: i64,
    key: Option<&str>,
    target: &'static str,
    fingerprint: String,
) -> Result<Verdict, Status> {
    let Some(key) = key else { return Ok(Verdict::Create(None)) };
    if !store::try_hold(tx, author, key)? {
        return Err(Status::new(
            Code::Aborted,
            "a request with this Idempotency-Key is still being processed; retry it once that one has finished",
        ));
    }
    match store::find(tx, author, key, TTL_SECS)? {
        // Keys carried over from before fingerprints (migration 3) match any request.
        Some(m) if m.target == target && (m.fingerprint.is_empty() || m.fingerprint == fingerprint) => {
            Ok(Verdict::Replay(m.post_id))
        }
        Some(m) => {
            log::info!(target: "posting", "Idempotency-Key of user {author} reused for another request (first: {} {})", m.target, m.post_id);
            Err(Status::new(
                Code::FailedPrecondition,
                "this Idempotency-Key was already used for a different request; send a new key for a new request",
            ))
        }
        None => Ok(Verdict::Create(Some(Key { author, key: key.to_string(), target, fingerprint }))),
    }
}

impl Key {
    /// Records that the key made `post_id`, in the create's transaction.
    pub fn made(self, tx: &mut Tx<'_>, post_id: i64) -> Result<(), Status> {
        let made = Made { fingerprint: self.fingerprint, target: self.target.to_string(), post_id };
        Ok(store::record(tx, self.author, &self.key, &made, TTL_SECS)?)
    }
}
