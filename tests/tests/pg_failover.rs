//! Issue 11, acceptance 1, 4 and 5: the data tier joins the chaos test.
//!
//! A deployment by the scripts themselves (see `ops`) with PostgreSQL
//! replicated (`SW_PG_HA=1`: a primary and a synchronous standby under
//! Patroni, three etcd members). Under steady load (GETs of pages; answer
//! POSTs, each with its own Idempotency-Key, repeated with the same key on
//! error), the PostgreSQL primary's postmaster is killed with SIGKILL; Patroni
//! must promote the standby and bring the killed node back as the standby
//! (pg_rewind), and then the new primary is killed the same way.
//!
//! Asserted and reported: writes accepted again within 10 s of each kill;
//! the old primary streaming again; failed GETs 0; POSTs either succeed or
//! get 503 with Retry-After (counted), never another 5xx; every acknowledged
//! answer stored exactly once.
//!
//! Then the isolated primary: its Patroni is frozen (SIGSTOP: it can neither
//! renew the leader lock nor demote anything), so Patroni on the other node
//! takes the lock and promotes its standby while the old primary still runs,
//! believing it is the primary. A write sent straight to it must not be
//! acknowledged: its COMMIT waits for a synchronous standby that now follows
//! nobody, and when the wait is cancelled the server says the transaction
//! "might not have been replicated" (which stackwire treats as a failure).
//! Once its Patroni runs again, the node rejoins as the standby of the new
//! primary, and the unacknowledged row is gone: two primaries never both
//! acknowledged a write.

mod ha;
mod load;
mod ops;

use load::Outcome;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const WRITES_BACK_GOAL: Duration = Duration::from_secs(10);

/// Patroni's view: (node name, role, state, timeline) of each member.
fn cluster(d: &ops::Deployment) -> Vec<(String, String, String, i64)> {
    for off in [12u16, 13] {
        let addr = ([127, 0, 0, 1], d.base + off).into();
        if let Outcome::Status(200, body) = load::request(addr, "GET", "/cluster", &[], b"", Duration::from_secs(2)) {
            let doc: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
            return doc["members"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|m| {
                    let s = |k: &str| m[k].as_str().unwrap_or("").to_string();
                    (s("name"), s("role"), s("state"), m["timeline"].as_i64().unwrap_or(-1))
                })
                .collect();
        }
    }
    Vec::new()
}

fn primary(d: &ops::Deployment) -> Option<String> {
    cluster(d).into_iter().find(|(_, role, state, _)| role == "leader" && state == "running").map(|m| m.0)
}

/// `name` runs as a standby on the leader's timeline (streaming from it), and is synchronous.
fn rejoined(d: &ops::Deployment, name: &str) -> bool {
    let c = cluster(d);
    let leader_tl = c.iter().find(|m| m.1 == "leader" && m.2 == "running").map(|m| m.3);
    c.iter().any(|m| m.0 == name && m.1 == "sync_standby" && m.2 == "running" && Some(m.3) == leader_tl)
}

fn database_url(d: &ops::Deployment) -> String {
    let env = std::fs::read_to_string(d.var.join("env")).expect("var/env");
    let line = env.lines().find_map(|l| l.strip_prefix("export STACKWIRE_DATABASE_URL=")).expect("the URL");
    // Written with printf %q: a backslash before each special character.
    line.trim_matches('\'').replace('\\', "")
}

fn postmaster_pid(d: &ops::Deployment, node: &str) -> i32 {
    let text = std::fs::read_to_string(d.var.join(format!("{node}/data/postmaster.pid"))).expect("postmaster.pid");
    text.lines().next().and_then(|l| l.trim().parse().ok()).expect("a pid")
}

fn signal(pid: i32, sig: i32) {
    // SAFETY: kill(2) on a pid the scripts recorded for us.
    unsafe { libc::kill(pid, sig) };
}

/// One write through the multi-host URL, as the services connect.
fn write_ok(url: &str) -> bool {
    let cfg: Result<postgres::Config, _> = url.parse();
    let Ok(mut cfg) = cfg else { return false };
    cfg.connect_timeout(Duration::from_secs(1));
    let Ok(mut c) = cfg.connect(postgres::NoTls) else { return false };
    c.batch_execute("CREATE TABLE IF NOT EXISTS chaos_probe (at timestamptz, note text); INSERT INTO chaos_probe VALUES (now(), 'probe')")
        .is_ok()
}

