//! Reading and checking the forms the site accepts: ask and edit (title,
//! body, tags), answer, comment, sign-up and login.
//!
//! The services are the authority on what may be stored and check every field
//! themselves; we check the same limits first so that a user who left a field
//! empty gets their form back without a round trip, and so that a field we
//! already know is too long is never shipped across the network. The limits
//! and the wording of the messages are the public contract's, so a user sees
//! the same sentence whichever side caught the mistake.
//!
//! Lengths are counted in characters (Unicode scalar values) after trimming
//! leading and trailing whitespace, as the services count them. The limits
//! themselves are `proto::fields`', the one place both sides read them from.

use proto::fields::{
    is_tag_char, is_username_char, ANSWER_BODY_MAX, COMMENT_BODY_MAX, PASSWORD_MAX, PASSWORD_MIN, QUESTION_BODY_MAX,
    TAGS_MAX, TAG_CHARS_MAX, TITLE_MAX, USERNAME_MAX, USERNAME_MIN,
};
use proto::pb::HttpRequest;

/// The hidden field that makes a create safe to repeat (a double click, a resent form).
pub const IDEMPOTENCY_FIELD: &str = "idem";

/// Which input a message is about, so the page can mark that input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Title,
    Body,
    Tags,
    Username,
    Password,
}

impl Field {
    pub fn name(self) -> &'static str {
        match self {
            Field::Title => "title",
            Field::Body => "body",
            Field::Tags => "tags",
            Field::Username => "username",
            Field::Password => "password",
        }
    }

    /// The field a validation message names, if any: both we and the services
    /// start such messages with the field's name.
    pub fn named_in(message: &str) -> Option<Field> {
        let first = message.split(|c: char| !c.is_ascii_alphanumeric() && c != '_').next()?;
        match first {
            "title" => Some(Field::Title),
            "body" => Some(Field::Body),
            "tags" | "tag" => Some(Field::Tags),
            "username" => Some(Field::Username),
            "password" => Some(Field::Password),
            _ => None,
        }
    }
}

/// A form that cannot be sent as it is; `message` is shown to the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Invalid {
    pub field: Option<Field>,
    pub message: String,
}

impl Invalid {
    /// A message from a service (INVALID_ARGUMENT), attributed to the field it names.
    pub fn from_service(message: &str) -> Invalid {
        Invalid { field: Field::named_in(message), message: message.to_string() }
    }
}

/// Why a POST body could not be read as a form at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormError {
    #[error("forms must be sent as application/x-www-form-urlencoded, not {0}")]
    UnsupportedType(String),
    /// A field that is not UTF-8 or holds a NUL: the message names it.
    #[error("{0}")]
    Field(#[from] proto::http::FormError),
}

/// The decoded fields of a URL-encoded POST body. A request without a
/// Content-Type is read as a form too: some clients omit it for simple posts.
/// Fields are decoded strictly (`proto::http::decode_form`), so a value the
/// browser could not have typed is refused here, naming its field.
pub fn read(req: &HttpRequest) -> Result<Vec<(String, String)>, FormError> {
    match req.content_type().as_str() {
        "" | "application/x-www-form-urlencoded" => Ok(proto::http::decode_form(&req.body)?),
        other => Err(FormError::UnsupportedType(other.to_string())),
    }
}

/// The first value of `name`, with line breaks as `\n`. A missing field reads
/// as empty, which the length checks then report by name. Browsers send a
/// textarea's line breaks as CRLF; storing them as LF makes a line break count
/// as one character, as it does in the browser's own `maxlength`.
pub fn field(pairs: &[(String, String)], name: &str) -> String {
    let raw = pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or("");
    raw.replace("\r\n", "\n").replace('\r', "\n")
}

fn check(field: Field, value: &str, max: usize) -> Result<(), Invalid> {
    // Counting stops just past the limit, so a huge value costs no more than a valid one.
    let n = value.trim().chars().take(max + 1).count();
    if n == 0 || n > max {
        return Err(Invalid { field: Some(field), message: format!("{} must be 1 to {max} characters", field.name()) });
    }
    Ok(())
}

pub fn check_question(title: &str, body: &str) -> Result<(), Invalid> {
    check(Field::Title, title, TITLE_MAX)?;
    check(Field::Body, body, QUESTION_BODY_MAX)
}

/// The tags of a question from what the user typed: separated by commas or
/// whitespace, lowercased, duplicates dropped, 1 to 5 of 1 to 35 characters
/// of `a-z 0-9 + # . -` each.
pub fn parse_tags(s: &str) -> Result<Vec<String>, Invalid> {
    let invalid = |message: String| Invalid { field: Some(Field::Tags), message };
    let mut tags: Vec<String> = Vec::new();
    for t in s.split(|c: char| c == ',' || c.is_whitespace()).filter(|t| !t.is_empty()) {
        let t = t.to_lowercase();
        let ok = t.chars().count() <= TAG_CHARS_MAX && t.bytes().all(is_tag_char);
        if !ok {
            let shown: String = t.chars().take(TAG_CHARS_MAX + 1).collect();
            return Err(invalid(format!(
                "tags must be 1 to {TAG_CHARS_MAX} characters of a-z, 0-9, +, #, . and - (not {shown:?})"
            )));
        }
        if !tags.contains(&t) {
            tags.push(t);
        }
        if tags.len() > TAGS_MAX {
            break;
        }
    }
    if tags.is_empty() || tags.len() > TAGS_MAX {
        return Err(invalid(format!("tags: give 1 to {TAGS_MAX} tags, separated by spaces or commas")));
    }
    Ok(tags)
}

/// A question (new or edited): title, body and tags.
pub fn check_question_with_tags(title: &str, body: &str, tags: &str) -> Result<Vec<String>, Invalid> {
    check_question(title, body)?;
    parse_tags(tags)
}

pub fn check_username(username: &str) -> Result<(), Invalid> {
    let n = username.chars().count();
    let ok = (USERNAME_MIN..=USERNAME_MAX).contains(&n) && username.bytes().all(is_username_char);
    if ok {
        return Ok(());
    }
    Err(Invalid {
        field: Some(Field::Username),
        message: format!("username must be {USERNAME_MIN} to {USERNAME_MAX} characters of letters, digits, _ . and -"),
    })
}

pub fn check_password(password: &str) -> Result<(), Invalid> {
    let n = password.chars().take(PASSWORD_MAX + 1).count();
    if (PASSWORD_MIN..=PASSWORD_MAX).contains(&n) {
        return Ok(());
    }
    Err(Invalid {
        field: Some(Field::Password),
        message: format!("password must be {PASSWORD_MIN} to {PASSWORD_MAX} characters"),
    })
}

/// The idempotency key from a form's hidden field, if it is one we could
/// have issued (printable ASCII, at most 100 characters); else none.
pub fn idempotency_key(pairs: &[(String, String)]) -> String {
    let k = field(pairs, IDEMPOTENCY_FIELD);
    if proto::fields::is_idempotency_key(&k) {
        k
    } else {
        String::new()
    }
}

pub fn check_answer(body: &str) -> Result<(), Invalid> {
    check(Field::Body, body, ANSWER_BODY_MAX)
}

pub fn check_comment(body: &str) -> Result<(), Invalid> {
    check(Field::Body, body, COMMENT_BODY_MAX)
}

#[cfg(test)]
#[path = "../tests/unit/forms.rs"]
mod tests;
