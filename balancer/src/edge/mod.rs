//! The client side: listening sockets, the event loops that own the client
//! connections, and each connection's state machine.
//!
//! `loops` starts one event loop per core on listeners from `listen`;
//! `event_loop` polls, accepts, keeps the timers and dispatches each framed
//! request (to the static proxy in `upstream::http`, or to the workers);
//! `conn` reads and frames a client's requests and its `Reply` (`respond`)
//! writes the answers back, in request order. `env` is what a loop lends
//! every connection it drives; `readiness` is the socket bookkeeping shared
//! with the upstream connections.

pub(crate) mod conn;
pub(crate) mod env;
mod event_loop;
mod listen;
mod loops;
pub(crate) mod readiness;
mod respond;

pub use env::Limits;
pub use event_loop::{Settings, Shared};
pub use loops::start as start_loops;
