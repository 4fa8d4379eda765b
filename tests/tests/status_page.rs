//! Issue 5, acceptance 5: the `/status` page, read as a person reads it,
//! shows a killed instance leave and a frozen-then-thawed one come back.

use std::time::{Duration, Instant};
use testkit::{wait_for, Cluster, Shape};

/// The page's table row for the instance at `addr`, if listed.
fn row(page: &str, addr: &str) -> Option<String> {
    let at = page.find(&format!("<td><code>{addr}</code></td>"))?;
    let start = page[..at].rfind("<tr>")?;
    let end = at + page[at..].find("</tr>")?;
    Some(page[start..end].to_string())
}

fn healthy(row: &Option<String>) -> bool {
    row.as_ref().is_some_and(|r| r.contains("class=\"healthy\""))
}

#[test]
fn the_status_page_shows_instances_leave_and_return() {
    let mut c =
        Cluster::start("status", Shape { questions: 3, answers: 1, comments: 1, webuis: 1, ..Shape::default() });
    // Operators' pages live on the admin listener; the public port has none.
    let public = c.http();
    for path in ["/status", "/status/json", "/metrics"] {
        assert_eq!(public.get(path).status, 404, "{path} on the public port");
    }
    let admin = c.balancer().admin_addr();
    let page = move || {
        let r = testkit::HttpClient::new(admin).get("/status");
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
        r.text()
    };
    let first = page();
    assert!(first.contains("<meta http-equiv=\"refresh\" content=\"1\">"), "refreshes itself");
    assert!(first.contains("Balancers") && first.contains("(this one)"), "lists the balancer itself");
    assert!(first.contains("Registry (Redis)") && first.contains("<td>primary</td>"), "names the Redis primary");
    let qs: Vec<String> = c.procs_named("question").iter().map(|p| p.addr.to_string()).collect();
    for a in &qs {
        assert!(healthy(&row(&first, a)), "{a} listed healthy:\n{first}");
    }

    // kill -9: the instance leaves (unhealthy at once, then gone with its record).
    c.procs[0].signal(libc::SIGKILL);
    let t = Instant::now();
    wait_for("the killed instance to leave the page", Duration::from_secs(10), || {
        (!healthy(&row(&page(), &qs[0]))).then_some(())
    });
    eprintln!("status: killed instance left the page after {:?}", t.elapsed());
    wait_for("the killed instance to disappear with its record", Duration::from_secs(10), || {
        row(&page(), &qs[0]).is_none().then_some(())
    });

    // SIGSTOP: health checks fail and it leaves rotation; SIGCONT: it returns.
    c.procs[1].signal(libc::SIGSTOP);
    let t = Instant::now();
    wait_for("the frozen instance to leave rotation", Duration::from_secs(10), || {
        (!healthy(&row(&page(), &qs[1]))).then_some(())
    });
    eprintln!("status: frozen instance left rotation after {:?}", t.elapsed());
    c.procs[1].signal(libc::SIGCONT);
    let t = Instant::now();
    wait_for("the thawed instance to return", Duration::from_secs(10), || healthy(&row(&page(), &qs[1])).then_some(()));
    eprintln!("status: thawed instance back after {:?}", t.elapsed());

    // A restarted instance (a new process) shows up healthy too.
    let i = c.start_service("question");
    let addr = c.procs[i].addr.to_string();
    wait_for("the new instance on the page", Duration::from_secs(5), || healthy(&row(&page(), &addr)).then_some(()));
    assert!(healthy(&row(&page(), &qs[2])), "the untouched instance stayed healthy");
}
