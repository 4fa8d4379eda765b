//! HTML escaping and the page layout every webui page shares.
//!
//! Everything a user typed reaches the browser only through [`escape`], which
//! replaces all five characters that can end a text node or an attribute value
//! (`& < > " '`). One function for both contexts is deliberate: every
//! attribute we write is double-quoted, and escaping the quotes too means a
//! value can be moved between text and attribute without a second thought.
//!
//! The layout is one self-contained document: no JavaScript, no fonts, no
//! external stylesheet, just a small inline `<style>` sized for a 375-px
//! phone and switching to dark colours through `prefers-color-scheme`. The
//! response headers in [`response`] add a Content-Security-Policy that allows
//! nothing but that inline style, so even an escaping bug could not run a
//! script.

use proto::pb::HttpResponse;

/// Escapes text for use in HTML text content and double-quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A `<time>` element for a creation time in ms since the epoch, shown in UTC
/// to the minute (`2018-11-22 00:57 UTC`) with the exact instant as `datetime`.
pub fn time(ms: i64) -> String {
    let iso = proto::clock::iso8601(ms);
    // iso8601 is `YYYY-MM-DDTHH:MM:SS.mmmZ`: the first 16 bytes are ASCII.
    let shown = iso.get(..16).unwrap_or(&iso).replacen('T', " ", 1);
    format!("<time datetime=\"{}\">{} UTC</time>", escape(&iso), escape(&shown))
}

const STYLE: &str = r#"
:root{color-scheme:light dark;--bg:#fdfdfc;--fg:#1f2328;--muted:#5f6670;--line:#d8dce0;
--card:#f4f5f6;--link:#0b57d0;--accent:#0b57d0;--accent-fg:#fff;--err-bg:#fdecea;--err-fg:#8a1c12}
@media (prefers-color-scheme:dark){:root{--bg:#14161a;--fg:#e6e8eb;--muted:#9aa3ad;--line:#343a42;
--card:#1c1f24;--link:#8ab4f8;--accent:#8ab4f8;--accent-fg:#0d1117;--err-bg:#3b1714;--err-fg:#f6b7ae}}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--fg);
font:16px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
.wrap{max-width:44rem;margin:0 auto;padding:0 1rem}
header.site{border-bottom:1px solid var(--line);margin-bottom:1.25rem}
header.site .wrap{display:flex;align-items:baseline;justify-content:space-between;gap:1rem;padding-top:.75rem;padding-bottom:.75rem}
header.site a.brand{font-weight:700;font-size:1.15rem;color:var(--fg);text-decoration:none}
a{color:var(--link)}
h1{font-size:1.5rem;line-height:1.25;margin:.25rem 0 .5rem;overflow-wrap:anywhere}
h2{font-size:1.15rem;margin:1.75rem 0 .75rem}
.meta{color:var(--muted);font-size:.875rem}
.text{white-space:pre-wrap;overflow-wrap:anywhere;margin:.5rem 0}
ol.questions{list-style:none;padding:0;margin:0}
ol.questions li{padding:.75rem 0;border-bottom:1px solid var(--line)}
ol.questions a{font-weight:600;text-decoration:none;overflow-wrap:anywhere}
ol.questions a:hover{text-decoration:underline}
article.answer{border-top:1px solid var(--line);padding:1rem 0}
ul.comments{list-style:none;margin:.75rem 0 0;padding:0 0 0 .75rem;border-left:3px solid var(--line);font-size:.9375rem}
ul.comments li{margin:.4rem 0}
ul.comments .text{display:inline;margin:0}
form{margin:.75rem 0}
label{display:block;font-weight:600;margin:.75rem 0 .25rem}
input[type=text],textarea{width:100%;font:inherit;color:inherit;background:var(--card);
border:1px solid var(--line);border-radius:6px;padding:.5rem .6rem}
textarea{resize:vertical}
button,.button{display:inline-block;font:inherit;font-weight:600;margin-top:.6rem;padding:.45rem 1rem;
border:0;border-radius:6px;background:var(--accent);color:var(--accent-fg);text-decoration:none;cursor:pointer}
details summary{cursor:pointer;color:var(--link);font-size:.9375rem;margin-top:.5rem}
.error{background:var(--err-bg);color:var(--err-fg);border-radius:6px;padding:.5rem .75rem;margin:.75rem 0}
nav.pager{display:flex;justify-content:space-between;margin:1.25rem 0}
footer.site{color:var(--muted);font-size:.8125rem;border-top:1px solid var(--line);margin-top:2.5rem;padding:1rem 0 2rem}
"#;

/// A whole HTML document: `title` is plain text (escaped here), `main` is
/// markup the caller already built from escaped parts.
pub fn page(title: &str, main: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"color-scheme\" content=\"light dark\">\n\
         <title>{title} · stackwire</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <header class=\"site\"><div class=\"wrap\"><a class=\"brand\" href=\"/\">stackwire</a>\
         <a href=\"/ask\">Ask a question</a></div></header>\n\
         <main class=\"wrap\">\n{main}</main>\n\
         <footer class=\"site\"><div class=\"wrap\">stackwire: questions and answers.</div></footer>\n\
         </body>\n</html>\n",
        title = escape(title),
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
mod tests {
    use super::*;

    #[test]
    fn escapes_all_five_special_characters() {
        assert_eq!(
            escape(r#"<a href="x" title='y'>&amp;</a>"#),
            "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;"
        );
    }

    #[test]
    fn leaves_ordinary_text_and_unicode_alone() {
        assert_eq!(escape("plain text, ünïcödé ✓\nline"), "plain text, ünïcödé ✓\nline");
        assert_eq!(escape(""), "");
    }

    #[test]
    fn escaped_text_contains_no_markup_characters() {
        let hostile = "\"><script>alert('x')</script><img src=x onerror=alert(1)>";
        let e = escape(hostile);
        assert!(!e.contains('<') && !e.contains('>') && !e.contains('"') && !e.contains('\''));
    }

    #[test]
    fn time_shows_minutes_in_utc_and_keeps_the_exact_instant() {
        assert_eq!(time(1_542_848_230_560), "<time datetime=\"2018-11-22T00:57:10.560Z\">2018-11-22 00:57 UTC</time>");
    }

    #[test]
    fn layout_is_self_contained_and_phone_ready() {
        let doc = page("A <b>title</b>", "<p>hi</p>\n");
        assert!(doc.starts_with("<!DOCTYPE html>"));
        assert!(doc.contains("<title>A &lt;b&gt;title&lt;/b&gt; · stackwire</title>"));
        assert!(doc.contains("name=\"viewport\" content=\"width=device-width, initial-scale=1\""));
        assert!(doc.contains("prefers-color-scheme:dark"));
        assert!(!doc.contains("<script"));
        assert!(!doc.contains("http://") && !doc.contains("https://"));
    }

    #[test]
    fn responses_forbid_scripts() {
        let r = response(200, page("t", ""));
        let csp = r
            .headers
            .iter()
            .find(|h| h.name == "Content-Security-Policy")
            .map(|h| String::from_utf8_lossy(&h.value).into_owned())
            .unwrap_or_default();
        assert!(csp.contains("default-src 'none'"));
        assert!(!csp.contains("script-src"));
        assert_eq!(r.status, 200);
    }
}
