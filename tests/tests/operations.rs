//! Issue 11, "operations that cannot hurt": the operator scripts are safe at
//! any time, in any order, from an empty environment (`env -i`), and a
//! rolling restart after an instance died brings it back without failing a
//! request.
//!
//! One deployment by the scripts themselves (see `ops`): `start_all.sh`
//! twice (the second finds everything up), then under steady GET load one
//! question instance is killed with SIGKILL and `rolling_restart.sh` runs:
//! it must start the dead instance first (with its recorded command line
//! and environment: the bug was a replacement without
//! `STACKWIRE_REDIS_SENTINELS`), then restart every instance, the Redis
//! nodes included, one at a time, with 0 failed GETs, and leave every
//! instance running and in rotation. Then `stop_all.sh` twice, and a
//! `rolling_restart.sh` of a stopped system, which brings it all up first.
//! Last, a dead question instance whose replacement cannot start (its port is
//! taken): `rolling_restart.sh` exits non-zero with a message naming it and
//! stops nothing, so the last healthy question instance keeps serving.

mod ha;
mod load;
mod ops;

use load::{Load, Outcome};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn status(addr: std::net::SocketAddr) -> Option<serde_json::Value> {
    match load::request(addr, "GET", "/status/json", &[], b"", Duration::from_secs(2)) {
        Outcome::Status(200, body) => serde_json::from_str(&body).ok(),
        _ => None,
    }
}

/// Every recorded instance runs, and every service instance is available on every balancer.
fn all_up(d: &ops::Deployment) -> Result<(), String> {
    let names = d.names();
    if names.is_empty() {
        return Err("no recorded instances".into());
    }
    let docs: Vec<serde_json::Value> = d
        .balancers()
        .iter()
        .map(|b| status(*b).ok_or(format!("balancer {b} has no /status/json")))
        .collect::<Result<_, _>>()?;
    for name in names {
        d.pid(&name).ok_or(format!("{name} is not running"))?;
        if name.starts_with("balancer") {
            continue;
        }
        let addr = d.listen(&name).ok_or(format!("{name} has no --listen"))?;
        for doc in &docs {
            let ok = doc["services"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|s| s["instances"].as_array().into_iter().flatten())
                .any(|i| i["addr"] == addr.as_str() && i["available"] == true);
            if !ok {
                return Err(format!("{name} ({addr}) is not available on every balancer"));
            }
        }
    }
    Ok(())
}

#[test]
fn operator_scripts_are_safe_from_an_empty_environment() {
    let d = ops::Deployment::new("scripts", &[]);
    // Under flock, as an operator serialises runs: once the script is done
    // the lock must be free, so no process it started kept the descriptor.
    let lock = d.root.join("start_all.lock");
    let r = d.run_under_flock("start_all.sh", &lock);
    assert!(r.ok, "flock LOCK start_all.sh from env -i:\n{}", r.output);
    let free = std::process::Command::new("/usr/bin/flock").arg("-n").arg(&lock).arg("true").status().unwrap();
    assert!(free.success(), "the lock around start_all.sh is still held by something it started");
    let r = d.run("start_all.sh", &[]);
    assert!(r.ok && r.output.contains("already running"), "start_all.sh again:\n{}", r.output);
    testkit::wait_for("every instance up and in rotation", Duration::from_secs(30), || all_up(&d).ok());
    let instances = d.names();
    assert!(instances.len() >= 14, "{instances:?}");

    // Load through the shared port, then one question instance dies.
    let target = Arc::new(Mutex::new(d.http()));
    let mut load = Load::new();
    for _ in 0..3 {
        load.gets(target.clone(), vec!["/webserv/question?page=1".into(), "/".into()], Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_secs(1));
    let killed = d.pid("question-1").expect("question-1 runs");
    // SAFETY: kill(2) on a pid the scripts recorded for us.
    unsafe { libc::kill(killed, libc::SIGKILL) };
    testkit::wait_for("question-1 to die", Duration::from_secs(5), || d.pid("question-1").is_none().then_some(()));

    let r = d.run("rolling_restart.sh", &[]);
    assert!(r.ok, "rolling_restart.sh from env -i:\n{}", r.output);
    assert!(
        r.output.contains("question-1 is not running: starting it"),
        "the dead one is started first:\n{}",
        r.output
    );
    assert!(r.output.contains("by a Sentinel failover"), "the Redis nodes are restarted too:\n{}", r.output);
    let (records, _) = load.stop();
    let (_, failed) = load::failed_gets(&records, &[]);
    let shown: Vec<String> = failed.iter().take(5).map(|f| f.summary()).collect();
    eprintln!("ops: {} GETs during the kill and the rolling restart, {} failed", records.len(), failed.len());
    assert!(records.len() > 200, "the load ran ({} GETs)", records.len());
    assert!(failed.is_empty(), "{} GETs failed, e.g. {shown:#?}", failed.len());
    all_up(&d).unwrap_or_else(|e| panic!("after the rolling restart: {e}"));
    assert_eq!(d.names(), instances, "the same instances as before");
    assert_ne!(d.pid("question-1"), Some(killed));
    // The replacement has the environment it was first started with.
    let environ = std::fs::read(format!("/proc/{}/environ", d.pid("question-1").unwrap())).unwrap();
    assert!(String::from_utf8_lossy(&environ).contains("STACKWIRE_REDIS_SENTINELS="));

    // stop_all twice, then a rolling restart of a stopped system starts it all.
    for _ in 0..2 {
        let r = d.run("stop_all.sh", &[]);
        assert!(r.ok, "stop_all.sh from env -i:\n{}", r.output);
        assert!(instances.iter().all(|n| d.pid(n).is_none()), "stop_all.sh left something running");
    }
    // (Only the balancers are rolled this time: the point is the start.)
    let r = d.run("rolling_restart.sh", &[("SW_ONLY", "^balancer")]);
    assert!(r.ok, "rolling_restart.sh of a stopped system:\n{}", r.output);
    all_up(&d).unwrap_or_else(|e| panic!("after a rolling restart of a stopped system: {e}"));

    // A dead instance whose replacement cannot start (something else took
    // its port): the script must not stop the last healthy instance of that
    // tier, nor anything else; it says why and exits non-zero.
    let before: Vec<(String, Option<i32>)> = d.names().into_iter().map(|n| (n.clone(), d.pid(&n))).collect();
    let q1 = d.pid("question-1").expect("question-1 runs");
    let port = d.listen("question-1").expect("question-1 listens");
    // SAFETY: kill(2) on a pid the scripts recorded for us.
    unsafe { libc::kill(q1, libc::SIGKILL) };
    testkit::wait_for("question-1 to die", Duration::from_secs(5), || d.pid("question-1").is_none().then_some(()));
    let squatter = testkit::wait_for("question-1's port free to take", Duration::from_secs(5), || {
        std::net::TcpListener::bind(port.replace("0.0.0.0", "127.0.0.1")).ok()
    });
    let r = d.run("rolling_restart.sh", &[("SW_RESTART_TIMEOUT", "10")]);
    assert!(!r.ok, "rolling_restart.sh must fail when a replacement cannot start:\n{}", r.output);
    assert!(
        r.output.contains("question-1 was down and did not start again") && r.output.contains("nothing was stopped"),
        "a clear message naming the instance:\n{}",
        r.output
    );
    for (name, pid) in before.iter().filter(|(n, _)| n != "question-1") {
        assert_eq!(d.pid(name), *pid, "{name} was not stopped or replaced");
    }
    drop(squatter);
}
