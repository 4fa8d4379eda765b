//! HTTP, as the services see it: an `HttpRequest` that the balancer carried
//! over RPC, and an `HttpResponse` to send back. Shared by the three services.
//!
//! - [`Body`] reads the fields of a request body. The public contract takes
//!   URL-encoded forms (also when no content type is given, which is what
//!   `curl -d` and old clients send) and JSON objects; anything else is 415.
//!   Text fields must be strings; id fields may be a JSON number or a numeric
//!   string, since JavaScript clients send either. A form field that is not
//!   UTF-8, and a field of either kind holding a NUL, is a 400 naming it
//!   before any handler looks at the body (`proto::http::decode_form`).
//! - [`Stop`] is how a handler stops early: a `Status` or a reply already
//!   made (an unreadable body), so `?` serves both and the handler's last line
//!   turns it into the one response to send.
//! - [`idempotency_key`] reads a client's `Idempotency-Key` header.
//! - [`below`], [`allow`], [`not_found`] route a path under a service's prefix:
//!   an unknown path is 404 and a known path with the wrong method is 405 with
//!   an `Allow` header, both with a JSON `{"error": …}` body.
//! - [`status_response`] turns an RPC `Status` into the matching HTTP status,
//!   so a NOT_FOUND is 404 whether it came from this service or one it called;
//!   a 401 says how to authenticate (`WWW-Authenticate: Bearer`), a 429
//!   when to come back (`Retry-After`), and a 503 (a dependency is failing
//!   over: the database, Redis) to come back in a second (`Retry-After: 1`,
//!   as the balancer's own 503s say), with the same `Idempotency-Key`.
//!
//! The JSON shapes themselves are in [`crate::json`].

use crate::fields::{self, FieldError};
use proto::http::FormError;
use proto::pb::{HttpRequest, HttpResponse};
use proto::{Code, Status};
use serde_json::{Map, Value};

/// The fields of a request body.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    Form(Vec<(String, String)>),
    Json(Map<String, Value>),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    #[error("unsupported content type {0:?}; send application/x-www-form-urlencoded or application/json")]
    UnsupportedType(String),
    #[error("the request body must be a JSON object: {0}")]
    BadJson(String),
    #[error("{0}")]
    Field(#[from] FormError),
}

impl BodyError {
    pub fn response(&self) -> HttpResponse {
        let status = match self {
            BodyError::UnsupportedType(_) => 415,
            BodyError::BadJson(_) | BodyError::Field(_) => 400,
        };
        HttpResponse::json_error(status, &self.to_string())
    }
}

/// Why an HTTP handler stopped before its own reply: a failed check or call
/// (a `Status`, sent as its HTTP status by [`status_response`]), or a reply
/// already made (a body that cannot be read: 415 or 400).
#[derive(Debug)]
pub enum Stop {
    Status(Status),
    Reply(HttpResponse),
}

impl Stop {
    /// The response to send for it.
    pub fn into_response(self) -> HttpResponse {
        match self {
            Stop::Status(s) => status_response(&s),
            Stop::Reply(r) => r,
        }
    }
}

impl From<Status> for Stop {
    fn from(s: Status) -> Stop {
        Stop::Status(s)
    }
}

impl From<FieldError> for Stop {
    fn from(e: FieldError) -> Stop {
        Stop::Status(e.into())
    }
}

impl From<BodyError> for Stop {
    fn from(e: BodyError) -> Stop {
        Stop::Reply(e.response())
    }
}

impl Body {
    pub fn read(req: &HttpRequest) -> Result<Body, BodyError> {
        match req.content_type().as_str() {
            "" | "application/x-www-form-urlencoded" => Ok(Body::Form(proto::http::decode_form(&req.body)?)),
            "application/json" => match serde_json::from_slice::<Value>(&req.body) {
                Ok(Value::Object(map)) => {
                    no_nul_in_json(&map)?;
                    Ok(Body::Json(map))
                }
                Ok(_) => Err(BodyError::BadJson("got another JSON value".into())),
                Err(e) => Err(BodyError::BadJson(e.to_string())),
            },
            other => Err(BodyError::UnsupportedType(other.to_string())),
        }
    }

