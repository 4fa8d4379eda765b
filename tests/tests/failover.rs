//! Issue 5, acceptance 3: killing the registry's Redis primary under load.
//!
//! A whole cluster runs against a replicated Redis of this test's own (a
//! primary, a replica and three Sentinels on free ports, see `ha`),
//! found through Sentinel. While GETs flow through the balancer, the primary
//! is killed with SIGKILL. Asserted:
//! - Sentinel names a new primary within the configured failover time
//!   (down-after + failover-timeout);
//! - every instance's record is back on the new primary, rewritten after the
//!   promotion, within one heartbeat (1 s) of it;
//! - no request failed meanwhile (the balancer kept its view of the services
//!   while the registry was unreachable, and self-preservation covers records
//!   that expired during the failover);
//! - `/status` names the new primary.

mod ha;
mod load;

use std::time::{Duration, Instant};
use testkit::{wait_for, Cluster, Shape};

const HEARTBEAT: Duration = Duration::from_secs(1);

#[test]
fn killing_the_redis_primary_loses_no_request_and_no_record() {
    let mut redis = ha::RedisHa::start("failover");
    redis.export();
    let c = Cluster::start("failover", Shape { questions: 2, answers: 1, comments: 1, webuis: 2, ..Shape::default() });
    let registry = redis.registry(&c.prefix);
    let expected: usize = registry_agent::list_once(&registry).unwrap().values().map(Vec::len).sum();
    assert!(expected >= 6, "every instance registered through Sentinel ({expected})");

    let target = std::sync::Arc::new(std::sync::Mutex::new(c.balancer().addr));
    let mut load = load::Load::new();
    for _ in 0..2 {
        load.gets(target.clone(), vec!["/webserv/question?page=1".into(), "/".into()], Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_secs(2));

    let old = redis.kill_primary();
    let killed = Instant::now();
    let killed_ms = proto::clock::now_ms();
    let limit = Duration::from_millis(ha::DOWN_MS + ha::FAILOVER_MS);
    let new = redis.wait_new_primary(old, limit + Duration::from_secs(5)).expect("a new primary");
    let promoted = killed.elapsed();
    let promoted_ms = proto::clock::now_ms();
    eprintln!("failover: new primary {new} after {promoted:?} (limit {limit:?})");
    assert!(promoted <= limit, "new primary after {promoted:?}, configured failover time {limit:?}");

    // Every record rewritten on the new primary by a heartbeat after the kill.
    let back = wait_for("every record back on the new primary", Duration::from_secs(10), || {
        let listing = registry_agent::list_once(&registry).ok()?;
        let fresh = listing.values().flatten().filter(|r| r.last_heartbeat_ms > killed_ms).count();
        (fresh >= expected).then(Instant::now)
    });
    let after = back.saturating_duration_since(killed + promoted);
    eprintln!(
        "failover: every record back {after:?} after the promotion ({} ms after the kill)",
        proto::clock::now_ms() - killed_ms
    );
    assert!(
        after <= HEARTBEAT + Duration::from_millis(300),
        "records back {after:?} after the new primary (one heartbeat is {HEARTBEAT:?}; promoted at {promoted_ms})"
    );

    // The status page names the new primary.
    let status = wait_for("/status/json to show the new primary", Duration::from_secs(5), || {
        let r = c.balancer().admin().get("/status/json");
        let v: serde_json::Value = serde_json::from_slice(&r.body).ok()?;
        let primary =
            v["redis"]["nodes"].as_array()?.iter().find(|n| n["role"] == "primary")?["addr"].as_str()?.to_string();
        (primary == format!("127.0.0.1:{new}")).then_some(v)
    });
    assert_eq!(status["redis"]["mode"], "sentinel");
    let page = c.balancer().admin().get("/status").text();
    assert!(page.contains(&format!("127.0.0.1:{new}")), "the HTML page shows the new primary");

    std::thread::sleep(Duration::from_secs(2));
    let (records, _) = load.stop();
    let (_, failed) = load::failed_gets(&records, &[]);
    eprintln!("failover: {} GETs, {} failed", records.len(), failed.len());
    assert!(records.len() > 100, "the load ran ({} requests)", records.len());
    let shown: Vec<String> = failed.iter().take(5).map(|r| r.summary()).collect();
    assert!(failed.is_empty(), "{} requests failed during the failover, e.g. {shown:#?}", failed.len());

    // The old primary comes back as a replica and the cluster carries on.
    redis.restart_as_replica(old);
    assert_eq!(c.http().get("/webserv/question?page=1").status, 200);
}
