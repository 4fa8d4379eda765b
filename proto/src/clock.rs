//! Wall-clock time as our logs and records print it.
//!
//! Two formats come from the original system: ISO-8601 with milliseconds in UTC
//! for worker logs (`2018-11-22T00:57:10.560Z`) and Common Log Format for the
//! access log (`21/Nov/2018:19:57:10 +0000`). We print UTC in both so that lines
//! from every process sort and compare without a time-zone database.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// Days since 1970-01-01 to (year, month 1-12, day 1-31); Howard Hinnant's civil_from_days.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

struct Parts {
    year: i64,
    month: u32,
    day: u32,
    hour: i64,
    min: i64,
    sec: i64,
    milli: i64,
}

fn parts(ms: i64) -> Parts {
    let secs = ms.div_euclid(1000);
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    Parts { year, month, day, hour: sod / 3600, min: sod % 3600 / 60, sec: sod % 60, milli: ms.rem_euclid(1000) }
}

/// `2018-11-22T00:57:10.560Z`
pub fn iso8601(ms: i64) -> String {
    let p = parts(ms);
    format!("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", p.year, p.month, p.day, p.hour, p.min, p.sec, p.milli)
}

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// `21/Nov/2018:19:57:10 +0000`
pub fn clf(ms: i64) -> String {
    let p = parts(ms);
    format!(
        "{:02}/{}/{:04}:{:02}:{:02}:{:02} +0000",
        p.day,
        MONTHS[(p.month - 1) as usize],
        p.year,
        p.hour,
        p.min,
        p.sec
    )
}

#[cfg(test)]
#[path = "../tests/unit/clock.rs"]
mod tests;
