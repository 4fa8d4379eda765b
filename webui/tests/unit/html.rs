//! Unit tests of `webui::html`, compiled into the library's own test
//! binary through `#[path]` (they use its private items), kept out of `src/`.

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
fn layout_links_our_stylesheet_only_and_is_phone_ready() {
    let doc = page(&Viewer::default(), "A <b>title</b>", "<p>hi</p>\n");
    assert!(doc.starts_with("<!DOCTYPE html>"));
    assert!(doc.contains("<title>A &lt;b&gt;title&lt;/b&gt; · stackwire</title>"));
    assert!(doc.contains("name=\"viewport\" content=\"width=device-width, initial-scale=1\""));
    assert!(doc.contains(&format!("<link rel=\"stylesheet\" href=\"{}\">", STYLE_PATH.as_str())));
    assert!(STYLE_PATH.starts_with("/style/site.") && STYLE_PATH.ends_with(".css"));
    assert!(STYLE.contains("prefers-color-scheme:dark") && !doc.contains("<style"));
    assert!(!doc.contains("<script"));
    assert!(!doc.contains("http://") && !doc.contains("https://"));
}

#[test]
fn header_shows_the_user_or_the_way_to_log_in() {
    let anon = Viewer { here: "/questions/7".into(), ..Default::default() };
    let doc = page(&anon, "t", "");
    assert!(doc.contains("href=\"/login?next=%2Fquestions%2F7\">Log in</a>"));
    assert!(doc.contains("href=\"/signup\""));
    assert!(!doc.contains("/logout"));
    let user = proto::pb::User { id: 3, username: "ann<b>".into(), reputation: 25, ..Default::default() };
    let me = Viewer { user: Some(user), csrf: "c".repeat(32), here: "/".into(), ..Default::default() };
    let doc = page(&me, "t", "");
    assert!(doc.contains("<a href=\"/users/ann%3Cb%3E\">ann&lt;b&gt;</a>"));
    assert!(doc.contains(">25 rep</span>"));
    assert!(
        doc.contains(&format!("action=\"/logout\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">", "c".repeat(32)))
    );
    assert!(!doc.contains(">Log in<"));
}

#[test]
fn responses_forbid_scripts() {
    let r = response(200, page(&Viewer::default(), "t", ""));
    let csp = r
        .headers
        .iter()
        .find(|h| h.name == "Content-Security-Policy")
        .map(|h| String::from_utf8_lossy(&h.value).into_owned())
        .unwrap_or_default();
    assert!(csp.contains("default-src 'none'"));
    assert!(!csp.contains("script-src"));
    assert!(csp.contains("style-src 'self'") && !csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(r.status, 200);
}
