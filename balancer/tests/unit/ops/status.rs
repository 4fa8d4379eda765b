//! Unit tests of `balancer/src/ops/status.rs`, compiled into the library's own test
//! binary through `#[path]` (they reach private items through `super`).

use super::*;

#[test]
fn escapes_everything_it_shows() {
    assert_eq!(esc("<a href='x'>&\"</a>"), "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;");
    let m = json!({
        "this_balancer": "b<1>", "generated_at": "now", "registry": {"version": 3, "read_ms_ago": 12},
        "services": [{"service": "q", "name": "<script>", "title": "t&t", "instances": [
            {"id": "i\"1", "addr": "127.0.0.1:1", "pid": 7, "load": 0, "in_flight": 1, "heartbeat_age_ms": 20,
             "state": "unhealthy", "reason": "<b>refused</b>", "ejections": 0, "kept": true}]}],
        "balancers": [{"id": "balancer-8081-1", "addr": "127.0.0.1:8081", "pid": 1, "load": 0,
                       "heartbeat_age_ms": 5, "this": true}],
        "redis": {"mode": "sentinel", "master_name": "m<", "error": null, "nodes": [
            {"role": "primary", "addr": "127.0.0.1:16379", "state": "up", "detail": "x"},
            {"role": "sentinel", "addr": "127.0.0.1:26380", "state": "down", "detail": "<refused>"}]}
    });
    let page = render(&m);
    assert!(page.contains("<meta http-equiv=\"refresh\" content=\"1\">"));
    assert!(!page.contains("<script>") && !page.contains("<b>") && !page.contains("<refused>"));
    assert!(page.contains("&lt;script&gt;") && page.contains("i&quot;1") && page.contains("b&lt;1&gt;"));
    assert!(page.contains("unhealthy: &lt;b&gt;refused&lt;/b&gt;"));
    assert!(page.contains("kept: gone from the registry"));
    assert!(page.contains("balancer-8081-1</code> (this one)"));
    assert!(page.contains("<td>primary</td><td><code>127.0.0.1:16379</code></td><td class=\"up\">up</td>"));
    assert!(page.contains("master name <code>m&lt;</code>"));
}

#[test]
fn an_empty_service_says_so() {
    let m = json!({"services": [{"service": "q", "name": "Q", "title": "", "instances": []}],
                   "balancers": [], "redis": null, "registry": {}});
    let page = render(&m);
    assert!(page.contains("no live instance"));
    assert!(page.contains("Static mode"));
}
