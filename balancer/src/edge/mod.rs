//! The client side: listening sockets, the event loops that own the client
//! connections, and each connection's state machine.
//!
//! `loops` starts one event loop per core on listeners from `listen`;
//! `event_loop` polls, accepts, keeps the timers and dispatches each framed
//! request (to the static proxy in `upstream::http`, or to the workers);
//! `conn` reads and frames a client's requests and `respond` writes the
//! answers back, in request order.

pub(crate) mod conn;
pub(crate) mod event_loop;
mod listen;
mod loops;
mod respond;

pub use conn::Limits;
pub use event_loop::{Settings, Shared};
pub use loops::start as start_loops;
