//! Who is looking at the page: cookies in, the session cookie out, and the
//! way back after logging in.
//!
//! The session is the `sw_session` cookie holding the token the user service
//! issued at login; the webui keeps nothing. Each page request that carries
//! the cookie costs exactly one USER_AUTHENTICATE, made before the page is
//! built, and the user it returns is the [`Viewer`] every page and every
//! typed request (author_id, user_id, viewer_id) uses. Nothing is cached
//! between requests, so a logout takes effect on the next click.
//!
//! Cookie headers are the client's bytes: they are parsed leniently (any
//! number of `Cookie` headers, pairs split on `;`, the first pair of a name
//! wins), and a token that could not be one of ours (too long, odd bytes) is
//! ignored rather than sent to the user service.
//!
//! `?next=` after login is a path on this site or nothing: an absolute URL,
//! a scheme-relative `//host` or a backslash trick would make the login form
//! an open redirect.

use proto::pb::{HttpRequest, User};

pub const SESSION_COOKIE: &str = "sw_session";

/// Sessions last 30 days on the server; the cookie lives as long.
const SESSION_MAX_AGE: u32 = 30 * 24 * 3600;

/// The longest session token we pass on; the user service issues far shorter ones.
const MAX_TOKEN_LEN: usize = 256;

/// The longest `next` path we redirect to.
const MAX_NEXT_LEN: usize = 1000;

/// The visitor of one page request.
#[derive(Debug, Clone, Default)]
pub struct Viewer {
    /// Logged in as this user.
    pub user: Option<User>,
    /// The CSRF token that goes into every form on the page.
    pub csrf: String,
    /// This page's path and query: where "Log in" comes back to.
    pub here: String,
    /// The page's render time (ms since the epoch, a whole minute): what
    /// every relative time on it is relative to ([`crate::ago`]).
    pub now_ms: i64,
}

impl Viewer {
    /// The logged-in user's id, or 0 for a visitor.
    pub fn id(&self) -> i64 {
        self.user.as_ref().map(|u| u.id).unwrap_or(0)
    }

    /// Whether `author_id` is the logged-in user (never true for posts without an author).
    pub fn is(&self, author_id: i64) -> bool {
        author_id != 0 && self.id() == author_id
    }
}

/// Every `name=value` pair of every `Cookie` header, in order.
pub fn cookies(req: &HttpRequest) -> Vec<(String, String)> {
    req.headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case("cookie"))
        .flat_map(|h| {
            String::from_utf8_lossy(&h.value)
                .split(';')
                .filter_map(|pair| {
                    let (k, v) = pair.split_once('=')?;
                    let v = v.trim();
                    // RFC 6265 allows a value in double quotes.
                    let v = v.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(v);
                    Some((k.trim().to_string(), v.to_string()))
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The first value of cookie `name`.
pub fn cookie(req: &HttpRequest, name: &str) -> Option<String> {
    cookies(req).into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

/// The session token from the cookie, if it could be one.
pub fn session_token(req: &HttpRequest) -> Option<String> {
    cookie(req, SESSION_COOKIE)
        .filter(|t| !t.is_empty() && t.len() <= MAX_TOKEN_LEN && t.bytes().all(|b| b.is_ascii_graphic() && b != b';'))
}

/// `Set-Cookie` for a new session.
pub fn set_session(token: &str) -> String {
    format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={SESSION_MAX_AGE}")
}

/// `Set-Cookie` that removes the session cookie.
pub fn clear_session() -> String {
    format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0")
}

/// `next` if it is a path on this site, else `None`.
pub fn safe_next(next: &str) -> Option<&str> {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && next.len() <= MAX_NEXT_LEN
        && !next.chars().any(|c| c.is_control() || c == '\\');
    ok.then_some(next)
}

/// The login page that comes back to `next` afterwards.
pub fn login_url(next: &str) -> String {
    match safe_next(next) {
        Some(n) if n != "/" => format!("/login?next={}", proto::http::percent_encode(n)),
        _ => "/login".to_string(),
    }
}

#[cfg(test)]
#[path = "../tests/unit/auth.rs"]
mod tests;
