//! Acceptance 7: the access log and the worker log in the original formats,
//! and one request id followed through the balancer's and a service's logs.

use std::time::Duration;
use testkit::{wait_for, Cluster, Shape};

/// `127.0.0.1 - - [21/Nov/2018:19:57:10 +0000] "GET /perform HTTP/1.1" 200 20 0.0015`
fn is_access_line(l: &str, method: &str, path: &str, status: u16) -> bool {
    let Some((client, rest)) = l.split_once(" - - [") else { return false };
    let Some((when, rest)) = rest.split_once("] \"") else { return false };
    let Some((request, rest)) = rest.split_once("\" ") else { return false };
    let fields: Vec<&str> = rest.split(' ').collect();
    client.parse::<std::net::IpAddr>().is_ok()
        && when.len() == 26
        && when.ends_with(" +0000")
        && when.as_bytes()[2] == b'/'
        && request == format!("{method} {path} HTTP/1.1")
        && fields.len() == 3
        && fields[0] == status.to_string()
        && fields[1].parse::<u64>().is_ok()
        && fields[2].parse::<f64>().is_ok()
        && fields[2].split_once('.').is_some_and(|(_, d)| d.len() == 4)
}

/// `2018-11-22T00:57:10.560Z 46071 TID-owtc6d6a7 Balancer::Worker JID-… INFO: start`
fn worker_line<'a>(log: &'a str, class: &str, jid: &str, msg_prefix: &str) -> Option<&'a str> {
    log.lines().find(|l| {
        let f: Vec<&str> = l.splitn(7, ' ').collect();
        f.len() == 7
            && f[0].len() == 24
            && f[0].ends_with('Z')
            && f[0].as_bytes()[10] == b'T'
            && f[1].parse::<u32>().is_ok()
            && f[2].starts_with("TID-")
            && f[3] == class
            && f[4] == format!("JID-{jid}")
            && f[5] == "INFO:"
            && f[6].starts_with(msg_prefix)
    })
}

#[test]
fn one_request_id_runs_through_every_log_in_the_original_formats() {
    let c = Cluster::start("logs", Shape { questions: 1, answers: 1, comments: 1, webuis: 1, ..Default::default() });
    let http = c.http();
    let asker = c.http_as(&c.signup_and_login("logger"));
    let qid = asker.post_form("/webserv/question", &[("title", "t"), ("body", "b"), ("tags", "logs")]).json()["id"]
        .as_i64()
        .unwrap();
    let jid = "7a0861450b9a887e7e6a0335";
    // The HTML page crosses three processes: balancer, webui, question service.
    let path = format!("/questions/{qid}");
    let r = http.request("GET", &path, &[("X-Request-Id", jid)], b"");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-request-id"), Some(jid), "the id is echoed");

    let line = wait_for("the access-log line", Duration::from_secs(5), || {
        c.access_log().lines().find(|l| is_access_line(l, "GET", &path, 200)).map(String::from)
    });
    assert!(line.starts_with("127.0.0.1 - - ["), "{line}");

    // Worker lines are buffered for one flush tick: poll for them.
    let balancer = wait_for("the balancer's done line", Duration::from_secs(5), || {
        let l = c.balancer().log_text();
        worker_line(&l, "Balancer::Worker", jid, "done: ").is_some().then_some(l)
    });
    assert!(worker_line(&balancer, "Balancer::Worker", jid, "start").is_some(), "balancer start line:\n{balancer}");
    let done = worker_line(&balancer, "Balancer::Worker", jid, "done: ").expect("balancer done line");
    assert!(done.ends_with(" sec"), "{done}");

    // The same id in the webui that rendered the page, and in the question
    // service it asked for the thread.
    for (proc, class) in [("webui", "WebUI::Worker"), ("question", "Question::Worker")] {
        wait_for(&format!("the {proc} line of {jid}"), Duration::from_secs(5), || {
            worker_line(&c.procs_named(proc)[0].log_text(), class, jid, "start").map(|_| ())
        });
    }

    // A request without an id gets a fresh well-formed one.
    let r = http.get(&path);
    let id = r.header("x-request-id").expect("generated id");
    assert!(proto::ids::is_valid_request_id(id.as_bytes()) && id.len() == 24, "{id}");
    assert_ne!(id, jid);
}
