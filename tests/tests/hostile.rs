//! Issue 10: the hostile-input suite. Every route docs/api.md lists and every
//! HTML form the webui serves, sent NUL bytes, invalid UTF-8, huge, negative,
//! out-of-range and non-numeric values in each field (form, query string,
//! JSON body, path id, headers), by a logged-in user and with a valid CSRF
//! token so that the values reach the code that reads them.
//!
//! Asserted: no reply is a 5xx; a field that cannot be decoded is a 400 whose
//! message names it; and afterwards every instance of every service is still
//! in rotation and was never ejected (`/status/json` on the admin listener).

use std::collections::BTreeSet;
use testkit::http::parse_reply;
use testkit::{Cluster, HttpClient, Reply, Shape};

/// Hostile values, as they go on the wire (already percent-encoded).
const VALUES: &[&str] = &[
    "%00",
    "a%00b",
    "%FF%FE",
    "%C0%80",
    "%ED%A0%80",
    "-1",
    "0",
    "99999999999999999999",
    "1e3",
    "abc",
    "",
    "%5B",
    "%5B%5D",
];

/// Values that cannot be decoded at all: the 400 must name the field.
fn undecodable(v: &str) -> bool {
    matches!(v, "%00" | "a%00b" | "%FF%FE" | "%C0%80" | "%ED%A0%80")
}

/// `(METHOD, /path pattern, field names)` of every route in docs/api.md; the
/// fields are those its curl example sends (`-d name=` and the query string).
fn documented_routes() -> Vec<(String, String, Vec<String>)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/api.md");
    let text = std::fs::read_to_string(path).expect("docs/api.md");
    let mut out: Vec<(String, String, Vec<String>)> = Vec::new();
    for line in text.lines() {
        if let Some(route) = line.strip_prefix("### ") {
            let (m, p) = route.trim().split_once(' ').expect("### METHOD /path");
            out.push((m.to_string(), p.to_string(), Vec::new()));
            continue;
        }
        let Some(last) = out.last_mut() else { continue };
        let mut fields: Vec<String> = Vec::new();
        for piece in line.split("-d ").skip(1) {
            let piece = piece.trim_start_matches(['\'', '"']);
            if let Some((name, _)) = piece.split_once('=') {
                fields.push(name.to_string());
            }
        }
        if let Some(q) = line.split_once('?').map(|(_, q)| q) {
            if line.contains("curl") {
                let q = q.split(['"', '\'', ' ']).next().unwrap_or("");
                fields.extend(q.split('&').filter_map(|kv| kv.split_once('=').map(|(k, _)| k.to_string())));
            }
        }
        for f in fields {
            if !last.2.contains(&f) {
                last.2.push(f);
            }
        }
    }
    out
}

