//! HTML escaping and the page layout every webui page shares.
//!
//! Everything a user typed reaches the browser only through [`escape`], which
//! replaces all five characters that can end a text node or an attribute value
//! (`& < > " '`). One function for both contexts is deliberate: every
//! attribute we write is double-quoted, and escaping the quotes too means a
//! value can be moved between text and attribute without a second thought.
//!
//! The layout: no JavaScript, no fonts, one stylesheet (style.css) sized
//! for a 375-px phone and switching to dark colours through
//! `prefers-color-scheme`. The sheet is linked, not inlined: it is more than
//! half of a question page's bytes, and inline it went out again with every
//! page view (through the webui's socket, the balancer's two and the
//! client's); linked, a browser fetches it once. Its address carries a hash
//! of its bytes ([`STYLE_PATH`]), so it is served as immutable and a changed
//! sheet is a new address; [`stylesheet`] answers for it. The header shows
//! who is logged in, with a logout button that is a CSRF-protected POST form
//! like every other form. The response headers in [`response`] add a
//! Content-Security-Policy that allows nothing but that stylesheet from this
//! site (no inline style, no script), so even an escaping bug could not run
//! a script or restyle a page.

use crate::auth::{self, Viewer};
use crate::csrf;
use proto::pb::HttpResponse;
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

/// Escapes text for use in HTML text content and double-quoted attribute values.
pub use proto::http::html_escape as escape;

/// The stylesheet every page links to.
pub const STYLE: &str = include_str!("style.css");

/// Where pages link the stylesheet: its name carries the first 64 bits of
/// its SHA-256, so the address changes whenever the sheet does.
pub static STYLE_PATH: LazyLock<String> = LazyLock::new(|| {
    let digest = Sha256::digest(STYLE.as_bytes());
    format!("/style/site.{}.css", csrf::hex(&digest[..8]))
});

/// How long a browser keeps the sheet at its own address: a year, the
/// longest `max-age` caches honour, and unchanging (`immutable`).
const STYLE_CACHE: &str = "public, max-age=31536000, immutable";

/// The response for a GET (or HEAD, served as GET) of `path` when it is a
/// stylesheet address, `None` for every other path. The current sheet's own address
/// may be kept for good; any other `site.*.css` (a page from an instance of
/// another version, during a rolling restart) gets the current sheet,
/// which must not be kept: `no-cache`. No cookie, no session: it is the
/// same for everybody.
pub fn stylesheet(method: &str, path: &str) -> Option<HttpResponse> {
    let name = path.strip_prefix("/style/site.")?.strip_suffix(".css")?;
    if name.len() != 16 || !name.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return None;
    }
    let cache = if path == STYLE_PATH.as_str() { STYLE_CACHE } else { "no-cache" };
    if !matches!(method, "GET" | "HEAD") {
        let refused = HttpResponse::with_body(405, "text/plain; charset=utf-8", b"GET or HEAD".to_vec());
        return Some(refused.header("Allow", "GET, HEAD"));
    }
    // A HEAD gets this too; the router takes the body off as for every page.
    let resp = HttpResponse::with_body(200, "text/css; charset=utf-8", STYLE.as_bytes().to_vec());
    Some(resp.header("Cache-Control", cache).header("X-Content-Type-Options", "nosniff"))
}

/// The header's right side: who is logged in (with a logout button, a POST
/// with the CSRF token), or the way to log in and come back here.
fn who(viewer: &Viewer) -> String {
    match &viewer.user {
        Some(u) => format!(
            "<div class=\"me\"><a href=\"/users/{path}\">{name}</a><span class=\"rep\" title=\"reputation\">{rep} rep</span>\
             <form class=\"inline\" method=\"post\" action=\"/logout\">{csrf}<button type=\"submit\" class=\"link\">Log out</button></form></div>",
            path = escape(&proto::http::percent_encode(&u.username)),
            name = escape(&u.username),
            rep = u.reputation,
            csrf = csrf::hidden_field(&viewer.csrf),
        ),
        None => {
            let login = if viewer.here.starts_with("/login") || viewer.here.starts_with("/signup") {
                "/login".to_string()
            } else {
                auth::login_url(&viewer.here)
            };
            format!(
                "<div class=\"me\"><a href=\"{}\">Log in</a><a href=\"/signup\">Sign up</a></div>",
                escape(&login)
            )
        }
    }
}

/// A whole HTML document: `title` is plain text (escaped here), `main` is
/// markup the caller already built from escaped parts.
pub fn page(viewer: &Viewer, title: &str, main: &str) -> String {
    search_page(viewer, title, "", main)
}

/// [`page`] whose header search box holds `query` (the search results
/// page: the box keeps what was searched for, and is the page's only one).
pub fn search_page(viewer: &Viewer, title: &str, query: &str, main: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"color-scheme\" content=\"light dark\">\n\
         <title>{title} · stackwire</title>\n<link rel=\"stylesheet\" href=\"{style}\">\n</head>\n<body>\n\
         <header class=\"site\"><div class=\"wrap\"><a class=\"brand\" href=\"/\">stackwire</a>\
         <nav class=\"links\"><a href=\"/\">Questions</a><a href=\"/tags\">Tags</a><a href=\"/ask\">Ask</a></nav>\
         <form class=\"search\" method=\"get\" action=\"/search\" role=\"search\">\
         <input type=\"search\" name=\"q\" value=\"{query}\" placeholder=\"Search… [tag] words\" aria-label=\"Search\" \
         maxlength=\"200\">\
         <button type=\"submit\">Search</button></form>{who}</div></header>\n\
         <main class=\"wrap\">\n{main}</main>\n\
         <footer class=\"site\"><div class=\"wrap\">stackwire: questions and answers.</div></footer>\n\
         </body>\n</html>\n",
        title = escape(title),
        style = STYLE_PATH.as_str(),
        query = escape(query),
        who = who(viewer),
    )
}

/// The policy that lets the page use our stylesheet and submit forms to
/// us, and nothing else: no scripts, no inline style, no frames, no outside
/// resources.
const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
                   form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// An HTML response with the headers every page carries.
pub fn response(status: u16, document: String) -> HttpResponse {
    HttpResponse::html(status, document)
        .header("Content-Security-Policy", CSP)
        .header("X-Content-Type-Options", "nosniff")
        .header("Cache-Control", "no-store")
}

#[cfg(test)]
#[path = "../tests/unit/html.rs"]
mod tests;
