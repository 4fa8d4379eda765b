//! Failed-login counters and sign-up counts ([`crate::throttle`] decides).
//!
//! `login_throttle` holds one row per username and per client address that
//! failed recently; a row is locked (`FOR UPDATE`) while an attempt is
//! counted, so concurrent attempts on every instance are counted one after
//! the other. Rows lock in one order (address before username), so two
//! attempts never wait on each other in a cycle.

use crate::infra::db::DbError;
use crate::infra::sql::Sql;

/// One counter: `failures` in the current window, `ago_ms` since the last one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counter {
    pub failures: u32,
    pub ago_ms: i64,
}

/// Locks (creating when missing) the counters `(kind, key)`, returning them
/// in the order given. Must run inside a transaction.
pub fn lock(db: &mut impl Sql, keys: &[(&str, &str)]) -> Result<Vec<Counter>, DbError> {
    let mut sorted: Vec<(&str, &str)> = keys.to_vec();
    sorted.sort();
    let mut out = Vec::with_capacity(keys.len());
    for (kind, key) in &sorted {
        db.execute(
            "INSERT INTO login_throttle (kind, key, failures) VALUES ($1, $2, 0) ON CONFLICT DO NOTHING",
            &[kind, key],
        )?;
        let row = db.query_one(
            "SELECT failures, floor(extract(epoch FROM now() - last_failure) * 1000)::bigint
             FROM login_throttle WHERE kind = $1 AND key = $2 FOR UPDATE",
            &[kind, key],
        )?;
        out.push(((*kind, *key), Counter { failures: row.get::<_, i32>(0).max(0) as u32, ago_ms: row.get(1) }));
    }
    Ok(keys
        .iter()
        .map(|k| out.iter().find(|(s, _)| s == k).map(|(_, c)| *c).unwrap_or(Counter { failures: 0, ago_ms: 0 }))
        .collect())
}

/// Sets a counter to `failures`, failed just now.
pub fn set(db: &mut impl Sql, kind: &str, key: &str, failures: u32) -> Result<(), DbError> {
    db.execute(
        "UPDATE login_throttle SET failures = $3, last_failure = now() WHERE kind = $1 AND key = $2",
        &[&kind, &key, &(failures.min(i32::MAX as u32) as i32)],
    )?;
    Ok(())
}

/// Forgets the counters (a successful login), and counters nobody touched for a day.
pub fn reset(db: &mut impl Sql, keys: &[(&str, &str)]) -> Result<(), DbError> {
    for (kind, key) in keys {
        db.execute("DELETE FROM login_throttle WHERE kind = $1 AND key = $2", &[kind, key])?;
    }
    db.execute("DELETE FROM login_throttle WHERE last_failure < now() - interval '1 day'", &[])?;
    Ok(())
}

/// Serialises sign-ups from one address until the transaction ends.
pub fn lock_signups(db: &mut impl Sql, address: &str) -> Result<(), DbError> {
    db.execute("SELECT pg_advisory_xact_lock(hashtextextended('signup:' || $1, 0))", &[&address])?;
    Ok(())
}

/// Sign-ups from `address` within the last `window_secs`, and the seconds
/// until the oldest of the newest `max` leaves the window.
pub fn recent_signups(db: &mut impl Sql, address: &str, window_secs: i64, max: i64) -> Result<(i64, i64), DbError> {
    let row = db.query_one(
        "SELECT count(*), COALESCE(ceil(extract(epoch FROM min(created_at) + make_interval(secs => $2) - now())), 0)::bigint
         FROM (SELECT created_at FROM users WHERE signup_address = $1
               AND created_at > now() - make_interval(secs => $2) ORDER BY created_at DESC LIMIT $3) recent",
        &[&address, &(window_secs as f64), &max],
    )?;
    Ok((row.get(0), row.get(1)))
}

/// Records where a new account signed up from.
pub fn set_signup_address(db: &mut impl Sql, user_id: i64, address: &str) -> Result<(), DbError> {
    db.execute("UPDATE users SET signup_address = $2 WHERE id = $1", &[&user_id, &address])?;
    Ok(())
}
