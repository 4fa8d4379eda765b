//! Acceptance: the HTML flow a person follows, through the balancer, with a
//! cookie jar standing in for the browser: sign up, ask, follow the 303,
//! answer, comment. Every POST needs the CSRF token of the form (403
//! without it); posting needs a login (a visitor is sent to the login page);
//! user text is always shown as text, and Markdown bodies never carry
//! markup or script links of their own.

use testkit::http::form;
use testkit::{Cluster, HttpClient, Reply, Shape};

fn small() -> Shape {
    Shape { questions: 1, answers: 1, comments: 1, webuis: 1, ..Default::default() }
}

/// The cookies a browser would keep for the site.
struct Browser {
    http: HttpClient,
    jar: Vec<(String, String)>,
}

impl Browser {
    fn new(c: &Cluster) -> Browser {
        Browser { http: c.http(), jar: Vec::new() }
    }

    fn cookie(&self, name: &str) -> Option<String> {
        self.jar.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    fn send(&mut self, method: &str, path: &str, body: Option<String>) -> Reply {
        let cookies = self.jar.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
        let mut headers = Vec::new();
        if !cookies.is_empty() {
            headers.push(("Cookie", cookies.as_str()));
        }
        if body.is_some() {
            headers.push(("Content-Type", "application/x-www-form-urlencoded"));
        }
        let r = self.http.request(method, path, &headers, body.unwrap_or_default().as_bytes());
        for (k, v) in &r.headers {
            if !k.eq_ignore_ascii_case("set-cookie") {
                continue;
            }
            let pair = v.split(';').next().unwrap_or("");
            let Some((name, value)) = pair.split_once('=') else { continue };
            self.jar.retain(|(n, _)| n != name);
            if !v.contains("Max-Age=0") {
                self.jar.push((name.to_string(), value.to_string()));
            }
        }
        r
    }

    fn get(&mut self, path: &str) -> Reply {
        self.send("GET", path, None)
    }

    /// The CSRF token of this browser's forms, read from a page as a
    /// browser would (it is bound to the session, never a cookie's value).
    fn token(&mut self) -> String {
        let page = if self.cookie("sw_session").is_some() { self.get("/ask") } else { self.get("/login") };
        let text = page.text();
        let marker = "name=\"csrf\" value=\"";
        let at = text.find(marker).expect("a form with a CSRF token") + marker.len();
        text[at..].split('"').next().unwrap_or("").to_string()
    }

    /// POSTs `fields` with the CSRF token, as the page's form does.
    fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Reply {
        let token = self.token();
        let mut all = vec![("csrf", token.as_str())];
        all.extend_from_slice(fields);
        self.send("POST", path, Some(form(&all)))
    }

    /// POSTs `fields` exactly as given: no CSRF token unless it is among them.
    fn post_bare(&mut self, path: &str, fields: &[(&str, &str)]) -> Reply {
        self.send("POST", path, Some(form(fields)))
    }

    fn sign_up(&mut self, username: &str) {
        let r = self.post("/signup", &[("username", username), ("password", "a long password")]);
        assert_eq!(r.status, 303, "sign up: {}", r.text());
        assert!(self.cookie("sw_session").is_some(), "logged in after signing up");
    }

    /// Asks through the form; returns the question page's path.
    fn ask(&mut self, title: &str, body: &str) -> String {
        let r = self.post("/ask", &[("title", title), ("body", body), ("tags", "sockets rust")]);
        assert_eq!(r.status, 303, "{}", r.text());
        let loc = r.header("location").expect("Location").to_string();
        assert!(loc.starts_with("/questions/"), "{loc}");
        loc
    }
}

#[test]
fn posts_need_the_csrf_token_and_a_login() {
    let c = Cluster::start("html-csrf", small());
    let mut b = Browser::new(&c);
    let login = b.get("/login");
    assert_eq!(login.status, 200);
    assert!(login.header("content-type").unwrap_or("").starts_with("text/html"));
    let presession = b.cookie("sw_csrf").expect("a pre-session cookie set with the first page");
    let anon_token = b.token();
    assert!(login.text().contains(&format!("name=\"csrf\" value=\"{anon_token}\"")), "the form carries the token");
    assert_eq!(anon_token.len(), 64, "an HMAC, not the cookie: {anon_token}");
    assert_ne!(anon_token, presession);

    // A visitor who posts is sent to log in first (and comes back to the form).
    let r = b.post("/ask", &[("title", "t"), ("body", "b"), ("tags", "x")]);
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(r.header("location"), Some("/login?next=%2Fask"));

    // Without the token, even signing up is refused.
    let r = b.post_bare("/signup", &[("username", "csrf_user"), ("password", "a long password")]);
    assert_eq!(r.status, 403, "{}", r.text());
    let r = b.post_bare(
        "/signup",
        &[("csrf", "0123456789abcdef0123456789abcdef"), ("username", "csrf_user"), ("password", "a long password")],
    );
    assert_eq!(r.status, 403, "a token that is not the cookie's");
    assert!(b.cookie("sw_session").is_none());
    // The cookie's own value is not a token: a planted pair is refused.
    let r =
        b.post_bare("/signup", &[("csrf", &presession), ("username", "csrf_user"), ("password", "a long password")]);
    assert_eq!(r.status, 403, "{}", r.text());
    b.sign_up("csrf_user");
    assert!(b.get("/").text().contains(">csrf_user</a>"), "the header shows who is logged in");
    // Login rotated the token: the anonymous one no longer posts.
    assert_ne!(b.cookie("sw_csrf"), Some(presession.clone()), "a new pre-session id at login");
    let r = b.post_bare("/ask", &[("csrf", &anon_token), ("title", "t"), ("body", "b"), ("tags", "x")]);
    assert_eq!(r.status, 403, "the pre-login token after login: {}", r.text());
    // A planted pair (a pre-session cookie and the same value in the form)
    // with the victim's own session: refused.
    let planted = "0123456789abcdef0123456789abcdef";
    let saved = b.jar.clone();
    b.jar.retain(|(k, _)| k != "sw_csrf");
    b.jar.push(("sw_csrf".into(), planted.into()));
    let r = b.post_bare("/ask", &[("csrf", planted), ("title", "Planted"), ("body", "b"), ("tags", "x")]);
    assert_eq!(r.status, 403, "a planted CSRF pair: {}", r.text());
    b.jar = saved;

    // Logged in, but without the token: 403 and nothing is stored.
    let title = "Posted without a token";
    let r = b.post_bare("/ask", &[("title", title), ("body", "b"), ("tags", "x")]);
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(r.text().contains("Form expired"));
    assert!(!b.get("/").text().contains(title));

    // With it: stored, and shown.
    let loc = b.ask("Why is my socket half-closed?", "line one\n\nline two");
    let page = b.get(&loc);
    assert_eq!(page.status, 200);
    assert!(page.text().contains("<h1>Why is my socket half-closed?</h1>"));
    assert!(page.text().contains("<a class=\"tag\" href=\"/tags/sockets\">sockets</a>"));

    // Answer and comment through the page's forms, each redirecting back.
    let r = b.post(&format!("{loc}/answers"), &[("body", "Call shutdown(Write).")]);
    assert_eq!(r.status, 303, "{}", r.text());
    assert!(r.header("location").unwrap().starts_with(&loc));
    let thread = c.http().get(&format!("/webserv{}", loc.replace("/questions/", "/question/"))).json();
    let aid = thread["answers"][0]["id"].as_i64().expect("answer stored");
    let r = b.post(&format!("/answers/{aid}/comments"), &[("body", "Thanks, that was it.")]);
    assert_eq!(r.status, 303, "{}", r.text());
    assert!(r.header("location").unwrap().starts_with(&loc));
    let page = b.get(&loc).text();
    assert!(page.contains("Call shutdown(Write)."));
    assert!(page.contains("Thanks, that was it."));
    assert!(b.get("/").text().contains(&loc), "the front page links to it");

    // The lists that reach it: sort tabs, tags, search with [tag] filters, the user page.
    let link = format!("href=\"{loc}\"");
    for path in ["/?sort=votes", "/?sort=active", "/tags/sockets", "/users/csrf_user"] {
        let r = b.get(path);
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        assert!(r.text().contains(&link), "{path} lists the question");
    }
    assert!(!b.get("/?sort=unanswered").text().contains(&link), "answered");
    assert_eq!(b.get("/?sort=bogus").status, 400);
    assert!(b.get("/tags").text().contains("href=\"/tags/sockets\""));
    let found = b.get("/search?q=half-closed+%5Bsockets%5D");
    assert_eq!(found.status, 200, "{}", found.text());
    assert!(found.text().contains(&link), "found by a title word within its tag");
    assert!(!b.get("/search?q=half-closed+%5Bpython%5D").text().contains(&link), "filtered out by tag");

    // Logging out ends it: the next post goes to the login page again.
    let r = b.post("/logout", &[]);
    assert_eq!(r.status, 303);
    assert!(b.cookie("sw_session").is_none());
    let r = b.post(&format!("{loc}/answers"), &[("body", "after logout")]);
    assert_eq!(r.status, 303);
    assert!(r.header("location").unwrap().starts_with("/login"), "{:?}", r.header("location"));
}

#[test]
fn script_in_a_title_or_body_is_text_never_a_tag() {
    let c = Cluster::start("html-xss", small());
    let mut b = Browser::new(&c);
    b.sign_up("xss_user");
    let body = "<script>alert(2)</script>\n\n[click me](javascript:alert(3)) <img src=x onerror=alert(4)>\n\n\
                ```\n<b>kept as code</b>\n```";
    let loc = b.ask("<script>alert(1)</script>", body);
    let page = b.get(&loc).text();
    assert!(!page.contains("<script"), "no script tag anywhere in the page");
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "escaped title shown");
    assert!(page.contains("&lt;script&gt;alert(2)&lt;/script&gt;"), "raw HTML in the body shown as text");
    assert!(!page.contains("javascript:"), "no javascript: link");
    assert!(page.contains("click me"), "the link's text stays");
    assert!(!page.contains("<img"), "no image tag");
    assert!(page.contains("<pre><code>&lt;b&gt;kept as code&lt;/b&gt;\n</code></pre>"));
    assert!(!b.get("/").text().contains("<script>alert(1)"));
    let csp = b.get(&loc);
    assert!(csp.header("content-security-policy").unwrap_or("").contains("default-src 'none'"));
}

