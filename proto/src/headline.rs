//! How a search headline marks its matches on the wire (`Question.headline_title`
//! and `headline_body`): U+0001 before a matched word, U+0002 after it.
//!
//! The question service takes both characters out of the text before
//! PostgreSQL's `ts_headline` cuts the snippet, so in a headline they can
//! only be marks; the webui escapes the whole headline as text and only then
//! turns each mark into `<mark>`/`</mark>`. Nothing the database returns is
//! ever used as markup. Both sides read the two characters from here.

pub const MARK_START: char = '\u{1}';
pub const MARK_STOP: char = '\u{2}';