/// A request built byte by byte, so headers can carry any bytes.
fn raw(http: &HttpClient, method: &str, target: &str, headers: &[(&str, &[u8])], body: &[u8]) -> Reply {
    let mut req = format!("{method} {target} HTTP/1.1\r\nHost: hostile\r\nConnection: close\r\n").into_bytes();
    for (k, v) in headers {
        req.extend_from_slice(k.as_bytes());
        req.extend_from_slice(b": ");
        req.extend_from_slice(v);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
    req.extend_from_slice(body);
    let bytes = http.raw(&req);
    parse_reply(&bytes)
        .unwrap_or_else(|| panic!("no reply to {method} {target}: {:?}", String::from_utf8_lossy(&bytes)))
}

/// Records every reply; fails the test at the end with every 5xx seen.
#[derive(Default)]
struct Tally {
    sent: usize,
    server_errors: Vec<String>,
    unnamed: Vec<String>,
}

impl Tally {
    fn check(&mut self, what: String, r: &Reply, must_name: Option<&str>) {
        self.sent += 1;
        if r.status >= 500 {
            self.server_errors.push(format!("{what} → {}: {}", r.status, r.text()));
        }
        if let Some(field) = must_name {
            if r.status != 400 || !r.text().contains(field) {
                self.unnamed.push(format!("{what} → {}: {}", r.status, r.text()));
            }
        }
    }
}

fn form(pairs: &[(String, String)]) -> String {
    pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
}

/// The CSRF token in the first form of a page.
fn csrf_of(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").expect("a form with a CSRF token") + "name=\"csrf\" value=\"".len();
    page[at..].split('"').next().unwrap_or("").to_string()
}

#[test]
fn hostile_input_is_a_4xx_everywhere_and_costs_no_instance() {
    let c = Cluster::start("hostile", Shape::default());
    let token = c.signup_and_login("hostile_owner");
    let http = c.http_as(&token);
    let r = http.post_form("/webserv/question", &[("title", "A target"), ("body", "For hostile input"), ("tags", "x")]);
    assert_eq!(r.status, 201, "{}", r.text());
    let qid = r.json()["id"].to_string();
    let r = http.post_form("/webserv/answer", &[("question_id", &qid), ("body", "An answer to poke at")]);
    assert_eq!(r.status, 201, "{}", r.text());
    let aid = r.json()["id"].to_string();
    let valid = |field: &str| -> String {
        match field {
            "title" => "Valid+title".into(),
            "body" => "Valid+body".into(),
            "tags" => "x".into(),
            "question_id" | "id" => qid.clone(),
            "answer_id" => aid.clone(),
            "target" => "question".into(),
            "direction" => "up".into(),
            "username" => "hostile_owner".into(),
            "password" => "password-hostile_owner".into(),
            "q" => "target".into(),
            "sort" => "votes".into(),
            "tag" => "x".into(),
            _ => "1".into(),
        }
    };
    // A browser session first: the login throttle counts the failures this
    // suite is about to cause from this address, and would refuse it later.
    let anon = c.http();
    let page = anon.get("/signup");
    let cookie_of = |r: &Reply| -> Vec<String> {
        r.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
            .map(|(_, v)| v.split(';').next().unwrap_or("").to_string())
            .collect()
    };
    let mut jar = cookie_of(&page);
    let signup = format!("csrf={}&username=hostile_browser&password=a+long+password", csrf_of(&page.text()));
    let cookie = jar.join("; ");
    let r = raw(
        &anon,
        "POST",
        "/signup",
        &[("Cookie", cookie.as_bytes()), ("Content-Type", b"application/x-www-form-urlencoded")],
        signup.as_bytes(),
    );
    assert_eq!(r.status, 303, "sign up in the browser: {}", r.text());
    for set in cookie_of(&r) {
        let name = set.split('=').next().unwrap_or("").to_string();
        jar.retain(|c| !c.starts_with(&format!("{name}=")));
        jar.push(set);
    }
    let cookie = jar.join("; ");
    let page = raw(&anon, "GET", "/ask", &[("Cookie", cookie.as_bytes())], b"");
    assert_eq!(page.status, 200, "{}", page.text());
    let csrf = csrf_of(&page.text());
    let mut tally = Tally::default();
    let auth = format!("Bearer {token}");

    // Every documented route, each field in turn hostile, the others valid.
    let routes = documented_routes();
    assert!(routes.len() >= 18, "docs/api.md lists only {} routes", routes.len());
    for (method, pattern, mut fields) in routes {
        let logout = pattern == "/webserv/user/logout";
        let path = pattern
            .replace("{username}", "hostile_owner")
            .replace("{id}", if pattern.starts_with("/webserv/answer") { &aid } else { &qid });
        if method == "GET" {
            for extra in ["page", "per_page", "sort", "tag", "answers_page"] {
                if !fields.iter().any(|f| f == extra) && pattern.starts_with("/webserv/question") {
                    fields.push(extra.to_string());
                }
            }
        }
        let auth_header: &[(&str, &[u8])] = if logout { &[] } else { &[("Authorization", auth.as_bytes())] };
        for field in &fields {
            for v in VALUES {
                let pairs: Vec<(String, String)> =
                    fields.iter().map(|f| (f.clone(), if f == field { v.to_string() } else { valid(f) })).collect();
                let what = format!("{method} {path} {field}={v}");
                let named = undecodable(v).then_some(field.as_str());
                let r = if method == "GET" {
                    raw(&http, &method, &format!("{path}?{}", form(&pairs)), auth_header, b"")
                } else {
                    let ct: &[u8] = b"application/x-www-form-urlencoded";
                    let mut headers = auth_header.to_vec();
                    headers.push(("Content-Type", ct));
                    raw(&http, &method, &path, &headers, form(&pairs).as_bytes())
                };
                let named = named.filter(|_| !logout);
                tally.check(what, &r, named);
            }
            // Huge values.
            let huge: Vec<(String, String)> =
                fields.iter().map(|f| (f.clone(), if f == field { "x".repeat(40_000) } else { valid(f) })).collect();
            let r = if method == "GET" {
                raw(&http, &method, &format!("{path}?{}", form(&huge)), auth_header, b"")
            } else {
                raw(&http, &method, &path, auth_header, form(&huge).as_bytes())
            };
            tally.check(format!("{method} {path} {field}=<40000 x>"), &r, None);
        }
        if method == "POST" {
            // JSON bodies: NUL escapes, wrong types, numbers out of range, bad bytes.
            for body in [
                r#"{"F": "\u0000"}"#,
                r#"{"F": -1}"#,
                r#"{"F": 1e400}"#,
                r#"{"F": 18446744073709551616}"#,
                r#"{"F": [1, "\u0000"]}"#,
                r#"{"F": {"a": 1}}"#,
                r#"{"F": null}"#,
                "[1]",
                "{",
            ] {
                for field in fields.iter().chain([&"none".to_string()]) {
                    let doc = body.replace('F', field);
                    let mut headers = auth_header.to_vec();
                    headers.push(("Content-Type", b"application/json"));
                    let named = (body.contains("u0000") && !logout && field != "none").then_some(field.as_str());
                    let r = raw(&http, &method, &path, &headers, doc.as_bytes());
                    tally.check(format!("{method} {path} JSON {doc}"), &r, named);
                }
            }
            let mut headers = auth_header.to_vec();
            headers.push(("Content-Type", b"application/json"));
            let r = raw(&http, &method, &path, &headers, b"{\"body\": \"\xff\xfe\"}");
            tally.check(format!("{method} {path} JSON with invalid UTF-8"), &r, None);
            // Headers with bytes no client should send.
            for (name, value) in [
                ("Idempotency-Key", &b"\xff\xfe"[..]),
                ("Idempotency-Key", &b"k".repeat(5000)[..]),
                ("Authorization", &b"Bearer \xff\xfe"[..]),
                ("Content-Type", &b"application/x-www-form-urlencoded; charset=\xff"[..]),
                ("Cookie", &b"sw_session=\xff; sw_csrf=\x80"[..]),
            ] {
                let mut headers = auth_header.to_vec();
                headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
                headers.push((name, value));
                let r = raw(&http, &method, &path, &headers, b"title=t&body=b&tags=x");
                tally.check(format!("{method} {path} header {name}"), &r, None);
            }
        }
        // Ids in the path that name nothing.
        if pattern.contains('{') {
            for bad in ["%00", "%FF", "-1", "0", "99999999999999999999", "1e3", "abc"] {
                let p = pattern.replace("{id}", bad).replace("{username}", bad);
                let r = raw(&http, &method, &p, auth_header, b"");
                tally.check(format!("{method} {p}"), &r, None);
            }
        }
    }

    // Unknown /webserv/ routes are JSON 404s, not the webui's HTML page.
    for p in ["/webserv/nothing", "/webserv/questions", "/webserv/%00", "/webserv/question/1/2/3"] {
        let r = c.http().get(p);
        assert_eq!(r.status, 404, "{p}");
        assert!(r.header("content-type").unwrap_or("").starts_with("application/json"), "{p}: {}", r.text());
        assert!(r.json()["error"].is_string(), "{p}");
        tally.sent += 1;
    }

    // Every HTML form and page of the webui, through a logged-in browser.
    let cat = c.catalog();
    let webui_routes: BTreeSet<String> = testkit::catalog_service(&cat, "WebUI")
        .and_then(|s| s["routes"].as_array())
        .expect("webui routes in the catalog")
        .iter()
        .filter_map(|r| r.as_str().map(String::from))
        .collect();
    let form_fields = ["title", "body", "tags", "idem", "username", "password", "next", "back", "direction"];
    for route in &webui_routes {
        let (method, pattern) = route.split_once(' ').expect("METHOD /path");
        let path = pattern
            .replace("{username}", "hostile_owner")
            .replace("{tag}", "x")
            .replace("{id}", if pattern.starts_with("/answers") { &aid } else { &qid });
        let cookie_header: &[(&str, &[u8])] = &[("Cookie", cookie.as_bytes())];
        if method == "GET" {
            for q in ["page", "sort", "q", "next", "answers_page"] {
                for v in VALUES {
                    let target = format!("{path}?{q}={v}");
                    let r = raw(&anon, "GET", &target, cookie_header, b"");
                    tally.check(format!("GET {target}"), &r, undecodable(v).then_some(q));
                }
            }
            continue;
        }
        if path == "/logout" {
            continue;
        }
        for field in form_fields {
            for v in VALUES {
                let mut pairs: Vec<(String, String)> = vec![("csrf".into(), csrf.clone())];
                pairs.extend(
                    form_fields.iter().map(|f| (f.to_string(), if *f == field { v.to_string() } else { valid(f) })),
                );
                let mut headers = cookie_header.to_vec();
                headers.push(("Content-Type", b"application/x-www-form-urlencoded"));
                let r = raw(&anon, "POST", &path, &headers, form(&pairs).as_bytes());
                tally.check(format!("POST {path} {field}={v}"), &r, undecodable(v).then_some(field));
            }
        }
    }
    // The defects of the issue, by name.
    let r = c.http().get("/webserv/search?q=%00");
    assert_eq!((r.status, r.json()["error"].as_str()), (400, Some("q must not contain NUL characters")));
    assert_eq!(c.http().get("/search?q=%00").status, 400);
    let r = raw(
        &http,
        "POST",
        "/webserv/answer",
        &[("Authorization", auth.as_bytes()), ("Content-Type", b"application/x-www-form-urlencoded")],
        format!("question_id={qid}&body=%FF%FE").as_bytes(),
    );
    assert_eq!((r.status, r.json()["error"].as_str()), (400, Some("body must be valid UTF-8")), "{}", r.text());

    eprintln!("hostile: {} requests", tally.sent);
    assert!(
        tally.server_errors.is_empty(),
        "{} 5xx replies:\n{}",
        tally.server_errors.len(),
        tally.server_errors.join("\n")
    );
    assert!(tally.unnamed.is_empty(), "undecodable fields not refused by name:\n{}", tally.unnamed.join("\n"));

    // Nobody was ejected; every instance is in rotation.
    let status = c.status_json();
    let mut seen = 0;
    for s in status["services"].as_array().expect("services") {
        for i in s["instances"].as_array().expect("instances") {
            seen += 1;
            assert_eq!(i["available"], true, "{} {} left rotation: {i}", s["service"], i["addr"]);
            assert_eq!(i["ejections"], 0, "{} {} was ejected: {i}", s["service"], i["addr"]);
        }
    }
    assert_eq!(seen, 10, "every instance is listed: {status}");
}
