//! Times as a person reads them: "asked 3 hours ago", with the exact moment
//! in the element's `title` (a tooltip) and `datetime`.
//!
//! A relative time depends on the clock, and a page that depends on the
//! clock cannot be both cached and byte-identical to a fresh render. The
//! rule here: every page is rendered against one *render time*, the
//! webui's clock when the request arrived **truncated to the minute**
//! ([`render_time`]), and every relative time on the page is relative to
//! it. The finest unit shown is the minute, so nothing on a page changes
//! within a minute: two renders of the same data in the same minute are
//! the same bytes, and a cache that keys its entries by the render minute
//! (or keeps them at most a minute) serves exactly what an uncached render
//! would have. A time in the future of the render time (another host's
//! clock a little ahead) reads "just now", never "in 2 minutes".
//! Beyond 30 days the date itself is shown ("on 2024-11-22"): it never
//! changes again, so old posts' pages stay cacheable however long.

use crate::html::escape;

/// One minute in milliseconds: the finest unit shown, and the render clock's tick.
pub const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;
const DAY_MS: i64 = 24 * HOUR_MS;
/// Older than this, the date is shown instead of a count of days.
const RELATIVE_DAYS: i64 = 30;

/// The render time for a request that arrives at `now_ms`: the start of its minute.
pub fn render_time(now_ms: i64) -> i64 {
    now_ms - now_ms.rem_euclid(MINUTE_MS)
}

fn units(n: i64, one: &str, many: &str) -> String {
    format!("{n} {} ago", if n == 1 { one } else { many })
}

/// "just now", "5 min ago", "1 hour ago", "yesterday", "12 days ago", or
/// "on 2024-11-22" for `ms` seen from `now_ms` (0: no render time, the date).
pub fn relative(ms: i64, now_ms: i64) -> String {
    let age = now_ms.saturating_sub(ms);
    if now_ms <= 0 || age >= RELATIVE_DAYS * DAY_MS {
        let iso = proto::clock::iso8601(ms);
        return format!("on {}", iso.get(..10).unwrap_or(&iso));
    }
    match age {
        a if a < MINUTE_MS => "just now".to_string(),
        a if a < HOUR_MS => units(a / MINUTE_MS, "min", "mins"),
        a if a < DAY_MS => units(a / HOUR_MS, "hour", "hours"),
        a if a < 2 * DAY_MS => "yesterday".to_string(),
        a => units(a / DAY_MS, "day", "days"),
    }
}

/// The exact moment as a tooltip shows it: `2018-11-22 00:57:10 UTC`.
pub fn exact(ms: i64) -> String {
    let iso = proto::clock::iso8601(ms);
    format!("{} UTC", iso.get(..19).unwrap_or(&iso).replacen('T', " ", 1))
}

/// A `<time>` element: the relative time as text, the exact moment in
/// `title` and (machine-readable) in `datetime`.
pub fn time(ms: i64, now_ms: i64) -> String {
    format!(
        "<time datetime=\"{}\" title=\"{}\">{}</time>",
        escape(&proto::clock::iso8601(ms)),
        escape(&exact(ms)),
        escape(&relative(ms, now_ms))
    )
}
