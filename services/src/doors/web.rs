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
//!   [`routed`] runs a service's router and then the query-string check, the
//!   first thing every service's HTTP door does.
//! - [`status_response`] turns an RPC `Status` into the matching HTTP status,
//!   so a NOT_FOUND is 404 whether it came from this service or one it called;
//!   a 401 says how to authenticate (`WWW-Authenticate: Bearer`), a 429
//!   when to come back (`Retry-After`), and a 503 (a dependency is failing
//!   over: the database, Redis) to come back in a second (`Retry-After: 1`,
//!   as the balancer's own 503s say), with the same `Idempotency-Key`.
//!
//! - [`rpc_faces!`] gives a service its two RPC faces at once: its typed
//!   methods and `Web/Handle` (its HTTP routes), anything else UNIMPLEMENTED.
//!
//! The JSON shapes themselves are in [`crate::doors::json`].

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

/// What every service's HTTP door does first: the route (404, 405 with
/// `Allow`), then the query string (400), before anything reads the body.
pub fn routed<R>(req: &HttpRequest, route: fn(&HttpRequest) -> Result<R, HttpResponse>) -> Result<R, HttpResponse> {
    let r = route(req)?;
    check_query(req)?;
    Ok(r)
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

/// A service's two RPC faces: `Web/Handle` serves `self.web(ctx, req)` (its
/// HTTP routes, every answer a reply), and its `Handler` tries the typed
/// methods of the generated module `$typed` (e.g. `answer_service`), then
/// `Web/Handle`, and calls anything else UNIMPLEMENTED. (The question
/// service writes its own `Handler`: its `Web/Handle` goes through the reply
/// cache.)
macro_rules! rpc_faces {
    ($service:ty, $typed:ident) => {
        /// `Web/Handle`: the service's HTTP routes.
        impl proto::services::web::Server for $service {
            fn handle(
                &self,
                ctx: &proto::CallContext<'_>,
                req: proto::pb::HttpRequest,
            ) -> Result<proto::pb::HttpResponse, proto::Status> {
                Ok(self.web(ctx, req))
            }
        }

        impl proto::Handler for $service {
            fn handle(&self, ctx: &proto::CallContext<'_>, payload: &[u8]) -> Result<Vec<u8>, proto::Status> {
                $typed::dispatch(self, ctx, payload)
                    .or_else(|| proto::services::web::dispatch(self, ctx, payload))
                    .unwrap_or_else(|| Err(proto::services::unimplemented(ctx.method)))
            }
        }
    };
}
pub(crate) use rpc_faces;

#[cfg(test)]
#[path = "../../tests/unit/doors/web.rs"]
mod tests;
