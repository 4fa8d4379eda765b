//! A picture per user without a picture upload: a 5×5 identicon drawn from
//! a hash of the username, as GitHub and Stack Overflow draw theirs.
//!
//! It is inline SVG in the page itself, one `<path>` of unit squares: no
//! request, no route, nothing for the Content-Security-Policy to allow (an
//! inline `<svg>` element is markup, not a loaded resource) and nothing that
//! tells another server who reads the page. The grid is mirrored left to
//! right (15 free cells, one bit each) like the classic identicons, so it
//! reads as a shape rather than noise; the colour's hue comes from other
//! bits of the same hash. The hash is FNV-1a 64 of the lowercased name
//! (names are unique case-insensitively, so "Ann" and "ann" are one person
//! and one picture). It is not secret and need not be: it only has to be
//! stable across processes and releases, which std's `DefaultHasher` does
//! not promise.
//!
//! The SVG holds nothing the user typed: only numbers, so there is nothing
//! to escape.

use std::fmt::Write;

/// The grid is `SIDE × SIDE` cells.
const SIDE: u64 = 5;

/// FNV-1a, 64 bits.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
}

/// The hash an identicon is drawn from.
fn hash(username: &str) -> u64 {
    // One more mixing round: FNV's low bits change little between names
    // that differ in their last character, and the cells use the low bits.
    let h = fnv1a(&username.to_ascii_lowercase());
    (h ^ (h >> 29)).wrapping_mul(0xbf58_476d_1ce4_e5b9) ^ (h >> 32)
}

/// The filled cells, as (column, row), left half and middle column chosen
/// by bits, the right half mirrored.
fn cells(h: u64) -> Vec<(u64, u64)> {
    let half = SIDE.div_ceil(2);
    let mut out = Vec::new();
    for col in 0..half {
        for row in 0..SIDE {
            if h >> (col * SIDE + row) & 1 == 1 {
                out.push((col, row));
                if col != SIDE - 1 - col {
                    out.push((SIDE - 1 - col, row));
                }
            }
        }
    }
    if out.is_empty() {
        // One name in 32,768: a blank square would look like a missing picture.
        out.extend((0..SIDE).map(|row| (SIDE / 2, row)));
    }
    out
}

/// The identicon of `username`, `size` CSS pixels square; "" for a post
/// without an author.
pub fn svg(username: &str, size: u32) -> String {
    if username.is_empty() {
        return String::new();
    }
    let h = hash(username);
    let hue = (h >> 40) % 360;
    let mut d = String::new();
    for (col, row) in cells(h) {
        let _ = write!(d, "M{col} {row}h1v1h-1z");
    }
    format!(
        "<svg class=\"avatar\" width=\"{size}\" height=\"{size}\" viewBox=\"-0.5 -0.5 6 6\" aria-hidden=\"true\" shape-rendering=\"crispEdges\" \
         focusable=\"false\"><path fill=\"hsl({hue} 60% 48%)\" d=\"{d}\"/></svg>"
    )
}
