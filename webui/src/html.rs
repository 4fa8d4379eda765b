//! HTML escaping and the page layout every webui page shares.
//!
//! Everything a user typed reaches the browser only through [`escape`], which
//! replaces all five characters that can end a text node or an attribute value
//! (`& < > " '`). One function for both contexts is deliberate: every
//! attribute we write is double-quoted, and escaping the quotes too means a
//! value can be moved between text and attribute without a second thought.
//!
//! The layout is one self-contained document: no JavaScript, no fonts, no
//! external stylesheet, just a small inline `<style>` (style.css) sized for
//! a 375-px phone and switching to dark colours through
//! `prefers-color-scheme`. Its header shows who is logged in, with a logout
//! button that is a CSRF-protected POST form like every other form. The
//! response headers in [`response`] add a Content-Security-Policy that allows
//! nothing but that inline style, so even an escaping bug could not run a
//! script.

use crate::auth::{self, Viewer};
use crate::csrf;
use proto::pb::HttpResponse;

/// Escapes text for use in HTML text content and double-quoted attribute values.
pub use proto::http::html_escape as escape;

/// The stylesheet, inline in every page (there is nothing else to load).
const STYLE: &str = include_str!("style.css");

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
         <title>{title} · stackwire</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
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
        query = escape(query),
        who = who(viewer),
    )
}

/// The policy that lets the page use its inline style and submit forms to
/// us, and nothing else: no scripts, no frames, no outside resources.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; \
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