/// kill -9 the primary's postmaster; returns (node, time until writes, time until it streams again).
fn kill_primary(d: &ops::Deployment, url: &str) -> (String, Duration, Duration) {
    let node = testkit::wait_for("a PostgreSQL primary", Duration::from_secs(30), || primary(d));
    testkit::wait_for(&format!("a synchronous standby of {node}"), Duration::from_secs(60), || {
        cluster(d).iter().any(|m| m.1 == "sync_standby" && m.2 == "running").then_some(())
    });
    let pid = postmaster_pid(d, &node);
    let t0 = Instant::now();
    signal(pid, libc::SIGKILL);
    let writes =
        testkit::wait_for("writes accepted again", Duration::from_secs(60), || write_ok(url).then(|| t0.elapsed()));
    let back = testkit::wait_for(&format!("{node} streaming again"), Duration::from_secs(120), || {
        rejoined(d, &node).then(|| t0.elapsed())
    });
    (node, writes, back)
}

#[test]
fn the_postgres_primary_dies_twice_under_load_and_nothing_is_lost() {
    let d = ops::Deployment::new("pg", &[("SW_PG_HA", "1".into()), ("SW_USERS", "2".into())]);
    // Twelve accounts from one address: above the default sign-up limit, so
    // the run raises it the way an operator would, through the environment
    // start_all.sh records for every process it starts.
    let r = d.run("start_all.sh", &[("STACKWIRE_LIMIT_SIGNUPS_PER_ADDRESS", "1000")]);
    assert!(r.ok, "start_all.sh (replicated PostgreSQL) from env -i:\n{}", r.output);
    let url = database_url(&d);
    assert!(url.contains("target_session_attrs=read-write") && url.contains(','), "a multi-host URL: {url}");
    let http = testkit::HttpClient::new(d.http());

    let tokens: Vec<String> = (0..12)
        .map(|i| {
            let (u, p) = (format!("pgchaos{i}"), format!("password-pgchaos{i}"));
            let r = http.post_form("/webserv/user", &[("username", &u), ("password", &p)]);
            assert_eq!(r.status, 201, "sign up: {}", r.text());
            let r = http.post_form("/webserv/user/login", &[("username", &u), ("password", &p)]);
            r.json()["token"].as_str().expect("a token").to_string()
        })
        .collect();
    let q = http.with_token(&tokens[0]).post_form(
        "/webserv/question",
        &[("title", "pg chaos"), ("body", "what survives the database?"), ("tags", "chaos")],
    );
    assert_eq!(q.status, 201, "{}", q.text());
    let qid = q.json()["id"].as_i64().unwrap();

    let target = Arc::new(Mutex::new(d.http()));
    let posters = [("a", Duration::from_millis(200)), ("b", Duration::from_millis(200))];
    let load = load::on_question(target, qid, &tokens, &posters);

    let mut report = Vec::new();
    for round in 1..=2 {
        let (node, writes, back) = kill_primary(&d, &url);
        let line = format!(
            "kill -9 PostgreSQL primary {node} (#{round}): writes accepted again after {} ms; {node} streaming again as the synchronous standby after {} ms",
            writes.as_millis(),
            back.as_millis()
        );
        eprintln!("pg chaos: {line}");
        report.push((line, writes));
        std::thread::sleep(Duration::from_secs(1));
    }
    std::thread::sleep(Duration::from_secs(2));
    let (records, created) = load.stop();

    let (_, failed) = load::failed_gets(&records, &[]);
    let gets = records.iter().filter(|r| r.method == "GET").count();
    let posts: Vec<&load::Record> = records.iter().filter(|r| r.method == "POST").collect();
    let is_503 = |r: &load::Record| matches!(&r.outcome, Outcome::Status(503, _));
    let refused_503 = posts.iter().filter(|r| is_503(r)).count();
    let other_5xx: Vec<String> = posts
        .iter()
        .filter(|r| matches!(&r.outcome, Outcome::Status(s, _) if *s >= 500) && !is_503(r))
        .map(|r| r.summary())
        .collect();
    let stored = load::stored_answers(&url, qid, &created);
    eprintln!("pg chaos: GETs: {gets} sent, {} failed", failed.len());
    eprintln!(
        "pg chaos: POSTs: {} answers acknowledged; {refused_503} answered 503 (repeated with their key); {} other 5xx; \
         {} rows stored; {} lost; {} duplicated",
        created.len(),
        other_5xx.len(),
        stored.rows,
        stored.missing.len(),
        stored.doubled.len()
    );

    assert!(gets > 300, "the load ran ({gets} GETs)");
    assert!(created.len() > 10, "answers were posted ({})", created.len());
    load::assert_no_failed_gets(&failed);
    assert!(other_5xx.is_empty(), "POSTs answered a 5xx other than 503: {other_5xx:#?}");
    stored.assert_each_once();
    for (line, writes) in &report {
        assert!(*writes <= WRITES_BACK_GOAL, "{line}: over the {WRITES_BACK_GOAL:?} goal");
    }

    isolated_primary_cannot_acknowledge_a_write(&d, &url);

    // The database nodes in a rolling restart: etcd members, the standby,
    // a switchover through Patroni, the old primary; from env -i.
    let before = primary(&d);
    let r = d.run("rolling_restart.sh", &[("SW_ONLY", "^pg$")]);
    assert!(r.ok, "rolling_restart.sh of the database nodes:\n{}", r.output);
    assert!(r.output.contains("switched over"), "a switchover, not a kill:\n{}", r.output);
    assert_ne!(primary(&d), before, "the primary moved");
    assert!(write_ok(&url), "writes work after the rolling restart");
}

