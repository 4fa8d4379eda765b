//! Issue 5, acceptance 1 (the short chaos test; scripts/chaos.sh is the full
//! size one): node failures under steady load lose nothing.
//!
//! A cluster (two of each service but vote, two webuis) runs
//! against a replicated Redis of its own (free ports, see `ha`), with
//! two balancers sharing one port through `SO_REUSEPORT` and each on
//! a port of its own. The load: GETs of a question's JSON and HTML pages and
//! of the front page, and answer POSTs, each with its own Idempotency-Key,
//! repeated with the same key on error. Then, in turn, with `kill -9`: a
//! question instance, an answer instance, a webui instance, the Redis
//! primary, one of the two balancers; each killed instance gets a
//! replacement; then every instance of every tier is restarted one at a time.
//!
//! Asserted and reported:
//! - failed GETs: 0 (requests that were open on the killed balancer itself
//!   are counted separately and shown);
//! - every answer whose POST got a 2xx exists exactly once in PostgreSQL, and
//!   no answer exists twice;
//! - for each kill, how long until the instance left rotation on the load
//!   balancers, and until its replacement took traffic.

mod ha;
mod load;

use load::Outcome;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use testkit::{wait_for, Cluster, Proc, Shape};

/// Lets a graceful stop of one SO_REUSEPORT balancer hand the connections
/// still queued on its listener to the other (Linux ≥ 5.14); best effort.
fn migrate_queued_connections() {
    let path = "/proc/sys/net/ipv4/tcp_migrate_req";
    if std::fs::read_to_string(path).map(|v| v.trim() == "0").unwrap_or(false) {
        let set = std::fs::write(path, "1");
        eprintln!("chaos: net.ipv4.tcp_migrate_req=1: {set:?}");
    }
}

fn start_balancer(c: &Cluster, label: &str, shared: SocketAddr) -> Proc {
    let log = c.dir.join(format!("{label}.log"));
    let mut cmd = Command::new(c.env.bin_dir.join("balancer"));
    cmd.args(["--listen", "127.0.0.1:0", "--shared-listen", &shared.to_string(), "--admin", "127.0.0.1:0"])
        .env("STACKWIRE_REGISTRY_PREFIX", &c.prefix)
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    Proc::start(label, cmd, log)
}

/// `/status/json` from a balancer's admin listener (`admin` is its address).
fn status(admin: SocketAddr) -> Option<serde_json::Value> {
    let addr = admin;
    match load::request(addr, "GET", "/status/json", &[], b"", Duration::from_secs(2)) {
        Outcome::Status(200, body) => serde_json::from_str(&body).ok(),
        _ => None,
    }
}

/// Whether `addr` is an available instance in a status document.
fn in_rotation(st: &serde_json::Value, addr: &str) -> bool {
    st["services"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["instances"].as_array().into_iter().flatten())
        .any(|i| i["addr"] == addr && i["available"] == true)
}

/// Waits until no load balancer has `addr` in rotation; returns how long after `since`.
fn left_rotation(balancers: &[SocketAddr], addr: &str, since: Instant) -> Duration {
    wait_for(&format!("{addr} to leave rotation"), Duration::from_secs(15), || {
        balancers.iter().all(|b| status(*b).is_some_and(|st| !in_rotation(&st, addr))).then(|| since.elapsed())
    })
}

/// Waits until the process at `p` has served a call; returns how long after `since`.
fn took_traffic(p: &Proc, since: Instant) -> Duration {
    wait_for(&format!("{} to take traffic", p.name), Duration::from_secs(15), || {
        p.log_text().lines().any(|l| l.contains("::Worker") && l.contains(" start ")).then(|| since.elapsed())
    })
}

fn alive(p: &mut Proc) -> bool {
    matches!(p.child.try_wait(), Ok(None))
}

fn kill9(p: &mut Proc) -> Instant {
    p.signal(libc::SIGKILL);
    let t = Instant::now();
    let _ = p.wait_exit(Duration::from_secs(5));
    t
}

struct Report {
    lines: Vec<String>,
}

impl Report {
    fn add(&mut self, line: String) {
        eprintln!("chaos: {line}");
        self.lines.push(line);
    }
}

