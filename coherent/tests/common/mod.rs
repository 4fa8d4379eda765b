//! What coherent's black-box tests share: counters under a prefix of their
//! own in the test Redis, and the value of one of their metrics.

use coherent::Versions;
use registry_agent::RegistryConfig;
use std::sync::Arc;

/// Counters in the Redis of STACKWIRE_TEST_REDIS_URL (scripts/test.sh
/// starts it), under a prefix no other test or run shares.
pub fn versions(name: &str) -> Arc<Versions> {
    let url = std::env::var("STACKWIRE_TEST_REDIS_URL").expect("STACKWIRE_TEST_REDIS_URL: run through scripts/test.sh");
    let mut c = RegistryConfig::new(&url);
    c.prefix = format!("coherent-test-{name}-{}", std::process::id());
    Versions::new(c)
}

/// The value of the counter `name` in `v`'s metrics.
pub fn metric(v: &Versions, name: &str) -> u64 {
    let mut out = String::new();
    v.render(&mut out);
    out.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok()).expect(name)
}
