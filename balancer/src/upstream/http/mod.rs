//! Static HTTP upstreams (`--upstream`), driven by the event loop itself:
//! `backends` (the upstream list, its health and retry budget), `ewma`
//! (which one to use), `proxy` (pool, dial, retries, deadlines) and
//! `upconn` (one non-blocking upstream connection).

pub(crate) mod backends;
pub(crate) mod ewma;
pub(crate) mod proxy;
pub(crate) mod upconn;

pub use backends::{HttpCatalog, HttpUpstreams};
