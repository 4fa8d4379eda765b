//! What an event loop lends every connection it drives: the time of this
//! iteration, the timeouts, the loop's access-log buffer, and whether the
//! loop is draining. The loop owns one `Env`, updates it in place (`now`
//! once per iteration, `draining` once) and passes `&mut` to whatever it
//! drives, so nothing assembles a bundle of borrows per call.

use crate::ops::access_log::AccessLog;
use std::time::{Duration, Instant};

/// Timeouts every connection obeys.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
    pub upstream_timeout: Duration,
}

pub struct Env {
    pub now: Instant,
    pub limits: Limits,
    pub access: AccessLog,
    pub draining: bool,
}
