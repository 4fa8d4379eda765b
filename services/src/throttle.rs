//! Failed-login throttles and the sign-up limit: what one client may try,
//! whichever instance it reaches.
//!
//! **Logins.** Failures are counted per username (lowercased, whether or not
//! the account exists) and per client address, in PostgreSQL
//! ([`crate::store::throttle`]), over a window of 15 minutes. Below the limit
//! (`proto::limits`: 5 per username, 20 per address) nothing changes; past
//! it, each further attempt must wait 1 s after the last failure, doubling
//! with every further failure up to 15 minutes, and an attempt made too soon
//! is refused with RESOURCE_EXHAUSTED (HTTP 429 and `Retry-After`) before the
//! password is looked at, right or wrong. A successful login resets both
//! counters.
//!
//! An attempt is counted *before* its password is checked ([`begin_login`]
//! locks the counters, refuses or adds one, and commits): so attempts sent at
//! once to several instances are counted one after another and none slips
//! through between a check and its count; the success that follows takes the
//! count back ([`login_succeeded`]). Known and unknown usernames go through
//! exactly the same steps, so neither the reply, nor its timing, nor the
//! throttle tells which names exist.
//!
//! **Sign-ups** are counted per address over an hour, from
//! `users.signup_address`; the count is taken again under a per-address
//! advisory lock in the transaction that inserts, so parallel sign-ups from
//! one address cannot pass the limit together.
//!
//! A caller that gives no client address (a typed call from a test or a
//! tool) is throttled per username only.

use crate::infra::db::DbError;
use crate::infra::sql::{PgConn, Sql, Tx};
use crate::store::throttle as store;
use proto::limits::{self, Limit};
use proto::{Code, Status};
use std::net::SocketAddr;

/// The address a limit counts: the IP of `client_addr` (`ip:port`, as the
/// balancer passes it), or `None` when there is none.
pub fn client_address(client_addr: &str) -> Option<String> {
    let raw = client_addr.trim();
    if raw.is_empty() {
        return None;
    }
    match raw.parse::<SocketAddr>() {
        Ok(a) => Some(a.ip().to_string()),
        Err(_) => raw.parse::<std::net::IpAddr>().ok().map(|ip| ip.to_string()),
    }
}

/// A refusal a person can act on, with the wait for `Retry-After`
/// (`crate::ratelimit::retry_after` reads it back).
fn refusal(why: &str, wait_secs: u64) -> Status {
    let n = wait_secs.max(1);
    let unit = if n == 1 { "second" } else { "seconds" };
    Status::new(Code::ResourceExhausted, format!("{why}; try again in {n} {unit}"))
}

/// The counters one login attempt touches.
pub struct LoginKeys {
    keys: Vec<(&'static str, String, Limit)>,
}

impl LoginKeys {
    pub fn new(username: &str, address: Option<&str>) -> LoginKeys {
        let mut keys = vec![("username", username.to_lowercase(), limits::LOGIN_FAILURES_USERNAME)];
        if let Some(a) = address {
            keys.push(("address", a.to_string(), limits::LOGIN_FAILURES_ADDRESS));
        }
        LoginKeys { keys }
    }

    fn pairs(&self) -> Vec<(&str, &str)> {
        self.keys.iter().map(|(k, v, _)| (*k, v.as_str())).collect()
    }
}

/// Counts one login attempt, or refuses it when it comes too soon after
/// too many failures (see the module comment).
pub fn begin_login(conn: &mut PgConn, keys: &LoginKeys) -> Result<(), Status> {
    let mut tx = conn.transaction().map_err(DbError::from)?;
    let counters = store::lock(&mut tx, &keys.pairs())?;
    let mut next = Vec::with_capacity(counters.len());
    for ((kind, key, limit), c) in keys.keys.iter().zip(counters) {
        let ago = u64::try_from(c.ago_ms).unwrap_or(0);
        let failures = if ago > limit.window.as_millis() as u64 { 0 } else { c.failures };
        let delay = limits::login_delay(failures, limit.max()).as_millis() as u64;
        if delay > ago {
            log::info!(target: "User::Worker", "login refused: {failures} failures for this {kind} in the window");
            let what = if *kind == "username" { "this username" } else { "your address" };
            return Err(refusal(&format!("too many failed logins for {what}"), (delay - ago).div_ceil(1000)));
        }
        next.push((*kind, key.as_str(), failures + 1));
    }
    for (kind, key, failures) in next {
        store::set(&mut tx, kind, key, failures)?;
    }
    tx.commit().map_err(DbError::from)?;
    Ok(())
}

/// The attempt counted by [`begin_login`] succeeded: both counters reset.
pub fn login_succeeded(conn: &mut PgConn, keys: &LoginKeys) -> Result<(), Status> {
    Ok(store::reset(conn, &keys.pairs())?)
}

/// Whether `address` may sign up once more now; `tx` must hold
/// [`lock_signups`] when the answer is to be relied on for an insert.
pub fn check_signup(db: &mut impl Sql, address: &str) -> Result<(), Status> {
    let limit = limits::SIGNUPS;
    let max = i64::from(limit.max());
    let (count, wait) = store::recent_signups(db, address, limit.window.as_secs() as i64, max)?;
    if count >= max {
        log::info!(target: "User::Worker", "sign-up refused: {count} from one address in the window");
        let why = format!("you can sign up at most {max} accounts an hour from one address");
        return Err(refusal(&why, wait.max(1) as u64));
    }
    Ok(())
}

/// Serialises sign-ups from `address` until the transaction ends.
pub fn lock_signups(tx: &mut Tx<'_>, address: &str) -> Result<(), Status> {
    Ok(store::lock_signups(tx, address)?)
}
