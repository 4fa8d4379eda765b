//! The steps of the writes, each written once: `authored`, the one HTTP
//! create flow (authenticate, idempotency key, body, store, 201); `posting`,
//! the create transactions (with `idempotency` keys and the posting limits,
//! `ratelimit`);
//! `edits`, edits, revisions and accepting an answer. The services call
//! these; the SQL they run is in `store`.

pub(crate) mod authored;
pub(crate) mod edits;
pub(crate) mod idempotency;
pub(crate) mod posting;
