//! Unit tests of `balancer/src/ops/metrics.rs`, compiled into the library's own test
//! binary through `#[path]` (they reach private items through `super`).

use super::*;

#[test]
fn renders_counts_buckets_and_labels() {
    let m = get();
    m.service("unit\"test").add(201);
    m.service("unit\"test").add(201);
    local().observe(0.003);
    std::thread::spawn(|| {
        own_shard();
        local().observe(0.004);
        get().service_shard("unit\"test").add(201);
    })
    .join()
    .unwrap();
    m.timeout(Timeout::Connect);
    let g = GaugeGuard::new(&m.upstream_connections);
    let text = m.render();
    assert!(text.contains("stackwire_balancer_requests_total{service=\"unit\\\"test\",status=\"201\"} 3\n"), "{text}");
    assert!(text.contains("stackwire_balancer_request_duration_seconds_count 2\n"), "shards add up: {text}");
    assert!(text.contains("# TYPE stackwire_balancer_request_duration_seconds histogram\n"));
    assert!(text.contains("stackwire_balancer_request_duration_seconds_bucket{le=\"+Inf\"} "));
    assert!(text.contains("stackwire_balancer_timeouts_total{kind=\"upstream_connect\"} "));
    assert!(m.upstream_connections.load(Ordering::Relaxed) >= 1);
    drop(g);
    // Buckets are cumulative: never decreasing.
    let vals: Vec<u64> = text
        .lines()
        .filter(|l| l.starts_with("stackwire_balancer_request_duration_seconds_bucket"))
        .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
        .collect();
    assert!(vals.windows(2).all(|w| w[0] <= w[1]) && vals.len() == BUCKETS.len() + 1, "{vals:?}");
}