fn isolated_primary_cannot_acknowledge_a_write(d: &ops::Deployment, url: &str) {
    let old = testkit::wait_for("a primary", Duration::from_secs(30), || primary(d));
    testkit::wait_for("a synchronous standby", Duration::from_secs(60), || {
        cluster(d).iter().any(|m| m.1 == "sync_standby" && m.2 == "running").then_some(())
    });
    let patroni = d.pid(&old).expect("the old primary's Patroni");
    let port = if old.ends_with("-1") { d.base + 5 } else { d.base + 6 };
    signal(patroni, libc::SIGSTOP);
    let _thaw = Thaw(patroni);
    let t0 = Instant::now();
    let new = testkit::wait_for("the standby promoted", Duration::from_secs(60), || primary(d).filter(|p| *p != old));
    eprintln!("pg isolation: Patroni of {old} frozen; {new} promoted after {} ms", t0.elapsed().as_millis());

    // Straight to the old primary, as a client with a stale address would.
    let password = url.split(':').nth(2).and_then(|s| s.split('@').next()).unwrap_or("");
    let notices = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = notices.clone();
    let mut cfg: postgres::Config =
        format!("postgresql://stackwire:{password}@127.0.0.1:{port}/stackwire").parse().unwrap();
    cfg.connect_timeout(Duration::from_secs(2))
        .options("-c statement_timeout=2000")
        .notice_callback(move |n| seen.lock().unwrap().push(format!("{}: {}", n.message(), n.detail().unwrap_or(""))));
    // The COMMIT waits for a synchronous standby that follows nobody now (a
    // statement_timeout does not cover that wait): a client gives up after a
    // while and cancels, which is when the server says what it did.
    let mut client = cfg.connect(postgres::NoTls).expect("connect to the isolated old primary");
    let cancel = client.cancel_token();
    let (tx, rx) = std::sync::mpsc::channel();
    let writer = std::thread::spawn(move || {
        let r = client.batch_execute("INSERT INTO chaos_probe VALUES (now(), 'isolated')");
        let _ = tx.send(());
        r
    });
    let answered_in_time = rx.recv_timeout(Duration::from_secs(3)).is_ok();
    assert!(!answered_in_time, "the isolated old primary answered a COMMIT within 3 s");
    cancel.cancel_query(postgres::NoTls).expect("cancel the waiting COMMIT");
    let outcome = writer.join().expect("the writer thread");
    let notices = notices.lock().unwrap().clone();
    let unreplicated = notices.iter().any(|n| n.contains("might not have been replicated"));
    eprintln!("pg isolation: a write to the isolated {old}: {outcome:?}; notices {notices:?}");
    assert!(outcome.is_err() || unreplicated, "the isolated old primary acknowledged a write: {outcome:?} {notices:?}");

    signal(patroni, libc::SIGCONT);
    let back = testkit::wait_for(&format!("{old} back as the standby"), Duration::from_secs(120), || {
        rejoined(d, &old).then(|| t0.elapsed())
    });
    eprintln!(
        "pg isolation: {old} rejoined as the synchronous standby of {new} {} ms after the freeze",
        back.as_millis()
    );
    let mut db = postgres::Client::connect(url, postgres::NoTls).unwrap();
    let n: i64 = db.query_one("SELECT count(*) FROM chaos_probe WHERE note = 'isolated'", &[]).unwrap().get(0);
    assert_eq!(n, 0, "the row the isolated primary took is not in the cluster");
}

/// Sends SIGCONT when dropped, so a failed assertion never leaves Patroni frozen.
struct Thaw(i32);

impl Drop for Thaw {
    fn drop(&mut self) {
        signal(self.0, libc::SIGCONT);
    }
}
