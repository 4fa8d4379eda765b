//! Acceptance 4 and 5: the catalog is built from the registry; a new instance
//! is seen and used within a second; one that stops beating leaves within
//! TTL + 1 s; one that shuts down cleanly leaves at once.

use std::time::{Duration, Instant};
use testkit::{catalog_service, wait_for, Cluster, Shape};

#[test]
fn catalog_lists_two_of_each_service_and_the_webui() {
    let c = Cluster::start("reg-catalog", Shape::default());
    let cat = c.catalog();
    let names: Vec<&str> = cat["services"].as_array().unwrap().iter().filter_map(|s| s["name"].as_str()).collect();
    assert_eq!(&names[..4], ["Question", "Answer", "Comment", "WebUI"], "{cat}");
    for (i, (name, title)) in [
        ("Question", "Webservice: Questioning"),
        ("Answer", "Webservice: Answering"),
        ("Comment", "Webservice: Commenting"),
    ]
    .into_iter()
    .enumerate()
    {
        let s = catalog_service(&cat, name).unwrap();
        assert_eq!(s["id"], i, "{s}");
        assert_eq!(s["title"], title);
        assert!(!s["methods"].as_array().unwrap().is_empty(), "{name} publishes its methods");
        let inst = s["instances"].as_array().unwrap();
        assert_eq!(inst.len(), 2, "{name}: {s}");
        for i in inst {
            for k in ["id", "addr", "pid", "load", "in_flight", "last_heartbeat_ms", "ttl_ms"] {
                assert!(!i[k].is_null(), "{name} instance lacks {k}: {i}");
            }
            assert_eq!(i["ttl_ms"], 3000);
        }
    }
    assert_eq!(c.instance_count(&cat, "WebUI"), 2);
    // The account and voting services of issue 6, after the four known ones.
    for (name, title, route) in [
        ("User", "Webservice: Accounts", "POST /webserv/user/login"),
        ("Vote", "Webservice: Voting", "POST /webserv/vote"),
    ] {
        let s = catalog_service(&cat, name).unwrap_or_else(|| panic!("{name} missing from {cat}"));
        assert_eq!((s["title"].as_str(), c.instance_count(&cat, name)), (Some(title), 1), "{s}");
        assert!(s["routes"].as_array().is_some_and(|r| r.iter().any(|x| x == route)), "{s}");
    }
}

#[test]
fn a_new_instance_takes_traffic_within_a_second_and_a_stopped_one_expires() {
    let mut c =
        Cluster::start("reg-join", Shape { questions: 2, answers: 1, comments: 1, webuis: 1, ..Default::default() });
    let asker = c.http_as(&c.signup_and_login("joiner"));
    let qid = asker.post_form("/webserv/question", &[("title", "t"), ("body", "b"), ("tags", "reg")]).json()["id"]
        .as_i64()
        .unwrap();

    // start_service returns once the instance has registered and logged its address.
    let idx = c.start_service("question");
    let registered = Instant::now();
    let addr = c.procs[idx].addr.to_string();
    wait_for("the third question instance in the catalog", Duration::from_secs(5), || {
        c.instance_addrs("Question").contains(&addr).then_some(())
    });
    let seen = registered.elapsed();
    assert!(seen <= Duration::from_secs(1), "new instance seen after {seen:?}");

    // It receives requests: the balancer spreads equally loaded instances.
    for _ in 0..30 {
        assert_eq!(c.http().get(&format!("/webserv/question/{qid}")).status, 200);
    }
    // Its log lines are written on a short tick (proto::logger::FLUSH_EVERY),
    // not as they happen: poll for them rather than read the log once.
    let served =
        testkit::poll(Duration::from_secs(2), || c.procs[idx].log_text().contains("Question::Worker").then_some(()));
    assert!(
        served.is_some(),
        "the new instance served nothing:\n{}\nthe balancer's catalog: {}",
        c.procs[idx].log_text(),
        c.catalog()
    );

    // Freeze it: it stops beating and must leave within TTL (3 s) + 1 s.
    c.procs[idx].signal(libc::SIGSTOP);
    let stopped = Instant::now();
    wait_for("the frozen instance to leave the catalog", Duration::from_secs(10), || {
        (!c.instance_addrs("Question").contains(&addr)).then_some(())
    });
    let gone = stopped.elapsed();
    assert!(gone <= Duration::from_secs(4), "frozen instance left after {gone:?}");
    c.procs[idx].signal(libc::SIGCONT);
}

#[test]
fn sigterm_deregisters_at_once_and_exits_zero() {
    let mut c =
        Cluster::start("reg-term", Shape { questions: 2, answers: 1, comments: 1, webuis: 1, ..Default::default() });
    let addr = c.procs[0].addr.to_string();
    c.procs[0].signal(libc::SIGTERM);
    let t = Instant::now();
    wait_for("the terminated instance to leave the catalog", Duration::from_secs(5), || {
        (!c.instance_addrs("Question").contains(&addr)).then_some(())
    });
    assert!(t.elapsed() < Duration::from_millis(2500), "left after {:?}, sooner than the TTL", t.elapsed());
    assert_eq!(c.procs[0].wait_exit(Duration::from_secs(15)), Some(0));
    // The survivor carries on.
    let asker = c.http_as(&c.signup_and_login("survivor"));
    let r = asker.post_form("/webserv/question", &[("title", "t"), ("body", "b"), ("tags", "reg")]);
    assert_eq!(r.status, 201, "{}", r.text());
}
