//! Answer creates that arrive together are written together (one
//! transaction, one statement, one commit: `services/src/infra/group_commit.rs`
//! and `posting::answers`), and nobody can tell from the replies: each
//! request gets its own answer (its own body, its own author), the posting
//! limit holds exactly across a group, an answer to a missing question is
//! refused alone while the rest of its group is written, and the counters
//! the trigger keeps add up. The answer instance's `/metrics` must show
//! groups of more than one, or the test fails: without grouping it
//! would pass every other check and test nothing.

use serde_json::Value;
use std::thread;
use std::time::Duration;
use testkit::{wait_for_lock_wait, Cluster, Proc, Shape};

const LIMIT: usize = 4;

fn group_metric(p: &Proc, name: &str) -> u64 {
    let text = p.admin().get("/metrics").text();
    let prefix = format!("stackwire_group_commit_{name}{{service=\"answer\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {prefix} in:\n{text}"))
}

/// One burst: every (writer token, question, body) posted at the same time,
/// each from its own thread; gives (status, JSON reply) per post.
fn burst(c: &Cluster, posts: &[(String, i64, String)]) -> Vec<(u16, Value, Option<String>)> {
    thread::scope(|s| {
        let handles: Vec<_> = posts
            .iter()
            .map(|(token, question, body)| {
                let http = c.http_as(token);
                s.spawn(move || {
                    let r =
                        http.post_form("/webserv/answer", &[("question_id", &question.to_string()), ("body", body)]);
                    let retry = r.header("Retry-After").map(str::to_string);
                    (r.status, if r.body.is_empty() { Value::Null } else { r.json() }, retry)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("poster thread")).collect()
    })
}

#[test]
fn answers_posted_at_once_are_grouped_and_each_gets_exactly_its_own() {
    let shape = Shape { questions: 1, answers: 1, comments: 1, webuis: 0, users: 1, votes: 1 };
    let limits = [("STACKWIRE_LIMIT_ANSWERS_PER_USER", "4"), ("STACKWIRE_LIMIT_SIGNUPS_PER_ADDRESS", "1000")];
    let c = Cluster::start_with("group-commit", shape, &limits);
    let asker = c.http_as(&c.signup_and_login("gc_asker"));
    let r = asker.post_form("/webserv/question", &[("title", "Grouped answers"), ("body", "b"), ("tags", "gc")]);
    assert_eq!(r.status, 201, "{}", r.text());
    let q = r.json()["id"].as_i64().expect("question id");
    let missing = q + 1_000_000;
    let answer_proc = &c.procs_named("answer")[0];

    // Eight writers post six answers each at once; the limit is four a
    // minute, so each writer gets exactly four 201s and two 429s.
    let writers: Vec<(String, String)> =
        (0..8).map(|w| (format!("gc_w{w}"), c.signup_and_login(&format!("gc_w{w}")))).collect();
    let posts: Vec<(String, i64, String)> =
        (0..48).map(|i| (writers[i % 8].1.clone(), q, format!("answer {i} from writer {}", i % 8))).collect();
    let replies = burst(&c, &posts);
    for w in 0..8 {
        let mine: Vec<_> = replies.iter().enumerate().filter(|(i, _)| i % 8 == w).map(|(_, r)| r).collect();
        let made = mine.iter().filter(|r| r.0 == 201).count();
        let refused: Vec<_> = mine.iter().filter(|r| r.0 == 429).collect();
        assert_eq!((made, refused.len()), (LIMIT, 6 - LIMIT), "writer {w}: {mine:?}");
        assert!(refused.iter().all(|r| r.2.is_some()), "a refusal carries Retry-After: {refused:?}");
    }
    let mut ids = Vec::new();
    for (i, (status, json, _)) in replies.iter().enumerate() {
        if *status == 201 {
            assert_eq!(json["body"], posts[i].2.as_str(), "post {i} got another post's answer: {json}");
            assert_eq!(json["author"], writers[i % 8].0.as_str(), "post {i}: {json}");
            assert_eq!(json["question_id"].as_i64(), Some(q));
            ids.push(json["id"].as_i64().expect("id"));
        }
    }
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 8 * LIMIT, "every made answer has its own id");
    let thread = asker.get(&format!("/webserv/question/{q}")).json();
    assert_eq!(thread["answer_count"].as_i64(), Some((8 * LIMIT) as i64), "the trigger counted each one: {thread}");

    // A burst where every other post answers a question that does not
    // exist: those are 404, the rest are written (fresh writers, well
    // within the limit). Repeated (at most 5 bursts) until a group of more
    // than one has formed, so the check below cannot miss by bad timing.
    for round in 0..5 {
        let fresh: Vec<String> = (0..12).map(|w| c.signup_and_login(&format!("gc_r{round}_{w}"))).collect();
        let posts: Vec<(String, i64, String)> = (0..24)
            .map(|i| (fresh[i % 12].clone(), if i % 2 == 1 { missing } else { q }, format!("round {round} post {i}")))
            .collect();
        for (i, (status, json, _)) in burst(&c, &posts).iter().enumerate() {
            if i % 2 == 1 {
                assert_eq!(*status, 404, "post {i} to a missing question: {json}");
            } else {
                assert_eq!((*status, json["body"].as_str()), (201, Some(posts[i].2.as_str())), "post {i}: {json}");
            }
        }
        if group_metric(answer_proc, "largest") > 1 {
            break;
        }
    }
    let (groups, items) = (group_metric(answer_proc, "groups_total"), group_metric(answer_proc, "items_total"));
    assert!(
        group_metric(answer_proc, "largest") > 1 && items > groups,
        "no group of more than one: {groups} groups, {items} items"
    );
}

/// A writer whose user row another transaction holds waits alone: the
/// group skips that row (it never queues the others behind one user's
/// lock) and leaves the post to its own thread, which waits for the lock
/// and then posts as a lone create would. Another writer's post, made
/// while the first waits, is answered at once.
#[test]
fn one_users_held_row_does_not_stall_the_others_posts() {
    let shape = Shape { questions: 1, answers: 1, comments: 1, webuis: 0, users: 1, votes: 1 };
    let c = Cluster::start_with("group-commit-lock", shape, &[("STACKWIRE_LIMIT_SIGNUPS_PER_ADDRESS", "1000")]);
    let (held, free) = (c.signup_and_login("gc_held"), c.signup_and_login("gc_free"));
    let asker = c.http_as(&c.signup_and_login("gc_lock_asker"));
    let r = asker.post_form("/webserv/question", &[("title", "Held rows"), ("body", "b"), ("tags", "gc")]);
    assert_eq!(r.status, 201, "{}", r.text());
    let q = r.json()["id"].as_i64().expect("question id").to_string();

    let mut db = postgres::Client::connect(&c.db_url, postgres::NoTls).expect("database");
    let mut hold = db.transaction().expect("begin");
    hold.execute("SELECT 1 FROM users WHERE username = 'gc_held' FOR UPDATE", &[]).expect("lock the row");
    let waited = thread::scope(|s| {
        let first = s.spawn(|| c.http_as(&held).post_form("/webserv/answer", &[("question_id", &q), ("body", "held")]));
        wait_for_lock_wait(&c.db_url, "users", "the held writer's post to wait for its row");
        // Well within the statement timeout (10 s), after which a group
        // stuck on the row would give up and let the others through anyway.
        let started = std::time::Instant::now();
        for i in 0..3 {
            let r =
                c.http_as(&free).post_form("/webserv/answer", &[("question_id", &q), ("body", &format!("free {i}"))]);
            assert_eq!(r.status, 201, "a free writer's post while another's row is held: {}", r.text());
        }
        assert!(started.elapsed() < Duration::from_secs(5), "the free writer's posts took {:?}", started.elapsed());
        assert!(!first.is_finished(), "the held writer's post waits for its row");
        hold.rollback().expect("release");
        first.join().expect("held poster")
    });
    assert_eq!((waited.status, waited.json()["body"].as_str()), (201, Some("held")), "{}", waited.text());
}
