//! docs/api.md is true: every route it lists exists on a live cluster, every
//! route the services publish is listed, and every curl example, run as
//! written (shell variables filled in with real tokens and ids), succeeds.
//!
//! The file's format is what this test reads: a `### METHOD /path` heading
//! per route (`{id}` / `{username}` for path parameters), followed by one
//! ```` ```sh ```` block holding a curl command. The command is tokenised like
//! a shell would (quotes, `\` line continuations, `$VAR` expansion) and
//! turned into the request curl would send (`-X`, `-H`, `-d` joined by `&`,
//! POST when there is data).

use std::collections::{BTreeSet, HashMap};
use testkit::{Cluster, HttpClient, Reply, Shape};

/// One route of the docs with its example.
#[derive(Debug)]
struct Example {
    route: String,
    curl: String,
}

fn docs() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/api.md");
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

/// `### METHOD /path` sections, each with the first sh block under it.
fn parse_docs(text: &str) -> Vec<Example> {
    let mut out = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let Some(route) = line.strip_prefix("### ") else { continue };
        let route = route.trim().to_string();
        let (method, path) = route.split_once(' ').unwrap_or_else(|| panic!("heading {route:?} is not METHOD /path"));
        assert!(matches!(method, "GET" | "POST"), "heading {route:?}: method");
        assert!(path.starts_with("/webserv/") && !path.contains(' '), "heading {route:?}: path");
        let mut curl = None;
        while let Some(l) = lines.peek() {
            if l.starts_with("### ") || l.starts_with("## ") {
                break;
            }
            let l = lines.next().unwrap_or_default();
            if l.trim() == "```sh" && curl.is_none() {
                let block: Vec<&str> = lines.by_ref().take_while(|l| l.trim() != "```").collect();
                curl = Some(block.join("\n"));
            }
        }
        let curl = curl.unwrap_or_else(|| panic!("{route} has no ```sh example"));
        out.push(Example { route, curl });
    }
    out
}

/// Shell-style words: quotes, backslash-newline, `$VAR` / `${VAR}` outside single quotes.
fn shell_words(cmd: &str, vars: &HashMap<&str, String>) -> Vec<String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let chars: Vec<char> = cmd.chars().collect();
    let mut i = 0;
    let mut quote: Option<char> = None;
    while i < chars.len() {
        let c = chars[i];
        match (quote, c) {
            (None, '\\') if chars.get(i + 1) == Some(&'\n') => i += 1,
            (None, c) if c.is_whitespace() => {
                if let Some(w) = word.take() {
                    words.push(w);
                }
            }
            (None, '\'' | '"') => {
                quote = Some(c);
                word.get_or_insert_with(String::new);
            }
            (Some(q), c) if c == q => quote = None,
            (Some('\''), c) => word.get_or_insert_with(String::new).push(c),
            (_, '$') => {
                let braced = chars.get(i + 1) == Some(&'{');
                let start = if braced { i + 2 } else { i + 1 };
                let len = chars[start..].iter().take_while(|c| c.is_ascii_uppercase() || **c == '_').count();
                let name: String = chars[start..start + len].iter().collect();
                let value = vars.get(name.as_str()).unwrap_or_else(|| panic!("unknown variable ${name} in {cmd}"));
                word.get_or_insert_with(String::new).push_str(value);
                i = start + len + usize::from(braced) - 1;
            }
            (_, c) => word.get_or_insert_with(String::new).push(c),
        }
        i += 1;
    }
    assert!(quote.is_none(), "unclosed quote in {cmd}");
    words.extend(word);
    words
}

