//! Which HTTP statuses inside a `Web/Handle` reply send a request to another
//! instance (as RPC `UNAVAILABLE` does): 502 and 503 only. Whether the
//! request may go again at all is `registry_agent::policy`'s (tested there).

use balancer::unavailable_status;

#[test]
fn only_502_and_503_ask_for_another_instance() {
    assert!(unavailable_status(502) && unavailable_status(503));
    for s in [200, 404, 500, 501, 504] {
        assert!(!unavailable_status(s), "{s}");
    }
}
