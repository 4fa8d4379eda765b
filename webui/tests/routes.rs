//! Routing and page-flow tests against the in-memory fake of the services
//! (tests/fake), with a tiny cookie jar standing in for the browser, so
//! every status, redirect, cookie and CSRF rule the site promises is checked
//! without a network.

mod fake;

use fake::Fake;
use proto::pb::{Header, HttpRequest, HttpResponse};
use webui::backend::Call;
use webui::routes::{handle, route, Route, ROUTES};
use webui::{auth, csrf, html};

/// The CSRF secret of these tests.
fn key() -> csrf::Key {
    csrf::Key::from_hex(&"ab".repeat(16)).expect("a valid test secret")
}

fn call() -> Call {
    Call { request_id: "test-request".into(), deadline: None, token: None }
}

fn request(method: &str, target: &str, body: Option<&str>, cookies: &str) -> HttpRequest {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut headers = Vec::new();
    if body.is_some() {
        headers.push(Header { name: "Content-Type".into(), value: b"application/x-www-form-urlencoded".to_vec() });
    }
    if !cookies.is_empty() {
        headers.push(Header { name: "Cookie".into(), value: cookies.as_bytes().to_vec() });
    }
    HttpRequest {
        method: method.into(),
        path: path.into(),
        query: query.into(),
        headers,
        body: body.unwrap_or("").as_bytes().to_vec(),
        ..Default::default()
    }
}

fn header(r: &HttpResponse, name: &str) -> Option<String> {
    r.headers.iter().find(|h| h.name.eq_ignore_ascii_case(name)).map(|h| String::from_utf8_lossy(&h.value).into())
}

fn set_cookies(r: &HttpResponse) -> Vec<String> {
    r.headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case("set-cookie"))
        .map(|h| String::from_utf8_lossy(&h.value).into())
        .collect()
}

fn body(r: &HttpResponse) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

fn assert_html(r: &HttpResponse, status: u32) {
    assert_eq!(r.status, status, "{}", body(r));
    assert_eq!(header(r, "content-type").as_deref(), Some("text/html; charset=utf-8"));
    assert!(body(r).starts_with("<!DOCTYPE html>"));
}

fn location(r: &HttpResponse) -> String {
    assert_eq!(r.status, 303, "{}", body(r));
    header(r, "location").expect("Location")
}

/// A browser's cookie jar over the fake.
struct Browser<'a> {
    fake: &'a Fake,
    jar: Vec<(String, String)>,
}