/// The request the curl command would send: method, path with query, headers, body.
fn curl_request(words: &[String]) -> (String, String, Vec<(String, String)>, String) {
    assert_eq!(words.first().map(String::as_str), Some("curl"), "{words:?}");
    let (mut method, mut url, mut headers, mut data) = (None, None, Vec::new(), Vec::<String>::new());
    let mut it = words[1..].iter();
    while let Some(w) = it.next() {
        match w.as_str() {
            "-s" | "-S" | "-sS" | "-i" => {}
            "-X" => method = it.next().cloned(),
            "-H" => {
                let h = it.next().expect("-H value");
                let (k, v) = h.split_once(':').unwrap_or_else(|| panic!("header {h:?}"));
                headers.push((k.trim().to_string(), v.trim().to_string()));
            }
            "-d" => data.push(it.next().expect("-d value").clone()),
            other if other.contains("/webserv/") => url = Some(other.to_string()),
            other => panic!("curl option {other:?} is not understood by this test"),
        }
    }
    let url = url.expect("a /webserv/ URL");
    let path = url[url.find("/webserv/").unwrap_or(0)..].to_string();
    let method = method.unwrap_or_else(|| if data.is_empty() { "GET" } else { "POST" }.to_string());
    if !data.is_empty() {
        headers.push(("Content-Type".into(), "application/x-www-form-urlencoded".into()));
    }
    // curl -d sends the text exactly as given, joined by '&'.
    let body = data.join("&");
    (method, path, headers, body)
}

/// Whether `path` (without its query) is an instance of the route pattern.
fn matches_route(pattern: &str, path: &str) -> bool {
    let path = path.split('?').next().unwrap_or(path);
    let (p, a): (Vec<&str>, Vec<&str>) = (pattern.split('/').collect(), path.split('/').collect());
    p.len() == a.len() && p.iter().zip(&a).all(|(p, a)| (p.starts_with('{') && !a.is_empty()) || p == a)
}

fn send(http: &HttpClient, method: &str, path: &str, headers: &[(String, String)], body: &str) -> Reply {
    let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    http.request(method, path, &h, body.as_bytes())
}

#[test]
fn the_format_reader_reads_shell_and_curl_like_a_shell_and_curl() {
    let vars = HashMap::from([("SW", "http://h".to_string()), ("ID", "7".to_string())]);
    let w = shell_words("curl -sS -X POST \"$SW/webserv/a/$ID\" \\\n  -d 'b=x y $ID' -d \"n=${ID}\"", &vars);
    assert_eq!(w, ["curl", "-sS", "-X", "POST", "http://h/webserv/a/7", "-d", "b=x y $ID", "-d", "n=7"]);
    let (method, path, headers, body) = curl_request(&w);
    assert_eq!((method.as_str(), path.as_str(), body.as_str()), ("POST", "/webserv/a/7", "b=x y $ID&n=7"));
    assert_eq!(headers.len(), 1);
    assert!(matches_route("/webserv/question/{id}", "/webserv/question/7?answers_page=1"));
    assert!(!matches_route("/webserv/question/{id}", "/webserv/question/7/edit"));
    let ex = parse_docs("# t\n### GET /webserv/x\ntext\n```sh\ncurl \"$SW/webserv/x\"\n```\n## next\n");
    assert_eq!((ex.len(), ex[0].route.as_str(), ex[0].curl.as_str()), (1, "GET /webserv/x", "curl \"$SW/webserv/x\""));
}

