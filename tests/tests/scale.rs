//! Issue 9, acceptance 2: with 100k questions in the database, no request of
//! any route reads more than a page's worth of any table.
//!
//! A cluster's database gets a site's worth of rows in bulk
//! (`scripts/bench/scale_load.sql`, the loader `scripts/bench_scale.sh` uses
//! too: 100k questions with 3 tags each, answers, comments, votes,
//! revisions). Then PostgreSQL's auto_explain is switched on for that
//! database: every statement the services run, the ones inside triggers
//! included, sends its plan with actual row counts to the client as a
//! NOTICE, and the services write notices to their logs. Every route of the
//! site, HTML and JSON, reads and writes, anonymous and logged in, is then
//! requested through the balancer, and every plan is checked:
//! - no sequential scan of a table that grows with the site ([`GROWING`]);
//! - no scan node that touched more than [`MAX_ROWS`] rows (returned plus
//!   filtered out): an index range walked with a filter is as bad as a
//!   sequential scan, and this is what catches it;
//! - no parallel plan (a Gather node), with the database set to make them
//!   free: starting workers costs a request milliseconds (at 1M questions a
//!   search whose matches the planner overestimated went parallel and ran at
//!   a quarter of its small-site rate), so the services' sessions refuse them.
//!
//! Three passes, each with freshly started services (new connections pick up
//! the database's settings): on the freshly loaded database that was never
//! ANALYZEd (autovacuum off for it), once with custom plans forced and once
//! with generic ones forced (a prepared statement may switch to its generic
//! plan after five runs); then after ANALYZE, with PostgreSQL choosing. The
//! plans are read from the logs after the processes exit (which flushes
//! them), and each pass must have produced plans for at least
//! [`MIN_PLANS`] statements, so a silent auto_explain fails the test rather
//! than passing it.

use serde_json::Value;
use std::time::Instant;
use testkit::{Cluster, Reply, Shape};

/// Tables whose size grows with the site. (`login_throttle` holds a day of
/// failed logins and is read by primary key once it is big enough for the
/// planner to prefer that; a few hundred rows are a page or two, which a
/// sequential scan reads faster.)
const GROWING: &[&str] = &[
    "users",
    "sessions",
    "questions",
    "answers",
    "comments",
    "question_tags",
    "question_activity",
    "votes",
    "revisions",
    "tags",
    "idempotency_keys",
];

/// The most rows one scan node of one request may touch. The largest honest
/// read is a page 50 of a list (1,000 index entries skipped) or the tag list
/// (at most 1,000 tags); a whole-table read here is 100,000 and more.
const MAX_ROWS: f64 = 2_500.0;

/// Fewer plans than this in a pass means auto_explain did not run.
const MIN_PLANS: usize = 60;

/// The bulk load's sizes (the loader's `:names`).
const LOAD: &[(&str, i64)] =
    &[(":users", 10_000), (":questions", 100_000), (":answers", 100_000), (":comments", 100_000), (":votes", 50_000)];

fn load(c: &Cluster, db: &mut postgres::Client) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/bench/scale_load.sql");
    let mut sql = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    for (name, n) in LOAD {
        sql = sql.replace(name, &n.to_string());
    }
    let t = Instant::now();
    db.batch_execute(&sql).unwrap_or_else(|e| panic!("bulk load into {}: {e}", c.db_name));
    eprintln!("scale: loaded {LOAD:?} in {:.1} s", t.elapsed().as_secs_f64());
}

/// Turns auto_explain on for the cluster's database, with `plan_cache_mode`.
fn explain_on(c: &Cluster, db: &mut postgres::Client, plan_cache_mode: &str) {
    for (k, v) in [
        ("session_preload_libraries", "auto_explain"),
        ("auto_explain.log_min_duration", "0"),
        ("auto_explain.log_analyze", "on"),
        ("auto_explain.log_timing", "off"),
        ("auto_explain.log_format", "json"),
        ("auto_explain.log_nested_statements", "on"),
        ("auto_explain.log_level", "notice"),
        ("plan_cache_mode", plan_cache_mode),
        // Parallel plans made free: a service whose sessions still allowed
        // them would get one here, and `check` refuses every Gather.
        ("parallel_setup_cost", "0"),
        ("parallel_tuple_cost", "0"),
        ("min_parallel_table_scan_size", "0"),
        ("min_parallel_index_scan_size", "0"),
    ] {
        db.batch_execute(&format!("ALTER DATABASE {} SET {k} = '{v}'", c.db_name))
            .unwrap_or_else(|e| panic!("ALTER DATABASE SET {k} (scripts/test.sh grants these): {e}"));
    }
}

fn autovacuum(db: &mut postgres::Client, on: bool) {
    for t in GROWING {
        db.batch_execute(&format!("ALTER TABLE {t} SET (autovacuum_enabled = {on})")).expect("autovacuum setting");
    }
}

