//! Acceptance 2: questions, answers and comments posted with curl-style form
//! bodies through the balancer and read back; missing parents are 404; bad
//! fields, unknown routes and wrong methods get precise statuses. Posting
//! needs a login (issue 6), so each test signs up and sends its bearer token.

use testkit::{Cluster, Shape};

fn small() -> Shape {
    Shape { questions: 1, answers: 1, comments: 1, webuis: 1, ..Default::default() }
}

#[test]
fn post_question_answer_comment_and_read_the_thread_back() {
    let c = Cluster::start("api-thread", small());
    let http = c.http_as(&c.signup_and_login("framer"));

    let q = http.post_form(
        "/webserv/question",
        &[("title", "How do I frame RPC?"), ("body", "With a 5-byte prefix?"), ("tags", "rpc")],
    );
    assert_eq!(q.status, 201, "{}", q.text());
    let q = q.json();
    let qid = q["id"].as_i64().expect("numeric id");
    assert_eq!(q["title"], "How do I frame RPC?");
    assert_eq!(q["body"], "With a 5-byte prefix?");
    assert!(q["created_at"].as_str().is_some_and(|s| s.ends_with('Z')), "{q}");

    let a = http.post_form("/webserv/answer", &[("question_id", &qid.to_string()), ("body", "Yes: flag + length.")]);
    assert_eq!(a.status, 201, "{}", a.text());
    let aid = a.json()["id"].as_i64().unwrap();

    // JSON bodies work too.
    let cm = http.post_json("/webserv/comment", &serde_json::json!({"answer_id": aid, "body": "Big-endian!"}));
    assert_eq!(cm.status, 201, "{}", cm.text());
    let cm2 = http.post_form("/webserv/comment", &[("answer_id", &aid.to_string()), ("body", "a & b = c")]);
    assert_eq!(cm2.status, 201, "{}", cm2.text());

    let t = http.get(&format!("/webserv/question/{qid}"));
    assert_eq!(t.status, 200, "{}", t.text());
    let t = t.json();
    assert_eq!(t["id"], qid);
    assert_eq!(t["title"], "How do I frame RPC?");
    let answers = t["answers"].as_array().expect("answers array");
    assert_eq!(answers.len(), 1);
    assert_eq!(answers[0]["id"], aid);
    assert_eq!(answers[0]["body"], "Yes: flag + length.");
    let comments = answers[0]["comments"].as_array().expect("comments array");
    let bodies: Vec<&str> = comments.iter().filter_map(|c| c["body"].as_str()).collect();
    assert_eq!(bodies, ["Big-endian!", "a & b = c"]);
}

#[test]
fn missing_parents_are_404_and_nothing_is_written() {
    let c = Cluster::start("api-missing", small());
    let http = c.http_as(&c.signup_and_login("orphaner"));
    let a = http.post_form("/webserv/answer", &[("question_id", "987654"), ("body", "orphan")]);
    assert_eq!(a.status, 404, "{}", a.text());
    assert!(a.json()["error"].as_str().is_some_and(|e| e.contains("question")), "{}", a.text());

    let cm = http.post_form("/webserv/comment", &[("answer_id", "987654"), ("body", "orphan")]);
    assert_eq!(cm.status, 404, "{}", cm.text());
    assert!(cm.json()["error"].as_str().is_some_and(|e| e.contains("answer")), "{}", cm.text());

    assert_eq!(c.http().get("/webserv/question/987654").status, 404);
    assert_eq!(c.http().get("/webserv/question/not-a-number").status, 404);

    let mut db = postgres::Client::connect(&c.db_url, postgres::NoTls).unwrap();
    let n: i64 =
        db.query_one("SELECT (SELECT count(*) FROM answers) + (SELECT count(*) FROM comments)", &[]).unwrap().get(0);
    assert_eq!(n, 0, "a rejected post must leave no row");
}

#[test]
fn bad_fields_routes_and_methods_get_precise_statuses() {
    let c = Cluster::start("api-bad", small());
    let http = c.http_as(&c.signup_and_login("badfields"));

    let r = http.post_form("/webserv/question", &[("title", "   "), ("body", "x"), ("tags", "t")]);
    assert_eq!(r.status, 400);
    assert!(r.json()["error"].as_str().unwrap().contains("title"), "{}", r.text());

    let r = http.post_form("/webserv/question", &[("title", "ok")]);
    assert_eq!(r.status, 400);
    assert!(r.json()["error"].as_str().unwrap().contains("body"), "{}", r.text());

    let long = "x".repeat(201);
    let r = http.post_form("/webserv/question", &[("title", &long), ("body", "b"), ("tags", "t")]);
    assert_eq!(r.status, 400);
    assert!(r.json()["error"].as_str().unwrap().contains("title"), "{}", r.text());

    let r = http.post_form("/webserv/comment", &[("answer_id", "1"), ("body", &"c".repeat(601))]);
    assert_eq!(r.status, 400);
    assert!(r.json()["error"].as_str().unwrap().contains("body"), "{}", r.text());

    let r = http.post_form("/webserv/answer", &[("question_id", "abc"), ("body", "b")]);
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.json()["error"].as_str().unwrap().contains("question_id"), "{}", r.text());

    let r = http.get("/webserv/question/1/nonsense");
    assert_eq!(r.status, 404, "{}", r.text());
    let r = http.request("DELETE", "/webserv/question", &[], b"");
    assert_eq!(r.status, 405, "{}", r.text());
    assert!(r.header("allow").is_some(), "405 names the allowed methods");
    let r = http.get("/webserv/answer");
    assert_eq!(r.status, 405, "{}", r.text());
}

#[test]
fn question_list_is_newest_first_twenty_a_page() {
    let c = Cluster::start("api-pages", small());
    let mut ids = Vec::new();
    // Two questions a minute per user: a new user for every pair.
    let mut http = c.http();
    for i in 0..23 {
        if i % 2 == 0 {
            http = c.http_as(&c.signup_and_login(&format!("pager{i}")));
        }
        let r = http
            .post_form("/webserv/question", &[("title", &format!("Question {i}")), ("body", "b"), ("tags", "paging")]);
        assert_eq!(r.status, 201, "{}", r.text());
        ids.push(r.json()["id"].as_i64().unwrap());
    }
    let p1 = http.get("/webserv/question?page=1").json();
    let got: Vec<i64> = p1["questions"].as_array().unwrap().iter().map(|q| q["id"].as_i64().unwrap()).collect();
    let newest: Vec<i64> = ids.iter().rev().take(20).copied().collect();
    assert_eq!(got, newest);
    assert_eq!(p1["has_more"], true);
    let p2 = http.get("/webserv/question?page=2").json();
    assert_eq!(p2["questions"].as_array().unwrap().len(), 3);
    assert_eq!(p2["has_more"], false);
}