impl<'a> Browser<'a> {
    fn new(fake: &'a Fake) -> Browser<'a> {
        Browser { fake, jar: Vec::new() }
    }

    fn cookie(&self, name: &str) -> Option<String> {
        self.jar.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    fn send(&mut self, method: &str, target: &str, body: Option<&str>) -> HttpResponse {
        let cookies = self.jar.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
        let r = handle(self.fake, &key(), &call(), &request(method, target, body, &cookies));
        for c in set_cookies(&r) {
            let (pair, attrs) = c.split_once(';').unwrap_or((&c, ""));
            let (k, v) = pair.split_once('=').unwrap();
            self.jar.retain(|(name, _)| name != k);
            if !attrs.contains("Max-Age=0") {
                self.jar.push((k.to_string(), v.to_string()));
            }
        }
        r
    }

    fn get(&mut self, target: &str) -> HttpResponse {
        self.send("GET", target, None)
    }

    /// The CSRF token the pages give this browser: bound to its session,
    /// or to its pre-session id when it has no session.
    fn token(&self) -> String {
        match self.cookie(auth::SESSION_COOKIE) {
            Some(s) => key().token(csrf::Binding::Session(&s)),
            None => key().token(csrf::Binding::Visitor(&self.cookie(csrf::COOKIE).expect("a pre-session id"))),
        }
    }

    /// POSTs `fields` plus the CSRF token, as a page's form would.
    fn post(&mut self, target: &str, fields: &[(&str, &str)]) -> HttpResponse {
        if self.cookie(csrf::COOKIE).is_none() {
            self.get("/");
        }
        let token = self.token();
        let mut all = vec![(csrf::FIELD, token.as_str())];
        all.extend_from_slice(fields);
        let form = all
            .iter()
            .map(|(k, v)| format!("{}={}", proto::http::percent_encode(k), proto::http::percent_encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        self.send("POST", target, Some(&form))
    }

    /// Logs in as a user the fake already has a session for.
    fn logged_in(fake: &'a Fake, name: &str) -> (Browser<'a>, i64) {
        let (id, token) = fake.user(name);
        let mut b = Browser::new(fake);
        b.jar.push((auth::SESSION_COOKIE.into(), token));
        (b, id)
    }
}

#[test]
fn paths_match_exactly_and_ids_are_positive_integers() {
    assert_eq!(route("/"), Some(Route::Home));
    assert_eq!(route("/questions/42"), Some(Route::Question(42)));
    assert_eq!(route("/questions/42/vote"), Some(Route::QuestionVote(42)));
    assert_eq!(route("/answers/9/accept"), Some(Route::Accept(9)));
    assert_eq!(route("/answers/9/revisions"), Some(Route::AnswerRevisions(9)));
    assert_eq!(route("/tags/c++"), Some(Route::Tag("c++".into())));
    assert_eq!(route("/users/ann_b.c-9"), Some(Route::User("ann_b.c-9".into())));
    for bad in [
        "",
        "ask",
        "/ask/",
        "/ASK",
        "/questions",
        "/questions/",
        "/questions/abc",
        "/questions/-1",
        "/questions/+1",
        "/questions/0",
        "/questions/1.5",
        "/questions/99999999999999999999",
        "/questions/1/",
        "/questions/1/answers/2",
        "/answers/1",
        "/answers/x/comments",
        "//",
        "/tags/",
        "/tags/Rust",
        "/tags/a b",
        "/tags/x/y",
        "/users/ab",
        "/users/a%20b",
        "/users/",
        "/login/x",
    ] {
        assert_eq!(route(bad), None, "{bad:?}");
    }
    assert_eq!(ROUTES.len(), 24);
}

#[test]
fn unknown_paths_and_ids_are_404_and_wrong_methods_405() {
    let fake = Fake::default();
    fake.question(0, "q", &[]);
    let mut b = Browser::new(&fake);
    for target in ["/nope", "/questions/abc", "/questions/9", "/users/nobody", "/answers/9/revisions"] {
        assert_html(&b.get(target), 404);
    }
    for (method, target, allow) in [
        ("POST", "/", "GET, HEAD"),
        ("DELETE", "/ask", "GET, HEAD, POST"),
        ("PUT", "/questions/1", "GET, HEAD"),
        ("GET", "/questions/1/answers", "POST"),
        ("GET", "/logout", "POST"),
        ("HEAD", "/answers/1/vote", "POST"),
        ("get", "/", "GET, HEAD"),
    ] {
        let r = b.send(method, target, None);
        assert_eq!(r.status, 405, "{method} {target}");
        assert_eq!(header(&r, "allow").as_deref(), Some(allow));
    }
}

#[test]
fn head_is_get_without_a_body() {
    let fake = Fake::default();
    fake.question(0, "q", &[]);
    let mut b = Browser::new(&fake);
    let get = b.get("/");
    let head = b.send("HEAD", "/", None);
    assert_html(&get, 200);
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert_eq!(header(&head, "content-length"), Some(get.body.len().to_string()));
    assert_eq!(b.send("HEAD", "/questions/1", None).status, 200);
}

#[test]
fn pages_link_the_stylesheet_which_is_served_immutable_without_a_cookie() {
    let fake = Fake::default();
    fake.question(0, "q", &[]);
    let mut b = Browser::new(&fake);
    let page = body(&b.get("/questions/1"));
    assert!(!page.contains("<style"), "no inline style: the CSP refuses it");
    let href = page.split("<link rel=\"stylesheet\" href=\"").nth(1).and_then(|s| s.split('"').next());
    let href = href.expect("the page links a stylesheet").to_string();
    assert_eq!(href, webui::html::STYLE_PATH.as_str());
    let css = b.send("GET", &href, None);
    assert_eq!(css.status, 200);
    assert_eq!(header(&css, "content-type").as_deref(), Some("text/css; charset=utf-8"));
    assert_eq!(header(&css, "cache-control").as_deref(), Some("public, max-age=31536000, immutable"));
    assert_eq!(css.body.as_ref(), webui::html::STYLE.as_bytes());
    assert!(set_cookies(&css).is_empty(), "the same for everybody: no cookie");
    let head = b.send("HEAD", &href, None);
    assert!(head.status == 200 && head.body.is_empty());
    assert_eq!(header(&head, "content-length"), Some(webui::html::STYLE.len().to_string()));
    // Another version's address (a rolling restart): the current sheet, not to be kept.
    let other = b.send("GET", "/style/site.0123456789abcdef.css", None);
    assert_eq!(other.status, 200);
    assert_eq!(header(&other, "cache-control").as_deref(), Some("no-cache"));
    assert_eq!(b.send("POST", &href, None).status, 405);
    for bad in ["/style/site.css", "/style/site.0123456789ABCDEF.css", "/style/site.0123.css", "/style/x.css"] {
        assert_html(&b.get(bad), 404);
    }
}

#[test]
fn csrf_cookie_is_issued_once_and_put_in_every_form() {
    let fake = Fake::default();
    let (mut b, _) = Browser::logged_in(&fake, "ann");
    let first = b.get("/ask");
    let issued = set_cookies(&first);
    assert_eq!(issued.len(), 1, "{issued:?}");
    assert!(issued[0].starts_with("sw_csrf=") && issued[0].contains("SameSite=Lax"));
    let token = b.token();
    assert_ne!(Some(&token), b.cookie("sw_csrf").as_ref(), "the token is never a cookie's value");
    assert!(body(&first).contains(&csrf::hidden_field(&token)));
    let second = b.get("/ask");
    assert!(set_cookies(&second).is_empty(), "kept while the browser has it");
    assert!(body(&second).contains(&csrf::hidden_field(&token)));
}

#[test]
fn posts_without_a_matching_csrf_token_are_403_and_change_nothing() {
    let fake = Fake::default();
    let (mut b, _) = Browser::logged_in(&fake, "ann");
    b.get("/");
    let token = b.token();
    let fields = "title=Hello+there&body=b&tags=x";
    for form in [fields.to_string(), format!("{fields}&csrf="), format!("{fields}&csrf={}", csrf::new_token())] {
        let r = b.send("POST", "/ask", Some(&form));
        assert_html(&r, 403);
        assert!(body(&r).contains("Form expired"));
    }
    // A matching field but no cookie: refused too, and a cookie is issued.
    let mut fresh = Browser::logged_in(&fake, "bob").0;
    let r = fresh.send("POST", "/ask", Some(&format!("{fields}&csrf={token}")));
    assert_html(&r, 403);
    assert!(fresh.cookie("sw_csrf").is_some());
    // The login and logout forms are protected too.
    assert_html(&fresh.send("POST", "/login", Some("username=ann&password=password-ann")), 403);
    assert_html(&fresh.send("POST", "/logout", Some("")), 403);
    assert!(fake.s().calls.iter().all(|c| !["create_question", "log_in", "log_out"].contains(c)));

    // A planted pair (a pre-session cookie of the attacker's choosing and the
    // same value as the field) does not match a victim's session.
    let planted = csrf::new_token();
    b.jar.retain(|(k, _)| k != csrf::COOKIE);
    b.jar.push((csrf::COOKIE.into(), planted.clone()));
    assert_html(&b.send("POST", "/ask", Some(&format!("{fields}&csrf={planted}"))), 403);

    let ok = b.send("POST", "/ask", Some(&format!("{fields}&csrf={token}")));
    assert_eq!(location(&ok), "/questions/3");
}

#[test]
fn visitors_are_sent_to_log_in_and_come_back() {
    let fake = Fake::default();
    let (uid, _) = fake.user("ann");
    let qid = fake.question(uid, "q", &[]);
    let mut b = Browser::new(&fake);
    assert_eq!(location(&b.get("/ask")), "/login?next=%2Fask");
    assert_eq!(location(&b.post("/ask", &[("title", "t"), ("body", "b"), ("tags", "x")])), "/login?next=%2Fask");
    let back = format!("/questions/{qid}?answers_page=2#answer-9");
    let to_login = location(&b.post(&format!("/questions/{qid}/vote"), &[("direction", "up"), ("back", &back)]));
    assert_eq!(to_login, format!("/login?next={}", proto::http::percent_encode(&back)));
    assert_eq!(
        location(&b.post(&format!("/questions/{qid}/answers"), &[("body", "b")])),
        format!("/login?next=%2Fquestions%2F{qid}")
    );
    // A `back` that leaves the site is ignored.
    let r = b.post(&format!("/questions/{qid}/vote"), &[("direction", "up"), ("back", "//evil.example/")]);
    assert_eq!(location(&r), format!("/login?next=%2Fquestions%2F{qid}"));
    assert!(fake.s().calls.iter().all(|c| *c != "vote" && *c != "create_question"));

    let login = b.get(&to_login);
    assert_html(&login, 200);
    assert!(body(&login).contains(&format!("name=\"next\" value=\"{}\"", html::escape(&back))));
    let r = b.post("/login", &[("username", "ann"), ("password", "password-ann"), ("next", &back)]);
    assert_eq!(location(&r), back);
    let cookie = set_cookies(&r).into_iter().find(|c| c.starts_with("sw_session=")).expect("session cookie");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/"));
    assert!(body(&b.get("/")).contains("<a href=\"/users/ann\">ann</a>"));
    let evil = b.post("/login", &[("username", "ann"), ("password", "password-ann"), ("next", "https://evil.example")]);
    assert_eq!(location(&evil), "/");
}

#[test]
fn sign_up_log_in_and_log_out() {
    let fake = Fake::default();
    let mut b = Browser::new(&fake);
    assert_html(&b.get("/signup"), 200);
    let r = b.post("/signup", &[("username", "newbie"), ("password", "long enough")]);
    assert_eq!(location(&r), "/");
    assert!(b.cookie("sw_session").is_some());
    let home = body(&b.get("/"));
    assert!(home.contains(">newbie</a>") && home.contains("action=\"/logout\""));
    assert_eq!(location(&b.get("/login")), "/", "already logged in");

    let out = b.post("/logout", &[]);
    assert_eq!(location(&out), "/");
    assert!(set_cookies(&out).iter().any(|c| c.starts_with("sw_session=;") && c.contains("Max-Age=0")));
    assert!(b.cookie("sw_session").is_none());
    assert!(fake.s().sessions.is_empty(), "the session ended on the server");
    assert!(body(&b.get("/")).contains(">Log in</a>"));

    let dup = b.post("/signup", &[("username", "newbie"), ("password", "long enough")]);
    assert_html(&dup, 409);
    assert!(body(&dup).contains("username newbie is taken") && body(&dup).contains("value=\"newbie\""));
    let short = b.post("/signup", &[("username", "ab"), ("password", "long enough")]);
    assert_html(&short, 400);
    let wrong = b.post("/login", &[("username", "newbie"), ("password", "not it at all")]);
    assert_html(&wrong, 401);
    assert!(body(&wrong).contains("wrong username or password"));
    assert!(!body(&wrong).contains("not it at all"), "the password is never echoed");
}

#[test]
fn a_dead_session_cookie_is_cleared_and_the_page_still_shows() {
    let fake = Fake::default();
    let mut b = Browser::new(&fake);
    b.jar.push(("sw_session".into(), "revoked".into()));
    let r = b.get("/");
    assert_html(&r, 200);
    assert!(set_cookies(&r).iter().any(|c| c.starts_with("sw_session=;")));
    assert!(b.cookie("sw_session").is_none());
}

#[test]
fn asking_passes_the_author_tags_and_key_with_one_authentication() {
    let fake = Fake::default();
    let (mut b, uid) = Browser::logged_in(&fake, "ann");
    b.get("/ask");
    fake.s().calls.clear();
    let r = b.post(
        "/ask",
        &[
            ("title", "How do I <x>?"),
            ("body", "Line 1\r\n\r\n```\nfn  x()\n```"),
            ("tags", "Rust, tcp"),
            ("idem", "key-1"),
        ],
    );
    let loc = location(&r);
    let s = fake.s();
    assert_eq!(s.calls.iter().filter(|c| **c == "authenticate").count(), 1);
    assert!(s.ids_seen.contains(&("create_question", uid)));
    assert_eq!(s.idempotency_keys, vec!["key-1".to_string()]);
    assert_eq!(s.questions[0].tags, vec!["rust", "tcp"]);
    drop(s);
    let page = body(&b.get(&loc));
    assert!(page.contains("<h1>How do I &lt;x&gt;?</h1>"));
    assert!(page.contains("<pre><code>fn  x()\n</code></pre>"));
    assert!(page.contains("<a class=\"tag\" href=\"/tags/rust\">rust</a>"));
    assert!(page.contains("href=\"/questions/2/edit\""), "the author may edit");
}

#[test]
fn a_rejected_question_comes_back_with_the_input_and_400() {
    let fake = Fake::default();
    let (mut b, _) = Browser::logged_in(&fake, "ann");
    let r = b.post("/ask", &[("title", "  "), ("body", "keep <me>"), ("tags", "x")]);
    assert_html(&r, 400);
    assert!(
        body(&r).contains("title must be 1 to 200 characters") && body(&r).contains(">\nkeep &lt;me&gt;</textarea>")
    );
    let r = b.post("/ask", &[("title", "t"), ("body", "b"), ("tags", "")]);
    assert_html(&r, 400);
    assert!(body(&r).contains("tags: give 1 to 5 tags"));
    assert!(!fake.s().calls.contains(&"create_question"), "invalid forms never reach the service");
    let strict = Fake { reject: Some("title must not repeat an existing title".into()), ..Fake::default() };
    let (mut b, _) = Browser::logged_in(&strict, "ann");
    let r = b.post("/ask", &[("title", "dup"), ("body", "b"), ("tags", "x")]);
    assert_html(&r, 400);
    assert!(body(&r).contains("value=\"dup\" aria-invalid=\"true\""));
}

#[test]
fn posting_too_fast_is_429_with_the_message_and_the_text_kept() {
    let message = "you can ask at most 2 questions a minute; try again in 37 seconds";
    let fake = Fake { limit: Some(message.into()), ..Fake::default() };
    let (mut b, uid) = Browser::logged_in(&fake, "ann");
    let r = b.post("/ask", &[("title", "My title"), ("body", "My body"), ("tags", "x")]);
    assert_html(&r, 429);
    assert_eq!(header(&r, "retry-after").as_deref(), Some("37"));
    assert!(body(&r).contains(message) && body(&r).contains("value=\"My title\""));
    let qid = fake.question(uid, "q", &[]);
    let r = b.post(&format!("/questions/{qid}/answers"), &[("body", "my answer")]);
    assert_html(&r, 429);
    assert!(body(&r).contains(">\nmy answer</textarea>"));
}

#[test]
fn answering_and_commenting_redirect_to_the_answer() {
    let fake = Fake::default();
    let (asker, _) = fake.user("asker");
    let qid = fake.question(asker, "q", &[]);
    let (mut b, uid) = Browser::logged_in(&fake, "helper");
    let r = b.post(&format!("/questions/{qid}/answers"), &[("body", "Try this")]);
    let loc = location(&r);
    let aid: i64 = loc.rsplit("#answer-").next().unwrap().parse().unwrap();
    assert_eq!(loc, format!("/questions/{qid}#answer-{aid}"));
    assert!(fake.s().ids_seen.contains(&("create_answer", uid)));
    let r = b.post(&format!("/answers/{aid}/comments"), &[("body", "nice & short")]);
    assert_eq!(location(&r), loc);
    assert!(body(&b.get(&format!("/questions/{qid}"))).contains("nice &amp; short"));

    let long = "c".repeat(601);
    let r = b.post(&format!("/answers/{aid}/comments"), &[("body", &long)]);
    assert_html(&r, 400);
    assert!(body(&r).contains(&format!("id=\"comment-error-{aid}\">body must be 1 to 600 characters")));
    assert_html(&b.post("/questions/999/answers", &[("body", "lost")]), 404);
    assert_html(&b.post("/answers/999/comments", &[("body", "hi")]), 404);
}

#[test]
fn votes_toggle_show_pressed_and_refuse_own_posts() {
    let fake = Fake::default();
    let (asker, _) = fake.user("asker");
    let qid = fake.question(asker, "q", &[]);
    let (mut b, voter) = Browser::logged_in(&fake, "voter");
    let aid = fake.answer(voter, qid);
    let r = b.post(&format!("/questions/{qid}/vote"), &[("direction", "up"), ("back", &format!("/questions/{qid}"))]);
    assert_eq!(location(&r), format!("/questions/{qid}"));
    assert!(fake.s().ids_seen.contains(&("vote", voter)));
    let page = body(&b.get(&format!("/questions/{qid}")));
    assert!(page.contains("<span class=\"score\" aria-label=\"score\">1</span>"));
    assert_eq!(page.matches("aria-pressed=\"true\"").count(), 1);
    assert_eq!(fake.s().thread_requests.last().unwrap().viewer_id, voter);
    // Again the same way takes it back.
    b.post(&format!("/questions/{qid}/vote"), &[("direction", "up")]);
    assert!(body(&b.get(&format!("/questions/{qid}"))).contains("aria-label=\"score\">0</span>"));
    // One's own answer: 403 with the service's message.
    let own = b.post(&format!("/answers/{aid}/vote"), &[("direction", "down")]);
    assert_html(&own, 403);
    assert!(body(&own).contains("you cannot vote on your own post"));
    assert_html(&b.post(&format!("/questions/{qid}/vote"), &[("direction", "sideways")]), 400);
    assert_html(&b.post("/answers/999/vote", &[("direction", "up")]), 404);
    // An answer vote without `back` finds its way to the answer.
    let (mut other, _) = Browser::logged_in(&fake, "other");
    let r = other.post(&format!("/answers/{aid}/vote"), &[("direction", "up")]);
    assert_eq!(location(&r), format!("/questions/{qid}#answer-{aid}"));
}

#[test]
fn only_the_asker_accepts_and_the_accepted_answer_comes_first() {
    let fake = Fake::default();
    let (mut asker, asker_id) = Browser::logged_in(&fake, "asker");
    let (mut helper, helper_id) = Browser::logged_in(&fake, "helper");
    let qid = fake.question(asker_id, "q", &[]);
    let first = fake.answer(helper_id, qid);
    let second = fake.answer(helper_id, qid);
    assert_html(&helper.post(&format!("/answers/{second}/accept"), &[]), 403);
    let r = asker.post(&format!("/answers/{second}/accept"), &[]);
    assert_eq!(location(&r), format!("/questions/{qid}#answer-{second}"));
    let page = body(&asker.get(&format!("/questions/{qid}")));
    let (s, f) =
        (page.find(&format!("id=\"answer-{second}\"")).unwrap(), page.find(&format!("id=\"answer-{first}\"")).unwrap());
    assert!(s < f, "accepted first");
    assert!(page.contains(&format!("<article class=\"answer accepted\" id=\"answer-{second}\">")));
    assert!(page.contains(&format!("action=\"/answers/{first}/accept\"")));
}

#[test]
fn authors_edit_their_posts_and_others_get_403() {
    let fake = Fake::default();
    let (mut author, uid) = Browser::logged_in(&fake, "author");
    let (mut other, _) = Browser::logged_in(&fake, "other");
    let qid = fake.question(uid, "Old title", &["a", "b"]);
    let form = author.get(&format!("/questions/{qid}/edit"));
    assert_html(&form, 200);
    assert!(body(&form).contains("value=\"Old title\"") && body(&form).contains("value=\"a b\""));
    assert_html(&other.get(&format!("/questions/{qid}/edit")), 403);
    assert_html(&other.post(&format!("/questions/{qid}/edit"), &[("title", "x"), ("body", "y"), ("tags", "z")]), 403);
    let r =
        author.post(&format!("/questions/{qid}/edit"), &[("title", "New title"), ("body", "New body"), ("tags", "c")]);
    assert_eq!(location(&r), format!("/questions/{qid}"));
    assert!(body(&author.get(&format!("/questions/{qid}"))).contains("<h1>New title</h1>"));
    let history = author.get(&format!("/questions/{qid}/revisions"));
    assert_html(&history, 200);
    assert!(body(&history).contains("<h2>New title</h2>"));
    let bad = author.post(&format!("/questions/{qid}/edit"), &[("title", ""), ("body", "b"), ("tags", "c")]);
    assert_html(&bad, 400);

    let aid = fake.answer(uid, qid);
    assert_html(&author.get(&format!("/answers/{aid}/edit")), 200);
    assert_html(&other.get(&format!("/answers/{aid}/edit")), 403);
    let r = author.post(&format!("/answers/{aid}/edit"), &[("body", "better")]);
    assert_eq!(location(&r), format!("/questions/{qid}#answer-{aid}"));
    let history = body(&author.get(&format!("/answers/{aid}/revisions")));
    assert!(history.contains(&format!("href=\"/questions/{qid}#answer-{aid}\"")) && history.contains("original"));
}

#[test]
fn lists_pass_sort_tag_page_and_query_through() {
    let fake = Fake::default();
    for i in 0..25 {
        fake.question(0, &format!("question {i}"), if i % 2 == 0 { &["even"] } else { &["odd"] });
    }
    let mut b = Browser::new(&fake);
    let first = body(&b.get("/?sort=votes"));
    assert_eq!(first.matches("<a class=\"title\"").count(), 20);
    // "Next" continues after the last question shown; page 2 by number works too.
    let needle = "<a class=\"title\" href=\"/questions/";
    let last = first.rfind(needle).map(|i| &first[i + needle.len()..]).unwrap();
    let last_id: String = last.chars().take_while(char::is_ascii_digit).collect();
    let next = format!("/?sort=votes&page=2&after={last_id}");
    assert!(first.contains(&format!("href=\"{}\" rel=\"next\"", next.replace('&', "&amp;"))), "{first}");
    let second = body(&b.get(&next));
    assert_eq!(second.matches("<a class=\"title\"").count(), 5);
    assert_eq!(body(&b.get("/?sort=votes&page=2")).matches("<a class=\"title\"").count(), 5);
    assert_html(&b.get("/?after=x"), 400);
    for bad in
        ["/?page=0", "/?page=abc", "/?page=-1", "/?page=99999999999", "/?sort=oldest", "/questions/1?answers_page=0"]
    {
        assert_html(&b.get(bad), 400);
    }
    let tagged = body(&b.get("/tags/even?sort=unanswered"));
    assert_eq!(tagged.matches("<a class=\"title\"").count(), 13);
    let tags = body(&b.get("/tags"));
    assert!(tags.contains("href=\"/tags/even\">even</a></td><td class=\"n\">13 questions"));
    let found = body(&b.get("/search?q=question+2%20%5Beven%5D"));
    assert!(found.contains("value=\"question 2 [even]\""));
    assert_html(&b.get("/search"), 200);
    assert_html(&b.get(&format!("/search?q={}", "x".repeat(201))), 400);
    b.get("/questions/3?answers_page=2");
    let s = fake.s();
    let lists: Vec<(String, String, u32, bool)> =
        s.list_requests.iter().map(|r| (r.sort.clone(), r.tag.clone(), r.page, r.after > 0)).collect();
    assert_eq!(
        lists,
        vec![
            ("votes".into(), "".into(), 1, false),
            ("votes".into(), "".into(), 2, true),
            ("votes".into(), "".into(), 2, false),
            ("unanswered".into(), "even".into(), 1, false)
        ]
    );
    assert_eq!(s.search_requests.len(), 1, "an empty query asks nothing");
    assert_eq!(s.search_requests[0].q, "question 2 [even]");
    assert_eq!(s.thread_requests.last().map(|t| (t.id, t.answer_page, t.viewer_id)), Some((3, 2, 0)));
}

#[test]
fn user_pages_show_the_users_posts() {
    let fake = Fake::default();
    let (uid, _) = fake.user("ann");
    fake.question(uid, "Ann's question", &[]);
    let mut b = Browser::new(&fake);
    let page = b.get("/users/ann");
    assert_html(&page, 200);
    assert!(body(&page).contains("Ann&#39;s question"));
    assert_html(&b.get("/users/nobody"), 404);
}

#[test]
fn an_unavailable_service_gives_a_503_page() {
    let fake = Fake { down: true, ..Fake::default() };
    let mut b = Browser::new(&fake);
    for target in ["/", "/questions/1", "/tags", "/search?q=x", "/users/ann"] {
        let r = b.get(target);
        assert_html(&r, 503);
        assert!(body(&r).contains("not available right now"), "{target}");
    }
    // With the user service down, reading still works; posting cannot tell who you are.
    let fake = Fake { users_down: true, ..Fake::default() };
    fake.question(0, "q", &[]);
    let (mut b, _) = Browser::logged_in(&fake, "ann");
    assert_html(&b.get("/questions/1"), 200);
    let r = b.post("/questions/1/answers", &[("body", "b")]);
    assert_html(&r, 503);
    assert!(body(&r).contains("user service"));
}

#[test]
fn posts_that_are_not_forms_are_415() {
    let fake = Fake::default();
    let mut req = request("POST", "/ask", Some("{}"), "");
    req.headers[0].value = b"application/json".to_vec();
    assert_html(&handle(&fake, &key(), &call(), &req), 415);
}

#[test]
fn a_saved_comment_whose_question_cannot_be_found_says_it_was_saved() {
    let fake = Fake { answer_get_down: true, ..Fake::default() };
    let qid = fake.question(0, "q", &[]);
    let aid = fake.answer(0, qid);
    let (mut b, _) = Browser::logged_in(&fake, "ann");
    let r = b.post(&format!("/answers/{aid}/comments"), &[("body", "hi")]);
    assert_html(&r, 503);
    assert!(body(&r).contains("Your comment was saved"));
    assert_eq!(fake.s().comments.len(), 1, "the comment is stored");
}
