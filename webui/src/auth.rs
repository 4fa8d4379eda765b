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
mod tests {
    use super::*;
    use proto::pb::Header;

    fn with_cookies(values: &[&str]) -> HttpRequest {
        HttpRequest {
            headers: values
                .iter()
                .map(|v| Header { name: "Cookie".into(), value: v.as_bytes().to_vec() })
                .chain([Header { name: "X-Other".into(), value: b"sw_session=no".to_vec() }])
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn parses_cookie_headers_leniently() {
        let req = with_cookies(&["a=1; sw_session=tok%2Ben ;sw_csrf=\"abc\"", "sw_session=second; junk; =x"]);
        assert_eq!(cookie(&req, "a").as_deref(), Some("1"));
        assert_eq!(cookie(&req, "sw_session").as_deref(), Some("tok%2Ben"), "the first one wins");
        assert_eq!(cookie(&req, "sw_csrf").as_deref(), Some("abc"), "quotes removed");
        assert_eq!(cookie(&req, "junk"), None);
        assert_eq!(cookie(&req, "missing"), None);
        assert_eq!(cookies(&with_cookies(&[])), vec![]);
        let lower = HttpRequest {
            headers: vec![Header { name: "cookie".into(), value: b"sw_session=t".to_vec() }],
            ..Default::default()
        };
        assert_eq!(session_token(&lower).as_deref(), Some("t"));
    }

    #[test]
    fn odd_session_tokens_are_ignored() {
        assert_eq!(session_token(&with_cookies(&["sw_session="])), None);
        assert_eq!(session_token(&with_cookies(&["sw_session=a b"])), None);
        assert_eq!(session_token(&with_cookies(&[&format!("sw_session={}", "a".repeat(257))])), None);
        assert_eq!(session_token(&with_cookies(&["sw_session=\u{e9}"])), None);
        assert!(session_token(&with_cookies(&[&format!("sw_session={}", "a".repeat(256))])).is_some());
    }

    #[test]
    fn session_cookies_are_http_only_and_lax() {
        let s = set_session("abc");
        assert!(s.starts_with("sw_session=abc;"));
        for attr in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=2592000"] {
            assert!(s.contains(attr), "{s} lacks {attr}");
        }
        assert!(clear_session().contains("Max-Age=0"));
    }

    #[test]
    fn next_is_a_local_path_or_nothing() {
        assert_eq!(safe_next("/questions/7?answers_page=2#answer-9"), Some("/questions/7?answers_page=2#answer-9"));
        for bad in ["", "questions", "//evil.example", "/\\evil.example", "http://evil.example", "/a\\b", "/a\nb"] {
            assert_eq!(safe_next(bad), None, "{bad:?}");
        }
        assert_eq!(login_url("/questions/7#a"), "/login?next=%2Fquestions%2F7%23a");
        assert_eq!(login_url("//evil"), "/login");
        assert_eq!(login_url("/"), "/login");
    }

    #[test]
    fn viewer_identity() {
        let anon = Viewer::default();
        assert_eq!(anon.id(), 0);
        assert!(!anon.is(0), "posts without an author belong to nobody");
        let me = Viewer { user: Some(User { id: 5, ..Default::default() }), ..Default::default() };
        assert!(me.is(5) && !me.is(6));
    }
}
