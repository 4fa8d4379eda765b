//! What a valid title, body, id or page number is, in one place.
//!
//! Both doors into a service use these rules: the typed RPC methods (called by
//! the webui) and the JSON webservice routes (called through the balancer). So
//! a title that is too long gets the same `400 {"error": "title must be 1 to
//! 200 characters"}` whichever way it came in, and the message always names the
//! field. Limits count Unicode characters after trimming surrounding
//! whitespace, and what is stored is the trimmed text; the database repeats the
//! limits as CHECK constraints, so a bug here cannot store what the contract
//! forbids.
//!
//! The numbers themselves are wire facts and live in `proto::fields`, which
//! the webui reads too; this file turns them into checks and messages.
//!
//! The account and product rules live here too: usernames (3–30 of
//! `[A-Za-z0-9_.-]`), passwords (8–200 characters, never trimmed: a space is
//! a character the user typed), tags (1–5 per question, each 1–35 of
//! `[a-z0-9+#.-]`, lowercased, given comma- or space-separated), the list
//! sorts, vote targets and directions, and idempotency keys.

use proto::fields as wire;
use proto::Status;

/// A text field and its upper bound in characters (the lower bound is 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextLimit {
    pub field: &'static str,
    pub max: usize,
}

pub const TITLE: TextLimit = TextLimit { field: "title", max: wire::TITLE_MAX };
pub const QUESTION_BODY: TextLimit = TextLimit { field: "body", max: wire::QUESTION_BODY_MAX };
pub const ANSWER_BODY: TextLimit = TextLimit { field: "body", max: wire::ANSWER_BODY_MAX };
pub const COMMENT_BODY: TextLimit = TextLimit { field: "body", max: wire::COMMENT_BODY_MAX };