#[test]
fn a_form_error_rerenders_the_form_with_a_400() {
    let c = Cluster::start("html-error", small());
    let mut b = Browser::new(&c);
    b.sign_up("form_user");
    let r = b.post("/ask", &[("title", ""), ("body", "I kept my body text"), ("tags", "x")]);
    assert_eq!(r.status, 400);
    let page = r.text();
    assert!(page.contains("<form"), "the form is shown again");
    assert!(page.contains("title must be"), "the message names the field");
    assert!(page.contains("I kept my body text"), "the user's input is kept");
    assert_eq!(b.get("/questions/99999").status, 404);
    assert_eq!(b.get("/no/such/page").status, 404);
    let wrong = b.post("/login", &[("username", "form_user"), ("password", "not the password")]);
    assert_eq!(wrong.status, 401, "{}", wrong.text());
    assert!(wrong.text().contains("wrong username or password"));
}

#[test]
fn asking_too_fast_is_a_429_page_that_keeps_the_text() {
    let c = Cluster::start("html-limit", small());
    let mut b = Browser::new(&c);
    b.sign_up("fast_user");
    b.ask("First question of the minute", "body one");
    b.ask("Second question of the minute", "body two");
    let r = b.post("/ask", &[("title", "Third question"), ("body", "I kept this text"), ("tags", "x")]);
    assert_eq!(r.status, 429, "{}", r.text());
    let wait: u64 = r.header("retry-after").and_then(|v| v.parse().ok()).expect("Retry-After seconds");
    assert!((1..=60).contains(&wait), "{wait}");
    assert!(r.text().contains("try again in"), "{}", r.text());
    assert!(r.text().contains("I kept this text"), "the form comes back with the text");
}