#[test]
fn instances_redis_and_a_balancer_die_under_load_and_nothing_is_lost() {
    let began = Instant::now();
    migrate_queued_connections();
    let mut redis = ha::RedisHa::start("chaos");
    redis.export();
    let shape = Shape { questions: 2, answers: 2, comments: 2, webuis: 2, users: 2, votes: 1 };
    let mut c = Cluster::start("chaos", shape);
    let shared: SocketAddr = ([127, 0, 0, 1], testkit::free_ports(1)).into();
    let mut b1 = start_balancer(&c, "balancer-1", shared);
    let mut b2 = start_balancer(&c, "balancer-2", shared);
    let mut report = Report { lines: Vec::new() };

    // Accounts, when the cluster has them: answers need a login then, and a
    // user may post 10 answers a minute, so the posts rotate over 12 users.
    let has_users = c.instance_count(&c.catalog(), "User") > 0;
    let tokens: Vec<String> =
        if has_users { (0..12).map(|i| c.signup_and_login(&format!("chaos{i}"))).collect() } else { Vec::new() };
    let asker = tokens.first().map(|t| c.http_as(t)).unwrap_or_else(|| c.http());
    let q = asker.post_form("/webserv/question", &[("title", "chaos"), ("body", "what survives?"), ("tags", "chaos")]);
    assert_eq!(q.status, 201, "{}", q.text());
    let qid = q.json()["id"].as_i64().unwrap();

    let target = Arc::new(Mutex::new(shared));
    let load = load::on_question(target.clone(), qid, &tokens, &[("a", Duration::from_millis(300))]);
    let load_balancers = |b1: &Proc, b2: &Proc| vec![b1.admin_addr(), b2.admin_addr()];

    // 1-3: one instance of each kind, kill -9, then a replacement.
    for kind in ["question", "answer", "webui"] {
        let i = c.procs.iter_mut().position(|p| p.name.starts_with(kind) && alive(p)).unwrap();
        let addr = c.procs[i].addr.to_string();
        let killed = kill9(&mut c.procs[i]);
        let out = left_rotation(&load_balancers(&b1, &b2), &addr, killed);
        let j = if kind == "webui" { c.start_webui() } else { c.start_service(kind) };
        let started = Instant::now();
        let back = took_traffic(&c.procs[j], started);
        report.add(format!(
            "kill -9 {kind} {addr}: out of rotation after {} ms; replacement {} took traffic {} ms after it started",
            out.as_millis(),
            c.procs[j].addr,
            back.as_millis()
        ));
    }

    // 4: the Redis primary.
    let old = redis.kill_primary();
    let killed = Instant::now();
    let new = redis.wait_new_primary(old, Duration::from_secs(15)).expect("a new primary");
    let promoted = killed.elapsed();
    let registry = redis.registry(&c.prefix);
    let killed_ms = proto::clock::now_ms() - promoted.as_millis() as i64;
    let live = c.procs.iter_mut().filter_map(|p| alive(p).then_some(())).count();
    let back = wait_for("every record on the new primary", Duration::from_secs(10), || {
        let l = registry_agent::list_once(&registry).ok()?;
        let fresh = l.values().flatten().filter(|r| r.last_heartbeat_ms > killed_ms && r.service != "balancer").count();
        (fresh >= live).then(|| killed.elapsed())
    });
    report.add(format!(
        "kill -9 Redis primary :{old}: new primary :{new} after {} ms; records rewritten {} ms after the kill",
        promoted.as_millis(),
        back.as_millis()
    ));
    redis.restart_as_replica(old);

    // 5: one of the two balancers; the shared port carries on with the other.
    let b1_addr = b1.addr;
    let bal_killed = kill9(&mut b1);
    let gone = wait_for("balancer-1 to leave the registry", Duration::from_secs(10), || {
        status(b2.admin_addr())?["balancers"]
            .as_array()?
            .iter()
            .all(|b| b["addr"] != b1_addr.to_string())
            .then(|| bal_killed.elapsed())
    });
    std::thread::sleep(Duration::from_secs(1));
    b1 = start_balancer(&c, "balancer-1b", shared);
    report.add(format!(
        "kill -9 balancer {b1_addr}: the shared port kept serving through balancer {}; its record left after {} ms",
        b2.addr,
        gone.as_millis()
    ));

    // 6: a rolling restart of every instance of every tier, one at a time.
    // Each replacement starts first (on a port of its own) and is in rotation
    // on both load balancers before the old instance gets SIGTERM, so even a
    // tier of one never goes dark.
    let rolling = Instant::now();
    let live: Vec<usize> = c.procs.iter_mut().enumerate().filter_map(|(i, p)| alive(p).then_some(i)).collect();
    for i in live {
        let name = c.procs[i].name.clone();
        let kind = name.split('-').next().unwrap_or("").to_string();
        let j = if kind == "webui" { c.start_webui() } else { c.start_service(&kind) };
        let addr = c.procs[j].addr.to_string();
        wait_for(&format!("{addr} in rotation"), Duration::from_secs(10), || {
            [b1.admin_addr(), b2.admin_addr()]
                .iter()
                .all(|b| status(*b).is_some_and(|st| in_rotation(&st, &addr)))
                .then_some(())
        });
        c.procs[i].signal(libc::SIGTERM);
        let code = c.procs[i].wait_exit(Duration::from_secs(20));
        assert_eq!(code, Some(0), "{name} exits 0 after SIGTERM");
    }
    for (k, b) in [&mut b1, &mut b2].into_iter().enumerate() {
        b.signal(libc::SIGTERM);
        assert_eq!(b.wait_exit(Duration::from_secs(20)), Some(0), "a balancer exits 0 after SIGTERM");
        *b = start_balancer(&c, &format!("balancer-r{k}"), shared);
    }
    report.add(format!("rolling restart of every instance: {} s", rolling.elapsed().as_secs()));
    std::thread::sleep(Duration::from_secs(2));
    let (records, created) = load.stop();

    // GETs: none failed, but those open on the killed balancer.
    let (on_killed, failed) = load::failed_gets(&records, &[bal_killed]);
    let gets = records.iter().filter(|r| r.method == "GET").count();
    report.add(format!("GETs: {gets} sent, {} failed, {} open on the killed balancer", failed.len(), on_killed.len()));

    // A client that lost a reply repeats its POST with the same key: it gets
    // the first answer back, and no second row.
    let (key, id, who) = created.first().cloned().expect("an acknowledged answer");
    let body = testkit::http::form(&[("question_id", &qid.to_string()), ("body", &format!("answer {key}"))]);
    let mut headers = vec![("Content-Type", "application/x-www-form-urlencoded"), ("Idempotency-Key", key.as_str())];
    let bearer = tokens.get(who).map(|t| format!("Bearer {t}"));
    if let Some(b) = &bearer {
        headers.push(("Authorization", b.as_str()));
    }
    let again = load::request(shared, "POST", "/webserv/answer", &headers, body.as_bytes(), Duration::from_secs(10));
    match &again {
        Outcome::Status(s, text) if (200..300).contains(s) => {
            let v: serde_json::Value = serde_json::from_str(text).unwrap();
            assert_eq!(v["id"].as_i64(), Some(id), "the repeat returns the first answer: {text}");
        }
        other => panic!("repeating a POST with its key: {other:?}"),
    }

    // POSTs: every 2xx answer exists once, and nothing exists twice.
    let stored = load::stored_answers(&c.db_url, qid, &created);
    let post_errors = records.iter().filter(|r| r.method == "POST" && !r.ok()).count();
    report.add(format!(
        "POSTs: {} answers acknowledged (after {post_errors} failed attempts, each retried with its key); \
         {} rows stored; {} lost; {} duplicated",
        created.len(),
        stored.rows,
        stored.missing.len(),
        stored.doubled.len()
    ));
    report.add(format!("total {} s", began.elapsed().as_secs()));
    std::fs::write(c.dir.join("chaos-report.txt"), report.lines.join("\n") + "\n").unwrap();

    assert!(gets > 500, "the load ran ({gets} GETs)");
    assert!(created.len() > 20, "answers were posted ({})", created.len());
    load::assert_no_failed_gets(&failed);
    stored.assert_each_once();
}
