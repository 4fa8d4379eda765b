//! Every limit the product puts on one user or one client address, in one
//! table: the posting limits, the sign-up limit and the failed-login
//! throttles.
//!
//! The services that enforce a limit and the balancers that show it in
//! `/metrics` (`stackwire_limit{name,per,window_seconds}`) read the same
//! table, so an operator looks in one place. Each maximum may be changed for
//! a process with `STACKWIRE_LIMIT_<NAME>` (a whole number ≥ 1, read once at
//! start: [`init`]); set it for every process, as `start_all.sh` does with
//! its environment. A benchmark that needs to post faster than a person
//! raises the posting limits this way and says so. The windows are fixed.
//!
//! The state behind each limit is kept in PostgreSQL (the posts themselves,
//! `users.signup_address`, `login_throttle`), never in one process's memory,
//! so a limit holds across every instance and across restarts.

use std::sync::OnceLock;
use std::time::Duration;

/// One limit: at most `max` events per `per` within `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// As shown in `/metrics`, and (uppercased) in `STACKWIRE_LIMIT_<NAME>`.
    pub name: &'static str,
    /// What one count belongs to: `user` or `address` (a client IP), or
    /// `username` (a login name, whether or not it exists).
    pub per: &'static str,
    pub default: u32,
    pub window: Duration,
}

pub const QUESTIONS: Limit =
    Limit { name: "questions_per_user", per: "user", default: 2, window: Duration::from_secs(60) };
pub const ANSWERS: Limit =
    Limit { name: "answers_per_user", per: "user", default: 10, window: Duration::from_secs(60) };
pub const COMMENTS: Limit =
    Limit { name: "comments_per_user", per: "user", default: 10, window: Duration::from_secs(60) };
pub const SIGNUPS: Limit =
    Limit { name: "signups_per_address", per: "address", default: 10, window: Duration::from_secs(3600) };
/// Failed logins for one username before each further attempt must wait.
pub const LOGIN_FAILURES_USERNAME: Limit =
    Limit { name: "login_failures_per_username", per: "username", default: 5, window: Duration::from_secs(900) };
/// Failed logins from one address (higher: many people may share one).
pub const LOGIN_FAILURES_ADDRESS: Limit =
    Limit { name: "login_failures_per_address", per: "address", default: 20, window: Duration::from_secs(900) };

/// Every limit, in the order `/metrics` lists them.
pub const ALL: [Limit; 6] = [QUESTIONS, ANSWERS, COMMENTS, SIGNUPS, LOGIN_FAILURES_USERNAME, LOGIN_FAILURES_ADDRESS];

/// Past a login limit, the wait before the next attempt: this, doubled for
/// every further failure, up to [`LOGIN_MAX_DELAY`].
pub const LOGIN_FIRST_DELAY: Duration = Duration::from_secs(1);
pub const LOGIN_MAX_DELAY: Duration = Duration::from_secs(900);

/// How long one more login must wait after `failures` failures (counted in
/// the window) under a limit of `max`: nothing below the limit, then
/// [`LOGIN_FIRST_DELAY`] doubling per failure, at most [`LOGIN_MAX_DELAY`].
pub fn login_delay(failures: u32, max: u32) -> Duration {
    if failures < max {
        return Duration::ZERO;
    }
    let doublings = (failures - max).min(20);
    (LOGIN_FIRST_DELAY * 2u32.pow(doublings)).min(LOGIN_MAX_DELAY)
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{var}={value:?} is not a whole number from 1 to 1000000")]
pub struct LimitError {
    pub var: String,
    pub value: String,
}

static VALUES: OnceLock<[u32; ALL.len()]> = OnceLock::new();

impl Limit {
    /// `STACKWIRE_LIMIT_QUESTIONS_PER_USER` and so on.
    pub fn env_var(&self) -> String {
        format!("STACKWIRE_LIMIT_{}", self.name.to_ascii_uppercase())
    }

    /// The maximum in force in this process.
    pub fn max(&self) -> u32 {
        let i = ALL.iter().position(|l| l.name == self.name).unwrap_or(0);
        VALUES.get().map_or(self.default, |v| v[i])
    }
}

/// The maxima from `vars` (the environment), defaults for those not set.
pub fn parse(vars: impl Fn(&str) -> Option<String>) -> Result<[u32; ALL.len()], LimitError> {
    let mut out = [0u32; ALL.len()];
    for (slot, limit) in out.iter_mut().zip(ALL.iter()) {
        let var = limit.env_var();
        *slot = match vars(&var) {
            None => limit.default,
            Some(value) => match value.trim().parse::<u32>() {
                Ok(n) if (1..=1_000_000).contains(&n) => n,
                _ => return Err(LimitError { var, value }),
            },
        };
    }
    Ok(out)
}

/// Reads the maxima from the environment once, at start; a bad value is
/// the operator's to fix (the caller exits naming it). Later calls keep the
/// first result.
pub fn init() -> Result<(), LimitError> {
    let values = parse(|k| std::env::var(k).ok())?;
    let _ = VALUES.set(values);
    Ok(())
}

/// The limits in the Prometheus text format, for `/metrics`.
pub fn render_prometheus(out: &mut String) {
    use std::fmt::Write;
    let _ = writeln!(
        out,
        "# HELP stackwire_limit The most events allowed per user, address or username within the window."
    );
    let _ = writeln!(out, "# TYPE stackwire_limit gauge");
    for l in ALL {
        let _ = writeln!(
            out,
            "stackwire_limit{{name=\"{}\",per=\"{}\",window_seconds=\"{}\"}} {}",
            l.name,
            l.per,
            l.window.as_secs(),
            l.max()
        );
    }
}