    /// A text field, untrimmed (validation trims). JSON null counts as missing.
    pub fn text(&self, field: &'static str) -> Result<&str, FieldError> {
        match self {
            Body::Form(pairs) => {
                pairs.iter().find(|(k, _)| k == field).map(|(_, v)| v.as_str()).ok_or(FieldError::Missing(field))
            }
            Body::Json(map) => match map.get(field) {
                None | Some(Value::Null) => Err(FieldError::Missing(field)),
                Some(Value::String(s)) => Ok(s),
                Some(_) => Err(FieldError::NotText(field)),
            },
        }
    }

    /// A text field that may be left out (`Ok(None)`); present, it must be text.
    pub fn optional_text(&self, field: &'static str) -> Result<Option<&str>, FieldError> {
        match self.text(field) {
            Ok(t) => Ok(Some(t)),
            Err(FieldError::Missing(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A tag list: text (`"rust, async"`) or, in JSON, an array of strings;
    /// joined with spaces for [`fields::parse_tags`]. `Ok(None)` when absent.
    pub fn tags(&self, field: &'static str) -> Result<Option<String>, FieldError> {
        if let Body::Json(map) = self {
            if let Some(Value::Array(items)) = map.get(field) {
                let words: Option<Vec<&str>> = items.iter().map(|v| v.as_str()).collect();
                return words.map(|w| Some(w.join(" "))).ok_or(FieldError::NotText(field));
            }
        }
        Ok(self.optional_text(field)?.map(str::to_string))
    }

    /// An id field: a positive integer, as text or (JSON) as a number.
    pub fn id(&self, field: &'static str) -> Result<i64, FieldError> {
        match self {
            Body::Json(map) => match map.get(field) {
                Some(Value::Number(n)) => {
                    n.as_i64().ok_or(FieldError::NotPositive(field)).and_then(|n| fields::check_id(field, n))
                }
                Some(Value::String(s)) => fields::parse_id(field, s),
                None | Some(Value::Null) => Err(FieldError::Missing(field)),
                Some(_) => Err(FieldError::NotPositive(field)),
            },
            Body::Form(_) => fields::parse_id(field, self.text(field)?),
        }
    }
}

/// JSON escapes can spell a NUL (`"\u0000"`), which no field may hold: the
/// field's name (or "a parameter name") is the error, as for a form.
fn no_nul_in_json(map: &Map<String, Value>) -> Result<(), FormError> {
    fn has_nul(v: &Value) -> bool {
        match v {
            Value::String(s) => s.contains('\0'),
            Value::Array(items) => items.iter().any(has_nul),
            Value::Object(m) => m.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
            _ => false,
        }
    }
    for (k, v) in map {
        if k.contains('\0') {
            return Err(FormError::Nul("a parameter name".into()));
        }
        if has_nul(v) {
            return Err(FormError::Nul(k.chars().take(40).collect()));
        }
    }
    Ok(())
}

/// The 400 for a query string that cannot be decoded, or `Ok` when every
/// parameter is text: checked before routing reads any of them.
pub fn check_query(req: &HttpRequest) -> Result<(), HttpResponse> {
    req.query_pairs().map(|_| ()).map_err(|e| field_error(&FieldError::Form(e)))
}

// ---- responses and routing ----------------------------------------------------

/// `{"error": message}` with the HTTP status of the RPC code.
pub fn status_response(s: &Status) -> HttpResponse {
    let resp = HttpResponse::json_error(s.code.http_status(), &s.message);
    match s.code {
        Code::Unauthenticated => resp.header("WWW-Authenticate", "Bearer realm=\"stackwire\""),
        Code::ResourceExhausted => match crate::ratelimit::retry_after(s) {
            Some(secs) => resp.header("Retry-After", &secs.to_string()),
            None => resp,
        },
        Code::Unavailable => resp.header("Retry-After", "1"),
        _ => resp,
    }
}

/// The client's `Idempotency-Key` header: none, or 1 to 100 visible ASCII
/// characters (anything else is a 400 naming the header).
pub fn idempotency_key(req: &HttpRequest) -> Result<String, FieldError> {
    match req.header("idempotency-key") {
        None => Ok(String::new()),
        Some(raw) => {
            let text = std::str::from_utf8(raw).map_err(|_| FieldError::IdempotencyKey)?;
            fields::check_idempotency_key(text.trim())?.ok_or(FieldError::IdempotencyKey)
        }
    }
}

/// A 200 JSON reply, or the status as an error reply.
pub fn reply<T>(result: Result<T, Status>, f: impl FnOnce(&T) -> Value) -> HttpResponse {
    match result {
        Ok(v) => HttpResponse::json(200, &f(&v)),
        Err(s) => status_response(&s),
    }
}

pub fn field_error(e: &FieldError) -> HttpResponse {
    HttpResponse::json_error(400, &e.to_string())
}

/// 201 with the new entity and where to find it.
pub fn created(location: &str, value: &Value) -> HttpResponse {
    HttpResponse::json(201, value).header("Location", location)
}

pub fn not_found(req: &HttpRequest) -> HttpResponse {
    HttpResponse::json_error(404, &format!("no route for {} {}", req.method, req.path))
}

/// `Ok` when `req.method` is one of `allowed`, else the 405 to send.
pub fn allow(req: &HttpRequest, allowed: &[&str]) -> Result<(), HttpResponse> {
    if allowed.contains(&req.method.as_str()) {
        return Ok(());
    }
    let list = allowed.join(", ");
    Err(HttpResponse::json_error(405, &format!("method {} not allowed on {}; use {list}", req.method, req.path))
        .header("Allow", &list))
}

/// The path segments below `prefix`: `Some([])` for the prefix itself,
/// `Some(["7"])` for `prefix/7`, `None` when the path is not under it
/// (`/webserv/questions` is not under `/webserv/question`).
pub fn below<'a>(path: &'a str, prefix: &str) -> Option<Vec<&'a str>> {
    let rest = path.strip_prefix(prefix)?;
    if rest.is_empty() {
        return Some(Vec::new());
    }
    Some(rest.strip_prefix('/')?.split('/').collect())
}

/// An id in a path segment: digits only, positive, within i64. Anything
/// else names no entity, so the caller answers 404 rather than 400.
pub fn path_id(segment: &str) -> Option<i64> {
    if segment.is_empty() || !segment.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    segment.parse::<i64>().ok().filter(|&n| n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::pb::Header;

    fn req(method: &str, path: &str, content_type: Option<&str>, body: &str) -> HttpRequest {
        HttpRequest {
            method: method.into(),
            path: path.into(),
            headers: content_type
                .map(|ct| vec![Header { name: "content-type".into(), value: ct.as_bytes().to_vec() }])
                .unwrap_or_default(),
            body: body.as_bytes().to_vec(),
            ..Default::default()
        }
    }

    #[test]
    fn forms_are_read_with_or_without_a_content_type() {
        for ct in [None, Some("application/x-www-form-urlencoded; charset=UTF-8")] {
            let b = Body::read(&req("POST", "/", ct, "title=Hi+there&body=a%26b&question_id=12")).unwrap();
            assert_eq!(b.text("title"), Ok("Hi there"));
            assert_eq!(b.text("body"), Ok("a&b"));
            assert_eq!(b.id("question_id"), Ok(12));
            assert_eq!(b.text("nope"), Err(FieldError::Missing("nope")));
        }
        let b = Body::read(&req("POST", "/", None, "answer_id=x")).unwrap();
        assert_eq!(b.id("answer_id").unwrap_err().to_string(), "answer_id must be a positive integer");
        assert_eq!(b.id("question_id").unwrap_err().to_string(), "question_id is required");
    }

    #[test]
    fn json_ids_may_be_numbers_or_numeric_strings_and_text_must_be_a_string() {
        let b = Body::read(&req(
            "POST",
            "/",
            Some("application/json"),
            r#"{"question_id": 5, "answer_id": "6", "body": "hi", "title": 3, "n": null, "bad": 1.5, "neg": -2}"#,
        ))
        .unwrap();
        assert_eq!(b.id("question_id"), Ok(5));
        assert_eq!(b.id("answer_id"), Ok(6));
        assert_eq!(b.text("body"), Ok("hi"));
        assert_eq!(b.text("title").unwrap_err().to_string(), "title must be a string");
        assert_eq!(b.text("n"), Err(FieldError::Missing("n")));
        assert_eq!(b.id("bad"), Err(FieldError::NotPositive("bad")));
        assert_eq!(b.id("neg"), Err(FieldError::NotPositive("neg")));
        assert_eq!(b.id("body"), Err(FieldError::NotPositive("body")));
    }

    #[test]
    fn bad_bodies_are_400_and_other_types_415() {
        let e = Body::read(&req("POST", "/", Some("application/json"), "[1]")).unwrap_err();
        assert_eq!(e.response().status, 400);
        let e = Body::read(&req("POST", "/", Some("application/json"), "{")).unwrap_err();
        assert_eq!(e.response().status, 400);
        let e = Body::read(&req("POST", "/", Some("text/plain"), "title=x")).unwrap_err();
        assert_eq!(e, BodyError::UnsupportedType("text/plain".into()));
        assert_eq!(e.response().status, 415);
    }

    #[test]
    fn routing_helpers() {
        assert_eq!(below("/webserv/question", "/webserv/question"), Some(vec![]));
        assert_eq!(below("/webserv/question/7", "/webserv/question"), Some(vec!["7"]));
        assert_eq!(below("/webserv/question/", "/webserv/question"), Some(vec![""]));
        assert_eq!(below("/webserv/questions", "/webserv/question"), None);
        assert_eq!(below("/other", "/webserv/question"), None);
        assert_eq!(path_id("42"), Some(42));
        for bad in ["", "0", "-1", " 1", "1a", "99999999999999999999"] {
            assert_eq!(path_id(bad), None, "{bad:?}");
        }

        let r = req("DELETE", "/webserv/question", None, "");
        let resp = allow(&r, &["GET", "POST"]).unwrap_err();
        assert_eq!(resp.status, 405);
        let allow_header = resp.headers.iter().find(|h| h.name == "Allow").map(|h| h.value.clone());
        assert_eq!(allow_header, Some(b"GET, POST".to_vec()));
        assert!(allow(&req("GET", "/", None, ""), &["GET"]).is_ok());
        assert_eq!(not_found(&r).status, 404);

        let s = status_response(&Status::not_found("question 9 does not exist"));
        assert_eq!(s.status, 404);
        assert_eq!(s.body, br#"{"error":"question 9 does not exist"}"#.to_vec());
    }

    fn header_of(r: &HttpResponse, name: &str) -> Option<String> {
        r.headers.iter().find(|h| h.name == name).map(|h| String::from_utf8_lossy(&h.value).into_owned())
    }

    #[test]
    fn status_responses_say_how_to_recover() {
        let r = status_response(&Status::new(Code::Unauthenticated, "log in to post"));
        assert_eq!((r.status, header_of(&r, "WWW-Authenticate").is_some()), (401, true));
        let r = status_response(&crate::ratelimit::QUESTIONS.refusal(42));
        assert_eq!((r.status, header_of(&r, "Retry-After").as_deref()), (429, Some("42")));
        assert!(String::from_utf8_lossy(&r.body).contains("try again in 42 seconds"));
    }

    #[test]
    fn idempotency_keys_come_from_the_header() {
        let mut r = req("POST", "/", None, "");
        assert_eq!(idempotency_key(&r), Ok(String::new()));
        r.headers.push(Header { name: "Idempotency-Key".into(), value: b"abc-123".to_vec() });
        assert_eq!(idempotency_key(&r), Ok("abc-123".into()));
        r.headers[0].value = b"two words".to_vec();
        assert_eq!(idempotency_key(&r), Err(FieldError::IdempotencyKey));
        r.headers[0].value = Vec::new();
        assert_eq!(idempotency_key(&r), Err(FieldError::IdempotencyKey));
    }

    #[test]
    fn tags_may_be_text_or_a_json_array() {
        let b = Body::Form(vec![("tags".into(), "rust, async".into())]);
        assert_eq!(b.tags("tags"), Ok(Some("rust, async".into())));
        assert_eq!(b.tags("none"), Ok(None));
        let b = Body::Json(serde_json::from_str(r#"{"tags": ["rust", "c++"], "bad": [1]}"#).unwrap());
        assert_eq!(b.tags("tags"), Ok(Some("rust c++".into())));
        assert_eq!(b.tags("bad"), Err(FieldError::NotText("bad")));
        assert_eq!(b.optional_text("title"), Ok(None));
    }
}
