//! Issue 9, acceptance 3: the page and reply caches ([`coherent`], the
//! webui's `page_cache`, the question service's reply cache) never serve
//! what a write acknowledged before the read changed, from any instance;
//! they render exactly what the uncached path renders; they stay within
//! their budget; and the change feed drops what changed.
//!
//! - `read_your_writes_through_the_other_balancer_100_times`: two balancers,
//!   two webuis, two question instances, the caches warm. A write (answer,
//!   comment, vote, edit, accept, in turn) goes through one balancer and the
//!   page, the logged-in page and the JSON are read at once through the
//!   other, 100 times; then a webui and a question instance are killed and
//!   replaced and it is done again. The change feed is off in this cluster
//!   (`STACKWIRE_CACHE_FEED=off`), so the stamps alone must keep it right,
//!   and the test fails without them. A logged-in page view that hits costs
//!   no session check: the user service sees no Authenticate call for them.
//! - `the_feed_drops_what_changed_on_every_instance`: with the feed on, one
//!   write makes every holder drop the values it held about the thread,
//!   without anybody reading; it fails without the feed.
//! - `pages_are_the_same_bytes_with_and_without_the_cache`: a cached webui
//!   (and question service) against one with its stores off, for the same
//!   requests of another visitor than the one whose request filled the cache.
//! - `the_stores_stay_within_their_budget`: a 64 KiB budget and pages of
//!   10 KiB and more: the bytes held never pass the budget, and it evicts.

use prost::Message;
use proto::pb::{Header, HttpRequest, HttpResponse};
use proto::Connection;
use serde_json::Value;
use std::net::SocketAddr;
use std::time::Duration;
use testkit::{wait_for, Cluster, HttpClient, Proc, Shape};

/// Limits raised for these tests' writers (each posts far faster than a person).
const FAST: &[(&str, &str)] = &[
    ("STACKWIRE_LIMIT_ANSWERS_PER_USER", "10000"),
    ("STACKWIRE_LIMIT_COMMENTS_PER_USER", "10000"),
    ("STACKWIRE_LIMIT_QUESTIONS_PER_USER", "10000"),
];

/// `stackwire_cache_{name}{cache="{cache}"}` from a /metrics text.
fn metric(text: &str, name: &str, cache: &str) -> u64 {
    let prefix = format!("stackwire_cache_{name}{{cache=\"{cache}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {prefix} in:\n{text}"))
}

/// An unlabelled metric from a /metrics text.
fn plain_metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|v| v.strip_prefix(' ')))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in:\n{text}"))
}

fn metrics(p: &Proc) -> String {
    let r = p.admin().get("/metrics");
    assert_eq!(r.status, 200, "{}: /metrics", p.name);
    r.text()
}

