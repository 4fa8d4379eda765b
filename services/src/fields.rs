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

use proto::Status;

/// A text field and its upper bound in characters (the lower bound is 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextLimit {
    pub field: &'static str,
    pub max: usize,
}

pub const TITLE: TextLimit = TextLimit { field: "title", max: 200 };
pub const QUESTION_BODY: TextLimit = TextLimit { field: "body", max: 30_000 };
pub const ANSWER_BODY: TextLimit = TextLimit { field: "body", max: 30_000 };
pub const COMMENT_BODY: TextLimit = TextLimit { field: "body", max: 600 };

/// Questions per page when the caller does not say, and the most it may ask for.
pub const DEFAULT_PER_PAGE: u32 = 20;
pub const MAX_PER_PAGE: u32 = 100;

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
}

impl From<FieldError> for Status {
    fn from(e: FieldError) -> Status {
        Status::invalid(e.to_string())
    }
}

/// Trims `raw` and checks it against `limit`; returns the text to store.
pub fn clean_text(limit: TextLimit, raw: &str) -> Result<String, FieldError> {
    let text = raw.trim();
    // PostgreSQL text cannot hold NUL; refusing it here turns a database error
    // (a 500) into the caller's mistake (a 400).
    if text.contains('\0') {
        return Err(FieldError::Nul(limit.field));
    }
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

/// The page and page size of a `ListQuestions`: 0 means "not given" (proto3
/// has no absent numbers), so page 0 is page 1 and per_page 0 is the default.
pub fn page_window(page: u32, per_page: u32) -> Result<(u32, u32), FieldError> {
    let page = page.max(1);
    let per_page = match per_page {
        0 => DEFAULT_PER_PAGE,
        n if n <= MAX_PER_PAGE => n,
        _ => return Err(FieldError::OutOfRange { field: "per_page", max: MAX_PER_PAGE }),
    };
    Ok((page, per_page))
}

/// A page number from a query string: a positive integer that fits in u32.
pub fn parse_page(field: &'static str, raw: &str) -> Result<u32, FieldError> {
    let n = parse_id(field, raw)?;
    u32::try_from(n).map_err(|_| FieldError::NotPositive(field))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_and_counted_in_characters() {
        assert_eq!(clean_text(TITLE, "  Why?\n"), Ok("Why?".to_string()));
        // 200 two-byte characters are 200 characters, not 400.
        let e = "é".repeat(200);
        assert_eq!(clean_text(TITLE, &e), Ok(e.clone()));
        assert_eq!(clean_text(TITLE, &format!("{e}x")), Err(FieldError::Length { field: "title", max: 200 }));
        // Surrounding whitespace does not count against the limit.
        assert_eq!(clean_text(COMMENT_BODY, &format!("   {}   ", "a".repeat(600))).map(|s| s.len()), Ok(600));
        assert!(clean_text(COMMENT_BODY, &"a".repeat(601)).is_err());
        assert!(clean_text(QUESTION_BODY, &"a".repeat(30_000)).is_ok());
        assert!(clean_text(ANSWER_BODY, &"a".repeat(30_001)).is_err());
    }

    #[test]
    fn empty_blank_and_nul_are_refused_naming_the_field() {
        assert_eq!(clean_text(TITLE, "").unwrap_err().to_string(), "title must be 1 to 200 characters");
        assert_eq!(clean_text(COMMENT_BODY, " \t\r\n ").unwrap_err().to_string(), "body must be 1 to 600 characters");
        assert_eq!(clean_text(TITLE, "a\0b").unwrap_err().to_string(), "title must not contain NUL characters");
    }

    #[test]
    fn ids_are_positive_decimal_integers() {
        assert_eq!(parse_id("question_id", "42"), Ok(42));
        assert_eq!(parse_id("question_id", " 7 "), Ok(7));
        for bad in ["", "0", "-1", "+1", "1.5", "1e3", "abc", "9223372036854775808", "0x10"] {
            assert_eq!(parse_id("question_id", bad), Err(FieldError::NotPositive("question_id")), "{bad:?}");
        }
        assert_eq!(parse_id("id", "9223372036854775807"), Ok(i64::MAX));
        assert_eq!(check_id("answer_id", 0).unwrap_err().to_string(), "answer_id must be a positive integer");
        assert_eq!(check_id("answer_id", 3), Ok(3));
    }

    #[test]
    fn page_window_defaults_and_bounds() {
        assert_eq!(page_window(0, 0), Ok((1, 20)));
        assert_eq!(page_window(3, 100), Ok((3, 100)));
        assert_eq!(page_window(1, 101).unwrap_err().to_string(), "per_page must be 1 to 100");
        assert_eq!(parse_page("page", "2"), Ok(2));
        assert!(parse_page("page", "0").is_err());
        assert!(parse_page("page", "4294967296").is_err());
    }

    #[test]
    fn field_errors_become_invalid_argument() {
        let s: Status = FieldError::Missing("title").into();
        assert_eq!(s.code, proto::Code::InvalidArgument);
        assert_eq!(s.message, "title is required");
    }
}
