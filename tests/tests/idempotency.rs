//! Issue 10: idempotency keys as Stripe and the IETF draft define them.
//! The same key and request → the first post again (201, replayed); the same
//! key with another request → 422; the same key while its first request is
//! still in flight → 409; after 24 hours a key means a new request.
//!
//! "In flight" is made real, not simulated: the test holds the author's row
//! lock from its own PostgreSQL session, so the first request stops inside
//! its transaction (after taking its key), and is seen waiting in
//! `pg_stat_activity` before the second request is sent.

use testkit::{wait_for_lock_wait, Cluster, Reply, Shape};

fn post(c: &Cluster, token: &str, path: &str, key: &str, body: &str) -> Reply {
    c.http_as(token).request(
        "POST",
        path,
        &[("Content-Type", "application/x-www-form-urlencoded"), ("Idempotency-Key", key)],
        body.as_bytes(),
    )
}

#[test]
fn same_key_different_body_is_422_in_flight_is_409_and_keys_expire() {
    let shape = Shape { questions: 1, answers: 1, comments: 1, webuis: 0, users: 1, votes: 1 };
    let c = Cluster::start("idempotency", shape);
    let token = c.signup_and_login("idem");
    let mut db = postgres::Client::connect(&c.db_url, postgres::NoTls).expect("connect to the cluster database");

    // Same key, same request: the first post again.
    let ask = "title=Keyed&body=Asked+once&tags=idem";
    let first = post(&c, &token, "/webserv/question", "k-ask", ask);
    assert_eq!(first.status, 201, "{}", first.text());
    let qid = first.json()["id"].as_i64().unwrap();
    let again = post(&c, &token, "/webserv/question", "k-ask", ask);
    assert_eq!((again.status, again.json()["id"].as_i64()), (201, Some(qid)), "{}", again.text());
    assert_eq!(again.header("idempotent-replayed"), Some("true"));

    // Same key, different request: 422, and nothing is made.
    let other = post(&c, &token, "/webserv/question", "k-ask", "title=Keyed&body=Something+else&tags=idem");
    assert_eq!(other.status, 422, "{}", other.text());
    assert!(other.json()["error"].as_str().unwrap_or("").contains("different request"), "{}", other.text());
    let r = post(&c, &token, "/webserv/answer", "k-ask", &format!("question_id={qid}&body=An+answer"));
    assert_eq!(r.status, 422, "a key is one request, whatever the route: {}", r.text());
    let n: i64 = db.query_one("SELECT count(*) FROM questions", &[]).unwrap().get(0);
    assert_eq!(n, 1);

    // Same key while the first request is in flight: 409.
    let mut hold = db.transaction().unwrap();
    hold.execute("SELECT 1 FROM users WHERE username = 'idem' FOR UPDATE", &[]).unwrap();
    let answer = format!("question_id={qid}&body=Answered+once");
    let in_flight = std::thread::scope(|s| {
        let first = s.spawn(|| post(&c, &token, "/webserv/answer", "k-answer", &answer));
        wait_for_lock_wait(&c.db_url, "users", "the first request to wait inside its transaction");
        let second = post(&c, &token, "/webserv/answer", "k-answer", &answer);
        assert_eq!(second.status, 409, "{}", second.text());
        let third = post(&c, &token, "/webserv/answer", "k-answer", &format!("question_id={qid}&body=Changed"));
        assert_eq!(third.status, 409, "in flight comes first: {}", third.text());
        hold.rollback().unwrap();
        first.join().unwrap()
    });
    assert_eq!(in_flight.status, 201, "the first request finishes once released: {}", in_flight.text());
    let aid = in_flight.json()["id"].as_i64().unwrap();
    let replay = post(&c, &token, "/webserv/answer", "k-answer", &answer);
    assert_eq!((replay.status, replay.json()["id"].as_i64()), (201, Some(aid)), "{}", replay.text());

    // After 24 hours a key means a new request.
    db.execute("UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = 'k-ask'", &[])
        .unwrap();
    let later = post(&c, &token, "/webserv/question", "k-ask", ask);
    assert_eq!(later.status, 201, "{}", later.text());
    assert_ne!(later.json()["id"].as_i64(), Some(qid), "an expired key made a new question");
    assert_eq!(later.header("idempotent-replayed"), None);
}