#[test]
fn every_documented_route_exists_and_every_example_works() {
    let examples = parse_docs(&docs());
    assert!(examples.len() >= 18, "only {} routes documented", examples.len());
    let c = Cluster::start("api-docs", Shape { questions: 1, answers: 1, comments: 1, webuis: 0, users: 1, votes: 1 });

    // The docs list exactly the routes the running services publish (and the catalog).
    let documented: BTreeSet<&str> = examples.iter().map(|e| e.route.as_str()).collect();
    assert_eq!(documented.len(), examples.len(), "a route is documented twice");
    let cat = c.catalog();
    let mut published: BTreeSet<String> = cat["services"]
        .as_array()
        .expect("services")
        .iter()
        .flat_map(|s| s["routes"].as_array().cloned().unwrap_or_default())
        .filter_map(|r| r.as_str().map(String::from))
        .filter(|r| r.contains(" /webserv/"))
        .collect();
    published.insert("GET /webserv/services".into());
    let published: BTreeSet<&str> = published.iter().map(String::as_str).collect();
    assert_eq!(documented, published, "docs/api.md and the services' routes differ");

    // Run them: sign-up and login first (the token), then the creates (the
    // ids), the rest in the order of the file, logout last (it ends the token).
    let rank = |route: &str| match route {
        "POST /webserv/user" => 0,
        "POST /webserv/user/login" => 1,
        "POST /webserv/question" => 2,
        "POST /webserv/answer" => 3,
        "POST /webserv/user/logout" => 5,
        _ => 4,
    };
    let mut order: Vec<&Example> = examples.iter().collect();
    order.sort_by_key(|e| rank(&e.route));
    let mut vars: HashMap<&str, String> = HashMap::from([
        ("SW", "http://127.0.0.1:8080".to_string()),
        ("OTHER_TOKEN", c.signup_and_login("someone-else")),
    ]);
    let http = c.http();
    for ex in order {
        let words = shell_words(&ex.curl, &vars);
        let (method, path, headers, body) = curl_request(&words);
        let (want_method, pattern) = ex.route.split_once(' ').unwrap();
        assert_eq!(method, want_method, "{}: the example uses another method", ex.route);
        assert!(matches_route(pattern, &path), "{}: the example calls {path}", ex.route);
        let r = send(&http, &method, &path, &headers, &body);
        assert!((200..300).contains(&r.status), "{} ({method} {path}) → {}: {}", ex.route, r.status, r.text());
        match ex.route.as_str() {
            "POST /webserv/user/login" => {
                vars.insert("TOKEN", r.json()["token"].as_str().expect("token").to_string());
            }
            "POST /webserv/question" => {
                vars.insert("QUESTION_ID", r.json()["id"].to_string());
            }
            "POST /webserv/answer" => {
                vars.insert("ANSWER_ID", r.json()["id"].to_string());
            }
            "POST /webserv/user/logout" => {
                assert_eq!(r.status, 204, "{}", r.text());
                assert!(r.body.is_empty() && r.header("content-type").is_none(), "a 204 has no body and no type");
            }
            _ => {}
        }
    }
    // Revisions are numbered per post from 1 (the question example was edited once).
    let r = http.get(&format!("/webserv/question/{}/revisions", vars["QUESTION_ID"]));
    let numbers: Vec<i64> =
        r.json()["revisions"].as_array().expect("revisions").iter().filter_map(|v| v["number"].as_i64()).collect();
    assert_eq!(numbers, [1, 2], "{}", r.text());
    let r = http.get(&format!("/webserv/answer/{}/revisions", vars["ANSWER_ID"]));
    assert_eq!(r.json()["revisions"][0]["number"], 1, "{}", r.text());
    // The conventions: an unknown route under /webserv/ is a JSON 404; one
    // page-number rule for every list.
    for p in ["/webserv/nothing", "/webserv/questions/1"] {
        let r = http.get(p);
        assert_eq!((r.status, r.header("content-type")), (404, Some("application/json")), "{p}: {}", r.text());
        assert!(r.json()["error"].is_string());
    }
    let max = proto::http::MAX_PAGE;
    for p in ["/webserv/question?page=100000000", "/webserv/question?page=0", "/webserv/search?q=x&page=abc"]
        .into_iter()
        .map(String::from)
        .chain([format!("/webserv/question?page={}", max + 1)])
    {
        let r = http.get(&p);
        assert_eq!(r.status, 400, "{p}: {}", r.text());
        assert!(
            r.json()["error"].as_str().is_some_and(|e| e.contains(&format!("from 1 to {max}"))),
            "{p}: {}",
            r.text()
        );
    }
    assert_eq!(http.get(&format!("/webserv/question?page={max}")).status, 200);
    // Past the numbered pages, a list goes on after a given question.
    assert_eq!(http.get("/webserv/question?after=1").status, 200);
    // The logout example really ended the session.
    let r =
        c.http_as(&vars["TOKEN"]).post_form("/webserv/comment", &[("answer_id", &vars["ANSWER_ID"]), ("body", "x")]);
    assert_eq!(r.status, 401, "{}", r.text());
}
