//! Unit tests of `balancer/src/upstream/catalog.rs`, compiled into the library's own test
//! binary through `#[path]` (they reach private items through `super`).

use super::*;
use registry_agent::{Descriptor, MethodDesc};

fn rec(service: &str, n: u16, display: &str) -> InstanceRecord {
    InstanceRecord {
        service: service.into(),
        id: format!("{service}-{n}-1"),
        addr: format!("127.0.0.1:{n}"),
        pid: 1,
        started_at_ms: 5,
        last_heartbeat_ms: 10,
        ttl_ms: 3000,
        load: 2,
        descriptor: Descriptor {
            name: display.into(),
            title: format!("{display} title"),
            methods: vec![MethodDesc::new(proto::methods::WEB_HANDLE, "HttpRequest", "HttpResponse")],
            routes: vec![format!("GET /{service}")],
        },
    }
}

#[test]
fn shape_and_order() {
    let mut s = BTreeMap::new();
    s.insert("zeta".to_string(), vec![rec("zeta", 9, "Zeta")]);
    s.insert("alpha".to_string(), vec![rec("alpha", 8, "Alpha")]);
    s.insert("empty".to_string(), vec![]);
    s.insert("webui".to_string(), vec![rec("webui", 7, "WebUI"), rec("webui", 6, "WebUI")]);
    s.insert("question".to_string(), vec![rec("question", 5, "Question")]);
    let v = build(&s, &|addr| if addr == "127.0.0.1:5" { 4 } else { 0 }, true);
    let list = v["services"].as_array().unwrap();
    let names: Vec<&str> = list.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Question", "Answer", "Comment", "WebUI", "Alpha", "Zeta"]);
    for (i, s) in list.iter().enumerate() {
        assert_eq!(s["id"], i);
    }
    let q = &list[0];
    assert_eq!(q["title"], "Question title");
    assert_eq!(q["routes"], json!(["GET /question"]));
    assert_eq!(
        q["methods"],
        json!([{"name": proto::methods::WEB_HANDLE, "request": "HttpRequest", "response": "HttpResponse"}])
    );
    assert_eq!(
        q["instances"],
        json!([{"id": "question-5-1", "addr": "127.0.0.1:5", "pid": 1, "load": 2, "in_flight": 4,
                "last_heartbeat_ms": 10, "ttl_ms": 3000}])
    );
    let a = &list[1];
    assert_eq!((a["title"].as_str(), a["instances"].as_array().unwrap().len()), (Some("Webservice: Answering"), 0));
    assert_eq!(list[3]["instances"].as_array().unwrap().len(), 2);
}

#[test]
fn static_mode_lists_only_what_exists() {
    let mut s = BTreeMap::new();
    s.insert("upstream".to_string(), vec![rec("upstream", 1, "Upstream")]);
    let v = build(&s, &|_| 0, false);
    let list = v["services"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!((list[0]["id"].as_u64(), list[0]["service"].as_str()), (Some(0), Some("upstream")));
}