pub use wire::{DEFAULT_PER_PAGE, MAX_PER_PAGE};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    #[error("{0} is required")]
    Missing(&'static str),
    #[error("{field} must be 1 to {max} characters")]
    Length { field: &'static str, max: usize },
    #[error("{0} must not contain NUL characters")]
    Nul(&'static str),
    #[error("{0} must be a string")]
    NotText(&'static str),
    #[error("{0} must be a positive integer")]
    NotPositive(&'static str),
    #[error("{field} must be 1 to {max}")]
    OutOfRange { field: &'static str, max: u32 },
    #[error("username must be {} to {} characters of A-Z a-z 0-9 _ . -", wire::USERNAME_MIN, wire::USERNAME_MAX)]
    Username,
    #[error("password must be {} to {} characters", wire::PASSWORD_MIN, wire::PASSWORD_MAX)]
    Password,
    #[error("tags must hold 1 to {} tags, separated by spaces or commas", wire::TAGS_MAX)]
    TagCount,
    #[error("tag {0:?} must be 1 to {max} characters of a-z 0-9 + # . -", max = wire::TAG_CHARS_MAX)]
    Tag(String),
    #[error("sort must be newest, active, votes or unanswered, not {0:?}")]
    Sort(String),
    #[error("target must be question or answer")]
    Target,
    #[error("direction must be up or down")]
    Direction,
    #[error("Idempotency-Key must be 1 to 100 printable ASCII characters")]
    IdempotencyKey,
    /// A form field or query parameter that could not be decoded (not
    /// UTF-8, a NUL, not a page number); the message names it.
    #[error("{0}")]
    Form(#[from] proto::http::FormError),
}

impl From<FieldError> for Status {
    fn from(e: FieldError) -> Status {
        Status::invalid(e.to_string())
    }
}

pub use wire::TAGS_MAX as MAX_TAGS;

/// Trims `raw` and checks it against `limit`; returns the text to store.
pub fn clean_text(limit: TextLimit, raw: &str) -> Result<String, FieldError> {
    let text = raw.trim();
    check_no_nul(limit.field, text)?;
    let n = text.chars().count();
    if n == 0 || n > limit.max {
        return Err(FieldError::Length { field: limit.field, max: limit.max });
    }
    Ok(text.to_string())
}

/// An id given as text (a form field or path segment): decimal digits only,
/// optionally surrounded by whitespace, greater than zero, within i64.
pub fn parse_id(field: &'static str, raw: &str) -> Result<i64, FieldError> {
    let s = raw.trim();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FieldError::NotPositive(field));
    }
    match s.parse::<i64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(FieldError::NotPositive(field)),
    }
}

/// An id given as a number (a protobuf field or JSON number).
pub fn check_id(field: &'static str, id: i64) -> Result<i64, FieldError> {
    if id > 0 {
        Ok(id)
    } else {
        Err(FieldError::NotPositive(field))
    }
}

/// "question 7 does not exist", a NOT_FOUND.
pub fn not_found(what: &str, id: i64) -> Status {
    Status::not_found(format!("{what} {id} does not exist"))
}

/// A lookup of the `what` (question, answer) with id `id`: the NOT_FOUND it
/// answers when there is no such row ("question 7 does not exist"), or
/// that NOT_FOUND at once when `id` ≤ 0, which names nothing (no query).
pub fn lookup(what: &'static str, id: i64) -> Result<impl Fn() -> Status + Copy, Status> {
    let missing = move || not_found(what, id);
    if id <= 0 {
        return Err(missing());
    }
    Ok(missing)
}

/// The page and page size of a typed list request: 0 means "not given"
/// (proto3 has no absent numbers), so page 0 is page 1 and per_page 0 is the
/// default; past [`proto::http::MAX_PAGE`] is out of range, as over HTTP.
pub fn page_window(page: u32, per_page: u32) -> Result<(u32, u32), FieldError> {
    let page = check_page("page", page)?;
    let per_page = match per_page {
        0 => DEFAULT_PER_PAGE,
        n if n <= MAX_PER_PAGE => n,
        _ => return Err(FieldError::OutOfRange { field: "per_page", max: MAX_PER_PAGE }),
    };
    Ok((page, per_page))
}

/// A page number from a typed request: 0 (not given) is page 1, and no
/// page lies past [`proto::http::MAX_PAGE`] (the HTTP rule, `page_param`).
pub fn check_page(field: &'static str, page: u32) -> Result<u32, FieldError> {
    if page > proto::http::MAX_PAGE {
        return Err(FieldError::OutOfRange { field, max: proto::http::MAX_PAGE });
    }
    Ok(page.max(1))
}

/// Refuses text that holds a NUL: PostgreSQL text cannot store one, so it
/// must be the caller's 400 here rather than a database error later.
pub fn check_no_nul(field: &'static str, text: &str) -> Result<(), FieldError> {
    if text.contains('\0') {
        Err(FieldError::Nul(field))
    } else {
        Ok(())
    }
}

/// A username as typed (surrounding whitespace ignored).
pub fn check_username(raw: &str) -> Result<String, FieldError> {
    let name = raw.trim();
    let ok =
        (wire::USERNAME_MIN..=wire::USERNAME_MAX).contains(&name.len()) && name.bytes().all(wire::is_username_char);
    if ok {
        Ok(name.to_string())
    } else {
        Err(FieldError::Username)
    }
}

/// A password: 8 to 200 characters, exactly as typed.
pub fn check_password(raw: &str) -> Result<&str, FieldError> {
    if (wire::PASSWORD_MIN..=wire::PASSWORD_MAX).contains(&raw.chars().count()) && !raw.contains('\0') {
        Ok(raw)
    } else {
        Err(FieldError::Password)
    }
}

/// One tag, lowercased.
pub fn check_tag(raw: &str) -> Result<String, FieldError> {
    let tag = raw.trim().to_lowercase();
    let ok = (1..=wire::TAG_CHARS_MAX).contains(&tag.len()) && tag.bytes().all(wire::is_tag_char);
    if ok {
        Ok(tag)
    } else {
        Err(FieldError::Tag(raw.trim().chars().take(40).collect()))
    }
}

/// `"rust, borrow-checker  async"` → `["rust", "borrow-checker", "async"]`:
/// 1 to 5 distinct tags in the order given (a repeat is dropped, not an error).
pub fn parse_tags(raw: &str) -> Result<Vec<String>, FieldError> {
    let mut tags: Vec<String> = Vec::new();
    for piece in raw.split(|c: char| c == ',' || c.is_whitespace()).filter(|p| !p.is_empty()) {
        let tag = check_tag(piece)?;
        if !tags.contains(&tag) {
            if tags.len() == MAX_TAGS {
                return Err(FieldError::TagCount);
            }
            tags.push(tag);
        }
    }
    if tags.is_empty() {
        return Err(FieldError::TagCount);
    }
    Ok(tags)
}

/// The orders a question list can have: the wire's names, from `proto::fields`.
pub use proto::fields::Sort;

/// `""` is the default; anything unknown is an error naming the choices.
pub fn parse_sort(raw: &str) -> Result<Sort, FieldError> {
    let raw = raw.trim();
    Sort::from_name(raw).ok_or_else(|| FieldError::Sort(raw.chars().take(40).collect()))
}

/// What can be voted on, as stored in `votes.target`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Question,
    Answer,
}

impl Target {
    pub fn parse(raw: &str) -> Result<Target, FieldError> {
        match raw.trim() {
            "question" => Ok(Target::Question),
            "answer" => Ok(Target::Answer),
            _ => Err(FieldError::Target),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Target::Question => "question",
            Target::Answer => "answer",
        }
    }
}

/// `up` is +1, `down` is −1.
pub fn parse_direction(raw: &str) -> Result<i16, FieldError> {
    match raw.trim() {
        "up" => Ok(1),
        "down" => Ok(-1),
        _ => Err(FieldError::Direction),
    }
}

/// An idempotency key: `""` is none; otherwise 1 to 100 visible ASCII
/// characters (0x21–0x7E), so it is safe in a header, a log line and a column.
pub fn check_idempotency_key(raw: &str) -> Result<Option<String>, FieldError> {
    if raw.is_empty() {
        return Ok(None);
    }
    if wire::is_idempotency_key(raw) {
        Ok(Some(raw.to_string()))
    } else {
        Err(FieldError::IdempotencyKey)
    }
}

#[cfg(test)]
#[path = "../tests/unit/fields.rs"]
mod tests;
