//! Reading and checking the three forms the site accepts: ask, answer, comment.
//!
//! The services are the authority on what may be stored and check every field
//! themselves; we check the same limits first so that a user who left a field
//! empty gets their form back without a round trip, and so that a field we
//! already know is too long is never shipped across the network. The limits
//! and the wording of the messages are the public contract's, so a user sees
//! the same sentence whichever side caught the mistake.
//!
//! Lengths are counted in characters (Unicode scalar values) after trimming
//! leading and trailing whitespace, as the services count them.

use proto::pb::HttpRequest;

pub const TITLE_MAX: usize = 200;
/// Question and answer bodies.
pub const BODY_MAX: usize = 30_000;
pub const COMMENT_MAX: usize = 600;

/// Which input a message is about, so the page can mark that input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Title,
    Body,
}

impl Field {
    pub fn name(self) -> &'static str {
        match self {
            Field::Title => "title",
            Field::Body => "body",
        }
    }

    /// The field a validation message names, if any: both we and the services
    /// start such messages with the field's name.
    pub fn named_in(message: &str) -> Option<Field> {
        let first = message.split(|c: char| !c.is_ascii_alphanumeric() && c != '_').next()?;
        match first {
            "title" => Some(Field::Title),
            "body" => Some(Field::Body),
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
}

/// The decoded fields of a URL-encoded POST body. A request without a
/// Content-Type is read as a form too: some clients omit it for simple posts.
pub fn read(req: &HttpRequest) -> Result<Vec<(String, String)>, FormError> {
    match req.content_type().as_str() {
        "" | "application/x-www-form-urlencoded" => Ok(proto::http::parse_urlencoded(&req.body)),
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
    check(Field::Body, body, BODY_MAX)
}

pub fn check_answer(body: &str) -> Result<(), Invalid> {
    check(Field::Body, body, BODY_MAX)
}

pub fn check_comment(body: &str) -> Result<(), Invalid> {
    check(Field::Body, body, COMMENT_MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::pb::Header;

    #[test]
    fn question_limits_count_characters_after_trimming() {
        assert!(check_question("t", "b").is_ok());
        assert!(check_question(&"t".repeat(200), &"b".repeat(30_000)).is_ok());
        // Multi-byte characters count once each.
        assert!(check_question(&"é".repeat(200), "b").is_ok());
        // Surrounding whitespace does not count toward either bound.
        assert!(check_question(&format!("  {}  ", "t".repeat(200)), " b ").is_ok());

        let e = check_question(&"t".repeat(201), "b").unwrap_err();
        assert_eq!(e.field, Some(Field::Title));
        assert_eq!(e.message, "title must be 1 to 200 characters");
        let e = check_question(" \n\t ", "b").unwrap_err();
        assert_eq!(e.field, Some(Field::Title));
        let e = check_question("t", "   ").unwrap_err();
        assert_eq!(e.field, Some(Field::Body));
        assert_eq!(e.message, "body must be 1 to 30000 characters");
        assert!(check_question("t", &"b".repeat(30_001)).is_err());
    }

    #[test]
    fn answer_and_comment_limits() {
        assert!(check_answer(&"a".repeat(30_000)).is_ok());
        assert!(check_answer("").is_err());
        assert!(check_comment(&"c".repeat(600)).is_ok());
        let e = check_comment(&"c".repeat(601)).unwrap_err();
        assert_eq!(e.message, "body must be 1 to 600 characters");
        assert!(check_comment(" ").is_err());
    }

    #[test]
    fn service_messages_are_attributed_to_the_field_they_name() {
        assert_eq!(Invalid::from_service("title must be 1 to 200 characters").field, Some(Field::Title));
        assert_eq!(Invalid::from_service("body is required").field, Some(Field::Body));
        assert_eq!(Invalid::from_service("bodywork").field, None);
        assert_eq!(Invalid::from_service("question_id missing").field, None);
        assert_eq!(Invalid::from_service("").field, None);
    }

    fn post(content_type: Option<&str>, body: &str) -> HttpRequest {
        HttpRequest {
            method: "POST".into(),
            path: "/ask".into(),
            headers: content_type
                .map(|v| vec![Header { name: "Content-Type".into(), value: v.as_bytes().to_vec() }])
                .unwrap_or_default(),
            body: body.as_bytes().to_vec(),
            ..Default::default()
        }
    }

    #[test]
    fn reads_urlencoded_forms_and_rejects_other_types() {
        let pairs =
            read(&post(Some("application/x-www-form-urlencoded; charset=UTF-8"), "title=a+b&body=%3Cx%3E")).unwrap();
        assert_eq!(field(&pairs, "title"), "a b");
        assert_eq!(field(&pairs, "body"), "<x>");
        assert_eq!(field(&pairs, "missing"), "");
        let pairs = read(&post(None, "body=one%0D%0Atwo%0Dthree%0Afour")).unwrap();
        assert_eq!(field(&pairs, "body"), "one\ntwo\nthree\nfour");
        assert!(read(&post(None, "body=x")).is_ok());
        assert_eq!(
            read(&post(Some("multipart/form-data; boundary=x"), "")),
            Err(FormError::UnsupportedType("multipart/form-data".into()))
        );
    }
}