/// Every plan in a log: the JSON object after each `plan:`.
fn plans(log: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut rest = log;
    while let Some(i) = rest.find("plan:") {
        rest = &rest[i + "plan:".len()..];
        if let Some(Ok(v)) = serde_json::Deserializer::from_str(rest).into_iter::<Value>().next() {
            out.push(v);
        }
    }
    out
}

/// The rows a node touched over all its loops: returned plus filtered out.
fn touched(node: &Value) -> f64 {
    let f = |k: &str| node[k].as_f64().unwrap_or(0.0);
    let loops = f("Actual Loops").max(1.0);
    (f("Actual Rows") + f("Rows Removed by Filter") + f("Rows Removed by Index Recheck")) * loops
}

/// Appends what is wrong with `node` and its children.
fn check(node: &Value, query: &str, bad: &mut Vec<String>) {
    let kind = node["Node Type"].as_str().unwrap_or("");
    let relation = node["Relation Name"].as_str().unwrap_or("");
    if kind.starts_with("Gather") {
        bad.push(format!("{kind} (parallel workers started for one request) in: {query}"));
    }
    if kind == "Seq Scan" && GROWING.contains(&relation) {
        bad.push(format!("Seq Scan on {relation} in: {query}"));
    }
    let scan = matches!(kind, "Seq Scan" | "Index Scan" | "Index Only Scan" | "Bitmap Heap Scan" | "Bitmap Index Scan");
    if scan && touched(node) > MAX_ROWS {
        let index = node["Index Name"].as_str().unwrap_or("-");
        bad.push(format!("{kind} on {relation} ({index}) touched {} rows in: {query}", touched(node)));
    }
    for child in node["Plans"].as_array().into_iter().flatten() {
        check(child, query, bad);
    }
}

/// The statements of a pass and what is wrong with them.
fn verdict(logs: &[String]) -> (usize, Vec<String>) {
    let mut n = 0;
    let mut bad = Vec::new();
    for log in logs {
        for p in plans(log) {
            n += 1;
            let query = p["Query Text"].as_str().unwrap_or("?").split_whitespace().collect::<Vec<_>>().join(" ");
            check(&p["Plan"], &query, &mut bad);
        }
    }
    bad.sort();
    bad.dedup();
    (n, bad)
}

fn ok(r: Reply, what: &str) -> Reply {
    assert!((200..400).contains(&r.status), "{what}: {} {}", r.status, r.text());
    r
}

/// Ids the walk needs from the bulk rows.
struct Fixtures {
    thread: i64,
    answer: i64,
    user: String,
    rare_tag: String,
}

fn fixtures(db: &mut postgres::Client) -> Fixtures {
    let row = db
        .query_one(
            "SELECT a.question_id, min(a.id) FROM answers a GROUP BY a.question_id ORDER BY count(*) DESC, 1 LIMIT 1",
            &[],
        )
        .expect("a thread");
    let user: String = db.query_one("SELECT username FROM users ORDER BY reputation DESC LIMIT 1", &[]).unwrap().get(0);
    let rare_tag: String = db
        .query_one("SELECT tag FROM question_tags WHERE question_id = $1 AND position = 3", &[&row.get::<_, i64>(0)])
        .unwrap()
        .get(0);
    Fixtures { thread: row.get(0), answer: row.get(1), user, rare_tag }
}

