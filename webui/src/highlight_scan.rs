//! What every scanner of the highlighter shares: the output under
//! construction ([`Out`], which escapes every byte it is given, the one
//! safety rule of `highlight`), and where an identifier, a string or a
//! number ends. The C-family scanner (`highlight`) and the data and markup
//! scanners (`highlight_langs`) both read code with these.

use crate::html::escape;

/// Highlighted output under construction: adjacent pieces of one class
/// share one span.
pub struct Out {
    html: String,
    open: Option<&'static str>,
}

impl Out {
    pub(crate) fn new(len: usize) -> Out {
        Out { html: String::with_capacity(len + len / 2), open: None }
    }

    /// Appends `text` (escaped) in `class` (`None`: no span).
    pub fn push(&mut self, class: Option<&'static str>, text: &str) {
        if text.is_empty() {
            return;
        }
        if self.open != class {
            if self.open.is_some() {
                self.html.push_str("</span>");
            }
            if let Some(c) = class {
                self.html.push_str("<span class=\"");
                self.html.push_str(c);
                self.html.push_str("\">");
            }
            self.open = class;
        }
        self.html.push_str(&escape(text));
    }

    pub(crate) fn finish(mut self) -> String {
        if self.open.is_some() {
            self.html.push_str("</span>");
        }
        self.html
    }
}

/// Whether byte `b` may be part of an identifier (non-ASCII counts: the
/// scanner only ever splits at ASCII bytes, so slices stay on char
/// boundaries).
pub fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

/// The end of the run of identifier bytes (and `extra`) from `i`.
pub fn ident_end(b: &[u8], mut i: usize, extra: &[u8]) -> usize {
    while i < b.len() && (is_ident(b[i]) || extra.contains(&b[i])) {
        i += 1;
    }
    i
}

/// The end of a quoted string opened at `i` by `quote` (one or more bytes):
/// just after its closing quote, or at the end of the line (or input, for
/// `multiline`) when it is not closed. `escapes`: a backslash escapes the
/// next byte; `doubled`: two quotes in a row are one (SQL).
pub fn string_end(b: &[u8], i: usize, quote: &[u8], escapes: bool, doubled: bool, multiline: bool) -> usize {
    let mut j = i + quote.len();
    while j < b.len() {
        if escapes && b[j] == b'\\' {
            j += 2;
            continue;
        }
        if b[j..].starts_with(quote) {
            if doubled && b[j + quote.len()..].starts_with(quote) {
                j += 2 * quote.len();
                continue;
            }
            return j + quote.len();
        }
        if b[j] == b'\n' && !multiline {
            return j;
        }
        j += 1;
    }
    b.len()
}

/// The end of a number starting at `i`: digits, letters (hex digits,
/// suffixes, exponents), `_`, and a `.` followed by a digit.
pub fn number_end(b: &[u8], mut i: usize) -> usize {
    while i < b.len() {
        let c = b[i];
        let exponent_sign = (c == b'+' || c == b'-') && i > 0 && matches!(b[i - 1], b'e' | b'E') && !hex_before(b, i);
        let fraction = c == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit);
        if !(c.is_ascii_alphanumeric() || c == b'_' || exponent_sign || fraction) {
            break;
        }
        i += 1;
    }
    i
}

/// Whether the number that `b[..i]` ends in is hexadecimal (its `e` is a digit).
fn hex_before(b: &[u8], i: usize) -> bool {
    let start = b[..i].iter().rposition(|c| !(c.is_ascii_alphanumeric() || *c == b'_')).map_or(0, |p| p + 1);
    b[start..i].starts_with(b"0x") || b[start..i].starts_with(b"0X")
}
