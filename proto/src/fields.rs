//! The wire facts about a post's fields, written once for every side: the
//! length limits of titles, bodies, tags, usernames and passwords, the
//! characters a tag or username may hold, and the orders a question list can
//! have.
//!
//! The services enforce these (services/src/fields.rs turns them into
//! messages naming the field) and the webui checks the same limits before a
//! round trip and prints them as `maxlength` attributes; both read the
//! numbers from here, so a limit changed here changes everywhere at once.
//! PostgreSQL repeats the text limits as CHECK constraints (the migrations
//! are the one other place that must agree).
//!
//! `ListQuestions.sort` stays a `string` on the wire (`newest`, `active`,
//! `votes`, `unanswered`; empty means newest), so clients written against the
//! proto keep working; [`Sort`] is the one Rust spelling of those names.
//! [`Authored`] marks the create requests whose author and idempotency key
//! the server side of each hop fills in.
//! Lengths are counted in Unicode characters after trimming, except where a
//! rule says bytes (tags and usernames are ASCII, so it is the same count).

/// A question's title, in characters.
pub const TITLE_MAX: usize = 200;
/// A question's body, in characters.
pub const QUESTION_BODY_MAX: usize = 30_000;
/// An answer's body, in characters.
pub const ANSWER_BODY_MAX: usize = 30_000;
/// A comment's body, in characters.
pub const COMMENT_BODY_MAX: usize = 600;
/// Tags on one question (at least one).
pub const TAGS_MAX: usize = 5;
/// One tag, in characters (all ASCII: see [`is_tag_char`]).
pub const TAG_CHARS_MAX: usize = 35;
/// A username's bounds, in characters (all ASCII: see [`is_username_char`]).
pub const USERNAME_MIN: usize = 3;
pub const USERNAME_MAX: usize = 30;
/// A password's bounds, in characters, exactly as typed.
pub const PASSWORD_MIN: usize = 8;
pub const PASSWORD_MAX: usize = 200;
/// An idempotency key's length in bytes (printable ASCII, 0x21–0x7E).
pub const IDEMPOTENCY_KEY_MAX: usize = 100;
/// Questions per page when `ListQuestions.per_page` is 0, and the most it may ask for.
pub const DEFAULT_PER_PAGE: u32 = 20;
pub const MAX_PER_PAGE: u32 = 100;

/// A create request whose author and idempotency key are not the client's
/// to choose in the body: the services set them from the credential and the
/// `Idempotency-Key` header, the webui from its session and the form's
/// hidden key. One setter, so no side forgets one of the two.
pub trait Authored {
    fn sign(&mut self, author_id: i64, idempotency_key: String);
}

/// The create messages, whose fields `author_id` and `idempotency_key`
/// have the same names in each.
macro_rules! authored {
    ($($message:ty),*) => {$(
        impl Authored for $message {
            fn sign(&mut self, author_id: i64, idempotency_key: String) {
                (self.author_id, self.idempotency_key) = (author_id, idempotency_key);
            }
        }
    )*};
}
authored!(crate::pb::CreateQuestion, crate::pb::CreateAnswer, crate::pb::CreateComment);

/// A character a (lowercased) tag may hold: `a-z 0-9 + # . -`.
pub fn is_tag_char(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'+' | b'#' | b'.' | b'-')
}

/// A character a username may hold: `A-Z a-z 0-9 _ . -`.
pub fn is_username_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-')
}

/// An idempotency key a client may send: 1 to [`IDEMPOTENCY_KEY_MAX`]
/// visible ASCII characters (0x21–0x7E), safe in a header, a log line and a column.
pub fn is_idempotency_key(key: &str) -> bool {
    !key.is_empty() && key.len() <= IDEMPOTENCY_KEY_MAX && key.bytes().all(|b| b.is_ascii_graphic())
}

/// The orders a question list can have (`ListQuestions.sort`, `?sort=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    /// Newest first (the default).
    Newest,
    /// Most recent activity (asked, answered, commented, edited) first.
    Active,
    /// Highest score first, newest first among equals.
    Votes,
    /// Questions without answers, newest first.
    Unanswered,
}

impl Sort {
    /// Every order, in the order the list's tabs show them.
    pub const ALL: [Sort; 4] = [Sort::Newest, Sort::Active, Sort::Votes, Sort::Unanswered];

    /// The order named exactly `name` on the wire; `""` is the default.
    /// Callers decide about surrounding whitespace and word their own error.
    pub fn from_name(name: &str) -> Option<Sort> {
        match name {
            "" => Some(Sort::Newest),
            _ => Sort::ALL.into_iter().find(|s| s.as_str() == name),
        }
    }

    /// The name in URLs and in `ListQuestions.sort`.
    pub fn as_str(self) -> &'static str {
        match self {
            Sort::Newest => "newest",
            Sort::Active => "active",
            Sort::Votes => "votes",
            Sort::Unanswered => "unanswered",
        }
    }
}