/// `Web/Handle` straight to one instance, as a balancer would call it.
fn web(addr: SocketAddr, path: &str, query: &str, cookies: &str) -> HttpResponse {
    let c = Connection::connect(addr, Duration::from_secs(5), proto::frame::DEFAULT_MAX_MESSAGE).expect("connect");
    let mut headers = vec![Header { name: "Host".into(), value: b"test".to_vec() }];
    if !cookies.is_empty() {
        headers.push(Header { name: "Cookie".into(), value: cookies.as_bytes().to_vec() });
    }
    let jid = proto::ids::new_request_id();
    let req = HttpRequest {
        method: "GET".into(),
        path: path.into(),
        query: query.into(),
        headers,
        body: Vec::new(),
        client_addr: "127.0.0.1:1".into(),
        request_id: jid.clone(),
    };
    c.unary(proto::methods::WEB_HANDLE, &jid, Duration::from_secs(10), &req).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The idempotency keys of a page's create forms: fresh for every view, with
/// the cache or without.
fn keys(body: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(body);
    text.split("name=\"idem\" value=\"").skip(1).filter_map(|s| s.split('"').next()).map(String::from).collect()
}

/// `body` with every idempotency key replaced by the same word, and every
/// view count by the same count: views are counted in batches a few seconds
/// late by design (docs/pages.md), so two renderings a moment apart may
/// differ there whatever a cache does.
fn without_keys(body: &[u8]) -> Vec<u8> {
    let mut text = String::from_utf8_lossy(body).into_owned();
    for k in keys(body) {
        text = text.replace(&k, "KEY");
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(i) = rest.find("<span class=\"n-views\">") {
        let end = rest[i..].find("</span>").map_or(rest.len(), |e| i + e);
        out.push_str(&rest[..i]);
        out.push_str("VIEWS");
        rest = &rest[end..];
    }
    out.push_str(rest);
    out.into_bytes()
}

/// Asserts two responses are the same bytes (but for the fresh idempotency
/// keys of their forms), showing where they part if not.
fn same(got: &HttpResponse, want: &HttpResponse, what: &str) {
    assert_eq!((got.status, &got.headers), (want.status, &want.headers), "{what}: status or headers differ");
    assert_eq!(keys(&got.body).len(), keys(&want.body).len(), "{what}: forms with keys");
    let (got, want) = (
        HttpResponse { body: without_keys(&got.body).into(), ..got.clone() },
        HttpResponse { body: without_keys(&want.body).into(), ..want.clone() },
    );
    if got.body != want.body {
        let at =
            got.body.iter().zip(&want.body).position(|(a, b)| a != b).unwrap_or(got.body.len().min(want.body.len()));
        let around = |b: &[u8]| String::from_utf8_lossy(&b[at.saturating_sub(80)..(at + 80).min(b.len())]).into_owned();
        panic!(
            "{what}: bodies differ at byte {at}:\ncached:   {}\nuncached: {}",
            around(&got.body),
            around(&want.body)
        );
    }
    assert_eq!(got.encode_to_vec(), want.encode_to_vec(), "{what}");
}

fn id_of(v: &Value) -> i64 {
    v["id"].as_i64().unwrap_or_else(|| panic!("no id in {v}"))
}

fn created(r: testkit::Reply, what: &str) -> Value {
    assert!(matches!(r.status, 200 | 201), "{what}: {} {}", r.status, r.text());
    r.json()
}

/// What one step wrote, and how to see it.
enum Expect {
    Text(String),
    Score(i64),
    Accepted(i64),
}

/// Checks that `e` shows in the page, the logged-in page and the JSON read through `b`.
fn visible(b: &HttpClient, q: i64, cookie: &str, e: &Expect, step: &str) {
    let page = b.get(&format!("/questions/{q}"));
    let mine = b.request("GET", &format!("/questions/{q}"), &[("Cookie", cookie)], b"");
    let json = b.get(&format!("/webserv/question/{q}"));
    for r in [&page, &mine, &json] {
        assert_eq!(r.status, 200, "{step}: {}", r.text());
    }
    let (page, mine, json) = (page.text(), mine.text(), json.json());
    match e {
        Expect::Text(t) => {
            assert!(page.contains(t.as_str()), "{step}: the page lacks {t:?}");
            assert!(mine.contains(t.as_str()), "{step}: the logged-in page lacks {t:?}");
            assert!(json.to_string().contains(t.as_str()), "{step}: the JSON lacks {t:?}");
        }
        Expect::Score(s) => {
            let shown = format!("aria-label=\"score\">{s}</span>");
            assert!(page.contains(&shown), "{step}: the page does not show score {s}");
            assert!(mine.contains(&shown), "{step}: the logged-in page does not show score {s}");
            assert_eq!(json["score"].as_i64(), Some(*s), "{step}: JSON score");
        }
        Expect::Accepted(a) => {
            let shown = format!("class=\"answer accepted\" id=\"answer-{a}\"");
            assert!(page.contains(&shown), "{step}: the page does not mark answer {a} accepted");
            assert!(mine.contains(&shown), "{step}: the logged-in page does not mark answer {a} accepted");
            let accepted: Vec<i64> =
                json["answers"].as_array().into_iter().flatten().filter(|x| x["accepted"] == true).map(id_of).collect();
            assert_eq!(accepted, vec![*a], "{step}: JSON accepted answers");
        }
    }
}

/// A question of its own (a thread of 21 answers fits one page), its pages
/// read through both balancers until every cache holds them, then 100
/// writes through `a`, each read back through `b` at once.
fn hundred_writes(a: &HttpClient, b: &HttpClient, ann: &str, bob: &str, round: &str) -> i64 {
    let (ann_a, bob_a) = (a.with_token(ann), a.with_token(bob));
    let cookie = format!("sw_session={ann}");
    let ask = [("title", "Cached?"), ("body", "Is it?"), ("tags", "cache")];
    let q = id_of(&created(ann_a.post_form("/webserv/question", &ask), "ask"));
    for _ in 0..10 {
        for http in [a, b] {
            assert_eq!(http.get(&format!("/questions/{q}")).status, 200);
            assert_eq!(http.get(&format!("/webserv/question/{q}")).status, 200);
            assert_eq!(http.request("GET", &format!("/questions/{q}"), &[("Cookie", &cookie)], b"").status, 200);
        }
    }
    let first =
        created(bob_a.post_form("/webserv/answer", &[("question_id", &q.to_string()), ("body", round)]), "answer");
    let mut answers = vec![id_of(&first)];
    for i in 0..100 {
        let step = format!("{round} step {i}");
        let expect = match i % 5 {
            0 => {
                let body = format!("answer {round}-{i}");
                let r = bob_a.post_form("/webserv/answer", &[("question_id", &q.to_string()), ("body", &body)]);
                answers.push(id_of(&created(r, &step)));
                Expect::Text(body)
            }
            1 => {
                let body = format!("comment {round}-{i}");
                let on = answers[0].to_string();
                created(ann_a.post_form("/webserv/comment", &[("answer_id", &on), ("body", &body)]), &step);
                Expect::Text(body)
            }
            2 => {
                let r = bob_a
                    .post_form("/webserv/vote", &[("target", "question"), ("id", &q.to_string()), ("direction", "up")]);
                Expect::Score(created(r, &step)["score"].as_i64().expect("score"))
            }
            3 => {
                let body = format!("edited {round}-{i}");
                created(ann_a.post_form(&format!("/webserv/question/{q}/edit"), &[("body", &body)]), &step);
                Expect::Text(body)
            }
            _ => {
                let pick = answers[(i / 5) % answers.len()];
                created(ann_a.post_form(&format!("/webserv/answer/{pick}/accept"), &[]), &step);
                Expect::Accepted(pick)
            }
        };
        visible(b, q, &cookie, &expect, &step);
    }
    q
}

#[test]
fn read_your_writes_through_the_other_balancer_100_times() {
    let shape = Shape { questions: 2, answers: 2, comments: 2, webuis: 2, users: 1, votes: 1 };
    let env: Vec<(&str, &str)> = FAST.iter().copied().chain([("STACKWIRE_CACHE_FEED", "off")]).collect();
    let mut c = Cluster::start_with("cache-ryw", shape, &env);
    let other = c.start_extra_balancer();
    let (a, b) = (c.http(), HttpClient::new(other));
    let ann = c.signup_and_login("ann");
    let bob = c.signup_and_login("bob");
    let q = hundred_writes(&a, &b, &ann, &bob, "first");

    // The caches answered (which instance served what is the balancers' choice).
    let hits = |kind: &str, store: &str| {
        c.procs_named(kind).into_iter().map(|p| metric(&metrics(p), "hits_total", store)).sum::<u64>()
    };
    assert!(hits("webui", "pages") > 0 && hits("question", "replies") > 0, "the caches were never used");
    // A logged-in page view that hits checks the session from memory: no
    // call to the user service, no SQL. Twenty views after a warm-up of
    // every webui: each one a session hit and a page hit.
    let cookie = format!("sw_session={ann}");
    let page = format!("/questions/{q}");
    let webuis = c.procs_named("webui");
    let count = |store: &str| webuis.iter().map(|p| metric(&metrics(p), "hits_total", store)).sum::<u64>();
    // Each webui, asked directly, learns the session and keeps the page.
    for p in &webuis {
        for _ in 0..3 {
            assert_eq!(web(p.addr, &page, "", &cookie).status, 200);
        }
    }
    let (sessions, pages) = (count("sessions"), count("pages"));
    for _ in 0..20 {
        assert_eq!(b.request("GET", &page, &[("Cookie", &cookie)], b"").status, 200);
    }
    assert_eq!(count("sessions") - sessions, 20, "every logged-in view found its session in memory");
    assert_eq!(count("pages") - pages, 20, "every logged-in view was a page hit");

    // A webui and a question instance die; their replacements start cold.
    for kind in ["webui", "question"] {
        let i = c.procs.iter().position(|p| p.name.starts_with(kind)).expect("an instance");
        let mut dead = c.procs.remove(i);
        dead.signal(libc::SIGKILL);
        dead.wait_exit(Duration::from_secs(10));
        if kind == "webui" {
            c.start_webui();
        } else {
            c.start_service(kind);
        }
    }
    let live: Vec<String> = c.procs.iter().map(|p| p.addr.to_string()).collect();
    wait_for("the replacements in both balancers' catalogs", Duration::from_secs(20), || {
        [&a, &b]
            .iter()
            .all(|h| {
                let cat = h.get("/webserv/services").text();
                live.iter().all(|addr| cat.contains(addr.as_str()))
            })
            .then_some(())
    });
    let _ = hundred_writes(&a, &b, &ann, &bob, "after-restart");
}

#[test]
fn the_feed_drops_what_changed_on_every_instance() {
    let shape = Shape { questions: 2, answers: 1, comments: 1, webuis: 2, users: 1, votes: 1 };
    let c = Cluster::start_with("cache-feed", shape, FAST);
    let ann = c.signup_and_login("ann");
    let http = c.http();
    let q = id_of(&created(
        http.with_token(&ann).post_form("/webserv/question", &[("title", "Fed?"), ("body", "Fed."), ("tags", "feed")]),
        "ask",
    ));
    let holders: Vec<(&Proc, &str)> = c
        .procs_named("webui")
        .into_iter()
        .map(|p| (p, "pages"))
        .chain(c.procs_named("question").into_iter().map(|p| (p, "replies")))
        .collect();
    // Every holder keeps the thread (asked directly, so each surely has it).
    for (p, _) in &holders {
        let path =
            if p.name.starts_with("webui") { format!("/questions/{q}") } else { format!("/webserv/question/{q}") };
        assert_eq!(web(p.addr, &path, "", "").status, 200);
    }
    let before: Vec<(u64, u64)> = holders
        .iter()
        .map(|(p, store)| {
            let m = metrics(p);
            (metric(&m, "invalidations_total", store), metric(&m, "entries", store))
        })
        .collect();
    assert!(before.iter().all(|&(_, entries)| entries > 0), "every holder keeps the thread: {before:?}");
    // One write; nobody reads; every holder drops the thread.
    created(http.with_token(&ann).post_form(&format!("/webserv/question/{q}/edit"), &[("body", "Changed.")]), "edit");
    for ((p, store), (invalidations, entries)) in holders.iter().zip(before) {
        wait_for(&format!("{} to drop the thread", p.name), Duration::from_secs(5), || {
            let m = metrics(p);
            (metric(&m, "invalidations_total", store) > invalidations && metric(&m, "entries", store) < entries)
                .then_some(())
        });
    }
}

#[test]
fn pages_are_the_same_bytes_with_and_without_the_cache() {
    let shape = Shape { questions: 1, answers: 1, comments: 1, webuis: 1, users: 1, votes: 1 };
    let mut c = Cluster::start_with("cache-bytes", shape, FAST);
    let plain_webui = c.start_webui_with(&[("STACKWIRE_CACHE_KB", "0")]);
    let plain_question = c.start_service_with("question", &[("STACKWIRE_CACHE_KB", "0")]);
    let ann = c.signup_and_login("ann");
    let bob = c.signup_and_login("bob");
    let http = c.http();
    let q = id_of(&created(
        http.with_token(&ann)
            .post_form("/webserv/question", &[("title", "Same?"), ("body", "*Same*"), ("tags", "bytes")]),
        "ask",
    ));
    let a = id_of(&created(
        http.with_token(&bob).post_form("/webserv/answer", &[("question_id", &q.to_string()), ("body", "Yes")]),
        "answer",
    ));
    created(
        http.with_token(&ann).post_form("/webserv/comment", &[("answer_id", &a.to_string()), ("body", "Ok")]),
        "comment",
    );
    created(
        http.with_token(&ann)
            .post_form("/webserv/vote", &[("target", "answer"), ("id", &a.to_string()), ("direction", "up")]),
        "vote",
    );

    let cached_webui = c.procs_named("webui")[0].addr;
    let plain_webui = c.procs[plain_webui].addr;
    let cached_question = c.procs_named("question")[0].addr;
    let plain_question = c.procs[plain_question].addr;
    // Two visitors (pre-session ids) and the two users, logged in (with a
    // pre-session id too, or each answer would set a fresh random one).
    let visitor = |id: &str| format!("sw_csrf={}", id.repeat(32));
    let viewers = [
        visitor("a"),
        visitor("b"),
        format!("sw_session={ann}; {}", visitor("c")),
        format!("sw_session={bob}; {}", visitor("d")),
    ];
    let pages = [
        (format!("/questions/{q}"), String::new()),
        ("/".into(), String::new()),
        ("/".into(), "sort=votes".into()),
        ("/tags/bytes".into(), String::new()),
        ("/tags".into(), String::new()),
        ("/search".into(), "q=same".into()),
        ("/users/ann".into(), String::new()),
    ];
    let before = metric(&metrics(c.procs_named("webui")[0]), "hits_total", "pages");
    for (path, query) in &pages {
        // The first request of a visitor fills the cache and the next ones
        // hit it, the second visitor's with another token in its forms; a
        // session is learnt on its first request and cached from its second.
        for cookie in &viewers {
            let mut seen = Vec::new();
            for _ in 0..3 {
                let got = web(cached_webui, path, query, cookie);
                let want = web(plain_webui, path, query, cookie);
                assert_eq!(got.status, 200, "{path}?{query}");
                same(&got, &want, &format!("{path}?{query} as {cookie}"));
                seen.extend(keys(&got.body));
            }
            let n = seen.len();
            seen.sort();
            seen.dedup();
            assert_eq!(seen.len(), n, "{path}?{query} as {cookie}: a view got another view's idempotency key");
        }
    }
    let after = metrics(c.procs_named("webui")[0]);
    let hits = metric(&after, "hits_total", "pages") - before;
    assert!(hits >= pages.len() as u64, "the comparison must have been made with hits: {hits}");
    // The hits were answered on the RPC loop's path, not only by workers:
    // their versions read by the loop itself (coherent::loop_reads), or by
    // the cache's reader thread until the loop's connection was made.
    let queued = plain_metric(&after, "stackwire_cache_version_reads_queued_total");
    assert!(queued >= hits, "{queued} reads queued for the RPC loop or the reader thread, {hits} hits");
    let on_loop = plain_metric(&after, "stackwire_cache_version_reads_on_loop_total");
    assert!(on_loop > 0, "no version read was made on the webui's RPC loop ({queued} queued)");
    for (path, query) in [
        (format!("/webserv/question/{q}"), ""),
        ("/webserv/question".into(), "sort=votes"),
        ("/webserv/tags".into(), ""),
    ] {
        for _ in 0..2 {
            let got = web(cached_question, &path, query, "");
            let want = web(plain_question, &path, query, "");
            same(&got, &want, &format!("{path}?{query}"));
        }
    }
    let question = c.procs_named("question").into_iter().find(|p| p.addr == cached_question).expect("cached question");
    let m = metrics(question);
    let hits = metric(&m, "hits_total", "replies");
    assert!(hits >= 3);
    let queued = plain_metric(&m, "stackwire_cache_version_reads_queued_total");
    assert!(queued >= hits, "question: {queued} reads queued for the RPC loop or the reader thread, {hits} hits");
    let on_loop = plain_metric(&m, "stackwire_cache_version_reads_on_loop_total");
    assert!(on_loop > 0, "question: no version read was made on the RPC loop ({queued} queued)");
}

#[test]
fn the_stores_stay_within_their_budget() {
    let shape = Shape { questions: 1, answers: 1, comments: 1, webuis: 0, users: 1, votes: 1 };
    let mut c = Cluster::start_with("cache-budget", shape, FAST);
    let small = c.start_webui_with(&[("STACKWIRE_CACHE_KB", "64")]);
    let addr = c.procs[small].addr;
    let ann = c.signup_and_login("ann");
    let asker = c.http().with_token(&ann);
    let body = "A long body to make every page weigh something. ".repeat(60);
    let mut questions = Vec::new();
    for i in 0..12 {
        let r = asker
            .post_form("/webserv/question", &[("title", &format!("Budget {i}")), ("body", &body), ("tags", "budget")]);
        questions.push(id_of(&created(r, "ask")));
    }
    let mut peak = 0;
    for round in 0..3 {
        for q in &questions {
            let r = web(addr, &format!("/questions/{q}"), "", "");
            assert_eq!(r.status, 200);
            assert!(r.body.len() > 3000, "pages weigh something");
            let m = metrics(&c.procs[small]);
            let (bytes, budget) = (metric(&m, "bytes", "pages"), metric(&m, "budget_bytes", "pages"));
            assert_eq!(budget, 64 * 1024);
            assert!(bytes <= budget, "round {round}: {bytes} bytes held past the budget of {budget}");
            peak = peak.max(bytes);
        }
    }
    let m = metrics(&c.procs[small]);
    assert!(metric(&m, "evictions_total", "pages") > 0, "twelve pages of this size cannot all fit");
    assert!(peak > 32 * 1024, "the store was used: peak {peak}");
}