/// Every route once (reads `reads` times), through the balancer.
fn walk(c: &Cluster, pass: usize, f: &Fixtures, reads: usize) {
    let http = c.http();
    let asker_token = c.signup_and_login(&format!("asker{pass}"));
    let answerer_token = c.signup_and_login(&format!("answerer{pass}"));
    let (asker, answerer) = (c.http_as(&asker_token), c.http_as(&answerer_token));
    let cookie = format!("sw_session={asker_token}");
    let t = f.thread;
    for _ in 0..reads {
        let mut paths = vec![
            "/webserv/question".to_string(),
            "/webserv/question?page=2".into(),
            "/webserv/question?page=50".into(),
            "/webserv/tags".into(),
            "/webserv/search?q=w123".into(),
            "/webserv/search?q=%5Btag7%5D".into(),
            format!("/webserv/search?q=%5Btag7%5D+%5B{}%5D", f.rare_tag),
            "/webserv/search?q=w123+%5Btag7%5D".into(),
            format!("/webserv/user/{}", f.user),
            format!("/webserv/question/{t}"),
            format!("/webserv/question/{t}/revisions"),
            format!("/webserv/answer/{}/revisions", f.answer),
            "/".into(),
            "/?page=2".into(),
            "/tags".into(),
            "/tags/tag7".into(),
            format!("/tags/{}", f.rare_tag),
            "/search?q=w123".into(),
            format!("/users/{}", f.user),
            format!("/questions/{t}"),
            format!("/questions/{t}/revisions"),
            format!("/answers/{}/revisions", f.answer),
        ];
        for sort in ["newest", "active", "votes", "unanswered"] {
            paths.push(format!("/webserv/question?sort={sort}"));
            paths.push(format!("/webserv/question?sort={sort}&tag=tag7"));
            paths.push(format!("/?sort={sort}"));
            paths.push(format!("/tags/tag7?sort={sort}"));
            // Keyset: the page after the first one's last question.
            for tag in ["", "&tag=tag7"] {
                let first = ok(http.get(&format!("/webserv/question?sort={sort}{tag}")), "a list").json();
                let last = first["questions"].as_array().and_then(|q| q.last()).and_then(|q| q["id"].as_i64());
                paths.push(format!("/webserv/question?sort={sort}{tag}&after={}", last.expect("a full first page")));
            }
        }
        for p in &paths {
            ok(http.get(p), p);
        }
        // Logged in: the viewer's votes on the page, and the session check.
        ok(asker.get(&format!("/webserv/question/{t}")), "thread with a bearer token");
        ok(http.request("GET", &format!("/questions/{t}"), &[("Cookie", &cookie)], b""), "page with a session");
    }

    // Every write.
    let q = ok(
        asker.post_form("/webserv/question", &[("title", "Scale?"), ("body", "At 100k?"), ("tags", "tag7 scale")]),
        "ask",
    )
    .json()["id"]
        .as_i64()
        .expect("question id");
    let qs = q.to_string();
    let body = testkit::http::form(&[("question_id", &qs), ("body", "Yes.")]);
    let headers = [("Content-Type", "application/x-www-form-urlencoded"), ("Idempotency-Key", "scale-answer")];
    let a = ok(answerer.request("POST", "/webserv/answer", &headers, body.as_bytes()), "answer").json()["id"]
        .as_i64()
        .expect("answer id");
    let aid = a.to_string();
    ok(answerer.post_form("/webserv/answer", &[("question_id", &t.to_string()), ("body", "Also here.")]), "answer");
    ok(asker.post_form("/webserv/comment", &[("answer_id", &aid), ("body", "Thanks")]), "comment");
    ok(answerer.post_form("/webserv/vote", &[("target", "question"), ("id", &qs), ("direction", "up")]), "vote q");
    ok(asker.post_form("/webserv/vote", &[("target", "answer"), ("id", &aid), ("direction", "up")]), "vote a");
    ok(asker.post_form(&format!("/webserv/question/{q}/edit"), &[("title", "Scale!"), ("tags", "tag8")]), "edit q");
    ok(answerer.post_form(&format!("/webserv/answer/{a}/edit"), &[("body", "Yes, really.")]), "edit a");
    ok(asker.post_form(&format!("/webserv/answer/{a}/accept"), &[]), "accept");
    ok(http.get(&format!("/questions/{q}")), "the new thread");
    let third = c.login(&format!("asker{pass}"));
    ok(c.http_as(&third).post_form("/webserv/user/logout", &[]), "logout");
}

#[test]
fn no_route_reads_more_than_a_page_at_100k_questions() {
    let shape = Shape { questions: 1, answers: 1, comments: 1, webuis: 1, users: 1, votes: 1 };
    let mut c = Cluster::start("scale", shape);
    let mut db = postgres::Client::connect(&c.db_url, postgres::NoTls).expect("connect to the cluster's database");
    load(&c, &mut db);
    autovacuum(&mut db, false);
    let f = fixtures(&mut db);
    let passes = [
        ("never analyzed, custom plans", "force_custom_plan"),
        ("never analyzed, generic plans", "force_generic_plan"),
        ("analyzed", "auto"),
    ];
    let mut failures = Vec::new();
    let mut judge = |name: &str, stopped: Vec<testkit::Proc>| {
        let logs: Vec<String> = stopped.iter().map(|p| p.log_text()).collect();
        let (n, bad) = verdict(&logs);
        eprintln!("scale: pass {name}: {n} plans, {} problems", bad.len());
        assert!(n >= MIN_PLANS, "pass {name}: only {n} plans logged; is auto_explain running?");
        failures.extend(bad.into_iter().map(|b| format!("[{name}] {b}")));
    };
    let mut previous = None;
    for (pass, (name, mode)) in passes.into_iter().enumerate() {
        if mode == "auto" {
            autovacuum(&mut db, true);
            db.batch_execute("ANALYZE").expect("ANALYZE");
        }
        explain_on(&c, &mut db, mode);
        let stopped = c.restart_services();
        if let Some(p) = previous {
            judge(p, stopped);
        }
        let t = Instant::now();
        // After ANALYZE the reads repeat past five runs, so that prepared
        // statements may move to their generic plans on their own.
        walk(&c, pass, &f, if mode == "auto" { 6 } else { 1 });
        eprintln!("scale: pass {name}: walked every route in {:.1} s", t.elapsed().as_secs_f64());
        previous = Some(name);
    }
    let stopped = c.stop_services();
    judge(previous.unwrap_or("?"), stopped);
    assert!(failures.is_empty(), "statements that read more than a page:\n{}", failures.join("\n"));
}
